#!/usr/bin/env python3
"""What the pytest fixtures cost per test, and what a fresh `MockServer` costs to start and stop.

Usage::

    python benchmarks/bench_fixture.py [--tests 300] [--starts 50]

* Fixture cost: a pytest run of ``--tests`` trivial tests per case, each case in its own pytest
  process; a small conftest records pytest's own setup, call and teardown durations. The
  first test of the ``mockllm`` case also starts the session server, so it is reported apart.
* ``MockServer`` start+stop: ``--starts`` rounds in a thread (``start_in_thread``/``stop_thread``)
  and in a running event loop (``await start()``/``await stop()``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mockllm import MockServer

CONFTEST = """
import json, os

durations = {}


def pytest_runtest_logreport(report):
    if report.when in ("setup", "call", "teardown"):
        durations[report.nodeid] = durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump(list(durations.values()), f)
"""

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "mockllm" / "examples" / "default.json"

CASES: dict[str, tuple[str, str]] = {
    # name: (test signature, test body)
    "no fixture (baseline)": ("def test_{i}():", "    pass"),
    "mockllm": ("def test_{i}(mockllm):", "    pass"),
    "mockllm + one mock": (
        "def test_{i}(mockllm):",
        '    mockllm.openai_chat().when_last_message_contains("x").reply("y")',
    ),
    "mockllm + marker config": (
        f"@pytest.mark.mockllm(config={str(EXAMPLE_CONFIG)!r})\ndef test_{{i}}(mockllm):",
        "    pass",
    ),
    "async, no fixture": ("async def test_{i}():", "    pass"),
    "mockllm_async": ("async def test_{i}(mockllm_async):", "    pass"),
}


def fixture_case(name: str, tests: int) -> list[float]:
    signature, body = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "conftest.py").write_text(CONFTEST)
        source = ["import pytest", ""]
        for i in range(tests):
            source += [signature.format(i=i), body, ""]
        (root / "test_bench.py").write_text("\n".join(source))
        out = root / "durations.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            str(root),
        ]
        completed = subprocess.run(
            command, cwd=root, env={**os.environ, "BENCH_OUT": str(out)}, capture_output=True, text=True
        )
        if completed.returncode != 0:
            raise SystemExit(f"{name}: pytest failed\n{completed.stdout}\n{completed.stderr}")
        durations: list[float] = json.loads(out.read_text())
        return durations


def thread_rounds(starts: int) -> list[float]:
    times = []
    for _ in range(starts):
        begin = time.perf_counter()
        server = MockServer().start_in_thread()
        server.stop_thread()
        times.append(time.perf_counter() - begin)
    return times


async def async_rounds(starts: int) -> list[float]:
    times = []
    for _ in range(starts):
        begin = time.perf_counter()
        server = await MockServer().start()
        await server.stop()
        times.append(time.perf_counter() - begin)
    return times


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.mean(values) * 1e3:8.3f} {statistics.median(values) * 1e3:8.3f} {p95 * 1e3:8.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=300, help="tests per fixture case")
    parser.add_argument("--starts", type=int, default=50, help="start+stop rounds per MockServer mode")
    args = parser.parse_args()

    print(f"per test, setup+call+teardown, {args.tests} tests per case (ms)")
    print(f"{'case':28} {'mean':>8} {'median':>8} {'p95':>8}")
    for name in CASES:
        durations = fixture_case(name, args.tests)
        first, rest = durations[0], durations[1:]
        print(f"{name:28} {ms(rest)}   first test {first * 1e3:.1f}")

    print(f"\nMockServer start+stop, {args.starts} rounds (ms)")
    print(f"{'mode':28} {'mean':>8} {'median':>8} {'p95':>8}")
    thread_rounds(3)  # imports and first-use costs are not what is measured
    print(f"{'thread':28} {ms(thread_rounds(args.starts))}")
    print(f"{'running event loop':28} {ms(asyncio.run(async_rounds(args.starts)))}")


if __name__ == "__main__":
    main()
