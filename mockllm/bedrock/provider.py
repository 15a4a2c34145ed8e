"""AWS's conventions for Bedrock: an ``Authorization`` header (SigV4 or a Bedrock API key; any
works, the signature is not verified), errors as ``{"message": …}`` named by the
``x-amzn-ErrorType`` header, so that botocore raises the modeled ``ClientError`` and retries what
it retries against AWS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sanic import Request

from ..apis import ProviderName
from ..server.errors import ApiError
from ..server.provider import Provider, Route

__all__ = ["BEDROCK", "ERROR_TYPES"]

ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
"""The error Bedrock names with a status (``x-amzn-ErrorType``); botocore's retries read it."""

_NAMESPACE = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


class BedrockProvider(Provider):
    name: ClassVar[ProviderName] = "bedrock"
    title: ClassVar[str] = "Bedrock"
    overloaded_status: ClassVar[int] = 503
    default_upstream: ClassVar[str] = "https://bedrock-runtime.us-east-1.amazonaws.com"
    upstream_env: ClassVar[str] = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"
    upstream_flag: ClassVar[str] = "--bedrock-upstream"
    key_env: ClassVar[tuple[str, ...]] = ("MOCKLLM_BEDROCK_API_KEY", "AWS_BEARER_TOKEN_BEDROCK")

    def check_auth(self, request: Request, route: Route | None) -> None:
        if not request.headers.get("authorization"):
            raise ApiError(
                403, "Missing Authentication Token: send an 'Authorization' header (SigV4 or a key)."
            )

    def owns(self, request: Request) -> bool:
        return request.path.startswith("/model/")

    def default_type(self, status: int) -> str:
        return ERROR_TYPES.get(status, "InternalServerException" if status >= 500 else "ValidationException")

    def error_object(
        self, status: int, message: str, param: str | None, kind: str, code: str | None
    ) -> dict[str, Any]:
        return {"message": message}

    def error_headers(self, status: int, kind: str) -> dict[str, str]:
        return {"x-amzn-ErrorType": kind + _NAMESPACE}

    def asks_for_models(self, request: Request) -> bool:
        return False  # the runtime API lists no models

    def model_info(self, name: str) -> dict[str, Any]:
        return {"modelId": name}

    def model_list(self, names: list[str], query: Mapping[str, str]) -> dict[str, Any]:
        return {"modelSummaries": [self.model_info(name) for name in names]}

    def upstream_url(self, base: str, request: Request) -> str:
        # A SigV4 signature covers the host: forwarded, it holds for an upstream that does not check
        # it (a gateway, a proxy), or with a Bedrock API key (MOCKLLM_BEDROCK_API_KEY).
        url = base.rstrip("/") + request.path
        return f"{url}?{request.query_string}" if request.query_string else url

    def credentials(self, key: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {key}")]

    def client_env(self, root: str, key: str) -> dict[str, str | None]:
        return {
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": root,
            "ANTHROPIC_BEDROCK_BASE_URL": root,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": key,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            # boto3 refuses a bearer token over plain HTTP; a session token would pair with a real key.
            "AWS_BEARER_TOKEN_BEDROCK": None,
            "AWS_SESSION_TOKEN": None,
        }


BEDROCK: BedrockProvider = BedrockProvider()
