#!/usr/bin/env python3
"""The worst case of ``mockllm serve``'s journal for memory: a full journal of bodies just under its
cut-off, made of many small JSON objects.

Usage::

    python benchmarks/journal_memory.py [--requests 1000] [--body-bytes 65000]

Starts ``<this interpreter> -m mockllm serve`` on 127.0.0.1 with its default journal (the last 1,000
requests, bodies up to 64 KiB kept whole), sends ``--requests`` chat requests on one kept-alive
connection, each a body of about ``--body-bytes`` bytes that is mostly ``{}`` objects (no mock
matches them: each is a 404 with its near misses, journalled), and reads the server's resident
memory (VmRSS) before, after, and after ``DELETE /__mockllm/requests`` empties the journal. Linux
only (the memory is read from /proc). About ten seconds.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson
from report import load_note
from scale import group_rss_bytes
from servers import (
    HOST,
    REPO_ROOT,
    free_port,
    measure_in_workdir,
    mockllm_command,
    mockllm_env,
    start_process,
    stop_process,
    wait_ready,
)
from workloads import HEADERS, PATH


def padded_body(size: int) -> bytes:
    """A chat request of about ``size`` bytes, nearly all of them ``{}`` objects in a list."""
    head = {"model": "gpt-mock", "messages": [{"role": "user", "content": "no mock matches this"}]}
    count = (size - len(orjson.dumps(head)) - 10) // 3
    return orjson.dumps({**head, "pad": [{}] * count})


def mb(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1e6:,.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--body-bytes", type=int, default=65_000, help="just under the 65,536 cut-off")
    args = parser.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("skipped: needs /proc for the memory figures")
        return 0
    body = padded_body(args.body_bytes)

    def measure(workdir: Path) -> tuple[int | None, int | None, int | None, int, float]:
        config = workdir / "mockllm.json"
        config.write_bytes(orjson.dumps({"openai": []}))
        port = free_port()
        log = workdir / "server.log"
        proc = start_process(mockllm_command(config, port), REPO_ROOT, log, env=mockllm_env())
        try:
            wait_ready(proc, port, log, 60)
            before = group_rss_bytes(proc.pid)
            connection = http.client.HTTPConnection(HOST, port, timeout=30)
            started = time.perf_counter()
            for _ in range(args.requests):
                connection.request("POST", PATH, body=body, headers=HEADERS)
                answer = connection.getresponse()
                answer.read()
                if answer.status != 404:
                    raise SystemExit(f"expected a 404, got {answer.status}")
            elapsed = time.perf_counter() - started
            full = group_rss_bytes(proc.pid)
            connection.request("DELETE", "/__mockllm/requests")
            removed = orjson.loads(connection.getresponse().read())["removed"]
            emptied = group_rss_bytes(proc.pid)
            connection.close()
        finally:
            stop_process(proc)
        return before, full, emptied, removed, elapsed

    result, status = measure_in_workdir("mockllm-journal-memory-", measure)
    if result is None:
        return status
    before, full, emptied, kept, seconds = result
    print(load_note())
    print(f"{args.requests:,} requests of {len(body):,} bytes, mostly {{}} objects, in {seconds:.1f} s;")
    print(f"the journal kept {kept:,} of them.\n")
    print("| RSS MB | before | journal full | journal emptied |")
    print("|---|---:|---:|---:|")
    print(f"| mockllm serve | {mb(before)} | {mb(full)} | {mb(emptied)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
