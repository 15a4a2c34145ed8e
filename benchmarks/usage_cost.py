"""What reporting the prompt's tokens costs ``mockllm serve``: a mock without ``usage`` (the
server writes the request's estimate into the cached answer, per request) against the same mock
with a ``usage`` of its own (the cached bytes served as they are, no estimate), in interleaved wrk
rounds (see ``variants.py``), on two requests:

- **plain text**: the 1-mock workload (one short message, a JSON answer);
- **agent stream**: a 12-message tool loop declaring three tools, streamed with
  ``stream_options.include_usage`` (the prompt estimate walks every message and tool).

    python benchmarks/usage_cost.py --rounds 6 --duration 4
"""

from __future__ import annotations

import copy
import sys
import tempfile
import timeit
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from contract_cost import TOOLS
from report import load_note
from variants import Case, available, compare, medians, parse_args
from workloads import MODEL, build_workloads, mockllm_config

ESTIMATED, WRITTEN = "usage estimated", "usage written"
_USAGE = {"prompt_tokens": 120, "completion_tokens": 8, "total_tokens": 128}


def plain_case() -> Case:
    workload = next(w for w in build_workloads() if w.key == "one")
    return Case("plain-text", without_usage(mockllm_config(workload)), workload.request_body())


def agent_case() -> Case:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a travel agent. " * 20}]
    for turn in range(5):
        call = {
            "name": "get_weather",
            "arguments": orjson.dumps({"city": f"City {turn}", "unit": "c"}).decode(),
        }
        messages += [
            {"role": "user", "content": f"And what about city {turn}? Please check the weather first."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": f"call_{turn}", "type": "function", "function": call}],
            },
        ]
    messages.append(
        {"role": "tool", "tool_call_id": "call_4", "content": '{"temperature": 21, "sky": "clear"}'}
    )
    mock = {
        "name": "summary",
        "match": {"match_type": "contains", "message": {"role": "tool", "content": "temperature"}},
        "response": {
            "choices": [{"message": {"role": "assistant", "content": "Clear and 21 degrees. " * 10}}]
        },
    }
    body = {
        "model": MODEL,
        "messages": messages,
        "tools": TOOLS,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    return Case("agent-stream", {"openai": [mock]}, orjson.dumps(body))


def with_usage(config: dict[str, Any]) -> dict[str, Any]:
    """The config with a ``usage`` written in every mock's response."""
    written = copy.deepcopy(config)
    for mock in written["openai"]:
        mock["response"]["usage"] = _USAGE
    return written


def without_usage(config: dict[str, Any]) -> dict[str, Any]:
    """The config with no ``usage`` in any mock's response (the shared workloads write one)."""
    left = copy.deepcopy(config)
    for mock in left["openai"]:
        mock["response"].pop("usage", None)
    return left


def render_cost(case: Case, rounds: int = 5, number: int = 20_000) -> dict[str, float]:
    """The answer's render step in this process (what a request pays for its bytes: the cached
    render, and for a mock without usage the estimate written in), µs per request, best of
    ``rounds`` interleaved rounds."""
    from mockllm.config import Config
    from mockllm.server.compiled import CompiledConfig

    body = orjson.loads(case.body)
    renders = {}
    for name, config in ((ESTIMATED, case.config), (WRITTEN, with_usage(case.config))):
        mocks = CompiledConfig.of(Config.model_validate(config)).apis["openai"]
        answer, variant = mocks.answer(0), mocks.adapter.variant(body)
        renders[name] = lambda answer=answer, variant=variant: answer.render(body, variant)  # type: ignore[union-attr]
    best = {name: float("inf") for name in renders}
    for _ in range(rounds):
        for name, render in renders.items():
            best[name] = min(best[name], timeit.timeit(render, number=number) / number * 1e6)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__, argv)
    print(f"# prompt usage cost\n\n- {load_note()}", flush=True)
    print("\n| request | render µs, estimated | render µs, written |\n|---|---:|---:|")
    for case in (plain_case(), agent_case()):
        best = render_cost(case)
        print(f"| {case.key} | {best[ESTIMATED]:.2f} | {best[WRITTEN]:.2f} |", flush=True)
    wrk = available()
    if wrk is None:
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="mockllm-usage-") as workdir:
        for case in (plain_case(), agent_case()):
            other = Path(workdir) / f"{case.key}-written.json"
            other.write_bytes(orjson.dumps(with_usage(case.config)))
            # serve's last --config wins: the second variant serves the config with usage written.
            variants = {ESTIMATED: [], WRITTEN: ["--config", str(other)]}
            results = compare(
                wrk, case, variants, rounds=args.rounds, duration=args.duration, connections=args.connections
            )
            if results is None:
                return 1
            found = medians(results)
            rows.append((case.key, found[ESTIMATED], found[WRITTEN]))
    print(
        "\n| request | estimated: req/s, median (best) | written: req/s, median (best) "
        "| estimated / written req/s | CPU µs/request, estimated / written |"
    )
    print("|---|---:|---:|---:|---:|")
    for key, estimated, written in rows:
        print(
            f"| {key} | {estimated[0]:,.0f} ({estimated[1]:,.0f}) | {written[0]:,.0f} ({written[1]:,.0f}) "
            f"| {estimated[0] / written[0]:.3f} | {estimated[2]:.1f} / {written[2]:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
