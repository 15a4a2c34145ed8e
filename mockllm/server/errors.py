"""Errors in each provider's own JSON shape, so the SDKs raise their proper exception classes."""

from __future__ import annotations

from typing import Any

import orjson

from ..apis import Provider
from ..matching import printable

__all__ = ["ApiError", "Provider", "error_body"]

# Anthropic names its error types; OpenAI's SDK only reads the status, but the type helps people.
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_OPENAI_TYPES = {401: "authentication_error", 404: "not_found_error", 500: "server_error"}


class ApiError(Exception):
    """A request the server refuses: rendered as the provider's error body with ``status``."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, near_misses: tuple[Any, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.near_misses = near_misses
        """For a 404: the nearest mocks (`NearMiss`), told to the client after the message."""

    @property
    def client_message(self) -> str:
        return " ".join([self.message, *map(str, self.near_misses)])


def error_body(provider: Provider, status: int, message: str, param: str | None = None) -> bytes:
    try:
        return _error_body(provider, status, message, param)
    except orjson.JSONEncodeError:
        # The message quotes the request line or a header with bytes that are not UTF-8.
        return _error_body(provider, status, printable(message), param and printable(param))


def _error_body(provider: Provider, status: int, message: str, param: str | None) -> bytes:
    body: dict[str, Any]
    if provider == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        body = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return orjson.dumps(body)
