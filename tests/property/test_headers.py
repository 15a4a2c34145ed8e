"""Header rules: names are case-insensitive, values compare exactly or as a substring, an absent
header never satisfies a rule, and a mock's rules all have to hold (AND)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sanic.compat import Header

from mockllm.config import HeaderMatch
from mockllm.matching import header_mismatch

from . import strategies as s
from .apis import CHAT_SPEC

JsonObject = dict[str, object]

# Sent values draw on the rule values' alphabet, so exact and substring hits are both common.
_sent_values = st.one_of(s.header_values, st.sampled_from(["", "a", "ab", "prod", "PROD", "t-1"]))
_rule_values = st.one_of(s.header_values, st.sampled_from(["", "a", "prod", "t-1"]))


@st.composite
def sent_headers(draw: st.DrawFn) -> dict[str, str]:
    """Headers as a client sends them: some of the pool's names, each in any casing."""
    chosen = draw(st.lists(st.sampled_from(s.HEADER_NAMES), unique=True, max_size=len(s.HEADER_NAMES)))
    return {draw(s.any_casing(name)): draw(_sent_values) for name in chosen}


def expected(rule: JsonObject, sent: dict[str, str]) -> bool:
    """§4 on its own: the value sent under the rule's name, compared by the rule's type."""
    name = str(rule["name"]).lower()
    values = [value for key, value in sent.items() if key.lower() == name]
    if not values:
        return False
    if rule.get("match_type", "exact") == "exact":
        return values[0] == rule["value"]
    return str(rule["value"]) in values[0]


def lower(sent: dict[str, str]) -> dict[str, str]:
    """What the server hands the matcher: names lower-cased (DESIGN: read with lower-case names)."""
    return {key.lower(): value for key, value in sent.items()}


@given(
    rules=s.header_rules(max_size=1, values=_rule_values).filter(bool), sent=sent_headers(), data=st.data()
)
def test_header_names_are_case_insensitive(
    rules: list[JsonObject], sent: dict[str, str], data: st.DataObject
) -> None:
    """A rule holds exactly when §4 says, whatever the casing of its name and of the sent name;
    recasing the rule's name never changes the outcome. Checked with the lower-cased mapping the
    matcher is given and with Sanic's own case-insensitive ``Header``.

    Mutation caught: ``headers.get(rule.name)`` without ``.lower()``.
    """
    rule = rules[0]
    recased = {**rule, "name": data.draw(s.any_casing(str(rule["name"])))}
    want = expected(rule, sent)
    for variant in (rule, recased):
        model = HeaderMatch.model_validate(variant)
        assert (header_mismatch(model, lower(sent)) is None) == want
        assert (header_mismatch(model, Header(sent)) is None) == want


@given(rule=s.header_rules(max_size=1, values=_rule_values).filter(bool), sent=sent_headers())
def test_absent_header_never_matches(rule: list[JsonObject], sent: dict[str, str]) -> None:
    """A rule on a header the request lacks fails, even ``exact ""`` or ``contains ""``.

    Mutation caught: an absent header read as ``""``.
    """
    name = str(rule[0]["name"]).lower()
    without = {k: v for k, v in sent.items() if k.lower() != name}
    for value in ("", rule[0]["value"]):
        model = HeaderMatch.model_validate({**rule[0], "value": value})
        assert header_mismatch(model, lower(without)) is not None


@given(
    rules=s.header_rules(max_size=3, values=_rule_values),
    extra=s.header_rules(max_size=1, values=_rule_values).filter(bool),
    sent=sent_headers(),
    body=CHAT_SPEC.bodies,
    match_type=st.sampled_from(["exact", "contains"]),
)
def test_header_rules_are_all_required(
    rules: list[JsonObject],
    extra: list[JsonObject],
    sent: dict[str, str],
    body: JsonObject,
    match_type: str,
) -> None:
    """A mock matches exactly when its body rule and every header rule hold; so adding a rule
    never turns a non-match into a match (the mock with the extra rule matches only if the mock
    without it does and the new rule holds).

    Mutations caught: `MockIndex.find` skipping a mock only when all its header rules fail (OR
    instead of AND); only the first header rule checked.
    """
    request = {"messages": [{"role": "user", "content": "hi"}, body]}
    headers = lower(sent)
    base = {"match_type": match_type, "message": body, "headers": rules}
    more = {**base, "headers": [*rules, *extra]}
    body_holds = CHAT_SPEC.mismatch(CHAT_SPEC.mock(base).match, request) is None

    found_base = CHAT_SPEC.index([CHAT_SPEC.mock(base)]).find(request, headers) == 0
    found_more = CHAT_SPEC.index([CHAT_SPEC.mock(more)]).find(request, headers) == 0
    assert found_base == (body_holds and all(expected(rule, sent) for rule in rules))
    assert found_more == (found_base and expected(extra[0], sent))
    assert not found_more or found_base
