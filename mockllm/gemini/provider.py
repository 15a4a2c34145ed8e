"""Google's conventions, shared by the Gemini APIs: keys in ``x-goog-api-key`` or ``?key=`` (Vertex
AI: ``Authorization: Bearer``), ``{"error": {code, message, status}}`` errors with Google's status
names, and its model list (``{"models": [{"name": "models/…"}]}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sanic import Request

from ..apis import ProviderName
from ..server.errors import ApiError
from ..server.provider import Provider, Route, bearer

__all__ = ["GEMINI", "KEY_HEADER", "STATUS_NAMES"]

KEY_HEADER = "x-goog-api-key"

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""The ``status`` Google sends with an HTTP status (``google.rpc.Code``'s names)."""

_PAGE_SIZE = 50
"""Models per page when a list request names no ``pageSize`` (the real API's default)."""


class GeminiProvider(Provider):
    name: ClassVar[ProviderName] = "gemini"
    title: ClassVar[str] = "Gemini"
    overloaded_status: ClassVar[int] = 503
    default_upstream: ClassVar[str] = "https://generativelanguage.googleapis.com"
    upstream_env: ClassVar[str] = "GOOGLE_GEMINI_BASE_URL"
    upstream_flag: ClassVar[str] = "--gemini-upstream"
    key_env: ClassVar[tuple[str, ...]] = ("MOCKLLM_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
    model_paths: ClassVar[tuple[str, ...]] = (
        "/v1beta/models",
        "/v1beta1/publishers/google/models",
        "/v1/publishers/google/models",
    )

    def check_auth(self, request: Request, route: Route | None) -> None:
        if request.headers.get(KEY_HEADER) or request.args.get("key"):
            return
        if route is not None and route.flavor == "vertex":
            if bearer(request):
                return
            raise ApiError(
                401,
                "Request is missing required authentication credential: send an 'Authorization: "
                "Bearer <any token>' or an 'x-goog-api-key' header (any value works).",
            )
        raise ApiError(
            403,
            "Method doesn't allow unregistered callers: send an 'x-goog-api-key' header or a '?key=' "
            "query parameter (any key works).",
        )

    def owns(self, request: Request) -> bool:
        path = request.path
        return (
            KEY_HEADER in request.headers
            or path.startswith(("/v1beta/", "/v1beta1/"))
            or "/publishers/google/" in path
            or ":" in path.rpartition("/")[2]  # Google's custom methods: ".../models/m:generateContent"
        )

    def default_type(self, status: int) -> str:
        return STATUS_NAMES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")

    def error_object(
        self, status: int, message: str, param: str | None, kind: str, code: str | None
    ) -> dict[str, Any]:
        # "code" first: the SDK tells an error chunk of a stream by its leading '{"error":', and
        # reads its code.
        return {"error": {"code": status, "message": message, "status": kind}}

    def asks_for_models(self, request: Request) -> bool:
        return ((KEY_HEADER in request.headers or "key" in request.args) and not bearer(request)) or (
            request.path.startswith(self.model_paths)
        )

    def model_info(self, name: str) -> dict[str, Any]:
        short = name.rpartition("/")[2]
        return {
            "name": f"models/{short}",
            "baseModelId": short,
            "version": "001",
            "displayName": short,
            "description": "A model served by mockllm.",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens", "embedContent"],
        }

    def model_list(self, names: list[str], query: Mapping[str, str]) -> dict[str, Any]:
        """A page of ``pageSize`` models from ``pageToken`` (the index of its first model)."""
        size_text, token = query.get("pageSize", str(_PAGE_SIZE)), query.get("pageToken", "0")
        if not (size_text.isascii() and size_text.isdigit() and len(size_text) <= 6):
            raise ApiError(400, f"Invalid pageSize {size_text!r}: expected a whole number.")
        if not (token.isascii() and token.isdigit() and len(token) <= 9):
            raise ApiError(400, f"Invalid pageToken {token!r}.")
        size, start = max(int(size_text), 1), int(token)
        page = names[start : start + size]
        body: dict[str, Any] = {"models": [self.model_info(name) for name in page]}
        if start + size < len(names):
            body["nextPageToken"] = str(start + size)
        return body

    def upstream_url(self, base: str, request: Request) -> str:
        url = base.rstrip("/") + request.path
        return f"{url}?{request.query_string}" if request.query_string else url

    def credentials(self, key: str) -> list[tuple[str, str]]:
        return [(KEY_HEADER, key)]

    def client_env(self, root: str, key: str) -> dict[str, str | None]:
        return {
            "GEMINI_API_KEY": key,
            "GOOGLE_GEMINI_BASE_URL": root,
            # A stray "true" would send the SDK to Vertex AI's paths; GOOGLE_API_KEY wins over
            # GEMINI_API_KEY, so a real one would be sent here.
            "GOOGLE_GENAI_USE_VERTEXAI": "false",
            "GOOGLE_API_KEY": None,
        }


GEMINI: GeminiProvider = GeminiProvider()
