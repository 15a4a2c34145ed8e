"""What a server answers with: its config source, the config compiled from it, and the runtime.

A source that changes (a builder bound to the server) only marks the compiled config stale, after
compiling the one mock it added; the next request, or the next reader of `ServedMocks.current`,
compiles the whole config again from the compiler's cache. So registering a mock costs that mock,
not every mock, and a burst of registrations costs one recompile.

Mocks changed at run time (the admin API) are a layer over the source (`AddedMocks`): reloading
the source keeps them, and `ServedMocks.restore` drops them.

A change (another source, or a change at run time) is compiled from what is served when it starts,
and takes effect only if that is still what is served; otherwise it is compiled again over what took
effect meanwhile. So a change compiled off the event loop — a large file reloaded, a large config
posted to the admin API — never undoes another that took effect while it compiled.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..apis import ApiKey
from ..config import Config, ConfigError, Timing, load_config
from ..shadowing import unreachable_mocks
from .added_mocks import AddedMocks, Change, Removing, appending, labelled, replacing, restoring
from .chaos import ChaosDice
from .compiled import CompiledConfig, Compiler, Problem, log_warnings
from .journal import Journal, RecordedRequest
from .report import describe_requests
from .runtime import Runtime
from .shared_changes import SharedChanges
from .state import SharedState

__all__ = [
    "ChangeListener",
    "ConfigSource",
    "Follower",
    "ServedMocks",
    "SupportsBuild",
    "SupportsChangeListener",
    "SupportsFollowers",
]

logger = logging.getLogger("mockllm")


@runtime_checkable
class SupportsBuild(Protocol):
    """Anything that builds a `Config`, such as the fluent builder."""

    def build(self) -> Config: ...


ChangeListener = Callable[[ApiKey | None, Any, int], None]
"""Called after a source changed: with ``(api, mock, position)`` for a mock it appended, or with
``(None, None, -1)`` for any other change (a reset, a mock taken back)."""


@runtime_checkable
class SupportsChangeListener(Protocol):
    """A config source that says when it changed (a builder bound to a running server)."""

    def add_change_listener(self, listener: ChangeListener) -> None: ...


class Follower(Protocol):
    """A server that serves a builder, as the handles of the builder's mocks ask it what their
    mock answered. Mocks are known by identity: the config model object a ``reply*`` verb made."""

    def calls_of(self, mock: Any) -> list[RecordedRequest]:
        """The recorded requests ``mock`` answered since the last reset, oldest first."""
        ...

    def call_count(self, mock: Any) -> int:
        """How many requests ``mock`` answered since the last reset (journalled or not)."""
        ...

    def describe_requests(self) -> str:
        """The request report of every recorded request, near misses included."""
        ...


@runtime_checkable
class SupportsFollowers(Protocol):
    """A config source that wants to know who serves it: a builder, whose handles then find the
    calls of their mock in the journal of each server following it."""

    def add_follower(self, follower: Follower) -> None: ...


ConfigSource = Config | SupportsBuild | str | Path | None


def _resolve(source: ConfigSource) -> Config:
    if source is None:
        return Config()
    if isinstance(source, Config):
        return source
    if isinstance(source, str | Path):
        return load_config(source)
    return source.build()


@dataclass(frozen=True)
class _Attempt:
    """A change compiled from what was served at one generation (`ServedMocks._generation`)."""

    generation: int
    source: ConfigSource
    startup: Config
    added: AddedMocks
    compiled: CompiledConfig


_SAME_SOURCE: Any = object()
"""For `ServedMocks._prepare`: the source stays what it is."""

_CHECK_WHILE_LOADING = 10_000
"""Configs up to this many mocks are checked for mocks that can never answer when they load. The
check costs about 4 µs a mock: a larger config would make the server start noticeably later."""


class ServedMocks:
    """The compiled config a server answers with, kept up to date with its source, and what changes
    as it answers: the runtime (call counts, scenario states), the journal and the chaos draws."""

    def __init__(
        self,
        source: ConfigSource,
        *,
        name: str = "<config>",
        timing: Timing | None = None,
        journal: Journal | None = None,
        chaos: ChaosDice | None = None,
        state: SharedState | None = None,
    ) -> None:
        self.runtime = Runtime()
        self.state = state
        """The store shared with other processes (None: the runtime of this process is the state).
        With one, the stateful mocks are gated by the store, and `runtime` counts nothing."""
        self.shared = None if state is None else SharedChanges(self)
        """With a store: the mocks changed at run time, as every process sharing it changes them."""
        self.journal = journal
        """Where the server records the requests (told to the builders it follows)."""
        self.chaos = chaos
        """The server's chaos draws, started again by a reset."""
        self._name = name
        """What errors call a config given as an object (a file is called by its path)."""
        self._compiler = Compiler(timing)
        self._lock = threading.Lock()
        """Held to read or change what is served as a whole."""
        self._generation = 0
        """How many times what is served changed: a change compiled from an older one is made again."""
        self._source: ConfigSource = None
        self._stale = False
        self._added = AddedMocks()
        self._startup = _resolve(source)
        self._compiled = self._compile(source, self._startup, self._added, loading=True)
        self._follow(source)

    def current(self) -> CompiledConfig:
        """The compiled config of the source as it is now."""
        if self._stale:
            self._refresh()
        return self._compiled

    def set_source(self, source: ConfigSource) -> None:
        """Serve another source from the next request on; raises `ConfigError` (and keeps the old
        one) when it cannot be served."""
        self._settle(lambda: self._prepare(source))

    async def set_source_off_loop(self, source: ConfigSource) -> None:
        """`set_source` from the server's event loop: the source is read and compiled in a worker
        thread (a file of 100,000 mocks takes seconds) while the server goes on answering with the
        old mocks, then swapped in on the loop in one step."""
        await self._settle_off_loop(lambda: self._prepare(source))

    def reload(self) -> None:
        """Compile the current source again (a file that changed on disk, say). Mocks changed at
        run time stay changed."""
        self.set_source(self._source)

    # --- what the server answered, for the handles of a builder it follows (`Follower`) ------------

    def calls_of(self, mock: Any) -> list[RecordedRequest]:
        if self.journal is None:
            return []
        return self.journal.answered_by(mock)

    def call_count(self, mock: Any) -> int:
        return self.runtime.calls(mock)

    def describe_requests(self) -> str:
        return describe_requests(self.journal or (), "the mock server")

    # --- changes at run time ----------------------------------------------------------------------
    # Each has a twin for the server's event loop, which compiles in a worker thread while the
    # server goes on answering (the admin API's: a posted config may hold thousands of mocks).

    def check(self, config: Config) -> Sequence[Problem]:
        """Raise `ConfigError`, naming paths in ``config``, for a mock of it that cannot be served;
        return (and log) the warnings about its responses."""
        warnings = CompiledConfig.of(config, source=self._name).warnings
        log_warnings(self._name, warnings)
        return warnings

    def change(self, change: Change) -> None:
        """Make a change at run time; raises `ConfigError`, and changes nothing, when the config
        it gives cannot be served."""
        self._settle(lambda: self._prepare(change=change))

    async def change_off_loop(self, change: Change) -> None:
        await self._settle_off_loop(lambda: self._prepare(change=change))

    def add(self, config: Config) -> Sequence[Problem]:
        """Serve the mocks of ``config`` too, each after the mocks of its API. Raises `ConfigError`
        (naming paths in ``config``) for a mock that cannot be served, and changes nothing then;
        returns (and logs) the warnings about its responses."""
        warnings = self.check(config)
        self.change(appending(config))
        return warnings

    async def add_off_loop(self, config: Config) -> Sequence[Problem]:
        warnings = await asyncio.to_thread(self.check, config)
        if self.shared is not None:
            await self.shared.make("append", config)
        else:
            await self.change_off_loop(appending(config))
        return warnings

    def replace(self, config: Config) -> Sequence[Problem]:
        """Serve the mocks of ``config`` instead of every mock; raises and returns like `add`."""
        warnings = self.check(config)
        self.change(replacing(config))
        return warnings

    async def replace_off_loop(self, config: Config) -> Sequence[Problem]:
        warnings = await asyncio.to_thread(self.check, config)
        if self.shared is not None:
            await self.shared.make("replace", config)
        else:
            await self.change_off_loop(replacing(config))
        return warnings

    def clear(self) -> None:
        """Serve no mocks (until `restore`)."""
        self.change(replacing(Config()))

    async def clear_off_loop(self) -> None:
        if self.shared is not None:
            await self.shared.make("replace", Config())
        else:
            await self.change_off_loop(replacing(Config()))

    def remove(self, label: str) -> int:
        """Stop serving every mock labelled ``label`` (its name, else ``api[position]``); returns
        how many there were."""
        removing = Removing(label)
        self.change(removing)
        return removing.count

    async def remove_off_loop(self, label: str) -> int:
        if self.shared is not None:
            count = sum(1 for _, _, name, _ in labelled(self.current().config) if name == label)
            if count:
                await self.shared.make("remove", label=label)
            return count
        removing = Removing(label)
        await self.change_off_loop(removing)
        return removing.count

    def restore(self) -> None:
        """Serve the source alone again, forgetting every change made at run time."""
        self.change(restoring)

    def reset(self) -> None:
        """Back to the source's mocks, with no call counts, scenario states or journal, and the
        chaos draws started again from their seed: every reset (`MockServer.reset`, the admin
        API's, the pytest fixtures') is this one."""
        self.runtime.reset()  # first: with no counts left, restoring the mocks has none to carry over
        self.restore()
        self.forget()

    async def reset_off_loop(self) -> None:
        """`reset` from the server's event loop; with a store, its counts and states are reset for
        every process (raises `StoreDown`, having reset this process, when the store is down)."""
        await self.change_off_loop(restoring)
        self.forget()  # after: requests answered while the source's mocks compiled are forgotten too
        if self.state is not None and self.shared is not None:
            self.shared.adopt(await self.state.reset())

    def forget(self) -> None:
        self.runtime.reset()
        if self.journal is not None:
            self.journal.clear()
        if self.chaos is not None:
            self.chaos.reseed()

    # --- how a change takes effect -------------------------------------------------------------------

    def _prepare(self, source: ConfigSource = _SAME_SOURCE, change: Change | None = None) -> _Attempt | None:
        """Compile what is served now with ``source`` in its place, or ``change`` made to it; None
        when the change changes nothing. Raises `ConfigError`. Safe from any thread (the compiler
        has its own lock), so that a large config compiles while the loop goes on answering."""
        with self._lock:
            generation, current, startup, added = self._generation, self._source, self._startup, self._added
        loading = source is not _SAME_SOURCE
        if not loading:
            source = current
        if loading or isinstance(source, SupportsChangeListener):  # a builder changes under us
            startup = _resolve(source)
        if change is not None:
            changed = change(added, added.over(startup))
            if changed is added or (changed.empty and added.empty):
                return None
            added = changed
        compiled = self._compile(source, startup, added, loading=loading)
        return _Attempt(generation, source, startup, added, compiled)

    def _commit(self, attempt: _Attempt | None) -> bool:
        """Serve what ``attempt`` compiled, unless what is served changed since it started;
        returns whether it took effect (or had nothing to do)."""
        if attempt is None:
            return True
        with self._lock:
            if attempt.generation != self._generation:
                return False
            self._serve(attempt.startup, attempt.added, attempt.compiled)
        self._follow(attempt.source)
        return True

    def _settle(self, prepare: Callable[[], _Attempt | None]) -> None:
        while not self._commit(prepare()):
            pass

    async def _settle_off_loop(self, prepare: Callable[[], _Attempt | None]) -> None:
        # Compiled in a worker thread, swapped in on the loop: the call counts change there.
        while not self._commit(await asyncio.to_thread(prepare)):
            pass

    def _serve(self, startup: Config, added: AddedMocks, compiled: CompiledConfig) -> None:
        """Serve ``compiled``, made of ``added`` over ``startup``; called with the lock held."""
        self._startup, self._added, self._compiled, self._stale = startup, added, compiled, False
        self._generation += 1
        self.runtime.keep_only(mock for mocks in compiled.apis.values() for mock in mocks.index.mocks)

    def _compile(
        self, source: ConfigSource, startup: Config, added: AddedMocks, *, loading: bool = False
    ) -> CompiledConfig:
        """The config served, ``added`` over ``startup`` (the config of ``source``), compiled."""
        label = str(source) if isinstance(source, str | Path) else self._name
        # Nothing is registered into a config that is not a builder: keep nothing to recompile it.
        # Mocks changed at run time are few and change again: keep what was compiled for them.
        following = isinstance(source, SupportsChangeListener)
        compiled = self._compiler.compile(
            added.over(startup), source=label, keep=following or not loading or not added.empty
        )
        if loading:  # a change at run time was checked, and its warnings logged, before it was made
            log_warnings(label, compiled.warnings)
        # A builder is checked by nobody: its mocks arrive one by one, and a test's dead mock shows
        # as the test's failure anyway.
        if loading and not following:
            count = sum(compiled.counts().values())
            if count <= _CHECK_WHILE_LOADING:
                for where, message in unreachable_mocks(compiled):
                    logger.warning("%s: %s: %s", label, where, message)
            else:
                logger.info(
                    "%s: %d mocks, not checked for mocks that never answer (mockllm validate checks them)",
                    label,
                    count,
                )
        return compiled

    def _follow(self, source: ConfigSource) -> None:
        if source is self._source:
            return
        self._source = source
        if isinstance(source, SupportsChangeListener):
            source.add_change_listener(lambda api, mock, position: self._changed(source, api, mock, position))
        if isinstance(source, SupportsFollowers):
            source.add_follower(self)

    def _changed(self, source: ConfigSource, api: ApiKey | None, mock: Any, position: int) -> None:
        if source is not self._source:  # a builder replaced by set_source no longer drives this
            return
        if api is not None:
            # Raises for a response that cannot be served, while the builder's call is on the stack.
            log_warnings(self._name, self._compiler.prepare(api, mock, position))
        with self._lock:
            self._stale = True
            self._generation += 1  # a change compiled from the builder as it was is made again

    def _refresh(self) -> None:
        with self._lock:
            if not self._stale:
                return
            # Cleared before the source is read: a change during the compile marks it stale again.
            self._stale = False
            try:
                startup = _resolve(self._source)
                compiled = self._compile(self._source, startup, self._added)
            except ConfigError:
                # A mock whose compile failed is being taken back by its builder, which will say so;
                # until then, keep serving what was served.
                self._stale = True
                return
            self._serve(startup, self._added, compiled)
