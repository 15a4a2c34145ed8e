"""Mocks changed at run time, shared through the store: a ``POST /__mockllm/mocks`` to one replica
(or one worker) is served by every process that shares the store.

A change is appended to a list in the store, and every process makes the changes of that list, in
its order, over its own startup mocks: as every replica serves the same config, each ends with the
same mocks. The process that made a change makes it before it answers; the others when the store's
channel tells them, a round trip later. A reset renews the store's epoch and empties the list: a
process that finds another epoch (a reset elsewhere, or a store that came back empty) resets too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from ..config import Config, ConfigError
from .added_mocks import Change, Removing, appending, replacing, restoring

__all__ = ["SharedChanges"]

_log = logging.getLogger("mockllm")


class SharedChanges:
    """What a process has made of the store's list of changes."""

    def __init__(self, served: Any) -> None:
        self._served = served
        """The `ServedMocks` the changes are made to."""
        self._epoch: str | None = None
        self._made = 0
        """How many changes of the list, in this epoch, this process made."""
        self._started = False
        self._lock = asyncio.Lock()

    async def make(self, kind: str, config: Config | None = None, label: str | None = None) -> None:
        """Append a change (``append``, ``replace`` a config, ``remove`` a label) to the store's list,
        then catch up with the list: the change takes effect here before the call returns."""
        change: dict[str, Any] = {"kind": kind}
        if config is not None:
            change["config"] = orjson.loads(config.to_json(indent=False))
        if label is not None:
            change["label"] = label
        await self._served.state.push_change(orjson.dumps(change))
        await self.catch_up()

    def adopt(self, epoch: str) -> None:
        """A reset made here: its epoch, with no change made yet."""
        self._epoch, self._made = epoch, 0

    async def catch_up(self) -> None:
        """Make the changes of the store's list this process has not made (raises `StoreDown`)."""
        async with self._lock:
            epoch, changes = await self._served.state.changes()
            if epoch != self._epoch:
                if self._started:  # a reset elsewhere, or a store that came back empty
                    await self._served.change_off_loop(restoring)
                    self._served.forget()
                self._epoch, self._made = epoch, 0
            self._started = True
            for change in changes[self._made :]:
                self._made += 1
                try:
                    await self._served.change_off_loop(_change_of(orjson.loads(change)))
                except ConfigError as exc:  # checked where it was made: a bug, and no reason to stop
                    _log.error("a change made at run time by another process cannot be made: %s", exc)


def _change_of(change: dict[str, Any]) -> Change:
    kind = change["kind"]
    if kind == "remove":
        return Removing(change["label"])
    config = Config.from_json(orjson.dumps(change["config"]), source="a change made at run time")
    return appending(config) if kind == "append" else replacing(config)
