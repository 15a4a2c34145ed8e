"""Behaviour over time: how many requests each mock answered, and the state of each scenario.

Kept beside the compiled config, not inside it. Counts are keyed by the mock itself (the config
model object, which a builder or an unchanged config keeps), not by its position, so compiling a
new config — a mock registered mid-test, a base config layered under a test's mocks — keeps the
counts of the mocks that stay. A reset clears counts and states together.

Every change happens on the server's event loop, between a request's match and its answer, with no
await in between, so two requests never both take the last of a mock's ``times``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..config import STARTED

__all__ = ["Runtime", "refusal"]


def refusal(mock: Any, calls: int, state: str) -> str | None:
    """Why a mock whose rules hold must step aside, given the requests it answered and the state
    of its scenario: used up, or its scenario is in another state (the words of a 404's near miss,
    with or without a shared store)."""
    times = mock.times
    if times is not None and calls >= times:
        return f"used up after {calls} of {times} call{'s' if times != 1 else ''}"
    wanted = mock.required_state
    if wanted is not None and state != wanted:
        return f'scenario "{mock.scenario}" is "{state}", needs "{wanted}"'
    return None


class Runtime:
    """Call counts per mock and the state of every scenario."""

    def __init__(self) -> None:
        self._calls: dict[int, tuple[Any, int]] = {}
        """id(mock) -> (mock, calls). Holding the mock keeps its id from being reused."""
        self._states: dict[str, str] = {}

    # --- reading --------------------------------------------------------------------------------

    def calls(self, mock: Any) -> int:
        """How many requests ``mock`` answered since the last reset."""
        entry = self._calls.get(id(mock))
        return entry[1] if entry is not None and entry[0] is mock else 0

    def state(self, scenario: str) -> str:
        return self._states.get(scenario, STARTED)

    @property
    def scenarios(self) -> dict[str, str]:
        """The scenarios that left ``"Started"``, with their states."""
        return dict(self._states)

    def gate(self, mock: Any) -> str | None:
        """Why a mock whose rules hold must step aside now, or None: used up, or its scenario is
        in another state."""
        calls = 0 if mock.times is None else self.calls(mock)
        state = STARTED if mock.required_state is None else self.state(mock.scenario)
        return refusal(mock, calls, state)

    # --- changing -------------------------------------------------------------------------------

    def answered(self, mock: Any) -> None:
        """Count an answer of ``mock`` and move its scenario on."""
        self._calls[id(mock)] = (mock, self.calls(mock) + 1)
        if mock.new_state is not None:
            self._states[mock.scenario] = mock.new_state

    def set_state(self, scenario: str, state: str) -> None:
        self._states[scenario] = state

    def reset(self) -> None:
        """Forget every count and every scenario state."""
        self._calls.clear()
        self._states.clear()

    def keep_only(self, mocks: Iterable[Any]) -> None:
        """After the mocks were replaced: keep the counts of the mocks still served, and drop the
        others. A mock that is not the same object but equal to a counted one that left (the same
        mock read again from an edited file or a ``PUT`` of the whole config) takes over its count,
        so only the mocks that changed start again from zero."""
        if not self._calls:
            return
        mocks = list(mocks)
        live = {id(mock) for mock in mocks}
        left: dict[tuple[type, str], list[tuple[Any, int]]] = {}
        for key, (mock, calls) in list(self._calls.items()):
            if key not in live:
                del self._calls[key]
                left.setdefault((type(mock), mock.name), []).append((mock, calls))
        if not left:
            return
        for mock in mocks:
            # Type and name first: cheap, and it spares comparing every mock field by field.
            candidates = left.get((type(mock), mock.name))
            if not candidates or id(mock) in self._calls:
                continue
            for index, (old, calls) in enumerate(candidates):
                if old == mock:
                    self._calls[id(mock)] = (mock, calls)
                    del candidates[index]
                    break
