"""What the matchers read of Anthropic's requests: the last message and its blocks for the body
rule, the conversation for the request-wide rules. The engine is `mockllm.matching`'s."""

from __future__ import annotations

import re
from typing import Any

from ..matching import (
    Conversation,
    MatchRules,
    Request,
    assistant_turns,
    canonical_key,
    last_message,
    message_mismatch,
    object_messages,
    preview,
    text_blocks,
    tool_names_of,
)
from .format import AnthropicMock, AnthropicRequestMatch

__all__ = [
    "ANTHROPIC_RULES",
    "anthropic_mismatch",
    "anthropic_request_mismatch",
    "anthropic_turns",
]


# --- anthropic --------------------------------------------------------------------------------


def _system_text(request: Request) -> str:
    return "\n".join(text_blocks(request.get("system")))


anthropic_turns = assistant_turns
"""``turn`` on Anthropic: the number of ``assistant`` messages, as on chat."""


def _anthropic_history(request: Request) -> list[str]:
    """Every text of every message: text blocks (or a string content) and what ``tool_result``
    blocks carry (``system`` is a separate field, not a message)."""
    texts: list[str] = []
    for message in object_messages(request):
        content = message.get("content")
        texts += text_blocks(content)
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    texts += text_blocks(block.get("content"))
    return texts


def _anthropic_result_ids(request: Request) -> set[str]:
    """The ``tool_use_id`` of every result block: the client's ``tool_result``, and the results
    of server-run tools replayed in the history (``web_search_tool_result``, ``mcp_tool_result``,
    …)."""
    return {
        i
        for message in object_messages(request)
        if isinstance(content := message.get("content"), list)
        for block in content
        if isinstance(block, dict)
        and isinstance(kind := block.get("type"), str)
        and kind.endswith("tool_result")
        and isinstance(i := block.get("tool_use_id"), str)
    }


ANTHROPIC_CONVERSATION = Conversation(
    turns=anthropic_turns,
    history=_anthropic_history,
    history_item="message text",
    result_ids=_anthropic_result_ids,
    system=_system_text,
    tool_names=tool_names_of,
)
anthropic_request_mismatch = ANTHROPIC_CONVERSATION.mismatch


def _anthropic_block_mismatch(
    block: Any, last: dict[str, Any], pattern: re.Pattern[str] | None = None
) -> str | None:
    content = last.get("content")
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        texts = text_blocks(content)
        if pattern is not None:
            if any(pattern.search(t) is not None for t in texts):
                return None
            return f"regex {preview(pattern.pattern)} not found in last message {preview(texts)}"
        needle = block.get("text", "")
        if any(needle in t for t in texts):
            return None
        return f"text {preview(needle)} not found in last message {preview(texts)}"
    blocks = content if isinstance(content, list) else []
    if kind == "tool_result":
        return _tool_result_mismatch(block, blocks)
    if kind == "tool_use":
        want = block.get("name")
        names = [b.get("name") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
        if want in names:
            return None
        return f"tool_use: no tool {preview(want)} in last message (has {preview(names)})"
    key = canonical_key(block)
    if any(canonical_key(b) == key for b in blocks):
        return None
    return f"block {preview(block)} not in last message"


def _tool_result_mismatch(block: dict[str, Any], blocks: list[Any]) -> str | None:
    """A ``tool_result`` block of a rule: the last message has the result of its ``tool_use_id``
    (kagent's rule: whatever the result's content)."""
    want = block.get("tool_use_id")
    ids = [b.get("tool_use_id") for b in _results(blocks)]
    if want in ids:
        return None
    return f"tool_result: no tool_use_id {preview(want)} in last message (has {preview(ids)})"


def _results(blocks: Any) -> list[dict[str, Any]]:
    return (
        [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        if isinstance(blocks, list)
        else []
    )


def _result_text_mismatch(match: AnthropicRequestMatch, last: dict[str, Any]) -> str | None:
    """``tool_result_contains``: a result the rule names (any, if it names none) holds the text."""
    needle = match.tool_result_contains
    if needle is None:
        return None
    named = {b.get("tool_use_id") for b in _results(match.message.get("content"))}
    texts = [
        "\n".join(text_blocks(b.get("content")))
        for b in _results(last.get("content"))
        if not named or b.get("tool_use_id") in named
    ]
    if any(needle in text for text in texts):
        return None
    return f"tool_result_contains: {preview(needle)} not found in the last message's results {preview(texts)}"


def _anthropic_body_mismatch(match: AnthropicRequestMatch, request: Request) -> str | None:
    return message_mismatch(match, last_message(request), _anthropic_blocks_mismatch)


def _anthropic_blocks_mismatch(match: AnthropicRequestMatch, last: dict[str, Any]) -> str | None:
    content = match.message.get("content")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
    patterns = match.block_patterns
    for i, block in enumerate(blocks):
        reason = _anthropic_block_mismatch(block, last, patterns[i] if patterns else None)
        if reason is not None:
            return reason
    return _result_text_mismatch(match, last)


def anthropic_mismatch(match: AnthropicRequestMatch, request: Request) -> str | None:
    """Every rule of an Anthropic mock but its headers: the last message, then the request-wide
    rules."""
    return _anthropic_body_mismatch(match, request) or anthropic_request_mismatch(match, request)


def _anthropic_needle(match: Any) -> str:
    texts = text_blocks(match.message.get("content"))
    return texts[0] if texts else ""


def _anthropic_haystack(request: Request) -> str:
    last = last_message(request)
    return "\n".join(text_blocks(last.get("content"))) if last is not None else ""


ANTHROPIC_RULES: MatchRules[AnthropicMock] = MatchRules(
    subject=last_message,
    mismatch=anthropic_mismatch,
    body_mismatch=_anthropic_body_mismatch,
    request_mismatch=anthropic_request_mismatch,
    conversation=ANTHROPIC_CONVERSATION,
    exact_subject=lambda m: m.message,
    needle=_anthropic_needle,
    haystack=_anthropic_haystack,
)
