"""The trace viewer's page of the docs and its README section: every example runs, and the report
lines and Mock this code they show are what mockllm prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockllm.mock_this import suggest_mock

from .conftest import ROOT, code_blocks, doc_section
from .test_pytest_plugin import INNER_ARGS

pytest_plugins = ["pytester"]

PAGE = "docs/trace-viewer.md"


def run(source: str) -> None:
    exec(compile(source, PAGE, "exec"), {"__name__": "docs"})


def test_the_readme_example_runs_and_the_picture_is_there() -> None:
    section = doc_section("README.md", "## Trace viewer")
    [example] = code_blocks(section, "python")
    run(example)
    assert (ROOT / "docs/images/trace-viewer.png").stat().st_size < 200_000
    assert "(docs/trace-viewer.md)" in section
    assert len(section.splitlines()) <= 30


def test_opening_the_page_runs() -> None:
    [example] = code_blocks(doc_section(PAGE, "## Open the page"), "python")
    run(example)


def test_the_events_feed_example_runs() -> None:
    [example] = code_blocks(doc_section(PAGE, "## The events feed"), "python")
    run(example)


def test_mock_this_shows_what_the_page_suggests() -> None:
    [example] = code_blocks(doc_section(PAGE, "## Mock this"), "python")
    run(example)
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Book me a flight to Rome"}],
    }
    assert suggest_mock("anthropic", body).builder == example


def test_the_failed_test_leaves_the_trace_the_page_shows(pytester: pytest.Pytester) -> None:
    section = doc_section(PAGE, "## The trace file a failed test leaves")
    [test_file] = code_blocks(section, "python")
    [report] = code_blocks(section, "text")
    pytester.makepyfile(test_agent=test_file)
    result = pytester.runpytest_subprocess(*INNER_ARGS)
    result.assert_outcomes(failed=1)
    trace = pytester.path / ".mockllm" / "traces" / "test_agent.py_test_agent_books_a_flight.html"
    assert trace.is_file()
    heading, line = report.splitlines()
    assert heading.strip("- ") == "mockllm trace"
    shown = line.replace("/home/me/project", str(pytester.path))
    assert shown in result.stdout.str()
    assert Path(shown.removeprefix("open in a browser: ")) == trace
    assert re.search(r"-+ mockllm trace -+", result.stdout.str())
