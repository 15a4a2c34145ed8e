"""The request report: what a server received, readable in a failed test's output.

Shared by the pytest fixture (a failed test's ``mockllm requests`` section, strict mode) and the
assertion helpers of a mock's handle, so that every failure explains itself the same way.
Credentials never appear in it: header values are shown redacted.
"""

from __future__ import annotations

from collections.abc import Iterable

from .adapter import ApiAdapter
from .journal import RecordedRequest
from .registry import ADAPTERS

__all__ = ["describe_request", "describe_requests"]

_TRANSPORT_HEADERS = frozenset(
    {"accept", "accept-encoding", "connection", "content-length", "content-type", "host", "user-agent"}
)
"""Headers every SDK sends that never explain a miss: left out of the report to keep it short."""
_HANDLERS: dict[str, ApiAdapter] = {str(key): adapter for key, adapter in ADAPTERS.items()}


def describe_requests(records: Iterable[RecordedRequest], where: str) -> str:
    """``records`` as a numbered list, each unmatched one with why it missed; ``where`` names the
    server ("the mock server at http://…")."""
    records = list(records)
    if not records:
        return f"{where} received no requests"
    lines = [f"{where} received {len(records)} request(s):"]
    for number, record in enumerate(records, 1):
        lines.append(f"{number}. {describe_request(record)}")
    return "\n".join(lines)


def describe_request(record: RecordedRequest, indent: str = "   ") -> str:
    """One request: its route and outcome, then what it asked, or why nothing answered it."""
    if record.mock is not None:
        outcome = f'mock "{record.mock}"'
    else:
        outcome = "server error" if record.server_error else "no mock"
    delivered = str(record.delivery) if record.delivery is not None else ""
    if delivered:
        outcome += f", {delivered}"
    lines = [f"{record.method} {record.path} -> {record.status}, {outcome}"]
    asked = _asked(record)
    if asked and record.error is None:
        lines.append(f"{indent}{asked}")
    if record.reply is not None:
        lines.append(f"{indent}reply: {record.reply}")
    if record.error is not None:
        lines.append(f"{indent}{record.error}")
    elif record.contract:  # a refused request's error lists them already
        lines.extend(f"{indent}contract: {problem}" for problem in record.contract)
    lines.extend(f"{indent}{miss}" for miss in record.near_misses)
    if record.mock is None:
        # A header rule or a missing key is a common reason for a miss; the SDK's own headers are not.
        shown = {
            name: value
            for name, value in record.redacted_headers().items()
            if name not in _TRANSPORT_HEADERS and not name.startswith("x-stainless-")
        }
        if shown:
            listed = ", ".join(f"{name}: {value}" for name, value in shown.items())
            lines.append(f"{indent}headers: {listed}")
    return "\n".join(lines)


def _asked(record: RecordedRequest) -> str:
    """What the request asked, as its API's adapter tells it (the last message, the input, …)."""
    body = record.body
    adapter = _HANDLERS.get(record.api or "")
    if not isinstance(body, dict) or adapter is None:
        return ""
    stream = " (stream)" if body.get("stream") is True else ""
    try:
        return adapter.describe(body) + stream
    except (TypeError, ValueError, AttributeError, IndexError, KeyError):  # a body its API refused
        return ""
