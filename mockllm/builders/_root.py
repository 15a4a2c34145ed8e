"""The root builder: the ordered list of mocks of every API."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..apis import APIS, ApiKey
from ..config import Config
from ._base import MockRegistry, MockT
from ._entry_points import ApiEntryPoints

if TYPE_CHECKING:
    from ..server.served import ChangeListener, Follower

__all__ = ["MockBuilder", "mock"]


class MockBuilder(ApiEntryPoints):
    """The mocks of one config, in order. Start a mock with one of the API methods, end it with a
    ``reply*`` verb; `build` returns the `Config`, `to_json` the kagent-format JSON.

    A `MockServer` given a builder follows it: each mock registered later takes effect for the
    server's next request.
    """

    def __init__(self, *, listen_addr: str | None = None) -> None:
        self.listen_addr = listen_addr
        """``host:port`` for ``mockllm serve`` (``listen_addr``)."""
        self._mocks: dict[ApiKey, list[Any]] = {spec.key: [] for spec in APIS}
        self._listeners: list[ChangeListener] = []
        self._followers: list[Follower] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        counts = ", ".join(f"{api}={len(mocks)}" for api, mocks in self._mocks.items() if mocks)
        return f"<MockBuilder {counts or 'empty'}>"

    def _mock_registry(self) -> MockRegistry:
        return self

    # --- the config ---------------------------------------------------------------------------------

    def build(self) -> Config:
        """The config of every mock registered so far."""
        with self._lock:
            return Config.of(self._mocks, listen_addr=self.listen_addr)

    def to_json(self, *, indent: bool = True) -> str:
        """The config as kagent-format JSON, for a mock server run by tests in any language."""
        return self.build().to_json(indent=indent)

    def reset(self) -> None:
        """Drop every mock (a server following this builder then answers 404 to everything)."""
        with self._lock:
            for mocks in self._mocks.values():
                mocks.clear()
        self._notify()

    # --- following ----------------------------------------------------------------------------------

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(api, mock, position)`` after a mock was registered, and
        ``listener(None, None, -1)`` after any other change (`reset`)."""
        with self._lock:
            self._listeners.append(listener)

    def add_follower(self, follower: Follower) -> None:
        """Remember a server that serves this builder: the handles of its mocks read their calls
        there. A server that serves it again is remembered once."""
        with self._lock:
            if not any(known is follower for known in self._followers):
                self._followers.append(follower)

    def followers(self) -> tuple[Follower, ...]:
        """The servers that have served this builder, in the order they started to."""
        with self._lock:
            return tuple(self._followers)

    def _notify(self, api: ApiKey | None = None, mock: Any = None, position: int = -1) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(api, mock, position)

    def add(self, api: ApiKey, mock: MockT) -> int:
        """Append a finished mock (what a ``reply*`` verb calls) and tell the listeners."""
        with self._lock:
            mocks = self._mocks[api]
            position = len(mocks)
            mocks.append(mock)
        try:
            self._notify(api, mock, position)
        except BaseException:
            # A listener (a server) refused the new config; drop the mock so that the builder and
            # the servers following it agree again, then let the error reach the reply*() call.
            with self._lock:
                mocks[:] = [m for m in mocks if m is not mock]
            self._notify()
            raise
        return position


def mock(*, listen_addr: str | None = None) -> MockBuilder:
    """A new, empty `MockBuilder`: ``m = mock(); m.openai_chat().when_...(...).reply(...)``."""
    return MockBuilder(listen_addr=listen_addr)
