"""Ollama's conventions, shared by its APIs: no key, ``{"error": "…"}`` errors with the HTTP
status alone telling them apart, and its model list (``GET /api/tags``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sanic import Request

from ..apis import ProviderName
from ..server.provider import Provider, Route

__all__ = ["OLLAMA"]


class OllamaProvider(Provider):
    name: ClassVar[ProviderName] = "ollama"
    title: ClassVar[str] = "Ollama"
    overloaded_status: ClassVar[int] = 503
    default_upstream: ClassVar[str] = "http://127.0.0.1:11434"
    upstream_env: ClassVar[str] = "OLLAMA_HOST"
    upstream_flag: ClassVar[str] = "--ollama-upstream"
    key_env: ClassVar[tuple[str, ...]] = ("MOCKLLM_OLLAMA_API_KEY", "OLLAMA_API_KEY")
    model_paths: ClassVar[tuple[str, ...]] = ("/api/tags",)

    def check_auth(self, request: Request, route: Route | None) -> None:
        return  # Ollama serves anyone who can reach it

    def owns(self, request: Request) -> bool:
        return request.path.startswith("/api/")

    def default_type(self, status: int) -> str:
        return "server error" if status >= 500 else "bad request"

    def error_object(
        self, status: int, message: str, param: str | None, kind: str, code: str | None
    ) -> dict[str, Any]:
        return {"error": message}

    def asks_for_models(self, request: Request) -> bool:
        return request.path.startswith("/api/")  # GET /api/tags

    def model_info(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "modified_at": "1970-01-01T00:00:00Z",
            "size": 0,
            "digest": "0" * 64,
            "details": {"format": "gguf", "family": "mock", "families": ["mock"], "parameter_size": "0B"},
        }

    def model_list(self, names: list[str], query: Mapping[str, str]) -> dict[str, Any]:
        return {"models": [self.model_info(name) for name in names]}

    def upstream_url(self, base: str, request: Request) -> str:
        if "://" not in base:  # OLLAMA_HOST may name host:port alone
            base = "http://" + base
        url = base.rstrip("/") + request.path
        return f"{url}?{request.query_string}" if request.query_string else url

    def credentials(self, key: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {key}")]

    def client_env(self, root: str, key: str) -> dict[str, str | None]:
        return {"OLLAMA_HOST": root}


OLLAMA: OllamaProvider = OllamaProvider()
