"""What the trace viewer's events feed costs ``mockllm serve``: the 1-mock workload in interleaved
wrk rounds (see ``variants.py``) against three servers — the code before the feed existed (a
commit given by ``--baseline``, by default the one before it), this tree with no page open, and
this tree with one events client (what an open trace viewer page is) reading every event.

    python benchmarks/events_cost.py --rounds 6 --duration 4

The client is curl reading ``GET /__mockllm/events`` to /dev/null, so that what is measured is the
server's work, not a Python client's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from report import load_note
from servers import HOST, REPO_ROOT, mockllm_env
from variants import Case, available, compare, parse_args, print_medians, round_ratios, tree_at
from workloads import build_workloads, mockllm_config

BEFORE, NO_PAGE, ONE_PAGE = "before the feed", "no page open", "one page open"
VARIANTS: dict[str, list[str]] = {BEFORE: [], NO_PAGE: [], ONE_PAGE: []}
DEFAULT_BASELINE = "8dade1b"
"""The last commit before the events feed."""


JOURNAL_ADD = """
import timeit
from mockllm.server.journal import Journal
journal = Journal()
raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hello 9999"}]}'
headers = {"host": "127.0.0.1", "content-type": "application/json", "authorization": "Bearer sk-test"}
args = ("POST", "/v1/chat/completions", {}, raw, headers, 200, "m", None, "openai", (), None)
add = lambda: journal.add(*args)
print(min(timeit.repeat(add, number=200_000, repeat=7)) / 200_000 * 1e9)
"""
"""Prints the nanoseconds `Journal.add` takes (best of 7 loops): what the request path pays for the
feed with no page open, measured apart from the noise of a busy machine's HTTP rounds."""


def journal_add_ns(root: Path) -> float:
    command = [sys.executable, "-c", JOURNAL_ADD]
    done = subprocess.run(command, cwd=root, env={**mockllm_env(root)}, check=True, capture_output=True)
    return float(done.stdout)


def events_client(port: int) -> Callable[[], None]:
    client = subprocess.Popen(
        ["curl", "-sN", "-o", "/dev/null", f"http://{HOST}:{port}/__mockllm/events"],
        stdin=subprocess.DEVNULL,
    )

    def stop() -> None:
        client.terminate()
        client.wait(10)

    return stop


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__, argv)
    wrk = available()
    if wrk is None:
        return 0
    if shutil.which("curl") is None:
        print("skipped: needs curl")
        return 0
    baseline = DEFAULT_BASELINE
    workload = next(w for w in build_workloads() if w.key == "one")
    case = Case(workload.key, mockllm_config(workload), workload.request_body())
    print(f"# events feed cost\n\n- {load_note()}\n- baseline: {baseline}", flush=True)
    results = compare(
        wrk,
        case,
        VARIANTS,
        rounds=args.rounds,
        duration=args.duration,
        connections=args.connections,
        trees={BEFORE: tree_at(baseline)},
        attach={ONE_PAGE: events_client},
    )
    if results is None:
        return 1
    print_medians(results)
    with tempfile.TemporaryDirectory(prefix="mockllm-baseline-") as tmp:
        before_ns = journal_add_ns(tree_at(baseline)(Path(tmp)))
    after_ns = journal_add_ns(REPO_ROOT)
    print(f"\nJournal.add, no page open: {after_ns:.0f} ns a request (before the feed: {before_ns:.0f} ns)")
    for name, base in ((NO_PAGE, BEFORE), (ONE_PAGE, NO_PAGE)):
        rps, cpu = round_ratios(results[name], results[base])
        print(
            f"{name} / {base}: {rps:.3f}x the requests per second, {cpu:.3f}x the CPU per request "
            "(median of the rounds' ratios)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
