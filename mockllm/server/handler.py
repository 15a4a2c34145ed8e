"""What the server modules of the APIs share: the `ApiHandler` each one exports, request checks,
and prepared answers.

Each API's server module (``openai_chat``, ``openai_responses``, …; see `mockllm.apis`) fills in the
fields its SDK needs once, when the config is loaded, and says how to render the answer (JSON
body or SSE stream). Rendered bytes are cached, so the request path only parses, matches and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import orjson

from ..apis import ApiSpec
from ..matching import MatchRules
from .errors import ApiError

__all__ = [
    "DEFAULT_MODEL",
    "ApiHandler",
    "PreparedResponse",
    "check_bool",
    "check_content",
    "check_model",
    "check_object_list",
    "describe_input",
    "describe_last_message",
    "estimate_tokens",
]

Request = dict[str, Any]
# Renders a filled response for a variant (e.g. "json", "sse", or embeddings' encoding).
Render = Callable[[dict[str, Any], Any], bytes]

DEFAULT_MODEL = "mock-model"
_MAX_CACHED_MODELS = 64


@dataclass(frozen=True)
class ApiHandler:
    """How the server handles one API's requests: checks them, matches them, answers them."""

    spec: ApiSpec
    rules: MatchRules[Any]
    validate: Callable[[Request], None]
    """Raises `ApiError` (400) for a body the real API would refuse."""
    variant: Callable[[Request], Hashable]
    """Which rendering the request asks for."""
    is_stream: Callable[[Hashable], bool]
    fill: Callable[[dict[str, Any], int, int], dict[str, Any]]
    """(response as configured, mock position, created timestamp) -> response to serve."""
    render: Render
    describe: Callable[[Request], str]
    """What the request asked, for the 404 message."""


class PreparedResponse:
    """A mock's filled response and its rendered bodies, cached per (model, variant).

    A response that names no ``model`` echoes the request's model, as the real APIs do.
    """

    __slots__ = ("_cache", "_render", "echo_model", "response")

    def __init__(self, response: dict[str, Any], render: Render) -> None:
        self.response = response
        self.echo_model = "model" not in response
        self._render = render
        self._cache: dict[tuple[Any, Hashable], bytes] = {}

    def render(self, model: Any, variant: Hashable) -> bytes:
        if not self.echo_model or not isinstance(model, str):
            model = None
        key = (model, variant)
        body = self._cache.get(key)
        if body is None:
            if len(self._cache) >= _MAX_CACHED_MODELS:
                self._cache.clear()
            response = self.response
            if self.echo_model:
                response = {**response, "model": model or DEFAULT_MODEL}
            body = self._cache[key] = self._render(response, variant)
        return body


# --- request checks --------------------------------------------------------------------------


def check_object_list(body: Request, key: str, *, required: bool) -> None:
    value = body.get(key)
    if value is None and not required:
        return
    if not isinstance(value, list) or not value:
        raise ApiError(400, f"'{key}' must be a non-empty array", param=key)
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ApiError(400, f"'{key}[{i}]' must be an object", param=f"{key}[{i}]")


def check_content(value: Any, where: str, *, allow_null: bool) -> None:
    """Message content: a string or a list of parts (objects)."""
    if value is None and allow_null:
        return
    if isinstance(value, str):
        return
    if isinstance(value, list) and all(isinstance(part, dict) for part in value):
        return
    raise ApiError(400, f"'{where}' must be a string or an array of content parts", param=where)


def check_bool(body: Request, key: str) -> None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise ApiError(400, f"'{key}' must be a boolean", param=key)


def check_model(body: Request) -> None:
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(400, "'model' must be a string", param="model")


def estimate_tokens(*texts: str) -> int:
    """A stand-in token count (about four UTF-8 bytes a token) for usage a config leaves out."""
    size = sum(len(text.encode()) for text in texts)
    return (size + 3) // 4


def _preview(value: Any) -> str:
    return orjson.dumps(value).decode()[:200]


def describe_last_message(body: Request) -> str:
    messages = body.get("messages") or []
    return f"last message {_preview(messages[-1] if messages else None)}"


def describe_input(body: Request) -> str:
    return f"input {_preview(body.get('input'))}"
