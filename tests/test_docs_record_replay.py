"""The record & replay page (docs/record-replay.md): its commands, its Python example and its
pytest example run, against an upstream mockllm on 127.0.0.1 standing in for the real APIs."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openai
import orjson
import pytest

from mockllm import Config, MockServer

from .conftest import code_blocks, doc_section
from .test_recording import SECRET, UPSTREAM_CONFIG, chat_loop

pytest_plugins = ["pytester"]

PAGE = "docs/record-replay.md"
OFFICIAL_OPENAI = "https://api.openai.com/v1"
OFFICIAL_ANTHROPIC = "https://api.anthropic.com"


def blocks(language: str) -> list[str]:
    return code_blocks(doc_section(PAGE, "# Record once, replay forever"), language)


@pytest.fixture
def upstream() -> Iterator[MockServer]:
    weather = {
        "match": {"match_type": "contains", "message": {"role": "user", "content": "Weather in Paris"}},
        "response": {"choices": [{"message": {"role": "assistant", "content": "Sunny, 24 °C."}}]},
    }
    config = {**UPSTREAM_CONFIG, "openai": [*UPSTREAM_CONFIG["openai"], weather]}
    with MockServer(Config.from_dict(config)) as server:
        yield server


def test_the_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    example = next(block for block in blocks("python") if "Recording(" in block)
    exec(compile(example, PAGE, "exec"), {"__name__": "__main__"})
    assert Config.from_json((tmp_path / "weather.json").read_bytes()).counts()["openai"] == 1


def serve(command: str, upstream: MockServer, cwd: Path) -> tuple[subprocess.Popen[str], Any]:
    command = command.replace(OFFICIAL_OPENAI, upstream.openai_base_url)
    command = command.replace(OFFICIAL_ANTHROPIC, upstream.anthropic_base_url)
    args = shlex.split(command)
    assert args[:2] == ["mockllm", "serve"]
    process = subprocess.Popen(
        [sys.executable, "-m", "mockllm", *args[1:], "--port", "0"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), process.communicate()[1]
    return process, SimpleNamespace(openai_base_url=url + "/v1", anthropic_base_url=url)


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def test_the_commands_record_then_replay_offline(upstream: MockServer, tmp_path: Path) -> None:
    record, replay = [line for line in blocks("shell")[0].splitlines() if line.startswith("mockllm serve")]
    truth = chat_loop(upstream, stream=False)
    process, recorder = serve(record, upstream, tmp_path)
    try:
        assert chat_loop(recorder, stream=True) == chat_loop(upstream, stream=True)
    finally:
        stop(process)
    cassette = tmp_path / "cassette.json"
    assert SECRET not in cassette.read_text()
    upstream.stop_thread()
    process, replayer = serve(replay, upstream, tmp_path)
    try:
        assert chat_loop(replayer, stream=False) == truth
    finally:
        stop(process)


def test_serve_record_flags_are_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from mockllm.cli import main

    for args, problem in [
        (["--record", "c.json", "--passthrough"], "--passthrough: a server records or passes through"),
        (["--upstream", "http://x/v1"], "--upstream: needs --record OUT.json or --passthrough"),
        (["--passthrough", "--upstream", "ftp://x"], "expected an http(s) base URL"),
        (["--passthrough", "--upstream", "http://[::1"], "expected an http(s) base URL"),
        (["--passthrough", "--upstream", "http://h:99999/v1"], "expected an http(s) base URL"),
        (["--passthrough", "--anthropic-upstream", "https://"], "expected an http(s) base URL"),
        (["--passthrough", "--upstream-timeout", "0"], "--upstream-timeout: expected a number of seconds"),
        # Taken, a directory made every exchange fail to be written, with a server-side error each.
        (["--record", str(tmp_path)], "--record: expected a file to write the exchanges to"),
    ]:
        assert main(["serve", "--port", "0", *args]) == 2
        err = capsys.readouterr().err
        assert problem in err and err.count("\n") == 1, err


def test_the_pytest_example_records_then_replays(
    upstream: MockServer, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = next(block for block in blocks("python") if "cassette=" in block)
    pytester.makepyfile(test_weather=example)
    inner = (
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:randomly",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
    )

    missing = pytester.runpytest_subprocess(*inner)
    missing.assert_outcomes(errors=1)
    missing.stdout.fnmatch_lines(["*cassette*test_weather.json not found*", "*pytest --mockllm-record*"])

    monkeypatch.setenv("MOCKLLM_OPENAI_UPSTREAM", upstream.openai_base_url)
    monkeypatch.setenv("MOCKLLM_ANTHROPIC_UPSTREAM", upstream.anthropic_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    pytester.runpytest_subprocess("--mockllm-record", *inner).assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_weather.json"
    assert SECRET not in cassette.read_text()
    assert [r.headers.get("authorization") for r in upstream.journal] == [f"Bearer {SECRET}"]
    recorded = orjson.loads(cassette.read_bytes())["openai"]
    assert recorded[0]["match"]["message"] == {"role": "user", "content": "Weather in Paris?"}

    upstream.stop_thread()  # replay is offline
    monkeypatch.delenv("OPENAI_API_KEY")
    pytester.runpytest_subprocess(*inner).assert_outcomes(passed=1)
    # Recording again starts the cassette over: one mock, not two.
    assert len(orjson.loads(cassette.read_bytes())["openai"]) == 1


def test_replay_reports_what_the_cassette_lacks(pytester: pytest.Pytester) -> None:
    cassette = pytester.path / "c.json"
    cassette.write_text('{"openai": []}')
    pytester.makepyfile(
        """
        import openai
        import pytest

        @pytest.mark.mockllm(cassette="c.json")
        def test_it(mockllm):
            client = openai.OpenAI(base_url=mockllm.openai_base_url, api_key="k", max_retries=0)
            with pytest.raises(openai.NotFoundError, match="No mock matched"):
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        """
    )
    pytester.runpytest_subprocess("-p", "no:hypothesispytest").assert_outcomes(passed=1)


def test_a_recorder_answers_sdk_requests_it_forwarded_with_the_official_error_classes(
    upstream: MockServer, tmp_path: Path
) -> None:
    # A 404 of the upstream (nothing matched there either) reaches the caller as the SDK's own error.
    from mockllm import Recording

    recording = Recording(tmp_path / "c.json", openai_upstream=upstream.openai_base_url)
    with MockServer(record=recording) as recorder:
        client = openai.OpenAI(base_url=recorder.openai_base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.NotFoundError, match="No mock matched"):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "nothing"}])
    assert not (tmp_path / "c.json").exists()


def test_serve_never_prints_the_credentials_of_an_upstream_url(upstream: MockServer, tmp_path: Path) -> None:
    with_key = upstream.openai_base_url.replace("http://", "http://proxy-user:sk-in-the-url@")
    process = subprocess.Popen(
        [sys.executable, "-m", "mockllm", "serve", "--port", "0", "--passthrough", "--upstream", with_key],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("http://127.0.0.1:")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert "passing through what no mock matches: OpenAI http://127.0.0.1:" in err
    assert "sk-in-the-url" not in out + err and "proxy-user" not in err
