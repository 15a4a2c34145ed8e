"""``GET /v1/models`` and ``GET /v1/models/{id}``, which OpenAI and Anthropic share: the models a
config's responses name, and ``mock-model``, in the shape of the provider that asks.

The mock answers every model a request names, so retrieving any id succeeds; the list holds the
names the config gives. Times are the Unix epoch, so the answers are the same on every run.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from ..apis import APIS, Provider
from .compiled import CompiledConfig
from .errors import ApiError
from .handler import DEFAULT_MODEL

__all__ = ["model_info", "model_list", "model_names"]

_NAMES: weakref.WeakKeyDictionary[CompiledConfig, list[str]] = weakref.WeakKeyDictionary()
"""The names of each config served, made on the first request that asks."""


def model_names(compiled: CompiledConfig) -> list[str]:
    """The models the config's responses name, in order of appearance, then ``mock-model``."""
    names = _NAMES.get(compiled)
    if names is None:
        found: dict[str, None] = {}
        for spec in APIS:
            for mock in compiled.config.mocks(spec.key):
                response = mock.response
                if isinstance(response, dict) and isinstance(response.get("model"), str):
                    found[response["model"]] = None
        found[DEFAULT_MODEL] = None
        names = _NAMES[compiled] = list(found)
    return names


def model_info(provider: Provider, name: str) -> dict[str, Any]:
    """One model: an OpenAI ``Model`` or an Anthropic ``ModelInfo``."""
    if provider == "openai":
        return {"id": name, "object": "model", "created": 0, "owned_by": "mockllm"}
    return {
        "type": "model",
        "id": name,
        "display_name": name,
        "created_at": "1970-01-01T00:00:00Z",
        "lifecycle": "active",
    }


def model_list(provider: Provider, names: list[str], query: Mapping[str, str]) -> dict[str, Any]:
    """OpenAI's list (everything, one page), or an Anthropic page that honours the query's
    ``limit``, ``after_id`` and ``before_id`` as the real API does."""
    if provider == "openai":
        return {"object": "list", "data": [model_info(provider, name) for name in names]}
    after, before, limit = query.get("after_id"), query.get("before_id"), query.get("limit", "20")
    # isdigit alone takes "²" and other digits int() refuses; a long run of digits int() refuses too.
    if not (limit.isascii() and limit.isdigit() and len(limit) <= 10 and 1 <= int(limit) <= 1000):
        raise ApiError(400, "limit: Input should be an integer from 1 to 1000")
    size = int(limit)
    if before:
        end = names.index(before) if before in names else len(names)
        page, more = names[max(0, end - size) : end], end > size
    else:
        start = names.index(after) + 1 if after in names else 0
        page, more = names[start : start + size], start + size < len(names)
    return {
        "data": [model_info(provider, name) for name in page],
        "has_more": more,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }
