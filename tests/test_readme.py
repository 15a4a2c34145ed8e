"""The README is the front door: its tour runs as it says, it stays short, and CI runs its test
command verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockllm import Config

from .conftest import ROOT, code_blocks, doc_section

pytest_plugins = ["pytester"]

TOUR = doc_section("README.md", "## A 30-second tour")


def test_the_tour_script_runs_on_the_tour_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [config] = code_blocks(TOUR, "json")
    Config.from_json(config)
    (tmp_path / "mocks.json").write_text(config)
    monkeypatch.chdir(tmp_path)
    script = code_blocks(TOUR, "python")[0]
    exec(compile(script, "README.md", "exec"), {"__name__": "__main__"})


def test_the_tour_test_passes_under_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_weather=code_blocks(TOUR, "python")[1])
    # The loop scope, as Getting started tells a project with pytest-asyncio to set it.
    loop_scope = ("-o", "asyncio_default_fixture_loop_scope=function")
    result = pytester.runpytest_subprocess("-p", "no:hypothesispytest", "-W", "error", *loop_scope)
    result.assert_outcomes(passed=1)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    commands = [
        line
        for block in code_blocks(doc_section("README.md", "## Two commands"), "bash")
        for line in block.splitlines()
        if "pytest" in line
    ]
    assert len(commands) == 1
    assert commands[0] in (ROOT / ".ci" / "run").read_text()


def test_the_readme_leaves_room_for_the_docs_to_say_the_rest() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
