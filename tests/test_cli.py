"""``mockllm serve`` as a user runs it: a subprocess that prints its URL, answers the official
SDKs from the built-in example, and stops cleanly on SIGTERM and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockllm", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
    return process, url


@pytest.fixture
def example_server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process, url = start()
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_builtin_example_and_stop(
    example_server: tuple[subprocess.Popen[str], str], signum: int
) -> None:
    process, url = example_server
    client = openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0)
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
    )
    assert reply.choices[0].message.content == "Hello! I am a mock. How can I help?"
    claude = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0)
    message = claude.messages.create(
        model="claude", max_tokens=10, messages=[{"role": "user", "content": "Hello"}]
    )
    assert message.content[0].text == "Hello from the mock Claude!"  # type: ignore[union-attr]
    process.send_signal(signum)
    assert process.wait(timeout=10) == 0
    assert process.stderr is not None and "mockllm: stopped" in process.stderr.read()


def test_serve_with_config_and_listen_addr(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    config = {
        "listen_addr": "127.0.0.1:0",
        "anthropic": [
            {
                "match": {"match_type": "contains", "message": {"role": "user", "content": "2+2"}},
                "response": {"content": [{"type": "text", "text": "4"}]},
            }
        ],
    }
    path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "mockllm", "serve", "--config", str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        claude = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0)
        reply = claude.messages.create(
            model="c", max_tokens=5, messages=[{"role": "user", "content": "2+2?"}]
        )
        assert reply.content[0].text == "4"  # type: ignore[union-attr]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_serve_bad_config_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"openai": [{"match": {}}]}')
    done = subprocess.run(
        [sys.executable, "-m", "mockllm", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "bad.json: $.openai[0].match.match_type" in done.stderr


def test_serve_with_workers_shares_the_port_and_stops_them_all() -> None:
    process, url = start("--workers", "2")
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0)
        for _ in range(20):  # new connections, so the kernel spreads them over the workers
            with openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0) as fresh:
                reply = fresh.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "Hello"}]
                )
                assert reply.choices[0].message.content == "Hello! I am a mock. How can I help?"
        client.close()
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) == 1
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    for pid in children:
        assert subprocess.run(["kill", "-0", pid], capture_output=True, check=False).returncode != 0
