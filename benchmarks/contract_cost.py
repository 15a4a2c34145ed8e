"""What the contract guard costs ``mockllm serve``: ``--contract warn`` (the default) against
``--contract off``, in interleaved wrk rounds (see ``variants.py``), on two requests:

- **tool call**: the request declares three tools with JSON Schemas and asks with
  ``tool_choice: "required"``; the mock answers with a call whose arguments the guard validates;
- **plain text**: the 1-mock workload (no tools), which the guard must leave as fast as it was.

    python benchmarks/contract_cost.py --rounds 6 --duration 4
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import orjson
from report import load_note
from variants import Case, available, compare, medians, parse_args
from workloads import MODEL, build_workloads, mockllm_config

VARIANTS = {"guard warn": ["--contract", "warn"], "guard off": ["--contract", "off"]}


def _tool(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return {"type": "function", "function": {"name": name, "parameters": schema, "strict": True}}


TOOLS = [
    _tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}),
    _tool(
        "search_flights", {"from": {"type": "string"}, "to": {"type": "string"}, "date": {"type": "string"}}
    ),
    _tool("book_table", {"restaurant": {"type": "string"}, "people": {"type": "integer", "minimum": 1}}),
]


def tool_case() -> Case:
    call = {"name": "get_weather", "arguments": orjson.dumps({"city": "Paris", "unit": "c"}).decode()}
    mock = {
        "name": "weather",
        "match": {"match_type": "contains", "message": {"role": "user", "content": "weather"}},
        "response": {
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "tool_calls": [{"id": "call_1", "type": "function", "function": call}],
                    }
                }
            ]
        },
    }
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "what is the weather in Paris?"}],
        "tools": TOOLS,
        "tool_choice": "required",
    }
    return Case("tool-call", {"openai": [mock]}, orjson.dumps(body))


def plain_case() -> Case:
    workload = next(w for w in build_workloads() if w.key == "one")
    return Case("plain-text", mockllm_config(workload), workload.request_body())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__, argv)
    wrk = available()
    if wrk is None:
        return 0
    print(f"# contract guard cost\n\n- {load_note()}", flush=True)
    rows = []
    for case in (tool_case(), plain_case()):
        results = compare(
            wrk, case, VARIANTS, rounds=args.rounds, duration=args.duration, connections=args.connections
        )
        if results is None:
            return 1
        found = medians(results)
        on, off = found["guard warn"], found["guard off"]
        rows.append((case.key, on, off))
    print(
        "\n| request | warn: req/s, median (best) | off: req/s, median (best) | warn / off req/s "
        "| CPU µs/request, warn / off |"
    )
    print("|---|---:|---:|---:|---:|")
    for key, on, off in rows:
        print(
            f"| {key} | {on[0]:,.0f} ({on[1]:,.0f}) | {off[0]:,.0f} ({off[1]:,.0f}) | {on[0] / off[0]:.3f} "
            f"| {on[2]:.1f} / {off[2]:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
