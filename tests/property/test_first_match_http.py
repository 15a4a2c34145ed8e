"""First match wins through a real server: the official SDK gets the answer of the first mock in
list order whose rules hold (by §4 stated here on its own, not by the matcher), headers sent in
any casing; reordering the mocks that do not match never changes the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockllm import Config, MockServer

from . import strategies as s
from .support import openai_client, server_settings

JsonObject = dict[str, Any]
ServeFn = Callable[[Config], MockServer]
ROLES = ("user", "assistant", "system")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[JsonObject], JsonObject, dict[str, str]]:
    """Chat mocks over a few shared texts, a last message, and headers as sent (any casing)."""
    pool = draw(st.lists(s.texts(min_size=1, max_size=6), min_size=1, max_size=3))
    mocks = []
    for i in range(draw(st.integers(1, 6))):
        message: JsonObject = {"content": draw(st.sampled_from(pool))}
        if draw(st.booleans()):
            message["role"] = draw(st.sampled_from(ROLES))
        match: JsonObject = {"match_type": draw(st.sampled_from(["exact", "contains"])), "message": message}
        rules = draw(s.header_rules())
        if rules:
            match["headers"] = rules
        mocks.append({"name": f"mock-{i}", "match": match, "response": _answer(f"mock-{i}")})
    target = draw(st.sampled_from(mocks))["match"]
    role = target["message"].get("role") or draw(st.sampled_from(ROLES))
    content = target["message"]["content"]
    if target["match_type"] == "contains" or draw(st.booleans()):
        content = draw(s.texts(max_size=3)) + content + draw(s.texts(max_size=3))
    last = {"role": role, "content": content}
    sent = {}
    for rule in target.get("headers") or []:
        if draw(st.integers(0, 4)):  # mostly satisfied, sometimes left out
            sent[draw(s.any_casing(rule["name"]))] = draw(s.satisfying_value(rule))
    for name in draw(st.lists(st.sampled_from(s.HEADER_NAMES), max_size=2)):
        if all(key.lower() != name.lower() for key in sent):
            sent[draw(s.any_casing(name))] = draw(s.header_values)
    return mocks, last, sent


def _answer(text: str) -> JsonObject:
    return {"choices": [{"message": {"content": text}}]}


def _rule_holds(rule: JsonObject, sent: dict[str, str]) -> bool:
    values = [value for key, value in sent.items() if key.lower() == rule["name"].lower()]
    if not values:
        return False
    if rule.get("match_type", "exact") == "exact":
        return values[0] == rule["value"]
    return bool(rule["value"] in values[0])


def _holds(mock: JsonObject, last: JsonObject, sent: dict[str, str]) -> bool:
    match = mock["match"]
    want = match["message"]
    if match["match_type"] == "exact":
        body = want == last
    else:
        body = want.get("role") in (None, last["role"]) and want["content"] in last["content"]
    return body and all(_rule_holds(rule, sent) for rule in match.get("headers") or [])


def _ask(server: MockServer, last: JsonObject, sent: dict[str, str]) -> str | None:
    client = openai_client(server)
    try:
        completion = client.chat.completions.create(
            model="gpt-mock", messages=[{"role": "user", "content": "hello"}, last], extra_headers=sent
        )
    except openai.NotFoundError:
        return None
    return completion.choices[0].message.content


@pytest.fixture
def server(serve: ServeFn) -> MockServer:
    return serve(Config())


@server_settings(share=2)
@given(scenario=scenarios(), data=st.data())
def test_server_answers_with_the_first_matching_mock(
    server: MockServer, scenario: tuple[list[JsonObject], JsonObject, dict[str, str]], data: st.DataObject
) -> None:
    """The SDK gets the first holding mock's answer (or a 404 when none holds), and the same
    answer after the non-matching mocks are shuffled among the others.

    Mutation caught: ``find`` walking the candidates from the end (the last holding mock answered).
    (Header names stay case-insensitive here even with the matcher's ``.lower()`` removed: Sanic's
    header map is case-insensitive itself; the pure test in test_headers.py catches that one.)
    """
    mocks, last, sent = scenario
    holds = [_holds(mock, last, sent) for mock in mocks]
    expected = mocks[holds.index(True)]["name"] if True in holds else None

    server.set_config(Config.model_validate({"openai": mocks}))
    assert _ask(server, last, sent) == expected

    kept = [m for m, ok in zip(mocks, holds, strict=True) if ok]
    moved = data.draw(st.permutations([m for m, ok in zip(mocks, holds, strict=True) if not ok]))
    slots = data.draw(st.permutations([True] * len(kept) + [False] * len(moved)))
    kept_iter, moved_iter = iter(kept), iter(moved)
    reordered = [next(kept_iter) if is_kept else next(moved_iter) for is_kept in slots]
    server.set_config(Config.model_validate({"openai": reordered}))
    assert _ask(server, last, sent) == expected
