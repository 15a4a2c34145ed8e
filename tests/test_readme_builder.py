"""The README's "Fluent builder" section: every Python example in it runs, each on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import code_blocks, readme_section

EXAMPLES = code_blocks(readme_section("## Fluent builder"), "python")


def test_the_section_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("source", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_example_runs(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(source, "README.md", "exec"), {"__name__": "readme"})
