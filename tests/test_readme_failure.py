"""The README's "Testing failure and time" section: errors, timing, faults and chaos, each example
run on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import code_blocks, readme_section

SECTION = readme_section("## Testing failure and time")
EXAMPLES = code_blocks(SECTION, "python")


def test_the_section_gathers_errors_timing_faults_and_chaos() -> None:
    headings = re.findall(r"^### (.+)$", SECTION, flags=re.M)
    assert headings == ["Errors and retries", "Timing", "Faults", "Chaos"]
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("source", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_example_runs(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(source, "README.md", "exec"), {"__name__": "readme"})
