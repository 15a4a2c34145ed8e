"""Mocks that can never answer: an earlier mock matches every request they match.

The first matching mock wins, so a mock that comes after a broader one (in the order mocks are
tried: by ``priority``, then as listed) is dead config — usually a test that registered a specific
answer after a catch-all. Only certain cases are reported, never a guess; the earlier mock must
answer forever (no ``times``, no scenario) and must carry no rule beyond its body and headers:

- it matches everything: ``contains`` with no text and no role;
- both are ``exact`` with equal messages (inputs);
- both are ``contains``: its text occurs in the later mock's text, with the same role, if any.

In every case the earlier mock's header rules must be among the later mock's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .apis import APIS, ApiKey
from .config import Config, MatchType
from .matching import canonical_key

__all__ = ["unreachable_mocks"]

# The keys of a match that `_broad_rule` understands; a mock with any other key set is never
# taken to shadow another.
_BODY_KEYS = frozenset({"match_type", "message", "input", "headers"})


def unreachable_mocks(config: Config) -> list[tuple[str, str]]:
    """``(json_path, message)`` for each mock that an earlier mock always answers first."""
    found: list[tuple[str, str]] = []
    for spec in APIS:
        mocks = config.mocks(spec.key)
        order = sorted(range(len(mocks)), key=lambda i: mocks[i].priority)
        for later, earlier in _shadowed(spec.key, mocks, order):
            found.append(
                (
                    f"$.{spec.key}[{later}]",
                    f"{_label(spec.key, mocks, later)} can never answer: "
                    f"{_label(spec.key, mocks, earlier)} matches every request it matches and comes first",
                )
            )
    return found


def _label(api: ApiKey, mocks: list[Any], position: int) -> str:
    name = mocks[position].name
    return f'mock "{name}"' if name else f"mock {api}[{position}]"


def _shadowed(api: ApiKey, mocks: list[Any], order: list[int]) -> Iterator[tuple[int, int]]:
    catch_all: int | None = None
    exact: dict[bytes, list[int]] = {}
    contains: list[tuple[int, str, Any]] = []
    for position in order:
        mock = mocks[position]
        match = mock.match
        subject = _subject(match)
        earlier: int | None = None
        if catch_all is not None and _headers_within(mocks[catch_all], mock):
            earlier = catch_all
        elif match.match_type is MatchType.EXACT:
            candidates = exact.get(canonical_key(subject), [])
            earlier = next((e for e in candidates if _headers_within(mocks[e], mock)), None)
        elif _plain_subject(subject):
            text, role = _text_and_role(subject)
            earlier = next(
                (
                    e
                    for e, e_text, e_role in contains
                    if e_text in text and e_role in (None, role) and _headers_within(mocks[e], mock)
                ),
                None,
            )
        if earlier is not None:
            yield position, earlier
        if not _answers_forever(mock) or not _broad_rule(match):
            continue
        if match.match_type is MatchType.EXACT:
            exact.setdefault(canonical_key(subject), []).append(position)
            continue
        text, role = _text_and_role(subject)
        if text == "" and role is None and _plain_subject(subject) and catch_all is None:
            catch_all = position
        elif _plain_subject(subject) and len(contains) < _MAX_CONTAINS:
            contains.append((position, text, role))


# Comparing contains mocks is quadratic; past this many broad ones, the rest are not compared.
_MAX_CONTAINS = 2_000


def _subject(match: Any) -> Any:
    return match.message if "message" in type(match).model_fields else match.input


def _answers_forever(mock: Any) -> bool:
    return mock.times is None and mock.scenario is None


def _broad_rule(match: Any) -> bool:
    """No rule beyond the body and headers is set (each such rule narrows what the mock matches)."""
    return all(
        getattr(match, name) == info.get_default(call_default_factory=True)
        for name, info in type(match).model_fields.items()
        if name not in _BODY_KEYS
    )


def _plain_subject(subject: Any) -> bool:
    """A text rule with at most a role: a message of string content, or an input string."""
    if isinstance(subject, str):
        return True
    if not isinstance(subject, dict):
        return False
    content = subject.get("content", "")
    return set(subject) <= {"role", "content"} and isinstance(content, str)


def _text_and_role(subject: Any) -> tuple[str, Any]:
    if isinstance(subject, str):
        return subject, None
    if isinstance(subject, dict):
        content = subject.get("content", "")
        return (content if isinstance(content, str) else ""), subject.get("role")
    return "", None


def _headers_within(earlier: Any, later: Any) -> bool:
    """Every header rule of ``earlier`` is also a rule of ``later``."""
    later_rules = {(r.name.lower(), r.value, r.match_type) for r in later.match.headers}
    return all((r.name.lower(), r.value, r.match_type) in later_rules for r in earlier.match.headers)
