"""The index finds exactly what a scan of the mocks in order would find."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from mockllm import Config
from mockllm.matching import MockIndex, headers_mismatch
from mockllm.openai.matching import CHAT_RULES, chat_mismatch

WORDS = ["hi", "a", "weather", "wea", "London", "日本", "🙂", "tool", "x", "need"]


def naive_first(mocks: list[Any], request: dict[str, Any], headers: dict[str, str]) -> int | None:
    for position, mock in enumerate(mocks):
        if chat_mismatch(mock.match, request) is None and not headers_mismatch(mock.match.headers, headers):
            return position
    return None


def test_index_agrees_with_a_scan_for_many_mocks() -> None:
    rng = random.Random(7)
    raw = []
    for i in range(300):
        text = "".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
        role = rng.choice(["user", "tool", None])
        message: dict[str, Any] = {"content": text, **({"role": role} if role else {})}
        match: dict[str, Any] = {
            "match_type": rng.choice(["exact", "contains", "contains"]),
            "message": message,
        }
        if rng.random() < 0.1:
            match["headers"] = [{"name": "X-T", "value": rng.choice(["a", "b"])}]
        raw.append({"name": f"m{i}", "match": match, "response": {"choices": []}})
    mocks = Config.model_validate({"openai": raw}).openai
    index = MockIndex(CHAT_RULES, mocks)
    hits = 0
    for _ in range(2000):
        text = "".join(rng.choice(WORDS) for _ in range(rng.randint(0, 6)))
        content: Any = text if rng.random() < 0.7 else [{"type": "text", "text": text}]
        request = {"messages": [{"role": rng.choice(["user", "tool"]), "content": content}]}
        headers = {"x-t": rng.choice(["a", "b"])} if rng.random() < 0.5 else {}
        expected = naive_first(mocks, request, headers)
        assert index.find(request, headers) == expected, (request, headers)
        hits += expected is not None
    assert hits > 500  # the requests do exercise matches, not only misses


def test_a_miss_among_many_mocks_explains_a_bounded_few_nearest_first() -> None:
    raw: list[dict[str, Any]] = [
        {"match": {"match_type": "exact", "message": {"role": "user", "content": f"hello {i}"}}}
        for i in range(5_000)
    ]
    raw += [
        {"match": {"match_type": "contains", "message": {"role": "tool", "content": f"needle-{i:04d}-x"}}}
        for i in range(5_000)
    ]
    mocks = Config.model_validate({"openai": [{**m, "response": {"choices": []}} for m in raw]}).openai
    checked: list[Any] = []

    def counting_mismatch(match: Any, request: dict[str, Any]) -> str | None:
        checked.append(match)
        return chat_mismatch(match, request)

    rules = dataclasses.replace(CHAT_RULES, mismatch=counting_mismatch)
    index = MockIndex(rules, mocks)
    # Only the needle's role is wrong: that mock is the nearest miss, wherever it stands.
    request = {"messages": [{"role": "user", "content": "where is needle-4321-x today"}]}
    assert index.find(request, {}) is None
    nearest = index.explain(request, {})
    assert nearest[0] == (9_321, ['role: wants "tool", last message has "user"'])
    assert len(checked) <= 64 + 1  # the budget, plus the one check find() made


def test_a_few_mocks_are_all_explained() -> None:
    raw = [
        {"name": f"m{i}", "match": {"match_type": "exact", "message": {"content": f"x{i}"}}}
        for i in range(10)
    ]
    mocks = Config.model_validate({"openai": [{**m, "response": {"choices": []}} for m in raw]}).openai
    request = {"messages": [{"role": "user", "content": "x9"}]}
    assert [position for position, _ in MockIndex(CHAT_RULES, mocks).explain(request, {}, limit=10)] == list(
        range(10)
    )
