"""``GET /__mockllm/events``: the journal as server-sent events, one event per request as it is
recorded, for the trace viewer's live timeline (and any client that wants to follow a run).

Each event's ``data:`` is one journal entry exactly as ``GET /__mockllm/requests`` gives it. The
feed watches the journal only while a client listens: with none, recording a request builds and
writes nothing for it. An entry is made into JSON once, however many clients listen.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from sanic import HTTPResponse, Request

from .journal import Journal, RecordedRequest

__all__ = ["EventFeed", "event_feed", "journal_entry_json", "writable_entry"]

KEEPALIVE_SECONDS = 15.0
"""A comment line is sent when nothing happened for this long, so that proxies and the browser
keep an idle feed open."""
_BACKLOG = 10_000
"""Events kept for a client that reads slower than requests come; a client further behind is
closed (its page reconnects and reads the journal again)."""


def writable_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` (a journal entry's JSON) with a body too deeply nested to write as JSON marked in
    its place: orjson parses JSON nested deeper than it writes, and an agent may send such a body."""
    try:
        orjson.dumps(entry["body"])
    except orjson.JSONEncodeError:
        return {**entry, "body": {"truncated": True, "reason": "nested too deeply to write as JSON"}}
    return entry


def journal_entry_json(request: RecordedRequest) -> bytes:
    """A journal entry as ``GET /__mockllm/requests`` writes it."""
    entry = request.as_json()
    try:
        return orjson.dumps(entry)
    except orjson.JSONEncodeError:
        return orjson.dumps(writable_entry(entry))


class EventFeed:
    """The clients of one server's events feed."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._clients: set[asyncio.Queue[bytes | None]] = set()

    @property
    def listening(self) -> int:
        """How many clients follow the feed now."""
        return len(self._clients)

    def _publish(self, request: RecordedRequest) -> None:
        event = b"data: " + journal_entry_json(request) + b"\n\n"
        for queue in list(self._clients):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._drop(queue)
                queue.get_nowait()  # room for the end mark
                queue.put_nowait(None)

    def _join(self) -> asyncio.Queue[bytes | None]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_BACKLOG)
        if not self._clients:
            self._journal.watch(self._publish)
        self._clients.add(queue)
        return queue

    def _drop(self, queue: asyncio.Queue[bytes | None]) -> None:
        if queue in self._clients:
            self._clients.discard(queue)
            if not self._clients:
                self._journal.unwatch(self._publish)

    async def serve(self, request: Request) -> HTTPResponse:
        """Stream the feed to ``request`` until the client leaves."""
        queue = self._join()
        try:
            response: HTTPResponse = await request.respond(
                content_type="text/event-stream",
                headers={"cache-control": "no-store", "x-accel-buffering": "no"},
            )
            # The first bytes tell the client the feed is open: a page reads the journal then,
            # so that nothing falls between what it read and what the feed sends.
            await response.send(b": mockllm events\nretry: 1000\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    event = b": keepalive\n\n"
                if event is None:
                    break
                await response.send(event)
            return response  # Sanic ends the stream
        finally:
            self._drop(queue)


def event_feed(request: Request) -> EventFeed:
    """The feed of the server answering ``request``, made when first asked for."""
    ctx: Any = request.app.ctx
    feed: EventFeed | None = getattr(ctx, "event_feed", None)
    if feed is None:
        feed = ctx.event_feed = EventFeed(ctx.journal)
    return feed
