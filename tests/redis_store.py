"""A real ``redis-server`` on a free loopback port, for the tests of the shared state.

Under CI redis-server must be installed (.ci/run installs it); elsewhere the tests that need it are
skipped, with the reason, when it is missing. Each store runs without persistence, as a store in a
test environment usually does: stopped and started again, it comes back empty.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import on_ci

REDIS_SERVER = "redis-server"


def redis_or_skip() -> str:
    """The path of redis-server; skips (fails under CI) when it is not installed."""
    path = shutil.which(REDIS_SERVER)
    if path is not None:
        return path
    reason = (
        "redis-server not installed: the shared-state tests need a real Redis (apt-get install redis-server)"
    )
    if on_ci():
        pytest.fail(reason)  # CI installs it: its absence is a broken CI, not a reason to skip
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisStore:
    """One redis-server process on 127.0.0.1, which a test may stop and start again (same port)."""

    def __init__(self, executable: str, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"redis-server did not answer on port {self.port} within 10 s")

    def stop(self) -> None:
        """Kill it, as a crashed store goes: no goodbye to its clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def running_store(tmp_path: Path) -> Iterator[RedisStore]:
    store = RedisStore(redis_or_skip(), tmp_path)
    store.start()
    try:
        yield store
    finally:
        store.stop()
