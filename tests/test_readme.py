"""The README is the front door: its examples run, and CI runs its test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockllm import Config

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def blocks_run_here(language: str) -> list[str]:
    """The blocks no other test runs: one marked ``<!-- run by tests/… -->`` needs what that test
    gives it (a Redis, say)."""
    found = re.findall(rf"(?:<!-- run by (tests/\S+) -->\n)?```{language}\n(.*?)```", README, flags=re.DOTALL)
    return [source for runner, source in found if runner in ("", "tests/test_readme.py")]


def test_tour_config_and_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tour_config = blocks("json")[0]
    Config.from_json(tour_config)
    (tmp_path / "mocks.json").write_text(tour_config)
    monkeypatch.chdir(tmp_path)
    examples = blocks_run_here("python")
    assert examples
    for source in examples:
        exec(compile(source, "README.md", "exec"), {"__name__": "readme"})


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    commands = [line for block in blocks("bash") for line in block.splitlines() if "pytest" in line]
    assert len(commands) == 1
    assert commands[0] in (ROOT / ".ci" / "run").read_text()
