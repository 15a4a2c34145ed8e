"""What programmable replies cost the mocks without a function: ``mockllm serve`` of this tree
against the same server of an earlier commit (``--base``, e.g. the commit before them), in
interleaved wrk rounds (see ``variants.py``), on the 1-mock plain-text workload and a streamed one.
A static mock's answer now passes one ``isinstance`` check for a reply function; this measures
whether that shows. It also times, in this process, what preparing a function's answer costs per
request (the function, its builder's verb, the response's checks), which a static mock pays once.

    python benchmarks/reply_with_cost.py --base 8dade1b --rounds 6 --duration 4
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from report import load_note
from variants import Case, available, compare, medians, parse_args, tree_at
from workloads import build_workloads, mockllm_config


def cases() -> list[Case]:
    plain = next(w for w in build_workloads() if w.key == "one")
    streamed = next(w for w in build_workloads() if w.key == "stream")
    return [
        Case("plain-text", mockllm_config(plain), plain.request_body()),
        Case("stream", mockllm_config(streamed), streamed.request_body()),
    ]


def prepare_cost(rounds: int = 2000) -> dict[str, float]:
    """Microseconds to prepare a reply function's answer for one request (best of 5 batches)."""
    import asyncio
    import time

    from mockllm import mock, replies
    from mockllm.server.compiled import CompiledConfig
    from mockllm.server.programmed import ProgrammedReply, ProgrammedRequest
    from mockllm.server.registry import ADAPTERS

    values = {"text": "Sunny.", "tool call": replies.tool_call("get_weather", {"city": "Paris"})}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "weather?"}]}
    costs = {}
    for name, value in values.items():
        m = mock()
        m.openai_chat().reply_with(lambda request, value=value: value)
        answer = CompiledConfig.of(m.build()).apis["openai"].answer(0)
        assert isinstance(answer, ProgrammedReply)
        request = ProgrammedRequest(ADAPTERS["openai"], body, {})

        async def batch(answer: ProgrammedReply = answer, request: ProgrammedRequest = request) -> float:
            started = time.perf_counter()
            for _ in range(rounds):
                (await answer.answer(request))[0].render(body, "json")  # type: ignore[union-attr]
            return (time.perf_counter() - started) / rounds * 1e6

        costs[name] = min(asyncio.run(batch()) for _ in range(5))
    return costs


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if "--base" not in args_in:
        print("usage: reply_with_cost.py --base REV [--rounds N] [--duration S]")
        return 2
    at = args_in.index("--base")
    base = args_in[at + 1]
    del args_in[at : at + 2]
    args = parse_args(__doc__, args_in)
    for name, micros in prepare_cost().items():
        print(f"- a function's {name} reply, prepared and rendered: {micros:.0f} µs a request", flush=True)
    wrk = available()
    if wrk is None:
        return 0
    print(f"# reply_with: the cost to static mocks\n\n- {load_note()}\n- base: {base}", flush=True)
    rows = []
    variants: dict[str, list[str]] = {"this tree": [], "base": []}
    for case in cases():
        results = compare(
            wrk,
            case,
            variants,
            rounds=args.rounds,
            duration=args.duration,
            connections=args.connections,
            trees={"base": tree_at(base)},
        )
        if results is None:
            return 1
        found = medians(results)
        rows.append((case.key, found["this tree"], found["base"]))
    print("\n| request | this tree: req/s, median (best) | base: req/s, median (best) | ratio | CPU µs/req |")
    print("|---|---:|---:|---:|---:|")
    for key, new, old in rows:
        print(
            f"| {key} | {new[0]:,.0f} ({new[1]:,.0f}) | {old[0]:,.0f} ({old[1]:,.0f}) "
            f"| {new[0] / old[0]:.3f} | {new[2]:.1f} / {old[2]:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
