"""A mock's ``fault``: the answer goes wrong the way a flaky network or an overloaded provider does.

A mock with a fault takes the event-by-event path of `mockllm.server.writer`, like one with
``timing``; the two combine (the fault happens at its place in the paced stream). This module says
which events go out and how the connection ends; the writer sends them.

A request that does not stream meets a mid-stream fault as a real network would show it:
``disconnect`` (like ``reset``) closes the connection before the answer; ``truncate`` sends the
headers and half of the JSON body, then closes the connection (the client sees a body shorter than
its ``content-length``); ``malformed`` answers 200 with a body that is not JSON; ``error_event``
answers with the error the provider sends when it fails before a response starts (OpenAI 500
``server_error``, Anthropic 529 ``overloaded_error``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from sanic import HTTPResponse, Request

from ..config import Fault, Timing
from .sanic_internals import abort

if TYPE_CHECKING:
    from .adapter import Streaming
    from .provider import Provider

__all__ = [
    "ERROR_MESSAGE",
    "MALFORMED_DATA",
    "STALL_LIMIT_S",
    "check_after_events",
    "faulty_events",
    "malformed_sse",
    "non_stream_fault",
    "stall",
]

STALL_LIMIT_S = 30.0
"""How long a ``stall`` holds a connection before the server closes it (or the mock's ``ttft_ms``,
if longer): a client that never gives up must not keep a task alive for ever."""

MALFORMED_DATA = b"data: {not json\n\n"
"""An SSE event whose data every SDK's stream reader fails to decode."""


def malformed_sse(variant: Hashable) -> bytes:
    """`MALFORMED_DATA`, for every stream variant of an API that streams SSE."""
    return MALFORMED_DATA


ERROR_MESSAGE = "mocked fault: the server is overloaded"
"""The message of the provider's error that an ``error_event`` fault sends."""


def after_events_limit(kind: str, count: int) -> int:
    """The largest ``after_events`` a stream of ``count`` events allows for ``kind``: a truncated
    stream must leave out at least its terminal event; the other kinds may come after the last."""
    return count - 1 if kind == "truncate" else count


def check_after_events(fault: Fault, count: int) -> None:
    """Raises ``ValueError("fault.after_events: …")`` for an ``after_events`` past the end of a
    stream of ``count`` events."""
    if fault.after_events is None:
        return
    limit = after_events_limit(fault.kind, count)
    if fault.after_events > limit:
        raise ValueError(
            f"fault.after_events: {fault.after_events} is past the end of the stream: it has {count} "
            f"events, so a {fault.kind} fault takes at most {max(limit, 0)}"
        )


def _default_after(kind: str, count: int) -> int:
    if kind == "truncate":
        return count - 1
    if kind == "malformed":
        return count // 2
    if kind == "error_event":
        return 0
    return count  # disconnect: the whole stream, then no end to the chunked body


def faulty_events(
    streaming: Streaming, fault: Fault, events: list[bytes], response: dict[str, Any], variant: Hashable
) -> list[bytes]:
    """The events a mid-stream ``fault`` lets out of ``events`` (the writer then aborts the
    connection for a ``disconnect``, and ends the response cleanly otherwise). ``after_events`` past
    the end is clipped: it was checked at load against the shortest stream variant. The broken
    event and the error event are the API's own (`Streaming`)."""
    count = len(events)
    after = fault.after_events
    after = _default_after(fault.kind, count) if after is None else after
    after = max(0, min(after, after_events_limit(fault.kind, count)))
    sent = events[:after]
    if fault.kind == "malformed":
        return [*sent, streaming.malformed_event(variant)]
    if fault.kind == "error_event":
        return [*sent, streaming.error_event(response, after, variant)]
    return sent  # disconnect, truncate


async def stall(request: Request, timing: Timing) -> None:
    """Send nothing until the client gives up, or the bound passes and the server closes the
    connection. A client that leaves cancels this task (Sanic cancels a request whose connection is
    lost), so nothing outlives the connection."""
    await asyncio.sleep(max(STALL_LIMIT_S, timing.ttft_ms / 1000))
    abort(request)


async def non_stream_fault(
    request: Request, fault: Fault, provider: Provider, body: bytes, *, content_type: str
) -> HTTPResponse:
    """A JSON answer with a fault of any kind but ``stall``; one that closes the connection raises
    CancelledError (see `abort`)."""
    kind = fault.kind
    if kind == "malformed":
        return HTTPResponse(MALFORMED_DATA[len(b"data: ") :].strip(), content_type=content_type)
    if kind == "error_event":
        return provider.overloaded(ERROR_MESSAGE)
    if kind == "truncate":
        # The whole body's length announced, half of it sent: the client waits for the rest and
        # sees the connection close instead.
        headers = {"content-length": str(len(body))}
        response = await request.respond(headers=headers, content_type=content_type)
        await response.send(body[: len(body) // 2])
    abort(request)
