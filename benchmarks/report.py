"""Reporting: the Markdown tables, the targets as PASS/FAIL lines, and the load average note."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from load import Cell, percentile
from servers import SERVER_LABELS
from workloads import Workload


def fmt(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def fmt_ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def ratio(num: float | None, den: float | None) -> float:
    if num is None or den is None or den == 0 or math.isnan(num) or math.isnan(den):
        return math.nan
    return num / den


def rps_of(cells: dict[tuple[str, str], Cell], server: str, workload: str) -> float | None:
    cell = cells.get((server, workload))
    return cell.wrk.rps if cell is not None and cell.wrk is not None else None


def render(cells: dict[tuple[str, str], Cell], workloads: list[Workload], servers: Sequence[str]) -> str:
    out: list[str] = []
    out.append(
        "| Workload | Server | req/s | p50 ms | p99 ms | errors | ready s | ours / bare | ours / aimock |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for workload in workloads:
        for server in servers:
            cell = cells[(server, workload.key)]
            label = SERVER_LABELS[server]
            if cell.wrk is None:
                out.append(f"| {workload.title} | {label} | {cell.status} | | | | | | |")
                continue
            ours = rps_of(cells, "mockllm", workload.key)
            vs_bare = vs_aimock = ""
            if server == "mockllm":
                vs_bare = fmt_ratio(ratio(ours, rps_of(cells, "bare", workload.key)))
                vs_aimock = fmt_ratio(ratio(ours, rps_of(cells, "aimock", workload.key)))
            w = cell.wrk
            out.append(
                f"| {workload.title} | {label} | {fmt(w.rps, 0)} | {fmt(w.p50_ms)} | "
                f"{fmt(w.p99_ms)} | {w.errors} | {fmt(cell.startup_s, 1)} | {vs_bare} | {vs_aimock} |"
            )
    stream = [w for w in workloads if w.stream]
    if stream:
        out.append("")
        out.append(
            f"Streaming, sequential client on one kept-alive connection ({stream[0].title}); times in ms:"
        )
        out.append("")
        out.append(
            "| Server | SSE events | TTFB p50 | TTFB p99 | first event p50 | total p50 | total p99 | failed |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for server in servers:
            cell = cells[(server, stream[0].key)]
            t = cell.stream
            if t is None:
                out.append(f"| {SERVER_LABELS[server]} | {cell.status} | | | | | | |")
                continue
            out.append(
                f"| {SERVER_LABELS[server]} | {cell.note.split()[0] if cell.note else '?'} | "
                f"{fmt(percentile(t.ttfb_ms, 50))} | {fmt(percentile(t.ttfb_ms, 99))} | "
                f"{fmt(percentile(t.first_event_ms, 50))} | {fmt(percentile(t.total_ms, 50))} | "
                f"{fmt(percentile(t.total_ms, 99))} | {t.failures} |"
            )
    return "\n".join(out)


def target_line(name: str, value: float, goal: float, higher_is_better: bool = True) -> str:
    """``- PASS name: value (>= goal)``; ``n/a`` when the value could not be measured."""
    if math.isnan(value):
        verdict = "n/a "
    else:
        ok = value >= goal if higher_is_better else value <= goal
        verdict = "PASS" if ok else "FAIL"
    sign = ">=" if higher_is_better else "<="
    return f"- {verdict} {name}: {fmt(value)} ({sign} {goal:g})"


def render_targets(cells: dict[tuple[str, str], Cell]) -> str:
    ours_one = rps_of(cells, "mockllm", "one")
    stream_ours = cells.get(("mockllm", "stream"))
    stream_aimock = cells.get(("aimock", "stream"))
    total_ours = (
        percentile(stream_ours.stream.total_ms, 50) if (stream_ours and stream_ours.stream) else math.nan
    )
    total_aimock = (
        percentile(stream_aimock.stream.total_ms, 50)
        if (stream_aimock and stream_aimock.stream)
        else math.nan
    )
    return "\n".join(
        [
            target_line("1 mock: ours / aimock req/s", ratio(ours_one, rps_of(cells, "aimock", "one")), 1.2),
            target_line(
                "1 mock: ours / bare Sanic req/s", ratio(ours_one, rps_of(cells, "bare", "one")), 0.85
            ),
            target_line(
                "10k exact / our 1 mock req/s", ratio(rps_of(cells, "mockllm", "exact10k"), ours_one), 0.9
            ),
            target_line(
                "10k contains / our 1 mock req/s",
                ratio(rps_of(cells, "mockllm", "contains10k"), ours_one),
                0.5,
            ),
            target_line(
                "1 mock with times/priority/scenario / plain 1 mock req/s",
                ratio(rps_of(cells, "mockllm", "stateful"), ours_one),
                0.9,
            ),
            target_line(
                "streaming total p50: ours / aimock",
                ratio(total_ours, total_aimock),
                1.0,
                higher_is_better=False,
            ),
        ]
    )


# Above this 1-minute load average something else is using a core we measure on.
BUSY_LOAD = 0.5


def load_note() -> str:
    """The load average, with a warning when other work will skew the numbers."""
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        return f"WARNING: load average {load:.2f} (other processes are busy; numbers will be noisy)"
    return f"load average {load:.2f}"
