"""``contains`` is monotone: text added around the matched text keeps the match; a character
removed from the matched span loses it, unless the needle still occurs elsewhere.

Precisely, for a needle ``t`` (non-empty) and a request text ``a + t + b``:
- the mock matches, for any ``a`` and ``b`` and wherever the text sits (string content, one of
  several parts or blocks, one of several embeddings inputs, the last Responses item);
- deleting the character at position ``i`` with ``len(a) <= i < len(a + t)`` gives a text that
  the mock matches exactly when ``t`` still occurs in it; in particular, when ``a`` and ``b`` are
  empty the match is always lost (a shorter text cannot hold ``t``).
And changing what contains also compares (the role, a tool call id) loses the match.
"""

from __future__ import annotations

import json

from hypothesis import assume, given
from hypothesis import strategies as st

from mockllm.anthropic.matching import anthropic_mismatch
from mockllm.config import (
    AnthropicRequestMatch,
    OpenAIEmbeddingRequestMatch,
    OpenAIRequestMatch,
    OpenAIResponseRequestMatch,
)
from mockllm.matching import canonical
from mockllm.openai.matching import chat_mismatch, embeddings_mismatch, responses_mismatch

from . import strategies as s

needles = s.texts(min_size=1, max_size=12)
pads = s.texts(max_size=8)


@st.composite
def spans(draw: st.DrawFn) -> tuple[str, str, str, int]:
    """(before, needle, after, i): ``i`` indexes a character of the needle inside the whole text."""
    before, needle, after = draw(pads), draw(needles), draw(pads)
    i = draw(st.integers(len(before), len(before) + len(needle) - 1))
    return before, needle, after, i


def _without(text: str, i: int) -> str:
    return text[:i] + text[i + 1 :]


def _chat(match: OpenAIRequestMatch, last: dict[str, object]) -> bool:
    return chat_mismatch(match, {"messages": [{"role": "user", "content": "earlier"}, last]}) is None


# --- chat ---------------------------------------------------------------------------------------


@given(span=spans(), role=st.sampled_from(s.CHAT_ROLES), as_part=st.booleans(), data=st.data())
def test_chat_contains_is_monotone(
    span: tuple[str, str, str, int], role: str, as_part: bool, data: st.DataObject
) -> None:
    """Chat, last message text (string content, or one text part among other parts).

    Mutations caught: the substring test replaced by ``startswith`` (text added before is lost);
    the needle compared after ``strip()`` (a removed blank at the end of the span still matched).
    """
    before, needle, after, i = span
    mock_content: object = [{"type": "text", "text": needle}] if as_part else needle
    match = OpenAIRequestMatch.model_validate(
        {"match_type": "contains", "message": {"role": role, "content": mock_content}}
    )
    text = before + needle + after
    others = data.draw(s.chat_parts())
    parts = [*others[:1], {"type": "text", "text": text}, *others[1:]]
    assert _chat(match, {"role": role, "content": text})
    assert _chat(match, {"role": role, "content": parts})

    shorter = _without(text, i)
    assert _chat(match, {"role": role, "content": shorter}) == (needle in shorter)
    assert not _chat(match, {"role": role, "content": _without(needle, i - len(before))})


@given(needle=needles, roles=st.lists(st.sampled_from(s.CHAT_ROLES), min_size=2, max_size=2, unique=True))
def test_chat_contains_compares_role(needle: str, roles: list[str]) -> None:
    """A contains mock that names a role does not match the same text under another role.

    Mutation caught: ``_role_mismatch`` dropped from the chat contains rule.
    """
    match = OpenAIRequestMatch.model_validate(
        {"match_type": "contains", "message": {"role": roles[0], "content": needle}}
    )
    assert _chat(match, {"role": roles[0], "content": needle})
    assert not _chat(match, {"role": roles[1], "content": needle})


@given(needle=s.texts(max_size=8), ids=st.lists(s.ids("call_"), min_size=2, max_size=2, unique=True))
def test_chat_contains_compares_tool_call_id(needle: str, ids: list[str]) -> None:
    """A contains mock that gives ``tool_call_id`` matches only the tool message for that call.

    Mutation caught: the ``tool_call_id`` check dropped from the chat contains rule.
    """
    match = OpenAIRequestMatch.model_validate(
        {"match_type": "contains", "message": {"role": "tool", "tool_call_id": ids[0], "content": needle}}
    )
    assert _chat(match, {"role": "tool", "tool_call_id": ids[0], "content": "result: " + needle})
    assert not _chat(match, {"role": "tool", "tool_call_id": ids[1], "content": "result: " + needle})


# --- responses ----------------------------------------------------------------------------------


def _responses(match: OpenAIResponseRequestMatch, value: object) -> bool:
    return responses_mismatch(match, {"input": value}) is None


@given(span=spans(), earlier=st.lists(s.responses_items(), max_size=2), data=st.data())
def test_responses_contains_is_monotone(
    span: tuple[str, str, str, int], earlier: list[dict[str, object]], data: st.DataObject
) -> None:
    """Responses, a string mock: a string input, or the text of the last input item (an easy
    message, a typed message's parts, or a ``function_call_output``).

    Mutation caught: a ``function_call_output``'s ``output`` left out of the last item's text (the
    item's JSON form, still searched, escapes quotes and control characters of the needle).
    """
    before, needle, after, i = span
    match = OpenAIResponseRequestMatch.model_validate({"match_type": "contains", "input": needle})
    text = before + needle + after
    last = data.draw(
        st.sampled_from(
            [
                {"role": "user", "content": text},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
                {"type": "function_call_output", "call_id": "call_1", "output": text},
            ]
        )
    )
    assert _responses(match, text)
    assert _responses(match, [*earlier, last])

    shorter = _without(text, i)
    assert _responses(match, shorter) == (needle in shorter)
    assert not _responses(match, _without(needle, i - len(before)))


@given(needle=needles, earlier=st.lists(s.responses_items(), max_size=2), last=s.responses_items())
def test_responses_contains_string_looks_at_the_last_item_only(
    needle: str, earlier: list[dict[str, object]], last: dict[str, object]
) -> None:
    """A string mock found only in an earlier input item does not match (§4: the last item).

    Mutation caught: the string rule searching every input item instead of the last.
    """
    typed = _typed(last)  # the form the rule reads: an easy message gains "type": "message"
    forms = [json.dumps(typed, ensure_ascii=False, separators=(",", ":")), "\n".join(_strings(typed))]
    assume(all(needle not in form for form in forms))
    match = OpenAIResponseRequestMatch.model_validate({"match_type": "contains", "input": needle})
    holder = {"role": "user", "content": "…" + needle + "…"}
    assert _responses(match, [*earlier, holder])
    assert not _responses(match, [*earlier, holder, last])


def _typed(item: dict[str, object]) -> dict[str, object]:
    """An input item as §4 compares it: an easy message (role and content, no type) is a message."""
    if "type" not in item and "role" in item and "content" in item:
        return {**item, "type": "message"}
    return item


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *_strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@given(call_id=s.ids("call_"), output=s.texts(), earlier=st.lists(s.responses_items(), max_size=2))
def test_responses_contains_call_id_matches_its_output(
    call_id: str, output: str, earlier: list[dict[str, object]]
) -> None:
    """kagent's rule: a mock string naming a call id matches an input whose last item is that
    call's ``function_call_output`` (through the item's JSON), whatever the output says.

    Mutation caught: the JSON fallback dropped from the string-vs-list rule.
    """
    match = OpenAIResponseRequestMatch.model_validate({"match_type": "contains", "input": call_id})
    last = {"type": "function_call_output", "call_id": call_id, "output": output}
    assert _responses(match, [*earlier, last])


@given(
    tail=st.lists(s.responses_items(), min_size=1, max_size=3), head=st.lists(s.responses_items(), max_size=3)
)
def test_responses_contains_list_is_a_tail(
    tail: list[dict[str, object]], head: list[dict[str, object]]
) -> None:
    """A list mock matches any input that ends with its items: items added in front keep the match;
    dropping the last item loses it unless the shorter input still ends with the mock's items.

    Mutation caught: the tail compared as a prefix (``actual[: len(want)]``).
    """
    match = OpenAIResponseRequestMatch.model_validate({"match_type": "contains", "input": tail})
    assert _responses(match, [*head, *tail])
    shorter = [*head, *tail][:-1]
    # Items compare in the canonical form of §4 (checked on its own by test_self_match.py).
    ends = [canonical(_typed(item)) for item in shorter[len(shorter) - len(tail) :]]
    ends_with = len(shorter) >= len(tail) and ends == [canonical(_typed(item)) for item in tail]
    if not ends_with:
        assert not _responses(match, shorter)


# --- embeddings ---------------------------------------------------------------------------------


def _embeddings(match: OpenAIEmbeddingRequestMatch, value: object) -> bool:
    return embeddings_mismatch(match, {"input": value}) is None


@given(span=spans(), others=st.lists(s.texts(max_size=8), max_size=3), at=st.integers(0, 3))
def test_embeddings_contains_is_monotone(span: tuple[str, str, str, int], others: list[str], at: int) -> None:
    """Embeddings, a string mock: a string input, or any one string of a list input.

    Mutation caught: only the first string of a list input searched.
    """
    before, needle, after, i = span
    match = OpenAIEmbeddingRequestMatch.model_validate({"match_type": "contains", "input": needle})
    text = before + needle + after
    listed = [*others[:at], text, *others[at:]]
    assert _embeddings(match, text)
    assert _embeddings(match, listed)

    shorter = _without(text, i)
    assert _embeddings(match, shorter) == (needle in shorter)
    assert not _embeddings(match, [_without(needle, i - len(before))])


@given(
    items=st.lists(s.texts(max_size=8), min_size=1, max_size=3, unique=True),
    extra=st.lists(s.texts(max_size=8), max_size=3),
    data=st.data(),
)
def test_embeddings_contains_list_needs_every_item(
    items: list[str], extra: list[str], data: st.DataObject
) -> None:
    """A list mock matches an input holding all of its items, in any order among other items;
    taking one of them out (every copy) loses the match.

    Mutation caught: ``all`` replaced by ``any`` in the list rule.
    """
    match = OpenAIEmbeddingRequestMatch.model_validate({"match_type": "contains", "input": items})
    request = data.draw(st.permutations([*items, *extra]))
    assert _embeddings(match, request)
    gone = data.draw(st.sampled_from(items))
    assert not _embeddings(match, [item for item in request if item != gone] or [gone + "."])


# --- anthropic ----------------------------------------------------------------------------------


def _anthropic(match: AnthropicRequestMatch, last: dict[str, object]) -> bool:
    request = {"messages": [{"role": "user", "content": "earlier"}, last], "max_tokens": 8}
    return anthropic_mismatch(match, request) is None


_non_text_blocks = st.lists(
    s.anthropic_blocks().filter(lambda b: b["type"] in ("tool_use", "image")), max_size=2
)


@given(
    span=spans(),
    role=st.sampled_from(["user", "assistant"]),
    mock_as_block=st.booleans(),
    others=_non_text_blocks,
    data=st.data(),
)
def test_anthropic_contains_is_monotone(
    span: tuple[str, str, str, int],
    role: str,
    mock_as_block: bool,
    others: list[dict[str, object]],
    data: st.DataObject,
) -> None:
    """Anthropic, text: a string content or any text block of the last message (other text
    blocks before it, tool_use and image blocks around it).

    Mutation caught: only the first text block of the last message searched.
    """
    before, needle, after, i = span
    mock_content: object = [{"type": "text", "text": needle}] if mock_as_block else needle
    match = AnthropicRequestMatch.model_validate(
        {"match_type": "contains", "message": {"role": role, "content": mock_content}}
    )
    text = before + needle + after
    at = data.draw(st.integers(0, len(others)))
    decoys = data.draw(st.lists(s.anthropic_text_blocks(), min_size=1, max_size=2))
    blocks = [*decoys, *others[:at], {"type": "text", "text": text}, *others[at:]]
    assert _anthropic(match, {"role": role, "content": text})
    assert _anthropic(match, {"role": role, "content": blocks})

    shorter = _without(text, i)
    assert _anthropic(match, {"role": role, "content": shorter}) == (needle in shorter)
    lone = [*others[:at], {"type": "text", "text": _without(needle, i - len(before))}, *others[at:]]
    assert not _anthropic(match, {"role": role, "content": lone})
    other_role = "assistant" if role == "user" else "user"
    assert not _anthropic(match, {"role": other_role, "content": text})


@given(
    ids=st.lists(s.ids("toolu_"), min_size=2, max_size=2, unique=True),
    others=st.lists(s.anthropic_blocks(), max_size=2),
    output=s.texts(),
)
def test_anthropic_tool_result_matches_on_tool_use_id(
    ids: list[str], others: list[dict[str, object]], output: str
) -> None:
    """A mock ``tool_result`` block matches a last message holding a ``tool_result`` for the same
    ``tool_use_id`` (whatever its content and the blocks around it), and not one for another id.

    Mutation caught: tool_result blocks compared whole (content included) instead of by id.
    """
    assume(all(b.get("tool_use_id") != ids[0] for b in others))
    match = AnthropicRequestMatch.model_validate(
        {
            "match_type": "contains",
            "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": ids[0]}]},
        }
    )
    result = {"type": "tool_result", "tool_use_id": ids[0], "content": output}
    assert _anthropic(match, {"role": "user", "content": [*others, result]})
    assert not _anthropic(match, {"role": "user", "content": [*others, {**result, "tool_use_id": ids[1]}]})
