"""Server-sent events framing, and the split of a text into stream deltas."""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["DONE", "SSE_HEADERS", "SSE_TYPE", "sse_event", "text_pieces"]

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
