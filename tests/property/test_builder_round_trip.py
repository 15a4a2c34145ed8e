"""Builder → JSON → config is the identity: whatever a chain of builder verbs registers, the JSON
it exports loads back into the very config the builder built (so a config made in Python serves
unchanged from a test suite in another language)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockllm import Config
from mockllm.builders import BuilderError, MockBuilder, mock

from . import strategies as s

Step = Callable[[st.DrawFn, Any], Any]


def _role(draw: st.DrawFn, roles: tuple[str | None, ...]) -> Any:
    return draw(st.sampled_from(roles))


# --- the body rule of each API (a step may leave it out: a catch-all mock) ----------------------

CHAT_WHEN: tuple[Step, ...] = (
    lambda draw, b: b,
    lambda draw, b: b.when_last_message_contains(draw(s.texts()), role=_role(draw, (None, "user", "tool"))),
    lambda draw, b: b.when_tool_result(draw(s.ids("call_")), contains=draw(s.texts())),
    lambda draw, b: b.when_last_message(role="user", content=draw(s.texts())),
    lambda draw, b: b.when_last_message(role="user", contains=draw(s.texts())),
)
RESPONSES_WHEN: tuple[Step, ...] = (
    lambda draw, b: b,
    lambda draw, b: b.when_input_contains(draw(s.texts())),
    lambda draw, b: b.when_input(draw(s.responses_inputs)),
    lambda draw, b: b.when_input_ends_with(draw(st.lists(s.responses_items(), min_size=1, max_size=2))),
)
EMBEDDINGS_WHEN: tuple[Step, ...] = (
    lambda draw, b: b,
    lambda draw, b: b.when_input_contains(draw(s.texts())),
    lambda draw, b: b.when_input_includes(draw(st.lists(s.texts(), min_size=1, max_size=3))),
    lambda draw, b: b.when_input(draw(s.embeddings_inputs)),
)
ANTHROPIC_WHEN: tuple[Step, ...] = (
    lambda draw, b: b,
    lambda draw, b: b.when_last_message_contains(draw(s.texts()), role=_role(draw, (None, "user"))),
    lambda draw, b: b.when_tool_result(draw(s.ids("toolu_"))),
    lambda draw, b: b.when_last_message(role="user", content=draw(s.texts())),
)

# --- the reply ----------------------------------------------------------------------------------

_finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
_vector = st.lists(_finite, min_size=1, max_size=4)

CHAT_REPLY: tuple[Step, ...] = (
    lambda draw, b: b.reply(draw(s.texts()), finish_reason=draw(st.sampled_from(["stop", "length"]))),
    lambda draw, b: b.reply(
        {"choices": [{"message": {"content": draw(s.texts())}}], "extra": draw(s.json_values)}
    ),
    lambda draw, b: b.reply_tool_call(draw(s.names), draw(s.json_objects), id=draw(s.ids("call_"))),
)
RESPONSES_REPLY: tuple[Step, ...] = (
    lambda draw, b: b.reply(draw(s.texts()), reasoning=draw(st.none() | s.texts())),
    lambda draw, b: b.reply_function_call(draw(s.names), draw(s.json_objects), call_id=draw(s.ids("call_"))),
)
EMBEDDINGS_REPLY: tuple[Step, ...] = (
    lambda draw, b: b.reply(draw(_vector)),
    lambda draw, b: b.reply_vectors(draw(st.lists(_vector, min_size=1, max_size=3))),
)
ANTHROPIC_REPLY: tuple[Step, ...] = (
    lambda draw, b: b.reply(draw(s.texts()), thinking=draw(st.none() | s.texts())),
    lambda draw, b: b.reply_tool_use(draw(s.names), draw(s.json_objects), id=draw(s.ids("toolu_"))),
)

APIS: dict[str, tuple[Callable[[MockBuilder], Any], tuple[Step, ...], tuple[Step, ...]]] = {
    "chat": (lambda m: m.openai_chat(), CHAT_WHEN, CHAT_REPLY),
    "responses": (lambda m: m.openai_responses(), RESPONSES_WHEN, RESPONSES_REPLY),
    "embeddings": (lambda m: m.openai_embeddings(), EMBEDDINGS_WHEN, EMBEDDINGS_REPLY),
    "anthropic": (lambda m: m.anthropic_messages(), ANTHROPIC_WHEN, ANTHROPIC_REPLY),
}


@st.composite
def builders(draw: st.DrawFn) -> MockBuilder:
    """A builder after a random chain of verbs: names, headers in any casing, at most one body
    rule, Anthropic's request-wide rules, and any reply verb."""
    m = mock(listen_addr=draw(st.sampled_from([None, "127.0.0.1:0", "0.0.0.0:8090"])))
    for _ in range(draw(st.integers(0, 6))):
        api = draw(st.sampled_from(sorted(APIS)))
        start, whens, replies = APIS[api]
        b = start(m)
        if draw(st.booleans()):
            b = b.named(draw(s.texts(max_size=8)))
        for _ in range(draw(st.integers(0, 2))):
            name = draw(s.any_casing(draw(st.sampled_from(s.HEADER_NAMES))))
            kind = draw(st.sampled_from(["exact", "contains"]))
            b = b.with_header(name, draw(s.texts(max_size=6)), match_type=kind)
        if api == "anthropic":
            for _ in range(draw(st.integers(0, 2))):
                b = b.when_system_contains(draw(s.texts(max_size=6)))
            if draw(st.booleans()):
                b = b.when_tool_names(*draw(st.lists(s.names, min_size=1, max_size=2)))
        b = draw(st.sampled_from(whens))(draw, b)
        draw(st.sampled_from(replies))(draw, b)
    return m


@given(m=builders(), indent=st.booleans())
def test_builder_json_loads_back_into_the_same_config(m: MockBuilder, indent: bool) -> None:
    """``Config.from_json(m.to_json()) == m.build()``, and the JSON is stable after one trip.

    Mutations caught: the builder's ``to_json`` ignoring ``indent``; ``Config.to_json`` leaving out
    the chat mocks' ``name``.
    """
    config = m.build()
    text = m.to_json(indent=indent)
    assert text == config.to_json(indent=indent)
    again = Config.from_json(text)
    assert again == config
    assert again.to_json(indent=indent) == text


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_builder_never_exports_a_value_it_was_not_given(value: float) -> None:
    """JSON has no NaN or infinity, so the builder refuses them rather than export null.

    Caught before the fix: ``reply([float("nan")])`` exported ``"embedding":[null]``."""
    with pytest.raises(BuilderError, match="NaN or infinity"):
        mock().openai_embeddings().reply([value])
