"""Putting load on the servers and timing it: wrk runs, the streaming client, sequential
latency samples, percentiles, and the loop that measures every server on one workload."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import math
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import orjson
from servers import (
    HOST,
    SERVER_LABELS,
    BenchError,
    Pinning,
    ServerKind,
    free_port,
    log_tail,
    start_process,
    stop_process,
    url_printed,
    verify,
    wait_ready,
)
from workloads import HEADERS, PATH, Workload

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

# A sampling client gives up on a server after this many failed requests.
MAX_SAMPLE_FAILURES = 5
STREAM_BUDGET_S = 30.0


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
            if time.monotonic() > deadline or timings.failures >= MAX_SAMPLE_FAILURES:
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


# --------------------------------------------------------------------------- sequential client


@dataclass
class LatencySample:
    """Sequential requests on one kept-alive connection; times in ms of those that got the expected status."""

    times_ms: list[float] = field(default_factory=list)
    failures: int = 0
    cut_short: bool = False


def sample_latency(
    port: int, body: bytes, count: int, expect_status: int, budget: float, timeout: float = 10.0
) -> LatencySample:
    """Time ``count`` POSTs of ``body`` one after another, from writing the request to reading the
    whole answer. Bounded in count and in time, and given up on a server that keeps failing."""
    sample = LatencySample()
    # http.client opens the connection again by itself after an error or a "Connection: close".
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    deadline = time.monotonic() + budget
    try:
        for _ in range(count):
            if time.monotonic() > deadline or sample.failures >= MAX_SAMPLE_FAILURES:
                sample.cut_short = True
                break
            start = time.perf_counter()
            try:
                conn.request("POST", PATH, body=body, headers=HEADERS)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                sample.failures += 1
                conn.close()
                continue
            elapsed_ms = (time.perf_counter() - start) * 1000
            if response.status == expect_status:
                sample.times_ms.append(elapsed_ms)
            else:
                sample.failures += 1
    finally:
        conn.close()
    return sample


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
