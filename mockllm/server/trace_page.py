"""The trace viewer's page: served live at ``GET /__mockllm/ui``, and written as a self-contained
file (the same page with a journal embedded) for a failed test.

The page is three plain files in ``ui/`` beside this module (HTML, CSS, JavaScript; no framework,
no build step), put together into one document here: its style and script inline, so the file a
test leaves opens from disk with no server and no network. Live, the script reads the journal from
the admin API and follows ``GET /__mockllm/events``; embedded, it reads the document's own data.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import orjson

__all__ = ["trace_document", "viewer_page"]

_DATA_MARK = "<!-- trace data -->"
_STYLE_MARK = "/* trace.css */"
_SCRIPT_MARK = "/* trace.js */"


@cache
def _template() -> str:
    ui = files(__package__ or "mockllm.server") / "ui"
    page = (ui / "index.html").read_text(encoding="utf-8")
    style = (ui / "trace.css").read_text(encoding="utf-8")
    script = (ui / "trace.js").read_text(encoding="utf-8")
    return page.replace(_STYLE_MARK, style).replace(_SCRIPT_MARK, script)


def viewer_page() -> str:
    """The live page: it reads the journal from the server that serves it."""
    return _template().replace(_DATA_MARK, "")


def trace_document(
    requests: list[dict[str, Any]],
    *,
    title: str,
    mocks: dict[str, Any] | None = None,
    suggestions: dict[int, dict[str, Any]] | None = None,
) -> str:
    """The page with a journal embedded, for a file that opens with no server.

    ``requests``: journal entries as ``GET /__mockllm/requests`` gives them; ``mocks``: the mocks
    that answered, by label (what the page shows as each request's answer); ``suggestions``: a
    "Mock this" suggestion (`mockllm.mock_this.MockSuggestion.as_json`) per position of an
    unmatched request."""
    data = {
        "title": title,
        "requests": requests,
        "mocks": mocks or {},
        "suggestions": {str(position): value for position, value in (suggestions or {}).items()},
    }
    # Inside <script>, "</" could end the element early; JSON lets "<" be written as an escape.
    text = orjson.dumps(data).decode().replace("<", "\\u003c")
    embedded = f'<script type="application/json" id="mockllm-trace">{text}</script>'
    return _template().replace(_DATA_MARK, embedded)
