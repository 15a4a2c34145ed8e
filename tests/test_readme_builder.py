"""The README's "Fluent builder" section: every Python example in it runs, each on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT

HEADING = "## Fluent builder"


def builder_section() -> str:
    readme = (ROOT / "README.md").read_text()
    assert HEADING in readme, f"no {HEADING!r} section in README.md"
    section = readme[readme.index(HEADING) + len(HEADING) :]
    following = re.search(r"^## ", section, flags=re.M)
    return section[: following.start()] if following else section


EXAMPLES = re.findall(r"```python\n(.*?)```", builder_section(), flags=re.DOTALL)


def test_the_section_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("source", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_example_runs(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(source, "README.md", "exec"), {"__name__": "readme"})
