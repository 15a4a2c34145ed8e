"""The prompt's share of an answer's usage: the request's token estimate, written into a cached
answer per request.

An answer is rendered once per (model, variant) and its bytes are cached, but the input tokens
it reports depend on the request. So ``fill`` writes a marker number where that count goes
(`INPUT_TOKENS`, or `input_tokens_plus` for a total that adds the answer's own tokens), a render
is cut at its markers once (`spliced`), and each request writes its own count in: one ``%``-format
call (an event-stream frame that holds a count is framed anew). The count is the adapter's
``input_tokens`` of the request, gathered with `Prompt`: the same estimate the token-counting
endpoints answer.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from .eventstream import chunk_frame_of, event_frame_of, split_frames

__all__ = [
    "INPUT_TOKENS",
    "Prompt",
    "Spliced",
    "counted",
    "estimate_tokens",
    "input_tokens_plus",
    "spliced",
    "written",
]

INPUT_TOKENS = 8_364_057_100_000_000_000
"""What ``fill`` writes where the request's input tokens go. A number, so that everything that
reads a filled response (the contract guard, the stream renders) takes it as the count it stands
for; its digits are unlike any count an answer carries, and it never reaches a client."""
_MAX_ADDED = 10**11
_MARKER = re.compile(rb"(?<![0-9.])83640571\d{11}(?![0-9.eE])")
_PREFIX = b"83640571"


def input_tokens_plus(tokens: int) -> int:
    """The marker of a total: the request's input tokens plus the answer's ``tokens``."""
    return INPUT_TOKENS + min(max(tokens, 0), _MAX_ADDED - 1)


def estimate_tokens(*texts: object) -> int:
    """A stand-in token count (about four UTF-8 bytes a token) for usage a config leaves out;
    values that are not strings count nothing. A request's prompt is counted by `Prompt`."""
    size = sum(len(text.encode()) for text in texts if isinstance(text, str))
    return (size + 3) // 4


class Prompt:
    """A prompt as `estimate_tokens` counts it, gathered part by part: texts by their UTF-8 size,
    and everything else (images, tool calls and results, the tools) by the size of one JSON array
    of them all — written in one go, as one call costs far less than one per part."""

    __slots__ = ("_others", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._others: list[Any] = []

    def text(self, text: str) -> None:
        # Most prompts are ASCII, whose length is its UTF-8 size: no copy to count it.
        self._size += len(text) if text.isascii() else len(text.encode())

    def json(self, value: Any) -> None:
        """A part counted by its JSON (``None`` counts nothing)."""
        if value is not None:
            self._others.append(value)

    def json_items(self, values: Any) -> None:
        """Each item of a list (the tools, a message's tool calls) counted as a part by its JSON;
        anything but a list counts nothing."""
        if isinstance(values, list):
            self._others += values

    def content(self, content: Any, text_keys: tuple[str, ...] = ("text",)) -> None:
        """A message's content: a string itself; of a list of parts, each part's text (its first
        of ``text_keys`` that is a string), or the JSON of a part without one."""
        if isinstance(content, str):
            self.text(content)
        elif isinstance(content, list):
            for part in content:
                text = _text_of(part, text_keys) if isinstance(part, dict) else None
                if text is None:
                    self._others.append(part)
                else:
                    self.text(text)
        else:
            self.json(content)

    def messages(self, messages: Iterable[dict[str, Any]], text_keys: tuple[str, ...] = ("text",)) -> Prompt:
        """Chat-shaped messages: each one's content and tool calls."""
        # The loop of every request with a long history: a text content is counted in line.
        size, others = 0, self._others
        for message in messages:
            content = message.get("content")
            if type(content) is str:
                size += len(content) if content.isascii() else len(content.encode())
            elif content is not None:
                self.content(content, text_keys)
            calls = message.get("tool_calls")
            if type(calls) is list:
                others += calls
        self._size += size
        return self

    def tokens(self) -> int:
        """The estimate. Raises ``orjson.JSONEncodeError`` for JSON nested deeper than it can be
        written back (see `counted`)."""
        others = self._others
        return (self._size + (len(orjson.dumps(others)) if others else 0) + 3) // 4


def _text_of(part: dict[str, Any], text_keys: tuple[str, ...]) -> str | None:
    for key in text_keys:
        text = part.get(key)
        if isinstance(text, str):
            return text
    return None


def counted(input_tokens: Callable[[Any], int], request: Any) -> int:
    """``input_tokens(request)`` for an answer's usage. A prompt nested deeper than its JSON can
    be written back counts nothing there: a token-counting endpoint refuses such a request, while
    a mock that matched it still answers."""
    try:
        return input_tokens(request)
    except (orjson.JSONEncodeError, RecursionError):
        return 0


class _Frame:
    """An event-stream frame whose payload holds a marker: framed anew for each count, as its
    length and checksums change with it."""

    __slots__ = ("event_type", "in_chunk", "payload")

    def __init__(self, event_type: str, payload: Spliced, in_chunk: bool) -> None:
        self.event_type = event_type
        self.payload = payload
        self.in_chunk = in_chunk
        """A ``chunk`` frame: the payload is an event of its own, base64 in ``bytes``."""

    def write(self, tokens: int) -> bytes:
        payload = self.payload.write(tokens)
        return chunk_frame_of(payload) if self.in_chunk else event_frame_of(self.event_type, payload)


class Spliced:
    """A render with the request's input tokens still to be written in: the bytes between the
    markers, and at each marker what it adds to the count (or the frame that holds it)."""

    __slots__ = ("_holes", "_offsets", "_template", "_texts")

    def __init__(self, texts: Sequence[bytes], holes: Sequence[int | _Frame]) -> None:
        self._texts = tuple(texts)
        self._holes = tuple(holes)
        self._template: bytes | None = None
        """Where every hole is a number: the render as a ``%``-format with a ``%d`` at each, which
        one C call fills (a join in Python costs several times as much)."""
        self._offsets = tuple(hole for hole in holes if isinstance(hole, int))
        if len(self._offsets) == len(self._holes):
            self._template = b"%d".join(text.replace(b"%", b"%%") for text in texts)

    def write(self, tokens: int) -> bytes:
        template = self._template
        if template is not None:
            offsets = self._offsets
            if len(offsets) == 2:  # the usual usage: input tokens, and a total
                return template % (tokens + offsets[0], tokens + offsets[1])
            return template % tuple([tokens + offset for offset in offsets])
        texts = self._texts
        out = [texts[0]]
        for hole, text in zip(self._holes, texts[1:], strict=True):
            out.append(str(tokens + hole).encode() if isinstance(hole, int) else hole.write(tokens))
            out.append(text)
        return b"".join(out)


def spliced(data: bytes, framed: bool = False) -> bytes | Spliced:
    """``data`` cut at its markers, or ``data`` itself when it has none. ``framed``: event-stream
    frames, whose payloads (a ``chunk``'s base64 event included) are searched frame by frame."""
    if framed:
        return _spliced_frames(data)
    if _PREFIX not in data:
        return data
    texts: list[bytes] = []
    holes: list[int | _Frame] = []
    at = 0
    for found in _MARKER.finditer(data):
        texts.append(data[at : found.start()])
        holes.append(int(found.group()) - INPUT_TOKENS)
        at = found.end()
    if not holes:
        return data
    texts.append(data[at:])
    return Spliced(texts, holes)


def _spliced_frames(data: bytes) -> bytes | Spliced:
    split = split_frames(data)
    if split is None:
        return data
    texts: list[bytes] = [b""]
    holes: list[int | _Frame] = []
    for raw, headers, payload in split:
        hole = _frame_hole(headers, payload)
        if hole is None:
            texts[-1] += raw
        else:
            holes.append(hole)
            texts.append(b"")
    return Spliced(texts, holes) if holes else data


def _frame_hole(headers: dict[str, str], payload: bytes) -> _Frame | None:
    event_type = headers.get(":event-type")
    if event_type is None or headers.get(":message-type") != "event":
        return None
    if event_type == "chunk":
        try:
            inner = base64.b64decode(orjson.loads(payload)["bytes"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        template = spliced(inner)
        return _Frame(event_type, template, in_chunk=True) if isinstance(template, Spliced) else None
    template = spliced(payload)
    return _Frame(event_type, template, in_chunk=False) if isinstance(template, Spliced) else None


def written(data: bytes | Spliced, tokens: int) -> bytes:
    """A render with the request's count written in."""
    return data if isinstance(data, bytes) else data.write(tokens)
