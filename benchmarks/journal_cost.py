"""What ``mockllm serve``'s journal costs: the 1-mock workload against ``serve`` with the journal on
(the default) and off (``--journal-size 0``), in interleaved wrk rounds.

Besides requests per second, each round reads the server's CPU time (``/proc/PID/stat``) before and
after the wrk run, and reports server CPU microseconds per request: on a busy machine the request
rate follows whatever else runs, while the CPU a request costs moves much less.

    python benchmarks/journal_cost.py --rounds 6 --duration 4
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import orjson
from load import run_wrk, write_wrk_script
from report import load_note
from servers import (
    REPO_ROOT,
    choose_pinning,
    free_port,
    measure_in_workdir,
    mockllm_command,
    mockllm_env,
    start_process,
    stop_process,
    wait_ready,
)
from workloads import build_workloads, mockllm_config

VARIANTS = {"journal on": [], "journal off": ["--journal-size", "0"]}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None or not Path("/proc/self/stat").exists():
        print("skipped: needs wrk and /proc")
        return 0
    workload = next(w for w in build_workloads() if w.key == "one")
    pinning = choose_pinning(True)
    wrk_args = SimpleNamespace(threads=1, connections=args.connections)

    def measure(workdir: Path) -> dict[str, list[tuple[float, float]]]:
        config = workdir / "mockllm.json"
        config.write_bytes(orjson.dumps(mockllm_config(workload)))
        script = write_wrk_script(workdir, workload)
        servers = {}
        for name, extra in VARIANTS.items():
            port = free_port()
            log = workdir / f"{name.replace(' ', '-')}.log"
            argv = [*pinning.server_prefix, *mockllm_command(config, port), "--workers", "1", *extra]
            proc = start_process(argv, REPO_ROOT, log, env=mockllm_env())
            wait_ready(proc, port, log, 60)
            run_wrk(wrk, pinning, script, port, wrk_args, 1)  # warm-up
            servers[name] = (proc, port)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
        try:
            for round_no in range(args.rounds):
                # Every other round in the other order: the second server of a round measured a few
                # per cent cheaper than the first in a run of two identical servers.
                order = list(servers.items())
                for name, (proc, port) in order if round_no % 2 == 0 else reversed(order):
                    before = cpu_seconds(proc.pid)
                    result = run_wrk(wrk, pinning, script, port, wrk_args, args.duration)
                    used = cpu_seconds(proc.pid) - before
                    per_request = used / result.requests * 1e6 if result.requests else float("nan")
                    results[name].append((result.rps, per_request))
                    print(
                        f"  round {round_no + 1}, {name}: {result.rps:,.0f} req/s, "
                        f"{per_request:.1f} server CPU µs/request",
                        flush=True,
                    )
        finally:
            for proc, _ in servers.values():
                stop_process(proc)
        return results

    print(f"# journal cost\n\n- {pinning.description}\n- {load_note()}\n", flush=True)
    results, status = measure_in_workdir("mockllm-journal-", measure)
    if results is None:
        return status
    print("\n| serve | req/s, median (best) | server CPU µs/request, median |\n|---|---:|---:|")
    medians = {}
    for name, runs in results.items():
        rps = [r for r, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        medians[name] = (statistics.median(rps), cpu)
        print(f"| {name} | {medians[name][0]:,.0f} ({max(rps):,.0f}) | {cpu:.1f} |")
    on, off = medians["journal on"], medians["journal off"]
    print(
        f"\njournal on / off: {on[0] / off[0]:.3f}x the requests per second, "
        f"{on[1] / off[1]:.3f}x the CPU per request"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
