"""What the matchers read of a Gemini request: the last ``Content`` for the body rule, and the
conversation for the request-wide rules. The matching engine (canonical form, index, rule
messages) is `mockllm.matching`'s.

A part's text is its ``text``; a ``functionResponse`` part's text is its ``response`` as JSON (what
a ``contains`` rule and ``history_contains`` look in). The model comes from the URL (the route
puts it in the request as ``model``).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from ..matching import (
    Conversation,
    MatchRules,
    canonical_key,
    embeddings_input_mismatch,
    input_texts,
    message_mismatch,
    preview,
)
from .format import GeminiEmbeddingMock, GeminiEmbeddingRequestMatch, GeminiMock, GeminiRequestMatch

__all__ = [
    "GEMINI_CONVERSATION",
    "GEMINI_EMBEDDINGS_RULES",
    "GEMINI_RULES",
    "embed_inputs",
    "gemini_turns",
    "part_text",
]

Request = dict[str, Any]


def _contents(request: Request) -> list[dict[str, Any]]:
    contents = request.get("contents")
    if not isinstance(contents, list):
        return []
    return [c for c in contents if isinstance(c, dict)]


def _parts(content: Any) -> list[dict[str, Any]]:
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return []
    return [p for p in parts if isinstance(p, dict)]


def _last_content(request: Request) -> dict[str, Any] | None:
    contents = request.get("contents")
    if isinstance(contents, list) and contents and isinstance(contents[-1], dict):
        return contents[-1]
    return None


def _function_response(part: dict[str, Any]) -> dict[str, Any] | None:
    # The SDK writes camelCase; snake_case is what some hand-written clients send.
    value = part.get("functionResponse", part.get("function_response"))
    return value if isinstance(value, dict) else None


def _function_call(part: dict[str, Any]) -> dict[str, Any] | None:
    value = part.get("functionCall", part.get("function_call"))
    return value if isinstance(value, dict) else None


def part_text(part: dict[str, Any]) -> str | None:
    """A part's text: its ``text``, a function response's ``response`` as JSON; None for others."""
    text = part.get("text")
    if isinstance(text, str):
        return text
    response = _function_response(part)
    if response is not None:
        return orjson.dumps(response.get("response")).decode()
    return None


def _texts(content: Any) -> list[str]:
    return [text for part in _parts(content) if (text := part_text(part)) is not None]


# --- the conversation ------------------------------------------------------------------------------


def gemini_turns(request: Request) -> int:
    """``turn`` on Gemini: the runs of consecutive ``model`` contents. A chat sends a streamed
    answer back as it came, one content per chunk: one turn all the same."""
    turns, inside = 0, False
    for content in _contents(request):
        produced = content.get("role") == "model"
        if produced and not inside:
            turns += 1
        inside = produced
    return turns


def _history(request: Request) -> list[str]:
    return ["\n".join(_texts(content)) for content in _contents(request)]


def _result_ids(request: Request) -> set[str]:
    """Each function response's ``id``, or its ``name`` when it has none."""
    ids: set[str] = set()
    for content in _contents(request):
        for part in _parts(content):
            response = _function_response(part)
            if response is None:
                continue
            key = response.get("id") or response.get("name")
            if isinstance(key, str):
                ids.add(key)
    return ids


def _system(request: Request) -> str:
    instruction = request.get("systemInstruction", request.get("system_instruction"))
    if isinstance(instruction, str):
        return instruction
    return "\n".join(_texts(instruction))


def _tool_names(request: Request) -> set[str]:
    names: set[str] = set()
    tools = request.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict):
            continue
        declarations = tool.get("functionDeclarations", tool.get("function_declarations"))
        for declaration in declarations if isinstance(declarations, list) else ():
            if isinstance(declaration, dict) and isinstance(name := declaration.get("name"), str):
                names.add(name)
    return names


GEMINI_CONVERSATION = Conversation(
    turns=gemini_turns,
    history=_history,
    history_item="content",
    result_ids=_result_ids,
    system=_system,
    tool_names=_tool_names,
)


# --- the last content ------------------------------------------------------------------------------


def _part_mismatch(want: dict[str, Any], last: dict[str, Any], pattern: re.Pattern[str] | None) -> str | None:
    """One part of a ``contains`` or ``regex`` rule: a text part is found in the text of the last
    content, a function response by its id (or name), a function call by its name, any other part
    whole."""
    parts = _parts(last)
    if "text" in want:
        texts = _texts(last)
        if pattern is not None:
            if any(pattern.search(t) is not None for t in texts):
                return None
            return f"regex {preview(pattern.pattern)} not found in last content {preview(texts)}"
        needle = want["text"]
        if isinstance(needle, str) and any(needle in t for t in texts):
            return None
        return f"text {preview(needle)} not found in last content {preview(texts)}"
    response = _function_response(want)
    if response is not None:
        wanted = response.get("id") or response.get("name")
        found = [r for p in parts if (r := _function_response(p)) is not None]
        # A response without an id (the SDK's automatic function calling sends none) answers by
        # its function's name.
        if any(
            (r.get("id") or r.get("name")) == wanted or r.get("name") == response.get("name") is not None
            for r in found
        ):
            return None
        shown = [r.get("id") or r.get("name") for r in found]
        return f"functionResponse: none for {preview(wanted)} in last content (has {preview(shown)})"
    call = _function_call(want)
    if call is not None:
        names = [c.get("name") for p in parts if (c := _function_call(p)) is not None]
        if call.get("name") in names:
            return None
        return f"functionCall: no {preview(call.get('name'))} in last content (has {preview(names)})"
    whole = canonical_key(want)
    if any(canonical_key(p) == whole for p in parts):
        return None
    return f"part {preview(want)} not in last content"


def _body_mismatch(match: GeminiRequestMatch, request: Request) -> str | None:
    return message_mismatch(match, _last_content(request), _parts_mismatch, what="content")


def _parts_mismatch(match: GeminiRequestMatch, last: dict[str, Any]) -> str | None:
    patterns = match.part_patterns
    for i, part in enumerate(match.message.get("parts") or []):
        reason = _part_mismatch(part, last, patterns[i] if patterns else None)
        if reason is not None:
            return reason
    return None


def _mismatch(match: GeminiRequestMatch, request: Request) -> str | None:
    return _body_mismatch(match, request) or GEMINI_CONVERSATION.mismatch(match, request)


def _needle(match: Any) -> str:
    for part in match.message.get("parts") or []:
        if isinstance(part.get("text"), str):
            return str(part["text"])
    return ""


def _haystack(request: Request) -> str:
    return "\n".join(_texts(_last_content(request)))


GEMINI_RULES: MatchRules[GeminiMock] = MatchRules(
    subject=_last_content,
    mismatch=_mismatch,
    body_mismatch=_body_mismatch,
    request_mismatch=GEMINI_CONVERSATION.mismatch,
    conversation=GEMINI_CONVERSATION,
    exact_subject=lambda m: m.message,
    needle=_needle,
    haystack=_haystack,
)


# --- embeddings ------------------------------------------------------------------------------------


def embed_inputs(request: Request) -> list[str]:
    """The text of each content a request embeds: ``requests[].content`` of a batch, ``content``
    of a single one."""
    requests = request.get("requests")
    if isinstance(requests, list):
        contents = [r.get("content") if isinstance(r, dict) else None for r in requests]
    else:
        contents = [request.get("content")]
    return ["\n".join(t for p in _parts(c) if isinstance(t := p.get("text"), str)) for c in contents]


def _embed_subject(request: Request) -> Any:
    """What an embeddings rule compares: one content's text, or the list of them."""
    texts = embed_inputs(request)
    return texts[0] if len(texts) == 1 else texts


def _embed_body_mismatch(match: GeminiEmbeddingRequestMatch, request: Request) -> str | None:
    return embeddings_input_mismatch(match, _embed_subject(request))


def _embed_mismatch(match: GeminiEmbeddingRequestMatch, request: Request) -> str | None:
    return _embed_body_mismatch(match, request) or GEMINI_EMBEDDINGS_REQUEST.mismatch(match, request)


GEMINI_EMBEDDINGS_REQUEST = Conversation()
"""An embeddings request is no conversation: its one request-wide rule is ``model``."""

GEMINI_EMBEDDINGS_RULES: MatchRules[GeminiEmbeddingMock] = MatchRules(
    subject=_embed_subject,
    mismatch=_embed_mismatch,
    body_mismatch=_embed_body_mismatch,
    request_mismatch=GEMINI_EMBEDDINGS_REQUEST.mismatch,
    conversation=GEMINI_EMBEDDINGS_REQUEST,
    exact_subject=lambda m: m.input,
    needle=lambda m: m.input if isinstance(m.input, str) else "",
    haystack=lambda request: "\n".join(input_texts(_embed_subject(request))),
)
