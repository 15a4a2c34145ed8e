"""``POST /v1/embeddings``: vectors as floats or as base64 little-endian float32, one per input.

A ``response`` is served with one item per input, as the real API answers: item ``i`` is the
configured ``data[i % len(data)]`` with ``index`` ``i`` (so one vector answers every input, and a
vector per input answers each in order). A ``vectors_from_text`` mock makes each input's vector
from its text instead (`TextVectors`).
"""

from __future__ import annotations

import base64
import struct
from array import array
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import orjson

from ..apis import API_BY_KEY
from ..config import MAX_VECTOR_DIMENSIONS, is_embeddings_input
from ..contract.shapes import ResponseType
from ..server.adapter import (
    INPUT_TOKENS,
    ApiAdapter,
    KeyedVariant,
    MatchStyle,
    PerRequestVectors,
    Request,
    check_model,
    describe_input,
    estimate_tokens,
)
from ..server.errors import ApiError
from ..server.provider import Route
from ..text_vectors import input_digest, packed_unit_vector
from .azure import azure_routes
from .matching import EMBEDDINGS_RULES
from .provider import OPENAI

__all__ = ["ADAPTER", "MAX_INPUTS", "TextVectors", "Variant"]

MAX_INPUTS = 2048
"""The most inputs one request may hold (the real API's limit)."""


def validate(body: Request) -> None:
    check_model(body)
    value = body.get("input")
    valid = is_embeddings_input(value) and value != []
    if not valid:
        raise ApiError(
            400,
            "'input' must be a string, an array of strings, an array of token ids "
            "or an array of token-id arrays",
            param="input",
        )
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in ("float", "base64"):
        raise ApiError(400, "'encoding_format' must be 'float' or 'base64'", param="encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        type(dimensions) is not int or not 0 < dimensions <= MAX_VECTOR_DIMENSIONS
    ):
        raise ApiError(
            400, f"'dimensions' must be an integer from 1 to {MAX_VECTOR_DIMENSIONS}", param="dimensions"
        )
    if isinstance(value, list) and len(value) > MAX_INPUTS and not isinstance(value[0], int):
        raise ApiError(400, f"'input' holds {len(value)} items; the limit is {MAX_INPUTS}", param="input")


class Variant(KeyedVariant):
    """What a request asks of the answer: its encoding, its ``dimensions`` and how many inputs it
    holds, which alone make the answer of a ``response`` (compared and hashed by them, so prepared
    answers are cached by them). The inputs themselves ride along for `TextVectors`."""

    __slots__ = ("dimensions", "encoding", "inputs")

    def __init__(self, encoding: str, dimensions: int | None, inputs: Sequence[Any]) -> None:
        self.encoding = encoding
        self.dimensions = dimensions
        self.inputs: Sequence[Any] = inputs
        """One entry per input: a text or a list of token ids."""
        self._key = (encoding, dimensions, len(inputs))


def variant(body: Request) -> Hashable:
    value = body["input"]
    # One input is a string or one list of token ids; otherwise each item is one.
    inputs = [value] if isinstance(value, str) or isinstance(value[0], int) else value
    return Variant(body.get("encoding_format") or "float", body.get("dimensions"), inputs)


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    out.setdefault("object", "list")
    data = out.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError("response.data: expected a list of embedding objects")
    filled = []
    for i, item in enumerate(data):
        vector = item.get("embedding")
        if not isinstance(vector, str):
            _check_vector(vector, f"response.data[{i}].embedding")
        filled.append({"object": "embedding", "index": i, **item})
    out["data"] = filled
    out.setdefault("usage", {"prompt_tokens": INPUT_TOKENS, "total_tokens": INPUT_TOKENS})
    return out


def _check_vector(vector: Any, where: str) -> None:
    """A list of numbers that base64 encoding can pack as float32."""
    if not isinstance(vector, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in vector
    ):
        raise ValueError(f"{where}: expected a list of numbers")
    try:
        _pack(vector)
    except (OverflowError, struct.error):
        for j, x in enumerate(vector):
            try:
                _pack([x])
            except (OverflowError, struct.error):
                number = str(x) if isinstance(x, int) else orjson.dumps(x).decode()
                raise ValueError(f"{where}[{j}]: {number} does not fit a float32 (base64 encoding)") from None
        raise


def _pack(vector: list[Any]) -> bytes:
    # The SDK decodes base64 as little-endian float32.
    return struct.pack(f"<{len(vector)}f", *vector)


def render(response: dict[str, Any], variant: Any) -> bytes:
    count, encoding, dimensions = len(variant.inputs), variant.encoding, variant.dimensions
    variant.inputs = ()  # a cached answer keeps its variant: not the request's inputs as well
    configured = response["data"]
    vectors = [_encoded(item["embedding"], encoding, dimensions) for item in configured]
    size = len(configured)
    data = [
        {**configured[i % size], "index": i, "embedding": vectors[i % size]}
        for i in range(count if size else 0)
    ]
    return orjson.dumps({**response, "data": data})


def _encoded(vector: Any, encoding: str, dimensions: int | None) -> Any:
    """A configured vector as the request asks for it (a base64 text is served as written)."""
    if not isinstance(vector, list):
        return vector
    if dimensions is not None:
        vector = vector[:dimensions]
    return base64.b64encode(_pack(vector)).decode() if encoding == "base64" else vector


class TextVectors(PerRequestVectors):
    """The answer of a ``vectors_from_text`` mock: for each input, the unit vector derived from its
    text or token ids (`mockllm.text_vectors`); the vectors of recent inputs are cached there."""

    __slots__ = ()
    empty: ClassVar[dict[str, Any]] = {"object": "list", "data": []}

    def render_uncached(self, model: Any, variant: Any) -> bytes:
        dimensions = variant.dimensions or self.dimensions
        as_base64 = variant.encoding == "base64"
        data = []
        for i, value in enumerate(variant.inputs):
            packed = packed_unit_vector(input_digest(value, self.seed), dimensions)
            vector = base64.b64encode(packed).decode() if as_base64 else array("f", packed).tolist()
            data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = _inputs_tokens(variant.inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return orjson.dumps({**self.response_for(model), "data": data, "usage": usage})


def _inputs_tokens(inputs: Sequence[Any]) -> int:
    """The inputs' size: a text's by `estimate_tokens`, a list of token ids its length."""
    return sum(estimate_tokens(value) if isinstance(value, str) else len(value) for value in inputs)


def prompt_tokens(body: Request) -> int:
    """The ``prompt_tokens`` of an answer's usage."""
    value = body["input"]
    return _inputs_tokens([value] if isinstance(value, str) or isinstance(value[0], int) else value)


def recorded_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """An embeddings answer with each base64 vector (little-endian float32, the SDK's default
    encoding) written out as numbers, so a person can read the cassette. mockllm encodes them
    back when a request asks for base64: float32 values survive the round trip exactly."""
    data = answer.get("data")
    if not isinstance(data, list):
        return answer
    items = []
    for item in data:
        vector = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(vector, str):
            raw = base64.b64decode(vector)
            item = {**item, "embedding": list(struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) // 4 * 4]))}
        items.append(item)
    return {**answer, "data": items}


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    # An embeddings request has no conversation: the input is the whole of it, matched exactly.
    return {"match_type": "exact", "input": body.get("input")}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["openai_embeddings"],
    provider=OPENAI,
    routes=(Route("/v1/embeddings", "/v1/embeddings"), *azure_routes("/embeddings")),
    rules=EMBEDDINGS_RULES,
    validate=validate,
    variant=variant,
    is_stream=lambda v: False,
    fill=fill,
    response_type=ResponseType("openai_embeddings"),
    contract=None,
    render=render,
    describe=describe_input,
    streaming=None,
    recorded_match=recorded_match,
    recorded_answer=recorded_answer,
    vectors=TextVectors,
    input_tokens=prompt_tokens,
)
