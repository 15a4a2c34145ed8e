"""The requests a server saw, and what it answered: for assertions and failure reports."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from time import time as _now
from typing import Any, Final, TypeAlias

import orjson

from ..contract.guard import ContractProblem
from ..matching import redacted_headers

__all__ = ["Delivery", "Journal", "NearMiss", "RecordedRequest", "RequestHeaders", "TruncatedBody"]


class RequestHeaders(Mapping[str, str]):
    """A request's headers as the journal gives them: read as they came (a test may check the key
    its agent sent), shown with credentials redacted. Whatever prints an entry — a failed
    assertion on it, which pytest shows in full in a CI log — shows a key's scheme and length only."""

    __slots__ = ("_headers",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = headers
        """The server's own header map: names read case-insensitively, repeated headers kept."""

    def __getitem__(self, name: str) -> str:
        return self._headers[name]

    def __contains__(self, name: object) -> bool:
        return name in self._headers

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)

    def keys(self) -> KeysView[str]:
        return self._headers.keys()

    def items(self) -> ItemsView[str, str]:
        return self._headers.items()

    def values(self) -> ValuesView[str]:
        return self._headers.values()

    def getall(self, name: str) -> list[str]:
        """Every value of a header sent more than once (one item for a header sent once, none for
        an absent one)."""
        return [value for key, value in self._headers.items() if key.lower() == name.lower()]

    def __repr__(self) -> str:
        return f"RequestHeaders({redacted_headers(self._headers)!r})"


@dataclass(frozen=True, slots=True)
class TruncatedBody:
    """A request body larger than the journal keeps: its size and its first bytes, as text."""

    size: int
    """The size of the whole body, in bytes."""
    head: str
    """The first bytes the journal keeps, decoded as UTF-8 (a broken last character replaced)."""

    def as_json(self) -> dict[str, Any]:
        return {"truncated": True, "bytes": self.size, "head": self.head}


@dataclass(frozen=True)
class NearMiss:
    """A mock that came close to an unmatched request, and the rules of it that failed."""

    mock: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f'Nearest mock "{self.mock}": ' + "; ".join(self.reasons) + "."


@dataclass
class Delivery:
    """What a timed or faulty answer delivered. Such an answer is journalled when its mock matches,
    before it is written; the writer fills this in as the answer goes out."""

    events_total: int | None = None
    """How many SSE events the whole stream has (None for a JSON answer)."""
    events_sent: int | None = None
    """How many events went out whole, an injected ``malformed`` or ``error_event`` one too."""
    fault: str | None = None
    """The kind of the mock's fault, or of the chaos that failed the request (``chaos_error``,
    ``chaos_disconnect``)."""
    ttfb_ms: float | None = None
    """Milliseconds from the match to the first byte of the body (None when none was written)."""
    duration_ms: float | None = None
    """Milliseconds from the match to the last byte of the answer (None while it is being written,
    and when the client left first)."""
    client_left: bool = False
    """Whether the client closed the connection before the answer was complete."""

    def __str__(self) -> str:
        parts = []
        if self.events_total is not None:
            parts.append(f"{self.events_sent or 0} of {self.events_total} events")
        if self.fault is not None:
            parts.append(f"fault {self.fault}")
        if self.client_left:
            parts.append("client left")
        if self.ttfb_ms is not None:
            parts.append(f"first byte {self.ttfb_ms:.0f} ms")
        return ", ".join(parts)


@dataclass(slots=True)
class RecordedRequest:
    """One request, as reading the journal gives it."""

    method: str
    path: str
    body: Any
    """The parsed JSON body (``None`` when it was not JSON)."""
    headers: Mapping[str, str]
    """The request headers (a `RequestHeaders`): names are read case-insensitively, values as they
    came; printed, credentials are redacted."""
    status: int
    mock: str | None
    """The matched mock: its name, or ``api[position]`` when it has none."""
    error: str | None = None
    """Why the request was refused."""
    api: str | None = field(default=None)
    """The config key of the API the route belongs to (``openai``, ``anthropic``, …)."""
    near_misses: tuple[NearMiss, ...] = ()
    """For a request no mock matched: the nearest mocks, and why each missed."""
    delivery: Delivery | None = None
    """What a mock with ``timing`` or ``fault`` delivered, filled in while it is written; None for
    every other answer, written at once."""
    mock_model: Any = field(default=None, repr=False, compare=False)
    """The config model of the matched mock, the object itself: `MockHandle.calls` finds a mock's
    requests by identity, which no name or position gives once mocks share names or are added.
    None when no mock matched. Not part of any JSON view of the journal."""
    time: float = field(default_factory=_now)
    """When the request was answered, in Unix seconds."""
    contract: tuple[ContractProblem, ...] = ()
    """How the answer did not fit the request (the contract guard's problems: a tool the request
    does not declare, arguments off its schema, …); () when it did, or nothing was checked."""
    reply: str | None = None
    """What a reply function (``reply_with``, ``reply_drawn``) answered, as its value prints
    (``tool_calls(get_weather({}))``); None for any other answer."""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, RequestHeaders):
            self.headers = RequestHeaders(self.headers)

    def as_json(self) -> dict[str, Any]:
        """The entry as ``GET /__mockllm/requests`` shows it: credentials redacted, a body too
        large to keep marked, the delivery fields only for an answer written over time."""
        return _as_json(
            (
                self.method,
                self.path,
                self.body,
                self.headers,
                self.status,
                self.mock,
                self.error,
                self.api,
                self.near_misses,
                self.delivery,
                None,
                self.time,
                self.contract,
                self.reply,
            )
        )

    @property
    def events_sent(self) -> int | None:
        return self.delivery.events_sent if self.delivery is not None else None

    @property
    def events_total(self) -> int | None:
        return self.delivery.events_total if self.delivery is not None else None

    @property
    def fault(self) -> str | None:
        return self.delivery.fault if self.delivery is not None else None

    @property
    def ttfb_ms(self) -> float | None:
        return self.delivery.ttfb_ms if self.delivery is not None else None

    @property
    def duration_ms(self) -> float | None:
        return self.delivery.duration_ms if self.delivery is not None else None

    @property
    def client_left(self) -> bool:
        return self.delivery is not None and self.delivery.client_left

    @property
    def matched(self) -> bool:
        return self.mock is not None

    @property
    def server_error(self) -> bool:
        """Whether the server failed on this request (a bug of the server's, answered 500), as
        opposed to a mock that answers with a 5xx error on purpose."""
        return self.mock is None and self.status >= 500

    def redacted_headers(self) -> dict[str, str]:
        """The headers as they may be shown: credentials (``authorization``, ``x-api-key``, …) are
        replaced by their length."""
        return redacted_headers(self.headers)


@dataclass(frozen=True, slots=True)
class _SentWith:
    """A body the route gave fields its URL carries (Azure's deployment, Gemini's model): the bytes
    that came, and those fields."""

    raw: bytes
    fields: Mapping[str, Any]


_BOM = b"\xef\xbb\xbf"


def _body(kept: Any) -> Any:
    """The body of a request as the journal gives it, from what it kept: the bytes that came are
    parsed now (they were once already, to answer the request)."""
    if type(kept) is bytes:
        return orjson.loads(kept[len(_BOM) :] if kept.startswith(_BOM) else kept)
    if type(kept) is _SentWith:
        return {**_body(kept.raw), **kept.fields}
    return kept


_Entry: TypeAlias = tuple[
    str,
    str,
    Any,
    Mapping[str, str],
    int,
    str | None,
    str | None,
    str | None,
    tuple[NearMiss, ...],
    Delivery | None,
    Any,
    float,
    tuple[ContractProblem, ...],
    str | None,
]
"""A request as `Journal.add` keeps it: the fields of `RecordedRequest`, in order, the body as
`_body` reads it."""


def _request(entry: _Entry) -> RecordedRequest:
    return RecordedRequest(entry[0], entry[1], _body(entry[2]), *entry[3:])


def _as_json(fields: _Entry) -> dict[str, Any]:
    """`RecordedRequest.as_json` of an entry's fields (of `_Entry`, the body as it is shown)."""
    method, path, body, headers, status, mock, error, api, near_misses, delivery, _, time, contract, reply = (
        fields
    )
    entry: dict[str, Any] = {
        "api": api,
        "method": method,
        "path": path,
        "status": status,
        "mock": mock,
        "error": error,
        "body": body.as_json() if isinstance(body, TruncatedBody) else body,
        "headers": redacted_headers(headers),
        "near_misses": [{"mock": miss.mock, "reasons": list(miss.reasons)} for miss in near_misses],
        "time": time,
        "contract": [problem.as_json() for problem in contract],
    }
    if reply is not None:
        entry["reply"] = reply
    if delivery is not None:
        entry["events_sent"] = delivery.events_sent
        entry["events_total"] = delivery.events_total
        entry["fault"] = delivery.fault
        entry["ttfb_ms"] = delivery.ttfb_ms
        entry["duration_ms"] = delivery.duration_ms
        entry["client_left"] = delivery.client_left
    return entry


UNWRITABLE_BODY: Final[dict[str, Any]] = {"truncated": True, "reason": "nested too deeply to write as JSON"}
"""What a journal entry shows for a body orjson parsed but cannot write (it parses JSON nested
deeper than it writes, and an agent may send such a body)."""


def _json_bytes(entry: _Entry) -> bytes:
    """`RecordedRequest.as_json` of a kept entry, as `Journal.newer_than` gives it."""
    kept = entry[2]
    if type(kept) is bytes:  # the JSON the body was parsed from: written as it came, not parsed again
        body = kept[len(_BOM) :] if kept.startswith(_BOM) else kept
    else:
        shown = _body(kept)
        try:
            body = orjson.dumps(shown.as_json() if isinstance(shown, TruncatedBody) else shown)
        except orjson.JSONEncodeError:  # orjson parses JSON nested deeper than it writes
            body = orjson.dumps(UNWRITABLE_BODY)
    fields = _as_json(entry)
    del fields["body"]
    return orjson.dumps(fields) + b"\n" + body


class Journal:
    """A bounded, append-only log of requests (oldest dropped first).

    The server adds each request as a tuple, and a `RecordedRequest` is made of it when the journal
    is read: on the request path, building the dataclass cost three times what the tuple does.

    A body is kept as the bytes that came, and parsed again when the journal is read: parsed, a body
    of many small objects takes twenty times its size, and a full journal of them gigabytes.
    ``max_body_bytes``: a body larger than this is kept as a `TruncatedBody` (its size and first
    bytes), so that a full journal holds at most that many bytes of each body; None keeps every
    body whole.
    """

    def __init__(self, maxlen: int = 10_000, *, max_body_bytes: int | None = None) -> None:
        self._records: deque[_Entry] = deque(maxlen=maxlen)
        self.enabled = maxlen > 0
        """A journal of size 0 records nothing, and the server skips building entries for it."""
        self.max_body_bytes = max_body_bytes
        self._watchers: list[Callable[[], None]] = []
        self.clears = 0
        """How many times the journal was emptied (`clear`): a watcher learns of it by the count."""
        self.added = 0
        """How many requests were recorded while watched (the dropped and cleared ones too), the
        journal's entries when the first watcher came included: `since` reads the ones recorded
        after a count of them. Not counted while no one watches, which then costs nothing."""

    def watch(self, watcher: Callable[[], None]) -> None:
        """Call ``watcher()`` after each request recorded from now on (the events feed of the trace
        viewer, which reads them with `since` when it is ready to). While no one watches,
        recording does nothing more than keep the tuple."""
        if not self._watchers:
            self.added = len(self._records)  # what happened unwatched is numbered from here on
        self._watchers.append(watcher)

    def unwatch(self, watcher: Callable[[], None]) -> None:
        self._watchers.remove(watcher)

    @property
    def watched(self) -> bool:
        """Whether anyone watches the requests as they are recorded."""
        return bool(self._watchers)

    def since(self, count: int, limit: int | None = None) -> list[RecordedRequest]:
        """The requests recorded after the first ``count`` (`added` as it was), oldest first, at
        most ``limit`` of them; those dropped or cleared since are not among them."""
        records = self._records
        first = max(count, self.added - len(records))
        last = self.added if limit is None else min(self.added, first + limit)
        offset = self.added - len(records)
        return [_request(records[position - offset]) for position in range(first, last)]

    def add(
        self,
        method: str,
        path: str,
        body: Any,
        raw: bytes,
        headers: Mapping[str, str],
        status: int,
        mock: str | None,
        error: str | None,
        api: str | None,
        near_misses: tuple[NearMiss, ...],
        delivery: Delivery | None,
        mock_model: Any = None,
        contract: tuple[ContractProblem, ...] = (),
        url_fields: Mapping[str, Any] | None = None,
        reply: str | None = None,
    ) -> None:
        """Record a request (the fields of `RecordedRequest`) whose ``body`` was parsed from ``raw``
        (None when it was not, or not yet), then given ``url_fields`` (the fields its route's URL
        carries) by the route."""
        limit = self.max_body_bytes
        kept: Any
        if limit is not None and len(raw) > limit:
            kept = TruncatedBody(len(raw), raw[:limit].decode("utf-8", "replace"))
        elif body is None:
            kept = None
        elif url_fields:
            kept = _SentWith(raw, url_fields)
        else:
            kept = raw
        kept_entry: _Entry = (
            method,
            path,
            kept,
            headers,
            status,
            mock,
            error,
            api,
            near_misses,
            delivery,
            mock_model,
            _now(),
            contract,
            reply,
        )
        self._records.append(kept_entry)
        if self._watchers:
            self.added += 1
            for watcher in self._watchers:
                watcher()

    def record(self, entry: RecordedRequest) -> None:
        """Record a request made into a `RecordedRequest` already (its body parsed)."""
        kept_entry: _Entry = (
            entry.method,
            entry.path,
            entry.body,
            entry.headers,
            entry.status,
            entry.mock,
            entry.error,
            entry.api,
            entry.near_misses,
            entry.delivery,
            entry.mock_model,
            entry.time,
            entry.contract,
            entry.reply,
        )
        self._records.append(kept_entry)
        if self._watchers:
            self.added += 1
            for watcher in self._watchers:
                watcher()

    @property
    def maxlen(self) -> int:
        """How many requests it keeps."""
        return self._records.maxlen or 0

    def clear(self) -> None:
        self._records.clear()
        self.clears += 1
        for watcher in self._watchers:
            watcher()

    def newer_than(self, last: object | None) -> tuple[list[bytes], object | None]:
        """The requests recorded after the one ``last`` marks (all of them when it is gone or None),
        oldest first, and the mark of the newest: how a shared store is sent what is new, off the
        request path. Each is the JSON of `RecordedRequest.as_json` without ``body``, a newline,
        and the body's JSON: a body kept as the bytes that came is sent as they are, not parsed
        again, and read back at the depth it was parsed at."""
        records = self._records
        if not records:
            return [], None
        newer = []
        for entry in reversed(records):
            if entry is last:
                break
            newer.append(entry)
        newer.reverse()
        return [_json_bytes(entry) for entry in newer], records[-1]

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter([_request(entry) for entry in list(self._records)])

    def __len__(self) -> int:
        return len(self._records)

    def answered_by(self, mock_model: Any) -> list[RecordedRequest]:
        """The requests the mock ``mock_model`` (the config model itself) answered, oldest first:
        only their bodies are parsed."""
        return [_request(entry) for entry in list(self._records) if entry[10] is mock_model]

    @property
    def unmatched(self) -> list[RecordedRequest]:
        return [_request(entry) for entry in list(self._records) if entry[5] is None]
