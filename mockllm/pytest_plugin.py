"""pytest fixtures: a mock LLM server per session, and a clean set of mocks for every test.

Registered through the ``pytest11`` entry point, so installing the package is enough.

=========================  ========  ===================================================================
fixture                    scope     what it gives
=========================  ========  ===================================================================
``mockllm``                function  `MockLLM` on the session's threaded server: no mocks, empty journal
``mockllm_async``          function  `MockLLM` on a server started in the test's running event loop
``mockllm_env``            function  ``mockllm``, with ``OPENAI_*`` / ``ANTHROPIC_*`` variables set
``mockllm_server``         session   the shared thread-backed `MockServer` (override to change it)
``mockllm_default_config`` session   the ``--mockllm-config`` / ini ``mockllm_config`` file, loaded
=========================  ========  ===================================================================

``@pytest.mark.mockllm(config="path.json")`` serves a file (or a `Config`, or a builder) to a test,
class or module instead of the session default. A failed test's report gets a section listing the
requests the server saw and, for those that matched nothing, why.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson
import pytest

if TYPE_CHECKING:
    from .builders import (
        AnthropicMessagesBuilder,
        MockBuilder,
        OpenAIChatBuilder,
        OpenAIEmbeddingsBuilder,
        OpenAIResponsesBuilder,
    )
    from .config import Config
    from .server import Journal, MockServer, RecordedRequest, SupportsBuild

__all__ = ["ENV_API_KEY", "MockLLM"]

ENV_API_KEY: Final = "mockllm"
"""The API key the env helper sets: the server only checks that a key is present."""

_MARKER = "mockllm"
_ACTIVE = pytest.StashKey[list["MockLLM"]]()
_LOADED = pytest.StashKey["dict[Path, Config]"]()


class _Layered:
    """The test's builder in front of a base config: mocks registered in the test win."""

    def __init__(self, base: Config, builder: MockBuilder) -> None:
        self._base = base
        self._builder = builder

    def build(self) -> Config:
        from .config import Config

        built, base = self._builder.build(), self._base
        return Config(
            openai=[*built.openai, *base.openai],
            openai_response=[*built.openai_response, *base.openai_response],
            openai_embeddings=[*built.openai_embeddings, *base.openai_embeddings],
            anthropic=[*built.anthropic, *base.anthropic],
        )

    def add_change_listener(self, listener: Callable[[], None]) -> None:
        self._builder.add_change_listener(listener)


class MockLLM:
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

    # --- the builder's entry points -------------------------------------------------------------

    def openai_chat(self) -> OpenAIChatBuilder:
        return self._builder.openai_chat()

    def openai_responses(self) -> OpenAIResponsesBuilder:
        return self._builder.openai_responses()

    def openai_embeddings(self) -> OpenAIEmbeddingsBuilder:
        return self._builder.openai_embeddings()

    def anthropic_messages(self) -> AnthropicMessagesBuilder:
        return self._builder.anthropic_messages()

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
        """Forget the mocks registered so far and the requests received (the base config stays)."""
        # Imported here so that a project's pytest loads this plugin without the builder package.
        from .builders import mock

        self._builder = mock()
        source: SupportsBuild = self._builder if self._base is None else _Layered(self._base, self._builder)
        self.server.set_config(source)
        self.server.journal.clear()

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
    def env(self) -> dict[str, str]:
        """Environment variables that point the OpenAI and Anthropic SDKs at this server.

        For a subprocess: ``subprocess.run(cmd, env={**os.environ, **mockllm.env})``.
        """
        return {
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_API_KEY": ENV_API_KEY,
            "ANTHROPIC_BASE_URL": self.anthropic_base_url,
            "ANTHROPIC_API_KEY": ENV_API_KEY,
        }

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
        """A readable list of the requests received; why each unmatched one missed."""
        records = self.requests
        if not records:
            return f"the mock server at {self.url} received no requests"
        lines = [f"the mock server at {self.url} received {len(records)} request(s):"]
        for number, record in enumerate(records, 1):
            outcome = f'mock "{record.mock}"' if record.mock is not None else "no mock"
            lines.append(f"{number}. {record.method} {record.path} -> {record.status}, {outcome}")
            asked = _asked(record.body)
            if asked and record.error is None:
                lines.append(f"   {asked}")
            if record.error is not None:
                lines.append(f"   {record.error}")
            lines.extend(f"   {miss}" for miss in record.near_misses)
        return "\n".join(lines)

    def __repr__(self) -> str:
        where = self.url if self.server.running else "not running"
        return f"<MockLLM {where}, {len(self.server.journal)} request(s)>"


def _asked(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    stream = " (stream)" if body.get("stream") is True else ""
    messages = body.get("messages")
    if isinstance(messages, list) and messages:
        return f"last message {_short(messages[-1])}{stream}"
    if "input" in body:
        return f"input {_short(body['input'])}{stream}"
    return ""


def _short(value: Any, limit: int = 200) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- options, marker, report ------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockllm", "mock LLM server")
    group.addoption(
        "--mockllm-config",
        dest="mockllm_config",
        metavar="PATH",
        default=None,
        help="JSON config served to every test's mockllm fixtures unless a mockllm marker names another.",
    )
    parser.addini(
        "mockllm_config",
        help="JSON config (relative to the ini file) served by default to the mockllm fixtures.",
        default=None,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockllm(config): serve this JSON config file (path relative to the test file or the rootdir), "
        "Config or builder to the test's mockllm fixtures instead of the session default.",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for fixture in item.stash.get(_ACTIVE, []):
            # "No requests" explains a failed test body; after a failed fixture it is only noise.
            if report.when == "call" or fixture.requests:
                report.sections.append(("mockllm requests", fixture.describe_requests()))
    return report


# --- config sources ---------------------------------------------------------------------------


def _load(config: pytest.Config, path: Path) -> Config:
    # Files are loaded once per session: the same marker on many tests costs one parse.
    loaded = config.stash.setdefault(_LOADED, {})
    key = path.resolve()
    if key not in loaded:
        from .config import load_config

        loaded[key] = load_config(key)
    return loaded[key]


def _default_config_path(config: pytest.Config) -> Path | None:
    option: str | None = config.getoption("mockllm_config")
    if option:
        return config.invocation_params.dir / option
    ini: str | None = config.getini("mockllm_config")
    if ini:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return base / ini
    return None


def _marker_config(request: pytest.FixtureRequest, default: Config | None) -> Config | None:
    marker = request.node.get_closest_marker(_MARKER)
    if marker is None:
        return default
    if marker.args or set(marker.kwargs) != {"config"}:
        pytest.fail(
            f"@pytest.mark.{_MARKER} takes one keyword argument, config=<path, Config or builder>;"
            f" got args={marker.args!r} kwargs={marker.kwargs!r}",
            pytrace=False,
        )
    from .config import Config
    from .server import SupportsBuild

    source = marker.kwargs["config"]
    if source is None or isinstance(source, Config):
        return source
    if isinstance(source, SupportsBuild):
        return source.build()
    if not isinstance(source, str | Path):
        pytest.fail(f"@pytest.mark.{_MARKER}(config=...) got a {type(source).__name__}", pytrace=False)
    path = Path(source)
    candidates = (
        [path] if path.is_absolute() else [request.path.parent / path, request.config.rootpath / path]
    )
    for candidate in candidates:
        if candidate.is_file():
            return _load(request.config, candidate)
    tried = ", ".join(str(c) for c in candidates)
    pytest.fail(
        f"@pytest.mark.{_MARKER}: config file {str(source)!r} not found (tried {tried})", pytrace=False
    )


def _register(request: pytest.FixtureRequest, fixture: MockLLM) -> None:
    request.node.stash.setdefault(_ACTIVE, []).append(fixture)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mockllm_default_config(pytestconfig: pytest.Config) -> Config | None:
    """The session's default config (``--mockllm-config`` or ini ``mockllm_config``), or None."""
    path = _default_config_path(pytestconfig)
    return None if path is None else _load(pytestconfig, path)


@pytest.fixture(scope="session")
def mockllm_server() -> Iterator[MockServer]:
    """One server for the session, on its own thread, so sync and async tests alike can reach it.

    Under xdist every worker is its own session, so each gets its own server and port.
    """
    from .server import MockServer

    server = MockServer().start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture
def mockllm(
    request: pytest.FixtureRequest, mockllm_server: MockServer, mockllm_default_config: Config | None
) -> MockLLM:
    """The shared server with no mocks but this test's (and the configured defaults), no requests."""
    fixture = MockLLM(mockllm_server, _marker_config(request, mockllm_default_config))
    _register(request, fixture)
    return fixture


@pytest.fixture
def mockllm_env(mockllm: MockLLM, monkeypatch: pytest.MonkeyPatch) -> MockLLM:
    """``mockllm``, with the SDKs' environment variables pointing at it for the test.

    Code that builds its own ``openai.OpenAI()`` or ``anthropic.Anthropic()`` reaches the mock.
    """
    for name, value in mockllm.env.items():
        monkeypatch.setenv(name, value)
    return mockllm


def _asyncio_fixture(func: Callable[..., Any]) -> Any:
    # pytest-asyncio is a test-time dependency of the user's project, not of this package: the
    # plugin must still load without it.
    try:
        import pytest_asyncio
    except ImportError:
        return pytest.fixture(func)
    return pytest_asyncio.fixture(func)


def _asyncio_ini(config: pytest.Config, name: str) -> str:
    """A pytest-asyncio ini option, or "" when unset or unknown to the installed version.

    ``asyncio_default_test_loop_scope`` only exists from pytest-asyncio 0.26 on; before that every
    unmarked test runs on the function-scoped loop, which "" (read as "function") stands for.
    """
    try:
        value = config.getini(name)
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


def _loop_scope_mismatch(request: pytest.FixtureRequest) -> str | None:
    """Why this fixture's loop would not be the test's, or None.

    The server listens on the loop the fixture runs in; when the test runs on another loop, that
    one is idle during the test and every request would hang instead of failing.
    """
    function = getattr(request.node, "function", None)
    if not inspect.iscoroutinefunction(function):
        return "mockllm_async serves from the test's event loop, so the test must be async (use mockllm)"
    config = request.config
    fixture_scope = _asyncio_ini(config, "asyncio_default_fixture_loop_scope") or "function"
    if fixture_scope == "fixture-scope":
        fixture_scope = "function"
    marker = request.node.get_closest_marker("asyncio")
    kwargs = marker.kwargs if marker is not None else {}
    test_scope = (
        kwargs.get("loop_scope")
        or kwargs.get("scope")
        or _asyncio_ini(config, "asyncio_default_test_loop_scope")
        or "function"
    )
    if test_scope != fixture_scope:
        return (
            f"mockllm_async runs on the {fixture_scope}-scoped event loop but this test runs on the"
            f" {test_scope}-scoped one; use the thread-backed mockllm fixture, or start a MockServer"
            " in the test with `async with MockServer(...)`"
        )
    return None


@_asyncio_fixture
async def mockllm_async(
    request: pytest.FixtureRequest, mockllm_default_config: Config | None
) -> AsyncIterator[MockLLM]:
    """A server of the test's own, started in the test's running event loop (pytest-asyncio)."""
    problem = _loop_scope_mismatch(request)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    base = _marker_config(request, mockllm_default_config)
    from .server import MockServer

    server = await MockServer().start()
    try:
        fixture = MockLLM(server, base)
        _register(request, fixture)
        yield fixture
    finally:
        await server.stop()
