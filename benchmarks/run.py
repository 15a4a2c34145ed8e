#!/usr/bin/env python3
"""Load-test mockllm against a bare Sanic ceiling and aimock, and print Markdown tables.

Usage::

    python benchmarks/run.py [--duration 8] [--connections 32] [--servers mockllm,bare,aimock]

Every server runs as its own process on 127.0.0.1 and is driven by ``wrk``; the
streaming workload is also sampled by a small asyncio client for time-to-first-byte
and total time. Only the standard library and orjson are needed here; mockllm is
started with ``<this interpreter> -m mockllm serve``. The work is split by concern:
``workloads`` (what is measured), ``servers`` (the processes), ``load`` (wrk and the
timing clients) and ``report`` (the tables and targets); this script wires them.
See ``benchmarks/README.md`` for what is measured and the targets.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import orjson
from load import Cell, run_workload
from report import load_note, render, render_targets
from servers import (
    AIMOCK_VERSION,
    SERVER_LABELS,
    ServerKind,
    aimock_kind,
    bare_kind,
    choose_pinning,
    mockllm_kind,
    stop_all,
    terminate_on_signals,
)
from workloads import build_workloads


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
        "--servers",
        default="mockllm,bare,aimock",
        help="comma-separated subset of mockllm,nojournal,bare,aimock (nojournal: --journal-size 0)",
    )
    parser.add_argument(
        "--workloads",
        default="one,exact10k,contains10k,stateful,stream",
        help="comma-separated subset of one,exact10k,contains10k,stateful,stream",
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
        elif name == "nojournal":
            kinds.append(
                mockllm_kind(args.startup_timeout, name="nojournal", serve_args=["--journal-size", "0"])
            )
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
