"""What a server answers with: its config source, the config compiled from it, and the runtime.

A source that changes (a builder bound to the server) only marks the compiled config stale, after
compiling the one mock it added; the next request, or the next reader of `ServedMocks.current`,
compiles the whole config again from the compiler's cache. So registering a mock costs that mock,
not every mock, and a burst of registrations costs one recompile.

Mocks changed at run time (the admin API) are a layer over the source (`AddedMocks`): reloading
the source keeps them, and `ServedMocks.restore` drops them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..apis import ApiKey
from ..config import Config, ConfigError, Timing, load_config
from ..shadowing import unreachable_mocks
from .added_mocks import AddedMocks
from .chaos import ChaosDice
from .compiled import CompiledConfig, Compiler
from .journal import Journal, RecordedRequest
from .report import describe_requests
from .runtime import Runtime

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
    ) -> None:
        self.runtime = Runtime()
        self.journal = journal
        """Where the server records the requests (told to the builders it follows)."""
        self.chaos = chaos
        """The server's chaos draws, started again by a reset."""
        self._name = name
        """What errors call a config given as an object (a file is called by its path)."""
        self._compiler = Compiler(timing)
        self._lock = threading.Lock()
        self._source: ConfigSource = None
        self._stale = False
        self._added = AddedMocks()
        self._startup, self._compiled = self._compile(source, loading=True)
        self._follow(source)

    def current(self) -> CompiledConfig:
        """The compiled config of the source as it is now."""
        if self._stale:
            self._refresh()
        return self._compiled

    def compile(self, source: ConfigSource) -> tuple[Config, CompiledConfig]:
        """Read and compile ``source`` as `set_source` would, without serving it: the source's
        config, and the config served (with the changes made at run time) compiled; raises
        `ConfigError`. Safe from another thread (the compiler has its own lock), so that a large
        file can be compiled while the event loop goes on answering with the old mocks."""
        return self._compile(source, loading=True)

    def set_source(
        self, source: ConfigSource, *, compiled: tuple[Config, CompiledConfig] | None = None
    ) -> None:
        """Serve another source from the next request on; raises `ConfigError` (and keeps the old
        one) when it cannot be served. ``compiled``: what `compile` made of ``source`` ahead of
        time. Call this on the server's event loop: the call counts change here."""
        startup, served = compiled if compiled is not None else self._compile(source, loading=True)
        self._swap(startup, served)
        self._follow(source)

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

    def add(self, config: Config) -> None:
        """Serve the mocks of ``config`` too, each after the mocks of its API. Raises `ConfigError`
        (naming paths in ``config``) for a mock that cannot be served, and changes nothing then."""
        CompiledConfig.of(config, source=self._name)
        self._change(self._added.appending(config))

    def replace(self, config: Config) -> None:
        """Serve the mocks of ``config`` instead of every mock; raises like `add`."""
        CompiledConfig.of(config, source=self._name)
        self._change(AddedMocks.replacing(config))

    def clear(self) -> None:
        """Serve no mocks (until `restore`)."""
        self._change(AddedMocks.replacing(Config()))

    def remove(self, label: str) -> int:
        """Stop serving every mock labelled ``label`` (its name, else ``api[position]``); returns
        how many there were."""
        added, removed = self._added.without(self.current().config, label)
        if removed:
            self._change(added)
        return removed

    def reset(self) -> None:
        """Back to the source's mocks, with no call counts, scenario states or journal, and the
        chaos draws started again from their seed: every reset (`MockServer.reset`, the admin
        API's, the pytest fixtures') is this one."""
        self.runtime.reset()  # first: with no counts left, restoring the mocks has none to carry over
        self.restore()
        if self.journal is not None:
            self.journal.clear()
        if self.chaos is not None:
            self.chaos.reseed()

    def restore(self) -> None:
        """Serve the source alone again, forgetting every change made at run time."""
        if not self._added.empty:
            self._change(AddedMocks())

    def _change(self, added: AddedMocks) -> None:
        # A builder changes under us: read it again. Any other source is what was read last.
        source = self._source
        startup = _resolve(source) if isinstance(source, SupportsChangeListener) else self._startup
        compiled = self._compiler.compile(added.over(startup), source=self._name, keep=True)
        self._added = added
        self._swap(startup, compiled)

    def _swap(self, startup: Config, compiled: CompiledConfig) -> None:
        with self._lock:
            self._startup, self._compiled, self._stale = startup, compiled, False
            self.runtime.keep_only(mock for mocks in compiled.apis.values() for mock in mocks.index.mocks)

    def _compile(self, source: ConfigSource, *, loading: bool = False) -> tuple[Config, CompiledConfig]:
        """The source's config, and the config served (with the changes made at run time) compiled."""
        label = str(source) if isinstance(source, str | Path) else self._name
        # Nothing is registered into a config that is not a builder: keep nothing to recompile it.
        # Mocks changed at run time are few and change again: keep what was compiled for them.
        following = isinstance(source, SupportsChangeListener)
        startup = _resolve(source)
        compiled = self._compiler.compile(
            self._added.over(startup), source=label, keep=following or not self._added.empty
        )
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
        return startup, compiled

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
            self._compiler.prepare(api, mock, position)  # raises for a response that cannot be served
        self._stale = True

    def _refresh(self) -> None:
        with self._lock:
            if not self._stale:
                return
            # Cleared before the source is read: a change during the compile marks it stale again.
            self._stale = False
            try:
                self._startup, self._compiled = self._compile(self._source)
            except ConfigError:
                # A mock whose compile failed is being taken back by its builder, which will say so;
                # until then, keep serving what was served.
                self._stale = True
