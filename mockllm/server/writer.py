"""Writing an answer over time, for a mock with ``timing`` or ``fault``.

Every other answer is one `HTTPResponse` of bytes rendered once and cached; this module is the slow
path beside it (`mockllm.server.faults` says what a fault changes). Pauses are ``asyncio.sleep``s,
so the server answers other requests meanwhile, and a stream goes out on Sanic's streaming response,
one event (or run of unpaused events) per write.
"""

from __future__ import annotations

import itertools
import random
from asyncio import CancelledError, sleep
from collections.abc import Iterator
from time import perf_counter

from sanic import HTTPResponse, Request
from sanic.exceptions import RequestCancelled

from ..apis import Provider
from ..config import MID_STREAM_FAULTS, Fault, Timing
from .faults import non_stream_fault, stall
from .journal import Delivery
from .sanic_internals import abort, aborted

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
    provider: Provider = "openai",
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
        await sleep(timing.ttft_ms / 1000)
    if kind == "reset":
        abort(request)
    if isinstance(body, bytes):
        if fault is not None and kind in MID_STREAM_FAULTS:
            if kind in ("truncate", "malformed", "error_event"):
                # Some bytes of a body go out (half of it, for a truncate).
                delivery.ttfb_ms = _since(started)
            return await non_stream_fault(request, fault, provider, body, content_type=content_type)
        delivery.ttfb_ms = _since(started)  # written as Sanic sends the response returned
        return HTTPResponse(body, status=status, headers=headers, content_type=content_type)
    response = await request.respond(status=status, headers=headers, content_type=content_type)
    gaps = pauses(timing)
    pending: list[bytes] = []
    delivery.events_sent = 0

    async def send(end_stream: bool = False) -> None:
        # Counted as handed to the connection, so the journal is up to date when the client reads
        # them; a write that finds the client gone counts nothing.
        count = len(pending)
        first = count and delivery.ttfb_ms is None
        if first:
            delivery.ttfb_ms = _since(started)
        delivery.events_sent = (delivery.events_sent or 0) + count
        try:
            await response.send(b"".join(pending), end_stream=end_stream)
        except RequestCancelled:
            delivery.events_sent -= count
            if first:
                delivery.ttfb_ms = None
            raise
        pending.clear()

    try:
        for i, event in enumerate(body):
            pause = next(gaps) if i else 0.0
            if pause > 0:
                # Unpaused events go out together: one write per run rather than per event.
                await send()
                await sleep(pause)
            pending.append(event)
        await send(end_stream=kind != "disconnect")
    except RequestCancelled:
        # A write to a connection the client already closed: nobody is left to answer.
        delivery.client_left = True
        return None
    if kind == "disconnect":
        abort(request)
    return None


def _since(started: float) -> float:
    return (perf_counter() - started) * 1000
