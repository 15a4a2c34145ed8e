"""What sharing the runtime state on Redis costs ``mockllm serve --state redis://…``:

1. **stateless**: the 1-mock workload (no ``times``, no scenario) with and without ``--state``, in
   interleaved wrk rounds (``variants.py``), and the store's command counts (``INFO commandstats``)
   per request: the request path must make none; the counts of stateless answers go in batches.
2. **stateful**: a mock with ``times`` (large enough never to run out), so that every request is
   gated, in the process or through the store: req/s on one and two workers, and the latency one
   sequential client sees (p50, p99), sampled in alternating batches so both servers see the same
   machine.
3. **workers**: ``--workers 2`` against ``--workers 1``, stateless, with the server free to use both
   cores and wrk pinned to one (taskset): what a second worker buys on a two-core machine.

A ``redis-server`` without persistence is started on a free loopback port.

    python benchmarks/shared_state.py --rounds 4 --duration 3
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from load import percentile, run_wrk, sample_latency, write_wrk_script
from report import load_note
from servers import (
    REPO_ROOT,
    Pinning,
    choose_pinning,
    free_port,
    mockllm_command,
    mockllm_env,
    start_process,
    stop_process,
    wait_ready,
)
from variants import Case, available, compare, medians, parse_args
from workloads import build_workloads, mockllm_config

LATENCY_BATCH = 400
"""Sequential requests per batch of the latency sample; batches alternate between the servers."""


def plain_case() -> Case:
    workload = next(w for w in build_workloads() if w.key == "one")
    return Case("stateless", mockllm_config(workload), workload.request_body())


def stateful_case() -> Case:
    case = plain_case()
    config: dict[str, Any] = orjson.loads(orjson.dumps(case.config))
    config["openai"][0]["times"] = 1_000_000_000
    return Case("stateful", config, case.body)


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("skipped: redis-server not found (apt-get install redis-server)")
    port = free_port()
    argv = [executable, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return process, f"redis://127.0.0.1:{port}/0"


def command_calls(url: str) -> dict[str, int]:
    """``INFO commandstats``: how many times each command ran since the last reset of the stats."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}


def reset_stats(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.config_resetstat()
    finally:
        client.close()


def latency(case: Case, variants: dict[str, list[str]], rounds: int, workdir: Path) -> dict[str, list[float]]:
    """Sequential request times (ms) per variant, the servers sampled in alternating batches."""
    pinning = choose_pinning(True)
    config = workdir / f"{case.key}-latency.json"
    config.write_bytes(orjson.dumps(case.config))
    servers = {}
    for name, extra in variants.items():
        port = free_port()
        log = workdir / f"latency-{name.replace(' ', '-')}.log"
        argv = [*pinning.server_prefix, *mockllm_command(config, port), *extra]
        process = start_process(argv, REPO_ROOT, log, env=mockllm_env())
        wait_ready(process, port, log, 60)
        sample_latency(port, case.body, 200, 200, 30)  # warm-up
        servers[name] = (process, port)
    times: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for round_no in range(rounds):
            order = list(servers.items())
            for name, (_, port) in order if round_no % 2 == 0 else reversed(order):
                sample = sample_latency(port, case.body, LATENCY_BATCH, 200, 60)
                times[name] += sample.times_ms
    finally:
        for process, _ in servers.values():
            stop_process(process)
    return times


def workers_ratio(
    case: Case, extra: list[str], wrk: str, rounds: int, duration: int, connections: int, workdir: Path
) -> dict[str, list[float]]:
    """req/s of ``--workers 1`` and ``--workers 2``, the server on every core, wrk pinned to one."""
    pinned = choose_pinning(True)
    pinning = Pinning((), pinned.client_prefix, pinned.client_cpu, "server unpinned, wrk pinned")
    config = workdir / f"workers-{case.key}.json"
    config.write_bytes(orjson.dumps(case.config))
    script = write_wrk_script(workdir, case)  # type: ignore[arg-type]
    wrk_args = SimpleNamespace(threads=1, connections=connections)
    rates: dict[str, list[float]] = {"1 worker": [], "2 workers": []}
    for round_no in range(rounds):
        order = list(rates) if round_no % 2 == 0 else list(rates)[::-1]
        for name in order:
            port = free_port()
            log = workdir / f"workers-{name.replace(' ', '-')}.log"
            argv = [*mockllm_command(config, port), *extra, "--workers", name.split()[0]]
            process = start_process(argv, REPO_ROOT, log, env=mockllm_env())
            try:
                wait_ready(process, port, log, 60)
                run_wrk(wrk, pinning, script, port, wrk_args, 1)  # warm-up: every worker up
                rates[name].append(run_wrk(wrk, pinning, script, port, wrk_args, duration).rps)  # type: ignore[arg-type]
            finally:
                stop_process(process)
    return rates


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__ or "", argv)
    wrk = available()
    if wrk is None:
        return 0
    import tempfile

    print(f"# shared state cost\n\n- {load_note()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mockllm-shared-state-") as tmp:
        workdir = Path(tmp)
        redis_process, url = start_redis(workdir)
        store = ["--state", url]
        try:
            plain, gated = plain_case(), stateful_case()
            run = dict(rounds=args.rounds, duration=args.duration, connections=args.connections)
            reset_stats(url)
            quiet = ["--journal-size", "0"]
            variants = {
                "no store": [],
                "--state": store,
                "no store, no journal": quiet,
                "--state, no journal": [*store, *quiet],
            }
            stateless = compare(wrk, plain, variants, **run)  # type: ignore[arg-type]
            calls = command_calls(url)
            stateful = compare(wrk, gated, {"in process": [], "--state": store}, **run)  # type: ignore[arg-type]
            ratio = (args.rounds, args.duration, args.connections, workdir)
            rates = {
                "stateless, no store": workers_ratio(plain, [], wrk, *ratio),
                "stateful, --state": workers_ratio(gated, store, wrk, *ratio),
            }
            times = latency(gated, {"in process": [], "--state": store}, args.rounds, workdir)
        finally:
            redis_process.kill()
            redis_process.wait()
    if stateless is None or stateful is None:
        return 1
    for title, results in (("stateless", stateless), ("stateful (times)", stateful)):
        found = medians(results)
        print(f"\n| {title}, 1 worker, pinned | req/s, median (best) | server CPU µs/request |")
        print("|---|---:|---:|")
        for name, (rate, best, cpu) in found.items():
            print(f"| {name} | {rate:,.0f} ({best:,.0f}) | {cpu:.1f} |")
        paired = list(found.items())
        for (without, alone), (shared, stored) in zip(paired[::2], paired[1::2], strict=True):
            print(f"\n{shared} / {without}, req/s: {stored[0] / alone[0]:.3f}")
    print(f"\nstore commands while the stateless rounds ran: {dict(sorted(calls.items()))}")
    print("\n| sequential latency, stateful | p50 ms | p99 ms | requests |")
    print("|---|---:|---:|---:|")
    for name, sample in times.items():
        print(f"| {name} | {percentile(sample, 50):.3f} | {percentile(sample, 99):.3f} | {len(sample)} |")
    added = [percentile(times["--state"], p) - percentile(times["in process"], p) for p in (50, 99)]
    print(f"\nadded by the store: p50 {added[0]:+.3f} ms, p99 {added[1]:+.3f} ms")
    print("\n| --workers 2 / --workers 1, wrk pinned apart | 1 worker req/s | 2 workers req/s | ratio |")
    print("|---|---:|---:|---:|")
    for title, found_rates in rates.items():
        one, two = statistics.median(found_rates["1 worker"]), statistics.median(found_rates["2 workers"])
        print(f"| {title} | {one:,.0f} | {two:,.0f} | {two / one:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
