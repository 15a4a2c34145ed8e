"""What the matchers read of an Ollama request: the last chat message (a generate request's
``prompt`` is a user message, its ``system`` the system prompt) for the body rule, the
conversation for the request-wide rules. The engine is `mockllm.matching`'s."""

from __future__ import annotations

from typing import Any

from ..config_parts import MatchType
from ..matching import (
    Conversation,
    MatchRules,
    Request,
    embeddings_input_mismatch,
    input_texts,
    message_mismatch,
    object_messages,
    pattern_mismatch,
    preview,
    substring_mismatch,
    tool_names_of,
)
from .format import OllamaEmbeddingMock, OllamaEmbeddingRequestMatch, OllamaMock, OllamaRequestMatch

__all__ = ["OLLAMA_EMBEDDINGS_RULES", "OLLAMA_RULES", "embed_inputs", "ollama_messages", "ollama_turns"]


def ollama_messages(request: Request) -> list[dict[str, Any]]:
    """The request's messages: a chat's, or a generate request's ``system`` and ``prompt`` as a
    system and a user message."""
    if "messages" in request or "prompt" not in request:
        return object_messages(request)
    messages: list[dict[str, Any]] = []
    if isinstance(request.get("system"), str):
        messages.append({"role": "system", "content": request["system"]})
    prompt = request.get("prompt")
    messages.append({"role": "user", "content": prompt if isinstance(prompt, str) else ""})
    return messages


def _last(request: Request) -> dict[str, Any] | None:
    messages = ollama_messages(request)
    return messages[-1] if messages else None


def _text(message: dict[str, Any] | None) -> str:
    content = message.get("content") if message is not None else None
    return content if isinstance(content, str) else ""


def ollama_turns(request: Request) -> int:
    return sum(1 for m in ollama_messages(request) if m.get("role") == "assistant")


OLLAMA_CONVERSATION = Conversation(
    turns=ollama_turns,
    history=lambda request: [_text(m) for m in ollama_messages(request) if m.get("role") != "system"],
    result_ids=lambda request: {
        n
        for m in ollama_messages(request)
        if m.get("role") == "tool" and isinstance(n := m.get("tool_name"), str)
    },
    system=lambda request: "\n".join(_text(m) for m in ollama_messages(request) if m.get("role") == "system"),
    tool_names=tool_names_of,
)


def _body_mismatch(match: OllamaRequestMatch, request: Request) -> str | None:
    return message_mismatch(match, _last(request), _message_mismatch)


def _message_mismatch(match: OllamaRequestMatch, last: dict[str, Any]) -> str | None:
    want = match.message
    tool_name = want.get("tool_name")
    if tool_name is not None and last.get("tool_name") != tool_name:
        return f"tool_name: wants {preview(tool_name)}, got {preview(last.get('tool_name'))}"
    if match.match_type is MatchType.REGEX:
        return pattern_mismatch(match.pattern, _text(last), "last message")
    return substring_mismatch(want.get("content", ""), _text(last), "last message")


def _mismatch(match: OllamaRequestMatch, request: Request) -> str | None:
    return _body_mismatch(match, request) or OLLAMA_CONVERSATION.mismatch(match, request)


OLLAMA_RULES: MatchRules[OllamaMock] = MatchRules(
    subject=_last,
    mismatch=_mismatch,
    body_mismatch=_body_mismatch,
    request_mismatch=OLLAMA_CONVERSATION.mismatch,
    conversation=OLLAMA_CONVERSATION,
    exact_subject=lambda m: m.message,
    needle=lambda m: str(m.message.get("content", "")),
    haystack=lambda request: _text(_last(request)),
)


# --- embeddings ------------------------------------------------------------------------------------


def embed_inputs(request: Request) -> list[str]:
    """The texts a request embeds: ``/api/embed``'s ``input``, ``/api/embeddings``' ``prompt``."""
    value = request.get("input", request.get("prompt"))
    return [value] if isinstance(value, str) else input_texts(value)


def _embed_subject(request: Request) -> Any:
    return request.get("input", request.get("prompt"))


def _embed_body_mismatch(match: OllamaEmbeddingRequestMatch, request: Request) -> str | None:
    return embeddings_input_mismatch(match, _embed_subject(request))


_EMBED_REQUEST = Conversation()
"""An embeddings request is no conversation: its one request-wide rule is ``model``."""

OLLAMA_EMBEDDINGS_RULES: MatchRules[OllamaEmbeddingMock] = MatchRules(
    subject=_embed_subject,
    mismatch=lambda match, request: (
        _embed_body_mismatch(match, request) or _EMBED_REQUEST.mismatch(match, request)
    ),
    body_mismatch=_embed_body_mismatch,
    request_mismatch=_EMBED_REQUEST.mismatch,
    conversation=_EMBED_REQUEST,
    exact_subject=lambda m: m.input,
    needle=lambda m: m.input if isinstance(m.input, str) else "",
    haystack=lambda request: "\n".join(embed_inputs(request)),
)
