"""Chaos: a server-wide share of matched requests fails (the provider's overloaded error, or a
dropped connection), reproducibly from a seed, and a request header that sets one request's rates.
Through the official SDKs over real HTTP."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from mockllm import Chaos, ConfigError, MockServer, mock
from mockllm.builders import MockBuilder
from mockllm.server.chaos import CHAOS_HEADER, ERROR_MESSAGE

from .conftest import anthropic_client, async_anthropic_client, async_openai_client, openai_client

MESSAGES: Any = [{"role": "user", "content": "hi"}]
TEXT = "A long enough answer that its stream has a good number of events to cut."
CONNECTION_ERRORS = (openai.APIConnectionError, anthropic.APIConnectionError, httpx.TransportError)


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Chaos is no bug of the server: nothing reaches the log at ERROR."""
    caplog.set_level(logging.INFO)
    yield
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs wait half a second and more before a retry; these tests retry many times."""
    for module in ("openai._base_client", "anthropic._base_client"):
        monkeypatch.setattr(f"{module}.INITIAL_RETRY_DELAY", 0.001)


def answers(m: MockBuilder) -> MockBuilder:
    m.openai_chat().named("chat").reply(TEXT)
    m.openai_responses().named("responses").reply(TEXT)
    m.anthropic_messages().named("claude").reply(TEXT)
    m.openai_embeddings().named("embeddings").reply([0.5, 0.5])
    return m


def chat(client: openai.OpenAI, **kwargs: Any) -> str | None:
    reply = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **kwargs)
    return reply.choices[0].message.content


# --- errors --------------------------------------------------------------------------------------


def test_an_error_rate_of_one_fails_every_matched_request_in_the_providers_shape() -> None:
    with MockServer(answers(mock()), chaos=Chaos(error_rate=1)) as server:
        with pytest.raises(openai.InternalServerError) as chat_error:
            chat(openai_client(server))
        assert chat_error.value.status_code == 500
        assert chat_error.value.body == {
            "message": ERROR_MESSAGE,
            "type": "server_error",
            "param": None,
            "code": None,
        }
        with pytest.raises(openai.InternalServerError):  # a stream is refused before it starts
            openai_client(server).responses.create(model="gpt-5", input="hi", stream=True)
        with pytest.raises(anthropic.OverloadedError) as claude_error:
            anthropic_client(server).messages.create(model="claude", max_tokens=10, messages=MESSAGES)
        assert claude_error.value.body == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": ERROR_MESSAGE},
        }
        entries = [(r.status, r.mock, r.fault, r.error) for r in server.journal]
        assert entries == [
            (500, "chat", "chaos_error", ERROR_MESSAGE),
            (500, "responses", "chaos_error", ERROR_MESSAGE),
            (529, "claude", "chaos_error", ERROR_MESSAGE),
        ]


async def test_async_clients_meet_the_same_errors() -> None:
    async with MockServer(answers(mock()), chaos={"error_rate": 1}) as server:
        with pytest.raises(openai.InternalServerError):
            await async_openai_client(server).embeddings.create(model="e", input="hi")
        with pytest.raises(anthropic.OverloadedError):
            async with async_anthropic_client(server).messages.stream(
                model="claude", max_tokens=10, messages=MESSAGES
            ) as stream:
                await stream.get_final_message()


def test_a_request_no_mock_matches_keeps_its_404() -> None:
    m = mock()
    m.openai_chat().when_last_message_contains("weather").reply("Sunny.")
    with MockServer(m, chaos=Chaos(error_rate=0.5, disconnect_rate=0.5)) as server:
        with pytest.raises(openai.NotFoundError):
            chat(openai_client(server))
        [entry] = server.journal
        assert (entry.status, entry.mock, entry.fault) == (404, None, None)


def test_a_failed_request_leaves_times_and_scenarios_as_they_were(fast_retries: None) -> None:
    """So the SDK's own retry gets the answer the first try would have had."""
    m = mock()
    first = m.openai_chat().when_last_message_contains("hi")
    first.once().in_scenario("run", new_state="answered").named("first").reply("First answer.")
    first.named("later").reply("Later answer.")
    with MockServer(m) as server:
        client = openai_client(server)
        for kind in ("error-rate", "disconnect-rate"):
            with pytest.raises((openai.InternalServerError, openai.APIConnectionError)):
                chat(client, extra_headers={CHAOS_HEADER: f"{kind}=1"})
        assert server.scenarios == {}
        assert chat(client) == "First answer."
        assert chat(client) == "Later answer."
        assert server.scenarios == {"run": "answered"}
        # A client that retries: chaos fails the first tries, the retry succeeds.
        server.reset()
        retrying = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=5)
        statuses = []
        while not statuses or statuses[-1] != 200:
            reply = retrying.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=MESSAGES, extra_headers={CHAOS_HEADER: "error-rate=0.7"}
            )
            statuses = [r.status for r in server.journal]
        assert reply.parse().choices[0].message.content == "First answer."
        assert statuses[-1] == 200 and set(statuses[:-1]) <= {500}
        assert chat(client) == "Later answer."


# --- the same failures on every run ---------------------------------------------------------------


def run_soak(chaos: Chaos, requests: int = 16) -> list[tuple[int, str | None]]:
    """Requests one after another through SDK clients that retry, against a fresh server."""
    with MockServer(answers(mock()), chaos=chaos) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=3)
        claude = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=3)
        for i in range(requests):
            try:
                if i % 2:
                    chat(client)
                else:
                    claude.messages.create(model="claude", max_tokens=10, messages=MESSAGES)
            except (openai.APIError, anthropic.APIError):
                pass  # retries used up: that is in the journal too
        return [(entry.status, entry.fault) for entry in server.journal]


def test_the_same_seed_fails_the_same_requests_on_every_run(fast_retries: None) -> None:
    chaos = Chaos(error_rate=0.4, disconnect_rate=0.1, seed=7)
    first = run_soak(chaos)
    assert run_soak(chaos) == first
    faults = {fault for _, fault in first}
    assert faults == {None, "chaos_error", "chaos_disconnect"}
    assert {status for status, _ in first} == {200, 500, 529}
    assert run_soak(Chaos(error_rate=0.4, disconnect_rate=0.1, seed=8)) != first


def test_reset_starts_the_draws_again(fast_retries: None) -> None:
    with MockServer(answers(mock()), chaos=Chaos(error_rate=0.5, seed=3)) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=4)
        runs = []
        for _ in range(2):
            for _ in range(8):
                chat(client)
            runs.append([entry.status for entry in server.journal])
            server.reset()
        assert runs[0] == runs[1] and {500, 200} == set(runs[0])


def test_the_admin_reset_starts_the_draws_again_as_the_python_one_does() -> None:
    """``POST /__mockllm/reset`` is the reset of another language's test suite: it must replay the
    same failures as ``MockServer.reset()``.

    Mutation caught: the admin route resetting the mocks, counts and journal but not the draws."""
    with MockServer(answers(mock()), chaos=Chaos(error_rate=0.5, seed=1)) as server:
        client = openai_client(server)
        runs = []
        for _ in range(2):
            for _ in range(20):
                with contextlib.suppress(openai.InternalServerError):
                    chat(client)
            runs.append([entry.status for entry in server.journal])
            assert httpx.post(server.url + "/__mockllm/reset").status_code == 200
        assert runs[0] == runs[1] and {500, 200} == set(runs[0])


# --- disconnects ------------------------------------------------------------------------------------


def consume(api: str, server: MockServer, headers: dict[str, str] | None = None) -> Any:
    """Read a stream with the SDK's stream helper to its final answer."""
    if api == "chat":
        with openai_client(server).chat.completions.stream(
            model="m", messages=MESSAGES, extra_headers=headers
        ) as stream:
            return stream.get_final_completion()
    if api == "responses":
        with openai_client(server).responses.stream(model="m", input="hi", extra_headers=headers) as stream:
            return stream.get_final_response()
    with anthropic_client(server).messages.stream(
        model="m", max_tokens=10, messages=MESSAGES, extra_headers=headers
    ) as stream:
        return stream.get_final_message()


@pytest.mark.parametrize("api", ["chat", "responses", "anthropic"])
def test_a_disconnect_cuts_a_stream_before_its_end(api: str) -> None:
    with MockServer(answers(mock()), chaos=Chaos(disconnect_rate=1, seed=1)) as server:
        sent = set()
        for _ in range(6):
            with pytest.raises(CONNECTION_ERRORS):
                consume(api, server)
            entry = list(server.journal)[-1]
            assert (entry.status, entry.fault) == (200, "chaos_disconnect")
            assert entry.events_total is not None and entry.events_total > 5
            assert entry.events_sent is not None and 0 <= entry.events_sent < entry.events_total
            sent.add(entry.events_sent)
        assert len(sent) > 1  # cut at a random place


def test_a_disconnect_drops_a_json_answer_before_any_byte() -> None:
    with MockServer(answers(mock()), chaos=Chaos(disconnect_rate=1)) as server:
        with pytest.raises(openai.APIConnectionError):
            chat(openai_client(server))
        with pytest.raises(openai.APIConnectionError):
            openai_client(server).embeddings.create(model="e", input="hi")
        with pytest.raises(anthropic.APIConnectionError):
            anthropic_client(server).messages.create(model="claude", max_tokens=10, messages=MESSAGES)
        entries = {(r.status, r.fault, r.events_sent) for r in server.journal}
        assert entries == {(200, "chaos_disconnect", None)}
        server.reset()
        chat(openai_client(server, default_headers={CHAOS_HEADER: "disconnect-rate=0"}))  # still serving


async def test_async_stream_disconnect() -> None:
    async with MockServer(answers(mock()), chaos=Chaos(disconnect_rate=1)) as server:
        stream = await async_openai_client(server).chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        with pytest.raises(openai.APIConnectionError):
            async for _ in stream:
                pass


def test_a_disconnect_keeps_the_pace_of_a_timed_mock() -> None:
    m = mock()
    m.openai_chat().with_timing(ttft_ms=30, chunk_interval_ms=1).reply(TEXT)
    with MockServer(m, chaos=Chaos(disconnect_rate=1)) as server:
        with pytest.raises(openai.APIConnectionError):
            consume("chat", server)
        [entry] = server.journal
        assert entry.fault == "chaos_disconnect"
        assert entry.ttfb_ms is None or entry.ttfb_ms >= 30


# --- the request header ---------------------------------------------------------------------------


def test_the_header_sets_the_rates_of_its_request(fast_retries: None) -> None:
    with MockServer(answers(mock())) as server:  # no chaos of its own
        client = openai_client(server)
        assert chat(client) == TEXT
        with pytest.raises(openai.InternalServerError):
            chat(client, extra_headers={CHAOS_HEADER: "error-rate=1"})
        with pytest.raises(openai.APIConnectionError):
            chat(client, extra_headers={CHAOS_HEADER: " Disconnect-Rate = 1.0 "})
        claude = anthropic.Anthropic(
            base_url=server.anthropic_base_url,
            api_key="test",
            max_retries=0,
            default_headers={CHAOS_HEADER: "error-rate=1, disconnect-rate=0"},
        )
        with pytest.raises(anthropic.OverloadedError):
            claude.messages.create(model="claude", max_tokens=10, messages=MESSAGES)
    # The header replaces the server's rates: a rate it leaves out is 0.
    with MockServer(answers(mock()), chaos=Chaos(error_rate=1)) as server:
        client = openai_client(server)
        assert chat(client, extra_headers={CHAOS_HEADER: "error-rate=0"}) == TEXT
        assert chat(client, extra_headers={CHAOS_HEADER: ""}) == TEXT
        with pytest.raises(openai.APIConnectionError):
            chat(client, extra_headers={CHAOS_HEADER: "disconnect-rate=1"})
        with pytest.raises(openai.InternalServerError):
            chat(client)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("error-rate=2", "error-rate: expected a rate from 0 to 1, got '2'"),
        ("error-rate=lots", "error-rate: expected a rate from 0 to 1, got 'lots'"),
        ("error-rate=nan", "error-rate: expected a rate from 0 to 1, got 'nan'"),
        ("error-rate", "expected name=rate pairs with the names error-rate, disconnect-rate"),
        ("fail-rate=0.1", "expected name=rate pairs"),
        ("error-rate=0.6, disconnect-rate=0.6", "the rates add up to more than 1"),
    ],
)
def test_a_bad_header_is_a_400_naming_it(value: str, problem: str) -> None:
    with MockServer(answers(mock())) as server:
        with pytest.raises(openai.BadRequestError) as chat_error:
            chat(openai_client(server), extra_headers={CHAOS_HEADER: value})
        message = chat_error.value.body["message"]  # type: ignore[index]
        assert message.startswith(f"The {CHAOS_HEADER} header {value!r} is not valid: {problem}")
        with pytest.raises(anthropic.BadRequestError) as claude_error:
            anthropic_client(server).messages.create(
                model="claude", max_tokens=10, messages=MESSAGES, extra_headers={CHAOS_HEADER: value}
            )
        assert claude_error.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        assert CHAOS_HEADER in claude_error.value.message
        assert [r.status for r in server.journal] == [400, 400]


# --- the server's chaos ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chaos", "problem"),
    [
        ({"error_rate": 1.5}, "chaos: error_rate: expected a rate from 0 to 1, got 1.5"),
        ({"disconnect_rate": -0.1}, "chaos: disconnect_rate: expected a rate from 0 to 1, got -0.1"),
        ({"error_rate": "0.1"}, "chaos: error_rate: expected a rate from 0 to 1, got '0.1'"),
        ({"error_rate": True}, "chaos: error_rate: expected a rate from 0 to 1, got True"),
        ({"error_rate": 0.5, "disconnect_rate": 0.6}, "add up to more than 1"),
        ({"seed": 1.5}, "chaos: seed: expected a whole number, got 1.5"),
        ({"eror_rate": 0.1}, "chaos: eror_rate: unknown key; allowed keys: error_rate, disconnect_rate"),
    ],
)
def test_bad_chaos_is_a_config_error(chaos: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        MockServer(chaos=chaos)
    assert problem in str(error.value)


def test_chaos_with_no_rates_is_no_chaos() -> None:
    server = MockServer(chaos=Chaos(seed=4))
    assert server.chaos == Chaos(seed=4)
    assert server._chaos.rates is None  # the route's one check: no chaos work per request
    assert MockServer(chaos={"error_rate": 0.25})._chaos.rates == Chaos(error_rate=0.25)
    assert MockServer().chaos is None
