"""pytest fixtures: a mock LLM server per session, and a clean set of mocks for every test.

Registered through the ``pytest11`` entry point, so installing the package is enough.

=========================  ========  ===================================================================
fixture                    scope     what it gives
=========================  ========  ===================================================================
``mockllm``                function  `MockLLM` on the session's threaded server: no mocks, empty journal
``mockllm_async``          function  `MockLLM` on a server started in the test's running event loop
``mockllm_env``            function  ``mockllm``, with the SDKs' environment variables set
``mockllm_examples``       session   `Examples`: a fresh `MockLLM` for each example of a ``@given`` test
``mockllm_server``         session   the shared thread-backed `MockServer` (override to change it)
``mockllm_default_config`` session   the ``--mockllm-config`` / ini ``mockllm_config`` file, loaded
=========================  ========  ===================================================================

``@pytest.mark.mockllm(config="path.json")`` serves a file (or a `Config`, or a builder) to a test,
class or module instead of the session default. A failed test's report gets a section listing the
requests the server saw and, for those that matched nothing, why.

``@pytest.mark.mockllm(cassette="cassettes/test_x.json")`` serves a recorded cassette (path relative
to the test file) to the test, offline; a missing cassette fails the test with how to record it.
``--mockllm-record`` (re)records the cassettes of the selected tests instead: what no mock matches
is forwarded to the real APIs (``MOCKLLM_OPENAI_UPSTREAM`` / ``MOCKLLM_ANTHROPIC_UPSTREAM``, by
default the official URLs; keys from ``MOCKLLM_OPENAI_API_KEY`` / ``MOCKLLM_ANTHROPIC_API_KEY`` or
``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``) and written to the cassette.

Strict mode (``@pytest.mark.mockllm(strict=True)``, ini ``mockllm_strict``, ``--mockllm-strict``)
fails a test at teardown when a request reached no mock (no match, bad input, a server error),
even when the code under test swallowed the SDK's exception, or when an answer did not fit its
request (the contract guard's problems: a tool the request does not declare, arguments off the
tool's schema, …); ``strict="all"`` also fails it when a
mock registered in the test was never called. A test that failed already is not checked again.

A failed test that used a fixture leaves a trace file: the trace viewer's page with the test's
requests embedded, ``.mockllm/traces/<test id>.html`` under the rootdir, whose path its report
prints. ``--mockllm-trace=off|on|retain-on-failure`` (ini ``mockllm_trace``, default
``retain-on-failure``): ``on`` writes one for every test that used a fixture. A run starts by
removing the last run's traces.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import pytest

if TYPE_CHECKING:
    from .config import Config
    from .mock_llm import ENV_API_KEY, ENV_API_VERSION, MockLLM
    from .server import MockServer, Recording

__all__ = ["ENV_API_KEY", "ENV_API_VERSION", "Examples", "MockLLM"]


def __getattr__(name: str) -> Any:
    # `MockLLM` needs the builders; importing them only when a test uses a fixture keeps a pytest
    # run of a project that merely installs mockllm from paying for them.
    if name in __all__:
        from . import mock_llm

        return getattr(mock_llm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_MARKER = "mockllm"
_ACTIVE = pytest.StashKey[list["MockLLM"]]()
_LOADED = pytest.StashKey["dict[Path, Config]"]()
_NOT_PASSED = pytest.StashKey[bool]()
"""Set on a test whose setup or body did not pass: its teardown checks nothing more."""
_STRICT_FAILED = pytest.StashKey[bool]()
"""Set when strict mode fails a test: its message holds the report already."""
_TRACED = pytest.StashKey[bool]()
"""Set once a test's trace file was written: a later phase rewrites it, and names it again only in
a failed phase's report."""
_TRACE_MODES: Final = ("off", "on", "retain-on-failure")

Strictness = bool | Literal["all"]
_STRICT_VALUES: Final[dict[str, Strictness]] = {
    "true": True,
    "1": True,
    "false": False,
    "0": False,
    "": False,
    "all": "all",
}


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
    group.addoption(
        "--mockllm-record",
        dest="mockllm_record",
        action="store_true",
        default=False,
        help="(Re)record the cassettes of the selected tests (mockllm marker's cassette=) against the "
        "real APIs: MOCKLLM_OPENAI_UPSTREAM / MOCKLLM_ANTHROPIC_UPSTREAM, keys from the environment.",
    )
    group.addoption(
        "--mockllm-strict",
        dest="mockllm_strict",
        action="store_true",
        default=False,
        help="Fail a test at teardown when a request reached no mock or the server failed on one.",
    )
    parser.addini(
        "mockllm_strict",
        help="true: fail a test at teardown when a request reached no mock or the server failed on "
        "one; all: also when a mock registered in the test was never called. Default false.",
        default="false",
    )
    group.addoption(
        "--mockllm-trace",
        dest="mockllm_trace",
        choices=_TRACE_MODES,
        default=None,
        help="Write a test's requests as an HTML trace (.mockllm/traces/<test id>.html): off, on (every "
        "test that used mockllm) or retain-on-failure (the default: failed tests only).",
    )
    parser.addini(
        "mockllm_trace",
        help="off, on or retain-on-failure (default): when a test leaves an HTML trace of its requests.",
        default="retain-on-failure",
    )


def pytest_configure(config: pytest.Config) -> None:
    _trace_mode(config)  # a bad ini value is a usage error at once
    config.addinivalue_line(
        "markers",
        "mockllm(config=None, strict=None, cassette=None): config: serve this JSON config file (path "
        "relative to the test file or the rootdir), Config or builder to the test's mockllm fixtures "
        "instead of the session default; strict: True, False or 'all' (see --mockllm-strict); "
        "cassette: replay this recorded file (relative to the test file), or record it with "
        "--mockllm-record.",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when != "teardown" and not report.passed:
        item.stash[_NOT_PASSED] = True
    if report.failed and not (report.when == "teardown" and item.stash.get(_STRICT_FAILED, False)):
        for fixture in item.stash.get(_ACTIVE, []):
            # "No requests" explains a failed test body; after a failed fixture it is only noise.
            if report.when == "call" or fixture.requests:
                report.sections.append(("mockllm requests", fixture.describe_requests()))
    if report.failed and report.when == "call":
        for value in getattr(item, "funcargs", {}).values():
            # Hypothesis runs the falsifying example last: its requests are the ones the server kept.
            if isinstance(value, Examples) and value.current is not None:
                section = "mockllm requests (the last example)"
                report.sections.append((section, value.current.describe_requests()))
    fixtures = item.stash.get(_ACTIVE, [])
    if fixtures:
        mode = _trace_mode(item.config)
        if (mode == "on" and report.when == "call") or (mode != "off" and report.failed):
            paths = _write_traces(item, fixtures)
            if report.failed or not item.stash.get(_TRACED, False):
                item.stash[_TRACED] = True
                listed = "\n".join(str(path) for path in paths)
                report.sections.append(("mockllm trace", f"open in a browser: {listed}"))
    return report


def pytest_sessionstart(session: pytest.Session) -> None:
    # The traces of the last run go, so that the folder holds this run's failures only (as a CI
    # job keeps it). Under xdist the controller does it once, before any worker starts.
    config = session.config
    if hasattr(config, "workerinput") or _trace_mode(config) == "off":
        return
    from .trace_file import TRACE_DIR

    directory = config.rootpath / TRACE_DIR
    if directory.is_dir():
        for old in directory.glob("*.html"):
            old.unlink(missing_ok=True)


def _trace_mode(config: pytest.Config) -> str:
    mode: str | None = config.getoption("mockllm_trace")
    if mode is None:
        mode = str(config.getini("mockllm_trace")).strip().lower()
        if mode not in _TRACE_MODES:
            raise pytest.UsageError(f"ini option mockllm_trace takes {', '.join(_TRACE_MODES)}; got {mode!r}")
    return mode


def _write_traces(item: pytest.Item, fixtures: list[MockLLM]) -> list[Path]:
    """Write the trace file of each fixture the test used (one file per test; a second fixture of
    the same test gets ``-2``), named after the test id, so xdist workers never write the same file."""
    from .trace_file import TRACE_DIR, trace_file_name, write_trace

    directory = item.config.rootpath / TRACE_DIR
    name = trace_file_name(item.nodeid)
    paths = []
    for number, fixture in enumerate(fixtures, 1):
        file = name if number == 1 else name.replace(".html", f"-{number}.html")
        paths.append(
            write_trace(directory / file, fixture.requests, fixture.server.config, title=item.nodeid)
        )
    return paths


# --- config sources ---------------------------------------------------------------------------


def _load(config: pytest.Config, path: Path) -> Config:
    # Files are loaded once per session: the same marker on many tests costs one parse.
    loaded = config.stash.setdefault(_LOADED, {})
    key = path.resolve()
    if key not in loaded:
        from .config import load_config
        from .server import CompiledConfig
        from .shadowing import unreachable_mocks

        loaded[key] = load_config(key)
        for where, message in unreachable_mocks(CompiledConfig.of(loaded[key], source=str(path))):
            warnings.warn(f"mockllm: {path}: {where}: {message}", stacklevel=1)
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


def _marker_kwarg(request: pytest.FixtureRequest, key: str) -> tuple[bool, Any]:
    """``(found, value)`` of ``key`` in the closest mockllm marker that gives it: a module can set
    the config and a test only ``strict``, or the other way round."""
    for marker in request.node.iter_markers(_MARKER):
        if marker.args or not set(marker.kwargs) <= {"config", "strict", "cassette"}:
            pytest.fail(
                f"@pytest.mark.{_MARKER} takes the keyword arguments config=<path, Config or builder>,"
                " strict=<True, False or 'all'> and cassette=<path>;"
                f" got args={marker.args!r} kwargs={marker.kwargs!r}",
                pytrace=False,
            )
        if key in marker.kwargs:
            return True, marker.kwargs[key]
    return False, None


def _marker_config(request: pytest.FixtureRequest, default: Config | None) -> Config | None:
    found, source = _marker_kwarg(request, "config")
    if not found:
        return default
    from .config import Config
    from .server import SupportsBuild

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


# --- cassettes ---------------------------------------------------------------------------------

RECORD_ENV: Final = "MOCKLLM_{PROVIDER}_UPSTREAM"
"""Where ``--mockllm-record`` reads each provider's upstream base URL from (``MOCKLLM_OPENAI_UPSTREAM``,
``MOCKLLM_ANTHROPIC_UPSTREAM``, ``MOCKLLM_GEMINI_UPSTREAM``); the official URL by default."""


def _cassette(request: pytest.FixtureRequest) -> Path | None:
    found, value = _marker_kwarg(request, "cassette")
    if not found or value is None:
        return None
    if not isinstance(value, str | Path):
        pytest.fail(f"@pytest.mark.{_MARKER}(cassette=...) takes a path, got {value!r}", pytrace=False)
    path = Path(value)
    return path if path.is_absolute() else request.path.parent / path


def _api_key(*names: str) -> str | None:
    from .mock_llm import ENV_API_KEY

    for name in names:
        value = os.environ.get(name)
        if value and value != ENV_API_KEY:  # not the dummy key mockllm_env hands out
            return value
    return None


def _recording(cassette: Path) -> Recording:
    from .server import Recording
    from .server.registry import PROVIDERS

    upstreams: dict[str, str] = {}
    keys: dict[str, str] = {}
    for provider in PROVIDERS:
        upstreams[provider.name] = (
            os.environ.get(RECORD_ENV.format(PROVIDER=provider.name.upper())) or provider.default_upstream
        )
        key = _api_key(*provider.key_env)
        if key is not None:
            keys[provider.name] = key
    return Recording(cassette, upstreams=upstreams, api_keys=keys, fresh=True)


@contextlib.contextmanager
def _cassette_served(
    request: pytest.FixtureRequest, server: MockServer, base: Config | None
) -> Iterator[Config | None]:
    """With a ``cassette`` marker: in record mode, ``server`` records into it for the test; else the
    cassette is the test's config (after ``base``). Gives the config the test is served."""
    cassette = _cassette(request)
    if cassette is None:
        yield base
        return
    if request.config.getoption("mockllm_record"):
        server.set_recording(_recording(cassette))
        try:
            yield base
        finally:
            server.set_recording(None)
        return
    if not cassette.is_file():
        pytest.fail(
            f"mockllm: cassette {cassette} not found. Record it against the real APIs with\n"
            f"    pytest --mockllm-record {request.node.nodeid}\n"
            f"(upstreams from {RECORD_ENV}, by default the official URLs; API keys from "
            "OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, …).",
            pytrace=False,
        )
    from .apis import APIS
    from .config import Config

    recorded = _load(request.config, cassette)
    if base is None:
        yield recorded
        return
    yield Config.of({spec.key: [*base.mocks(spec.key), *recorded.mocks(spec.key)] for spec in APIS})


def _register(request: pytest.FixtureRequest, fixture: MockLLM) -> None:
    request.node.stash.setdefault(_ACTIVE, []).append(fixture)


# --- strict mode ------------------------------------------------------------------------------


def _strictness(request: pytest.FixtureRequest) -> Strictness:
    """The marker's ``strict``, else ``--mockllm-strict``, else the ini option."""
    found, value = _marker_kwarg(request, "strict")
    if found:
        if isinstance(value, bool):
            return value
        if value == "all":
            return "all"
        pytest.fail(
            f"@pytest.mark.{_MARKER}(strict=...) takes True, False or 'all', got {value!r}", pytrace=False
        )
    config = request.config
    if config.getoption("mockllm_strict"):
        return True
    ini = str(config.getini("mockllm_strict")).strip().lower()
    if ini not in _STRICT_VALUES:
        pytest.fail(f"ini option mockllm_strict takes true, false or all, got {ini!r}", pytrace=False)
    return _STRICT_VALUES[ini]


def _check_replies(request: pytest.FixtureRequest, fixture: MockLLM) -> None:
    """At teardown: fail the test when a reply function raised (or returned what cannot be served),
    even when the code under test swallowed the SDK's 500."""
    from .server.programmed import failed_replies

    if request.node.stash.get(_NOT_PASSED, False):
        return
    failed = failed_replies(fixture.server.journal)
    if failed:
        request.node.stash[_STRICT_FAILED] = True
        details = "\n\n".join(record.error or "" for record in failed)
        pytest.fail(f"mockllm: {len(failed)} reply function call(s) failed:\n{details}", pytrace=False)


def _check_strict(request: pytest.FixtureRequest, fixture: MockLLM, strict: Strictness) -> None:
    """At teardown, in strict mode: fail the test for a request no mock answered (with the report),
    or whose answer did not fit it (a problem of the contract guard), and with ``"all"`` for a mock
    of the test that was never called."""
    item = request.node
    if not strict or item.stash.get(_NOT_PASSED, False):
        return
    problems = []
    unanswered = fixture.unmatched
    if unanswered:
        errors = sum(1 for record in unanswered if record.server_error)
        what = f"{len(unanswered)} request(s) reached no mock"
        problems.append(what + (f" ({errors} a server error)" if errors else ""))
    unfit = [record for record in fixture.server.journal if record.contract]
    if unfit:
        problems.append(f"{len(unfit)} answer(s) did not fit their request (the contract guard)")
    if strict == "all":
        idle = fixture.never_called()
        if idle:
            problems.append("mock(s) never called: " + ", ".join(f'"{label}"' for label in idle))
    if problems:
        item.stash[_STRICT_FAILED] = True
        pytest.fail(
            f"mockllm strict mode: {'; '.join(problems)}.\n{fixture.describe_requests()}", pytrace=False
        )


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
) -> Iterator[MockLLM]:
    """The shared server with no mocks but this test's (and the configured defaults), no requests."""
    from .mock_llm import MockLLM

    strict = _strictness(request)
    base = _marker_config(request, mockllm_default_config)
    with _cassette_served(request, mockllm_server, base) as config:
        fixture = MockLLM(mockllm_server, config)
        _register(request, fixture)
        yield fixture
        _check_replies(request, fixture)
        _check_strict(request, fixture, strict)


class Examples:
    """What ``mockllm_examples`` gives a ``@given`` test: `example` starts each example on the
    session's server with no mocks but the configured defaults, no counts, no scenario states and
    an empty journal. Session-scoped, so hypothesis's health check about function-scoped fixtures
    does not fire, and examples do not share what they registered or saw::

        @given(st.data())
        def test_agent(mockllm_examples, data):
            m = mockllm_examples.example()
            m.openai_chat().reply_drawn(data, strategies.replies())
            ...

    A markers' ``config`` does not apply (the fixture outlives the test); ``--mockllm-config``
    does. A failed test's report lists the requests of the last example run, the falsifying one.
    """

    def __init__(self, server: MockServer, base: Config | None) -> None:
        self._server = server
        self._base = base
        self.current: MockLLM | None = None
        """The `MockLLM` of the example running (or run last)."""

    def example(self) -> MockLLM:
        """A clean start for one example: its `MockLLM`."""
        from .mock_llm import MockLLM

        self.current = MockLLM(self._server, self._base)
        return self.current


@pytest.fixture(scope="session")
def mockllm_examples(mockllm_server: MockServer, mockllm_default_config: Config | None) -> Examples:
    """A fresh `MockLLM` per example of a ``@given`` test, on the session's server (`Examples`)."""
    return Examples(mockllm_server, mockllm_default_config)


@pytest.fixture
def mockllm_env(mockllm: MockLLM, monkeypatch: pytest.MonkeyPatch) -> MockLLM:
    """``mockllm``, with the SDKs' environment variables pointing at it for the test.

    Code that builds its own ``openai.OpenAI()``, ``anthropic.Anthropic()`` or ``genai.Client()``
    reaches the mock.
    """
    for name, value in mockllm.env.items():
        monkeypatch.setenv(name, value)
    for name in mockllm.env_removed:
        monkeypatch.delenv(name, raising=False)
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
    from .mock_llm import MockLLM
    from .server import MockServer

    strict = _strictness(request)
    server = await MockServer().start()
    try:
        with _cassette_served(request, server, base) as config:
            fixture = MockLLM(server, config)
            _register(request, fixture)
            yield fixture
            _check_replies(request, fixture)
            _check_strict(request, fixture, strict)
    finally:
        await server.stop()
