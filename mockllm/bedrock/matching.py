"""What the matchers read of a Converse request: the last message and its content blocks for the
body rule, the conversation for the request-wide rules. The engine is `mockllm.matching`'s."""

from __future__ import annotations

import re
from typing import Any

import orjson

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
)
from .format import BedrockMock, BedrockRequestMatch

__all__ = ["BEDROCK_RULES", "bedrock_turns", "block_texts"]

bedrock_turns = assistant_turns


def _blocks(content: Any) -> list[dict[str, Any]]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def block_texts(content: Any) -> list[str]:
    """The texts of a message's blocks: text blocks, and what tool results carry (their text
    items, their JSON items as JSON)."""
    texts: list[str] = []
    for block in _blocks(content):
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        result = block.get("toolResult")
        if isinstance(result, dict):
            for item in _blocks(result.get("content")):
                if isinstance(item.get("text"), str):
                    texts.append(item["text"])
                elif "json" in item:
                    texts.append(orjson.dumps(item["json"]).decode())
    return texts


def _system(request: Request) -> str:
    return "\n".join(block_texts(request.get("system")))


def _tool_names(request: Request) -> set[str]:
    config = request.get("toolConfig")
    tools = config.get("tools") if isinstance(config, dict) else None
    names: set[str] = set()
    for tool in _blocks(tools):
        spec = tool.get("toolSpec")
        if isinstance(spec, dict) and isinstance(name := spec.get("name"), str):
            names.add(name)
    return names


def _result_ids(request: Request) -> set[str]:
    return {
        i
        for message in object_messages(request)
        for block in _blocks(message.get("content"))
        if isinstance(result := block.get("toolResult"), dict)
        and isinstance(i := result.get("toolUseId"), str)
    }


BEDROCK_CONVERSATION = Conversation(
    turns=bedrock_turns,
    history=lambda request: ["\n".join(block_texts(m.get("content"))) for m in object_messages(request)],
    result_ids=_result_ids,
    system=_system,
    tool_names=_tool_names,
)


def _block_mismatch(
    want: dict[str, Any], last: dict[str, Any], pattern: re.Pattern[str] | None
) -> str | None:
    """One block of a ``contains`` or ``regex`` rule: a text block by substring of the last
    message's texts, a tool result by its id, a tool use by its name, any other block whole."""
    blocks = _blocks(last.get("content"))
    if "text" in want:
        texts = block_texts(last.get("content"))
        if pattern is not None:
            if any(pattern.search(t) is not None for t in texts):
                return None
            return f"regex {preview(pattern.pattern)} not found in last message {preview(texts)}"
        if any(str(want["text"]) in t for t in texts):
            return None
        return f"text {preview(want['text'])} not found in last message {preview(texts)}"
    result = want.get("toolResult")
    if isinstance(result, dict):
        ids = [b["toolResult"].get("toolUseId") for b in blocks if isinstance(b.get("toolResult"), dict)]
        if result.get("toolUseId") in ids:
            return None
        wanted = preview(result.get("toolUseId"))
        return f"toolResult: no toolUseId {wanted} in last message (has {preview(ids)})"
    use = want.get("toolUse")
    if isinstance(use, dict):
        names = [b["toolUse"].get("name") for b in blocks if isinstance(b.get("toolUse"), dict)]
        if use.get("name") in names:
            return None
        return f"toolUse: no tool {preview(use.get('name'))} in last message (has {preview(names)})"
    whole = canonical_key(want)
    if any(canonical_key(b) == whole for b in blocks):
        return None
    return f"block {preview(want)} not in last message"


def _body_mismatch(match: BedrockRequestMatch, request: Request) -> str | None:
    return message_mismatch(match, last_message(request), _blocks_mismatch)


def _blocks_mismatch(match: BedrockRequestMatch, last: dict[str, Any]) -> str | None:
    patterns = match.block_patterns
    for i, block in enumerate(match.message.get("content") or []):
        reason = _block_mismatch(block, last, patterns[i] if patterns else None)
        if reason is not None:
            return reason
    return None


def _needle(match: Any) -> str:
    for block in match.message.get("content") or []:
        if isinstance(block.get("text"), str):
            return str(block["text"])
    return ""


BEDROCK_RULES: MatchRules[BedrockMock] = MatchRules(
    subject=last_message,
    mismatch=lambda match, request: (
        _body_mismatch(match, request) or BEDROCK_CONVERSATION.mismatch(match, request)
    ),
    body_mismatch=_body_mismatch,
    request_mismatch=BEDROCK_CONVERSATION.mismatch,
    conversation=BEDROCK_CONVERSATION,
    exact_subject=lambda m: m.message,
    needle=_needle,
    haystack=lambda request: "\n".join(block_texts((last_message(request) or {}).get("content"))),
)
