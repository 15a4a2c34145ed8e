#!/usr/bin/env python3
"""How ``mockllm serve`` copes with a large config: start-up time, memory, and request latency.

Usage::

    python benchmarks/scale.py [--mocks 100000] [--json FILE]

Writes a config of ``--mocks`` chat mocks, half exact and half contains, each with its own
reply, starts ``<this interpreter> -m mockllm serve`` with it on 127.0.0.1 and measures:

* the ready time, from spawning the server to the first 200 from ``GET /health``, best of
  ``--starts`` starts;
* the resident memory (VmRSS) of the server's process group once ready, and after the requests;
* the latency of sequential requests on one kept-alive connection: a chat request that no
  mock matches (a 404), and requests matched by the last exact and the last contains mock.

Prints Markdown tables and the targets as PASS/FAIL. Linux only for the memory figures
(they are read from /proc). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import http.client
import math
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from load import LatencySample, Live, percentile, sample_latency
from report import fmt, load_note, target_line
from servers import (
    REPO_ROOT,
    BenchError,
    free_port,
    http_request,
    log_tail,
    measure_in_workdir,
    mockllm_command,
    mockllm_env,
    start_process,
    stop_process,
    wait_ready,
)
from workloads import PATH, MatchType, Mock, chat_request, mockllm_mock

# The targets are set for this many mocks; a run with another count still prints them, for comparison.
TARGET_MOCKS = 100_000
READY_TARGET_S = 3.0
RSS_TARGET_MB = 400.0
UNMATCHED_P99_TARGET_MS = 10.0
# The ready time is only as fine as the interval at which /health is polled.
READY_POLL_S = 0.01
# Upper bound on each series of timed requests, so that a slow server cannot stall the run.
SAMPLE_BUDGET_S = 60.0
UNMATCHED_TEXT = "a question that no mock answers"
MB = 1_000_000


@dataclass(frozen=True)
class ScaleRequest:
    """A timed request and the answer it must get."""

    key: str
    title: str
    user_text: str
    # The one mock that must answer; None for the request that no mock matches.
    mock: Mock | None

    @property
    def status(self) -> int:
        return 404 if self.mock is None else 200


@dataclass(frozen=True)
class Scale:
    """The config's mocks, in order, and the requests timed against them."""

    mocks: tuple[tuple[MatchType, Mock], ...]
    requests: tuple[ScaleRequest, ...]

    def config(self) -> dict[str, Any]:
        return {"openai": [mockllm_mock(i, kind, mock) for i, (kind, mock) in enumerate(self.mocks)]}

    def count(self, kind: MatchType) -> int:
        return sum(1 for k, _ in self.mocks if k == kind)


def build_scale(count: int) -> Scale:
    width = len(str(count - 1))
    # Exact and contains mocks alternate, so that the last of each kind sits at the end of the
    # list, where a server that tries its mocks in order finds it last. As in run.py's 10k
    # workloads, zero-padded numbers and the "needle-"/"-x" fences make every needle distinct
    # and none a substring of another.
    mocks: list[tuple[MatchType, Mock]] = [
        ("exact", Mock(f"hello {i:0{width}d}", f"reply {i:0{width}d}"))
        if i % 2 == 0
        else ("contains", Mock(f"needle-{i:0{width}d}-x", f"reply {i:0{width}d}"))
        for i in range(count)
    ]
    last_exact = next(mock for kind, mock in reversed(mocks) if kind == "exact")
    last_contains = next(mock for kind, mock in reversed(mocks) if kind == "contains")
    requests = (
        ScaleRequest("unmatched", "unmatched (404)", UNMATCHED_TEXT, None),
        ScaleRequest("exact", "matched, exact", last_exact.needle, last_exact),
        ScaleRequest(
            "contains", "matched, contains", f"please find {last_contains.needle} in here", last_contains
        ),
    )
    for request in requests:
        # Otherwise a row would time a different mock, or a match, than its title says.
        hits = [
            mock
            for kind, mock in mocks
            if (mock.needle == request.user_text if kind == "exact" else mock.needle in request.user_text)
        ]
        if hits != ([] if request.mock is None else [request.mock]):
            raise RuntimeError(f"request {request.key}: {len(hits)} mocks match it")
    return Scale(tuple(mocks), requests)


def group_rss_bytes(pgid: int) -> int | None:
    """The VmRSS summed over a process group: the server and anything it forked.

    None where there is no /proc. Pages that forked processes share are counted once per process.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    total = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # The command name may hold spaces and parentheses; the fields after its ")" do not:
            # state, ppid, pgrp, ...
            if int(stat[stat.rindex(")") + 2 :].split()[2]) != pgid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@dataclass
class ScaleResult:
    mocks: int
    config_bytes: int
    ready_s: list[float] = field(default_factory=list)
    rss_ready_bytes: list[int | None] = field(default_factory=list)
    rss_after_bytes: int | None = None
    samples: dict[str, LatencySample] = field(default_factory=dict)

    @property
    def best_ready_s(self) -> float:
        return min(self.ready_s) if self.ready_s else math.nan

    @property
    def rss_ready_mb(self) -> float:
        """The largest RSS seen once ready, over the starts."""
        known = [rss for rss in self.rss_ready_bytes if rss is not None]
        return max(known) / MB if known else math.nan

    @property
    def rss_after_mb(self) -> float:
        return self.rss_after_bytes / MB if self.rss_after_bytes is not None else math.nan

    @property
    def unmatched_p99_ms(self) -> float:
        sample = self.samples.get("unmatched")
        return percentile(sample.times_ms, 99) if sample is not None else math.nan


def start_until_ready(config: Path, workdir: Path, start_no: int, timeout: float) -> tuple[Live, float]:
    """Start ``mockllm serve`` and wait for ``GET /health``; returns the server and its ready time."""
    port = free_port()
    log_path = workdir / f"mockllm-{start_no}.log"
    began = time.monotonic()
    proc = start_process(mockllm_command(config, port), REPO_ROOT, log_path, mockllm_env())
    try:
        wait_ready(proc, port, log_path, timeout, poll=READY_POLL_S)
    except BaseException:
        stop_process(proc)
        raise
    return Live(proc, port, log_path), time.monotonic() - began


def check_answer(server: Live, request: ScaleRequest) -> None:
    """Raise BenchError unless the request gets its status and, when matched, its mock's reply."""
    try:
        status, body = http_request(server.port, "POST", PATH, chat_request(request.user_text))
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"{request.title}: request failed: {exc!r}") from exc
    snippet = body[:200].decode(errors="replace")
    if status != request.status:
        raise BenchError(f"{request.title}: HTTP {status} instead of {request.status}: {snippet}")
    if request.mock is None:
        return
    try:
        content = orjson.loads(body)["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise BenchError(f"{request.title}: not a chat.completion: {snippet}") from exc
    if content != request.mock.reply:
        raise BenchError(f"{request.title}: wrong mock answered: {content!r} != {request.mock.reply!r}")


def measure(scale: Scale, args: argparse.Namespace, workdir: Path) -> ScaleResult:
    config = workdir / "mockllm-scale.json"
    config.write_bytes(orjson.dumps(scale.config()))
    result = ScaleResult(len(scale.mocks), config.stat().st_size)
    server: Live | None = None
    try:
        for start_no in range(1, args.starts + 1):
            server, ready_s = start_until_ready(config, workdir, start_no, args.startup_timeout)
            result.ready_s.append(ready_s)
            rss = group_rss_bytes(server.proc.pid)
            result.rss_ready_bytes.append(rss)
            rss_text = fmt(rss / MB, 0) if rss is not None else "n/a"
            print(f"  start {start_no}: ready in {ready_s:.2f}s, RSS {rss_text} MB", flush=True)
            if start_no < args.starts:
                stop_process(server.proc)
        # The last start stays up for the requests. They are timed before any other request
        # is sent, so that work a server puts off until its first request shows in the sample.
        assert server is not None  # --starts is at least 1
        for request in scale.requests:
            count = args.unmatched_requests if request.mock is None else args.matched_requests
            sample = sample_latency(
                server.port, chat_request(request.user_text), count, request.status, budget=SAMPLE_BUDGET_S
            )
            result.samples[request.key] = sample
            print(
                f"  {request.title}: {len(sample.times_ms)} timed, "
                f"p50 {fmt(percentile(sample.times_ms, 50))} ms",
                flush=True,
            )
        if server.proc.poll() is not None:
            raise BenchError(f"the server exited during the requests: {log_tail(server.log_path)}")
        result.rss_after_bytes = group_rss_bytes(server.proc.pid)
        for request in scale.requests:
            check_answer(server, request)
    finally:
        if server is not None:
            stop_process(server.proc)
    return result


def render(scale: Scale, result: ScaleResult) -> str:
    every_start = ", ".join(f"{s:.2f}" for s in result.ready_s)
    out = [
        f"| mocks | config MB | ready s, best of {len(result.ready_s)} | ready s, each start "
        "| RSS MB once ready | RSS MB after the requests |",
        "|---:|---:|---:|---|---:|---:|",
        f"| {result.mocks:,} | {fmt(result.config_bytes / MB, 1)} | {fmt(result.best_ready_s)} | "
        f"{every_start} | {fmt(result.rss_ready_mb, 0)} | {fmt(result.rss_after_mb, 0)} |",
        "",
        "Sequential requests on one kept-alive connection; times in ms:",
        "",
        "| request | status | timed | first | p50 | p99 | max | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for request in scale.requests:
        sample = result.samples[request.key]
        times = sample.times_ms
        first = times[0] if times else math.nan
        out.append(
            f"| {request.title} | {request.status} | {len(times)} | {fmt(first)} | "
            f"{fmt(percentile(times, 50))} | {fmt(percentile(times, 99))} | "
            f"{fmt(max(times) if times else math.nan)} | {sample.failures} |"
        )
    return "\n".join(out)


def render_targets(result: ScaleResult) -> str:
    return "\n".join(
        [
            target_line(
                f"ready s, best of {len(result.ready_s)}",
                result.best_ready_s,
                READY_TARGET_S,
                higher_is_better=False,
            ),
            target_line("RSS MB once ready", result.rss_ready_mb, RSS_TARGET_MB, higher_is_better=False),
            target_line(
                "unmatched (404) p99 ms",
                result.unmatched_p99_ms,
                UNMATCHED_P99_TARGET_MS,
                higher_is_better=False,
            ),
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Start-up time, memory and latency of mockllm serve with many mocks."
    )
    parser.add_argument(
        "--mocks", type=int, default=TARGET_MOCKS, help="chat mocks in the config, half exact, half contains"
    )
    parser.add_argument("--starts", type=int, default=3, help="server starts; the best ready time is kept")
    parser.add_argument("--unmatched-requests", type=int, default=50, help="sequential 404 requests timed")
    parser.add_argument(
        "--matched-requests", type=int, default=200, help="sequential requests timed per matched kind"
    )
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds to wait for GET /health")
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    args = parser.parse_args(argv)
    if not 2 <= args.mocks <= 1_000_000:
        parser.error("--mocks must be in [2, 1000000]")
    if not 1 <= args.starts <= 10:
        parser.error("--starts must be in [1, 10]")
    if not 1 <= args.unmatched_requests <= 10_000 or not 1 <= args.matched_requests <= 10_000:
        parser.error("--unmatched-requests and --matched-requests must be in [1, 10000]")
    if not 0 < args.startup_timeout <= 600:
        parser.error("--startup-timeout must be in (0, 600] seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    scale = build_scale(args.mocks)
    print(
        f"# mockllm scale benchmark\n\n- python {platform.python_version()}, `mockllm serve` with "
        f"{args.mocks:,} chat mocks ({scale.count('exact'):,} exact, {scale.count('contains'):,} contains)\n"
        f"- {load_note()}\n",
        flush=True,
    )
    result, status = measure_in_workdir("mockllm-scale-", lambda workdir: measure(scale, args, workdir))
    if result is None:
        return status

    print("\n## Results\n")
    print(render(scale, result))
    print(f"\n## Targets (set for {TARGET_MOCKS:,} mocks)\n")
    print(render_targets(result))
    problems = [
        f"- {request.title}: stopped early after {len(result.samples[request.key].times_ms)} timed requests "
        f"({result.samples[request.key].failures} failed)"
        for request in scale.requests
        if result.samples[request.key].cut_short
    ]
    if problems:
        print("\n" + "\n".join(problems))
    print(f"\n_total wall time {time.monotonic() - began:.0f}s; at the end: {load_note()}_")
    if args.json is not None:
        # orjson serialises the dataclasses as objects and NaN as null.
        summary = {
            "ready_s": result.best_ready_s,
            "rss_ready_mb": result.rss_ready_mb,
            "rss_after_mb": result.rss_after_mb,
            **{
                f"{key}_{name}_ms": percentile(sample.times_ms, pct)
                for key, sample in result.samples.items()
                for name, pct in (("p50", 50), ("p99", 99), ("max", 100))
            },
        }
        args.json.write_bytes(
            orjson.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "python": platform.python_version(),
                    "summary": summary,
                    "result": result,
                },
                option=orjson.OPT_INDENT_2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
