"""Writing an answer over time, for a mock with ``timing`` or ``fault``.

Every other answer is one `HTTPResponse` of bytes rendered once and cached; this module is the slow
path beside it (`mockllm.server.faults` says what a fault changes). Nothing blocks: the wait for the
first byte is an ``asyncio.sleep``, and a stream's later events, one write per event (or run of
unpaused events), go out from timer callbacks that every paced stream of the loop shares.
"""

from __future__ import annotations

import itertools
import math
import random
from asyncio import AbstractEventLoop, CancelledError, Future, get_running_loop, sleep
from collections.abc import Callable, Iterator
from time import perf_counter
from weakref import WeakKeyDictionary

from sanic import HTTPResponse, Request
from sanic.exceptions import RequestCancelled

from ..config import MID_STREAM_FAULTS, Fault, Timing
from .faults import non_stream_fault, stall
from .journal import Delivery
from .provider import Provider
from .sanic_internals import abort, aborted, write_chunk

__all__ = ["pauses", "write_timed"]


def pauses(timing: Timing) -> Iterator[float]:
    """The pauses between a stream's events, in seconds: endless, and the same sequence for the same
    ``timing`` every time (a generator seeded afresh, so neither concurrent requests nor earlier
    ones change it). Each is ``chunk_interval_ms`` moved by a uniform draw from
    ``[-jitter_ms, +jitter_ms]``, and never below 0."""
    interval, jitter = timing.chunk_interval_ms / 1000, timing.jitter_ms / 1000
    if not jitter:
        return itertools.repeat(interval)
    draw = random.Random(timing.seed).uniform
    return (max(0.0, interval + draw(-jitter, jitter)) for _ in itertools.count())


async def write_timed(
    request: Request,
    timing: Timing,
    body: bytes | list[bytes],
    *,
    content_type: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    fault: Fault | None = None,
    provider: Provider,
    delivery: Delivery,
    started: float,
) -> HTTPResponse | None:
    """Answer with ``body`` after ``timing.ttft_ms``: bytes in one piece, a list of SSE events one by
    one, ``timing``'s pauses apart. A stream returns None, having written itself.

    The status line and headers go out with the first event, so a client sees nothing before
    ``ttft_ms``, as from a model still thinking.

    ``fault``: a stream's events were already cut to what the fault lets out (see
    `mockllm.server.faults.faulty_events`); here a ``disconnect`` aborts the connection after them,
    ``reset`` and ``stall`` happen before any byte, and a JSON answer meets a mid-stream kind as
    `mockllm.server.faults` describes. ``provider`` shapes the error a JSON ``error_event`` sends.

    ``delivery`` (the journal entry's) is filled in as the answer goes out: the events sent, the
    time to the first byte of the body (from ``started``, a ``perf_counter`` time), and whether the
    client left first.
    """
    if fault is not None and delivery.fault is None:  # chaos names its own kind beforehand
        delivery.fault = fault.kind
    try:
        return await _write(
            request, timing, body, content_type, status, headers, fault, provider, delivery, started
        )
    except (CancelledError, RequestCancelled):
        # A client that leaves during a pause cancels this task: CancelledError ends it, and Sanic,
        # which cancelled it, closes the request quietly. A connection the server dropped (a fault)
        # is marked by `abort`.
        if not aborted(request):
            delivery.client_left = True
        raise


async def _write(
    request: Request,
    timing: Timing,
    body: bytes | list[bytes],
    content_type: str,
    status: int,
    headers: dict[str, str] | None,
    fault: Fault | None,
    provider: Provider,
    delivery: Delivery,
    started: float,
) -> HTTPResponse | None:
    kind = fault.kind if fault is not None else None
    if kind == "stall":
        await stall(request, timing)
    if timing.ttft_ms:
        # uvloop's timers have millisecond resolution and may fire a little early: the first byte
        # waits the whole ttft_ms from the match, as the journal's ttfb_ms then shows.
        due = started + timing.ttft_ms / 1000
        while (left := due - perf_counter()) > 0:
            await sleep(left)
    if kind == "reset":
        abort(request)
    if isinstance(body, bytes):
        if fault is not None and kind in MID_STREAM_FAULTS:
            if kind in ("truncate", "malformed", "error_event"):
                # Some bytes of a body go out (half of it, for a truncate).
                delivery.ttfb_ms = _since(started)
            return await non_stream_fault(request, fault, provider, body, content_type=content_type)
        # Written in one piece as Sanic sends the response returned: its first byte and its last.
        delivery.ttfb_ms = delivery.duration_ms = _since(started)
        return HTTPResponse(body, status=status, headers=headers, content_type=content_type)
    response = await request.respond(status=status, headers=headers, content_type=content_type)
    runs = _runs(body, pauses(timing))
    delivery.events_sent = 0
    loop = get_running_loop()
    try:
        # The first run goes out through Sanic, which writes the response head before it.
        if runs[0][2]:
            delivery.ttfb_ms = _since(started)
        await _send(response, runs[0], delivery)
        # Each run is due at a time counted from the first one, not from the previous write: a
        # server busy with many streams wakes each a little late, and relative sleeps would add
        # those delays up over a stream.
        index, due = await _Pacer(request, runs, delivery, loop.time()).run()
        for position in range(index, len(runs)):  # what the pacer left: the connection is slow
            if position > index:
                due += runs[position][0]
            await sleep(max(0.0, due - loop.time()))
            await _send(response, runs[position], delivery)
        if kind != "disconnect":
            await response.send(b"", end_stream=True)
        delivery.duration_ms = _since(started)
    except RequestCancelled:
        # A write to a connection the client already closed: nobody is left to answer.
        delivery.client_left = True
        if not delivery.events_sent:
            delivery.ttfb_ms = None
        return None
    if kind == "disconnect":
        abort(request)
    return None


Run = tuple[float, bytes, int]
"""A run of events written together: the pause before it (seconds), their bytes, how many."""


def _runs(events: list[bytes], gaps: Iterator[float]) -> list[Run]:
    """``events`` grouped into runs: events with no pause between them go out in one write. No
    events (a ``disconnect`` after 0) make one empty run, which sends the response head alone."""
    runs: list[Run] = []
    pause, pending = 0.0, events[:1]
    for event in events[1:]:
        gap = next(gaps)
        if gap > 0:
            runs.append((pause, b"".join(pending), len(pending)))
            pause, pending = gap, []
        pending.append(event)
    runs.append((pause, b"".join(pending), len(pending)))
    return runs


async def _send(response: HTTPResponse, run: Run, delivery: Delivery) -> None:
    # Counted before the write, so the journal is up to date when the client reads them; a write
    # that finds the client gone counts nothing.
    delivery.events_sent = (delivery.events_sent or 0) + run[2]
    try:
        await response.send(run[1])
    except RequestCancelled:
        delivery.events_sent -= run[2]
        raise


class _Pacer:
    """Writes the runs after the first from timer callbacks, each at its time.

    A callback per run, rather than a coroutine that sleeps and wakes for each, makes a paced event
    cost little more than its write: a thousand concurrent streams of 50 events a second each stay
    on time on one core. Writing stops, for the caller to go on with awaited sends, when the
    connection cannot take a write at once (see `write_chunk`)."""

    def __init__(self, request: Request, runs: list[Run], delivery: Delivery, started: float) -> None:
        self._request, self._runs, self._delivery = request, runs, delivery
        self._loop = get_running_loop()
        self._ticks = _Ticks.of(self._loop)
        self._done: Future[tuple[int, float]] = self._loop.create_future()
        self._index, self._due = 1, started

    async def run(self) -> tuple[int, float]:
        """Write what the connection takes; returns the index of the first run left unwritten
        (``len(runs)`` when none is) and when it is due."""
        self._next()
        return await self._done

    def _next(self) -> None:
        if self._index == len(self._runs):
            self._done.set_result((self._index, self._due))
            return
        self._due += self._runs[self._index][0]
        self._ticks.call_at(self._loop, self._due, self._write)

    def _write(self) -> None:
        if self._done.done():  # cancelled with the request's task: the client left
            return
        _, data, count = self._runs[self._index]
        delivery = self._delivery
        delivery.events_sent = (delivery.events_sent or 0) + count  # before the write, as in `_send`
        if not write_chunk(self._request, data):
            delivery.events_sent -= count
            self._done.set_result((self._index, self._due))
            return
        self._index += 1
        self._next()


class _Ticks:
    """The paced writes of one event loop, run a millisecond at a time: every write due within the
    same millisecond goes from one timer.

    A timer per write cost a third as much as the write itself; a thousand streams writing every
    20 ms share about 50 writes per millisecond. A write runs at the end of the millisecond it is
    due in (its time rounded up), within uvloop's own timer resolution of a millisecond."""

    def __init__(self) -> None:
        # No reference to the loop: it is the key of this in `_TICKS`, which would then keep it.
        self._due: dict[int, list[Callable[[], None]]] = {}

    @staticmethod
    def of(loop: AbstractEventLoop) -> _Ticks:
        """The ticks of ``loop``, made at its first paced stream."""
        ticks = _TICKS.get(loop)
        if ticks is None:
            ticks = _TICKS[loop] = _Ticks()
        return ticks

    def call_at(self, loop: AbstractEventLoop, when: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` at ``when`` (a ``loop.time()``), rounded up to the millisecond."""
        tick = math.ceil(when * 1000)
        due = self._due.get(tick)
        if due is None:
            due = self._due[tick] = []
            loop.call_at(tick / 1000, self._run, loop, tick)
        due.append(callback)

    def _run(self, loop: AbstractEventLoop, tick: int) -> None:
        # A callback that schedules its next write for a time already past (a late stream) makes
        # a new tick, run at the next turn of the loop.
        for callback in self._due.pop(tick):
            try:
                callback()
            except Exception as exc:  # a bug in one stream's write must not stop the others'
                loop.call_exception_handler({"message": "a paced write failed", "exception": exc})


_TICKS: WeakKeyDictionary[AbstractEventLoop, _Ticks] = WeakKeyDictionary()


def _since(started: float) -> float:
    return (perf_counter() - started) * 1000
