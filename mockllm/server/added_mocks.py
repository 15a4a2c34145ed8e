"""Mocks changed at run time (the admin API, `MockServer.add_mocks`, …), layered over the mocks a
server was started with.

The startup source (a file, a `Config`, a builder) stays what it is, so reloading it (an edited
file, a builder that registered a mock) keeps what was changed at run time, and a reset goes back
to it by dropping the layer. A layer is immutable: a change makes a new one, which the server swaps
in only once the config it gives has compiled, so a change that fails changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ..apis import APIS, ApiKey
from ..config import Config

__all__ = ["AddedMocks", "Change", "Removing", "appending", "labelled", "replacing", "restoring"]


def labelled(config: Config) -> Iterator[tuple[ApiKey, int, str, Any]]:
    """Every mock of ``config`` as ``(api, position, label, mock)``, in config order. The label
    is how the journal, near misses and the admin API name a mock: its name, else ``api[position]``."""
    for spec in APIS:
        for position, mock in enumerate(config.mocks(spec.key)):
            yield spec.key, position, mock.name or f"{spec.key}[{position}]", mock


@dataclass(frozen=True)
class AddedMocks:
    """What was changed at run time over the startup mocks."""

    added: Mapping[ApiKey, tuple[Any, ...]] = field(default_factory=dict)
    """Mocks added at run time, per API; they come after the startup mocks of their API."""
    hides_startup: bool = False
    """Whether the startup mocks were replaced (a ``PUT``) or cleared."""
    removed: tuple[Any, ...] = ()
    """Startup mocks removed by name. Compared by value, so a mock read again unchanged from an
    edited file stays removed, and one that changed comes back."""

    @property
    def empty(self) -> bool:
        return not self.hides_startup and not self.removed and not any(self.added.values())

    def over(self, startup: Config) -> Config:
        """The config served: the startup mocks (unless hidden or removed), then the added ones."""
        if self.empty:
            return startup
        lists: dict[ApiKey, list[Any]] = {}
        for spec in APIS:
            base = [] if self.hides_startup else [m for m in startup.mocks(spec.key) if not self._removed(m)]
            lists[spec.key] = base + list(self.added.get(spec.key, ()))
        return Config.of(lists, listen_addr=startup.listen_addr)

    def appending(self, config: Config) -> AddedMocks:
        """This layer with the mocks of ``config`` added after every mock of their API."""
        added = {spec.key: (*self.added.get(spec.key, ()), *config.mocks(spec.key)) for spec in APIS}
        return AddedMocks(added, self.hides_startup, self.removed)

    @staticmethod
    def replacing(config: Config) -> AddedMocks:
        """A layer that serves the mocks of ``config`` instead of the startup mocks."""
        return AddedMocks({spec.key: tuple(config.mocks(spec.key)) for spec in APIS}, hides_startup=True)

    def without(self, served: Config, label: str) -> tuple[AddedMocks, int]:
        """This layer with every mock labelled ``label`` in ``served`` (the config it gives)
        removed, and how many that is."""
        doomed = [mock for _, _, name, mock in labelled(served) if name == label]
        if not doomed:
            return self, 0
        doomed_ids = {id(mock) for mock in doomed}
        added = {key: tuple(m for m in mocks if id(m) not in doomed_ids) for key, mocks in self.added.items()}
        added_ids = {id(mock) for mocks in self.added.values() for mock in mocks}
        removed = self.removed + tuple(mock for mock in doomed if id(mock) not in added_ids)
        return AddedMocks(added, self.hides_startup, removed), len(doomed)

    def _removed(self, mock: Any) -> bool:
        # Type and name first: cheap, and it spares comparing every field of every startup mock.
        return any(
            type(gone) is type(mock) and gone.name == mock.name and gone == mock for gone in self.removed
        )


Change: TypeAlias = Callable[[AddedMocks, Config], AddedMocks]
"""A change made at run time: the new layer, from the layer and the config it gives now (with the
startup mocks as they are then). A server may make it again over another change that took effect
first, so it reads nothing else."""


def appending(config: Config) -> Change:
    """Add the mocks of ``config``, each after the mocks of its API."""
    return lambda added, served: added.appending(config)


def replacing(config: Config) -> Change:
    """Serve the mocks of ``config`` instead of every mock."""
    return lambda added, served: AddedMocks.replacing(config)


def restoring(added: AddedMocks, served: Config) -> AddedMocks:
    """Forget every change: serve the startup mocks alone."""
    return AddedMocks()


class Removing:
    """Remove every mock labelled ``label``; ``count`` is how many, once the change took effect."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0

    def __call__(self, added: AddedMocks, served: Config) -> AddedMocks:
        added, self.count = added.without(served, self.label)
        return added
