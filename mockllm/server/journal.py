"""The requests a server saw, and what it answered: for assertions and failure reports."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Journal", "NearMiss", "RecordedRequest"]


@dataclass(frozen=True)
class NearMiss:
    """A mock that came close to an unmatched request, and the rules of it that failed."""

    mock: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f'Nearest mock "{self.mock}": ' + "; ".join(self.reasons) + "."


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

    @property
    def matched(self) -> bool:
        return self.mock is not None


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
