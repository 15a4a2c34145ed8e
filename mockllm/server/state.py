"""Runtime state shared by every process serving one config: the seam between a server and a store.

Without a store a server keeps its state in the process (`mockllm.server.runtime.Runtime`), the
embedded default. With one (``mockllm serve --state redis://…``, ``MockServer(state=…)``) every
worker and every replica pointed at the same store and namespace share the call counts, ``times``
budgets, sequence positions, scenario states, the mocks changed at run time, the journal and a
reset.

The request path calls a store only for a mock that has ``times`` or a scenario, once per request:
`SharedState.claim` is handed the mocks whose rules hold, in the order they are tried, and picks the
first one whose gate lets it answer, counting it and moving its scenario in the same atomic step.
A stateless mock's answer is counted in the process (`SharedState.counted`, no await), and every
request journaled in the process; both are sent to the store in batches, off the request path.
Mocks changed at run time (the admin API) are a list of changes in the store that every process
applies in order (`mockllm.server.shared_changes`).

Processes agree which mock is which without talking to each other: a mock's key in the store is a
digest of its API and of its JSON (its name included), so every replica serving the same config
finds the same keys, and a mock left unchanged by a reload keeps its count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from ..config import STARTED

if TYPE_CHECKING:
    from .compiled import CompiledMocks
    from .journal import Journal

__all__ = [
    "DEFAULT_NAMESPACE",
    "STATE_VARIABLE",
    "Claimed",
    "SharedState",
    "StateSnapshot",
    "StoreDown",
    "mock_key",
    "open_state",
    "shared_keys",
]

STATE_VARIABLE = "MOCKLLM_STATE"
"""The environment variable ``mockllm serve`` reads the store's URL from when ``--state`` is not given."""

DEFAULT_NAMESPACE = "mockllm"
"""The prefix of every key a server keeps in the store (``--state-namespace``)."""


class StoreDown(Exception):
    """The store did not answer: a request that needs it gets a 503 naming it."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"the mockllm state store {store} is unreachable ({reason})")
        self.store = store
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a claim found: the place, among the candidates it was given, of the mock that answers
    (None: each of them had to step aside), and why each candidate before it stepped aside."""

    chosen: int | None
    refusals: tuple[str, ...]
    before: str = STARTED
    """The state of the chosen mock's scenario before the claim moved it (for `SharedState.release`)."""


class StateSnapshot:
    """The counts and scenario states read from the store at one moment, as the admin API shows
    them. Read like `Runtime` is."""

    def __init__(self, calls: dict[str, int], states: dict[str, str], keys: dict[int, str]) -> None:
        self._calls = calls
        self._states = states
        self._keys = keys
        """id(mock) -> its key in the store, for the mocks served when the snapshot was taken."""

    def calls(self, mock: Any) -> int:
        key = self._keys.get(id(mock))
        return 0 if key is None else self._calls.get(key, 0)

    def state(self, scenario: str) -> str:
        return self._states.get(scenario, STARTED)

    @property
    def scenarios(self) -> dict[str, str]:
        return dict(self._states)


class SharedState(Protocol):
    """A store of runtime state shared across processes. Every method that reaches the store raises
    `StoreDown` when it does not answer; none answers from a copy kept in the process."""

    @property
    def name(self) -> str:
        """The store as messages name it (``redis://host:port/db``, without credentials)."""
        ...

    @property
    def backend(self) -> str:
        """``"redis"``: what ``/health`` calls it."""
        ...

    async def start(self, journal: Journal | None, changed: Callable[[], Awaitable[None]]) -> None:
        """Connect (in the process that serves: a forked worker connects on its own), send what
        ``journal`` records from now on to the store's journal, and call ``changed`` whenever
        another process changed the mocks at run time (`push_change`), or reset."""
        ...

    async def close(self) -> None: ...

    async def claim(self, mocks: CompiledMocks, candidates: Sequence[int]) -> Claimed:
        """In one atomic step: the first of ``candidates`` (stateful mocks whose rules hold, in the
        order they are tried) whose ``times`` is not used up and whose scenario is in its required
        state; count it and move its scenario on."""
        ...

    async def release(self, mocks: CompiledMocks, order: int, before: str) -> None:
        """Give back a claim whose answer was refused after all (the contract guard's 400): the
        count goes down, and the scenario moves back if nothing moved it since."""
        ...

    def counted(self, mocks: CompiledMocks, order: int) -> None:
        """Count an answer of a stateless mock; sent to the store with the next batch."""
        ...

    async def snapshot(self, mocks: Iterable[CompiledMocks]) -> StateSnapshot:
        """Counts and states as the store has them now, this process's batch sent first."""
        ...

    async def set_state(self, scenario: str, state: str) -> None: ...

    async def reset(self) -> str:
        """Forget every count, scenario state, journal entry and change made at run time, for every
        process; returns the new epoch (see `changes`)."""
        ...

    async def journal(self) -> list[dict[str, Any]]:
        """The shared journal's entries (as `RecordedRequest.as_json` gives them), oldest first,
        this process's new entries sent first."""
        ...

    async def clear_journal(self) -> int:
        """Empty the shared journal; returns how many entries it held."""
        ...

    async def push_change(self, change: bytes) -> None:
        """Append a change of the mocks made at run time to the shared list, and tell every process."""
        ...

    async def changes(self) -> tuple[str | None, list[bytes]]:
        """The epoch (renewed by every reset; None for a store that holds none, such as one that
        came back empty) and the changes made at run time since, in order."""
        ...

    async def healthy(self) -> bool:
        """Whether the store answers now."""
        ...


def mock_key(api: str, mock: Any) -> str:
    """A digest of a mock's API and its JSON (its name included): the same in every process that
    serves it."""
    content = orjson.dumps(mock.model_dump(mode="json", exclude_defaults=True), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(api.encode() + b"\0" + content, digest_size=12).hexdigest()


def shared_keys(mocks: CompiledMocks) -> list[str]:
    """The store key of each mock of ``mocks``, in the order they are tried: its `mock_key`, with
    how many identical mocks come before it (two identical mocks with ``times`` are two budgets).
    Computed on first use and kept with the compiled mocks."""
    keys = mocks.shared_keys
    if not keys and mocks.index.mocks:
        seen: dict[str, int] = {}
        api = mocks.adapter.spec.key
        for mock in mocks.index.mocks:
            key = mock_key(api, mock)
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            keys.append(key if occurrence == 0 else f"{key}.{occurrence}")
    return keys


def open_state(url: str, namespace: str = DEFAULT_NAMESPACE) -> SharedState:
    """The store at ``url``; raises ValueError for a URL no store is known by, or when the
    ``redis`` extra is not installed."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"expected a redis://HOST:PORT/DB URL, got {url!r}")
    try:
        from .redis_state import RedisState  # only a server with a store imports the client
    except ImportError as exc:
        raise ValueError(
            f"the redis client is not installed ({exc}): pip install 'mockllm-server[redis]'"
        ) from None
    return RedisState(url, namespace)
