"""MockServer lifecycle: free ports, many servers at once, clean stop, live config swaps."""

from __future__ import annotations

import asyncio
import re
import socket
import textwrap

import httpx2 as httpx
import openai
import pytest

from mockllm import Config, MockServer, mock

from .conftest import ROOT, async_openai_client, openai_client


def config(answer: str) -> Config:
    return Config.model_validate(
        {
            "openai": [
                {
                    "match": {"match_type": "contains", "message": {"role": "user", "content": ""}},
                    "response": {"choices": [{"message": {"content": answer}}]},
                }
            ]
        }
    )


def ask(server: MockServer) -> str | None:
    reply = openai_client(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    return reply.choices[0].message.content


def port_is_free(port: int) -> bool:
    """A new server could listen there (SO_REUSEADDR, as MockServer binds: closed connections may
    linger in TIME_WAIT, but a listener still open makes the bind fail)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def test_thread_servers_side_by_side_and_port_release() -> None:
    first, second = MockServer(config("one")), MockServer(config("two"))
    with first, second:
        assert first.port != second.port and first.port > 0
        assert first.url == f"http://127.0.0.1:{first.port}"
        assert first.openai_base_url == first.url + "/v1" and first.anthropic_base_url == first.url
        assert (ask(first), ask(second)) == ("one", "two")
        assert not port_is_free(first.port)
    assert port_is_free(first.port) and port_is_free(second.port)


async def test_async_servers_in_the_running_loop() -> None:
    servers = [MockServer(config(str(i))) for i in range(5)]
    for server in servers:
        await server.start()
    try:
        answers = await asyncio.gather(
            *(
                async_openai_client(s).chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x"}]
                )
                for s in servers
            )
        )
        assert [a.choices[0].message.content for a in answers] == ["0", "1", "2", "3", "4"]
    finally:
        for server in servers:
            await server.stop()
    assert all(port_is_free(s.port) for s in servers)


async def test_async_context_manager_with_keep_alive_client() -> None:
    async with MockServer(config("alive")) as server:
        client = async_openai_client(server)
        reply = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert reply.choices[0].message.content == "alive"
    # The client's pooled connection does not keep the port.
    assert port_is_free(server.port)


def test_set_config_takes_effect_for_the_next_request() -> None:
    with MockServer(config("before")) as server:
        assert ask(server) == "before"
        server.set_config(config("after"))
        assert ask(server) == "after"
        assert [entry.status for entry in server.journal] == [200, 200]


def test_fixed_port_and_busy_port() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with pytest.raises(OSError):
            MockServer(config("x"), port=busy).start_in_thread()
    with MockServer(config("x"), port=busy) as server:
        assert server.port == busy and ask(server) == "x"


def test_config_from_path_and_journal(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "c.json"
    path.write_text(config("from file").to_json())
    with MockServer(path) as server:
        assert ask(server) == "from file"
        (entry,) = list(server.journal)
        assert entry.mock == "openai[0]" and entry.body["messages"][0]["content"] == "hi"
        assert httpx.get(server.url + "/health").json()["openai"] == 1


def test_unmatched_requests_record_their_near_misses() -> None:
    with MockServer(config("x")) as server:
        server.set_config(
            Config.model_validate(
                {
                    "openai": [
                        {
                            "name": "weather",
                            "match": {
                                "match_type": "contains",
                                "message": {"role": "user", "content": "weather"},
                            },
                            "response": {"choices": [{"message": {"content": "sun"}}]},
                        }
                    ]
                }
            )
        )
        client = openai_client(server)
        with pytest.raises(Exception, match='Nearest mock "weather": text "weather" not found'):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "time?"}])
        (entry,) = server.journal.unmatched
        assert entry.status == 404 and entry.error and entry.error.startswith("No mock matched")
        (miss,) = entry.near_misses
        assert miss.mock == "weather"
        assert miss.reasons == ('text "weather" not found in last message "time?"',)


def test_help_and_the_docs_start_a_server_from_sync_code_alike() -> None:
    """``help(MockServer)`` shows how to start it from sync code as the README and the Getting
    started page do, and that example runs."""
    sync = (MockServer.__doc__ or "").split("From sync code", 1)[1]
    found = re.search(r"::\n\n((?: {8}.*\n)+)", sync)
    assert found is not None
    example = textwrap.dedent(found.group(1))
    assert example.startswith("with MockServer(config) as server:")
    assert 'with MockServer(load_config("mocks.json")) as server:' in (ROOT / "README.md").read_text()
    assert "`with MockServer(...)` works from sync code" in (ROOT / "docs/getting-started.md").read_text()
    config = mock()
    config.openai_chat().reply("hi")
    uses_the_client = """\
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
    assert answer.choices[0].message.content == "hi"
"""
    exec(example + uses_the_client, {"MockServer": MockServer, "openai": openai, "config": config})
