"""Clients that hold a connection without finishing a request: each is cut within a bounded time,
while a paced answer, however long its pauses, is never cut. The server's limits are made short
here (an internal knob), so that each test takes a second or two; every wait has a generous bound."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from mockllm import MockServer, mock
from mockllm.server import sanic_internals

from .conftest import openai_client

LIMIT = 0.3
"""Seconds each of the server's limits is set to in these tests."""
BOUND = 15.0
"""How long a test waits for the server to cut a connection before it fails."""


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    for knob in ("IDLE_TIMEOUT", "HEAD_TIMEOUT", "REQUEST_TIMEOUT"):
        monkeypatch.setattr(sanic_internals, knob, LIMIT, raising=False)
    m = mock()
    m.openai_chat().with_timing(ttft_ms=400, chunk_interval_ms=400).reply("Hi there")
    with MockServer(m) as running:
        yield running


def read_until_closed(sock: socket.socket, trickle: bytes = b"") -> bytes:
    """What the server sends until it closes the connection, sending ``trickle`` a byte every
    tenth of a second meanwhile; fails the test after `BOUND` seconds."""
    received = b""
    deadline = time.monotonic() + BOUND
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        if trickle:
            try:
                sock.sendall(trickle[:1])
            except OSError:  # closed by the server
                return received
            trickle = trickle[1:]
        try:
            piece = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received
        if not piece:
            return received
        received += piece
    pytest.fail(f"the server held the connection for {BOUND} s; it sent {received!r}")


def test_a_connection_that_sends_nothing_is_closed(server: MockServer) -> None:
    """Mutation caught: Sanic's keep-alive timeout of 120 s left as it is."""
    with socket.create_connection((server.host, server.port)) as sock:
        assert read_until_closed(sock) == b""


def test_a_request_head_trickled_a_byte_at_a_time_is_cut(server: MockServer) -> None:
    """Every byte restarts Sanic's request timeout: a head that never ends was read for ever.

    Mutation caught: no limit on the time a whole head may take."""
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10_000
    with socket.create_connection((server.host, server.port)) as sock:
        answer = read_until_closed(sock, trickle=head)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer


def test_a_body_that_stops_arriving_is_cut(server: MockServer) -> None:
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(head)
        answer = read_until_closed(sock)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer


def test_a_paced_stream_with_pauses_longer_than_every_limit_is_answered_whole(server: MockServer) -> None:
    stream = openai_client(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Hi there"
    [entry] = server.journal
    assert entry.events_sent == entry.events_total
