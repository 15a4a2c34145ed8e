"""``mockllm serve --watch``: a subprocess serving a config file, driven by the official SDKs while
the file is edited, broken, fixed, deleted and written again. Every wait is for a condition, with a
generous deadline: how soon an edit is served depends on a busy machine."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from mockllm import Config, MockServer
from mockllm.server.compiled import Compiler

from .test_cli import one_line, run, start

DEADLINE = 10.0  # seconds an edit may take to be served on a busy machine


def chat_mock(name: str, question: str, answer: str, **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "match": {"match_type": "contains", "message": {"role": "user", "content": question}},
        "response": {"choices": [{"message": {"role": "assistant", "content": answer}}]},
        **more,
    }


def claude_mock(question: str, answer: str) -> dict[str, Any]:
    return {
        "match": {"match_type": "contains", "message": {"role": "user", "content": question}},
        "response": {"content": [{"type": "text", "text": answer}]},
    }


def write(path: Path, config: object) -> None:
    # Written elsewhere and renamed into place, as editors save: the watcher sees a new inode.
    draft = path.with_suffix(".draft")
    draft.write_text(config if isinstance(config, str) else json.dumps(config))
    draft.replace(path)


class Served:
    """A ``mockllm serve --watch`` process and everything it writes to stderr so far."""

    def __init__(self, path: Path) -> None:
        self.process, self.url = start("--config", str(path), "--watch")
        self._err: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self.openai = openai.OpenAI(base_url=self.url + "/v1", api_key="test", max_retries=0)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._err.append(line)

    @property
    def err(self) -> str:
        return "".join(self._err)

    def ask(self, question: str) -> str | None:
        reply = self.openai.chat.completions.create(
            model="m", messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content

    def stop(self) -> None:
        self.openai.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                assert self.process.wait(timeout=10) == 0
            finally:
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait()
        self._reader.join(timeout=10)


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE} s: {what}"
        time.sleep(0.05)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "mocks.json"
    write(path, {"openai": [chat_mock("greeting", "hi", "one")]})
    return path


@pytest.fixture
def served(config_file: Path) -> Iterator[Served]:
    server = Served(config_file)
    try:
        yield server
    finally:
        server.stop()


def test_an_edit_is_served_without_a_restart(served: Served, config_file: Path) -> None:
    assert served.ask("hi") == "one"
    write(config_file, {"openai": [chat_mock("greeting", "hi", "two"), chat_mock("bye", "bye", "ciao")]})
    eventually(lambda: served.ask("hi") == "two", "the edited answer is served")
    assert served.ask("bye") == "ciao"
    eventually(
        lambda: f"mockllm: reloaded {config_file} (2 openai)\n" in served.err, "the reload is reported"
    )


def test_a_bad_edit_keeps_the_old_mocks_and_says_where_it_is_wrong(served: Served, config_file: Path) -> None:
    write(config_file, '{"openai": [')
    eventually(lambda: f"{config_file}: $: invalid JSON" in served.err, "the JSON error is printed")
    assert served.ask("hi") == "one"

    schema_error = {"openai": [chat_mock("greeting", "hi", "two", times=0)]}
    write(config_file, schema_error)
    eventually(lambda: f"{config_file}: $.openai[0].times: " in served.err, "the schema error is printed")
    assert served.ask("hi") == "one"
    assert served.err.count("not reloaded: serving the mocks it had before this edit") == 2

    write(config_file, {"openai": [chat_mock("greeting", "hi", "fixed")]})
    eventually(lambda: served.ask("hi") == "fixed", "the fixed file is served")
    assert served.process.poll() is None


def test_counts_of_the_mocks_an_edit_leaves_alone_survive(tmp_path: Path) -> None:
    path = tmp_path / "mocks.json"
    twice = chat_mock("twice", "limited", "limited answer", times=2)
    write(path, {"openai": [twice, chat_mock("other", "other", "old")]})
    served = Served(path)
    try:
        assert served.ask("limited") == "limited answer"
        write(path, {"openai": [twice, chat_mock("other", "other", "new")]})
        eventually(lambda: served.ask("other") == "new", "the other mock's edit is served")
        assert served.ask("limited") == "limited answer"  # its second of two calls, not its first
        with pytest.raises(openai.NotFoundError, match="used up after 2 of 2 calls"):
            served.ask("limited")
    finally:
        served.stop()


def test_a_deleted_file_keeps_the_old_mocks_until_it_is_back(served: Served, config_file: Path) -> None:
    config_file.unlink()
    message = f"mockllm: cannot read {config_file} (No such file or directory)"
    eventually(lambda: message in served.err, "the deletion is reported")
    assert served.ask("hi") == "one"
    time.sleep(0.6)  # a few more polls of the missing file: still said once
    assert served.err.count(message) == 1

    write(
        config_file,
        {"openai": [chat_mock("greeting", "hi", "back")], "anthropic": [claude_mock("hi", "hey")]},
    )
    eventually(lambda: served.ask("hi") == "back", "the re-created file is served")

    async def ask_claude() -> str:
        async with anthropic.AsyncAnthropic(base_url=served.url, api_key="test", max_retries=0) as claude:
            reply = await claude.messages.create(
                model="c", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
            return reply.content[0].text  # type: ignore[union-attr]

    assert asyncio.run(ask_claude()) == "hey"


def test_a_streamed_answer_follows_the_edit(served: Served, config_file: Path) -> None:
    async def streamed() -> str:
        async with openai.AsyncOpenAI(base_url=served.url + "/v1", api_key="test", max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])

    assert asyncio.run(streamed()) == "one"
    write(config_file, {"openai": [chat_mock("greeting", "hi", "streamed two")]})
    eventually(lambda: asyncio.run(streamed()) == "streamed two", "the edit is streamed")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ([], "mockllm serve: --watch needs --config: the built-in example never changes"),
        (
            ["--config", "c.json", "--workers", "2"],
            "mockllm serve: --watch serves one process: drop --workers 2 or --watch",
        ),
    ],
)
def test_watch_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str], error: str) -> None:
    status, err = run(capsys, "serve", "--watch", *args)
    assert status == 2
    assert one_line(err) == error


async def test_a_large_file_is_compiled_while_the_server_goes_on_answering(tmp_path: Path) -> None:
    # Enough mocks that reading and compiling them takes far longer than a request (about a second).
    many = [chat_mock(f"m{i}", f"question {i}", f"answer {i}") for i in range(20_000)]
    path = tmp_path / "mocks.json"
    write(path, {"openai": [chat_mock("greeting", "hi", "old")]})
    async with (
        MockServer(path) as server,
        openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0) as client,
    ):

        async def ask(question: str) -> str | None:
            reply = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": question}]
            )
            return reply.choices[0].message.content

        assert await ask("hi") == "old"
        write(path, {"openai": [chat_mock("greeting", "hi", "new"), *many]})
        reload = asyncio.create_task(server.set_config_off_loop(path))
        await asyncio.sleep(0)  # the reload has started
        assert await ask("hi") == "old"
        assert not reload.done()  # answered while the file was still being read and compiled
        await reload
        assert await ask("hi") == "new"
        assert await ask("question 0") == "answer 0"


def test_an_edit_keeps_the_mocks_added_through_the_admin_api(served: Served, config_file: Path) -> None:
    added = {"openai": [chat_mock("added", "bonjour", "salut")]}
    reply = httpx.post(served.url + "/__mockllm/mocks", json=added)
    assert reply.status_code < 300, reply.text
    write(config_file, {"openai": [chat_mock("greeting", "hi", "two")]})
    eventually(lambda: served.ask("hi") == "two", "the edit is served")
    assert served.ask("bonjour") == "salut"  # the reload re-read the file, under the added mocks
    httpx.post(served.url + "/__mockllm/reset")
    with pytest.raises(openai.NotFoundError):
        served.ask("bonjour")
    assert served.ask("hi") == "two"


async def test_an_admin_change_made_while_a_reload_compiles_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload reads and compiles the file off the loop; a mock posted meanwhile must survive the
    reload's swap. The reload's compile is held until the POST has answered, so the two always meet.

    Mutation caught: the reload compiled from the added mocks as they were when it started, and
    swapped its result in over the POST's (the posted mock answered 404 until the next change)."""
    path = tmp_path / "mocks.json"
    write(path, {"openai": [chat_mock("greeting", "hi", "old")]})
    compiling, release = threading.Event(), threading.Event()
    compile_config = Compiler.compile

    def slow_compile(self: Compiler, config: Config, **options: Any) -> Any:
        names = [mock.name for mock in config.openai]
        if names == ["greeting"] and not compiling.is_set():  # the reload's, before the POST
            compiling.set()
            release.wait(30)
        return compile_config(self, config, **options)

    async with (
        MockServer(path) as server,
        httpx.AsyncClient(base_url=server.url) as client,
        openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0) as sdk,
    ):

        async def ask(question: str) -> str | None:
            reply = await sdk.chat.completions.create(
                model="m", messages=[{"role": "user", "content": question}]
            )
            return reply.choices[0].message.content

        monkeypatch.setattr(Compiler, "compile", slow_compile)
        write(path, {"openai": [chat_mock("greeting", "hi", "new")]})
        reload = asyncio.create_task(server.set_config_off_loop(path))
        assert await asyncio.to_thread(compiling.wait, 30)
        posted = await client.post(
            "/__mockllm/mocks", json={"openai": [chat_mock("added", "bonjour", "salut")]}
        )
        assert posted.status_code == 200, posted.text
        release.set()
        await reload
        assert await ask("hi") == "new"
        assert await ask("bonjour") == "salut"
        listed = (await client.get("/__mockllm/mocks")).json()["openai"]
        assert [mock["name"] for mock in listed] == ["greeting", "added"]
