"""The parts of Sanic that mockllm uses beyond its documented app API, in one place.

Embedding Sanic in a test process, many servers at once and each started and stopped in
milliseconds, needs its lower layers: an app that leaves the host's logging alone, the asyncio
server behind ``create_server``, the protocol factory it gives the loop, its open connections at
shutdown, its HTTP/1.1 protocol (to read request heads whose lines end in a bare LF), and the
transport of a connection that a fault drops. A Sanic release that changes one of these is fixed
here alone; ``pyproject.toml`` caps Sanic at the releases the tests prove.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import socket
import time
from typing import Any, NamedTuple, NoReturn

from sanic import HTTPResponse, Request, Sanic
from sanic.application.state import ApplicationServerInfo
from sanic.exceptions import BadRequest, RequestTimeout
from sanic.http import Http, Stage
from sanic.http.constants import HTTP
from sanic.models.server_types import Signal
from sanic.server.protocols.http_protocol import HttpProtocol

from .acceptor import Acceptor

__all__ = [
    "LISTEN_BACKLOG",
    "OwnHeadersResponse",
    "Serving",
    "abort",
    "aborted",
    "new_app",
    "start_serving",
    "stop_serving",
]

LISTEN_BACKLOG = 1024
"""Connections the kernel queues before they are accepted."""

# How long a client may hold a connection without finishing a request. An answer is never cut by
# these: a paced one may pause for as long as its timing says (see `mockllm.server.app`).
IDLE_TIMEOUT = 30.0
"""Seconds a connection may stay silent before its first request, or between two (Sanic's 120 held
a connection that never sent a byte for two minutes). The SDKs' HTTP clients drop idle connections
sooner themselves (httpx after 5 s, Node's after 4)."""
HEAD_TIMEOUT = 10.0
"""Seconds a request head may take, from its first byte to its end. Sanic's request timeout starts
again with each byte, so a head sent a byte every few seconds was read for ever."""
REQUEST_TIMEOUT = 30.0
"""Seconds a request's head or body may stop arriving before the connection is cut."""


def new_app(name: str, *, touchup: bool, max_body_bytes: int) -> Sanic[Any, Any]:
    """An app that reads no ``SANIC_*`` variables, configures no logging and logs no access.

    ``touchup`` lets Sanic recompile its request handling without the signal dispatches this app
    does not use (about 1.7 times the requests per second). It rewrites methods on Sanic's shared
    classes, so it is only safe for the one app of a process.
    """
    app: Sanic[Any, Any] = Sanic(name, configure_logging=False, env_prefix="MOCKLLM_SANIC_")
    app.config.TOUCHUP = touchup
    if touchup:
        # Sanic adds an "alt-svc" header to every response until its touchup learns the server
        # speaks one HTTP version; create_server never tells it, so say it here.
        app.state.server_info.append(ApplicationServerInfo(settings={"version": HTTP.VERSION_1}))
    app.config.ACCESS_LOG = False
    app.config.REQUEST_MAX_SIZE = max_body_bytes
    app.config.KEEP_ALIVE_TIMEOUT = IDLE_TIMEOUT
    app.config.REQUEST_TIMEOUT = REQUEST_TIMEOUT
    app.config.MOCKLLM_HEAD_TIMEOUT = HEAD_TIMEOUT
    return app


_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")


def _mend_head(buffer: bytearray) -> None:
    """Rewrite a request head at the start of ``buffer`` whose lines end in a bare LF with CRLFs.

    Sanic finds the end of a head by CRLF CRLF alone, so such a head (which RFC 9112 §2.2 lets a
    server accept) waited for the request timeout.
    """
    if b"\n\n" not in buffer:  # the usual case, CRLF lines: one scan of a short buffer
        return
    end = _HEAD_END.search(buffer)
    if end is not None and end.end() - end.start() < 4:  # the first blank line is not CRLF CRLF
        buffer[: end.end()] = _LINE_END.sub(b"\r\n", buffer[: end.start()]) + b"\r\n\r\n"


class _Http(Http):
    """Sanic's HTTP/1.1 request cycle, mending a bare-LF head that came in behind the previous
    request on the same connection (pipelined) before it reads it, giving a head `HEAD_TIMEOUT`
    seconds to arrive whole, and answering a request target that is no URL at all with its 400."""

    __slots__ = ()

    def init_for_request(self) -> None:
        super().init_for_request()  # type: ignore[no-untyped-call]
        if self.recv_buffer:
            _mend_head(self.recv_buffer)

    async def http1_request_header(self) -> None:
        if b"\r\n\r\n" in self.recv_buffer:  # the usual case: the whole head came in one read
            await super().http1_request_header()  # type: ignore[no-untyped-call]
            return
        try:
            async with asyncio.timeout(self.protocol.app.config.MOCKLLM_HEAD_TIMEOUT):
                await super().http1_request_header()  # type: ignore[no-untyped-call]
        except TimeoutError:
            raise RequestTimeout("Request Timeout") from None

    async def http1_response_header(self, data: bytes, end_stream: bool) -> None:
        # An answer in one piece whose headers are all the server's own: its head from the
        # template, written with the body in one send, as Sanic's own code below does it.
        response = self.response
        if (
            type(response) is OwnHeadersResponse
            and not data
            and response.body
            and not self.head_only
            and not self.expecting_continue
            and not self.protocol.access_log
        ):
            body = response.body
            self.response_size = len(body)
            self.response_func = None  # type: ignore[assignment]
            head = response.heads[0 if self.keep_alive else 1]
            await self._send(head % len(body) + body)
            self.stage = Stage.IDLE
            return
        await super().http1_response_header(data, end_stream)

    def create_empty_request(self) -> None:
        # Sanic answers a bad request line through a stand-in request named by the target. A target
        # that is not a URL even escaped (``GET \xcd HTTP/1.1``) failed that too: the client got no
        # answer and the log a traceback. Its stand-in is named "*" instead.
        try:
            super().create_empty_request()
        except BadRequest:
            self.url = None
            super().create_empty_request()


class _Protocol(HttpProtocol):
    """Sanic's HTTP/1.1 protocol, mending a bare-LF request head as its bytes arrive, and cutting a
    request body that stops arriving for `REQUEST_TIMEOUT` seconds."""

    __slots__ = ()
    HTTP_CLASS = _Http

    async def receive_more(self) -> None:
        # Sanic reads a body in the handler's stage, where only its response timeout runs: long, as
        # a paced answer may pause for minutes. A body that stops arriving gets the request's.
        http = getattr(self, "_http", None)
        if http is None or http.stage is not Stage.HANDLER:
            await super().receive_more()  # type: ignore[no-untyped-call]
            return
        try:
            async with asyncio.timeout(self.app.config.REQUEST_TIMEOUT):
                await super().receive_more()  # type: ignore[no-untyped-call]
        except TimeoutError:
            http.keep_alive = False  # the rest of the body will not come: no next request either
            raise RequestTimeout("Request Timeout") from None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Only while a head is read (or before the connection's first request): a body may hold
        # blank lines of its own.
        http = getattr(self, "_http", None)
        if http is None or http.stage in _HEAD_STAGES:
            _mend_head(self.recv_buffer)


_HEAD_STAGES = (Stage.IDLE, Stage.REQUEST)


async def start_serving(app: Sanic[Any, Any], sock: socket.socket) -> Serving:
    """Serve ``app`` on a bound, listening socket in the running loop; returns a handle for
    `stop_serving`."""
    server: Any = await app.create_server(
        sock=sock,
        protocol=_Protocol,
        # Where the loop accepts (see below), it listens on the socket again with this backlog:
        # Sanic's default of 100 dropped connections (the kernel retries them a second later)
        # when a load test opens hundreds.
        backlog=LISTEN_BACKLOG,
        return_asyncio_server=True,
        asyncio_server_kwargs={"start_serving": False},
    )
    if server is None:
        raise RuntimeError("Sanic did not create a server")
    await server.startup()
    await server.before_start()
    # The protocol factory Sanic's `serve` gives the loop, made again: connections are accepted
    # by an `Acceptor`, not by the loop, and the asyncio server never starts listening.
    protocol = functools.partial(
        _Protocol,
        loop=asyncio.get_running_loop(),
        connections=server.connections,
        signal=Signal(),
        app=app,
        state=None,
        unix=None,
    )
    acceptor = Acceptor(sock, protocol)
    if not acceptor.start():
        await server.start_serving()
    try:
        await server.after_start()
    except BaseException:
        acceptor.stop()  # the caller closes the socket: nothing may watch it then
        raise
    return Serving(server, acceptor)


_HEADS: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[bytes, bytes]] = {}
"""The head templates of `OwnHeadersResponse`, per content type and headers (a handful)."""


def _heads(content_type: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
    lines = [f"content-type: {content_type}", *(f"{name}: {value}" for name, value in headers.items())]
    fixed = "".join(f"{line}\r\n" for line in lines).replace("%", "%%").encode()
    start = b"HTTP/1.1 200 OK\r\n" + fixed + b"content-length: %d\r\nconnection: "
    return start + b"keep-alive\r\n\r\n", start + b"close\r\n\r\n"


class OwnHeadersResponse(HTTPResponse):
    """A 200 answer in one piece whose every header is the server's own (its content type, a
    stream's ``cache-control``, the length and the connection): its head is written from a
    template made once per content type and headers (`_Http.http1_response_header`), not header
    by header through Sanic's escaping, which cost about a tenth of a plain answer's time. Never
    for a header a config or a request gave: those go in a plain `HTTPResponse`."""

    __slots__ = ("heads",)

    def __init__(self, body: bytes, *, content_type: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(body, content_type=content_type, headers=headers)
        key = (content_type, tuple(headers.items()) if headers else ())
        heads = _HEADS.get(key)
        if heads is None:
            heads = _HEADS[key] = _heads(content_type, headers or {})
        self.heads = heads
        """The head for a connection kept alive, and for one that closes: ``%d`` for the length."""


class Serving(NamedTuple):
    """A served app, as `start_serving` left it for `stop_serving`."""

    server: Any
    """Sanic's server handle."""
    acceptor: Acceptor


async def stop_serving(app: Sanic[Any, Any], serving: Serving) -> None:
    """Stop listening, close every connection (keep-alive ones would hold the port) and forget
    the app, so that its name and port can be used again."""
    server = serving.server
    try:
        await server.before_stop()
        serving.acceptor.stop()
        server.server.close()
        for connection in list(server.connections):
            connection.close_if_idle()
        for _ in range(50):
            if not server.connections:
                break
            await asyncio.sleep(0.01)
        for connection in list(server.connections):
            connection.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout=1)
        await server.after_stop()
    finally:
        Sanic.unregister_app(app)


def abort(request: Request) -> NoReturn:
    """Close the connection at once, as a dropped network does: no further bytes, no end of the
    chunked body; then end the handler.

    The protocol forgets its transport, and the CancelledError takes Sanic's "transport is closed"
    path, which ends the request quietly: returning would make Sanic answer (and log) a 500 for a
    handler that produced no response."""
    request.ctx.mockllm_aborted = True  # for `aborted`: the server, not the client, closed it
    request.protocol.abort()  # type: ignore[attr-defined]  # Sanic's HttpProtocol has it
    raise asyncio.CancelledError


def aborted(request: Request) -> bool:
    """Whether `abort` closed the connection of ``request`` (rather than the client)."""
    return getattr(request.ctx, "mockllm_aborted", False) is True


def write_chunk(request: Request, data: bytes) -> bool:
    """Write ``data`` as one chunk of ``request``'s streaming response, straight to the connection;
    False, having written nothing, when it must go through ``await response.send`` instead.

    Sanic's ``send`` dispatches a lifecycle signal and passes through three coroutines on every
    write, which is most of a paced stream's cost per event. This is the same write without them:
    the chunk framing Sanic's ``http1_response_chunked`` uses, and the response timeout clock moved
    on as its ``send`` does. Only for a chunked response whose head was already sent (after its
    first ``send``), and only while the connection takes writes without waiting (not paused for
    backpressure, not closing): otherwise the caller awaits ``send``, which waits or raises as
    Sanic does.
    """
    protocol: Any = request.protocol  # None once the connection is gone
    http: Any = request.stream
    if (
        protocol is None
        or getattr(http.response_func, "__func__", None) is not Http.http1_response_chunked
        or not protocol._can_write.is_set()
        or protocol.transport is None
        or protocol.transport.is_closing()
    ):
        return False
    protocol.transport.write(b"%x\r\n%b\r\n" % (len(data), data))
    protocol._time = time.monotonic()
    return True
