"""The root builder: the ordered list of mocks of every API, and the handles it gives back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic

from ..config import Config
from ._base import MockT
from ._values import ApiName
from .anthropic_messages import AnthropicMessagesBuilder
from .openai_chat import OpenAIChatBuilder
from .openai_embeddings import OpenAIEmbeddingsBuilder
from .openai_responses import OpenAIResponsesBuilder

__all__ = ["MockBuilder", "MockHandle", "mock"]


@dataclass(frozen=True)
class MockHandle(Generic[MockT]):
    """What a ``reply*`` verb returns: where the mock went, and the mock itself."""

    api: ApiName
    """The config key of the mock's list (``openai``, ``openai_response``, …)."""
    position: int
    """Its index in that list; earlier mocks win. Stale after `MockBuilder.reset`."""
    mock: MockT
    """The config model, exactly as it appears in `MockBuilder.build`."""

    @property
    def name(self) -> str:
        return self.mock.name

    @property
    def label(self) -> str:
        """How the server refers to the mock: its name, else ``api[position]``."""
        return self.mock.name or f"{self.api}[{self.position}]"


class MockBuilder:
    """The mocks of one config, in order. Start a mock with one of the API methods, end it with a
    ``reply*`` verb; `build` returns the `Config`, `to_json` the kagent-format JSON.

    A `MockServer` given a builder follows it: each mock registered later takes effect for the
    server's next request.
    """

    def __init__(self, *, listen_addr: str | None = None) -> None:
        self.listen_addr = listen_addr
        """``host:port`` for ``mockllm serve`` (``listen_addr``)."""
        self._mocks: dict[ApiName, list[Any]] = {
            "openai": [],
            "openai_response": [],
            "openai_embeddings": [],
            "anthropic": [],
        }
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        counts = ", ".join(f"{api}={len(mocks)}" for api, mocks in self._mocks.items() if mocks)
        return f"<MockBuilder {counts or 'empty'}>"

    # --- starting a mock ----------------------------------------------------------------------------

    def openai_chat(self) -> OpenAIChatBuilder:
        """A mock for ``POST /v1/chat/completions`` (config key ``openai``)."""
        return OpenAIChatBuilder(self)

    def openai_responses(self) -> OpenAIResponsesBuilder:
        """A mock for ``POST /v1/responses`` (config key ``openai_response``)."""
        return OpenAIResponsesBuilder(self)

    def openai_embeddings(self) -> OpenAIEmbeddingsBuilder:
        """A mock for ``POST /v1/embeddings`` (config key ``openai_embeddings``)."""
        return OpenAIEmbeddingsBuilder(self)

    def anthropic_messages(self) -> AnthropicMessagesBuilder:
        """A mock for ``POST /v1/messages`` (config key ``anthropic``)."""
        return AnthropicMessagesBuilder(self)

    # --- the config ---------------------------------------------------------------------------------

    def build(self) -> Config:
        """The config of every mock registered so far."""
        with self._lock:
            return Config(
                openai=list(self._mocks["openai"]),
                openai_response=list(self._mocks["openai_response"]),
                openai_embeddings=list(self._mocks["openai_embeddings"]),
                anthropic=list(self._mocks["anthropic"]),
                listen_addr=self.listen_addr,
            )

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

    def add_change_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each change (each registered mock, each `reset`)."""
        with self._lock:
            self._listeners.append(listener)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def _add(self, api: ApiName, mock: MockT) -> MockHandle[MockT]:
        with self._lock:
            mocks = self._mocks[api]
            position = len(mocks)
            mocks.append(mock)
        try:
            self._notify()
        except BaseException:
            # A listener (a server) refused the new config; drop the mock so that the builder and
            # the servers following it agree again, then let the error reach the reply*() call.
            with self._lock:
                mocks[:] = [m for m in mocks if m is not mock]
            self._notify()
            raise
        return MockHandle(api, position, mock)


def mock(*, listen_addr: str | None = None) -> MockBuilder:
    """A new, empty `MockBuilder`: ``m = mock(); m.openai_chat().when_...(...).reply(...)``."""
    return MockBuilder(listen_addr=listen_addr)
