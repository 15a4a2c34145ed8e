"""The Getting started page, followed line by line as a new user would: a fresh virtual environment
in a folder outside the clone, the package installed from its built wheel with the `sdks` extra,
then each command and file of the page in order. The commands are read from the page, so the page
and this walk cannot drift apart.

Installing the wheel's dependencies needs the package index, so the walk runs under CI (``CI=true``,
as ``.ci/run`` sets it) or when ``MOCKLLM_WALK=1`` asks for it; elsewhere it skips, saying so."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mockllm import __version__

from .conftest import ROOT, on_ci

PAGE = "docs/getting-started.md"
# A fenced block with its info string: the language, then an optional title="file name".
BLOCK = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```\n', flags=re.DOTALL | re.MULTILINE)
INSTALL = "'mockllm-server[sdks]'"

needs_the_index = pytest.mark.skipif(
    not (on_ci() or os.environ.get("MOCKLLM_WALK") == "1"),
    reason="the Getting started walk installs the wheel's dependencies from the package index;"
    " it runs under CI=true or MOCKLLM_WALK=1",
)


def page_blocks() -> list[tuple[str, str | None, str]]:
    """The page's fenced blocks in order: (language, file name or None, text)."""
    return BLOCK.findall((ROOT / PAGE).read_text())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def walk_script(wheel: Path, port: int) -> str:
    """One bash script that does what the page says, in its order: a block with a file name is
    written to that file, a bash block is run as it stands. The page's port is swapped for a free
    one, its install of the package for the wheel, and the server it starts in a terminal of its
    own runs in the background here until the script ends."""
    steps = ["set -euo pipefail"]
    for language, name, text in page_blocks():
        if name:
            steps.append(f"cat > {shlex.quote(name)} <<'END_OF_FILE'\n{text}END_OF_FILE")
            continue
        assert language == "bash", f"{PAGE}: a {language} block without a file name"
        text = text.replace(":8787", f":{port}").replace("--port 8787", f"--port {port}")
        if INSTALL in text:
            text = text.replace(INSTALL, shlex.quote(f"{wheel}[sdks]"))
        if text.startswith("mockllm serve "):
            assert text.count("\n") == 1, "the serve block is one command"
            steps.append(f"{text.strip()} > serve.log 2>&1 &\ntrap 'kill $!' EXIT")
            steps.append(f"until curl -sf http://127.0.0.1:{port}/health > /dev/null; do sleep 0.2; done")
            continue
        steps.append(text)
    return "\n".join(steps) + "\n"


def test_the_page_is_what_the_walk_follows() -> None:
    blocks = page_blocks()
    assert sum(INSTALL in text for _, _, text in blocks) == 1
    assert [name for _, name, _ in blocks if name] == [
        "mocks.json",
        "tour.py",
        "test_hello.py",
        "pyproject.toml",
        "test_hello_async.py",
        "test_tool_loop.py",
        "test_retries.py",
    ]


@needs_the_index
def test_getting_started_works_in_a_fresh_project(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(ROOT)],
        check=True,
        timeout=300,
    )
    [wheel] = dist.glob("mockllm_server-*.whl")
    home = tmp_path / "home"  # outside the clone, with none of its virtual environment
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    done = subprocess.run(
        ["bash", "-c", walk_script(wheel, free_port())],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"mockllm {__version__}" in done.stdout
    assert '"content":"It is sunny in London."' in done.stdout  # curl's answer
    assert "sunny, twice" in done.stdout
    assert "5 passed" in done.stdout
    assert "warnings summary" not in done.stdout and "PytestDeprecationWarning" not in output
    assert (home / "my-agent" / ".venv").is_dir()
