"""Config round trip: ``Config.from_json(c.to_json()) == c`` for generated configs, and the JSON
text is stable after one trip (so a config made here serves unchanged in another language)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mockllm import Config

from . import strategies as s
from .apis import SPECS, matches

JsonObject = dict[str, Any]


@st.composite
def chat_mock_messages(draw: st.DrawFn) -> JsonObject:
    """Chat mock messages, with the keys a config may set to null (``content``, ``refusal``, …)."""
    message = draw(s.chat_messages())
    for key in ("content", "refusal", "audio", "function_call"):
        if draw(st.integers(0, 3)) == 0:
            message[key] = None
    return message


@st.composite
def configs(draw: st.DrawFn) -> Config:
    data: JsonObject = {}
    for spec in SPECS:
        mocks = []
        for _ in range(draw(st.integers(0, 3))):
            match = draw(matches(spec))
            if spec.key == "openai":
                match["message"] = draw(chat_mock_messages())
            for rule in match.get("headers") or []:
                rule["value"] = draw(st.one_of(st.just(rule["value"]), s.texts(max_size=6)))
            mock: JsonObject = {"match": match, "response": draw(s.json_objects)}
            if draw(st.booleans()):
                mock["name"] = draw(s.texts(max_size=10))
            mocks.append(mock)
        if mocks or draw(st.booleans()):
            data[spec.key] = mocks
    if draw(st.booleans()):
        data["listen_addr"] = f"127.0.0.1:{draw(st.integers(0, 65535))}"
    return Config.from_dict(data)


@given(config=configs(), indent=st.booleans())
def test_config_survives_a_json_round_trip(config: Config, indent: bool) -> None:
    """``from_json(to_json(c)) == c``, indented or not, and dumping again gives the same text.

    Mutations caught: ``to_json`` dumping with ``exclude_none=True`` (a mock message's
    ``"content": null`` was lost); ``to_json`` leaving out the chat mocks' ``name``.
    """
    text = config.to_json(indent=indent)
    again = Config.from_json(text)
    assert again == config
    assert again.to_json(indent=indent) == text
