"""The APIs mockllm serves, each listed once.

An API is known by two names. Its **key** is the JSON key of its mock list in a config (kagent's
names: ``openai``, ``openai_response``, …). Its **module** names everything of it in code: the
verb that starts one of its mocks (``mock().<module>()``), and its server and builder modules.

What an API *does* (its routes, checks, answers, streams, errors, recording) is its server
adapter, an `ApiAdapter` listed in ``mockllm/server/registry.py``; what its provider shares
between its APIs (authentication, error shape, model list, upstream, client environment) is a
`Provider`. Everything that goes over all APIs (routes, compiling a config, counting mocks,
layering configs, the builder's lists) reads `APIS` and the registry, never an API's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = ["APIS", "API_BY_KEY", "ApiKey", "ApiSpec", "ProviderName"]

ApiKey = Literal[
    "openai",
    "openai_response",
    "openai_embeddings",
    "anthropic",
    "gemini",
    "gemini_embeddings",
    "ollama",
    "ollama_embeddings",
    "bedrock",
]
"""The config key of an API's mock list."""

ProviderName = Literal["openai", "anthropic", "gemini", "ollama", "bedrock"]
"""Whose conventions an API follows: error shape, authentication, model list, upstream."""


@dataclass(frozen=True)
class ApiSpec:
    """What one API is called: its config key, its module name, its provider, its title."""

    key: ApiKey
    module: str
    provider: ProviderName
    title: str
    """For people: "Chat Completions", "Anthropic Messages", …"""


APIS: Final = (
    ApiSpec("openai", "openai_chat", "openai", "Chat Completions"),
    ApiSpec("openai_response", "openai_responses", "openai", "Responses"),
    ApiSpec("openai_embeddings", "openai_embeddings", "openai", "Embeddings"),
    ApiSpec("anthropic", "anthropic_messages", "anthropic", "Anthropic Messages"),
    ApiSpec("gemini", "gemini", "gemini", "Gemini generateContent"),
    ApiSpec("gemini_embeddings", "gemini_embeddings", "gemini", "Gemini embedContent"),
    ApiSpec("ollama", "ollama", "ollama", "Ollama chat and generate"),
    ApiSpec("ollama_embeddings", "ollama_embeddings", "ollama", "Ollama embed"),
    ApiSpec("bedrock", "bedrock", "bedrock", "Bedrock Converse"),
)

API_BY_KEY: Final[dict[str, ApiSpec]] = {spec.key: spec for spec in APIS}

if set(get_args(ApiKey)) != set(API_BY_KEY):  # pragma: no cover - a broken registry fails at import
    raise RuntimeError("mockllm.apis: ApiKey and APIS list different APIs")
