"""The README's "Testing failure and time" section: errors, timing, faults and chaos, each example
run on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT

HEADING = "## Testing failure and time"


def failure_section() -> str:
    readme = (ROOT / "README.md").read_text()
    assert HEADING in readme, f"no {HEADING!r} section in README.md"
    section = readme[readme.index(HEADING) + len(HEADING) :]
    following = re.search(r"^## ", section, flags=re.M)
    return section[: following.start()] if following else section


SECTION = failure_section()
EXAMPLES = re.findall(r"```python\n(.*?)```", SECTION, flags=re.DOTALL)


def test_the_section_gathers_errors_timing_faults_and_chaos() -> None:
    headings = re.findall(r"^### (.+)$", SECTION, flags=re.M)
    assert headings == ["Errors and retries", "Timing", "Faults", "Chaos"]
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("source", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_example_runs(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(source, "README.md", "exec"), {"__name__": "readme"})
