"""Verification where the mock is: the handle a ``reply*`` verb returns knows the requests its mock
answered, on a server given the builder directly and through the pytest fixtures; the report of what
the server received never shows a credential; a server-side exception lands in the journal."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import anthropic
import openai
import pytest

from mockllm import BuilderError, Config, MockServer, mock
from mockllm.builders import MockBuilder
from mockllm.matching import redact_header, redacted_headers
from mockllm.pytest_plugin import MockLLM
from mockllm.server.adapter import PreparedResponse

from .conftest import anthropic_client, async_anthropic_client, async_openai_client, openai_client


def ask(server: MockServer | MockLLM, text: str, **kwargs: Any) -> str | None:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-secret-key", max_retries=0)
    messages: Any = [{"role": "user", "content": text}]
    answer = client.chat.completions.create(model="gpt-4o", messages=messages, **kwargs)
    return answer.choices[0].message.content


# --- a builder served by a MockServer -------------------------------------------------------------


def test_handle_records_the_requests_its_mock_answered(m: MockBuilder, server: MockServer) -> None:
    weather = m.openai_chat().named("weather").when_last_message_contains("weather").reply("Sunny.")
    other = m.openai_chat().when_last_message_contains("stocks").reply("Up.")
    assert (weather.call_count, weather.called, weather.calls) == (0, False, [])

    assert ask(server, "weather in Paris?") == "Sunny."
    with pytest.raises(openai.NotFoundError):
        ask(server, "nothing matches this")
    assert ask(server, "weather in Rome?", temperature=0) == "Sunny."

    assert weather.call_count == 2 and weather.called
    first, second = weather.calls
    assert first.body["messages"][0]["content"] == "weather in Paris?"
    assert second.body["temperature"] == 0
    assert first.status == 200 and first.mock == "weather"
    assert first.headers["authorization"] == "Bearer sk-secret-key"  # the record itself is unredacted
    weather.assert_called()
    weather.assert_call_count(2)
    other.assert_not_called()
    assert other.calls == [] and not other.called


def test_assertion_failures_list_what_the_server_received(m: MockBuilder, server: MockServer) -> None:
    weather = m.openai_chat().named("weather").when_last_message_contains("weather").reply("Sunny.")
    with pytest.raises(openai.NotFoundError):
        ask(server, "is it raining?")

    with pytest.raises(AssertionError) as failure:
        weather.assert_called_once()
    message = str(failure.value)
    assert message.startswith('mock "weather" was called 0 times, expected once.\n')
    assert "the mock server received 1 request(s):" in message
    assert "1. POST /v1/chat/completions -> 404, no mock" in message
    assert 'Nearest mock "weather": text "weather" not found in last message "is it raining?"' in message
    # The request's credential is shown by its scheme and length only.
    assert "headers: authorization: Bearer <redacted, 13 characters>" in message
    assert "sk-secret-key" not in message

    with pytest.raises(AssertionError, match='mock "weather" was never called'):
        weather.assert_called()
    ask(server, "weather?")
    ask(server, "weather!")
    with pytest.raises(AssertionError, match="was called 2 times, expected once"):
        weather.assert_called_once()
    with pytest.raises(AssertionError, match="was called 2 times, expected 0 times"):
        weather.assert_not_called()


def test_error_replies_streams_and_sequences_are_calls_of_their_own_mock(
    m: MockBuilder, server: MockServer
) -> None:
    chat = m.openai_chat().when_last_message_contains("retry")
    failing = chat.once().reply_error(429, message="slow down")
    working = chat.reply("Worked.")

    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=1)
    with client.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": "retry please"}]
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Worked."

    failing.assert_called_once()
    assert [(call.status, call.error) for call in failing.calls] == [(429, "slow down")]
    working.assert_called_once()
    assert working.calls[0].body["stream"] is True


async def test_async_clients_are_recorded_the_same(m: MockBuilder) -> None:
    hello = m.anthropic_messages().when_last_message_contains("hello").reply("Hi!")
    embed = m.openai_embeddings().reply_vectors([[0.1, 0.2], [0.3, 0.4]])
    async with MockServer(m) as server:
        async with async_anthropic_client(server) as claude:
            await claude.messages.create(
                model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "hello"}]
            )
        async with async_openai_client(server) as client:
            await client.embeddings.create(model="e", input=["a", "b"])
        hello.assert_called_once()
        assert hello.calls[0].headers["anthropic-version"]
        assert embed.calls[0].body["input"] == ["a", "b"]

        server.reset()  # counts and calls start from zero
        assert (hello.call_count, hello.calls, embed.call_count) == (0, [], 0)
        hello.assert_not_called()


def test_a_mock_registered_later_is_followed_too(m: MockBuilder, server: MockServer) -> None:
    ask_first = m.anthropic_messages().reply("First.")
    with anthropic_client(server) as claude:
        claude.messages.create(model="c", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    late = m.anthropic_messages().priority(1).reply("Late.")
    with anthropic_client(server) as claude:
        claude.messages.create(model="c", max_tokens=8, messages=[{"role": "user", "content": "y"}])
    ask_first.assert_called_once()
    late.assert_called_once()
    assert late.calls[0].body["messages"][0]["content"] == "y"


def test_mocks_of_one_name_are_told_apart_by_identity(m: MockBuilder, server: MockServer) -> None:
    # Two mocks with one name: the journal's label cannot tell them apart, the handle can.
    first = m.openai_chat().named("twin").once().reply("one")
    second = m.openai_chat().named("twin").reply("two")
    assert [ask(server, "a"), ask(server, "b"), ask(server, "c")] == ["one", "two", "two"]
    assert (first.call_count, second.call_count) == (1, 2)
    assert [call.body["messages"][0]["content"] for call in second.calls] == ["b", "c"]


def test_a_handle_whose_builder_no_server_follows_says_so() -> None:
    m = mock()
    alone = m.openai_chat().reply("nobody serves me")
    with pytest.raises(BuilderError, match='mock "openai\\[0\\]" is served by no server') as error:
        _ = alone.calls
    assert "not builder.build()" in str(error.value)
    with pytest.raises(BuilderError):
        alone.assert_not_called()
    # A copy of the config is not the builder: still no server to ask.
    with MockServer(m.build()) as server:
        ask(server, "hi")
        with pytest.raises(BuilderError):
            _ = alone.call_count


def test_a_journal_of_size_zero_still_counts(m: MockBuilder) -> None:
    hello = m.openai_chat().reply("hi")
    with MockServer(m, journal_size=0).start_in_thread() as server:
        ask(server, "x")
        assert (hello.call_count, hello.calls) == (1, [])


# --- through the fixtures ---------------------------------------------------------------------------

BASE = Config.model_validate(
    {
        "openai": [
            {
                "name": "base-fallback",
                "match": {"match_type": "contains", "message": {"content": ""}},
                "response": {"choices": [{"message": {"content": "from the base"}}]},
            }
        ]
    }
)


@pytest.mark.mockllm(config=BASE)
def test_handles_through_the_fixture_with_a_base_config(mockllm: MockLLM) -> None:
    special = mockllm.openai_chat().when_last_message_contains("special").reply("special answer")
    assert ask(mockllm, "special one") == "special answer"
    assert ask(mockllm, "plain") == "from the base"
    special.assert_called_once()
    assert special.calls[0].body["messages"][0]["content"] == "special one"
    mockllm.assert_all_called()  # the base config's mocks are not the test's to call

    unused = mockllm.openai_chat().named("unused").when_last_message_contains("never").reply("-")
    assert mockllm.never_called() == ["unused"]
    with pytest.raises(AssertionError) as failure:
        mockllm.assert_all_called()
    assert str(failure.value).startswith('mock(s) never called: "unused".\nthe mock server at http://')

    mockllm.reset()
    assert (special.call_count, special.calls) == (0, [])
    again = mockllm.openai_chat().reply("after the reset")
    assert ask(mockllm, "x") == "after the reset"
    again.assert_called_once()
    unused.assert_not_called()


@pytest.mark.asyncio
async def test_handles_through_the_async_fixture(mockllm_async: MockLLM) -> None:
    hello = mockllm_async.anthropic_messages().when_last_message_contains("hello").reply("Hi!")
    async with anthropic.AsyncAnthropic(
        base_url=mockllm_async.anthropic_base_url, api_key="sk-ant-secret", max_retries=0
    ) as claude:
        await claude.messages.create(model="c", max_tokens=8, messages=[{"role": "user", "content": "hello"}])
        with pytest.raises(anthropic.NotFoundError):
            bye: Any = [{"role": "user", "content": "bye"}]
            await claude.messages.create(model="c", max_tokens=8, messages=bye)
    hello.assert_called_once()
    report = mockllm_async.describe_requests()
    assert "<redacted, 13 characters>" in report  # x-api-key or authorization, as the SDK sends it
    assert "sk-ant-secret" not in report


# --- redaction ----------------------------------------------------------------------------------------


def test_credentials_are_redacted_in_one_place() -> None:
    assert redact_header("Authorization", "Bearer abc") == "Bearer <redacted, 3 characters>"
    assert redact_header("x-api-key", "sk-ant-123") == "<redacted, 10 characters>"
    assert redact_header("api-key", "azure key") == "<redacted, 9 characters>"
    # A cookie's first pair is not a scheme: all of it is secret.
    assert redact_header("Cookie", "session=abc; theme=dark") == "<redacted, 23 characters>"
    assert redact_header("x-tenant", "acme") == "acme"
    assert redacted_headers({"X-Api-Key": "k1", "Accept": "json"}) == {
        "x-api-key": "<redacted, 2 characters>",
        "accept": "json",
    }


# --- a server-side exception is never silent ------------------------------------------------------


def test_a_server_error_is_journalled_with_its_type(
    m: MockBuilder, server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hello = m.openai_chat().reply("never delivered")

    def broken(self: PreparedResponse, model: Any, variant: Hashable) -> bytes:
        raise RuntimeError("render broke")

    monkeypatch.setattr(PreparedResponse, "render", broken)
    with pytest.raises(openai.InternalServerError):
        openai_client(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    (record,) = server.journal
    assert (record.status, record.mock, record.api, record.server_error) == (500, None, "openai", True)
    assert record.error == "mockllm internal error: RuntimeError: render broke"
    assert record.body["messages"][0]["content"] == "hi"
    assert server.journal.unmatched == [record]
    hello.assert_not_called()  # it matched, but never answered
