"""``GET /__mockllm/events``: the journal as server-sent events, one event per request as it is
recorded, for the trace viewer's live timeline (and any client that wants to follow a run).

Each event's ``data:`` is one journal entry exactly as ``GET /__mockllm/requests`` gives it. The
feed watches the journal only while a client listens: with none, recording a request costs a
counter's increment more. A client's events are written together, a few times a second at most,
one write for all the requests of that moment.

Making an entry into JSON costs about a fifth of what answering the simplest request does, so a
client cannot be given every entry of a load test without slowing it down. Each client gets a
budget of server time: when the entries of a moment would take longer than that to write, those
beyond it are skipped, and an ``event: skipped`` (``data: {"skipped": n}``) says how many; a page
reads the journal again once the server is quiet. An agent's test, a few requests a second, never
comes near it.

When the journal is emptied (``DELETE /__mockllm/requests``, a reset, the pytest fixture between
tests), an ``event: cleared`` says so before the entries recorded after it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from sanic import HTTPResponse, Request

from .journal import UNWRITABLE_BODY, Journal, RecordedRequest
from .sanic_internals import write_chunk

__all__ = ["EventFeed", "event_feed", "journal_entry_json", "writable_entry"]

KEEPALIVE_SECONDS = 15.0
"""A comment line is sent when nothing happened for this long, so that proxies and the browser
keep an idle feed open."""
BATCH_SECONDS = 0.05
"""How long a client's writer waits after a request, for the others of that moment."""
BUDGET = 0.01
"""The share of the server's time a client's entries may take to write (1 %)."""
BURST_SECONDS = 0.02
"""What a client's budget saves up to while quiet: a burst of about a thousand requests after a
quiet time is written whole."""


def writable_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` (a journal entry's JSON) with a body too deeply nested to write as JSON marked in
    its place: orjson parses JSON nested deeper than it writes, and an agent may send such a body."""
    try:
        orjson.dumps(entry["body"])
    except orjson.JSONEncodeError:
        return {**entry, "body": UNWRITABLE_BODY}
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
        self._clients: set[asyncio.Event] = set()
        self._loop = asyncio.get_running_loop()
        """The server's loop, where the clients wait: the feed is made by its first request."""

    def _tell(self) -> None:
        # Requests are recorded on the server's loop; the journal may be emptied from another
        # thread (the pytest fixture's, between tests), whose wake-up must go through the loop.
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._wake()
        else:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for woken in self._clients:
            woken.set()

    def _join(self) -> asyncio.Event:
        woken = asyncio.Event()
        if not self._clients:
            self._journal.watch(self._tell)
        self._clients.add(woken)
        return woken

    def _leave(self, woken: asyncio.Event) -> None:
        self._clients.discard(woken)
        if not self._clients:
            self._journal.unwatch(self._tell)

    async def serve(self, request: Request) -> HTTPResponse:
        """Stream the feed to ``request`` until the client leaves."""
        journal = self._journal
        woken = self._join()
        sent = journal.added  # what the journal held before is the page's to read
        budget = _Budget()
        clears = journal.clears
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
                    await asyncio.wait_for(woken.wait(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.send(b": keepalive\n\n")
                    continue
                await asyncio.sleep(BATCH_SECONDS)
                woken.clear()
                chunk, sent = _batch(journal, sent, budget)
                if journal.clears != clears:  # the entries shown before are gone from the journal
                    clears = journal.clears
                    chunk = b"event: cleared\ndata: {}\n\n" + chunk
                if chunk and not write_chunk(request, chunk):
                    await response.send(chunk)
        finally:
            self._leave(woken)


class _Budget:
    """The server time a client's entries may still take: it grows by `BUDGET` of the time that
    passes, up to `BURST_SECONDS`, and shrinks by the time writing them took."""

    def __init__(self) -> None:
        self.left = BURST_SECONDS
        self.at = time.perf_counter()

    def start(self) -> float:
        """The moment writing must stop by."""
        now = time.perf_counter()
        self.left = min(BURST_SECONDS, self.left + (now - self.at) * BUDGET)
        self.at = now
        return now + self.left

    def spent(self) -> None:
        now = time.perf_counter()
        self.left -= now - self.at
        self.at = now


def _batch(journal: Journal, sent: int, budget: _Budget) -> tuple[bytes, int]:
    """The events of the requests recorded after the first ``sent``, as one write, within the
    client's budget; and the count of the requests it accounts for."""
    events: list[bytes] = []
    deadline = budget.start()
    added = journal.added
    while sent < added and time.perf_counter() < deadline:
        for entry in journal.since(sent, limit=4):
            events.append(b"data: " + journal_entry_json(entry) + b"\n\n")
        sent = min(added, sent + 4)
    budget.spent()
    if sent < added:
        events.append(b"event: skipped\ndata: " + orjson.dumps({"skipped": added - sent}) + b"\n\n")
    return b"".join(events), added


def event_feed(request: Request) -> EventFeed:
    """The feed of the server answering ``request``, made when first asked for."""
    ctx: Any = request.app.ctx
    feed: EventFeed | None = getattr(ctx, "event_feed", None)
    if feed is None:
        feed = ctx.event_feed = EventFeed(ctx.journal)
    return feed
