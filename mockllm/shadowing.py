"""Mocks that can never answer: an earlier mock matches every request they match.

The first matching mock wins, so a mock that comes after a broader one (in the order mocks are
tried: by ``priority``, then as listed) is dead config — usually a test that registered a specific
answer after a catch-all. Only certain cases are reported, never a guess; the earlier mock must
answer forever (no ``times``, no scenario) and must carry no rule beyond its body and headers:

- it matches everything: ``contains`` with no text and no role;
- both are ``exact`` with equal messages (inputs);
- both are ``contains``: its text occurs in the later mock's text, with the same role, if any.

In every case the earlier mock's header rules must be among the later mock's. The work is done on
a compiled config, whose indexes already group equal exact mocks and find texts within texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .bulk import collector_paused
from .config import MatchType
from .matching import MockIndex

__all__ = ["unreachable_mocks"]

# The keys of a match that a broad rule may set; a mock with any other key set is never taken to
# shadow another.
_BODY_KEYS = frozenset({"match_type", "message", "input", "headers"})


def unreachable_mocks(compiled: Any) -> list[tuple[str, str]]:
    """``(json_path, message)`` for each mock of a `CompiledConfig` that an earlier mock always
    answers first."""
    found: list[tuple[str, str]] = []
    with collector_paused():
        for key, mocks in compiled.apis.items():
            positions: list[int] = mocks.positions
            for later, earlier in _shadowed(mocks.index):
                found.append(
                    (
                        f"$.{key}[{positions[later]}]",
                        f"{_label(key, mocks.index.mocks[later], positions[later])} can never answer: "
                        f"{_label(key, mocks.index.mocks[earlier], positions[earlier])} matches every"
                        " request it matches and comes first",
                    )
                )
    found.sort(key=lambda problem: (problem[0].split("[")[0], int(problem[0].split("[")[1][:-1])))
    return found


def _label(api: str, mock: Any, position: int) -> str:
    return f'mock "{mock.name}"' if mock.name else f"mock {api}[{position}]"


def _shadowed(index: MockIndex[Any]) -> Iterator[tuple[int, int]]:
    """``(later, earlier)`` pairs, as ranks in the order the index tries its mocks."""
    mocks = index.mocks
    for ranks in index.same_exact_subject():
        for i, later in enumerate(ranks[1:], 1):
            earlier = next((e for e in ranks[:i] if _hides(mocks[e], mocks[later])), None)
            if earlier is not None:
                yield later, earlier
    # (text, role) of each plain contains mock, or None: what the checks below compare.
    texts = [
        _text_and_role(_subject(mock.match))
        if mock.match.match_type is MatchType.CONTAINS and _plain(mock)
        else None
        for mock in mocks
    ]
    catch_all = next(
        (rank for rank, mock in enumerate(mocks) if texts[rank] == ("", None) and _hides(mock, mock)), None
    )
    for rank, mock in enumerate(mocks):
        if catch_all is not None and catch_all < rank and _headers_within(mocks[catch_all], mock):
            yield rank, catch_all
            continue
        found = texts[rank]
        if found is None:
            continue
        text, role = found
        for earlier in index.needles_within(text):
            if earlier >= rank:
                break
            other = texts[earlier]
            if (
                other is not None
                and other[0] in text
                and other[1] in (None, role)
                and _hides(mocks[earlier], mock)
            ):
                yield rank, earlier
                break


def _hides(earlier: Any, later: Any) -> bool:
    """``earlier`` answers every request its rules allow, and those are all ``later``'s too when
    the bodies agree."""
    return (
        earlier.times is None
        and earlier.scenario is None
        and _no_other_rules(earlier.match)
        and _headers_within(earlier, later)
    )


_DEFAULTS: dict[type, tuple[tuple[str, Any], ...]] = {}
"""Per match model: the rules beyond the body and headers, with their defaults."""


def _no_other_rules(match: Any) -> bool:
    """No rule beyond the body and headers is set (each such rule narrows what the mock matches)."""
    kind = type(match)
    defaults = _DEFAULTS.get(kind)
    if defaults is None:
        defaults = _DEFAULTS[kind] = tuple(
            (name, info.get_default(call_default_factory=True))
            for name, info in kind.model_fields.items()
            if name not in _BODY_KEYS
        )
    return all(getattr(match, name) == default for name, default in defaults)


def _subject(match: Any) -> Any:
    return match.message if hasattr(match, "message") else match.input


def _plain(mock: Any) -> bool:
    """A text rule with at most a role: a message of string content, or an input string."""
    subject = _subject(mock.match)
    if isinstance(subject, str):
        return True
    return (
        isinstance(subject, dict)
        and set(subject) <= {"role", "content"}
        and isinstance(subject.get("content", ""), str)
    )


def _text_and_role(subject: Any) -> tuple[str, Any]:
    if isinstance(subject, str):
        return subject, None
    return subject.get("content", ""), subject.get("role")


def _headers_within(earlier: Any, later: Any) -> bool:
    """Every header rule of ``earlier`` is also a rule of ``later``."""
    if not earlier.match.headers:
        return True
    later_rules = {(r.name.lower(), r.value, r.match_type) for r in later.match.headers}
    return all((r.name.lower(), r.value, r.match_type) in later_rules for r in earlier.match.headers)
