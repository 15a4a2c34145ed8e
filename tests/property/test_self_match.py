"""A mock matches the request it describes, and an exact match is always a contains match too."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .apis import SPECS, ApiSpec, matches, satisfying_headers

pytestmark = pytest.mark.parametrize("spec", SPECS, ids=str)


@given(data=st.data())
def test_request_built_from_a_mock_matches_it(spec: ApiSpec, data: st.DataObject) -> None:
    """For every API and both match types, a request whose last message (or input) is the mock's own
    body rule, written in any form §4 calls equal (string content vs one text part, null-valued keys,
    key order, easy Responses messages without ``type``), with headers meeting the rules in any name
    casing and a system prompt and tools meeting Anthropic's request-wide rules, matches the mock —
    rule by rule and through `MockIndex.find`.

    Mutations caught: ``canonical`` no longer collapsing a single text part into a string (chat);
    Anthropic text helpers ignoring a string content or system (anthropic); the Responses contains
    rule no longer adding ``"type": "message"`` to the mock's easy messages (openai_response).
    """
    match = data.draw(matches(spec))
    mock = spec.mock(match)
    rewrite = data.draw(st.booleans())
    request = _request(data, spec, match, rewrite)
    headers = data.draw(satisfying_headers(match))

    assert spec.mismatch(mock.match, request) is None
    assert spec.holds(mock, request, headers)
    assert spec.index([mock]).find(request, headers) == 0


@given(data=st.data())
def test_exact_match_implies_contains_match(spec: ApiSpec, data: st.DataObject) -> None:
    """Whenever an ``exact`` mock matches a request, the same mock with ``contains`` matches it too.

    Requests are either built from the mock's body in an equal form (so the exact mock must match;
    asserted) or drawn independently (then the implication is checked whatever the outcome).

    Mutations caught: the Responses list rule comparing the input's tail with ``==`` instead of the
    canonical form (openai_response); Anthropic contains ignoring a string ``content`` in the
    request, only block lists searched (anthropic).
    """
    exact = data.draw(matches(spec, match_type="exact", with_headers=False))
    contains = {**exact, "match_type": "contains"}
    built = data.draw(st.booleans())
    if built:
        request = _request(data, spec, exact, data.draw(st.booleans()))
    else:
        request = _request(data, spec, data.draw(matches(spec, with_headers=False)), False)
    headers = {"authorization": "Bearer test"}
    exact_found = spec.index([spec.mock(exact)]).find(request, headers) == 0
    if built:
        assert exact_found
    if exact_found:
        assert spec.mismatch(spec.mock(contains).match, request) is None
        assert spec.index([spec.mock(contains)]).find(request, headers) == 0


def _request(
    data: st.DataObject, spec: ApiSpec, match: dict[str, object], rewrite: bool
) -> dict[str, object]:
    return data.draw(st.composite(lambda draw: spec.build_request(draw, dict(match), rewrite))())
