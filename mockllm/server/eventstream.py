"""AWS's event-stream framing (``application/vnd.amazon.eventstream``), which Bedrock's streams
use: binary frames, each with a prelude (total length, headers length, their CRC32), string
headers (``:event-type``, ``:message-type``, …), a JSON payload and the frame's CRC32. botocore's
own `EventStreamBuffer` reads what this writes."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import orjson

__all__ = [
    "EVENTSTREAM_TYPE",
    "broken_frame",
    "chunk_frame",
    "chunk_frame_of",
    "event_frame",
    "event_frame_of",
    "exception_frame",
    "frames",
    "split_frames",
]

EVENTSTREAM_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7
"""The header value type of a string."""


def _frame(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b""
    for name, value in headers.items():
        key, text = name.encode(), value.encode()
        encoded += struct.pack(">B", len(key)) + key + struct.pack(">BH", _STRING, len(text)) + text
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event_frame(event_type: str, payload: Any) -> bytes:
    """An event: its payload is the event's own fields, flat (no wrapper, no ``type``)."""
    return event_frame_of(event_type, orjson.dumps(payload))


def event_frame_of(event_type: str, payload: bytes) -> bytes:
    """An event whose payload is JSON already written."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return _frame(headers, payload)


def exception_frame(exception_type: str, message: str) -> bytes:
    """An error in the stream; ``exception_type`` is the stream's member name, in lowerCamel
    (``modelStreamErrorException``), which botocore raises as ``EventStreamError``."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return _frame(headers, orjson.dumps({"message": message}))


def chunk_frame(event: Any) -> bytes:
    """A ``chunk`` of InvokeModelWithResponseStream: one JSON event, base64 in ``bytes``."""
    return chunk_frame_of(orjson.dumps(event))


def chunk_frame_of(event: bytes) -> bytes:
    """A ``chunk`` whose event is JSON already written."""
    return event_frame("chunk", {"bytes": base64.b64encode(event).decode()})


def broken_frame() -> bytes:
    """A frame whose checksum is wrong: botocore raises ``ChecksumMismatch`` on it."""
    frame = bytearray(event_frame("chunk", {"bytes": ""}))
    frame[-1] ^= 0xFF
    return bytes(frame)


def frames(raw: bytes) -> list[tuple[dict[str, str], Any]] | None:
    """The (headers, JSON payload) of each frame of ``raw``; None for bytes that are no whole,
    intact frames."""
    split = split_frames(raw)
    if split is None:
        return None
    out: list[tuple[dict[str, str], Any]] = []
    for _, headers, payload in split:
        try:
            out.append((headers, orjson.loads(payload) if payload else None))
        except orjson.JSONDecodeError:
            return None
    return out


def split_frames(raw: bytes) -> list[tuple[bytes, dict[str, str], bytes]] | None:
    """The (bytes, headers, payload) of each frame of ``raw``; None for bytes that are no whole,
    intact frames."""
    out: list[tuple[bytes, dict[str, str], bytes]] = []
    at = 0
    while at < len(raw):
        if len(raw) - at < 16:
            return None
        total, headers_length = struct.unpack_from(">II", raw, at)
        message = raw[at : at + total]
        if len(message) != total or struct.unpack(">I", message[-4:])[0] != zlib.crc32(message[:-4]):
            return None
        headers: dict[str, str] = {}
        pos, end = 12, 12 + headers_length
        while pos < end:
            size = message[pos]
            name = message[pos + 1 : pos + 1 + size].decode()
            pos += 1 + size
            kind = message[pos]
            if kind != _STRING:
                return None
            (length,) = struct.unpack_from(">H", message, pos + 1)
            headers[name] = message[pos + 3 : pos + 3 + length].decode()
            pos += 3 + length
        out.append((message, headers, message[end:-4]))
        at += total
    return out
