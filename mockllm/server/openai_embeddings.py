"""``POST /v1/embeddings``: vectors as floats or as base64 little-endian float32."""

from __future__ import annotations

import base64
import struct
from collections.abc import Hashable
from typing import Any

import orjson

from ..apis import API_BY_KEY
from ..config import is_embeddings_input
from ..matching import EMBEDDINGS_RULES
from .errors import ApiError
from .handler import ApiHandler, Request, check_model, describe_input

__all__ = ["HANDLER"]


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
    if dimensions is not None and (type(dimensions) is not int or dimensions <= 0):
        raise ApiError(400, "'dimensions' must be a positive integer", param="dimensions")


def variant(body: Request) -> Hashable:
    return (body.get("encoding_format") or "float", body.get("dimensions"))


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
    out.setdefault("usage", {"prompt_tokens": 0, "total_tokens": 0})
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
    encoding, dimensions = variant
    data = []
    for item in response["data"]:
        vector = item["embedding"]
        if isinstance(vector, list):
            if dimensions is not None:
                vector = vector[:dimensions]
            if encoding == "base64":
                vector = base64.b64encode(_pack(vector)).decode()
        data.append({**item, "embedding": vector})
    return orjson.dumps({**response, "data": data})


HANDLER = ApiHandler(
    spec=API_BY_KEY["openai_embeddings"],
    rules=EMBEDDINGS_RULES,
    validate=validate,
    variant=variant,
    is_stream=lambda v: False,
    fill=fill,
    render=render,
    describe=describe_input,
)
