"""Matching on the whole conversation through the official SDKs over HTTP: agent loops whose steps
share a last message, parallel tool results, the Responses tool-output loop, model and regex rules,
streamed and not."""

from __future__ import annotations

import re
from typing import Any

import anthropic
import openai
import pytest

from mockllm import Config, MockServer
from mockllm.builders import MockBuilder, ToolCall

from .conftest import anthropic_client, async_openai_client, openai_client


def chat_answer(client: openai.OpenAI, messages: list[Any], *, stream: bool, **kwargs: Any) -> Any:
    """The assistant message, the same whether streamed or not (content and tool calls)."""
    if not stream:
        return client.chat.completions.create(
            model=kwargs.pop("model", "gpt-4o"), messages=messages, **kwargs
        )
    with client.chat.completions.stream(
        model=kwargs.pop("model", "gpt-4o"), messages=messages, **kwargs
    ) as events:
        return events.get_final_completion()


# --- chat -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_chat_the_same_last_message_gets_another_answer_at_the_next_turn(
    m: MockBuilder, server: MockServer, stream: bool
) -> None:
    go_on = m.openai_chat().when_last_message_contains("continue")
    go_on.when_turn(0).reply("Step one.")
    go_on.when_turn(1).reply("Step two.")
    go_on.when_turn(2).reply("Done.")
    client = openai_client(server)
    messages: list[Any] = []
    answers = []
    for _ in range(3):
        messages.append({"role": "user", "content": "continue"})
        reply = chat_answer(client, messages, stream=stream).choices[0].message
        answers.append(reply.content)
        messages.append({"role": "assistant", "content": reply.content})
    assert answers == ["Step one.", "Step two.", "Done."]
    messages.append({"role": "user", "content": "continue"})
    with pytest.raises(openai.NotFoundError, match="turn: wants 2, the request has 3 assistant turns"):
        chat_answer(client, messages, stream=stream)


@pytest.mark.parametrize("stream", [False, True])
def test_chat_parallel_tool_calls_are_answered_once_both_results_are_in(
    m: MockBuilder, server: MockServer, stream: bool
) -> None:
    m.openai_chat().when_last_message_contains("Paris and London").reply_tool_calls(
        [
            ToolCall("get_weather", {"city": "Paris"}, id="call_1"),
            ToolCall("get_weather", {"city": "London"}, id="call_10"),
        ]
    )
    m.openai_chat().named("summary").when_history_has_tool_results("call_1", "call_10").reply(
        "Sunny in Paris, rain in London."
    )
    client = openai_client(server)
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris and London?"}]
    first = chat_answer(client, messages, stream=stream).choices[0].message
    assert [call.id for call in first.tool_calls or []] == ["call_1", "call_10"]
    messages.append(first.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": "call_1", "content": "Sunny"})
    with pytest.raises(openai.NotFoundError) as caught:
        chat_answer(client, messages, stream=stream)
    assert 'Nearest mock "summary": tool_results: no result for "call_10" (has "call_1")' in str(caught.value)
    # The results come back in another order than the calls: order does not matter.
    messages.insert(-1, {"role": "tool", "tool_call_id": "call_10", "content": "Rain"})
    final = chat_answer(client, messages, stream=stream).choices[0].message
    assert final.content == "Sunny in Paris, rain in London."


def test_chat_history_system_and_tools(m: MockBuilder, server: MockServer) -> None:
    agent = m.openai_chat().when_system_contains("travel agent").when_tool_names("book_flight")
    agent.when_history_contains("Lisbon").when_last_message_contains("book it").reply("Booked to Lisbon.")
    agent.when_last_message_contains("book it").reply("Where to?")
    client = openai_client(server)
    tools: Any = [{"type": "function", "function": {"name": "book_flight", "parameters": {"type": "object"}}}]
    system = {"role": "developer", "content": "You are a travel agent."}
    asked = [system, {"role": "user", "content": "book it"}]
    assert chat_answer(client, asked, stream=False, tools=tools).choices[0].message.content == "Where to?"
    lisbon = [
        system,
        {"role": "user", "content": "I want to fly to Lisbon."},
        {"role": "assistant", "content": "Lisbon, lovely."},
        {"role": "user", "content": "book it"},
    ]
    assert (
        chat_answer(client, lisbon, stream=True, tools=tools).choices[0].message.content
        == "Booked to Lisbon."
    )
    with pytest.raises(openai.NotFoundError, match='tool_names: no tool named "book_flight"'):
        chat_answer(client, lisbon, stream=False)


def test_chat_model_rule(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().named("big").when_model("gpt-4o").reply("from gpt-4o")
    m.openai_chat().when_model("mini", match_type="contains").reply("from a mini model")
    m.openai_chat().when_model(r"^o\d$", match_type="regex").reply("from a reasoning model")
    client = openai_client(server)
    hello = [{"role": "user", "content": "hello"}]
    assert (
        chat_answer(client, hello, stream=False, model="gpt-4o").choices[0].message.content == "from gpt-4o"
    )
    assert chat_answer(client, hello, stream=True, model="gpt-4o-mini").choices[0].message.content == (
        "from a mini model"
    )
    assert (
        chat_answer(client, hello, stream=False, model="o3").choices[0].message.content
        == "from a reasoning model"
    )
    with pytest.raises(openai.NotFoundError) as caught:
        chat_answer(client, hello, stream=False, model="gpt-5")
    assert 'Nearest mock "big": model: wants exact "gpt-4o", got "gpt-5"' in str(caught.value)


@pytest.mark.parametrize("stream", [False, True])
def test_chat_regex_from_the_builder_and_from_json(m: MockBuilder, server: MockServer, stream: bool) -> None:
    m.openai_chat().when_last_message_matches(r"order #\d+").with_header(
        "X-Tenant-ID", r"^tenant-\d+$", match_type="regex"
    ).reply("Your order ships today.")
    client = openai_client(server, default_headers={"X-Tenant-ID": "tenant-7"})
    order = [{"role": "user", "content": "Where is order #1234?"}]
    assert chat_answer(client, order, stream=stream).choices[0].message.content == "Your order ships today."
    with pytest.raises(openai.NotFoundError, match=r'regex "order #\\\\d\+" not found'):
        chat_answer(client, [{"role": "user", "content": "Where is order #abc?"}], stream=stream)
    other_tenant = openai_client(server, default_headers={"X-Tenant-ID": "tenant-7b"})
    with pytest.raises(openai.NotFoundError, match="header X-Tenant-ID: wants regex"):
        chat_answer(other_tenant, order, stream=stream)

    # The same mock written by hand as JSON, as a test suite in another language would.
    config = Config.from_json(
        r"""{"openai": [{
              "match": {
                "match_type": "regex",
                "message": {"role": "user", "content": "order #\\d+"},
                "headers": [{"name": "X-Tenant-ID", "value": "^tenant-\\d+$", "match_type": "regex"}]
              },
              "response": {"choices": [{"message": {"content": "Your order ships today."}}]}
            }]}"""
    )
    assert config.openai[0].match == m.build().openai[0].match
    server.set_config(config)
    assert chat_answer(client, order, stream=stream).choices[0].message.content == "Your order ships today."


# --- responses ---------------------------------------------------------------------------------


def responses_answer(client: openai.OpenAI, value: Any, *, stream: bool, model: str = "gpt-5") -> Any:
    if not stream:
        return client.responses.create(model=model, input=value)
    with client.responses.stream(model=model, input=value) as events:
        return events.get_final_response()


@pytest.mark.parametrize("stream", [False, True])
def test_responses_input_item_stops_the_tool_output_loop(
    m: MockBuilder, server: MockServer, stream: bool
) -> None:
    m.openai_responses().when_user_input_contains("Tokyo").reply_function_call(
        "get_time", {"city": "Tokyo"}, call_id="call_1"
    )
    m.openai_responses().when_tool_output_contains("Tokyo").reply("It is 14:05 in Tokyo.")
    client = openai_client(server)
    conversation: list[Any] = [{"role": "user", "content": "What time is it in Tokyo?"}]
    steps = []
    for _ in range(4):  # an agent loop, bounded: it must end after two calls
        response = responses_answer(client, conversation, stream=stream)
        conversation += [item.model_dump(exclude_none=True) for item in response.output]
        calls = [item for item in response.output if item.type == "function_call"]
        steps.append([item.type for item in response.output])
        if not calls:
            break
        for call in calls:
            conversation.append(
                {"type": "function_call_output", "call_id": call.call_id, "output": "14:05 in Tokyo"}
            )
    assert steps == [["function_call"], ["message"]]
    assert response.output_text == "It is 14:05 in Tokyo."


def test_responses_without_input_item_the_agent_would_loop(m: MockBuilder, server: MockServer) -> None:
    # Why input_item exists: a contains rule on the input also finds its text in the tool output.
    m.openai_responses().when_input_contains("Tokyo").reply_function_call(
        "get_time", {"city": "Tokyo"}, call_id="c"
    )
    client = openai_client(server)
    conversation: list[Any] = [
        {"role": "user", "content": "What time is it in Tokyo?"},
        {"type": "function_call", "call_id": "c", "name": "get_time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "14:05 in Tokyo"},
    ]
    assert client.responses.create(model="gpt-5", input=conversation).output[0].type == "function_call"


@pytest.mark.parametrize("stream", [False, True])
def test_responses_turn_tool_results_and_history(m: MockBuilder, server: MockServer, stream: bool) -> None:
    weather = m.openai_responses()
    weather.when_turn(0).when_user_input_contains("weather").reply_function_calls(
        [
            ToolCall("get_weather", {"city": "Paris"}, id="call_1"),
            ToolCall("get_weather", {"city": "Oslo"}, id="call_2"),
        ],
        reasoning="Two cities, two calls.",
    )
    weather.when_turn(1).when_history_has_tool_results("call_2", "call_1").when_history_contains(
        "Oslo"
    ).reply("Paris: sun. Oslo: snow.")
    weather.when_turn(2).when_user_input_contains("weather").reply("Still the same.")
    client = openai_client(server)
    conversation: list[Any] = [{"role": "user", "content": "weather in Paris and Oslo?"}]
    first = responses_answer(client, conversation, stream=stream)
    assert [item.type for item in first.output] == ["reasoning", "function_call", "function_call"]
    conversation += [item.model_dump(exclude_none=True) for item in first.output]
    conversation += [
        {"type": "function_call_output", "call_id": "call_1", "output": "sun"},
        {"type": "function_call_output", "call_id": "call_2", "output": "snow"},
    ]
    second = responses_answer(client, conversation, stream=stream)
    assert second.output_text == "Paris: sun. Oslo: snow."
    conversation += [item.model_dump(exclude_none=True) for item in second.output]
    conversation.append({"role": "user", "content": "and the weather now?"})
    assert responses_answer(client, conversation, stream=stream).output_text == "Still the same."


def test_responses_regex_and_model(m: MockBuilder, server: MockServer) -> None:
    m.openai_responses().when_model("gpt-5", match_type="contains").when_input_matches(
        r"^plan (a|the) trip"
    ).reply("Day one: Lisbon.")
    client = openai_client(server)
    assert responses_answer(
        client, "plan the trip to Lisbon", stream=True, model="gpt-5-mini"
    ).output_text == ("Day one: Lisbon.")
    with pytest.raises(openai.NotFoundError, match=re.escape('model: wants contains "gpt-5", got "gpt-4.1"')):
        responses_answer(client, "plan a trip", stream=False, model="gpt-4.1")
    with pytest.raises(openai.NotFoundError, match="regex"):
        responses_answer(client, "please plan the trip", stream=False)


# --- embeddings ----------------------------------------------------------------------------------


def test_embeddings_regex_and_model(m: MockBuilder, server: MockServer) -> None:
    m.openai_embeddings().when_model("text-embedding-3-small").when_input_matches(r"\bdark\b").reply(
        [1.0, 0.0]
    )
    m.openai_embeddings().when_model("large", match_type="contains").reply([0.0, 1.0])
    client = openai_client(server)
    small = client.embeddings.create(model="text-embedding-3-small", input=["light", "dark mode"])
    assert small.data[0].embedding == [1.0, 0.0]
    large = client.embeddings.create(model="text-embedding-3-large", input="dark mode")
    assert large.data[0].embedding == [0.0, 1.0]
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="darkness")


# --- anthropic -----------------------------------------------------------------------------------


def claude_answer(client: anthropic.Anthropic, messages: list[Any], *, stream: bool, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"model": "claude-sonnet-5", "max_tokens": 100, "messages": messages, **kwargs}
    if not stream:
        return client.messages.create(**options)
    with client.messages.stream(**options) as events:
        return events.get_final_message()


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_turns_and_parallel_tool_results(m: MockBuilder, server: MockServer, stream: bool) -> None:
    claude = m.anthropic_messages().when_system_contains("assistant")
    claude.when_turn(0).when_last_message_contains("Paris and Rome").reply_tool_uses(
        [
            ToolCall("get_weather", {"city": "Paris"}, id="toolu_1"),
            ToolCall("get_weather", {"city": "Rome"}, id="toolu_2"),
        ]
    )
    claude.named("both").when_turn(1).when_history_has_tool_results(
        "toolu_1", "toolu_2"
    ).when_history_contains("Rome").reply("Sunny in both.")
    client = anthropic_client(server)
    system = "You are a helpful assistant."
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris and Rome?"}]
    first = claude_answer(client, messages, stream=stream, system=system)
    assert [block.id for block in first.content] == ["toolu_1", "toolu_2"]
    messages.append(
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]}
    )
    messages.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "Sun"}]}
    )
    with pytest.raises(anthropic.NotFoundError, match='no result for "toolu_1"'):
        claude_answer(client, messages, stream=stream, system=system)
    messages[-1]["content"].append({"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sun"})
    final = claude_answer(client, messages, stream=stream, system=system)
    assert final.content[0].text == "Sunny in both."


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_regex_and_model(m: MockBuilder, server: MockServer, stream: bool) -> None:
    m.anthropic_messages().when_model("sonnet", match_type="contains").when_last_message_matches(
        r"^\d+\s*\+\s*\d+\??$"
    ).reply("A sum.")
    client = anthropic_client(server)
    assert (
        claude_answer(client, [{"role": "user", "content": "2 + 2?"}], stream=stream).content[0].text
        == "A sum."
    )
    with pytest.raises(anthropic.NotFoundError, match='model: wants contains "sonnet", got "claude-haiku-5"'):
        claude_answer(client, [{"role": "user", "content": "2+2"}], stream=stream, model="claude-haiku-5")


async def test_async_client_and_a_json_config_with_every_conversation_key() -> None:
    config = Config.from_dict(
        {
            "openai": [
                {
                    "match": {
                        "match_type": "contains",
                        "message": {"role": "user", "content": "again"},
                        "model": {"value": "gpt-4o"},
                        "turn": 1,
                        "history_contains": ["first question"],
                        "tool_results": [],
                        "system_contains": ["terse"],
                    },
                    "response": {"choices": [{"message": {"role": "assistant", "content": "second answer"}}]},
                }
            ]
        }
    )
    async with MockServer(config) as running:
        client = async_openai_client(running)
        reply = await client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "first answer"},
                {"role": "user", "content": "again"},
            ],
        )
    assert reply.choices[0].message.content == "second answer"
