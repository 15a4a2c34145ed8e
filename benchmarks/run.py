#!/usr/bin/env python3
"""Load-test mockllm against a bare Sanic ceiling and aimock, and print Markdown tables.

Usage::

    python benchmarks/run.py [--duration 8] [--connections 32] [--servers mockllm,bare,aimock]

Every server runs as its own process on 127.0.0.1 and is driven by ``wrk``; the
streaming workload is also sampled by a small asyncio client in this script for
time-to-first-byte and total time. Only the standard library and orjson are
needed here; mockllm is started with ``<this interpreter> -m mockllm serve``.
See ``benchmarks/README.md`` for what is measured and the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import orjson

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
PATH = "/v1/chat/completions"
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer test"}
MODEL = "gpt-mock"
AIMOCK_PACKAGE = "@copilotkit/aimock"
AIMOCK_VERSION = "1.43.0"
# From the "engines" field of that version's package.json.
AIMOCK_MIN_NODE = (20, 15)
MANY_MOCKS = 10_000
# The streamed reply: 500 five-character words ("w000 " ... "w499 "). Each word is
# one "token"; aimock and the bare ceiling are told to emit one word per event.
STREAM_WORDS = 500
STREAM_CHUNK_CHARS = 5
STREAM_REPLY = "".join(f"w{i:03d} " for i in range(STREAM_WORDS))

MatchType = Literal["exact", "contains"]
ServerName = Literal["mockllm", "bare", "aimock"]
SERVER_LABELS: dict[str, str] = {"mockllm": "mockllm", "bare": "bare Sanic", "aimock": "aimock"}


class BenchError(Exception):
    """A server or a measurement failed; the harness reports it and moves on."""


# --------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Mock:
    """One configured answer: the text it matches on and the reply it gives."""

    needle: str
    reply: str


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    match_type: MatchType
    mocks: tuple[Mock, ...]
    user_text: str
    stream: bool = False

    @property
    def expected_reply(self) -> str:
        # Every workload is built so that only the last mock matches the request.
        return self.mocks[-1].reply

    def request_body(self) -> bytes:
        body: dict[str, Any] = {
            "model": MODEL,
            "messages": [{"role": "user", "content": self.user_text}],
        }
        if self.stream:
            body["stream"] = True
        return orjson.dumps(body)


def build_workloads() -> list[Workload]:
    # Zero-padded numbers keep every "hello NNNN" the same length, so none is a
    # substring of another; aimock's userMessage is a substring match and would
    # otherwise answer "hello 9999" with the mock for "hello 9".
    exact_many = tuple(Mock(f"hello {i:04d}", f"reply {i:04d}") for i in range(MANY_MOCKS))
    # Needles are fenced by "needle-" and "-x" so that only the last one occurs
    # in the request text.
    contains_many = tuple(Mock(f"needle-{i:04d}-x", f"reply {i:04d}") for i in range(MANY_MOCKS))
    last = MANY_MOCKS - 1
    workloads = [
        Workload("one", "1 mock, non-streaming", "exact", (Mock("hello 9999", "Hi there"),), "hello 9999"),
        Workload(
            "exact10k", f"{MANY_MOCKS:,} mocks, exact, last matches", "exact", exact_many, f"hello {last:04d}"
        ),
        Workload(
            "contains10k",
            f"{MANY_MOCKS:,} mocks, contains, last matches",
            "contains",
            contains_many,
            f"please find needle-{last:04d}-x in here",
        ),
        Workload(
            "stream",
            f"streaming, ~{STREAM_WORDS} tokens",
            "exact",
            (Mock("hello 9999", STREAM_REPLY),),
            "hello 9999",
            stream=True,
        ),
    ]
    for workload in workloads:
        # Under either server's rules (equality, or aimock's substring test) the
        # last mock must be the only one that matches, or the rows measure nothing.
        hits = [m for m in workload.mocks if m.needle in workload.user_text]
        if hits != [workload.mocks[-1]]:
            raise RuntimeError(f"workload {workload.key}: {len(hits)} mocks match its request")
    return workloads


def mockllm_config(workload: Workload) -> dict[str, Any]:
    """The kagent-compatible JSON config for mockllm."""
    mocks = []
    for i, mock in enumerate(workload.mocks):
        mocks.append(
            {
                "name": f"m{i}",
                "match": {
                    "match_type": workload.match_type,
                    "message": {"role": "user", "content": mock.needle},
                },
                "response": {
                    "id": f"chatcmpl-{i}",
                    "object": "chat.completion",
                    "created": 1700000000,
                    "model": MODEL,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": mock.reply},
                        }
                    ],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                },
            }
        )
    return {"openai": mocks}


def aimock_fixtures(workload: Workload) -> dict[str, Any]:
    """aimock's fixture file. ``userMessage`` is always a substring test on the
    text of the last user message; aimock has no exact mode for file fixtures."""
    return {
        "fixtures": [
            {"match": {"userMessage": mock.needle}, "response": {"content": mock.reply}}
            for mock in workload.mocks
        ]
    }


# --------------------------------------------------------------------------- processes


_RUNNING: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Pinning:
    """CPU placement: the server gets one core, the load generator another."""

    server_prefix: tuple[str, ...]
    client_prefix: tuple[str, ...]
    client_cpu: int | None
    description: str


def choose_pinning(enabled: bool) -> Pinning:
    taskset = shutil.which("taskset")
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not enabled:
        return Pinning((), (), None, "no CPU pinning (--no-pin)")
    if taskset is None or len(cpus) < 2:
        why = "taskset not found" if taskset is None else f"only {len(cpus)} CPU available"
        return Pinning((), (), None, f"no CPU pinning ({why}); server and wrk share cores")
    server_cpu, client_cpu = cpus[0], cpus[1]
    return Pinning(
        (taskset, "-c", str(server_cpu)),
        (taskset, "-c", str(client_cpu)),
        client_cpu,
        f"server pinned to CPU {server_cpu}, wrk and the timing client to CPU {client_cpu} (taskset)",
    )


def start_process(
    argv: Sequence[str], cwd: Path, log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        # A new session makes the server the leader of its own process group, so
        # stopping it also stops anything it forked (Sanic workers, npm shims).
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    _RUNNING.append(proc)
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    else:
        # The leader is gone; make sure no child it left behind still holds the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def stop_all() -> None:
    # stop_process removes each entry, so take from the end until none is left.
    while _RUNNING:
        stop_process(_RUNNING[-1])


def log_tail(log_path: Path, lines: int = 8) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def http_request(
    port: int, method: str, path: str, body: bytes | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    # http.client rather than urllib: urllib would honour *_proxy variables,
    # and every request here must go straight to 127.0.0.1.
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=HEADERS if body is not None else {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def url_printed(log_path: Path, port: int, grace: float = 2.0) -> bool:
    """Whether the server wrote its base URL to stdout (our log file)."""
    needle = f"{HOST}:{port}".encode()
    deadline = time.monotonic() + grace
    while True:
        with contextlib.suppress(OSError):
            if needle in log_path.read_bytes():
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def wait_ready(proc: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float) -> float:
    """Poll ``GET /health`` until 200; returns the start-up time in seconds."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"exited with code {proc.returncode} before it was ready: {log_tail(log_path)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = http_request(port, "GET", "/health", timeout=1.0)
            if status == 200:
                return time.monotonic() - started
        time.sleep(0.05)
    raise BenchError(f"not ready after {timeout:.0f}s: {log_tail(log_path)}")


# --------------------------------------------------------------------------- servers


@dataclass
class ServerKind:
    name: ServerName
    # Writes whatever config the server needs into the directory and returns argv.
    command: Callable[[Workload, int, Path], list[str]]
    cwd: Path
    skip_reason: str | None = None
    env: dict[str, str] | None = None
    # Whether the server promises to print its base URL on stdout once ready.
    prints_url: bool = False


def mockllm_kind(startup_check_timeout: float) -> ServerKind:
    # Filled in once `serve --help` has been read: pin one worker when the option exists.
    extra: list[str] = []

    def command(workload: Workload, port: int, workdir: Path) -> list[str]:
        config = workdir / f"mockllm-{workload.key}.json"
        config.write_bytes(orjson.dumps(mockllm_config(workload)))
        return [
            sys.executable,
            "-m",
            "mockllm",
            "serve",
            "--config",
            str(config),
            "--host",
            HOST,
            "--port",
            str(port),
            *extra,
        ]

    env = dict(os.environ)
    # Run from the repository root and put it on the path, so the working tree's
    # package is used whether or not it is installed into this interpreter.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    kind = ServerKind("mockllm", command, REPO_ROOT, env=env, prints_url=True)
    try:
        check = subprocess.run(
            [sys.executable, "-m", "mockllm", "serve", "--help"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            timeout=startup_check_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        kind.skip_reason = "`-m mockllm serve --help` timed out"
        return kind
    if check.returncode != 0:
        lines = (check.stderr or check.stdout).decode(errors="replace").strip().splitlines()
        kind.skip_reason = f"`-m mockllm serve --help` failed: {lines[-1] if lines else '?'}"
    elif b"--workers" in check.stdout:
        extra.extend(["--workers", "1"])
    return kind


def bare_kind() -> ServerKind:
    def command(workload: Workload, port: int, workdir: Path) -> list[str]:
        reply = workload.expected_reply
        return [
            sys.executable,
            str(BENCH_DIR / "bare_sanic.py"),
            "--host",
            HOST,
            "--port",
            str(port),
            "--reply",
            reply,
            "--stream-reply",
            reply,
            "--chunk-chars",
            str(STREAM_CHUNK_CHARS),
        ]

    return ServerKind("bare", command, BENCH_DIR)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mockllm-bench"


def install_aimock(version: str) -> tuple[Path | None, str]:
    """Install aimock into the user cache (outside the repository) once per version.

    Returns the path of its ``llmock`` entry point (the one that takes ``-f``
    fixture files) or None, and a human-readable note.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, (
            "Node.js/npm not found (aimock needs Node >= 20.15: apt-get install -y nodejs npm on "
            "Debian 13; Debian 12's nodejs 18 is too old)"
        )
    node_version = subprocess.run([node, "--version"], capture_output=True, check=False)
    node_text = node_version.stdout.decode().strip()
    found = tuple(int(part) for part in re.findall(r"\d+", node_text)[:2])
    if found < AIMOCK_MIN_NODE:
        need = ".".join(map(str, AIMOCK_MIN_NODE))
        return None, f"Node {node_text or '?'} is older than the {need} that aimock needs"
    prefix = cache_root() / f"aimock-{version}"
    package_dir = prefix / "node_modules" / "@copilotkit" / "aimock"
    manifest = package_dir / "package.json"
    installed = None
    if manifest.is_file():
        installed = orjson.loads(manifest.read_bytes()).get("version")
    if installed != version:
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "package.json").write_text('{"private": true}\n')
        print(f"installing {AIMOCK_PACKAGE}@{version} into {prefix} ...", flush=True)
        try:
            result = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    f"{AIMOCK_PACKAGE}@{version}",
                ],
                cwd=prefix,
                capture_output=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, "npm install timed out"
        if result.returncode != 0:
            err = result.stderr.decode(errors="replace").strip().splitlines()
            return None, f"npm install failed: {err[-1] if err else '?'}"
    if not manifest.is_file():
        return None, f"npm install left no {manifest.name} for {AIMOCK_PACKAGE}"
    bins = orjson.loads(manifest.read_bytes()).get("bin", {})
    entry = bins.get("llmock") if isinstance(bins, dict) else None
    if not isinstance(entry, str):
        return None, f"{AIMOCK_PACKAGE}@{version} has no llmock bin"
    return package_dir / entry, f"{AIMOCK_PACKAGE}@{version} on Node {node_text}"


def aimock_kind(version: str) -> tuple[ServerKind, str]:
    entry, note = install_aimock(version)
    node = shutil.which("node") or "node"

    def command(workload: Workload, port: int, workdir: Path) -> list[str]:
        fixtures = workdir / f"aimock-{workload.key}.json"
        fixtures.write_bytes(orjson.dumps(aimock_fixtures(workload)))
        # `llmock` is the bin that takes fixture files (`aimock` itself only takes
        # a --config file). --log-level silent: no per-request logging, like ours.
        # -c sets the characters per SSE event: one 5-character word per event.
        return [
            node,
            str(entry),
            "--host",
            HOST,
            "--port",
            str(port),
            "--fixtures",
            str(fixtures),
            "--chunk-size",
            str(STREAM_CHUNK_CHARS),
            "--log-level",
            "silent",
        ]

    kind = ServerKind("aimock", command, cache_root(), skip_reason=None if entry is not None else note)
    return kind, note


# --------------------------------------------------------------------------- checks


@dataclass
class SseSummary:
    events: int
    content: str
    done: bool


def parse_sse(body: bytes) -> SseSummary:
    events, done, pieces = 0, False, []
    for raw in body.split(b"\n"):
        line = raw.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            done = True
            continue
        events += 1
        chunk = orjson.loads(data)
        for choice in chunk.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if isinstance(piece, str):
                pieces.append(piece)
    return SseSummary(events, "".join(pieces), done)


def verify(port: int, workload: Workload) -> str:
    """Send the benchmark request once and check the answer before measuring.

    Returns a short note (e.g. the number of SSE events); raises BenchError when
    the status or the content is not what the matched mock says.
    """
    try:
        status, body = http_request(port, "POST", PATH, workload.request_body())
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"verification request failed: {exc!r}") from exc
    snippet = body[:200].decode(errors="replace")
    if status != 200:
        raise BenchError(f"verification got HTTP {status}: {snippet}")
    if workload.stream:
        try:
            sse = parse_sse(body)
        except orjson.JSONDecodeError as exc:
            raise BenchError(f"stream is not JSON SSE: {snippet}") from exc
        if not sse.done or sse.content != workload.expected_reply:
            raise BenchError(
                f"stream content mismatch (done={sse.done}, {len(sse.content)} chars): {snippet}"
            )
        return f"{sse.events} events"
    try:
        doc = orjson.loads(body)
        content = doc["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise BenchError(f"not a chat.completion: {snippet}") from exc
    if content != workload.expected_reply:
        raise BenchError(f"wrong mock answered: {content!r} != {workload.expected_reply!r}")
    return ""


# --------------------------------------------------------------------------- wrk

WRK_SCRIPT = """\
local f = assert(io.open(%(body_path)s, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer test"

-- One machine-readable line; latencies are in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,'
    .. '"max_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def write_wrk_script(workdir: Path, workload: Workload) -> Path:
    body_path = workdir / f"body-{workload.key}.json"
    body_path.write_bytes(workload.request_body())
    script = workdir / f"wrk-{workload.key}.lua"
    # A JSON string literal is also a valid Lua string literal for a plain path.
    script.write_text(WRK_SCRIPT % {"body_path": orjson.dumps(str(body_path)).decode()})
    return script


def run_wrk(
    wrk: str, pinning: Pinning, script: Path, port: int, args: argparse.Namespace, duration: int
) -> WrkResult:
    argv = [
        *pinning.client_prefix,
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://{HOST}:{port}{PATH}",
    ]
    try:
        out = subprocess.run(argv, capture_output=True, timeout=duration + 30, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError("wrk did not finish in time") from exc
    text = out.stdout.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            data = orjson.loads(line[len("BENCH_JSON ") :])
            seconds = data["duration_us"] / 1e6
            errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
            return WrkResult(
                rps=data["requests"] / seconds if seconds else 0.0,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                requests=data["requests"],
                errors=errors,
            )
    raise BenchError(
        f"wrk printed no result (exit {out.returncode}): "
        f"{(text + out.stderr.decode(errors='replace'))[-300:]}"
    )


# --------------------------------------------------------------------------- stream client


@dataclass
class StreamTimings:
    ttfb_ms: list[float] = field(default_factory=list)
    first_event_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    failures: int = 0
    cut_short: bool = False


def _raw_request(port: int, body: bytes) -> bytes:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer test\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, float, float, float, bool]:
    """One request on a kept-alive connection.

    Returns (status, first byte, first ``data:`` event, end, server closes), the
    three times in seconds after the request was written.
    """
    start = time.perf_counter()
    writer.write(request)
    await writer.drain()
    first = await reader.readexactly(1)
    t_first = time.perf_counter() - start
    head = first + await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    body = bytearray()
    t_event = math.nan

    def saw(data: bytes) -> None:
        nonlocal t_event
        body.extend(data)
        # Only the first event is timed; stop scanning once it has been seen.
        if math.isnan(t_event) and b"data:" in body:
            t_event = time.perf_counter() - start

    closes = headers.get("connection") == "close"
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                break
            saw(await reader.readexactly(size))
            await reader.readexactly(2)
    elif "content-length" in headers:
        remaining = int(headers["content-length"])
        while remaining:
            data = await reader.read(min(remaining, 1 << 16))
            if not data:
                raise BenchError("connection closed mid-body")
            remaining -= len(data)
            saw(data)
    else:
        while data := await reader.read(1 << 16):
            saw(data)
        closes = True
    return status, t_first, t_event, time.perf_counter() - start, closes


async def _sample_stream(port: int, body: bytes, count: int, timeout: float, budget: float) -> StreamTimings:
    timings = StreamTimings()
    request = _raw_request(port, body)
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    deadline = time.monotonic() + budget
    try:
        for _ in range(count):
            # Bounded in count and in time, and given up on a server that keeps failing.
            if time.monotonic() > deadline or timings.failures >= MAX_STREAM_FAILURES:
                timings.cut_short = True
                break
            if conn is None:
                conn = await asyncio.open_connection(HOST, port)
            try:
                status, ttfb, event, total, closes = await asyncio.wait_for(
                    _exchange(*conn, request), timeout
                )
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
                ValueError,
                BenchError,
            ):
                timings.failures += 1
                conn[1].close()
                conn = None
                continue
            if status != 200:
                timings.failures += 1
            else:
                timings.ttfb_ms.append(ttfb * 1000)
                timings.first_event_ms.append(event * 1000)
                timings.total_ms.append(total * 1000)
            if closes:
                conn[1].close()
                conn = None
    finally:
        if conn is not None:
            conn[1].close()
    return timings


MAX_STREAM_FAILURES = 5
STREAM_BUDGET_S = 30.0


def sample_stream(port: int, workload: Workload, count: int) -> StreamTimings:
    # Sequential requests on one connection: this is latency, not throughput.
    return asyncio.run(
        _sample_stream(port, workload.request_body(), count, timeout=10.0, budget=STREAM_BUDGET_S)
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for an empty sample."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- driver


@dataclass
class Cell:
    """One server on one workload."""

    server: str
    workload: str
    status: Literal["ok", "failed", "skipped"] = "ok"
    reason: str = ""
    startup_s: float = math.nan
    note: str = ""
    rounds: list[WrkResult] = field(default_factory=list)
    stream: StreamTimings | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def wrk(self) -> WrkResult | None:
        """The best round: other load on the machine only ever lowers a result."""
        return max(self.rounds, key=lambda r: r.rps) if self.rounds else None


@dataclass
class Live:
    """A started, verified server."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path


def start_verified(
    kind: ServerKind,
    workload: Workload,
    cell: Cell,
    args: argparse.Namespace,
    pinning: Pinning,
    workdir: Path,
) -> Live:
    """Start one server for a workload and check it answers the benchmark request correctly."""
    port = free_port()
    log_path = workdir / f"{kind.name}-{workload.key}.log"
    argv = [*pinning.server_prefix, *kind.command(workload, port, workdir)]
    proc = start_process(argv, kind.cwd, log_path, kind.env)
    try:
        cell.startup_s = wait_ready(proc, port, log_path, args.startup_timeout)
        if kind.prints_url and not url_printed(log_path, port):
            # Tools that wait for the URL on a pipe would hang if it is missing
            # or stuck in a block buffer.
            cell.warnings.append("base URL not seen on stdout within 2s of /health answering")
        cell.note = verify(port, workload)
    except BaseException:
        stop_process(proc)
        raise
    return Live(proc, port, log_path)


def run_workload(
    kinds: Sequence[ServerKind],
    workload: Workload,
    args: argparse.Namespace,
    wrk: str,
    pinning: Pinning,
    workdir: Path,
) -> list[Cell]:
    """Measure every server on one workload.

    All servers are started first and stay up (an idle server costs nothing);
    the wrk runs then go round the servers ``--rounds`` times, so a burst of
    other work on the machine hits every server alike rather than one of them.
    A server's result is its best round.
    """
    cells: dict[str, Cell] = {kind.name: Cell(kind.name, workload.key) for kind in kinds}
    live: dict[str, Live] = {}

    def fail(name: str, reason: str) -> None:
        cells[name].status, cells[name].reason = "failed", reason
        if name in live:
            stop_process(live.pop(name).proc)

    try:
        for kind in kinds:
            cell = cells[kind.name]
            if kind.skip_reason:
                cell.status, cell.reason = "skipped", kind.skip_reason
                continue
            try:
                live[kind.name] = start_verified(kind, workload, cell, args, pinning, workdir)
            except BenchError as exc:
                fail(kind.name, str(exc))
            except OSError as exc:
                fail(kind.name, f"could not start: {exc}")
        script = write_wrk_script(workdir, workload)
        for round_no in range(args.rounds):
            for name in list(live):
                server = live[name]
                try:
                    if round_no == 0 and args.warmup > 0:
                        run_wrk(wrk, pinning, script, server.port, args, args.warmup)
                    result = run_wrk(wrk, pinning, script, server.port, args, args.duration)
                    if server.proc.poll() is not None:
                        raise BenchError(f"died during the load run: {log_tail(server.log_path)}")
                except BenchError as exc:
                    fail(name, str(exc))
                    continue
                cells[name].rounds.append(result)
                print(
                    f"  {workload.title} / {SERVER_LABELS[name]}, round {round_no + 1}: "
                    f"{result.rps:,.0f} req/s",
                    flush=True,
                )
        if workload.stream and args.stream_requests > 0:
            for name, server in live.items():
                timings = sample_stream(server.port, workload, args.stream_requests)
                cells[name].stream = timings
                if timings.cut_short:
                    cells[name].warnings.append(
                        f"stream sampling stopped early after {len(timings.total_ms)} requests "
                        f"({timings.failures} failed)"
                    )
    finally:
        for server in live.values():
            stop_process(server.proc)
    for cell in cells.values():
        if cell.status == "failed":
            print(
                f"  {workload.title} / {SERVER_LABELS[cell.server]}: failed: {cell.reason[:200]}", flush=True
            )
    return list(cells.values())


def fmt(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def fmt_ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def ratio(num: float | None, den: float | None) -> float:
    if num is None or den is None or den == 0 or math.isnan(num) or math.isnan(den):
        return math.nan
    return num / den


def rps_of(cells: dict[tuple[str, str], Cell], server: str, workload: str) -> float | None:
    cell = cells.get((server, workload))
    return cell.wrk.rps if cell is not None and cell.wrk is not None else None


def render(cells: dict[tuple[str, str], Cell], workloads: list[Workload], servers: Sequence[str]) -> str:
    out: list[str] = []
    out.append(
        "| Workload | Server | req/s | p50 ms | p99 ms | errors | ready s | ours / bare | ours / aimock |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for workload in workloads:
        for server in servers:
            cell = cells[(server, workload.key)]
            label = SERVER_LABELS[server]
            if cell.wrk is None:
                out.append(f"| {workload.title} | {label} | {cell.status} | | | | | | |")
                continue
            ours = rps_of(cells, "mockllm", workload.key)
            vs_bare = vs_aimock = ""
            if server == "mockllm":
                vs_bare = fmt_ratio(ratio(ours, rps_of(cells, "bare", workload.key)))
                vs_aimock = fmt_ratio(ratio(ours, rps_of(cells, "aimock", workload.key)))
            w = cell.wrk
            out.append(
                f"| {workload.title} | {label} | {fmt(w.rps, 0)} | {fmt(w.p50_ms)} | "
                f"{fmt(w.p99_ms)} | {w.errors} | {fmt(cell.startup_s, 1)} | {vs_bare} | {vs_aimock} |"
            )
    stream = [w for w in workloads if w.stream]
    if stream:
        out.append("")
        out.append(
            f"Streaming, sequential client on one kept-alive connection ({stream[0].title}); times in ms:"
        )
        out.append("")
        out.append(
            "| Server | SSE events | TTFB p50 | TTFB p99 | first event p50 | total p50 | total p99 | failed |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for server in servers:
            cell = cells[(server, stream[0].key)]
            t = cell.stream
            if t is None:
                out.append(f"| {SERVER_LABELS[server]} | {cell.status} | | | | | | |")
                continue
            out.append(
                f"| {SERVER_LABELS[server]} | {cell.note.split()[0] if cell.note else '?'} | "
                f"{fmt(percentile(t.ttfb_ms, 50))} | {fmt(percentile(t.ttfb_ms, 99))} | "
                f"{fmt(percentile(t.first_event_ms, 50))} | {fmt(percentile(t.total_ms, 50))} | "
                f"{fmt(percentile(t.total_ms, 99))} | {t.failures} |"
            )
    return "\n".join(out)


def render_targets(cells: dict[tuple[str, str], Cell]) -> str:
    def line(name: str, value: float, goal: float, higher_is_better: bool = True) -> str:
        if math.isnan(value):
            verdict = "n/a "
        else:
            ok = value >= goal if higher_is_better else value <= goal
            verdict = "PASS" if ok else "FAIL"
        sign = ">=" if higher_is_better else "<="
        return f"- {verdict} {name}: {fmt(value)} ({sign} {goal:g})"

    ours_one = rps_of(cells, "mockllm", "one")
    stream_ours = cells.get(("mockllm", "stream"))
    stream_aimock = cells.get(("aimock", "stream"))
    total_ours = (
        percentile(stream_ours.stream.total_ms, 50) if (stream_ours and stream_ours.stream) else math.nan
    )
    total_aimock = (
        percentile(stream_aimock.stream.total_ms, 50)
        if (stream_aimock and stream_aimock.stream)
        else math.nan
    )
    return "\n".join(
        [
            line("1 mock: ours / aimock req/s", ratio(ours_one, rps_of(cells, "aimock", "one")), 1.2),
            line("1 mock: ours / bare Sanic req/s", ratio(ours_one, rps_of(cells, "bare", "one")), 0.85),
            line("10k exact / our 1 mock req/s", ratio(rps_of(cells, "mockllm", "exact10k"), ours_one), 0.9),
            line(
                "10k contains / our 1 mock req/s",
                ratio(rps_of(cells, "mockllm", "contains10k"), ours_one),
                0.5,
            ),
            line(
                "streaming total p50: ours / aimock",
                ratio(total_ours, total_aimock),
                1.0,
                higher_is_better=False,
            ),
        ]
    )


# Above this 1-minute load average something else is using a core we measure on.
BUSY_LOAD = 0.5


def load_note() -> str:
    """The load average, with a warning when other work will skew the numbers."""
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        return f"WARNING: load average {load:.2f} (other processes are busy; numbers will be noisy)"
    return f"load average {load:.2f}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark mockllm vs bare Sanic vs aimock.")
    # wrk only takes whole seconds (a "0.5s" duration is a usage error), hence int.
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument(
        "--warmup", type=int, default=1, help="seconds of unmeasured wrk load before each run (0: none)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="wrk runs per server, interleaved across servers; best is kept"
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t")
    parser.add_argument(
        "--stream-requests",
        type=int,
        default=200,
        help="sequential streaming requests timed by the built-in client",
    )
    parser.add_argument(
        "--servers", default="mockllm,bare,aimock", help="comma-separated subset of mockllm,bare,aimock"
    )
    parser.add_argument(
        "--workloads",
        default="one,exact10k,contains10k,stream",
        help="comma-separated subset of one,exact10k,contains10k,stream",
    )
    parser.add_argument("--aimock-version", default=AIMOCK_VERSION)
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds to wait for GET /health")
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 120:
        parser.error("--duration must be in [1, 120] seconds")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be in [1, 10]")
    if not 0 <= args.warmup <= 30:
        parser.error("--warmup must be in [0, 30] seconds")
    if not 0 <= args.stream_requests <= 10_000:
        parser.error("--stream-requests must be in [0, 10000]")
    if not 1 <= args.threads <= args.connections <= 1024:
        parser.error("need 1 <= --threads <= --connections <= 1024")
    return args


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Turn SIGINT/SIGTERM/SIGHUP into an exception so the finally blocks stop the servers.

    SIGINT is set explicitly too: a shell starts background jobs with SIGINT
    ignored, and Python then never raises KeyboardInterrupt on Ctrl-C.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "skipped: wrk not found. Install it with: apt-get update && apt-get install -y wrk"
            " (macOS: brew install wrk)"
        )
        return 0
    selected_servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    selected_workloads = {w.strip() for w in args.workloads.split(",") if w.strip()}
    workloads = [w for w in build_workloads() if w.key in selected_workloads]
    unknown = (set(selected_servers) - set(SERVER_LABELS)) | (selected_workloads - {w.key for w in workloads})
    if unknown or not selected_servers or not workloads:
        print(f"nothing to run: unknown or no servers/workloads {sorted(unknown)}", file=sys.stderr)
        return 2

    began = time.monotonic()
    kinds: list[ServerKind] = []
    notes: list[str] = []
    for name in selected_servers:
        if name == "mockllm":
            kinds.append(mockllm_kind(args.startup_timeout))
        elif name == "bare":
            kinds.append(bare_kind())
        else:
            kind, note = aimock_kind(args.aimock_version)
            kinds.append(kind)
            if kind.skip_reason is None:
                notes.append(f"aimock: {note}")

    pinning = choose_pinning(not args.no_pin)
    if pinning.client_cpu is not None:
        # The timing client runs in this process; keep it off the server's core.
        os.sched_setaffinity(0, {pinning.client_cpu})
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, check=False)
    wrk_line = (wrk_version.stdout or wrk_version.stderr).decode(errors="replace")
    print(
        f"# mockllm benchmark\n\n- python {platform.python_version()}, "
        f"{wrk_line.splitlines()[0] if wrk_line else 'wrk'}\n- {pinning.description}\n"
        f"- wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.warmup}s warm-up, "
        f"best of {args.rounds} round(s) interleaved across the servers; one server under load at a time\n"
        f"- {load_note()}\n",
        flush=True,
    )

    cells: dict[tuple[str, str], Cell] = {}
    try:
        with terminate_on_signals(), tempfile.TemporaryDirectory(prefix="mockllm-bench-") as tmp:
            workdir = Path(tmp)
            for workload in workloads:
                print(f"- {workload.title}", flush=True)
                for cell in run_workload(kinds, workload, args, wrk, pinning, workdir):
                    cells[(cell.server, workload.key)] = cell
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        stop_all()

    names = [k.name for k in kinds]
    print("\n## Results\n")
    print(render(cells, workloads, names))
    print("\n## Targets\n")
    print(render_targets(cells))
    problems: list[str] = []
    for c in cells.values():
        if c.status == "failed":
            problems.append(f"- {SERVER_LABELS[c.server]} / {c.workload}: failed: {c.reason}")
        elif c.status == "skipped":
            # A skip applies to every workload of that server; say it once.
            problems.append(f"- {SERVER_LABELS[c.server]}: skipped: {c.reason}")
        problems.extend(f"- {SERVER_LABELS[c.server]} / {c.workload}: {w}" for w in c.warnings)
    problems = list(dict.fromkeys(problems))
    if any(k.name == "aimock" and k.skip_reason is None for k in kinds):
        notes.append(
            "aimock's `userMessage` is a substring test on the last user message and it "
            "checks every fixture on every request; mockllm's exact rows use deep equality."
        )
    print("\n## Notes\n")
    print("\n".join(f"- {n}" for n in notes))
    if problems:
        print("\n".join(problems))
    print(f"\n_total wall time {time.monotonic() - began:.0f}s; at the end: {load_note()}_")
    if args.json is not None:
        # orjson serialises the dataclasses as objects and NaN as null.
        args.json.write_bytes(
            orjson.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "cells": list(cells.values())},
                option=orjson.OPT_INDENT_2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
