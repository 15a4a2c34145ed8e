"""``mockllm serve`` as a user runs it: a subprocess that prints its URL, answers the official
SDKs from the built-in example, and stops cleanly on SIGTERM and Ctrl-C. And every way to start
the CLI wrong: one line on stderr and exit status 2 (1 for ``validate`` of a bad file), never a
traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anthropic
import httpx2 as httpx
import openai
import pytest

from mockllm.cli import main

from .test_config import MOCK, deep_config_text


def start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockllm", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else {**os.environ, **env},
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
    assert httpx.get(url + "/__mockllm/ui").status_code == 200
    process.send_signal(signum)
    assert process.wait(timeout=10) == 0
    assert process.stderr is not None
    said = process.stderr.read()
    assert "mockllm: stopped" in said
    assert f"  Trace viewer:       {url}/__mockllm/ui\n" in said


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


def test_serve_listens_where_the_environment_says_before_listen_addr(tmp_path: Path) -> None:
    """A container image sets MOCKLLM_HOST and MOCKLLM_PORT: they win over a config's listen_addr,
    and a flag wins over them."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"listen_addr": "127.0.0.2:1"}))
    env = {"MOCKLLM_HOST": "127.0.0.1", "MOCKLLM_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockllm", "serve", "--config", str(path)],
        stdout=subprocess.PIPE,
        env={**os.environ, **env},
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    process, url = start(env={"MOCKLLM_PORT": "1"})  # start() passes --port 0
    process.terminate()
    assert process.wait(timeout=10) == 0
    assert url != "http://127.0.0.1:1"


@pytest.mark.parametrize("value", ["http", "70000"])
def test_a_bad_port_in_the_environment(
    value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCKLLM_PORT", value)
    status, err = run(capsys, "serve")
    assert status == 2
    assert one_line(err).startswith("mockllm serve: MOCKLLM_PORT: expected ")


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


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_serve_with_workers_answers_the_admin_api_with_409() -> None:
    process, url = start("--workers", "2")
    try:
        for method in ("GET", "POST"):
            answer = httpx.request(
                method, url + "/__mockllm/reset" if method == "POST" else url + "/__mockllm/mocks"
            )
            assert answer.status_code == 409
            message = answer.json()["error"]["message"]
            assert "needs one worker process" in message and "--workers 2" in message
    finally:
        stop(process)
    assert process.stderr is not None and "Trace viewer" not in process.stderr.read()  # it answers 409


def test_serve_keeps_a_bounded_journal_with_capped_bodies() -> None:
    process, url = start("--journal-size", "2", "--journal-body-bytes", "80")
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-serve-secret", max_retries=0)
        for text in ("first", "second", "third " + "x" * 100):
            with pytest.raises(openai.NotFoundError):
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
        entries = httpx.get(url + "/__mockllm/requests").json()["requests"]
        assert len(entries) == 2
        assert entries[0]["body"]["messages"][0]["content"] == "second"
        assert entries[1]["body"]["truncated"] is True
        assert entries[1]["body"]["bytes"] > 100
        assert entries[1]["headers"]["authorization"] == "Bearer <redacted, 15 characters>"
    finally:
        stop(process)


def test_serve_keeps_a_journal_by_default_and_none_with_journal_size_0() -> None:
    process, url = start()
    try:
        openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hello"}]
        )
        assert [e["mock"] for e in httpx.get(url + "/__mockllm/requests").json()["requests"]] == ["hello"]
    finally:
        stop(process)
    process, url = start("--journal-size", "0")
    try:
        answer = httpx.get(url + "/__mockllm/requests")
        assert answer.status_code == 409
        assert "--journal-size 0" in answer.json()["error"]["message"]
        assert httpx.get(url + "/__mockllm/mocks").status_code == 200
    finally:
        stop(process)


@pytest.mark.parametrize("given", ["environment", "file"])
def test_serve_admin_token_from_the_environment_or_a_file(tmp_path: Path, given: str) -> None:
    """A token on the command line is in /proc/<pid>/cmdline for every local user to read: it may
    come from MOCKLLM_ADMIN_TOKEN or from a file instead.

    Mutation caught: the token read from the command line alone."""
    token_file = tmp_path / "admin-token"
    token_file.write_text("tok-456\n")  # as `echo tok-456 > file` writes it
    if given == "environment":
        process, url = start(env={"MOCKLLM_ADMIN_TOKEN": "tok-456"})
    else:
        process, url = start("--admin-token-file", str(token_file))
    try:
        assert httpx.get(url + "/__mockllm/mocks").status_code == 401
        authorized = {"authorization": "Bearer tok-456"}
        assert httpx.get(url + "/__mockllm/mocks", headers=authorized).status_code == 200
        assert "tok-456" not in Path(f"/proc/{process.pid}/cmdline").read_text()
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("args", "environ", "error"),
    [
        (
            ["--admin-token-file", "{tmp}/absent"],
            {},
            "--admin-token-file: cannot read {tmp}/absent: No such file or directory",
        ),
        (["--admin-token-file", "{tmp}/empty"], {}, "--admin-token-file: {tmp}/empty holds no token"),
        ([], {"MOCKLLM_ADMIN_TOKEN": " "}, "MOCKLLM_ADMIN_TOKEN: set, but holds no token"),
    ],
)
def test_a_missing_or_empty_admin_token_is_a_usage_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    environ: dict[str, str],
    error: str,
) -> None:
    (tmp_path / "empty").write_text("\n")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    # A config that cannot be read: a CLI that took the token would stop there, not serve.
    absent = str(tmp_path / "absent.json")
    status, err = run(capsys, "serve", *[arg.format(tmp=tmp_path) for arg in args], "--config", absent)
    assert status == 2
    assert one_line(err) == "mockllm serve: " + error.format(tmp=tmp_path)


def test_admin_token_and_admin_token_file_are_one_or_the_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run(capsys, "serve", "--admin-token", "a", "--admin-token-file", str(tmp_path / "t"))
    assert status == 2
    assert "not allowed with argument" in err.splitlines()[-1]


def test_serve_admin_token() -> None:
    process, url = start("--admin-token", "tok-123")
    try:
        assert httpx.get(url + "/__mockllm/mocks").status_code == 401
        assert (
            httpx.get(url + "/__mockllm/mocks", headers={"authorization": "Bearer tok-123"}).status_code
            == 200
        )
    finally:
        stop(process)


# --- usage and config errors -----------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int | str | None, str]:
    """The CLI in this process: its exit status and what it wrote to stderr."""
    try:
        status: int | str | None = main(list(args))
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    return status, capsys.readouterr().err


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    return err.strip()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--port", "70000"], "argument --port: expected a port from 0 to 65535, got 70000"),
        (["--port", "-1"], "argument --port: expected a port from 0 to 65535, got -1"),
        (["--port", "http"], "argument --port: expected a whole number, got 'http'"),
        (["--workers", "0"], "argument --workers: expected a number of processes, 1 or more, got 0"),
        (["--workers", "-2"], "argument --workers: expected a number of processes, 1 or more, got -2"),
        (["--journal-size", "-1"], "argument --journal-size: expected 0 or more, got -1"),
        (
            ["--journal-size", "1" + "0" * 22],
            f"argument --journal-size: expected at most 1000000000, got 1{'0' * 22}",
        ),
        (["--admin-token", ""], "argument --admin-token: expected a token, got an empty one"),
        (["--admin-token", " "], "argument --admin-token: expected a token, got an empty one"),
        (
            ["--journal-body-bytes", "lots"],
            "argument --journal-body-bytes: expected a whole number, got 'lots'",
        ),
    ],
)
def test_serve_bad_arguments_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    # A config that cannot be read: a CLI that took the arguments would stop there, not serve.
    status, err = run(capsys, "serve", *args, "--config", str(tmp_path / "absent.json"))
    assert status == 2
    assert err.startswith("usage: mockllm serve")
    assert err.splitlines()[-1] == f"mockllm serve: error: {error}"


@pytest.mark.parametrize("listen_addr", ["127.0.0.1:70000", "::::", "host:abc", "::1:8787"])
def test_bad_listen_addr_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], listen_addr: str
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"listen_addr": listen_addr}))
    expected = f'{path}: $.listen_addr: expected "host:port" with a port from 0 to 65535'
    status, err = run(capsys, "validate", str(path))
    assert status == 1
    assert one_line(err).startswith(expected)
    status, err = run(capsys, "serve", "--config", str(path))
    assert status == 2
    assert one_line(err).startswith(expected)


def test_serve_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"openai": [{"match": {}}]}')
    status, err = run(capsys, "serve", "--config", str(path))
    assert status == 2
    assert err.startswith(f"{path}: $.openai[0].match.match_type: ")


def test_serve_names_the_file_when_a_response_cannot_be_served(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"openai": [{**MOCK, "response": {"choices": "nope"}}]}))
    status, err = run(capsys, "serve", "--config", str(path))
    assert status == 2
    assert one_line(err) == f'{path}: $.openai[0].response.choices: expected an array, got "nope"'


def test_serve_on_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status, err = run(capsys, "serve", "--port", str(port))
    assert status == 2
    assert one_line(err) == f"mockllm: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_serve_on_a_host_name_that_cannot_be_encoded(capsys: pytest.CaptureFixture[str]) -> None:
    host = "é" * 70  # an IDNA label has at most 63 characters
    status, err = run(capsys, "serve", "--host", host, "--port", "0")
    assert status == 2
    assert one_line(err) == f"mockllm: cannot listen on {host}:0: encoding of hostname failed"


def test_config_nested_too_deeply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.json"
    path.write_text(deep_config_text(1000))
    expected = (
        f"{path}: $.openai[0].match.message.content[0].x[0][0][0]...: "
        "nested too deeply: arrays and objects may nest at most 100 levels"
    )
    status, err = run(capsys, "validate", str(path))
    assert (status, one_line(err)) == (1, expected)
    status, err = run(capsys, "serve", "--config", str(path))
    assert (status, one_line(err)) == (2, expected)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("missing", "cannot read file: No such file or directory"),
        ("directory", "not a regular file (a directory): give a JSON config file"),
        ("device", "not a regular file (a character device): give a JSON config file"),
        ("unreadable", "cannot read file: Permission denied"),
        ("empty", "invalid JSON at line 1 column 1: Input is a zero-length, empty document"),
        ("binary", "not UTF-8 text (byte 0): a JSON config is UTF-8"),
    ],
)
def test_a_config_path_that_is_not_a_readable_json_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, reason: str
) -> None:
    path = tmp_path / "c.json"
    if kind == "directory":
        path.mkdir()
    elif kind == "device":
        path = Path(os.devnull)
    elif kind == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        path.write_text("{}")
        path.chmod(0)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "binary":
        path.write_bytes(bytes(range(255, 0, -1)))
    status, err = run(capsys, "validate", str(path))
    assert (status, one_line(err)) == (1, f"{path}: $: {reason}")
    status, err = run(capsys, "serve", "--config", str(path))
    assert (status, one_line(err)) == (2, f"{path}: $: {reason}")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    for command, status in ((["validate", str(pipe)], 1), (["serve", "--config", str(pipe)], 2)):
        done = subprocess.run(
            [sys.executable, "-m", "mockllm", *command], capture_output=True, text=True, timeout=20
        )
        assert done.returncode == status
        assert done.stderr == f"{pipe}: $: not a regular file (a named pipe): give a JSON config file\n"


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """Write the source of a module that `mockllm export` can import; returns its name."""
    name = "cli_export_target"
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(source: str) -> str:
        (tmp_path / f"{name}.py").write_text(source)
        return name

    yield write
    sys.modules.pop(name, None)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("raise RuntimeError('no network here')", "RuntimeError: no network here"),
        ("x = (", "SyntaxError: '(' was never closed"),
        ("import sys\nsys.exit(3)", "SystemExit: 3"),
        (
            "from mockllm import Config\nConfig.model_validate({'opena1': []})",
            "ValidationError: 1 validation",
        ),
    ],
)
def test_export_of_a_module_that_fails_on_import(
    module: Callable[[str], str], capsys: pytest.CaptureFixture[str], source: str, reason: str
) -> None:
    name = module(source)
    status, err = run(capsys, "export", f"{name}:m")
    assert status == 1
    assert one_line(err).startswith(f"mockllm export: cannot import {name}: {reason}")


DEEP_BUILDER = """
from mockllm import mock

value = "x"
for _ in range(200):  # past the limit, within what the builder copies as JSON
    value = [value]
m = mock()
m.openai_chat().when_last_message(role="user", content=[{"type": "text", "x": value}]).reply("hi")
"""


def test_export_of_a_builder_nested_too_deeply(
    module: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    name = module(DEEP_BUILDER)
    status, err = run(capsys, "export", f"{name}:m")
    assert status == 1
    assert one_line(err) == (
        f"mockllm export: cannot import {name}: BuilderError: mockllm: invalid openai mock: "
        "match.message.content[0].x[0][0][0]...: nested too deeply: arrays and objects may nest at most "
        "100 levels"
    )


def test_export_of_a_relative_module_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run(capsys, "export", "..mocks:m")
    assert status == 1
    assert one_line(err).startswith("mockllm export: cannot import ..mocks: TypeError: ")


def test_export_to_a_file_that_cannot_be_written(
    module: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = module("from mockllm import mock\nm = mock()\nm.openai_chat().reply('hi')\n")
    output = tmp_path / "no-such-dir" / "mocks.json"
    status, err = run(capsys, "export", f"{name}:m", "-o", str(output))
    assert status == 2
    assert one_line(err) == f"mockllm export: cannot write {output}: No such file or directory"


def test_serve_refuses_stateful_mocks_across_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"openai": [MOCK, {**MOCK, "name": "retry", "times": 1}]}))
    status, err = run(capsys, "serve", "--config", str(path), "--workers", "2")
    assert status == 2
    assert one_line(err) == (
        f'{path}: $.openai[1]: the mock ("retry") uses times or a scenario, whose state a process keeps'
        " for itself: serve it with one worker, not --workers 2"
    )


# --- a default timing for the mocks without their own --------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--ttft-ms", "-5"], "--ttft-ms: expected a number of milliseconds from 0 to 600000, got -5"),
        (["--chunk-interval-ms", "600001"], "--chunk-interval-ms: expected a number of milliseconds"),
        (["--jitter-ms", "fast"], "--jitter-ms: expected a number, got 'fast'"),
        (["--seed", "1.5"], "--seed: Input should be a valid integer"),
    ],
)
def test_serve_bad_timing_flags_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    status, err = run(capsys, "serve", *args)
    assert status == 2
    assert one_line(err).startswith(f"mockllm serve: {error}")


@pytest.fixture
def servers_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    """The keyword arguments of every `MockServer` that ``mockllm serve`` makes, started but not
    served."""
    from mockllm import cli

    made: list[dict[str, object]] = []
    real = cli.MockServer

    def recording(*args: object, **kwargs: object) -> object:
        made.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    sock = socket.socket()
    monkeypatch.setattr(cli, "MockServer", recording)
    monkeypatch.setattr(cli, "listening_socket", lambda host, port: sock)
    monkeypatch.setattr(cli, "run", lambda main: main.close())
    monkeypatch.setattr(cli.gc, "freeze", lambda: None)
    try:
        yield made
    finally:
        sock.close()


def test_serve_timing_flags_become_the_servers_default_timing(
    servers_made: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    from mockllm.config import Timing

    args = ["--ttft-ms", "50", "--chunk-interval-ms", "2.5", "--jitter-ms", "1", "--seed", "7"]
    status, _ = run(capsys, "serve", *args)
    assert status == 0
    assert servers_made[-1]["timing"] == Timing(ttft_ms=50, chunk_interval_ms=2.5, jitter_ms=1, seed=7)
    status, _ = run(capsys, "serve")
    assert status == 0
    assert servers_made[-1]["timing"] is None


def test_serve_with_a_default_ttft_answers_late() -> None:
    process, url = start("--ttft-ms", "300")
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0)
        began = time.monotonic()
        reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hello"}])
        assert time.monotonic() - began >= 0.3
        assert reply.choices[0].message.content == "Hello! I am a mock. How can I help?"
        client.close()
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


# --- chaos: a share of the matched requests fails -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--chaos-error-rate", "2"], "--chaos-error-rate: expected a rate from 0 to 1, got '2'"),
        (["--chaos-disconnect-rate", "-1"], "--chaos-disconnect-rate: expected a rate from 0 to 1, got '-1'"),
        (["--chaos-error-rate", "nan"], "--chaos-error-rate: expected a rate from 0 to 1, got 'nan'"),
        (
            ["--chaos-error-rate", "0.5", "--chaos-disconnect-rate", "0.75"],
            "--chaos-disconnect-rate: the two chaos rates add up to more than 1",
        ),
        (["--chaos-error-rate", "0.5", "--seed", "0.5"], "--seed: Input should be a valid integer, got 0.5"),
    ],
)
def test_serve_bad_chaos_flags_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    status, err = run(capsys, "serve", *args)
    assert status == 2
    assert one_line(err) == f"mockllm serve: {error}"


def test_serve_chaos_flags_become_the_servers_chaos_seeded_by_seed(
    servers_made: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    from mockllm import Chaos

    args = ["--chaos-error-rate", "0.05", "--chaos-disconnect-rate", "0.1", "--seed", "7"]
    assert run(capsys, "serve", *args)[0] == 0
    # --seed without a pace takes no mock off the fast path: it seeds the chaos alone.
    assert (servers_made[-1]["chaos"], servers_made[-1]["timing"]) == (Chaos(0.05, 0.1, seed=7), None)
    assert run(capsys, "serve", "--chaos-error-rate", "1")[0] == 0
    assert servers_made[-1]["chaos"] == Chaos(error_rate=1)
    assert run(capsys, "serve")[0] == 0
    assert servers_made[-1]["chaos"] is None


def test_serve_with_chaos_fails_requests_the_sdks_retry() -> None:
    process, url = start("--chaos-error-rate", "1")
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hello"}])
        reply = client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "Hello"}],
            extra_headers={"x-mockllm-chaos": "error-rate=0"},
        )
        assert reply.choices[0].message.content == "Hello! I am a mock. How can I help?"
        client.close()
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_version_names_the_installed_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"mockllm {version('mockllm-server')}\n"
