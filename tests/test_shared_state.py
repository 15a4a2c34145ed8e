"""Runtime state shared through a real Redis: replicas (servers in one process, each its own
runtime) and `mockllm serve --workers N` processes, driven by the official SDKs over loopback."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from mockllm import Config, MockServer, mock
from mockllm.builders import MockBuilder

from .redis_store import RedisStore
from .test_cli import start


def ask(server: MockServer, text: str = "next") -> str:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0, timeout=20)
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content or ""


async def ask_async(client: openai.AsyncOpenAI, text: str = "next") -> str:
    reply = await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content or ""


def sequence_of(*replies: str, then: str = "done") -> MockBuilder:
    """Each of ``replies`` once, in order, then ``then`` for ever."""
    m = mock()
    for text in replies:
        m.openai_chat().when_last_message_contains("next").once().reply(text)
    m.openai_chat().when_last_message_contains("next").reply(then)
    return m


@pytest.fixture
def replicas(redis_store: RedisStore) -> Iterator[tuple[MockServer, MockServer]]:
    """Two servers on one store, as two replicas behind a load balancer (each its own runtime)."""
    m = sequence_of("one", "two", "three")
    m.openai_chat().when_last_message_contains("stateless").reply("always")
    with (
        MockServer(m, state=redis_store.url) as a,
        MockServer(m, state=redis_store.url) as b,
    ):
        yield a, b


def test_replicas_hand_out_a_sequence_once_across_them(replicas: tuple[MockServer, MockServer]) -> None:
    a, b = replicas
    assert [ask(a), ask(b), ask(b), ask(a)] == ["one", "two", "three", "done"]


async def test_a_sequence_under_50_concurrent_clients_hands_out_each_reply_once(
    replicas: tuple[MockServer, MockServer],
) -> None:
    clients = [
        openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0, timeout=20)
        for server in replicas
    ]
    answers = await asyncio.gather(*(ask_async(clients[i % 2]) for i in range(50)))
    assert Counter(answers) == {"one": 1, "two": 1, "three": 1, "done": 47}
    # What the admin API counts, on either replica, is what the clients saw (once the other
    # replica's batch of stateless counts is in: ask until it is).
    seen = {"one": 1, "two": 1, "three": 1, "done": 47, "always": 0}
    async with httpx.AsyncClient(timeout=20) as admin:
        for server in replicas:

            async def counted(url: str = server.url) -> bool:
                mocks = (await admin.get(url + "/__mockllm/mocks?calls=true")).json()["mocks"]
                return {reply_of(entry["mock"]): entry["calls"] for entry in mocks} == seen

            await until(counted, f"{server.url} counts what the clients saw")


def reply_of(mock: dict[str, Any]) -> str:
    content: str = mock["response"]["choices"][0]["message"]["content"]
    return content


def test_a_scenario_walked_over_replicas_never_skips_or_repeats_a_state(redis_store: RedisStore) -> None:
    m = mock()
    steps = ["Started", "searched", "booked", "paid"]
    for before, after in itertools.pairwise(steps):
        m.anthropic_messages().when_last_message_contains("go").in_scenario(
            "trip", required_state=before, new_state=after
        ).reply(f"{before} -> {after}")
    m.anthropic_messages().when_last_message_contains("go").reply("nothing left")
    with (
        MockServer(m, state=redis_store.url) as a,
        MockServer(m, state=redis_store.url) as b,
    ):
        said = []
        for server in (a, b, a, b):
            client = anthropic.Anthropic(
                base_url=server.anthropic_base_url, api_key="test", max_retries=0, timeout=20
            )
            reply = client.messages.create(
                model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "go"}]
            )
            said.append(reply.content[0].text)  # type: ignore[union-attr]
        assert said == ["Started -> searched", "searched -> booked", "booked -> paid", "nothing left"]
        assert httpx.get(b.url + "/__mockllm/scenarios").json() == {"trip": "paid"}
        # Set on one replica, seen by the other.
        assert httpx.put(a.url + "/__mockllm/scenarios/trip", json={"state": "booked"}).status_code == 200
        client = anthropic.Anthropic(base_url=b.anthropic_base_url, api_key="test", max_retries=0, timeout=20)
        reply = client.messages.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "go"}]
        )
        assert reply.content[0].text == "booked -> paid"  # type: ignore[union-attr]


def test_a_reset_on_one_replica_resets_every_replica(replicas: tuple[MockServer, MockServer]) -> None:
    a, b = replicas
    assert [ask(a), ask(b)] == ["one", "two"]
    assert httpx.post(b.url + "/__mockllm/reset").status_code == 200
    assert [ask(a), ask(b)] == ["one", "two"]


def test_a_404_explains_a_mock_the_store_gated(redis_store: RedisStore) -> None:
    m = mock()
    m.openai_chat().when_last_message_contains("next").once().reply("only once")
    with MockServer(m, state=redis_store.url) as a, MockServer(m, state=redis_store.url) as b:
        assert ask(a) == "only once"
        with pytest.raises(openai.NotFoundError, match="used up after 1 of 1 call"):
            ask(b)


def test_the_store_down_answers_503_for_stateful_mocks_and_stateless_ones_keep_answering(
    replicas: tuple[MockServer, MockServer], redis_store: RedisStore
) -> None:
    a, b = replicas
    assert ask(a) == "one"
    assert httpx.get(a.url + "/health").json()["state"] == {"backend": "redis", "ok": True}
    redis_store.stop()
    with pytest.raises(openai.APIStatusError) as refused:
        ask(b)
    assert refused.value.status_code == 503
    assert f"state store {redis_store.url} is unreachable" in refused.value.message
    body = refused.value.body
    assert isinstance(body, dict) and body["type"] == "server_error"  # OpenAI's error shape
    assert ask(a, "stateless") == "always"  # no store needed
    health = httpx.get(a.url + "/health")
    assert health.status_code == 200 and health.json()["state"] == {"backend": "redis", "ok": False}
    admin = httpx.get(a.url + "/__mockllm/mocks?calls=true")
    assert admin.status_code == 503 and "unreachable" in admin.json()["error"]["message"]
    # Back, and empty (no persistence): that is a reset, and serving resumes without a restart.
    redis_store.start()
    assert [ask(b), ask(a)] == ["one", "two"]
    assert httpx.get(b.url + "/health").json()["state"] == {"backend": "redis", "ok": True}


def test_a_request_chaos_fails_gives_its_claim_back(replicas: tuple[MockServer, MockServer]) -> None:
    a, b = replicas
    client = openai.OpenAI(base_url=a.openai_base_url, api_key="test", max_retries=0, timeout=20)
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "next"}],
            extra_headers={"x-mockllm-chaos": "error-rate=1"},
        )
    # The failed request did not use up "one": the next one, on the other replica, gets it.
    assert ask(b) == "one"


def test_a_mock_unchanged_by_a_new_config_keeps_its_count(redis_store: RedisStore) -> None:
    first = sequence_of("one", "two")
    with MockServer(first, state=redis_store.url) as a:
        assert ask(a) == "one"
        second = sequence_of("one", "two")
        second.openai_chat().when_last_message_contains("other").reply("new")
        a.set_config(second.build())
        assert ask(a) == "two"


def test_servers_of_two_namespaces_on_one_store_share_nothing(redis_store: RedisStore) -> None:
    m = sequence_of("one", "two")
    with (
        MockServer(m, state=redis_store.url, state_namespace="team-a") as a,
        MockServer(m, state=redis_store.url, state_namespace="team-b") as b,
    ):
        assert [ask(a), ask(b), ask(a), ask(b)] == ["one", "one", "two", "two"]


def test_a_bad_store_url_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a redis://HOST:PORT/DB URL"):
        MockServer(Config(), state="http://127.0.0.1:6379")


# --- mockllm serve: worker processes and replicas ----------------------------------------------------


def serve(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """``mockllm serve --config CONFIG ARGS`` on a free port, and its URL."""
    return start("--config", str(config), *args, env=env)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_serving(url: str, workers: int) -> None:
    """Forked workers start after the parent prints its URL: wait until the port answers."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within 20 s ({workers} workers)")


async def test_4_workers_and_a_replica_answer_a_times_1_mock_exactly_once(
    redis_store: RedisStore, tmp_path: Path
) -> None:
    m = mock()
    m.openai_chat().when_last_message_contains("next").once().reply("the one")
    m.openai_chat().when_last_message_contains("next").reply("the rest")
    config = tmp_path / "mocks.json"
    config.write_text(m.build().to_json())
    first, first_url = serve(config, "--workers", "4", "--state", redis_store.url)
    second, second_url = serve(config, "--state", redis_store.url)
    try:
        for url in (first_url, second_url):
            wait_until_serving(url, 4)
        limits = httpx.Limits(max_connections=200)
        clients = [
            openai.AsyncOpenAI(
                base_url=url + "/v1",
                api_key="test",
                max_retries=0,
                timeout=20,
                http_client=openai.DefaultAsyncHttpxClient(limits=limits),
            )
            for url in (first_url, second_url)
        ]
        answers = await asyncio.gather(*(ask_async(clients[i % 2]) for i in range(200)))
        assert Counter(answers) == {"the one": 1, "the rest": 199}
        # Both replicas' admin API count what the clients saw. Each process sends the counts of its
        # stateless answers and its journal entries in a batch every 20 ms: ask until they are in.
        async with httpx.AsyncClient(timeout=20) as admin:

            async def counted(url: str) -> bool:
                mocks = (await admin.get(url + "/__mockllm/mocks?calls=true")).json()["mocks"]
                return [entry["calls"] for entry in mocks] == [1, 199]

            async def journaled() -> bool:
                return len((await admin.get(second_url + "/__mockllm/requests")).json()["requests"]) == 200

            for url in (first_url, second_url):
                await until(lambda url=url: counted(url), f"{url} counts every answer")
            await until(journaled, "the journal holds every request")
            # The journal is one: every request, whichever process answered it, oldest first.
            journal = (await admin.get(second_url + "/__mockllm/requests")).json()["requests"]
            assert Counter(entry["mock"] for entry in journal) == {"openai[0]": 1, "openai[1]": 199}
            times = [entry["time"] for entry in journal]
            assert times == sorted(times)
    finally:
        stop(first)
        stop(second)


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 10) -> None:
    """Wait for ``check`` to hold, asking again and again until a deadline: no fixed sleep."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.01)


async def test_a_mock_posted_to_one_replica_answers_on_every_process(
    redis_store: RedisStore, tmp_path: Path
) -> None:
    config = tmp_path / "mocks.json"
    config.write_text(sequence_of("one").build().to_json())
    first, first_url = serve(config, "--workers", "2", "--state", redis_store.url)
    second, second_url = serve(config, "--state", redis_store.url)
    added = mock()
    added.openai_chat().when_last_message_contains("added").named("added").reply("added at run time")
    try:
        for url in (first_url, second_url):
            wait_until_serving(url, 2)
        async with httpx.AsyncClient() as admin:
            posted = await admin.post(
                first_url + "/__mockllm/mocks",
                content=added.build().to_json(),
                headers={"content-type": "application/json"},
            )
            assert posted.status_code == 200, posted.text

            async def listed(url: str) -> bool:
                # A new connection each time: with workers, each may reach another process.
                async with httpx.AsyncClient() as fresh:
                    answer = await fresh.get(url + "/__mockllm/mocks/added")
                return answer.status_code == 200

            async def listed_by_all(url: str, asks: int) -> bool:
                return all([await listed(url) for _ in range(asks)])

            await until(lambda: listed(second_url), "the other replica serves the added mock")
            await until(lambda: listed_by_all(first_url, 8), "every worker serves the added mock")
            for url in (first_url, second_url):
                client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="test", max_retries=0, timeout=20)
                assert await ask_async(client, "added") == "added at run time"
            # A reset on one process is a reset everywhere: the added mock is gone, the sequence starts again.
            assert ask_sync(second_url) == "one"
            assert (await admin.post(first_url + "/__mockllm/reset")).status_code == 200

            async def gone(url: str) -> bool:
                async with httpx.AsyncClient() as fresh:
                    return (await fresh.get(url + "/__mockllm/mocks/added")).status_code == 404

            await until(lambda: gone(second_url), "the other replica was reset")
            assert ask_sync(second_url) == "one"
    finally:
        stop(first)
        stop(second)


def ask_sync(url: str, text: str = "next") -> str:
    client = openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0, timeout=20)
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content or ""


def test_workers_without_a_store_still_refuse_stateful_mocks(tmp_path: Path) -> None:
    config = tmp_path / "mocks.json"
    config.write_text(sequence_of("one").build().to_json())
    done = subprocess.run(
        [sys.executable, "-m", "mockllm", "serve", "--port", "0", "--config", str(config), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        env={key: value for key, value in os.environ.items() if key != "MOCKLLM_STATE"},
    )
    assert done.returncode == 2 and "serve it with one worker" in done.stderr


def test_the_store_may_be_named_by_the_environment(redis_store: RedisStore, tmp_path: Path) -> None:
    config = tmp_path / "mocks.json"
    config.write_text(sequence_of("one").build().to_json())
    process, url = serve(config, env={"MOCKLLM_STATE": redis_store.url})
    try:
        assert httpx.get(url + "/health").json()["state"] == {"backend": "redis", "ok": True}
        assert ask_sync(url) == "one"
    finally:
        stop(process)


def test_serve_refuses_a_store_url_it_does_not_know(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockllm", "serve", "--port", "0", "--state", "memcached://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--state: expected a redis://HOST:PORT/DB URL, got 'memcached://127.0.0.1:1'" in done.stderr
