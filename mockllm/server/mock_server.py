"""`MockServer`: a real HTTP server on loopback, in the running event loop or in its own thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sanic import Sanic

from ..anthropic.provider import ANTHROPIC
from ..bedrock.provider import BEDROCK
from ..config import Config, Timing, default_timing
from ..contract.guard import ContractMode, Guard
from ..gemini.provider import GEMINI
from ..ollama.provider import OLLAMA
from ..openai.provider import OPENAI
from .admin import AdminAccess
from .app import create_app
from .chaos import Chaos, ChaosDice, chaos_of
from .journal import Journal
from .runtime import Runtime
from .sanic_internals import LISTEN_BACKLOG, Serving, start_serving, stop_serving
from .served import ConfigSource, ServedMocks, SupportsBuild, SupportsChangeListener
from .state import DEFAULT_NAMESPACE, SharedState, StoreDown, open_state

if TYPE_CHECKING:
    from .recorder import Recorder, Recording

__all__ = ["ConfigSource", "MockServer", "SupportsBuild", "SupportsChangeListener", "listening_socket"]


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when present (Sanic installs it where it builds): it serves about half again as
    many requests per second as asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def run(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` on the fastest available loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main)


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind first and hand Sanic the socket: given port=0, Sanic would listen on 8000."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _built(config: Config | SupportsBuild) -> Config:
    return config if isinstance(config, Config) else config.build()


def _recorder(record: Recording) -> Recorder:
    from .recorder import Recorder  # only a recording server pays for the proxy

    return Recorder(record)


class MockServer:
    """Serve a config on ``http://host:port``; port 0 picks a free port.

    From sync code the server runs its own event loop in a daemon thread, for as long as the
    ``with`` block runs::

        with MockServer(config) as server:
            client = openai.OpenAI(base_url=server.openai_base_url, api_key="test")

    (``server = MockServer(config).start_in_thread()`` and ``server.stop_thread()`` do the same
    where a ``with`` block does not fit, such as a fixture's setup and teardown.) In async code
    it runs in the running event loop::

        async with MockServer(config) as server:
            client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test")

    Args:
        config: a `Config`, a builder (followed as it changes), a path to a JSON config, or None.
        host: the address to listen on.
        port: the port; 0 picks a free one.
        touchup: let Sanic recompile its request handling for speed. It rewrites Sanic's shared
            classes, so only the one server of a process may ask for it (``mockllm serve`` does).
        journal_size: how many requests `journal` keeps; 0 keeps none and skips the bookkeeping.
        journal_body_bytes: a request body larger than this is journalled as a `TruncatedBody`
            (its size and first bytes) rather than parsed JSON; None keeps every body whole.
        admin_token: require ``Authorization: Bearer <admin_token>`` on the admin API under
            ``/__mockllm/`` and let any client use it; without it, only loopback clients may.
        admin_refusal: answer every admin request with a 409 giving this reason (``mockllm serve
            --workers N`` does, as each process would keep its own mocks and counts).
        config_name: what errors in a config given as an object call it, such as the file it was
            loaded from (a config given as a path is called by its path).
        timing: the ``timing`` (a `Timing` or its JSON keys) of every mock that has none of its
            own, such as ``{"ttft_ms": 200, "chunk_interval_ms": 20}``; raises `ConfigError` for a
            bad value. Without it, such mocks answer at once.
        chaos: the share of matched requests that fail (a `Chaos` or its fields, such as
            ``{"error_rate": 0.05, "seed": 1}``); raises `ConfigError` for a bad value. A request's
            ``x-mockllm-chaos`` header sets the rates of that request instead.
        record: forward the requests no mock matches to the real APIs, and record them to a
            cassette file (a `Recording`; ``Recording(path=None, ...)`` passes them through
            without saving). Without it, such requests get the usual 404.
        contract: what the contract guard does with an answer that does not fit its request (a
            tool the request does not declare, arguments off the tool's schema, …): ``"warn"``
            journals each problem in the entry's ``contract`` and logs it once per mock and rule;
            ``"error"`` answers such a request with a 400 in the provider's shape listing them;
            ``"off"`` checks nothing.
        state: share call counts, ``times`` budgets, sequence positions and scenario states with
            every server pointed at the same store: a URL such as ``"redis://127.0.0.1:6379/0"``
            (needs the ``redis`` extra). Without it they live in this process. Raises ValueError
            for a URL of no known store.
        state_namespace: the prefix of the server's keys in the store: servers of one namespace
            share their state, and no other's.
    """

    def __init__(
        self,
        config: ConfigSource = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        touchup: bool = False,
        journal_size: int = 10_000,
        journal_body_bytes: int | None = None,
        config_name: str = "<config>",
        timing: Timing | Mapping[str, Any] | None = None,
        chaos: Chaos | Mapping[str, Any] | None = None,
        admin_token: str | None = None,
        admin_refusal: str | None = None,
        record: Recording | None = None,
        contract: ContractMode | str = ContractMode.WARN,
        state: str | None = None,
        state_namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        self._recorder: Recorder | None = None
        self._state = None if state is None else open_state(state, state_namespace)
        if contract not in set(ContractMode):
            modes = ", ".join(f'"{mode}"' for mode in ContractMode)
            raise ValueError(f"MockServer: contract takes {modes}, got {contract!r}")
        mode = ContractMode(contract)
        self._guard = Guard(mode) if mode is not ContractMode.OFF else None
        self._closing: set[asyncio.Task[None]] = set()
        if record is not None:
            self._recorder = _recorder(record)
        self.journal = Journal(journal_size, max_body_bytes=journal_body_bytes)
        self._chaos = ChaosDice(chaos_of(chaos))
        self._served = ServedMocks(
            config,
            name=config_name,
            timing=default_timing(timing),
            journal=self.journal,
            chaos=self._chaos,
            state=self._state,
        )
        self.host = host
        self._requested_port = port
        self._admin = AdminAccess(admin_token, admin_refusal, host)
        self._touchup = touchup
        self._app: Sanic[Any, Any] | None = None
        self._server: Serving | None = None
        self._sock: socket.socket | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- addresses ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For ``openai.OpenAI(base_url=...)``: the OpenAI SDK's paths are relative to ``/v1``."""
        return OPENAI.base_url(self.url)

    @property
    def anthropic_base_url(self) -> str:
        """For ``anthropic.Anthropic(base_url=...)``: its paths already start with ``/v1``."""
        return ANTHROPIC.base_url(self.url)

    @property
    def bedrock_endpoint_url(self) -> str:
        """For ``boto3.client("bedrock-runtime", endpoint_url=...)`` and
        ``anthropic.AnthropicBedrock(base_url=...)``."""
        return BEDROCK.base_url(self.url)

    @property
    def ollama_host(self) -> str:
        """For ``ollama.Client(host=...)`` (and ``OLLAMA_HOST``)."""
        return OLLAMA.base_url(self.url)

    @property
    def gemini_base_url(self) -> str:
        """For ``genai.Client(api_key=..., http_options={"base_url": ...})`` (Vertex AI mode too:
        ``vertexai=True`` with a project and location)."""
        return GEMINI.base_url(self.url)

    @property
    def azure_endpoint(self) -> str:
        """For ``openai.AzureOpenAI(azure_endpoint=..., api_version=...)``, which adds ``/openai``;
        Azure's v1 API is ``openai.OpenAI(base_url=server.azure_endpoint + "/openai/v1")``."""
        return self.url

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- mocks ----------------------------------------------------------------------------------

    @property
    def admin_access(self) -> AdminAccess:
        """Who may use the admin API (and the trace viewer) of this server."""
        return self._admin

    @property
    def config(self) -> Config:
        """The config served now (a builder's mocks as of now)."""
        return self._served.current().config

    def set_config(self, config: ConfigSource) -> None:
        """Replace the mocks; the next request sees the new ones. Call counts of the mocks that
        stay are kept.

        A source that has ``add_change_listener`` (a builder) is followed: a mock registered on it
        answers the next request.
        """
        self._served.set_source(config)

    async def set_config_off_loop(self, config: ConfigSource) -> None:
        """`set_config` for a running server, from its event loop: the config is read and compiled
        in a worker thread (a file of 100,000 mocks takes seconds), while the server goes on
        answering with the old mocks, then swapped in on the loop in one step. Mocks changed at run
        time meanwhile (the admin API) stay changed. Raises `ConfigError`, and keeps the old mocks,
        when it cannot be served."""
        await self._served.set_source_off_loop(config)

    def reload(self) -> None:
        """Rebuild the mocks from the current source (a builder, a file or a `Config`). Mocks
        added, replaced or removed at run time stay so."""
        self._served.reload()

    # --- changes at run time (what the admin API does) --------------------------------------------

    def add_mocks(self, config: Config | SupportsBuild) -> None:
        """Serve the mocks of ``config`` too, each after the mocks of its API, until `reset`.
        Raises `ConfigError` for a mock that cannot be served, and changes nothing then."""
        self._served.add(_built(config))

    def replace_mocks(self, config: Config | SupportsBuild) -> None:
        """Serve the mocks of ``config`` instead of every mock, until `reset`; mocks that did not
        change keep their call counts. Raises like `add_mocks`."""
        self._served.replace(_built(config))

    def clear_mocks(self) -> None:
        """Serve no mocks, until `reset`."""
        self._served.clear()

    def remove_mocks(self, label: str) -> int:
        """Stop serving every mock labelled ``label`` (its name, else ``api[index]``), until
        `reset`; returns how many there were."""
        return self._served.remove(label)

    # --- behaviour over time --------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        """Call counts per mock and scenario states (`Runtime`)."""
        return self._served.runtime

    @property
    def scenarios(self) -> dict[str, str]:
        """The state of every scenario that left ``"Started"`` (in this process: with a shared
        store, ask the admin API, which reads the store)."""
        return self._served.runtime.scenarios

    @property
    def state(self) -> SharedState | None:
        """The store the server shares its state through, or None."""
        return self._state

    def set_scenario_state(self, scenario: str, state: str) -> None:
        """Move a scenario to ``state`` (``"Started"`` puts it back at the start)."""
        self._served.runtime.set_state(scenario, state)

    @property
    def chaos(self) -> Chaos | None:
        """The server-wide chaos (`Chaos`), or None."""
        return self._chaos.chaos

    def reset(self) -> None:
        """Forget call counts, scenario states, the journal and the mocks changed at run time
        (`add_mocks`, the admin API), and start the chaos draws again from their seed; the mocks of
        the config source stay. With a shared store, its counts and states are reset too, for
        every server that shares it (from the server's thread; async code resets through the admin
        API, ``POST /__mockllm/reset``)."""
        self._served.reset()
        if self._state is not None:
            loop = self._loop if self._thread is not None else None
            if loop is None or threading.current_thread() is self._thread:
                raise RuntimeError(
                    "MockServer.reset: a server with a shared store resets it on its own loop: "
                    "start it with start_in_thread(), or POST /__mockllm/reset"
                )
            asyncio.run_coroutine_threadsafe(self._state.reset(), loop).result(timeout=10)

    # --- record and replay ------------------------------------------------------------------------

    @property
    def recorder(self) -> Recorder | None:
        """What forwards and records the requests no mock matches, or None (they get a 404)."""
        return self._recorder

    def set_recording(self, record: Recording | None) -> Recorder | None:
        """Start forwarding (and recording) the requests no mock matches, or stop with None, from the
        next request on; returns the new recorder. Raises `ConfigError` for an upstream that is
        this server. The previous recorder's connections are closed on the server's loop."""
        recorder = None if record is None else _recorder(record)
        if recorder is not None and self._port is not None:
            recorder.refuse_self(self.host, self._port)
        previous, self._recorder = self._recorder, recorder
        if self._app is not None:
            self._app.ctx.recorder = recorder
        if previous is not None:
            self._close_soon(previous)
        return recorder

    def _close_soon(self, recorder: Recorder) -> None:
        loop = self._loop if self._thread is not None else None
        if loop is not None and loop.is_running() and threading.current_thread() is not self._thread:
            with contextlib.suppress(RuntimeError):  # the loop is closing: so are its connections
                asyncio.run_coroutine_threadsafe(recorder.aclose(), loop).result(timeout=10)
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nothing was ever connected on one
            task = asyncio.get_running_loop().create_task(recorder.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    # --- async lifecycle ------------------------------------------------------------------------

    async def start(self, *, sock: socket.socket | None = None) -> Self:
        """Listen and serve. ``sock``: an already bound, listening socket to serve on instead
        (``mockllm serve --workers`` shares one between processes)."""
        if self._server is not None:
            return self
        if sock is None:
            sock = listening_socket(self.host, self._requested_port)
        try:
            if self._state is not None and self._served.shared is not None:
                await self._state.start(self.journal, self._served.shared.catch_up)
                # A replica that joins serves the mocks the others were given at run time.
                with contextlib.suppress(StoreDown):
                    await self._served.shared.catch_up()
            port = sock.getsockname()[1]
            if self._recorder is not None:
                self._recorder.refuse_self(self.host, port)
            app = create_app(
                self._served,
                self.journal,
                touchup=self._touchup,
                chaos=self._chaos,
                guard=self._guard,
                admin=self._admin,
                recorder=self._recorder,
            )
            server = await start_serving(app, sock)
        except BaseException:
            sock.close()
            raise
        self._app, self._server, self._sock = app, server, sock
        self._port = sock.getsockname()[1]
        return self

    async def stop(self) -> None:
        server, app, sock = self._server, self._app, self._sock
        if server is None or app is None:
            return
        self._server = None
        try:
            await stop_serving(app, server)
            if self._recorder is not None:
                await self._recorder.aclose()
            if self._state is not None:
                await self._state.close()
        finally:
            if sock is not None:
                sock.close()
            self._sock = None
            self._app = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- thread lifecycle -----------------------------------------------------------------------

    def start_in_thread(self) -> Self:
        """Run the server on its own event loop in a daemon thread; returns once it listens."""
        if self._thread is not None:
            return self
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                loop.close()

        thread = threading.Thread(target=run, name="mockllm-server", daemon=True)
        thread.start()
        started.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread = thread
        return self

    def stop_thread(self) -> None:
        """Stop a server started with `start_in_thread` and wait until its port is released."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._thread = None
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join()

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_thread()
