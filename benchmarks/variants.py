"""Interleaved wrk rounds of ``mockllm serve`` started with different flags, on one config and one
request: what a feature costs (the journal, the contract guard).

Besides requests per second, each round reads the server's CPU time (``/proc/PID/stat``) before and
after the wrk run, and reports server CPU microseconds per request: on a busy machine the request
rate follows whatever else runs, while the CPU a request costs moves much less.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from load import run_wrk, write_wrk_script
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


def tree_at(revision: str) -> Callable[[Path], Path]:
    """For ``compare``'s ``trees``: the ``mockllm`` package of ``revision`` (``git archive``),
    extracted into the work folder, to run a variant's server on the code of that commit."""

    def make(workdir: Path) -> Path:
        tree = workdir / f"tree-{revision}"
        tree.mkdir(exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", revision, "mockllm"], cwd=REPO_ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        return tree

    return make


Runs = dict[str, list[tuple[float, float]]]
"""Per variant, each round's (requests per second, server CPU µs per request)."""
Attach = Callable[[int], Callable[[], None]]
"""Started beside a variant's server once it listens (given its port): a client that stays for the
whole measurement, such as an events feed listener. Returns how to stop it."""


@dataclass(frozen=True)
class Case:
    """A config and the one request wrk sends it."""

    key: str
    config: dict[str, Any]
    body: bytes

    def request_body(self) -> bytes:
        return self.body


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_args(doc: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """The flags every comparison takes."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    return parser.parse_args(argv)


def available() -> str | None:
    """The path of wrk, or None (with a message printed) where this cannot run."""
    wrk = shutil.which("wrk")
    if wrk is None or not Path("/proc/self/stat").exists():
        print("skipped: needs wrk and /proc")
        return None
    return wrk


def compare(
    wrk: str,
    case: Case,
    variants: dict[str, list[str]],
    *,
    rounds: int,
    duration: int,
    connections: int,
    trees: Mapping[str, Callable[[Path], Path]] | None = None,
    attach: Mapping[str, Attach] | None = None,
) -> Runs | None:
    """Each variant's server started on ``case``, then loaded in turn, round after round; half the
    rounds with the servers started in the other order, as the first server started measured about
    5 % slower than the second in a run of two identical servers (``--contract off`` twice).

    ``trees``: for a variant run from another source tree (an earlier commit), a function of the
    work folder that makes the tree and gives its path; ``attach``: a client started beside a
    variant's server (see `Attach`)."""
    pinning = choose_pinning(True)
    wrk_args = SimpleNamespace(threads=1, connections=connections)

    def measure(workdir: Path) -> Runs:
        results: Runs = {name: [] for name in variants}
        started = list(variants.items())
        for half in (started, started[::-1]):
            for name, runs in measure_half(workdir, dict(half), max(1, rounds // 2)).items():
                results[name] += runs
        return results

    def measure_half(workdir: Path, variants: dict[str, list[str]], rounds: int) -> Runs:
        config = workdir / "mockllm.json"
        config.write_bytes(orjson.dumps(case.config))
        script = write_wrk_script(workdir, case)  # type: ignore[arg-type]
        servers = {}
        stops: list[Callable[[], None]] = []
        for name, extra in variants.items():
            port = free_port()
            log = workdir / f"{name.replace(' ', '-')}.log"
            argv = [*pinning.server_prefix, *mockllm_command(config, port), "--workers", "1", *extra]
            root = REPO_ROOT if name not in (trees or {}) else (trees or {})[name](workdir)
            proc = start_process(argv, root, log, env=mockllm_env(root))
            wait_ready(proc, port, log, 60)
            if name in (attach or {}):
                stops.append((attach or {})[name](port))
            run_wrk(wrk, pinning, script, port, wrk_args, 1)  # warm-up
            servers[name] = (proc, port)
        results: Runs = {name: [] for name in variants}
        try:
            for round_no in range(rounds):
                # Every other round in the other order: the second server of a round measured a few
                # per cent cheaper than the first in a run of two identical servers.
                order = list(servers.items())
                for name, (proc, port) in order if round_no % 2 == 0 else reversed(order):
                    before = cpu_seconds(proc.pid)
                    result = run_wrk(wrk, pinning, script, port, wrk_args, duration)
                    used = cpu_seconds(proc.pid) - before
                    per_request = used / result.requests * 1e6 if result.requests else float("nan")
                    results[name].append((result.rps, per_request))
                    print(
                        f"  {case.key}, round {round_no + 1}, {name}: {result.rps:,.0f} req/s, "
                        f"{per_request:.1f} server CPU µs/request",
                        flush=True,
                    )
        finally:
            for stop in stops:
                stop()
            for proc, _ in servers.values():
                stop_process(proc)
        return results

    print(f"- {pinning.description}", flush=True)
    results, _ = measure_in_workdir(f"mockllm-{case.key}-", measure)
    return results


def medians(results: Runs) -> dict[str, tuple[float, float, float]]:
    """Per variant: median req/s, best req/s, median server CPU µs per request."""
    return {
        name: (
            statistics.median(r for r, _ in runs),
            max(r for r, _ in runs),
            statistics.median(c for _, c in runs),
        )
        for name, runs in results.items()
    }


def print_medians(results: Runs) -> dict[str, tuple[float, float, float]]:
    """Print each variant's medians as a Markdown table; gives them (see `medians`)."""
    print("\n| serve | req/s, median (best) | server CPU µs/request, median |\n|---|---:|---:|")
    found = medians(results)
    for name, (rps, best, cpu) in found.items():
        print(f"| {name} | {rps:,.0f} ({best:,.0f}) | {cpu:.1f} |")
    return found


def round_ratios(runs: list[tuple[float, float]], base: list[tuple[float, float]]) -> tuple[float, float]:
    """The median ratio of two variants' figures (req/s, CPU per request) measured in the same
    round, one after the other: on a busy machine a round's neighbours share its load, where
    medians over all rounds do not."""
    return (
        statistics.median(a / b for (a, _), (b, _) in zip(runs, base, strict=True)),
        statistics.median(a / b for (_, a), (_, b) in zip(runs, base, strict=True)),
    )
