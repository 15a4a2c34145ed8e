"""`MockLLM`: what the pytest fixtures give a test — a builder bound to a running server, the
server's addresses, and the requests it received."""

from __future__ import annotations

from typing import Final

from .apis import APIS
from .builders import MockBuilder, mock
from .builders._base import MockRegistry
from .builders._entry_points import ApiEntryPoints
from .config import Config
from .openai.provider import AZURE_API_VERSION
from .server import Journal, MockServer, RecordedRequest, SupportsBuild
from .server.registry import PROVIDERS
from .server.report import describe_requests
from .server.served import ChangeListener, Follower

__all__ = ["ENV_API_KEY", "ENV_API_VERSION", "MockLLM"]

ENV_API_KEY: Final = "mockllm"
"""The API key the env helper sets: the server only checks that a key is present."""
ENV_API_VERSION: Final = AZURE_API_VERSION
"""The Azure OpenAI ``api-version`` the env helper sets: the server takes any."""


class _Layered:
    """The test's builder in front of a base config: mocks registered in the test win."""

    def __init__(self, base: Config, builder: MockBuilder) -> None:
        self._base = base
        self._builder = builder

    def build(self) -> Config:
        built, base = self._builder.build(), self._base
        return Config.of({spec.key: [*built.mocks(spec.key), *base.mocks(spec.key)] for spec in APIS})

    def add_change_listener(self, listener: ChangeListener) -> None:
        self._builder.add_change_listener(listener)

    def add_follower(self, follower: Follower) -> None:
        # The test's handles ask their builder where their calls are.
        self._builder.add_follower(follower)


class MockLLM(ApiEntryPoints):
    """A builder bound to a running server, with the server's addresses and what it received.

    ``mockllm.openai_chat().when_last_message_contains("hi").reply("hello")`` registers a mock that
    the next request sees. Mocks from ``@pytest.mark.mockllm(config=...)`` or the session default
    config are served too, after the ones registered through this object.
    """

    def __init__(self, server: MockServer, base: Config | None = None) -> None:
        self.server = server
        self._base = base
        self._builder: MockBuilder
        self.reset()

    # --- the builder --------------------------------------------------------------------------

    def _mock_registry(self) -> MockRegistry:
        # The API verbs (openai_chat(), …) register on this test's builder.
        return self._builder

    @property
    def builder(self) -> MockBuilder:
        return self._builder

    def to_json(self, *, indent: bool = True) -> str:
        """The mocks registered in this test as kagent-format JSON (without the base config)."""
        return self._builder.to_json(indent=indent)

    @property
    def config(self) -> Config:
        """What the server serves now: this test's mocks, then the base config's."""
        return self.server.config

    def reset(self) -> None:
        """Forget the mocks registered so far, the requests received, call counts and scenario
        states (the base config stays)."""
        self._builder = mock()
        source: SupportsBuild = self._builder if self._base is None else _Layered(self._base, self._builder)
        self.server.reset()  # first: with no counts left, replacing the mocks has none to carry over
        self.server.set_config(source)

    # --- behaviour over time --------------------------------------------------------------------

    @property
    def scenarios(self) -> dict[str, str]:
        """The state of every scenario that left ``"Started"``."""
        return self.server.scenarios

    def set_scenario_state(self, scenario: str, state: str) -> None:
        """Move a scenario to ``state``, e.g. to start a test half-way through a conversation."""
        self.server.set_scenario_state(scenario, state)

    # --- addresses ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def openai_base_url(self) -> str:
        return self.server.openai_base_url

    @property
    def anthropic_base_url(self) -> str:
        return self.server.anthropic_base_url

    @property
    def azure_endpoint(self) -> str:
        return self.server.azure_endpoint

    @property
    def gemini_base_url(self) -> str:
        return self.server.gemini_base_url

    @property
    def bedrock_endpoint_url(self) -> str:
        return self.server.bedrock_endpoint_url

    @property
    def ollama_host(self) -> str:
        return self.server.ollama_host

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point every provider's SDK (``openai``, ``anthropic``,
        ``google-genai``; ``AzureOpenAI`` too) at this server, with a dummy key.

        For a subprocess: ``env={**os.environ, **mockllm.env}``, less `env_removed`.
        """
        return {
            name: value
            for provider in PROVIDERS
            for name, value in provider.client_env(self.url, ENV_API_KEY).items()
            if value is not None
        }

    @property
    def env_removed(self) -> tuple[str, ...]:
        """Variables an SDK would prefer to `env`'s (Google's ``GOOGLE_API_KEY``): ``mockllm_env``
        removes them for the test."""
        return tuple(
            name
            for provider in PROVIDERS
            for name, value in provider.client_env(self.url, ENV_API_KEY).items()
            if value is None
        )

    # --- what the server saw --------------------------------------------------------------------

    @property
    def journal(self) -> Journal:
        return self.server.journal

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received since the test started, oldest first."""
        return list(self.server.journal)

    @property
    def unmatched(self) -> list[RecordedRequest]:
        return self.server.journal.unmatched

    def describe_requests(self) -> str:
        """A readable list of the requests received; why each unmatched one missed (credentials
        redacted)."""
        return describe_requests(self.requests, f"the mock server at {self.url}")

    # --- verification ---------------------------------------------------------------------------

    def never_called(self) -> list[str]:
        """The labels of the mocks registered in this test (not the base config's) that answered
        no request."""
        runtime = self.server.runtime
        built = self._builder.build()
        return [
            mock.name or f"{spec.key}[{position}]"
            for spec in APIS
            for position, mock in enumerate(built.mocks(spec.key))
            if runtime.calls(mock) == 0
        ]

    def assert_all_called(self) -> None:
        """Fail unless every mock registered in this test answered at least one request."""
        idle = self.never_called()
        if idle:
            names = ", ".join(f'"{label}"' for label in idle)
            raise AssertionError(f"mock(s) never called: {names}.\n{self.describe_requests()}")

    def __repr__(self) -> str:
        where = self.url if self.server.running else "not running"
        return f"<MockLLM {where}, {len(self.server.journal)} request(s)>"
