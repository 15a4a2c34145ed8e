"""``POST …/models/{model}:batchEmbedContents`` (what the SDK's ``embed_content`` calls) and
``:embedContent``: one embedding per content, on the Gemini API's URLs and Vertex AI's.

A ``response`` is an ``EmbedContentResponse`` (``{"embedding": {"values": […]}}``) or a batch's
(``{"embeddings": [{"values": […]}, …]}``); a batch of ``n`` contents gets ``n`` embeddings, the
configured ones in turn (as OpenAI embeddings serve ``data``), each cut to the request's
``outputDimensionality``. A ``vectors_from_text`` mock makes each content's vector from its text.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

import orjson

from ..apis import API_BY_KEY
from ..config_parts import MAX_VECTOR_DIMENSIONS
from ..contract.shapes import ResponseType
from ..server.adapter import (
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
from ..text_vectors import text_vector
from .generate import gemini_routes
from .matching import GEMINI_EMBEDDINGS_RULES, embed_inputs
from .provider import GEMINI

__all__ = ["ADAPTER", "MAX_REQUESTS", "EmbedVariant"]

MAX_REQUESTS = 250
"""The most contents one batch may hold."""


class EmbedVariant(KeyedVariant):
    """What a request asks of the answer: one embedding or a batch of ``count``, and how long
    (compared and hashed by these, so answers are cached by them). The texts ride along for
    `TextVectors`."""

    __slots__ = ("batch", "dimensions", "texts")

    def __init__(self, batch: bool, dimensions: int | None, texts: list[str]) -> None:
        self.batch = batch
        self.dimensions = dimensions
        self.texts = texts
        self._key = (batch, dimensions, len(texts))


def _dimensions(item: dict[str, Any], where: str) -> None:
    config = item.get("embedContentConfig")  # Vertex AI's spelling
    holder = config if isinstance(config, dict) else item
    value = holder.get("outputDimensionality")
    if value is not None and (type(value) is not int or not 0 < value <= MAX_VECTOR_DIMENSIONS):
        raise ApiError(
            400,
            f"Invalid value at '{where}outputDimensionality': expected a whole number from 1 to "
            f"{MAX_VECTOR_DIMENSIONS}",
        )


def _check_content(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not isinstance(value.get("parts"), list):
        raise ApiError(400, f"Invalid value at '{where}': expected a Content object with parts", param=where)
    for j, part in enumerate(value["parts"]):
        if not isinstance(part, dict) or ("text" in part and not isinstance(part["text"], str)):
            raise ApiError(
                400, f"Invalid value at '{where}.parts[{j}]': expected a part with text", param=where
            )


def validate(body: Request) -> None:
    check_model(body)
    requests = body.get("requests")
    if requests is None:
        _check_content(body.get("content"), "content")
        _dimensions(body, "")
        return
    if not isinstance(requests, list) or not requests or not all(isinstance(r, dict) for r in requests):
        raise ApiError(
            400, "Invalid value at 'requests': expected a non-empty list of requests", param="requests"
        )
    if len(requests) > MAX_REQUESTS:
        raise ApiError(400, f"'requests' holds {len(requests)} items; the limit is {MAX_REQUESTS}")
    for i, item in enumerate(requests):
        _check_content(item.get("content"), f"requests[{i}].content")
        _dimensions(item, f"requests[{i}].")


def variant(body: Request) -> Hashable:
    requests = body.get("requests")
    first = requests[0] if isinstance(requests, list) else body
    config = first.get("embedContentConfig")
    dimensions = (config if isinstance(config, dict) else first).get("outputDimensionality")
    return EmbedVariant(requests is not None, dimensions, embed_inputs(body))


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    if "embedding" in out:
        out["embeddings"] = [out.pop("embedding")]
    vectors = out.get("embeddings")
    if not isinstance(vectors, list) or not vectors:
        raise ValueError('response: expected {"embedding": {"values": [...]}} or {"embeddings": [...]}')
    for i, item in enumerate(vectors):
        values = item.get("values") if isinstance(item, dict) else None
        if not is_number_list(values):
            raise ValueError(f"response.embeddings[{i}].values: expected a list of numbers")
    return out


def render(response: dict[str, Any], variant: Any) -> bytes:
    count, dimensions, batch = len(variant.texts), variant.dimensions, variant.batch
    variant.texts = []  # a cached answer keeps its variant: not the request's texts as well
    configured = response["embeddings"]
    rest = {k: v for k, v in response.items() if k != "embeddings"}
    served = [
        {**item, "values": item["values"][:dimensions] if dimensions else item["values"]}
        for item in configured
    ]
    if not batch:
        return orjson.dumps({"embedding": served[0], **rest})
    return orjson.dumps({"embeddings": [served[i % len(served)] for i in range(count)], **rest})


class TextVectors(PerRequestVectors):
    """The answer of a ``vectors_from_text`` mock: each content's unit vector derived from its
    text."""

    __slots__ = ()
    empty: ClassVar[dict[str, Any]] = {"embeddings": [{"values": []}]}

    def render_uncached(self, model: Any, variant: Any) -> bytes:
        dimensions = variant.dimensions or self.dimensions
        embeddings = [{"values": text_vector(text, dimensions, seed=self.seed)} for text in variant.texts]
        if not variant.batch:
            tokens = estimate_tokens(*variant.texts)
            return orjson.dumps({"embedding": embeddings[0], "usageMetadata": {"promptTokenCount": tokens}})
        return orjson.dumps({"embeddings": embeddings})


def describe(body: Request) -> str:
    return f"contents {orjson.dumps(embed_inputs(body)).decode()[:200]}"


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    # An embeddings request has no conversation: its texts are the whole of it, matched exactly.
    texts = embed_inputs(body)
    return {"match_type": "exact", "input": texts[0] if len(texts) == 1 else texts}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["gemini_embeddings"],
    provider=GEMINI,
    routes=(*gemini_routes("batchEmbedContents"), *gemini_routes("embedContent")),
    rules=GEMINI_EMBEDDINGS_RULES,
    validate=validate,
    variant=variant,
    is_stream=lambda v: False,
    fill=fill,
    response_type=ResponseType("gemini_embeddings"),
    contract=None,
    render=render,
    describe=describe,
    streaming=None,
    recorded_match=recorded_match,
    vectors=TextVectors,
    model_field="model",
)
