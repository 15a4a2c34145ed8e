"""A config compiled for serving: per API, the mocks in the order they are tried, a matcher index
and each mock's prepared answer.

A `Compiler` remembers what it compiled for each mock (by identity: a builder, or a base config
layered under a test's mocks, hands over the same mock objects each time), so recompiling after one
mock was registered costs little per mock that stayed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..apis import APIS, ApiKey
from ..bulk import collector_paused
from ..config import Config, ConfigError, Fault, Timing
from ..contract.shapes import check_response, json_path
from ..matching import MockIndex, exact_key
from .adapter import ApiAdapter, PreparedError, PreparedResponse, TimedResponse
from .faults import check_after_events
from .programmed import ProgrammedReply
from .registry import ADAPTERS

__all__ = ["ADAPTERS", "CompiledConfig", "CompiledMocks", "Compiler", "Problem", "log_warnings"]

_log = logging.getLogger("mockllm")


Problem = tuple[str, str]
"""``(json_path, message)``, as `ConfigError` lists them."""


def log_warnings(source: str, warnings: Sequence[Problem]) -> None:
    """Log the warnings a compile found, as ``mockllm validate`` prints them."""
    for where, message in warnings:
        _log.warning("%s: %s: warning: %s", source, where, message)


Answer = PreparedResponse | PreparedError | TimedResponse | ProgrammedReply
"""A matched mock's answer, as the route asks it for bytes (each class says what its ``render``
does); a `ProgrammedReply` is asked for one of the others first."""


@dataclass(frozen=True)
class CompiledMocks:
    """The mocks of one API, ready to serve. ``index.mocks``, ``prepared`` and ``positions`` are in
    the order the mocks are tried: by ``priority``, then as listed."""

    adapter: ApiAdapter
    index: MockIndex[Any]
    prepared: list[Answer | None]
    """Each mock's answer; None until its first request for a config that never changes (its
    responses were checked at load), so a config of 100,000 mocks keeps none it was not asked for."""
    positions: Sequence[int]
    """Where each mock stands in the config's list (for its label and its answer's ids)."""
    stateful: bool
    """Whether any mock has ``times`` or a scenario (otherwise the runtime need not be asked)."""
    created: int
    """The ``created`` time of the answers."""
    default_timing: Timing | None = None
    """The server's ``timing`` for the mocks without their own."""
    shared_keys: list[str] = field(default_factory=list)
    """Each mock's key in a shared store (`mockllm.server.state.shared_keys`), made on first use."""

    def answer(self, order: int) -> Answer:
        answer = self.prepared[order]
        if answer is None:
            mock = self.index.mocks[order]
            answer = self.prepared[order] = _answer_of(
                self.adapter, mock, self.positions[order], self.created, self.default_timing
            )
        return answer

    def label(self, order: int) -> str:
        """How a mock is named in the journal and in near misses: its name, else ``key[position]``."""
        name: str = self.index.mocks[order].name
        return name or f"{self.adapter.spec.key}[{self.positions[order]}]"


class CompiledConfig:
    """A config compiled for serving. Immutable once built; a server swaps in a new one to change
    its mocks."""

    def __init__(
        self, config: Config, apis: dict[ApiKey, CompiledMocks], warnings: Sequence[Problem] = ()
    ) -> None:
        self.config = config
        self.apis = apis
        self.warnings = warnings
        """``(json_path, message)`` for each field or value of a response that its provider's type
        does not know, of the mocks checked by this compile (a compile that reuses a mock's work
        does not report it again)."""
        self.stateful = any(mocks.stateful for mocks in apis.values())

    @classmethod
    def of(cls, config: Config, *, source: str = "<config>") -> CompiledConfig:
        """Compile ``config`` on its own; raises `ConfigError` for a response that cannot be served."""
        return Compiler().compile(config, source=source, keep=False)

    def counts(self) -> dict[ApiKey, int]:
        return self.config.counts()


_RECENT_LISTS = 8


@dataclass(frozen=True, slots=True)
class _Prepared:
    mock: Any
    """Held so that the id the cache is keyed by stays this mock's."""
    answer: Answer
    key: bytes | None
    """The index key of an exact mock."""
    warnings: list[Problem]


class Compiler:
    """Compiles configs, reusing the work done for mocks it has compiled before."""

    def __init__(self, default_timing: Timing | None = None) -> None:
        self.default_timing = default_timing
        """The ``timing`` of the mocks without their own (None: such mocks answer at once)."""
        self._cache: dict[int, _Prepared] = {}
        self._lists: dict[tuple[ApiKey, tuple[int, ...]], CompiledMocks] = {}
        """The compiled mock lists of recent configs, by the identities of their mocks."""
        self._lock = threading.Lock()
        self._created = int(time.time())

    def prepare(self, api: ApiKey, mock: Any, position: int) -> list[Problem]:
        """Compile one mock ahead of the config it will be part of: a bad response is reported at
        once, while the code that registered it is still on the stack. Raises `ConfigError`;
        returns the warnings about its response."""
        with self._lock:
            return self._prepared(api, mock, position, "<config>").warnings

    def compile(self, config: Config, *, source: str = "<config>", keep: bool = True) -> CompiledConfig:
        """Compile ``config``; raises `ConfigError` naming each response that cannot be served.

        ``keep``: keep what was compiled for each mock, to compile the next config of mostly the
        same mocks quickly (a builder's). A config that never changes keeps nothing.
        """
        problems: list[Problem] = []
        warnings: list[Problem] = []
        apis: dict[ApiKey, CompiledMocks] = {}
        with self._lock, collector_paused():
            for key, adapter in ADAPTERS.items():
                mocks = config.mocks(key)
                # The same mocks as a recent config: a test's reset back to its base config, say.
                lists_key = (key, tuple(map(id, mocks)))
                compiled = self._lists.get(lists_key)
                if compiled is None:
                    compiled = self._compile_api(key, adapter, mocks, source, problems, warnings, keep)
                    if compiled is None:
                        continue
                    if keep:
                        self._lists[lists_key] = compiled
                        if len(self._lists) > _RECENT_LISTS:
                            del self._lists[next(iter(self._lists))]
                apis[key] = compiled
            if problems:
                raise ConfigError(source, problems)
            self._forget_unless(config)
        return CompiledConfig(config, apis, warnings)

    def _compile_api(
        self,
        key: ApiKey,
        adapter: ApiAdapter,
        mocks: list[Any],
        source: str,
        problems: list[Problem],
        warnings: list[Problem],
        keep: bool,
    ) -> CompiledMocks | None:
        answers: list[Answer | None] = []
        # The exact mocks' index keys, kept between compiles (without ``keep`` the index makes them).
        keys: dict[int, bytes] = {}
        for position, mock in enumerate(mocks):
            try:
                if keep:
                    entry = self._prepared(key, mock, position, source, warnings)
                    answers.append(entry.answer)
                    if entry.key is not None:
                        keys[id(mock)] = entry.key
                else:  # checked now, made on first use
                    warnings += _checked(
                        key, adapter, mock, position, self._created, source, self.default_timing
                    )[1]
                    answers.append(None)
            except ConfigError as exc:
                problems += exc.problems
        if problems:
            return None

        def key_of(mock: Any) -> bytes:
            return keys[id(mock)]

        # Lower priority first; sorted() is stable, so equal priorities keep list order. With one
        # priority (the usual case) the order is the list's, kept as a range rather than a list.
        order: Sequence[int] = range(len(mocks))
        if len({mock.priority for mock in mocks}) > 1:
            order = sorted(order, key=lambda i: mocks[i].priority)
        index = MockIndex(adapter.rules, [mocks[i] for i in order], key_of=key_of if keep else None)
        stateful = any(mock.is_stateful for mock in mocks)
        prepared = [answers[i] for i in order]
        return CompiledMocks(adapter, index, prepared, order, stateful, self._created, self.default_timing)

    def _forget_unless(self, config: Config) -> None:
        """Drop what was compiled for mocks that are gone, once they are many: a test suite that
        registers mocks test after test would otherwise keep every one."""
        served = sum(config.counts().values())
        if len(self._cache) <= 2 * served + 1024:
            return
        self._cache = {
            id(mock): entry
            for spec in APIS
            for mock in config.mocks(spec.key)
            if (entry := self._cache.get(id(mock))) is not None
        }

    def _prepared(
        self, api: ApiKey, mock: Any, position: int, source: str, new_warnings: list[Problem] | None = None
    ) -> _Prepared:
        """What was compiled for ``mock``, compiled now if it was not; the warnings of one compiled
        now are added to ``new_warnings`` (one compiled before reported its own then)."""
        entry = self._cache.get(id(mock))
        if entry is not None and entry.mock is mock:
            return entry
        adapter = ADAPTERS[api]
        answer, warnings = _checked(api, adapter, mock, position, self._created, source, self.default_timing)
        key = exact_key(adapter.rules, mock) if mock.match.match_type == "exact" else None
        entry = self._cache[id(mock)] = _Prepared(mock, answer, key, warnings)
        if new_warnings is not None:
            new_warnings += warnings
        return entry


def _checked(
    api: ApiKey,
    adapter: ApiAdapter,
    mock: Any,
    position: int,
    created: int,
    source: str,
    default_timing: Timing | None = None,
) -> tuple[Answer, list[Problem]]:
    """`_answer_of`, with a response checked against its provider's type first (the contract
    guard), and one that cannot be served reported as a `ConfigError` at its path; and the
    warnings about the response."""
    warnings: list[Problem] = []
    response = mock.response
    if response is not None:
        errors: list[Problem] = []
        for finding in check_response(adapter.response_type, response):
            if finding.unknown and mock.allow_unknown_fields:
                continue
            where = f"$.{api}[{position}].response{json_path(finding.path)}"
            (errors if finding.error else warnings).append((where, finding.message))
        if errors:
            raise ConfigError(source, errors)
    try:
        return _answer_of(adapter, mock, position, created, default_timing), warnings
    except ValueError as exc:
        where, _, message = str(exc).partition(": ")
        raise ConfigError(source, [(f"$.{api}[{position}].{where}", message)]) from None


def _answer_of(
    adapter: ApiAdapter, mock: Any, position: int, created: int, default_timing: Timing | None = None
) -> Answer:
    function = mock.reply_with
    if function is not None:
        api = adapter.spec.key
        label = mock.name or f"{api}[{position}]"

        def prepare(answered: Any) -> PreparedResponse | PreparedError | TimedResponse:
            answer = _checked(api, adapter, answered, position, created, "the reply", default_timing)[0]
            assert not isinstance(answer, ProgrammedReply)  # the mock answered holds no function
            return answer

        return ProgrammedReply(function, label, prepare)
    error, timing, fault = mock.error, mock.timing, mock.fault
    if timing is None:
        timing = default_timing
    if error is not None:
        return PreparedError(adapter, error.status, error.type, error.message, error.headers, timing)
    # Embeddings mocks alone have the key; read from the instance dict, as pydantic's __getattr__
    # for a missing attribute costs about 4 µs a mock (0.4 s of a 100,000-mock start).
    vectors = mock.__dict__.get("vectors_from_text")
    if vectors is not None and adapter.vectors is not None:
        answer: PreparedResponse = adapter.vectors(vectors, adapter, position, created)
    else:
        answer = _prepare(adapter, mock.response, position, created)
    if fault is not None:
        _check_fault(adapter, answer, fault)
    elif timing is None:
        return answer
    return TimedResponse(answer, adapter, timing, fault)


def _check_fault(adapter: ApiAdapter, answer: PreparedResponse, fault: Fault) -> None:
    """Refuses an ``after_events`` past the end of the mock's stream. Only a fault with
    ``after_events`` renders the stream here, so a config's other mocks load as cheaply as ever.
    The plain stream variant is the shortest (chat's usage chunk only adds one), so an
    ``after_events`` it allows fits every variant."""
    streaming = adapter.streaming
    if fault.after_events is None or streaming is None:
        # An API that does not stream (embeddings) meets a mid-stream kind as any JSON answer does.
        return
    check_after_events(fault, len(streaming.events(answer.response_for(None), streaming.shortest)))


def _prepare(adapter: ApiAdapter, response: dict[str, Any], position: int, created: int) -> PreparedResponse:
    """A mock's answer, checked now and filled in on its first request.

    ``fill`` checks every field a variant of the answer (JSON or stream, floats or base64) reads,
    so a response it accepts serves every request; one it refuses fails here, at load, naming the
    field. Raises ``ValueError("response[.path]: problem")``.
    """
    try:
        adapter.fill(response, position, created)
    except ValueError as exc:
        if str(exc).startswith("response"):  # fill's own "response.<path>: <problem>"
            raise
        raise ValueError(f"response: {exc}") from None
    except Exception as exc:  # a value fill did not foresee: still an error of this response
        raise ValueError(f"response: {type(exc).__name__}: {exc}") from None
    return PreparedResponse(response, adapter, position, created)
