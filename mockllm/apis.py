"""The APIs mockllm serves, each listed once.

An API is known by two names. Its **key** is the JSON key of its mock list in a config (kagent's
names: ``openai``, ``openai_response``, …). Its **module** names everything of it in code: the
server module that checks and answers its requests (``mockllm/server/<module>.py``), the builder
module (``mockllm/builders/<module>.py``) and the verb that starts one of its mocks
(``mock().<module>()``).

Adding an API takes an entry in `APIS`, its mock model and `Config` field in ``config.py``, its
match rules in ``matching.py``, its server and builder modules, and its verb in
``builders/_entry_points.py``. Everything that goes over all APIs (routes, compiling a config,
counting mocks, layering configs, the builder's lists) reads `APIS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = ["APIS", "API_BY_KEY", "ApiKey", "ApiSpec", "Provider"]

ApiKey = Literal["openai", "openai_response", "openai_embeddings", "anthropic"]
"""The config key of an API's mock list."""

Provider = Literal["openai", "anthropic"]
"""Whose conventions a route follows: error shape and authentication headers."""


@dataclass(frozen=True)
class ApiSpec:
    """What one API is: its config key, its module name, and its HTTP route."""

    key: ApiKey
    module: str
    route: str
    provider: Provider
    title: str
    """For people: "Chat Completions", "Anthropic Messages", …"""
    azure: bool = False
    """Also served on Azure OpenAI's routes to it (see `mockllm.server.azure`)."""


APIS: Final = (
    ApiSpec("openai", "openai_chat", "/v1/chat/completions", "openai", "Chat Completions", azure=True),
    ApiSpec("openai_response", "openai_responses", "/v1/responses", "openai", "Responses", azure=True),
    ApiSpec("openai_embeddings", "openai_embeddings", "/v1/embeddings", "openai", "Embeddings", azure=True),
    ApiSpec("anthropic", "anthropic_messages", "/v1/messages", "anthropic", "Anthropic Messages"),
)

API_BY_KEY: Final[dict[str, ApiSpec]] = {spec.key: spec for spec in APIS}

if set(get_args(ApiKey)) != set(API_BY_KEY):  # pragma: no cover - a broken registry fails at import
    raise RuntimeError("mockllm.apis: ApiKey and APIS list different APIs")
