"""The index finds exactly what a scan of the mocks in order would find."""

from __future__ import annotations

import random
from typing import Any

from mockllm import Config
from mockllm.matching import CHAT_RULES, MockIndex, chat_mismatch, headers_mismatch

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
