"""Accepting connections: a burst is taken in one wake-up, on uvloop as on asyncio's own loop; a
process out of file descriptors pauses instead of spinning; a server that fails to start accepts
nothing more."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

import pytest
from sanic import HTTPResponse, Request, Sanic

from mockllm.server.acceptor import RETRY_S, Acceptor
from mockllm.server.mock_server import listening_socket
from mockllm.server.sanic_internals import new_app, start_serving

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop comes with Sanic where it builds
    uvloop = None  # type: ignore[assignment]

LOOPS: list[Callable[[], asyncio.AbstractEventLoop]] = [asyncio.new_event_loop]
if uvloop is not None:
    LOOPS.append(uvloop.new_event_loop)

BURST = 20


def run(loop_factory: Callable[[], asyncio.AbstractEventLoop], main: Callable[[], object]) -> None:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())  # type: ignore[arg-type]


class Counted(asyncio.Protocol):
    """Notes the loop turn at which each connection was made."""

    made: list[int]
    turns: list[int]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(self.turns[0])
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        pass


@pytest.mark.parametrize("loop_factory", LOOPS, ids=lambda factory: factory.__module__.split(".")[0])
def test_a_burst_of_connections_is_accepted_within_a_few_turns_of_the_loop(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    # Turns of the loop, not time: uvloop on its own takes one connection per turn, so a burst of
    # 20 would need 20 turns, each as long as a busy server's.
    async def main() -> None:
        loop = asyncio.get_running_loop()
        turns, made = [0], list[int]()

        def turn() -> None:
            turns[0] += 1
            loop.call_soon(turn)

        protocol = type("Protocol", (Counted,), {"made": made, "turns": turns})
        sock = listening_socket("127.0.0.1", 0)
        acceptor = Acceptor(sock, protocol)
        assert acceptor.start()
        loop.call_soon(turn)
        await asyncio.sleep(0.01)
        # Blocking connects: the kernel completes each while the loop waits for this coroutine.
        clients = [socket.create_connection(sock.getsockname()) for _ in range(BURST)]
        try:
            start = turns[0]
            while len(made) < BURST and turns[0] - start < 200:
                await asyncio.sleep(0)
            assert len(made) == BURST
            assert max(made) - start <= 3, f"accepted at turns {[t - start for t in made]}"
        finally:
            acceptor.stop()
            for client in clients:
                client.close()
            sock.close()

    run(loop_factory, main)


class OutOfFiles(socket.socket):
    """A listening socket whose first accepts fail as in a process out of file descriptors."""

    failures = 1
    calls = 0

    def accept(self) -> tuple[socket.socket, object]:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return super().accept()


@pytest.mark.parametrize("loop_factory", LOOPS, ids=lambda factory: factory.__module__.split(".")[0])
def test_out_of_file_descriptors_pauses_accepting_then_serves_the_waiting_connection(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        made: list[int] = []
        protocol = type("Protocol", (Counted,), {"made": made, "turns": [0]})
        sock = OutOfFiles(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        acceptor = Acceptor(sock, protocol)
        assert acceptor.start()
        client = socket.create_connection(sock.getsockname())
        try:
            began = loop.time()
            while not made and loop.time() - began < 5:
                await asyncio.sleep(0.01)
            assert made, "the waiting connection was never accepted"
            # One failed accept, one that took the connection: no spinning on a readable socket
            # while the process has no descriptor to give it.
            assert sock.calls <= 3
            assert loop.time() - began >= RETRY_S * 0.9
        finally:
            acceptor.stop()
            client.close()
            sock.close()

    with caplog.at_level(logging.WARNING, logger="mockllm"):
        run(loop_factory, main)
    assert "cannot accept connections" in caplog.text
    assert "Too many open files" in caplog.text


@pytest.mark.parametrize("loop_factory", LOOPS, ids=lambda factory: factory.__module__.split(".")[0])
def test_a_server_that_fails_to_start_accepts_nothing_more(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    async def main() -> None:
        app = new_app(f"mockllm-test-{id(loop_factory)}", touchup=False, max_body_bytes=1024)

        @app.get("/")
        async def root(_: Request) -> HTTPResponse:
            return HTTPResponse()

        @app.after_server_start
        async def fail(*_: object) -> None:
            raise RuntimeError("a listener failed")

        sock = listening_socket("127.0.0.1", 0)
        try:
            with pytest.raises(RuntimeError, match="a listener failed"):
                await start_serving(app, sock)
            # Nothing accepts on the socket any more: a connection waits there for whoever does.
            client = socket.create_connection(sock.getsockname())
            await asyncio.sleep(0.05)
            sock.settimeout(1)
            waiting, _ = sock.accept()
            waiting.close()
            client.close()
        finally:
            sock.close()
            Sanic.unregister_app(app)

    run(loop_factory, main)
