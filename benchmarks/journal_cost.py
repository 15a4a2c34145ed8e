"""What ``mockllm serve``'s journal costs: the 1-mock workload against ``serve`` with the journal on
(the default) and off (``--journal-size 0``), in interleaved wrk rounds (see ``variants.py``).

    python benchmarks/journal_cost.py --rounds 6 --duration 4
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from report import load_note
from variants import Case, available, compare, parse_args, print_medians
from workloads import build_workloads, mockllm_config

VARIANTS = {"journal on": [], "journal off": ["--journal-size", "0"]}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__, argv)
    wrk = available()
    if wrk is None:
        return 0
    workload = next(w for w in build_workloads() if w.key == "one")
    case = Case(workload.key, mockllm_config(workload), workload.request_body())
    print(f"# journal cost\n\n- {load_note()}", flush=True)
    results = compare(
        wrk, case, VARIANTS, rounds=args.rounds, duration=args.duration, connections=args.connections
    )
    if results is None:
        return 1
    found = print_medians(results)
    on, off = found["journal on"], found["journal off"]
    print(
        f"\njournal on / off: {on[0] / off[0]:.3f}x the requests per second, "
        f"{on[2] / off[2]:.3f}x the CPU per request"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
