"""Proof from another language: `mockllm serve` driven from Node.js with the official ``openai`` and
``@anthropic-ai/sdk`` packages and the admin HTTP API (``tests/node/agent.test.mjs``).

The config is the one a team would hand over: written with the Python builder and exported with
``mockllm export``. The npm packages are installed by ``npm ci --prefix tests/node`` (CI does it);
elsewhere the test is skipped, with the reason, when node or the packages are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, on_ci
from .test_cli import start

NODE_SUITE = ROOT / "tests" / "node"


def _node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed: the Node.js SDK suite needs node 20 or later"
    elif not (NODE_SUITE / "node_modules" / "openai").is_dir():
        reason = "the Node.js SDKs are not installed: run `npm ci --prefix tests/node`"
    else:
        return node
    if on_ci():
        pytest.fail(reason)  # CI installs both: their absence is a broken CI, not a reason to skip
    pytest.skip(reason)


def test_node_sdks_drive_serve_and_the_admin_api(tmp_path: Path) -> None:
    node = _node_or_skip()
    config = tmp_path / "mocks.json"
    exported = subprocess.run(
        [sys.executable, "-m", "mockllm", "export", "tests.node.agent_mocks:m", "-o", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    assert [mock["name"] for mock in json.loads(config.read_text())["openai"]] == [
        "weather-call",
        "weather-answer",
    ]

    process, url = start("--config", str(config))
    try:
        suite = subprocess.run(
            [node, "--test", "--test-reporter=tap", str(NODE_SUITE / "agent.test.mjs")],
            cwd=NODE_SUITE,
            env={**os.environ, "MOCKLLM_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert suite.returncode == 0, suite.stdout + suite.stderr
    # The suite and its six steps, every one run.
    assert "# pass 7" in suite.stdout and "# fail 0" in suite.stdout, suite.stdout
