"""Errors in each provider's own JSON shape, so the SDKs raise their proper exception classes."""

from __future__ import annotations

from typing import Any

import orjson

from ..apis import Provider
from ..matching import printable

__all__ = ["ApiError", "Provider", "default_code", "default_type", "error_body", "overloaded"]

# The type each provider sends for a status (the SDKs pick their exception class by status alone;
# the type is for the people and the code that read it). Anthropic documents its types per status.
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
# OpenAI's rate-limit errors say which limit was hit ("requests" or "tokens") and carry the code
# "rate_limit_exceeded", which is what client code checks.
_OPENAI_TYPES = {401: "authentication_error", 404: "not_found_error", 429: "requests", 500: "server_error"}
_OPENAI_CODES = {429: "rate_limit_exceeded"}


def default_type(provider: Provider, status: int) -> str:
    """The error ``type`` the provider sends with ``status``."""
    if provider == "anthropic":
        return _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def default_code(provider: Provider, status: int) -> str | None:
    """The error ``code`` the provider sends with ``status`` (OpenAI only), or None."""
    return _OPENAI_CODES.get(status) if provider == "openai" else None


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


def error_body(
    provider: Provider,
    status: int,
    message: str,
    param: str | None = None,
    *,
    kind: str | None = None,
    code: str | None = None,
) -> bytes:
    """The provider's error body; ``kind`` (the ``type``) defaults to `default_type`."""
    if kind is None:
        kind = default_type(provider, status)
    try:
        return _error_body(provider, message, param, kind, code)
    except orjson.JSONEncodeError:
        # The message quotes the request line or a header with bytes that are not UTF-8.
        return _error_body(provider, printable(message), param and printable(param), printable(kind), code)


def _error_body(provider: Provider, message: str, param: str | None, kind: str, code: str | None) -> bytes:
    body: dict[str, Any]
    if provider == "anthropic":
        body = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return orjson.dumps(body)


def overloaded(provider: Provider, message: str) -> tuple[int, bytes]:
    """The status and body of the provider's answer when it is overloaded, which both SDKs retry on
    their own: OpenAI's 500 ``server_error``, Anthropic's 529 ``overloaded_error``."""
    status = 529 if provider == "anthropic" else 500
    return status, error_body(provider, status, message)
