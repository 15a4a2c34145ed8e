"""The requests a server saw, and what it answered: for assertions and failure reports."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..matching import redacted_headers

__all__ = ["Delivery", "Journal", "NearMiss", "RecordedRequest"]


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
    """The kind of the mock's fault."""
    ttfb_ms: float | None = None
    """Milliseconds from the match to the first byte of the body (None when none was written)."""
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


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    body: Any
    """The parsed JSON body (``None`` when it was not JSON)."""
    headers: Mapping[str, str]
    """The request headers; names are read case-insensitively."""
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


class Journal:
    """A bounded, append-only log of requests (oldest dropped first)."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._records: deque[RecordedRequest] = deque(maxlen=maxlen)
        self.enabled = maxlen > 0
        """A journal of size 0 records nothing, and the server skips building entries for it."""

    def record(self, entry: RecordedRequest) -> None:
        self._records.append(entry)

    def clear(self) -> None:
        self._records.clear()

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return len(self._records)

    @property
    def unmatched(self) -> list[RecordedRequest]:
        return [r for r in self if r.mock is None]
