"""Server-sent events framing (writing and reading it), and the split of a text into stream deltas."""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["DONE", "SSE_HEADERS", "SSE_TYPE", "sse_event", "sse_events", "sse_media", "text_pieces"]

DONE = b"data: [DONE]\n\n"

SSE_TYPE = "text/event-stream"
SSE_HEADERS = {"cache-control": "no-cache"}
"""The content type and the headers of a streamed answer."""

# A piece is optional leading whitespace plus up to 8 other characters: about one token each.
# Splitting str (code points), never bytes, keeps every UTF-8 character whole.
_PIECE = re.compile(r"\s*\S{1,8}|\s+")


def text_pieces(text: str) -> list[str]:
    """Token-sized pieces whose concatenation is exactly ``text``."""
    return _PIECE.findall(text)


def sse_event(data: Any, event: str | None = None) -> bytes:
    """One event; every event, the last one included, ends with a blank line (the SDKs drop an
    unterminated final event)."""
    payload = b"data: " + orjson.dumps(data) + b"\n\n"
    if event is None:
        return payload
    return b"event: " + event.encode() + b"\n" + payload


def sse_events(raw: bytes) -> list[Any]:
    """The JSON ``data`` of each event of an SSE stream, in order (``[DONE]`` and comments left
    out; an event whose data is not JSON is skipped)."""
    events: list[Any] = []
    text = raw.replace(b"\r\n", b"\n")
    for block in text.split(b"\n\n"):
        data = [line[5:].removeprefix(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
        if not data:
            continue
        payload = b"\n".join(data)
        if payload.strip() == b"[DONE]":
            continue
        try:
            events.append(orjson.loads(payload))
        except orjson.JSONDecodeError:
            continue
    return events


def sse_media(variant: Any) -> tuple[str, dict[str, str] | None]:
    """The content type and headers of an SSE stream variant (every variant of an API that
    streams SSE alone)."""
    return SSE_TYPE, SSE_HEADERS
