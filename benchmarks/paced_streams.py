"""Many paced streams at once: does ``timing`` hold when a thousand clients stream together?

Starts ``mockllm serve`` (one worker) with one chat mock whose reply streams about 50 SSE events
with ``timing: {"ttft_ms": 200, "chunk_interval_ms": 20}``, opens ``--streams`` concurrent
streaming requests from one asyncio client on raw sockets, and reports per stream the time to the
first body byte, the total duration, the events received and whether the stream completed. See
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import orjson
from load import percentile
from report import fmt, load_note
from servers import (
    HOST,
    REPO_ROOT,
    BenchError,
    choose_pinning,
    free_port,
    http_request,
    log_tail,
    measure_in_workdir,
    mockllm_command,
    mockllm_env,
    parse_sse,
    start_process,
    stop_process,
    wait_ready,
)
from workloads import PATH, Mock, chat_request, mockllm_mock

TTFT_MS = 200
CHUNK_INTERVAL_MS = 20
# 47 short words: a role chunk, one chunk per word, a finish chunk and [DONE] make 50 events.
REPLY_WORDS = 47
REPLY = " ".join(f"w{i:02d}" for i in range(REPLY_WORDS))
USER_TEXT = "paced hello"
EXPECTED_EVENTS = 50
# Targets from the issue.
TTFB_SLACK_MS = 25.0
DURATION_TOLERANCE = 0.10
# Whole run, and each stream, are bounded in time.
RUN_BUDGET_S = 120.0
STREAM_TIMEOUT_S = 60.0
READ_SIZE = 1 << 16


def config() -> dict[str, Any]:
    mock = mockllm_mock(0, "exact", Mock(USER_TEXT, REPLY))
    mock["timing"] = {"ttft_ms": TTFT_MS, "chunk_interval_ms": CHUNK_INTERVAL_MS}
    return {"openai": [mock]}


def configured_ms(events: int) -> float:
    """What a stream of ``events`` events should take: ttft, then one pause between events."""
    return TTFT_MS + max(events - 1, 0) * CHUNK_INTERVAL_MS


@dataclass
class StreamResult:
    index: int
    # Seconds after the client's start at which the request was written.
    sent_at_s: float = math.nan
    connect_ms: float = math.nan
    # From writing the request: to the first byte of the body, and to the end of the stream.
    ttfb_ms: float = math.nan
    duration_ms: float = math.nan
    events: int = 0
    status: int = 0
    completed: bool = False
    error: str = ""

    @property
    def within_tolerance(self) -> bool:
        goal = configured_ms(self.events)
        return self.completed and abs(self.duration_ms - goal) <= DURATION_TOLERANCE * goal


def decode_chunked(body: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


class StreamProtocol(asyncio.Protocol):
    """One streaming request on its own connection, timed in the transport's callbacks.

    A protocol rather than asyncio streams: no coroutine is resumed per read, which keeps the
    client's cost per event small next to the server's.
    """

    def __init__(self, request: bytes, result: StreamResult, began: float) -> None:
        self.request, self.result, self.began = request, result, began
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.head = bytearray()
        self.body = bytearray()
        self.headers: dict[str, str] | None = None
        self.start = self.first = math.nan
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, though they behave as one.
        self.transport = cast(asyncio.Transport, transport)
        self.start = time.perf_counter()
        self.result.sent_at_s = self.start - self.began
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.headers is None:
            self.head += data
            cut = self.head.find(b"\r\n\r\n")
            if cut < 0:
                return
            lines = self.head[:cut].decode("latin-1").split("\r\n")
            self.result.status = int(lines[0].split()[1])
            self.headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    self.headers[name.strip().lower()] = value.strip().lower()
            data = bytes(self.head[cut + 4 :])
            if not data:
                return
        if math.isnan(self.first):
            self.first = time.perf_counter()
        self.body += data
        if self.headers.get("transfer-encoding") == "chunked":
            # The last chunk: a zero size line after the previous chunk's CRLF, and no trailers.
            ended = self.body.endswith(b"\r\n0\r\n\r\n") or self.body == b"0\r\n\r\n"
        else:
            ended = len(self.body) >= int(self.headers.get("content-length", "-1")) >= 0
        if ended:
            self.finish(complete=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.finish(complete=False, error=f"connection lost: {exc!r}" if exc else "connection closed")

    def finish(self, complete: bool, error: str = "") -> None:
        if self.finished.done():
            return
        end = time.perf_counter()
        result = self.result
        result.ttfb_ms = (self.first - self.start) * 1000
        result.duration_ms = (end - self.start) * 1000
        headers = self.headers or {}
        payload = bytes(self.body)
        if headers.get("transfer-encoding") == "chunked" and complete:
            try:
                payload = decode_chunked(payload)
            except ValueError:
                complete, error = False, "malformed chunked body"
        result.events = sum(1 for line in payload.split(b"\n") if line.startswith(b"data:"))
        result.completed = complete and result.status == 200 and payload.rstrip().endswith(b"data: [DONE]")
        if not result.completed:
            result.error = error or f"HTTP {result.status}, {result.events} events, stream not finished"
        self.finished.set_result(None)
        if self.transport is not None:
            self.transport.close()


async def one_stream(port: int, request: bytes, result: StreamResult, began: float) -> None:
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    protocol = StreamProtocol(request, result, began)
    transport, _ = await loop.create_connection(lambda: protocol, HOST, port)
    result.connect_ms = (protocol.start - t0) * 1000
    try:
        await protocol.finished
    finally:
        transport.close()


async def run_streams(port: int, count: int, ramp_s: float, budget_s: float) -> list[StreamResult]:
    body = chat_request(USER_TEXT, stream=True)
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer test\r\nAccept: text/event-stream\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    results = [StreamResult(i) for i in range(count)]
    began = time.perf_counter()

    async def launch(result: StreamResult) -> None:
        # Stream i starts i/count of the way through the ramp (all at once when the ramp is 0).
        delay = ramp_s * result.index / count
        await asyncio.sleep(max(0.0, began + delay - time.perf_counter()))
        try:
            await asyncio.wait_for(one_stream(port, request, result, began), STREAM_TIMEOUT_S)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
        ) as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:200]

    tasks = [asyncio.ensure_future(launch(r)) for r in results]
    _, pending = await asyncio.wait(tasks, timeout=budget_s)
    for task in pending:
        task.cancel()
        results_index = tasks.index(task)
        results[results_index].error = results[results_index].error or "cut off by the run's time budget"
    await asyncio.gather(*pending, return_exceptions=True)
    return results


def client_loop() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return f"uvloop {uvloop.__version__}"


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of a process group's live processes (NaN without /proc)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return math.nan
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text()
            fields = fields[fields.rindex(")") + 2 :].split()
        except (OSError, ValueError):
            continue
        # After the command: state, ppid, pgrp, ... utime and stime are the 12th and 13th.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def raise_fd_limit(need: int) -> str:
    try:
        import resource
    except ImportError:
        return "fd limit unknown"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return f"open-files limit {soft}"


def verify(port: int) -> int:
    """One request before the load: the reply must be the mock's and end with [DONE]; returns events."""
    status, body = http_request(port, "POST", PATH, chat_request(USER_TEXT, stream=True))
    if status != 200:
        raise BenchError(f"verification got HTTP {status}: {body[:200]!r}")
    sse = parse_sse(body)
    if not sse.done or sse.content != REPLY:
        raise BenchError(f"stream content mismatch (done={sse.done}): {body[:200]!r}")
    return sse.events + 1  # and [DONE]


def render(results: list[StreamResult], count: int) -> tuple[str, dict[str, Any]]:
    done = [r for r in results if r.completed]
    ttfb = [r.ttfb_ms for r in done]
    dur = [r.duration_ms for r in done]
    within = sum(1 for r in results if r.within_tolerance)
    events = sorted({r.events for r in done})
    goal = configured_ms(events[0]) if len(events) == 1 else math.nan
    summary: dict[str, Any] = {
        "streams": count,
        "completed": len(done),
        "within_10pct": within,
        "within_10pct_fraction": within / count if count else math.nan,
        "events": events,
        "configured_ms": goal,
    }
    rows = [
        "| measure (ms) | p50 | p90 | p99 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in (
        ("connect", [r.connect_ms for r in done]),
        ("TTFB (first body byte)", ttfb),
        (f"duration (configured {fmt(goal, 0)})", dur),
    ):
        stats = {p: percentile(values, p) for p in (50, 90, 99, 100)}
        summary[name.split(" ")[0].lower()] = {f"p{p}" if p < 100 else "max": v for p, v in stats.items()}
        rows.append(f"| {name} | " + " | ".join(fmt(stats[p], 1) for p in (50, 90, 99, 100)) + " |")
    rows += [
        "",
        f"- completed: {len(done):,} / {count:,}; events per stream: {', '.join(map(str, events)) or 'n/a'}",
        f"- duration within 10 % of 200 + (events - 1) * 20 ms: {within:,} / {count:,} "
        f"({100 * within / count:.1f} %)",
    ]
    late = [r.sent_at_s for r in results if not math.isnan(r.sent_at_s)]
    if late:
        rows.append(
            f"- requests written from {min(late):.3f} s to {max(late):.3f} s after the client's start"
        )
    errors: dict[str, int] = {}
    for r in results:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    for error, n in sorted(errors.items(), key=lambda kv: -kv[1])[:5]:
        rows.append(f"- {n} x {error}")
    return "\n".join(rows), summary


def targets(summary: dict[str, Any]) -> str:
    count = summary["streams"]
    p99 = summary["ttfb"]["p99"]
    ttfb_goal = TTFT_MS + TTFB_SLACK_MS
    lines = []
    ok = summary["completed"] == count
    lines.append(f"- {'PASS' if ok else 'FAIL'} all streams complete: {summary['completed']:,} / {count:,}")
    verdict = "n/a " if math.isnan(p99) else ("PASS" if p99 <= ttfb_goal else "FAIL")
    lines.append(f"- {verdict} TTFB p99: {fmt(p99, 1)} ms (<= {ttfb_goal:g})")
    ok = summary["within_10pct"] == count
    lines.append(
        f"- {'PASS' if ok else 'FAIL'} every stream's duration within 10 % of its configured total: "
        f"{summary['within_10pct']:,} / {count:,}"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Many concurrent paced streams against one mockllm worker.")
    parser.add_argument("--streams", type=int, default=1000, help="concurrent streaming requests")
    parser.add_argument(
        "--ramp",
        type=float,
        default=0.5,
        help="seconds over which the streams are started, evenly (0: at once)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to CPUs")
    parser.add_argument("--startup-timeout", type=float, default=30.0, help="seconds to wait for GET /health")
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.streams <= 10_000:
        parser.error("--streams must be in [1, 10000]")
    if not 0 <= args.ramp <= 10:
        parser.error("--ramp must be in [0, 10] seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    pinning = choose_pinning(not args.no_pin)
    fd_note = raise_fd_limit(2 * args.streams + 256)
    loop_note = client_loop()
    if pinning.client_cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {pinning.client_cpu})
    print(
        f"# mockllm paced streams\n\n- python {platform.python_version()}, "
        "`mockllm serve --workers 1`, one mock "
        f"streaming {REPLY_WORDS} words with ttft_ms {TTFT_MS}, chunk_interval_ms {CHUNK_INTERVAL_MS}\n"
        f"- {args.streams:,} streams from one {loop_note} client "
        "(an asyncio Protocol on plain TCP), one connection each, "
        f"started evenly over {args.ramp:g} s\n"
        f"- {pinning.description.replace('wrk and the timing client', 'the client')}; {fd_note}\n"
        f"- {load_note()}\n",
        flush=True,
    )

    def run(workdir: Path) -> tuple[list[StreamResult], float, float, float]:
        cfg = workdir / "paced.json"
        cfg.write_bytes(orjson.dumps(config()))
        port = free_port()
        log_path = workdir / "mockllm.log"
        argv_ = [*pinning.server_prefix, *mockllm_command(cfg, port), "--workers", "1"]
        proc = start_process(argv_, REPO_ROOT, log_path, mockllm_env())
        try:
            wait_ready(proc, port, log_path, args.startup_timeout)
            events = verify(port)
            print(f"verification: {events} events per stream (configured total {configured_ms(events):g} ms)")
            if events != EXPECTED_EVENTS:
                print(f"note: expected {EXPECTED_EVENTS} events")
            budget = max(1.0, RUN_BUDGET_S - (time.monotonic() - began))
            server_cpu0, client_cpu0, wall0 = group_cpu_s(proc.pid), time.process_time(), time.monotonic()
            results = asyncio.run(run_streams(port, args.streams, args.ramp, budget))
            wall = time.monotonic() - wall0
            server_cpu = group_cpu_s(proc.pid) - server_cpu0
            client_cpu = time.process_time() - client_cpu0
            if proc.poll() is not None:
                raise BenchError(f"the server exited during the run: {log_tail(log_path)}")
        finally:
            stop_process(proc)
        return results, wall, server_cpu, client_cpu

    measured, status = measure_in_workdir("mockllm-paced-", run)
    if measured is None:
        return status
    results, wall, server_cpu, client_cpu = measured

    table, summary = render(results, args.streams)
    summary.update(wall_s=wall, server_cpu_s=server_cpu, client_cpu_s=client_cpu)
    print("\n## Results\n")
    print(table)
    print(
        f"- CPU during the {wall:.2f} s of streaming: server {fmt(server_cpu)} s, client {fmt(client_cpu)} s "
        "(a process near 1 s per second is saturating its core)"
    )
    print("\n## Targets\n")
    print(targets(summary))
    print(f"\n_total wall time {time.monotonic() - began:.1f}s; at the end: {load_note()}_")
    if args.json is not None:
        args.json.write_bytes(
            orjson.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "python": platform.python_version(),
                    "pinning": pinning.description,
                    "summary": summary,
                    "streams": [asdict(r) for r in results],
                },
                option=orjson.OPT_INDENT_2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
