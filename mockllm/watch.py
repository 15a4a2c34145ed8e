"""``mockllm serve --watch``: serve a config file's edits without a restart.

The file is polled (no dependency on a file-event library, and it works on every file system) and
read only once it has stayed the same for a whole poll interval, so that a file an editor or a
script is still writing is not read half-written. A bad edit keeps the old mocks; call counts of
the mocks an edit leaves alone carry over (`Runtime.keep_only`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .config import Config, ConfigError
from .server import MockServer

__all__ = ["POLL_INTERVAL", "file_signature", "watch_config"]

logger = logging.getLogger("mockllm")

POLL_INTERVAL = 0.25
"""Seconds between two looks at the file; an edit is served within about two of them."""

Signature = tuple[int, int, int] | str
"""A file's (mtime_ns, size, inode) — any write or replacement changes one of them — or, when it
cannot be looked at, why (a deleted file, say)."""


def file_signature(path: Path) -> Signature:
    try:
        stat = os.stat(path)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def watch_config(
    server: MockServer,
    path: Path,
    loaded: Signature,
    describe: Callable[[Config], str],
    say: Callable[[str], None] = _say,
) -> None:
    """Serve every edit of ``path`` until cancelled. ``loaded``: the file's signature taken before
    the served config was read from it (an edit made since is then served too). ``describe``: the
    mock counts of a config, for the line that says a reload worked."""
    seen = loaded
    changing: Signature | None = None  # the signature seen one poll ago, while it differs from seen
    while True:
        await asyncio.sleep(POLL_INTERVAL)
        now = file_signature(path)
        if now == seen:
            changing = None
            continue
        if now != changing:  # changed since the last poll: wait until it stays the same
            changing = now
            continue
        seen, changing = now, None
        if isinstance(now, str):
            say(f"mockllm: cannot read {path} ({now}): serving the mocks it had until it is back")
            continue
        try:
            await server.set_config_off_loop(path)
        except ConfigError as exc:
            say(f"{exc}\nmockllm: {path} not reloaded: serving the mocks it had before this edit")
            continue
        except Exception:  # a bug must not stop the server nor the watch: say it, keep watching
            logger.exception("reloading %s failed", path)
            continue
        # As at start: the served config lives until the next edit, so keep the collector from
        # re-scanning its objects (thousands of mocks) on every full collection.
        gc.freeze()
        say(f"mockllm: reloaded {path} ({describe(server.config)})")
