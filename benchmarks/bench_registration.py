#!/usr/bin/env python3
"""What registering mocks into a running server costs, and a test's setup with a large base config.

Usage::

    python benchmarks/bench_registration.py [--mocks 1000] [--rounds 5]

* Registration: ``--mocks`` mocks registered one by one, through a builder, into a running
  threaded server; then the first request, which compiles the served config once.
* Per-test setup: what the ``mockllm`` fixture does for each test (a fresh `MockLLM` on the
  session's server, layered over a base config of ``--mocks`` mocks from a file), timed over
  ``--rounds`` times 100 tests; then one mock registered and the first request of such a test.

Targets (from the conversations issue): 1,000 registrations ≤ 0.5 s in total; per-test setup with a
1,000-mock base config ≤ 1 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
from typing import Any

from mockllm import Config, MockServer, mock
from mockllm.mock_llm import MockLLM


def base_config(count: int) -> Config:
    mocks: list[dict[str, Any]] = []
    for i in range(count):
        kind = "exact" if i % 2 else "contains"
        mocks.append(
            {
                "name": f"base-{i}",
                "match": {"match_type": kind, "message": {"role": "user", "content": f"base {i:05d} text"}},
                "response": {"choices": [{"message": {"content": f"reply {i}"}}]},
            }
        )
    return Config.from_dict({"openai": mocks})


def ask(server: MockServer, text: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]})
    connection.request("POST", "/v1/chat/completions", body, {"Authorization": "Bearer b"})
    status = connection.getresponse().status
    connection.close()
    return status


def registrations(count: int) -> tuple[float, float]:
    m = mock()
    with MockServer(m) as server:
        start = time.perf_counter()
        for i in range(count):
            m.openai_chat().when_last_message_contains(f"question {i:05d}").reply(f"answer {i}")
        registered = time.perf_counter() - start
        start = time.perf_counter()
        assert ask(server, f"question {count - 1:05d}") == 200
        first_request = time.perf_counter() - start
    return registered, first_request


def per_test_setup(count: int, rounds: int) -> tuple[list[float], float]:
    base = base_config(count)
    per_test: list[float] = []
    with MockServer() as server:
        MockLLM(server, base)  # the first test compiles the base config
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(100):
                MockLLM(server, base)
            per_test.append((time.perf_counter() - start) / 100)
        fixture = MockLLM(server, base)
        fixture.openai_chat().when_last_message_contains("override").reply("mine")
        start = time.perf_counter()
        assert ask(server, "override") == 200
        first_request = time.perf_counter() - start
    return per_test, first_request


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mocks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    registered, first = registrations(args.mocks)
    verdict = "PASS" if args.mocks != 1000 or registered <= 0.5 else "FAIL"
    print(
        f"| {args.mocks} registrations one by one | {registered * 1000:.0f} ms in total "
        f"({registered / args.mocks * 1e6:.0f} µs each) | {verdict} (target ≤ 500 ms for 1,000) |"
    )
    print(f"| first request after them (compiles once) | {first * 1000:.1f} ms | |")
    per_test, first = per_test_setup(args.mocks, args.rounds)
    median = statistics.median(per_test)
    verdict = "PASS" if args.mocks != 1000 or median <= 0.001 else "FAIL"
    print(
        f"| per-test setup, {args.mocks}-mock base config | {median * 1000:.3f} ms "
        f"(rounds: {', '.join(f'{t * 1000:.3f}' for t in per_test)}) | {verdict} (target ≤ 1 ms) |"
    )
    print(f"| a test's first request after registering one mock | {first * 1000:.1f} ms | |")


if __name__ == "__main__":
    main()
