"""OpenAI, the provider of Chat Completions, Responses and embeddings (and Azure OpenAI's routes
to them): bearer keys, ``{"error": {message, type, param, code}}`` errors, its model list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sanic import Request

from ..apis import ProviderName
from ..server.errors import ApiError
from ..server.provider import Provider, Route, bearer

__all__ = ["AZURE_API_KEY_HEADER", "AZURE_API_VERSION", "OPENAI"]

AZURE_API_KEY_HEADER = "api-key"
"""Azure's API key header, accepted on its routes besides ``Authorization: Bearer``."""

AZURE_API_VERSION = "2024-10-21"
"""The ``api-version`` the client environment names for ``AzureOpenAI``: the server takes any."""

# OpenAI's rate-limit errors say which limit was hit ("requests" or "tokens") and carry the code
# "rate_limit_exceeded", which is what client code checks.
_TYPES = {401: "authentication_error", 404: "not_found_error", 429: "requests", 500: "server_error"}
_CODES = {429: "rate_limit_exceeded"}


class OpenAIProvider(Provider):
    name: ClassVar[ProviderName] = "openai"
    title: ClassVar[str] = "OpenAI"
    overloaded_status: ClassVar[int] = 500
    default_upstream: ClassVar[str] = "https://api.openai.com/v1"
    upstream_env: ClassVar[str] = "OPENAI_BASE_URL"
    upstream_flag: ClassVar[str] = "--upstream"
    key_env: ClassVar[tuple[str, ...]] = ("MOCKLLM_OPENAI_API_KEY", "OPENAI_API_KEY")
    claims_the_rest: ClassVar[bool] = True

    def check_auth(self, request: Request, route: Route | None) -> None:
        value = request.headers.get("authorization")
        if value is not None and value[:7].lower() == "bearer " and value[7:].strip():
            return  # the usual request, checked without a call
        azure = route is not None and route.flavor == "azure"
        if bearer(request) or (azure and request.headers.get(AZURE_API_KEY_HEADER)):
            return
        wanted = (
            "an 'api-key' or 'Authorization: Bearer' header"
            if azure
            else "an 'Authorization: Bearer <any key>' header"
        )
        raise ApiError(401, f"Missing API key: send {wanted} (any key works).")

    def owns(self, request: Request) -> bool:
        return True  # asked last (claims_the_rest)

    def default_type(self, status: int) -> str:
        return _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")

    def default_code(self, status: int) -> str | None:
        return _CODES.get(status)

    def error_object(
        self, status: int, message: str, param: str | None, kind: str, code: str | None
    ) -> dict[str, Any]:
        return {"error": {"message": message, "type": kind, "param": param, "code": code}}

    def asks_for_models(self, request: Request) -> bool:
        return True  # asked last (claims_the_rest)

    def model_info(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 0, "owned_by": "mockllm"}

    def model_list(self, names: list[str], query: Mapping[str, str]) -> dict[str, Any]:
        return {"object": "list", "data": [self.model_info(name) for name in names]}

    def upstream_url(self, base: str, request: Request) -> str:
        # The SDK's base URL ends in /v1, and so do the paths served here.
        url = base.rstrip("/") + request.path.removeprefix("/v1")
        return f"{url}?{request.query_string}" if request.query_string else url

    def credentials(self, key: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {key}")]

    def client_env(self, root: str, key: str) -> dict[str, str | None]:
        return {
            "OPENAI_BASE_URL": self.base_url(root),
            "OPENAI_API_KEY": key,
            "AZURE_OPENAI_ENDPOINT": root,
            "AZURE_OPENAI_API_KEY": key,
            "OPENAI_API_VERSION": AZURE_API_VERSION,
        }

    def base_url(self, root: str) -> str:
        return root + "/v1"


OPENAI: OpenAIProvider = OpenAIProvider()
