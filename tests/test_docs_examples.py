"""Every code block of the README and of ``docs/`` is run, or says who runs it, or says why not.

The convention, for whoever writes a page: on the line before a block's opening fence,

- ``<!-- run by tests/test_FILE.py -->`` hands the block to that test module, which must exist and
  name the page (its path, such as ``docs/pytest.md``), as the modules that read a page through
  ``doc_section`` do;
- ``<!-- not run: REASON -->`` exempts it, saying why.

Blocks without either are taken here: a ``python`` block is run on its own (in an empty folder, as
``__main__``), so it must be whole; a ``json`` block is a config, which must load. Blocks of shell
commands, other languages' code, TOML, YAML and program output are not run here: those that matter
are run by the tests of their page (the marker says which)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from mockllm import Config

from .conftest import ROOT

PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))]
RUN_BY = re.compile(r"<!-- run by (tests/test_\w+\.py) -->")
NOT_RUN = re.compile(r"<!-- not run: \S.* -->")
TAKEN_HERE = {"python", "json"}


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, from 1
    language: str
    text: str
    marker: str  # the line before the opening fence

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def fenced_blocks(page: str) -> list[Block]:
    lines = (ROOT / page).read_text().splitlines()
    blocks: list[Block] = []
    opening: int | None = None
    for number, line in enumerate(lines):
        if not line.startswith("```"):
            continue
        if opening is None:
            opening = number
            continue
        info = lines[opening][3:].split()
        marker = lines[opening - 1] if opening else ""
        text = "\n".join(lines[opening + 1 : number]) + "\n"
        blocks.append(Block(page, opening + 1, info[0] if info else "", text, marker.strip()))
        opening = None
    assert opening is None, f"{page}:{opening + 1}: a code block is never closed"
    return blocks


BLOCKS = [block for page in PAGES for block in fenced_blocks(page)]
HANDED_ON = [b for b in BLOCKS if RUN_BY.fullmatch(b.marker) or NOT_RUN.fullmatch(b.marker)]
RUN_HERE = [b for b in BLOCKS if b.language in TAKEN_HERE and b not in HANDED_ON]


def test_the_pages_have_blocks_of_each_kind() -> None:
    assert {"docs/getting-started.md", "docs/builder.md", "docs/failure.md"} <= set(PAGES)
    assert len([b for b in RUN_HERE if b.language == "python"]) >= 15
    assert any(b.language == "json" for b in RUN_HERE)


@pytest.mark.parametrize("block", HANDED_ON, ids=[b.where for b in HANDED_ON])
def test_a_block_handed_on_names_a_test_that_names_its_page(block: Block) -> None:
    found = RUN_BY.fullmatch(block.marker)
    if found is None:
        return  # "not run", with its reason
    test_module = ROOT / found.group(1)
    assert test_module.is_file(), f"{block.where}: {found.group(1)} does not exist"
    assert block.page in test_module.read_text(), f"{block.where}: {found.group(1)} never names {block.page}"


def test_every_marker_is_spelled_right() -> None:
    near = [b.where for b in BLOCKS if "<!--" in b.marker and b not in HANDED_ON]
    assert not near, f"markers that are neither 'run by tests/test_….py' nor 'not run: reason': {near}"


@pytest.mark.parametrize("block", RUN_HERE, ids=[b.where for b in RUN_HERE])
def test_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.language == "json":
        Config.from_json(block.text)
        return
    monkeypatch.chdir(tmp_path)
    exec(compile(block.text, block.where, "exec"), {"__name__": "__main__"})
