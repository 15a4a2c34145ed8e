"""Anthropic, the provider of the Messages API: ``x-api-key`` (or bearer) keys with an
``anthropic-version`` header, ``{"type": "error", "error": {type, message}}`` errors, its paged
model list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sanic import Request

from ..apis import ProviderName
from ..server.errors import ApiError
from ..server.provider import Provider, Route, bearer

__all__ = ["ANTHROPIC"]

# The type Anthropic sends for a status (the SDKs pick their exception class by status alone; the
# type is for the people and the code that read it). Anthropic documents its types per status.
_TYPES = {
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
_VERSION_HEADER = "anthropic-version"


class AnthropicProvider(Provider):
    name: ClassVar[ProviderName] = "anthropic"
    title: ClassVar[str] = "Anthropic"
    overloaded_status: ClassVar[int] = 529
    default_upstream: ClassVar[str] = "https://api.anthropic.com"
    upstream_env: ClassVar[str] = "ANTHROPIC_BASE_URL"
    upstream_flag: ClassVar[str] = "--anthropic-upstream"
    key_env: ClassVar[tuple[str, ...]] = ("MOCKLLM_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY")

    def check_auth(self, request: Request, route: Route | None) -> None:
        if route is not None and route.flavor == "bedrock":  # AWS's: SigV4 (not verified) or a key
            if not request.headers.get("authorization"):
                raise ApiError(403, "Missing Authentication Token: send an 'Authorization' header.")
            return
        if not (request.headers.get("x-api-key") or bearer(request)):
            raise ApiError(401, "Missing API key: send an 'x-api-key' or 'Authorization: Bearer' header.")
        if not request.headers.get(_VERSION_HEADER):
            raise ApiError(400, f"{_VERSION_HEADER}: header is required")

    def owns(self, request: Request) -> bool:
        return request.path.startswith("/v1/messages") or _VERSION_HEADER in request.headers

    def default_type(self, status: int) -> str:
        return _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")

    def error_object(
        self, status: int, message: str, param: str | None, kind: str, code: str | None
    ) -> dict[str, Any]:
        return {"type": "error", "error": {"type": kind, "message": message}}

    def asks_for_models(self, request: Request) -> bool:
        return _VERSION_HEADER in request.headers

    def model_info(self, name: str) -> dict[str, Any]:
        return {
            "type": "model",
            "id": name,
            "display_name": name,
            "created_at": "1970-01-01T00:00:00Z",
            "lifecycle": "active",
        }

    def model_list(self, names: list[str], query: Mapping[str, str]) -> dict[str, Any]:
        """A page that honours the query's ``limit``, ``after_id`` and ``before_id`` as the real API
        does."""
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
            "data": [self.model_info(name) for name in page],
            "has_more": more,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }

    def upstream_url(self, base: str, request: Request) -> str:
        url = base.rstrip("/") + request.path
        return f"{url}?{request.query_string}" if request.query_string else url

    def credentials(self, key: str) -> list[tuple[str, str]]:
        return [("x-api-key", key)]

    def client_env(self, root: str, key: str) -> dict[str, str | None]:
        return {"ANTHROPIC_BASE_URL": root, "ANTHROPIC_API_KEY": key}


ANTHROPIC: AnthropicProvider = AnthropicProvider()
