"""``POST /api/embed`` (one embedding per input) and the older ``/api/embeddings`` (one for its
``prompt``).

A ``response`` is ``{"embeddings": [[…], …]}`` (or ``{"embedding": […]}``): the configured
vectors are served one per input in turn, cut to the request's ``dimensions``. A
``vectors_from_text`` mock makes each input's vector from its text.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

import orjson
from sanic import Request as HttpRequest

from ..apis import API_BY_KEY
from ..config_parts import MAX_VECTOR_DIMENSIONS
from ..contract.shapes import ResponseType
from ..server.adapter import (
    INPUT_TOKENS,
    ApiAdapter,
    KeyedVariant,
    MatchStyle,
    PerRequestVectors,
    Request,
    check_model,
    estimate_tokens,
    is_number_list,
)
from ..server.errors import ApiError
from ..server.provider import Route
from ..text_vectors import text_vector
from .matching import OLLAMA_EMBEDDINGS_RULES, embed_inputs
from .provider import OLLAMA

__all__ = ["ADAPTER", "EmbedVariant"]


class EmbedVariant(KeyedVariant):
    """What a request asks of the answer: ``/api/embed``'s list or ``/api/embeddings``' one
    vector, how many, and how long. The texts ride along for `TextVectors`."""

    __slots__ = ("dimensions", "listed", "texts")

    def __init__(self, listed: bool, dimensions: int | None, texts: list[str]) -> None:
        self.listed = listed
        self.dimensions = dimensions
        self.texts = texts
        self._key = (listed, dimensions, len(texts))


def _variant(listed: bool) -> Any:
    def variant(request: HttpRequest, body: dict[str, Any]) -> Hashable:
        dimensions = body.get("dimensions")
        return EmbedVariant(listed, dimensions if isinstance(dimensions, int) else None, embed_inputs(body))

    return variant


def validate(body: Request) -> None:
    check_model(body)
    if "model" not in body:
        raise ApiError(400, "model is required", param="model")
    value = body.get("input", body.get("prompt"))
    if not (
        isinstance(value, str)
        or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))
    ):
        raise ApiError(400, "input: expected a string or a non-empty array of strings", param="input")
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        type(dimensions) is not int or not 0 < dimensions <= MAX_VECTOR_DIMENSIONS
    ):
        raise ApiError(400, f"dimensions: expected a whole number from 1 to {MAX_VECTOR_DIMENSIONS}")


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    if "embedding" in out:
        out["embeddings"] = [out.pop("embedding")]
    vectors = out.get("embeddings")
    if not isinstance(vectors, list) or not vectors:
        raise ValueError('response: expected {"embeddings": [[...], ...]} or {"embedding": [...]}')
    for i, vector in enumerate(vectors):
        if not is_number_list(vector):
            raise ValueError(f"response.embeddings[{i}]: expected a list of numbers")
    out.setdefault("prompt_eval_count", INPUT_TOKENS)
    return out


def render(response: dict[str, Any], variant: Any) -> bytes:
    count, dimensions, listed = len(variant.texts), variant.dimensions, variant.listed
    variant.texts = []  # a cached answer keeps its variant: not the request's texts as well
    vectors = [vector[:dimensions] if dimensions else vector for vector in response["embeddings"]]
    rest = {k: v for k, v in response.items() if k != "embeddings"}
    if not listed:
        return orjson.dumps({"embedding": vectors[0]})
    return orjson.dumps({**rest, "embeddings": [vectors[i % len(vectors)] for i in range(count)]})


class TextVectors(PerRequestVectors):
    """The answer of a ``vectors_from_text`` mock: each input's unit vector derived from its text."""

    __slots__ = ()
    empty: ClassVar[dict[str, Any]] = {"embeddings": [[]]}

    def render_uncached(self, model: Any, variant: Any) -> bytes:
        dimensions = variant.dimensions or self.dimensions
        vectors = [text_vector(text, dimensions, seed=self.seed) for text in variant.texts]
        if not variant.listed:
            return orjson.dumps({"embedding": vectors[0]})
        tokens = estimate_tokens(*variant.texts)
        return orjson.dumps({"model": model, "embeddings": vectors, "prompt_eval_count": tokens})


def describe(body: Request) -> str:
    return f"input {orjson.dumps(body.get('input', body.get('prompt'))).decode()[:200]}"


def prompt_tokens(body: Request) -> int:
    """The ``prompt_eval_count`` of an ``/api/embed`` answer."""
    return estimate_tokens(*embed_inputs(body))


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    return {"match_type": "exact", "input": body.get("input", body.get("prompt"))}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["ollama_embeddings"],
    provider=OLLAMA,
    routes=(
        Route("/api/embed", "/api/embed", variant=_variant(True)),
        Route("/api/embeddings", "/api/embeddings", variant=_variant(False)),
    ),
    rules=OLLAMA_EMBEDDINGS_RULES,
    validate=validate,
    variant=lambda body: EmbedVariant(True, None, embed_inputs(body)),
    is_stream=lambda v: False,
    fill=fill,
    response_type=ResponseType("ollama_embeddings"),
    contract=None,
    render=render,
    describe=describe,
    streaming=None,
    recorded_match=recorded_match,
    vectors=TextVectors,
    input_tokens=prompt_tokens,
)
