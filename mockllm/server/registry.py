"""Every API's server adapter and every provider, listed once, by explicit imports (so that mypy,
an IDE and a reader see them all). Adding an API is one line here."""

from __future__ import annotations

from typing import Any, Final

from ..anthropic import messages as anthropic_messages
from ..apis import APIS, ApiKey
from ..bedrock import converse as bedrock_converse
from ..gemini import embed as gemini_embed
from ..gemini import generate as gemini_generate
from ..ollama import chat as ollama_chat
from ..ollama import embed as ollama_embed
from ..openai import chat as openai_chat
from ..openai import embeddings as openai_embeddings
from ..openai import responses as openai_responses
from .adapter import ApiAdapter
from .provider import Provider

__all__ = ["ADAPTERS", "CLAIM_ORDER", "PROVIDERS", "tool_call_ids"]

_ADAPTERS: Final = (
    openai_chat.ADAPTER,
    openai_responses.ADAPTER,
    openai_embeddings.ADAPTER,
    anthropic_messages.ADAPTER,
    gemini_generate.ADAPTER,
    gemini_embed.ADAPTER,
    ollama_chat.ADAPTER,
    ollama_embed.ADAPTER,
    bedrock_converse.ADAPTER,
)

ADAPTERS: Final[dict[ApiKey, ApiAdapter]] = {adapter.spec.key: adapter for adapter in _ADAPTERS}
"""The adapter of every API, by config key, in the order of `mockllm.apis.APIS`."""

PROVIDERS: Final[tuple[Provider, ...]] = tuple({id(h.provider): h.provider for h in _ADAPTERS}.values())
"""Every provider, each once, in the order of their first API."""
CLAIM_ORDER: Final[tuple[Provider, ...]] = tuple(sorted(PROVIDERS, key=lambda p: p.claims_the_rest))
"""The providers in the order they are asked whose a request outside an API's routes is (a model
list, an unknown route): the one that claims the rest comes last."""


def tool_call_ids(api: ApiKey, response: dict[str, Any] | None, position: int) -> tuple[str, ...]:
    """The ids of the tool calls of a mock's ``response`` as the server serves it: those it writes,
    and those the server fills in for calls without one (which depend on the mock's ``position``
    in its list). Ollama's tool results name the tool, so there they are the tool names."""
    adapter = ADAPTERS[api]
    if response is None or adapter.contract is None:
        return ()
    said = adapter.contract.said(adapter.fill(response, position, 0))
    return tuple(call.id for call in said.calls if call.id is not None)


if [spec.key for spec in APIS] != list(ADAPTERS):  # pragma: no cover - a broken registry fails at import
    raise RuntimeError("mockllm.server.registry: the adapters and mockllm.apis.APIS disagree")
for _adapter in _ADAPTERS:
    if _adapter.provider.name != _adapter.spec.provider:  # pragma: no cover
        raise RuntimeError(f"mockllm.server.registry: {_adapter.spec.key} names another provider")
