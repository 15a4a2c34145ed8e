#!/usr/bin/env python3
"""Whether ``mockllm serve`` goes on answering while the admin API takes a large config.

Usage::

    python benchmarks/admin_stall.py [--mocks 60000] [--rounds 3]

Starts ``<this interpreter> -m mockllm serve`` on 127.0.0.1 with one mock, and in each round posts a
config of ``--mocks`` chat mocks (about 400 bytes each: 24 MB at 60,000) to ``POST /__mockllm/mocks``
while another thread asks ``GET /health`` every 10 ms on its own kept-alive connection. Reports how
long the POST took and the health checks' latency while it ran: a server that reads and compiles
the config on its event loop answers none of them meanwhile. ``POST /__mockllm/reset`` between
rounds. About a minute at the defaults.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import orjson
from load import percentile
from report import load_note
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

PROBE_INTERVAL = 0.01


def large_config(count: int) -> bytes:
    mocks = [
        {
            "name": f"posted-{i:06d}",
            "match": {
                "match_type": "exact",
                "message": {"role": "user", "content": f"question number {i:06d}"},
            },
            "response": {
                "choices": [
                    {"message": {"role": "assistant", "content": f"Answer {i:06d}: " + "lorem ipsum " * 16}}
                ]
            },
        }
        for i in range(count)
    ]
    return orjson.dumps({"openai": mocks})


def probe(port: int, stop: threading.Event, samples: list[tuple[float, float]]) -> None:
    """``GET /health`` every `PROBE_INTERVAL` until ``stop``: (when it was sent, its latency)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    while not stop.is_set():
        sent = time.perf_counter()
        connection.request("GET", "/health")
        connection.getresponse().read()
        samples.append((sent, time.perf_counter() - sent))
        time.sleep(PROBE_INTERVAL)
    connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mocks", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    body = large_config(args.mocks)

    def measure(workdir: Path) -> list[tuple[float, int, float, float, float]]:
        config = workdir / "mockllm.json"
        config.write_bytes(orjson.dumps({"openai": []}))
        port = free_port()
        log = workdir / "server.log"
        proc = start_process(mockllm_command(config, port), REPO_ROOT, log, env=mockllm_env())
        rounds = []
        try:
            wait_ready(proc, port, log, 60)
            admin = http.client.HTTPConnection(HOST, port, timeout=600)
            for _ in range(args.rounds):
                samples: list[tuple[float, float]] = []
                stop = threading.Event()
                prober = threading.Thread(target=probe, args=(port, stop, samples))
                prober.start()
                time.sleep(0.2)  # the probe's connection is open and answered
                started = time.perf_counter()
                admin.request(
                    "POST", "/__mockllm/mocks", body=body, headers={"Content-Type": "application/json"}
                )
                answer = admin.getresponse()
                answer.read()
                ended = time.perf_counter()
                stop.set()
                prober.join()
                if answer.status != 200:
                    raise SystemExit(f"the POST got {answer.status}")
                during = [latency for sent, latency in samples if started <= sent <= ended]
                # A probe sent before the POST but answered after it started waited on it too.
                waited = [latency for sent, latency in samples if sent < started < sent + latency]
                latencies = during + waited
                rounds.append(
                    (
                        ended - started,
                        len(during),
                        percentile(latencies, 50) * 1000,
                        percentile(latencies, 99) * 1000,
                        max(latencies) * 1000,
                    )
                )
                admin.request("POST", "/__mockllm/reset")
                admin.getresponse().read()
            admin.close()
        finally:
            stop_process(proc)
        return rounds

    result, status = measure_in_workdir("mockllm-admin-stall-", measure)
    if result is None:
        return status
    print(load_note())
    print(
        f"POST /__mockllm/mocks of {args.mocks:,} mocks ({len(body) / 1e6:.1f} MB), GET /health every 10 ms\n"
    )
    print("| round | POST s | health checks during it | p50 ms | p99 ms | max ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    for number, (seconds, count, p50, p99, worst) in enumerate(result, 1):
        print(f"| {number} | {seconds:.2f} | {count} | {p50:.1f} | {p99:.1f} | {worst:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
