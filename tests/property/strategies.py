"""Hypothesis strategies for realistic requests, mock rules and provider responses.

Text is Unicode everywhere (emoji with joiners, flags, CJK, combining marks, control characters),
never lone surrogates: JSON cannot carry them and orjson refuses them.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

JsonObject = dict[str, Any]

# Grapheme clusters that are several code points: a split inside one must still reassemble.
CLUSTERS = (
    "👩‍👩‍👧",
    "🇫🇷",
    "e\u0301",
    "a\u0308\u0323",
    "👍🏽",
    "❤\ufe0f",
    "世界",
    "日本語",
    "한국어",
    "\u00a0",
    "\u3000",
    "\r\n",
    "\t",
    " ",
)

_char = st.one_of(
    st.characters(codec="utf-8"),
    st.characters(codec="utf-8", max_codepoint=0x7F),
    st.sampled_from(CLUSTERS),
)


def texts(*, min_size: int = 0, max_size: int = 24) -> st.SearchStrategy[str]:
    """Unicode text; sizes count characters or clusters."""
    return st.lists(_char, min_size=min_size, max_size=max_size).map("".join)


def ids(prefix: str) -> st.SearchStrategy[str]:
    """Identifiers as the APIs make them (``call_…``, ``toolu_…``)."""
    return st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=12).map(
        lambda s: prefix + s
    )


names = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=16)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    texts(max_size=12),
)

json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(texts(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)
json_objects: st.SearchStrategy[JsonObject] = st.dictionaries(texts(max_size=8), json_values, max_size=5)


# --- headers ----------------------------------------------------------------------------------

# A small pool, so that rules and sent headers often name the same header.
HEADER_NAMES = ("X-Tenant-ID", "X-Env", "X-Request-Kind", "X-Feature-Flag")


@st.composite
def any_casing(draw: st.DrawFn, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if up else c.lower() for c, up in zip(name, flips, strict=True))


header_values = st.text(string.ascii_letters + string.digits + "-_.:/", min_size=1, max_size=10)
"""Values that survive HTTP unchanged (no surrounding blanks, no line breaks)."""


@st.composite
def header_rules(
    draw: st.DrawFn, *, max_size: int = 3, values: st.SearchStrategy[str] = header_values
) -> list[JsonObject]:
    """Rules with distinct names (case-insensitively), each name in any casing."""
    chosen = draw(st.lists(st.sampled_from(HEADER_NAMES), unique=True, max_size=max_size))
    rules = []
    for name in chosen:
        rule: JsonObject = {"name": draw(any_casing(name)), "value": draw(values)}
        kind = draw(st.sampled_from([None, "exact", "contains"]))
        if kind is not None:
            rule["match_type"] = kind
        rules.append(rule)
    return rules


@st.composite
def satisfying_value(
    draw: st.DrawFn, rule: JsonObject, *, pad: st.SearchStrategy[str] = header_values
) -> str:
    """A header value that satisfies ``rule``."""
    if rule.get("match_type", "exact") == "exact":
        return str(rule["value"])
    before = draw(st.one_of(st.just(""), pad))
    after = draw(st.one_of(st.just(""), pad))
    return before + rule["value"] + after


# --- chat completions ---------------------------------------------------------------------------

CHAT_ROLES = ("system", "developer", "user", "assistant", "tool")


def chat_parts(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[list[JsonObject]]:
    text = text if text is not None else texts()
    text_part = st.builds(lambda t: {"type": "text", "text": t}, text)
    image_part = st.builds(
        lambda u, d: {"type": "image_url", "image_url": {"url": "https://example.com/" + u, "detail": d}},
        names,
        st.sampled_from(["auto", "low", "high"]),
    )
    return st.lists(st.one_of(text_part, text_part, image_part), min_size=1, max_size=3)


chat_content = st.one_of(texts(), chat_parts())


@st.composite
def chat_messages(draw: st.DrawFn) -> JsonObject:
    """A message as a client sends it (only keys a chat mock may also use)."""
    role = draw(st.sampled_from(CHAT_ROLES))
    message: JsonObject = {"role": role}
    if role == "tool":
        message["tool_call_id"] = draw(ids("call_"))
        message["content"] = draw(st.one_of(texts(), chat_parts(texts()).map(_text_parts_only)))
        return message
    if role == "assistant" and draw(st.booleans()):
        message["content"] = draw(st.one_of(st.none(), texts()))
        calls = draw(st.lists(tool_call_params(), min_size=1, max_size=2))
        message["tool_calls"] = calls
        return message
    message["content"] = draw(chat_content)
    if draw(st.integers(0, 4)) == 0:
        message["name"] = draw(names)
    return message


def _text_parts_only(parts: list[JsonObject]) -> list[JsonObject]:
    return [p for p in parts if p["type"] == "text"] or [{"type": "text", "text": ""}]


def tool_call_params() -> st.SearchStrategy[JsonObject]:
    return st.builds(
        lambda i, n, a: {"id": i, "type": "function", "function": {"name": n, "arguments": a}},
        ids("call_"),
        names,
        json_arguments(),
    )


def json_arguments() -> st.SearchStrategy[str]:
    """Tool arguments as the APIs send them: a JSON object serialised to a string."""
    return json_objects.map(lambda o: json.dumps(o, ensure_ascii=False))


# --- responses ---------------------------------------------------------------------------------


def input_text_parts(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[list[JsonObject]]:
    text = text if text is not None else texts()
    return st.lists(st.builds(lambda t: {"type": "input_text", "text": t}, text), min_size=1, max_size=3)


@st.composite
def responses_items(draw: st.DrawFn) -> JsonObject:
    kind = draw(st.sampled_from(["easy", "message", "function_call", "function_call_output"]))
    if kind == "easy":
        item: JsonObject = {
            "role": draw(st.sampled_from(["user", "assistant", "system", "developer"])),
            "content": draw(st.one_of(texts(), input_text_parts())),
        }
        if draw(st.booleans()):
            item["type"] = "message"
        return item
    if kind == "message":
        return {
            "type": "message",
            "role": draw(st.sampled_from(["user", "system", "developer"])),
            "content": draw(input_text_parts()),
        }
    if kind == "function_call":
        return {
            "type": "function_call",
            "call_id": draw(ids("call_")),
            "name": draw(names),
            "arguments": draw(json_arguments()),
        }
    return {"type": "function_call_output", "call_id": draw(ids("call_")), "output": draw(texts())}


responses_inputs = st.one_of(texts(), st.lists(responses_items(), min_size=1, max_size=4))


# --- embeddings ---------------------------------------------------------------------------------

_token = st.integers(min_value=0, max_value=200_000)
embeddings_inputs = st.one_of(
    texts(),
    st.lists(texts(), min_size=1, max_size=4),
    st.lists(_token, min_size=1, max_size=6),
    st.lists(st.lists(_token, min_size=1, max_size=4), min_size=1, max_size=3),
)


# --- anthropic ---------------------------------------------------------------------------------


def anthropic_text_blocks(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[JsonObject]:
    return st.builds(lambda t: {"type": "text", "text": t}, text if text is not None else texts())


@st.composite
def anthropic_blocks(draw: st.DrawFn) -> JsonObject:
    kind = draw(st.sampled_from(["text", "text", "tool_use", "tool_result", "image"]))
    if kind == "text":
        return draw(anthropic_text_blocks())
    if kind == "tool_use":
        return {
            "type": "tool_use",
            "id": draw(ids("toolu_")),
            "name": draw(names),
            "input": draw(json_objects),
        }
    if kind == "tool_result":
        block: JsonObject = {
            "type": "tool_result",
            "tool_use_id": draw(ids("toolu_")),
            "content": draw(st.one_of(texts(), st.lists(anthropic_text_blocks(), max_size=2))),
        }
        if draw(st.booleans()):
            block["is_error"] = draw(st.booleans())
        return block
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": draw(names)},
    }


@st.composite
def anthropic_messages(draw: st.DrawFn) -> JsonObject:
    return {
        "role": draw(st.sampled_from(["user", "assistant"])),
        "content": draw(st.one_of(texts(), st.lists(anthropic_blocks(), min_size=1, max_size=3))),
    }


# --- gemini ------------------------------------------------------------------------------------


@st.composite
def gemini_parts(draw: st.DrawFn) -> JsonObject:
    kind = draw(st.sampled_from(["text", "text", "functionCall", "functionResponse", "inlineData"]))
    if kind == "text":
        return {"text": draw(texts())}
    if kind == "functionCall":
        call: JsonObject = {"name": draw(names), "args": draw(json_objects)}
        if draw(st.booleans()):
            call["id"] = draw(ids("call_"))
        return {"functionCall": call}
    if kind == "functionResponse":
        response: JsonObject = {"name": draw(names), "response": draw(json_objects)}
        if draw(st.booleans()):
            response["id"] = draw(ids("call_"))
        return {"functionResponse": response}
    return {"inlineData": {"mimeType": "image/png", "data": draw(names)}}


@st.composite
def gemini_contents(draw: st.DrawFn) -> JsonObject:
    return {
        "role": draw(st.sampled_from(["user", "model"])),
        "parts": draw(st.lists(gemini_parts(), min_size=1, max_size=3)),
    }


gemini_embed_inputs = st.one_of(texts(), st.lists(texts(), min_size=2, max_size=4))
