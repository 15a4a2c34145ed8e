"""Behaviour over time through the official SDKs: times, priority, scenarios, and a runtime that
keeps its counts while mocks come and go."""

from __future__ import annotations

import threading
from typing import Any

import openai
import pytest

from mockllm import BuilderError, Config, ConfigError, MockServer, mock
from mockllm.builders import MockBuilder

from .conftest import anthropic_client, async_openai_client, openai_client


def ask(client: openai.OpenAI, text: str, **kwargs: Any) -> str | None:
    reply = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": text}], **kwargs
    )
    return reply.choices[0].message.content


def test_the_same_question_twice_gets_two_answers(m: MockBuilder, server: MockServer) -> None:
    name = m.openai_chat().when_last_message_contains("What's my name?")
    name.once().reply("I don't know your name yet.")
    name.reply("Your name is Ada.")
    client = openai_client(server)
    assert ask(client, "What's my name?") == "I don't know your name yet."
    assert ask(client, "What's my name?") == "Your name is Ada."
    assert ask(client, "What's my name?") == "Your name is Ada."


def test_a_used_up_mock_steps_aside_and_the_404_says_so(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().when_last_message_contains("hi").named("greeting").times(2).reply("hello")
    client = openai_client(server)
    assert [ask(client, "hi"), ask(client, "hi")] == ["hello", "hello"]
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client, "hi")
    assert 'Nearest mock "greeting": used up after 2 of 2 calls.' in str(caught.value)


def test_streams_count_too(m: MockBuilder, server: MockServer) -> None:
    turn = m.openai_responses().when_input_contains("plan")
    turn.once().reply("Step one.")
    turn.reply("Step two.")
    client = openai_client(server)
    with client.responses.stream(model="gpt-5", input="plan the trip") as stream:
        assert stream.get_final_response().output_text == "Step one."
    assert client.responses.create(model="gpt-5", input="plan the trip").output_text == "Step two."


def test_priority_lets_a_later_turn_beat_an_earlier_catch_all(m: MockBuilder, server: MockServer) -> None:
    # Registered in conversation order: the catch-all first, the specific answer after it.
    m.openai_chat().priority(9).reply("How can I help?")
    m.openai_chat().when_last_message_contains("refund").reply("Refund issued.")
    client = openai_client(server)
    assert ask(client, "I want a refund") == "Refund issued."
    assert ask(client, "hello") == "How can I help?"


def test_equal_priorities_keep_list_order(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().priority(1).reply("first")
    m.openai_chat().priority(1).reply("second")
    assert ask(openai_client(server), "x") == "first"


def test_a_scenario_walks_through_its_states(m: MockBuilder, server: MockServer) -> None:
    claude = m.anthropic_messages()
    claude.when_last_message_contains("status").in_scenario("order", required_state="Started").reply(
        "No order yet."
    )
    claude.when_last_message_contains("buy").in_scenario("order", new_state="ordered").reply("Ordered.")
    claude.when_last_message_contains("status").in_scenario("order", required_state="ordered").reply(
        "Your order is on its way."
    )
    client = anthropic_client(server)

    def say(text: str) -> str:
        with client.messages.stream(
            model="claude-test", max_tokens=64, messages=[{"role": "user", "content": text}]
        ) as stream:
            block = stream.get_final_message().content[0]
        assert block.type == "text"
        return block.text

    assert say("order status?") == "No order yet."
    assert say("buy the book") == "Ordered."
    assert server.scenarios == {"order": "ordered"}
    assert say("order status?") == "Your order is on its way."

    server.set_scenario_state("order", "Started")
    assert say("order status?") == "No order yet."


def test_the_404_names_a_scenario_in_the_wrong_state(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().named("after login").in_scenario("login", required_state="logged_in").reply("Welcome")
    with pytest.raises(openai.NotFoundError) as caught:
        ask(openai_client(server), "hello")
    assert 'Nearest mock "after login": scenario "login" is "Started", needs "logged_in".' in str(
        caught.value
    )


def test_counts_survive_registering_more_mocks(m: MockBuilder, server: MockServer) -> None:
    first = m.openai_chat().when_last_message_contains("a").once().reply("a once")
    client = openai_client(server)
    assert ask(client, "a") == "a once"
    m.openai_chat().when_last_message_contains("b").reply("b")  # recompiles the served config
    assert ask(client, "b") == "b"
    assert server.runtime.calls(first.mock) == 1
    with pytest.raises(openai.NotFoundError, match="used up after 1 of 1 call"):
        ask(client, "a")


def test_reset_forgets_counts_and_states_but_keeps_the_mocks(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().once().in_scenario("s", new_state="done").reply("once")
    client = openai_client(server)
    assert ask(client, "x") == "once"
    assert server.scenarios == {"s": "done"}
    server.reset()
    assert (server.scenarios, len(server.journal)) == ({}, 0)
    assert ask(client, "x") == "once"


def test_set_config_keeps_the_counts_of_mocks_that_stay(m: MockBuilder) -> None:
    kept = Config.from_dict(
        {
            "openai": [
                {
                    "times": 1,
                    "match": {"match_type": "contains", "message": {"content": "x"}},
                    "response": {"choices": [{"message": {"content": "once"}}]},
                }
            ]
        }
    )
    with MockServer(kept) as server:
        client = openai_client(server)
        assert ask(client, "x") == "once"
        server.set_config(Config(openai=[*kept.openai]))
        with pytest.raises(openai.NotFoundError):
            ask(client, "x")
        # Equal mocks read again (an edited file, a PUT of the whole config) keep their counts;
        # a mock that changed starts from zero.
        server.set_config(Config.from_json(kept.to_json()))
        with pytest.raises(openai.NotFoundError, match="used up after 1 of 1 call"):
            ask(client, "x")
        server.set_config(Config.from_json(kept.to_json().replace('"once"', '"once more"')))
        assert ask(client, "x") == "once more"


def test_json_config_with_times_priority_and_scenario_serves_and_round_trips() -> None:
    config = Config.from_dict(
        {
            "openai": [
                {
                    "name": "fallback",
                    "priority": 10,
                    "match": {"match_type": "contains", "message": {"content": ""}},
                    "response": {"choices": [{"message": {"content": "fallback"}}]},
                },
                {
                    "name": "retry",
                    "times": 1,
                    "scenario": "flow",
                    "new_state": "retried",
                    "match": {"match_type": "contains", "message": {"role": "user", "content": "go"}},
                    "response": {"choices": [{"message": {"content": "first try"}}]},
                },
                {
                    "scenario": "flow",
                    "required_state": "retried",
                    "match": {"match_type": "contains", "message": {"role": "user", "content": "go"}},
                    "response": {"choices": [{"message": {"content": "second try"}}]},
                },
            ]
        }
    )
    assert Config.from_json(config.to_json()) == config
    with MockServer(config) as server:
        client = openai_client(server)
        assert [ask(client, "go"), ask(client, "go"), ask(client, "stop")] == [
            "first try",
            "second try",
            "fallback",
        ]


async def test_async_clients_see_the_same_runtime(m: MockBuilder) -> None:
    m.openai_chat().once().reply("one")
    m.openai_chat().reply("two")
    async with MockServer(m) as server:
        client = async_openai_client(server)
        answers = []
        for _ in range(3):
            reply = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}], stream=True
            )
            answers.append(
                "".join([chunk.choices[0].delta.content or "" async for chunk in reply if chunk.choices])
            )
    assert answers == ["one", "two", "two"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"times": 0}, "$.openai[0].times: Input should be greater than or equal to 1"),
        ({"times": "1"}, "$.openai[0].times: Input should be a valid integer"),
        ({"priority": 1.5}, "$.openai[0].priority: Input should be a valid integer"),
        ({"new_state": "x"}, '$.openai[0]: "required_state" and "new_state" need a "scenario"'),
    ],
)
def test_bad_over_time_keys_are_load_errors(bad: dict[str, Any], message: str) -> None:
    mock_json = {"match": {"match_type": "contains", "message": {}}, "response": {"choices": []}}
    with pytest.raises(ConfigError) as caught:
        Config.from_dict({"openai": [{**bad, **mock_json}]})
    assert message in str(caught.value)


def test_builder_verbs_refuse_bad_values(m: MockBuilder) -> None:
    for call in (
        lambda: m.openai_chat().times(0),
        lambda: m.openai_chat().times(True),
        lambda: m.openai_chat().priority("1"),  # type: ignore[arg-type]
        lambda: m.openai_chat().in_scenario(""),
    ):
        with pytest.raises(BuilderError):
            call()


def test_no_update_is_lost_when_threads_register_at_once() -> None:
    """Four threads register a mock each; the next request must see all four, every time."""
    with MockServer().start_in_thread() as server:
        client = openai_client(server)
        for trial in range(200):
            m = mock()
            server.set_config(m)
            start = threading.Barrier(4)

            def register(i: int, m: MockBuilder = m, start: threading.Barrier = start) -> None:
                start.wait()
                m.openai_chat().when_last_message_contains(f"q{i}").reply(f"a{i}")

            threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert ask(client, f"q{trial % 4}") == f"a{trial % 4}", trial
            assert server.config.counts()["openai"] == 4


def test_a_reply_sequence_is_plain_mocks_with_times(m: MockBuilder, server: MockServer) -> None:
    tool_call, answer = m.openai_chat().when_last_message_contains("book").in_sequence(2)
    tool_call.reply_tool_call("book_flight", {"to": "Paris"}, id="call_1")
    answer.reply("Booked.")
    assert [mock.times for mock in m.build().openai] == [1, None]
    client = openai_client(server)
    first = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "book it"}])
    assert first.choices[0].message.tool_calls is not None
    assert ask(client, "book it") == "Booked."
    assert ask(client, "book it") == "Booked."
    with pytest.raises(BuilderError):
        m.openai_chat().in_sequence(0)


def test_a_near_miss_never_shows_a_credential(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().named("tenant a").with_header("Authorization", "Bearer sk-tenant-a-key").reply("a")
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-caller-secret-123", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client, "hi")
    text = str(caught.value)
    assert "sk-caller-secret-123" not in text and "sk-tenant-a-key" not in text
    assert (
        'header Authorization: wants exact "Bearer <redacted, 15 characters>",'
        ' got "Bearer <redacted, 20 characters>"'
    ) in text
