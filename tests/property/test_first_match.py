"""First match wins: the answer is the first mock, in list order, whose rules all hold; moving the
mocks that do not match never changes it. Checked through `MockIndex.find` for every API."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from . import strategies as s
from .apis import SPECS, ApiSpec, matches, satisfying_headers


@st.composite
def mock_lists(draw: st.DrawFn, spec: ApiSpec) -> tuple[list[Any], dict[str, Any], dict[str, str]]:
    """Mocks sharing a few bodies (so several may match one request), and a request plus headers
    built from one of them."""
    shapes = draw(st.lists(matches(spec), min_size=1, max_size=3))
    entries = []
    for _ in range(draw(st.integers(1, 7))):
        shape = dict(draw(st.sampled_from(shapes)))
        shape["match_type"] = draw(st.sampled_from(["exact", "contains"]))
        rules = draw(s.header_rules())
        if rules:
            shape["headers"] = rules
        else:
            shape.pop("headers", None)
        entries.append(shape)
    target = draw(st.sampled_from(entries))
    request = spec.build_request(draw, dict(target), draw(st.booleans()))
    headers = draw(satisfying_headers(target))
    mocks = [spec.mock(match, name=f"mock-{i}") for i, match in enumerate(entries)]
    return mocks, request, headers


@st.composite
def reorder_non_matching(draw: st.DrawFn, mocks: list[Any], holds: list[bool]) -> list[Any]:
    """The matching mocks in their order, the others shuffled and placed anywhere among them."""
    kept = [m for m, ok in zip(mocks, holds, strict=True) if ok]
    moved = draw(st.permutations([m for m, ok in zip(mocks, holds, strict=True) if not ok]))
    slots = draw(st.permutations([True] * len(kept) + [False] * len(moved)))
    kept_iter, moved_iter = iter(kept), iter(moved)
    return [next(kept_iter) if is_kept else next(moved_iter) for is_kept in slots]


@pytest.mark.parametrize("spec", SPECS, ids=str)
@given(data=st.data())
def test_first_matching_mock_wins(spec: ApiSpec, data: st.DataObject) -> None:
    """`MockIndex.find` returns the first position whose mock's rules hold (checked mock by mock
    without the index), and the answer is the same mock after the non-matching mocks are reordered.

    Mutations caught: `MockIndex` trying exact mocks before contains mocks (candidates not sorted
    back into list order); ``find`` giving up at the first candidate whose header rules fail;
    ``find`` walking the candidates from the end.
    """
    mocks, request, headers = data.draw(mock_lists(spec))
    holds = [spec.holds(mock, request, headers) for mock in mocks]
    found = spec.index(mocks).find(request, headers)
    assert True in holds  # the request was built from one of the mocks
    assert found == holds.index(True)

    reordered = data.draw(reorder_non_matching(mocks, holds))
    again = spec.index(reordered).find(request, headers)
    assert again is not None
    assert reordered[again].name == mocks[found].name


def _needle_match(spec: ApiSpec, needle: str, role: str | None) -> dict[str, Any]:
    if spec.body_key == "input":
        return {"match_type": "contains", "input": needle}
    message: dict[str, Any] = {"content": needle}
    if spec.key == "gemini":  # a Content: parts, and "model" where the others say "assistant"
        message = {"parts": [{"text": needle}]}
        role = {"assistant": "model"}.get(role or "", role)
    if role is not None:
        message["role"] = role
    return {"match_type": "contains", "message": message}


def _text_request(spec: ApiSpec, text: str, listed: bool) -> dict[str, Any]:
    if spec.key == "openai":
        content: Any = [{"type": "text", "text": text}] if listed else text
        return {"messages": [{"role": "user", "content": content}]}
    if spec.key == "anthropic":
        content = [{"type": "text", "text": "x"}, {"type": "text", "text": text}] if listed else text
        return {"messages": [{"role": "user", "content": content}], "max_tokens": 8}
    if spec.key == "openai_response":
        return {"input": [{"role": "user", "content": text}] if listed else text}
    if spec.key == "gemini":
        parts = [{"text": "x"}, {"text": text}] if listed else [{"text": text}]
        return {"contents": [{"role": "user", "parts": parts}]}
    if spec.key == "gemini_embeddings":
        texts = ["x", text] if listed else [text]
        return {"requests": [{"content": {"parts": [{"text": t}]}} for t in texts]}
    return {"input": ["x", text] if listed else text}


@pytest.mark.parametrize("spec", SPECS, ids=str)
@given(data=st.data())
def test_first_match_wins_among_many_contains_mocks(spec: ApiSpec, data: st.DataObject) -> None:
    """With 16 or more ``contains`` mocks `MockIndex` finds candidates through its needle index;
    the answer must still be the first mock whose rules hold, for needles anywhere in the text
    (its start, its end, overlapping one another) and in any characters.

    Mutations caught: the index looking up every window of the text but the last (a needle at
    the very end of the text was missed); windows of needles shorter than the window length not
    looked up.
    """
    pool = data.draw(st.lists(s.texts(min_size=1, max_size=7), min_size=2, max_size=8, unique=True))
    role = data.draw(st.sampled_from([None, "user", "assistant"])) if spec.body_key == "message" else None
    count = data.draw(st.integers(16, 40))
    entries = [_needle_match(spec, data.draw(st.sampled_from(pool)), role) for _ in range(count)]
    for _ in range(data.draw(st.integers(0, 3))):
        entries.insert(data.draw(st.integers(0, len(entries))), data.draw(matches(spec, with_headers=False)))
    mocks = [spec.mock(match, name=f"mock-{i}") for i, match in enumerate(entries)]

    used = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
    glue = data.draw(st.lists(s.texts(max_size=3), min_size=len(used) + 1, max_size=len(used) + 1))
    text = glue[0] + "".join(needle + after for needle, after in zip(used, glue[1:], strict=True))
    request = _text_request(spec, text, data.draw(st.booleans()))
    headers = {"authorization": "Bearer test"}

    holds = [spec.holds(mock, request, headers) for mock in mocks]
    found = spec.index(mocks).find(request, headers)
    assert found == (holds.index(True) if True in holds else None)
    if found is not None:
        reordered = data.draw(reorder_non_matching(mocks, holds))
        again = spec.index(reordered).find(request, headers)
        assert again is not None
        assert reordered[again].name == mocks[found].name
