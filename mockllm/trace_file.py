"""The trace file a test leaves: the trace viewer's page with the test's journal embedded, one HTML
file that opens from disk with no server (``.mockllm/traces/<test id>.html``).

It holds what the page shows live: the requests, the mocks that answered them (their answers),
and a "Mock this" suggestion for each request that no mock matched.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .config import Config
from .mock_this import suggest_mock
from .server.added_mocks import labelled
from .server.events import writable_entry
from .server.journal import RecordedRequest
from .server.trace_page import trace_document

__all__ = ["TRACE_DIR", "trace_file_name", "write_trace"]

TRACE_DIR = Path(".mockllm") / "traces"
"""Where the pytest plugin writes trace files, under the rootdir."""
_LONGEST_NAME = 150


def trace_file_name(test_id: str) -> str:
    """A file name for ``test_id`` (a pytest node id): its characters that are unsafe in a file
    name replaced, and a long one shortened with a hash of the whole, so two ids never share one."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", test_id).strip("_.") or "test"
    if len(safe) > _LONGEST_NAME:
        digest = hashlib.sha1(test_id.encode(), usedforsecurity=False).hexdigest()[:12]
        safe = f"{safe[: _LONGEST_NAME - 13]}-{digest}"
    return safe + ".html"


def write_trace(path: Path, requests: Iterable[RecordedRequest], config: Config, *, title: str) -> Path:
    """Write the trace of ``requests`` (served from ``config``) to ``path``; gives ``path``."""
    records = list(requests)
    entries = [writable_entry(record.as_json()) for record in records]
    answered = {record.mock for record in records if record.mock is not None}
    mocks: dict[str, Any] = {}
    for _, _, label, mock in labelled(config):
        if label in answered and label not in mocks:
            mocks[label] = mock.model_dump(mode="json", exclude_defaults=True)
    suggestions: dict[int, dict[str, Any]] = {}
    for position, record in enumerate(records):
        if record.mock is None and record.api is not None and isinstance(record.body, dict):
            try:
                suggestions[position] = suggest_mock(record.api, record.body).as_json()
            except ValueError:
                continue
    document = trace_document(entries, title=title, mocks=mocks, suggestions=suggestions)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
