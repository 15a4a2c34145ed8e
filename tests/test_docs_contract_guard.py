"""The contract guard page (docs/contract-guard.md): its Python example runs, and the `mockllm validate`
output it shows is what the command prints for the config it shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockllm.cli import main

from .conftest import code_blocks, doc_section

SECTION = doc_section("docs/contract-guard.md", "# The contract guard")


def test_example_runs() -> None:
    [source] = code_blocks(SECTION, "python")
    exec(compile(source, "docs/contract-guard.md", "exec"), {"__name__": "__main__"})


def test_validate_prints_what_the_section_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    [config] = code_blocks(SECTION, "json")
    typo, fixed = code_blocks(SECTION, "text")
    monkeypatch.chdir(tmp_path)
    Path("mocks.json").write_text(config)
    assert main(["validate", "mocks.json"]) == 1
    out, err = capsys.readouterr()
    assert f"$ mockllm validate mocks.json\n{out}{err}" == typo

    data = json.loads(config)
    choice = data["openai"][0]["response"]["choices"][0]
    choice["finish_reason"] = choice.pop("finish_reson")
    Path("mocks.json").write_text(json.dumps(data))
    assert main(["validate", "mocks.json"]) == 0
    out, err = capsys.readouterr()
    assert f"$ mockllm validate mocks.json\n{err}{out}" == fixed
