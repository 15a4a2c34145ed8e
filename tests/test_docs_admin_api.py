"""The admin API page (docs/admin-api.md): its curl commands run, in order, against a server of the
Getting started page's config (docs/getting-started.md), and do what the page says."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from mockllm import Config, MockServer

from .conftest import code_blocks, doc_section


def section() -> str:
    return doc_section("docs/admin-api.md", "# Other languages: the admin API")


def commands() -> list[str]:
    """Each shell command of the section's ``sh`` blocks, continuation lines joined."""
    found: list[str] = []
    for block in code_blocks(section(), "sh"):
        current = ""
        for line in block.splitlines():
            if not current and (not line.strip() or line.startswith("#")):
                continue
            current += line + "\n"
            # A command ends at a line that neither continues it nor sits inside an open quote.
            if not line.endswith("\\") and current.count("'") % 2 == 0:
                found.append(current)
                current = ""
        assert not current, f"unfinished command in docs/admin-api.md: {current!r}"
    return found


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_admin_curl_examples_run_and_do_what_they_say() -> None:
    [tour] = code_blocks(doc_section("docs/getting-started.md", "## A first mock"), "json")
    steps = commands()
    assert len(steps) == 5
    with MockServer(Config.from_json(tour)) as server:
        outputs = []
        for step in steps:
            assert "http://127.0.0.1:8787" in step
            command = step.replace("http://127.0.0.1:8787", server.url)
            done = subprocess.run(
                ["sh", "-c", command], capture_output=True, text=True, timeout=30, check=False
            )
            assert done.returncode == 0, done.stderr
            outputs.append(json.loads(done.stdout))
    added, answer, one, journal, reset = outputs
    assert added["mocks"]["openai"] == 2
    assert answer["choices"][0]["message"]["content"] == "Stocks are up."
    assert one["name"] == "stocks" and one["calls"] == 1
    assert [entry["mock"] for entry in journal["requests"]] == ["stocks"]
    assert journal["requests"][0]["headers"]["authorization"] == "Bearer <redacted, 7 characters>"
    assert reset["mocks"]["openai"] == 1
