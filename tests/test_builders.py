"""The fluent builder: what each verb writes into the config, copy-on-write prefixes, misuse
errors, typing, export, and what the official SDKs get from a server that follows a builder."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import Message
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response
from pydantic import BaseModel
from typing_extensions import is_typeddict

import mockllm.builders
from mockllm import Config, ConfigError, MockServer
from mockllm.anthropic import builder as anthropic_messages
from mockllm.bedrock import builder as bedrock_builder
from mockllm.bedrock.builder import BedrockBuilder
from mockllm.builders import (
    AnthropicMessagesBuilder,
    BuilderError,
    MockBuilder,
    MockHandle,
    OpenAIChatBuilder,
    OpenAIEmbeddingsBuilder,
    OpenAIResponsesBuilder,
    ToolCall,
    mock,
)
from mockllm.cli import main
from mockllm.config import (
    AnthropicMock,
    BedrockMock,
    GeminiEmbeddingMock,
    GeminiMock,
    OllamaEmbeddingMock,
    OllamaMock,
    OpenAIEmbeddingMock,
    OpenAIMock,
    OpenAIResponseMock,
)
from mockllm.gemini import builder as gemini_builder
from mockllm.gemini import embed_builder as gemini_embed_builder
from mockllm.gemini.builder import GeminiBuilder
from mockllm.gemini.embed_builder import GeminiEmbeddingsBuilder
from mockllm.ollama import builder as ollama_builder
from mockllm.ollama import embed_builder as ollama_embed_builder
from mockllm.ollama.builder import OllamaBuilder
from mockllm.ollama.embed_builder import OllamaEmbeddingsBuilder
from mockllm.openai import chat_builder as openai_chat
from mockllm.openai import embeddings_builder as openai_embeddings
from mockllm.openai import responses_builder as openai_responses

from .conftest import (
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    openai_client,
)


def assert_round_trips(builder: MockBuilder) -> Config:
    config = builder.build()
    assert Config.from_json(builder.to_json()) == config
    return config


@pytest.fixture
def m() -> Iterator[MockBuilder]:
    """A fresh builder; after the test its JSON must load back to the same config."""
    builder = mock()
    yield builder
    assert_round_trips(builder)


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.fixture
def live(server: MockServer) -> Iterator[MockBuilder]:
    """A fresh builder that the module's server follows."""
    builder = mock()
    server.set_config(builder)
    yield builder
    assert_round_trips(builder)


def mocks_json(builder: MockBuilder, api: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(builder.to_json()).get(api, [])
    return result


# --- what the verbs write ------------------------------------------------------------------------


def test_issue_example_compiles_to_kagent_json(m: MockBuilder) -> None:
    m.openai_chat().when_last_message_contains("weather").with_header("X-Tenant-ID", "a").reply_tool_call(
        "get_weather", {"city": "London"}
    )
    m.openai_chat().when_last_message(role="tool", tool_call_id="call_1", contains="Rainy").reply(
        "It is rainy."
    )
    m.openai_responses().when_input_contains("haiku").reply("Agents wake and run")
    m.openai_embeddings().when_input_contains("dark mode").reply([0.1, 0.2, 0.3])
    m.anthropic_messages().when_last_message_contains("2+2").with_header("X-Tenant-ID", "b").reply("4")

    assert json.loads(m.to_json()) == {
        "openai": [
            {
                "match": {
                    "match_type": "contains",
                    "message": {"role": "user", "content": "weather"},
                    "headers": [{"name": "X-Tenant-ID", "value": "a"}],
                },
                "response": {
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {
                                        "type": "function",
                                        "function": {"name": "get_weather", "arguments": '{"city":"London"}'},
                                    }
                                ],
                            },
                            "finish_reason": "tool_calls",
                        }
                    ],
                },
            },
            {
                "match": {
                    "match_type": "contains",
                    "message": {"role": "tool", "tool_call_id": "call_1", "content": "Rainy"},
                },
                "response": {
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "It is rainy."},
                            "finish_reason": "stop",
                        }
                    ],
                },
            },
        ],
        "openai_response": [
            {
                "match": {"match_type": "contains", "input": "haiku"},
                "response": {
                    "object": "response",
                    "status": "completed",
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "status": "completed",
                            "content": [
                                {"type": "output_text", "text": "Agents wake and run", "annotations": []}
                            ],
                        }
                    ],
                },
            }
        ],
        "openai_embeddings": [
            {
                "match": {"match_type": "contains", "input": "dark mode"},
                "response": {
                    "object": "list",
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
                },
            }
        ],
        "anthropic": [
            {
                "match": {
                    "match_type": "contains",
                    "message": {"role": "user", "content": [{"type": "text", "text": "2+2"}]},
                    "headers": [{"name": "X-Tenant-ID", "value": "b"}],
                },
                "response": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": "4"}],
                    "stop_reason": "end_turn",
                },
            }
        ],
    }


def test_prefix_reuse_makes_independent_mocks(m: MockBuilder) -> None:
    base = m.openai_chat().with_header("X-Tenant-ID", "a")
    big = base.when_last_message_contains("big").named("big").reply("B")
    small = (
        base.with_header("X-Env", "prod", match_type="contains")
        .when_last_message_contains("small")
        .reply("S")
    )
    anything = base.reply("any")

    assert [h.position for h in (big, small, anything)] == [0, 1, 2]
    assert [len(h.mock.match.headers) for h in (big, small, anything)] == [1, 2, 1]
    assert small.mock.match.headers[1].match_type == "contains"
    assert [h.mock.match.message for h in (big, small, anything)] == [
        {"role": "user", "content": "big"},
        {"role": "user", "content": "small"},
        {},
    ]
    assert (big.name, small.name, anything.name) == ("big", "", "")
    assert (big.label, small.label) == ("big", "openai[1]")
    with pytest.raises(BuilderError, match="needs a header name"):
        base.with_header("", "x")
    # The prefix itself never changed, so it can start yet another chain.
    assert base.when_last_message_contains("again").reply("A").mock.match.message["content"] == "again"


def test_a_mock_with_no_body_rule_matches_everything(m: MockBuilder) -> None:
    m.openai_chat().reply("c")
    m.openai_responses().reply("r")
    m.openai_embeddings().reply([1.0])
    m.anthropic_messages().when_system_contains("helpful").reply("a")
    matches = {api: mocks_json(m, api)[0]["match"] for api in ("openai", "openai_response", "anthropic")}
    assert matches == {
        "openai": {"match_type": "contains", "message": {}},
        "openai_response": {"match_type": "contains", "input": ""},
        "anthropic": {"match_type": "contains", "message": {}, "system_contains": ["helpful"]},
    }


@pytest.mark.parametrize(
    "chain",
    [
        lambda m: m.openai_chat().when_last_message_contains("a").when_tool_result("call_1"),
        lambda m: (
            m.openai_chat().when_tool_result("call_1").with_header("A", "b").when_last_message(role="user")
        ),
        lambda m: m.openai_responses().when_input("a").when_input_contains("b"),
        lambda m: m.openai_embeddings().when_input_contains("a").when_input_includes(["b"]),
        lambda m: m.anthropic_messages().when_tool_result("t").when_last_message_contains("a"),
    ],
)
def test_two_body_rules_on_one_mock_are_an_error(m: MockBuilder, chain: Any) -> None:
    with pytest.raises(BuilderError, match=r"after when_\w+\(\): a mock has one body rule"):
        chain(m)
    assert m.build() == Config()


def test_anthropic_system_and_tool_rules_add_up(m: MockBuilder) -> None:
    base = m.anthropic_messages().when_system_contains("helpful").when_tool_names("get_weather")
    handle = (
        base.when_system_contains("terse").when_tool_names("a", "b").when_tool_result("toolu_1").reply("x")
    )
    assert handle.mock.match.system_contains == ("helpful", "terse")
    assert handle.mock.match.tool_names == ("get_weather", "a", "b")
    assert handle.mock.match.message == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}],
    }
    assert base.reply("y").mock.match.system_contains == ("helpful",)
    with pytest.raises(BuilderError, match="at least one tool name"):
        base.when_tool_names()


def test_chat_when_last_message_exact_and_contains(m: MockBuilder) -> None:
    chat = m.openai_chat()
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    exact = chat.when_last_message(
        role="assistant",
        content=[{"type": "text", "text": "hi"}],
        name="bot",
        tool_calls=calls,
        refusal="no",
        audio={"id": "audio_1"},
        function_call={"name": "f", "arguments": "{}"},
    ).reply("ok")
    assert exact.mock.match.match_type == "exact"
    assert exact.mock.match.message == {
        "role": "assistant",
        "content": [{"type": "text", "text": "hi"}],
        "name": "bot",
        "tool_calls": calls,
        "refusal": "no",
        "audio": {"id": "audio_1"},
        "function_call": {"name": "f", "arguments": "{}"},
    }
    calls[0]["id"] = "changed later"  # the builder took a copy
    assert exact.mock.match.message["tool_calls"][0]["id"] == "call_1"

    tool = chat.when_last_message(role="tool", tool_call_id="call_1", name="f", contains="8").reply("ok")
    assert tool.mock.match.match_type == "contains"
    assert tool.mock.match.message == {"role": "tool", "tool_call_id": "call_1", "name": "f", "content": "8"}
    anyone = chat.when_last_message_contains("x", role=None).reply("ok")
    assert anyone.mock.match.message == {"content": "x"}

    with pytest.raises(BuilderError, match="content= \\(exact\\) or contains="):
        chat.when_last_message(role="user", content="a", contains="b")
    with pytest.raises(BuilderError, match="tool_calls, refusal would be ignored"):
        chat.when_last_message(role="assistant", contains="a", tool_calls=calls, refusal="x")
    with pytest.raises(BuilderError, match="needs role="):
        chat.when_last_message(content="a")


def test_responses_and_embeddings_input_rules(m: MockBuilder) -> None:
    items = [{"type": "function_call_output", "call_id": "c1", "output": "4"}]
    responses = m.openai_responses()
    assert responses.when_input("hi").reply("x").mock.match.model_dump(
        mode="json", exclude_defaults=True
    ) == {
        "match_type": "exact",
        "input": "hi",
    }
    tail = responses.when_input_ends_with(items).reply("x").mock.match
    assert (tail.match_type, tail.input) == ("contains", items)
    with pytest.raises(BuilderError, match="non-empty list"):
        responses.when_input_ends_with([])

    embeddings = m.openai_embeddings()
    includes = embeddings.when_input_includes(("a", "b")).reply([1.0]).mock.match
    assert (includes.match_type, includes.input) == ("contains", ["a", "b"])
    tokens = embeddings.when_input([[1, 2], [3]]).reply([1.0]).mock.match
    assert (tokens.match_type, tokens.input) == ("exact", [[1, 2], [3]])
    with pytest.raises(
        BuilderError, match=r"invalid openai_embeddings mock: match\.input: expected a string"
    ):
        embeddings.when_input([1.5]).reply([1.0])  # type: ignore[arg-type]


def test_anthropic_when_last_message_exact_and_blocks(m: MockBuilder) -> None:
    claude = m.anthropic_messages()
    exact = claude.when_last_message(role="user", content="hello").reply("x").mock.match
    assert (exact.match_type, exact.message) == (
        "exact",
        {"role": "user", "content": [{"type": "text", "text": "hello"}]},
    )
    block = {"type": "tool_use", "name": "get_weather"}
    has = claude.when_last_message(role="assistant", contains=[block]).reply("x").mock.match
    assert (has.match_type, has.message) == ("contains", {"role": "assistant", "content": [block]})
    with pytest.raises(BuilderError, match="needs role= and content="):
        claude.when_last_message(content="x")
    with pytest.raises(BuilderError, match="non-empty list of blocks"):
        claude.when_last_message(role="user", content=[])


def test_chat_reply_options_and_tool_calls(m: MockBuilder) -> None:
    chat = m.openai_chat()
    text = chat.reply(
        "Hi",
        model="gpt-4o",
        response_id="chatcmpl-1",
        created=1700000000,
        finish_reason="length",
        usage={"prompt_tokens": 3, "completion_tokens": 1},
    )
    assert text.mock.response == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "length"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    calls = chat.reply_tool_calls(
        [ToolCall("a", {"x": [1, "é"]}, id="call_a"), ToolCall("b", '{"y": 2}')], content=""
    ).mock.response["choices"][0]
    assert calls == {
        "index": 0,
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "a", "arguments": '{"x":[1,"é"]}'}},
                {"type": "function", "function": {"name": "b", "arguments": '{"y": 2}'}},
            ],
        },
        "finish_reason": "tool_calls",
    }
    with pytest.raises(BuilderError, match="at least one ToolCall"):
        chat.reply_tool_calls([])
    with pytest.raises(BuilderError, match="takes ToolCall values"):
        chat.reply_tool_calls([("a", "{}")])  # type: ignore[list-item]
    with pytest.raises(BuilderError, match="is not JSON"):
        chat.reply_tool_call("a", {"when": object()})


@pytest.mark.parametrize(
    ("entry", "verb"),
    [
        ("openai_chat", "reply_tool_calls"),
        ("openai_responses", "reply_function_calls"),
        ("anthropic_messages", "reply_tool_uses"),
        ("gemini", "reply_function_calls"),
        ("bedrock", "reply_tool_uses"),
        ("ollama", "reply_tool_calls"),
    ],
)
def test_every_reply_of_several_tool_calls_wants_tool_call_values(
    m: MockBuilder, entry: str, verb: str
) -> None:
    reply = getattr(getattr(m, entry)(), verb)
    with pytest.raises(BuilderError, match=rf"{verb}\(\) needs at least one ToolCall"):
        reply([])
    with pytest.raises(BuilderError, match=rf"{verb}\(\) takes ToolCall values, got \('a', '\{{}}'\)"):
        reply([ToolCall("a"), ("a", "{}")])
    assert m.build() == Config()  # nothing registered


def test_responses_reply_verbs(m: MockBuilder) -> None:
    responses = m.openai_responses()
    handle = responses.reply(
        "Done", reasoning="thought", model="gpt-5", usage={"input_tokens": 2, "output_tokens": 3}
    )
    assert handle.mock.response["output"][0] == {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "thought"}],
    }
    assert handle.mock.response["usage"] == {
        "input_tokens": 2,
        "output_tokens": 3,
        "total_tokens": 5,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }
    calls = responses.reply_function_calls(
        [ToolCall("calc", {"e": "2+2"}, id="call_1"), ToolCall("time")], text="Working on it", created_at=1.5
    ).mock.response
    assert calls["created_at"] == 1.5
    assert [item["type"] for item in calls["output"]] == ["message", "function_call", "function_call"]
    assert calls["output"][1] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "calc",
        "arguments": '{"e":"2+2"}',
        "status": "completed",
    }
    assert "call_id" not in calls["output"][2]


def test_embeddings_reply_verbs(m: MockBuilder) -> None:
    embeddings = m.openai_embeddings()
    one = embeddings.reply((1, 0.5), model="text-embedding-3-small", usage={"prompt_tokens": 4})
    assert one.mock.response == {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [1.0, 0.5]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    several = embeddings.reply_vectors([[0.1], [0.2], [0.3]]).mock.response["data"]
    assert [(item["index"], item["embedding"]) for item in several] == [(0, [0.1]), (1, [0.2]), (2, [0.3])]
    with pytest.raises(BuilderError, match="embedding 1 is not a list of numbers"):
        embeddings.reply_vectors([[0.1], [True]])
    with pytest.raises(BuilderError, match="at least one vector"):
        embeddings.reply_vectors([])


def test_anthropic_reply_verbs(m: MockBuilder) -> None:
    claude = m.anthropic_messages()
    text = claude.reply(
        "4",
        thinking="2+2",
        thinking_signature="sig",
        model="claude-sonnet-5",
        response_id="msg_1",
        stop_reason="stop_sequence",
        stop_sequence="END",
        usage={"input_tokens": 5, "output_tokens": 1},
    )
    assert text.mock.response == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5",
        "content": [
            {"type": "thinking", "thinking": "2+2", "signature": "sig"},
            {"type": "text", "text": "4"},
        ],
        "stop_reason": "stop_sequence",
        "stop_sequence": "END",
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    uses = claude.reply_tool_uses(
        [ToolCall("a", '{"x": 1}', id="toolu_a"), ToolCall("b", {"y": [2]})],
        text="Let me look.",
        thinking="hm",
    ).mock.response
    assert uses["content"] == [
        {"type": "thinking", "thinking": "hm", "signature": ""},
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_a", "name": "a", "input": {"x": 1}},
        {"type": "tool_use", "name": "b", "input": {"y": [2]}},
    ]
    assert uses["stop_reason"] == "tool_use"
    with pytest.raises(BuilderError, match="not valid JSON"):
        claude.reply_tool_use("a", "{nope")
    with pytest.raises(BuilderError, match="must be a JSON object, got list"):
        claude.reply_tool_use("a", "[1]")
    with pytest.raises(BuilderError, match="thinking_signature= needs thinking="):
        claude.reply("x", thinking_signature="sig")


def sdk_chat_completion() -> ChatCompletion:
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-sdk",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "from the SDK"},
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
        }
    )


def sdk_response() -> Response:
    return Response.model_validate(
        {
            "id": "resp_sdk",
            "object": "response",
            "created_at": 1700000000,
            "model": "gpt-4o",
            "status": "completed",
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "output": [
                {
                    "type": "function_call",
                    "id": "fc_1",
                    "call_id": "call_1",
                    "name": "calc",
                    "arguments": '{"e":"2+2"}',
                    "status": "completed",
                }
            ],
        }
    )


def sdk_embeddings() -> CreateEmbeddingResponse:
    return CreateEmbeddingResponse.model_validate(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}],
            "usage": {"prompt_tokens": 2, "total_tokens": 2},
        }
    )


def sdk_message() -> Message:
    return Message.model_validate(
        {
            "id": "msg_sdk",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 7},
        }
    )


def test_reply_takes_the_sdk_types_and_dicts(m: MockBuilder) -> None:
    completion, response, embeddings, message = (
        sdk_chat_completion(),
        sdk_response(),
        sdk_embeddings(),
        sdk_message(),
    )
    handles: list[MockHandle[Any]] = [
        m.openai_chat().reply(completion),
        m.openai_responses().reply(response),
        m.openai_embeddings().reply(embeddings),
        m.anthropic_messages().reply(message),
    ]
    for handle, model in zip(handles, (completion, response, embeddings, message), strict=True):
        assert handle.mock.response == model.model_dump(mode="json", exclude_unset=True)
    as_dict = {"choices": [{"message": {"content": "raw"}}]}
    raw = m.openai_chat().reply(as_dict)
    as_dict["choices"].clear()  # the builder took a copy
    assert raw.mock.response == {"choices": [{"message": {"content": "raw"}}]}


def test_reply_refuses_objects_of_another_api(m: MockBuilder) -> None:
    with pytest.raises(BuilderError, match="no 'choices' list; is it a ChatCompletion"):
        m.openai_chat().reply(sdk_message())  # type: ignore[call-overload]
    with pytest.raises(BuilderError, match="no 'content' list; is it a Message"):
        m.anthropic_messages().reply(sdk_chat_completion())  # type: ignore[call-overload]
    with pytest.raises(BuilderError, match="takes a CreateEmbeddingResponse or a dict here, got int"):
        m.openai_embeddings().reply(3)  # type: ignore[call-overload]
    with pytest.raises(BuilderError, match="options apply to a text reply"):
        m.openai_chat().reply(sdk_chat_completion(), model="x")  # type: ignore[call-overload]
    assert m.build() == Config()


def test_handles_and_change_listeners(m: MockBuilder) -> None:
    calls: list[Config] = []
    added: list[tuple[Any, Any, int]] = []

    def listener(api: Any, mock: Any, position: int) -> None:
        calls.append(m.build())
        added.append((api, mock, position))

    m.add_change_listener(listener)
    first = m.openai_chat().named("first").reply("1")
    second = m.openai_chat().reply("2")
    claude = m.anthropic_messages().reply("3")
    assert (first.api, first.position, second.position, claude.api, claude.position) == (
        "openai",
        0,
        1,
        "anthropic",
        0,
    )
    assert [c.counts() for c in calls] == [
        {
            "openai": 1,
            "openai_response": 0,
            "openai_embeddings": 0,
            "anthropic": 0,
            "gemini": 0,
            "gemini_embeddings": 0,
            "ollama": 0,
            "ollama_embeddings": 0,
            "bedrock": 0,
        },
        {
            "openai": 2,
            "openai_response": 0,
            "openai_embeddings": 0,
            "anthropic": 0,
            "gemini": 0,
            "gemini_embeddings": 0,
            "ollama": 0,
            "ollama_embeddings": 0,
            "bedrock": 0,
        },
        {
            "openai": 2,
            "openai_response": 0,
            "openai_embeddings": 0,
            "anthropic": 1,
            "gemini": 0,
            "gemini_embeddings": 0,
            "ollama": 0,
            "ollama_embeddings": 0,
            "bedrock": 0,
        },
    ]
    assert m.build().openai == [first.mock, second.mock]
    assert added == [("openai", first.mock, 0), ("openai", second.mock, 1), ("anthropic", claude.mock, 0)]
    m.reset()
    assert calls[-1] == Config() == m.build()
    assert added[-1] == (None, None, -1)


def test_a_mock_a_listener_refuses_is_rolled_back(m: MockBuilder) -> None:
    def refuse_the_second(*change: Any) -> None:
        if len(m.build().openai) > 1:
            raise ConfigError("<server>", [("$.openai[1]", "refused")])

    m.add_change_listener(refuse_the_second)
    m.openai_chat().reply("kept")
    with pytest.raises(ConfigError, match="refused"):
        m.openai_chat().reply("dropped")
    assert [mock.response["choices"][0]["message"]["content"] for mock in m.build().openai] == ["kept"]


def test_listen_addr(m: MockBuilder) -> None:
    assert mock(listen_addr="0.0.0.0:8080").build().listen_addr == "0.0.0.0:8080"
    assert "listen_addr" not in json.loads(m.to_json())


# --- every config field has a verb ----------------------------------------------------------------

BUILDER_MODULES: dict[str, tuple[ModuleType, type[Any], type[BaseModel]]] = {
    "openai": (openai_chat, OpenAIChatBuilder, OpenAIMock),
    "openai_response": (openai_responses, OpenAIResponsesBuilder, OpenAIResponseMock),
    "openai_embeddings": (openai_embeddings, OpenAIEmbeddingsBuilder, OpenAIEmbeddingMock),
    "anthropic": (anthropic_messages, AnthropicMessagesBuilder, AnthropicMock),
    "gemini": (gemini_builder, GeminiBuilder, GeminiMock),
    "gemini_embeddings": (gemini_embed_builder, GeminiEmbeddingsBuilder, GeminiEmbeddingMock),
    "ollama": (ollama_builder, OllamaBuilder, OllamaMock),
    "ollama_embeddings": (ollama_embed_builder, OllamaEmbeddingsBuilder, OllamaEmbeddingMock),
    "bedrock": (bedrock_builder, BedrockBuilder, BedrockMock),
}


def leaf_fields(tp: Any) -> set[str]:
    """Dotted paths of the fields under a model or TypedDict (``headers[].name``), down to the
    fields that hold plain values."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        hints = {name: field.annotation for name, field in tp.model_fields.items()}
    else:
        hints = typing.get_type_hints(tp)
    paths = set()
    for name, hint in hints.items():
        inner, suffix = hint, ""
        if typing.get_origin(hint) in (list, tuple):
            inner, suffix = typing.get_args(hint)[0], "[]"
        elif typing.get_origin(hint) in (typing.Union, types.UnionType):
            # An optional object (``model: ModelMatch | None``): its fields are the leaves.
            models = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            if len(models) == 1:
                inner = models[0]
        if (isinstance(inner, type) and issubclass(inner, BaseModel)) or is_typeddict(inner):
            paths |= {f"{name}{suffix}.{sub}" for sub in leaf_fields(inner)}
        else:
            paths.add(name)
    return paths


def verb_table(module: ModuleType) -> dict[str, set[str]]:
    """The ``- ``verb(...)`` → ``field``, …`` table of a builder module's docstring."""
    doc = module.__doc__ or ""
    table: dict[str, set[str]] = {}
    for entry in re.finditer(r"^- ``(\w+)\(.*?→(.*?)(?=^\S|\Z)", doc, flags=re.M | re.S):
        table.setdefault(entry[1], set()).update(re.findall(r"``([\w.\[\]]+)``", entry[2]))
    return table


def has_path(value: Any, path: str) -> bool:
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(value, dict) or key not in value:
        return False
    inner = value[key]
    if not rest:
        return True
    items = inner if many else [inner]
    return any(has_path(item, rest) for item in items)


def every_verb_used() -> Config:
    """One chain per verb and keyword, so every field the verb tables name is written somewhere."""
    m = mock(listen_addr="127.0.0.1:0")
    chat = m.openai_chat().named("n").with_header("X-A", "a", match_type="contains")
    chat.when_last_message_contains("x").reply("x")
    chat.once().priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply("y")
    chat.when_tool_result("call_1", contains="8").reply_tool_call("f", {})
    chat.when_last_message(
        role="assistant",
        content="x",
        name="n",
        tool_call_id="c",
        tool_calls=[{"id": "c"}],
        refusal="r",
        audio={"id": "a"},
        function_call={"name": "f"},
    ).reply_tool_calls([ToolCall("f")])
    responses = m.openai_responses().named("n").with_header("X-A", "a")
    responses.when_input_contains("x").reply("x")
    responses.times(2).priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply("y")
    responses.when_input([{"type": "message", "role": "user", "content": "x"}]).reply_function_call("f")
    responses.when_input_ends_with(
        [{"type": "message", "role": "user", "content": "x"}]
    ).reply_function_calls([ToolCall("f")])
    embeddings = m.openai_embeddings().named("n").with_header("X-A", "a")
    embeddings.when_input_contains("x").reply([1.0])
    embeddings.once().priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply([2.0])
    embeddings.when_input_includes(["x"]).reply_vectors([[1.0]])
    embeddings.when_input("x").reply([1.0])
    embeddings.when_input([[1, 2]]).reply_vectors_from_text(8, seed=1)
    chat.when_model("gpt", match_type="contains").when_turn(1).when_history_contains(
        "h"
    ).when_history_has_tool_results("call_1").when_system_contains("s").when_tool_names(
        "t"
    ).when_last_message_matches("x+", role="tool", name="n", tool_call_id="call_1").reply("x")
    responses.when_model("gpt-5", match_type="exact").when_turn(0).when_history_contains(
        "h"
    ).when_history_has_tool_results("call_1").when_input_item("user").when_input_matches("x").reply("x")
    responses.when_user_input_contains("x").reply("x")
    responses.when_tool_output_contains("x").reply("x")
    responses.when_tool_result("call_1", contains="x").reply("x")
    responses.when_system_contains("s").when_tool_names("t").reply("x")
    embeddings.when_model("text-embedding", match_type="regex").when_input_matches("x").reply([1.0])
    claude = m.anthropic_messages().named("n").with_header("X-A", "a")
    claude.when_system_contains("s").when_tool_names("t").when_last_message_contains("x").reply("x")
    claude.when_model("claude", match_type="contains").when_turn(2).when_history_contains(
        "h"
    ).when_history_has_tool_results("toolu_1").when_last_message_matches("x", role="user").reply("x")
    claude.when_tool_result("toolu_1", contains="x").reply("x")
    gemini = m.gemini().named("n").with_header("X-A", "a")
    gemini.when_system_contains("s").when_tool_names("t").when_last_message_contains("x").reply("x")
    gemini.once().priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply("y")
    gemini.when_model("gemini", match_type="contains").when_turn(1).when_history_contains(
        "h"
    ).when_history_has_tool_results("call_1").when_last_message_matches("x", role="user").reply_function_call(
        "f"
    )
    gemini.when_tool_result("call_1").reply_function_calls([ToolCall("f")])
    gemini.when_last_message(role="user", parts="x").reply_code_execution("print(1)", "1")
    gemini_embeddings = m.gemini_embeddings().named("n").with_header("X-A", "a")
    gemini_embeddings.when_input_contains("x").reply([1.0])
    gemini_embeddings.once().priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply([2.0])
    gemini_embeddings.when_input_includes(["x"]).reply_vectors([[1.0]])
    gemini_embeddings.when_model("gemini", match_type="regex").when_input("x").reply([1.0])
    gemini_embeddings.when_input_matches("x").reply_vectors_from_text(8, seed=1)
    local = m.ollama().named("n").with_header("X-A", "a")
    local.when_system_contains("s").when_tool_names("t").when_last_message_contains("x").reply("x")
    local.once().priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply("y", thinking="t")
    local.when_model("llama", match_type="contains").when_turn(1).when_history_contains(
        "h"
    ).when_history_has_tool_results("f").when_last_message_matches("x", role="user").reply_tool_call("f")
    local.when_tool_result("f").reply_tool_calls([ToolCall("f")])
    local.when_last_message(
        role="assistant", content="x", thinking="t", images=["aGk="], tool_calls=[{"function": {"name": "f"}}]
    ).reply("z")
    local_embeddings = m.ollama_embeddings().named("n").with_header("X-A", "a")
    local_embeddings.when_input_contains("x").reply([1.0])
    local_embeddings.once().priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply([2.0])
    local_embeddings.when_model("nomic", match_type="regex").when_input("x").reply_vectors([[1.0]])
    local_embeddings.when_input_matches("x").reply_vectors_from_text(8, seed=1)
    aws = m.bedrock().named("n").with_header("X-A", "a")
    aws.when_system_contains("s").when_tool_names("t").when_last_message_contains("x").reply("x")
    aws.once().priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply(
        "y", reasoning="r", signature="s", stop_reason="end_turn", usage={"inputTokens": 1}
    )
    aws.when_model("claude", match_type="contains").when_turn(1).when_history_contains(
        "h"
    ).when_history_has_tool_results("tu_1").when_last_message_matches("x", role="user").reply_tool_use(
        "f", id="tu_1"
    )
    aws.when_tool_result("tu_1").reply_tool_uses([ToolCall("f")])
    aws.when_last_message(role="user", content="x").reply("z")
    claude.when_tool_result("toolu_1").reply_tool_use("f")
    claude.once().priority(1).in_scenario(
        "s", required_state="a", new_state="b"
    ).allowing_unknown_fields().reply("y")
    claude.when_last_message(role="user", content="x").reply_tool_uses([ToolCall("f")])
    for builder in (
        chat,
        responses,
        embeddings,
        claude,
        gemini,
        gemini_embeddings,
        local,
        local_embeddings,
        aws,
    ):
        builder.when_model("failing").once().reply_error(
            429, message="slow down", type="rate_limit_error", headers={"retry-after-ms": "5"}
        )
        builder.when_model("slow").with_timing(
            ttft_ms=1, chunk_interval_ms=2, jitter_ms=0.5, seed=3
        ).reply_error(503)
    chat.when_model("flaky").with_fault("disconnect", after_events=1).reply("x")
    responses.when_model("flaky").with_fault("truncate", after_events=1).reply("x")
    embeddings.when_model("flaky").with_fault("malformed", after_events=0).reply([1.0])
    claude.when_model("flaky").with_fault("error_event", after_events=2).reply("x")
    gemini.when_model("flaky").with_fault("malformed", after_events=1).reply("x")
    gemini_embeddings.when_model("flaky").with_fault("truncate", after_events=0).reply([1.0])
    local.when_model("flaky").with_fault("error_event", after_events=1).reply("x")
    local_embeddings.when_model("flaky").with_fault("disconnect", after_events=0).reply([1.0])
    aws.when_model("flaky").with_fault("malformed", after_events=1).reply("x")
    return m.build()


def test_every_config_field_has_a_verb() -> None:
    config = every_verb_used().model_dump(mode="json", exclude_unset=True)

    root_table = verb_table(mockllm.builders)
    assert set().union(*root_table.values()) == set(Config.model_fields)
    for verb in root_table:
        assert hasattr(MockBuilder, verb) or verb == "mock", verb
    assert has_path(config, "listen_addr")

    for api, (module, builder, model) in BUILDER_MODULES.items():
        table = verb_table(module)
        fields = leaf_fields(model)
        documented = set().union(*table.values())
        assert fields - documented == set(), f"{api}: config fields without a verb"
        assert documented - fields == set(), f"{api}: the verb table names fields the config lacks"
        for verb in table:
            assert callable(getattr(builder, verb, None)), f"{api}: {verb} is in the table, not the builder"
        # reply_with holds a Python function, which no JSON dump holds (tests/test_reply_with.py).
        for field in fields - {"reply_with"}:
            assert any(has_path(item, field) for item in config[api]), f"{api}: no verb wrote {field}"


# --- typing ---------------------------------------------------------------------------------------


# `mypy --strict tests/typing_chains.py` runs in .ci/run; here the chains run.


def test_typing_chains_also_run() -> None:
    namespace: dict[str, Any] = {"__name__": "typing_chains"}
    exec(
        compile(Path(__file__).with_name("typing_chains.py").read_text(), "typing_chains.py", "exec"),
        namespace,
    )
    assert namespace["m"].build().counts() == {
        "openai": 8,
        "openai_response": 9,
        "openai_embeddings": 5,
        "anthropic": 10,
        "gemini": 0,
        "gemini_embeddings": 0,
        "ollama": 0,
        "ollama_embeddings": 0,
        "bedrock": 0,
    }


# --- export ------------------------------------------------------------------------------------------

MOCKS_MODULE = """
from mockllm.builders import mock
from mockllm import Config

m = mock()
m.openai_chat().when_last_message_contains("hi").named("greet").reply("hello")

class Holder:
    config = m.build()

not_a_config = 42
broken = Config(openai=[{"match": {"match_type": "contains", "message": {}}, "response": {"choices": [1]}}])
"""


@pytest.fixture
def mocks_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "exported_mocks.py").write_text(MOCKS_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "exported_mocks", raising=False)
    return "exported_mocks"


def test_export_writes_the_json_of_a_builder_or_config(
    mocks_module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mocks.json"
    assert main(["export", f"{mocks_module}:m", "-o", str(out)]) == 0
    config = Config.from_json(out.read_text())
    assert [mock.name for mock in config.openai] == ["greet"]
    assert "1 openai" in capsys.readouterr().err

    assert main(["export", f"{mocks_module}:Holder.config"]) == 0
    assert Config.from_json(capsys.readouterr().out) == config


@pytest.mark.parametrize(
    ("target", "status", "message"),
    [
        ("exported_mocks", 2, "expected module:attribute"),
        ("no_such_module_here:m", 1, "cannot import no_such_module_here"),
        ("exported_mocks:missing", 1, "has no attribute missing"),
        ("exported_mocks:not_a_config", 1, "is a int, not a builder or a Config"),
        ("exported_mocks:broken", 1, "$.openai[0].response.choices"),
    ],
)
def test_export_errors(
    mocks_module: str, capsys: pytest.CaptureFixture[str], target: str, status: int, message: str
) -> None:
    assert main(["export", target]) == status
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_export_runs_as_a_command(mocks_module: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockllm", "export", f"{mocks_module}:m"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert Config.from_json(result.stdout).openai[0].name == "greet"


# --- over HTTP, through the official SDKs -----------------------------------------------------------


def test_chat_text_and_tool_calls_sync(live: MockBuilder, server: MockServer) -> None:
    live.openai_chat().when_last_message_contains("weather").reply_tool_calls(
        [ToolCall("get_weather", {"city": "London"}, id="call_w"), ToolCall("get_time", '{"tz": "UTC"}')]
    )
    live.openai_chat().when_tool_result("call_w", contains="Rainy").reply("It is rainy.", model="gpt-4o")
    client = openai_client(server)

    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "weather?"}]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert first.model == "gpt-4o-mini"  # no model in the mock: the request's is echoed
    calls = choice.message.tool_calls or []
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [  # type: ignore[union-attr]
        ("call_w", "get_weather", {"city": "London"}),
        (calls[1].id, "get_time", {"tz": "UTC"}),
    ]
    assert calls[1].id

    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "weather now?"}]
    ) as stream:
        streamed = stream.get_final_completion()
    assert [c.function.arguments for c in streamed.choices[0].message.tool_calls or []] == [
        '{"city":"London"}',
        '{"tz": "UTC"}',
    ]

    answer = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [c.model_dump() for c in calls]},  # type: ignore[misc]
            {"role": "tool", "tool_call_id": "call_w", "content": "Rainy, 12°C"},
        ],
    )
    assert (answer.model, answer.choices[0].message.content) == ("gpt-4o", "It is rainy.")


async def test_chat_async_stream_and_not(live: MockBuilder, server: MockServer) -> None:
    live.openai_chat().when_last_message_contains("hello").reply(
        "Hello there, world!", usage={"prompt_tokens": 2}
    )
    client = async_openai_client(server)
    messages: Any = [{"role": "user", "content": "hello"}]
    plain = await client.chat.completions.create(model="m", messages=messages)
    assert plain.choices[0].message.content == "Hello there, world!"
    assert plain.usage is not None and (plain.usage.prompt_tokens, plain.usage.total_tokens) == (2, 2)
    stream = await client.chat.completions.create(
        model="m", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello there, world!"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 2


def test_tenants_from_one_prefix_over_http(live: MockBuilder, server: MockServer) -> None:
    question = live.openai_chat().when_last_message_contains("plan")
    question.with_header("X-Tenant-ID", "a").reply("plan A")
    question.with_header("X-Tenant-ID", "b").reply("plan B")
    client = openai_client(server)
    messages: Any = [{"role": "user", "content": "which plan?"}]
    for tenant in ("a", "b"):
        reply = client.chat.completions.create(
            model="m", messages=messages, extra_headers={"X-Tenant-ID": tenant}
        )
        assert reply.choices[0].message.content == f"plan {tenant.upper()}"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="m", messages=messages, extra_headers={"X-Tenant-ID": "c"})


async def test_responses_text_reasoning_and_function_calls(live: MockBuilder, server: MockServer) -> None:
    live.openai_responses().when_input_contains("haiku").reply("Agents wake and run", reasoning="5-7-5")
    live.openai_responses().when_input_contains("2+2").reply_function_call(
        "calc", {"e": "2+2"}, call_id="call_c"
    )
    live.openai_responses().when_input_contains("call_c").reply("4")
    client = async_openai_client(server)

    haiku = await client.responses.create(model="gpt-5", input="write a haiku")
    assert haiku.output_text == "Agents wake and run"
    assert [item.type for item in haiku.output] == ["reasoning", "message"]
    async with client.responses.stream(model="gpt-5", input="a haiku please") as stream:
        final = await stream.get_final_response()
    assert final.output_text == "Agents wake and run"

    call = (await client.responses.create(model="gpt-5", input="what is 2+2?")).output[0]
    assert call.type == "function_call"
    assert (call.call_id, call.name, json.loads(call.arguments)) == ("call_c", "calc", {"e": "2+2"})
    follow_up = await client.responses.create(
        model="gpt-5",
        input=[
            {"role": "user", "content": "what is 2+2?"},
            {"type": "function_call_output", "call_id": "call_c", "output": "4"},
        ],
    )
    assert follow_up.output_text == "4"


def test_embeddings_one_and_several_vectors(live: MockBuilder, server: MockServer) -> None:
    live.openai_embeddings().when_input_contains("dark mode").reply(
        [0.5, -0.25, 1.0], model="text-embedding-3-small"
    )
    live.openai_embeddings().when_input_includes(["a", "b"]).reply_vectors([[1.0, 0.0], [0.0, 1.0]])
    client = openai_client(server)
    one = client.embeddings.create(model="m", input="I like dark mode")  # base64 on the wire
    assert (one.model, one.data[0].embedding) == ("text-embedding-3-small", [0.5, -0.25, 1.0])
    floats = client.embeddings.create(model="m", input="dark mode", encoding_format="float", dimensions=2)
    assert floats.data[0].embedding == [0.5, -0.25]
    two = client.embeddings.create(model="m", input=["a", "b"])
    assert [d.embedding for d in two.data] == [[1.0, 0.0], [0.0, 1.0]]


async def test_anthropic_text_thinking_and_tool_use(live: MockBuilder, server: MockServer) -> None:
    weather = live.anthropic_messages().when_tool_names("get_weather")
    weather.when_tool_result("toolu_w").reply("Sunny in Paris.")
    weather.when_last_message_contains("Paris").reply_tool_use(
        "get_weather", {"city": "Paris"}, id="toolu_w", text="Let me check.", thinking="Need the tool."
    )
    live.anthropic_messages().when_system_contains("math").reply(
        "4", thinking="2+2=4", thinking_signature="sig"
    )
    client = async_anthropic_client(server)
    tools: Any = [{"name": "get_weather", "input_schema": {"type": "object"}}]

    asked = await client.messages.create(
        model="claude",
        max_tokens=100,
        tools=tools,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    assert [block.type for block in asked.content] == ["thinking", "text", "tool_use"]
    tool_use = asked.content[2]
    assert tool_use.type == "tool_use" and (tool_use.id, tool_use.input) == ("toolu_w", {"city": "Paris"})
    assert asked.stop_reason == "tool_use"

    async with client.messages.stream(
        model="claude",
        max_tokens=100,
        tools=tools,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    ) as stream:
        streamed = await stream.get_final_message()
    # The same prompt: the usage's input tokens are its estimate, equal too.
    assert streamed.model_dump(exclude={"id"}) == asked.model_dump(exclude={"id"})

    result = await client.messages.create(
        model="claude",
        max_tokens=100,
        tools=tools,
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [tool_use.model_dump()]},  # type: ignore[misc, list-item]
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_w", "content": "sunny"}],
            },
        ],
    )
    assert result.content[0].type == "text" and result.content[0].text == "Sunny in Paris."

    math = anthropic_client(server).messages.create(
        model="claude", max_tokens=100, system="You do math.", messages=[{"role": "user", "content": "2+2"}]
    )
    assert [(b.type, getattr(b, "signature", None)) for b in math.content] == [
        ("thinking", "sig"),
        ("text", None),
    ]
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client(server).messages.create(
            model="claude", max_tokens=100, messages=[{"role": "user", "content": "2+2"}]
        )


def test_sdk_objects_are_served_as_given(live: MockBuilder, server: MockServer) -> None:
    completion, response, embeddings, message = (
        sdk_chat_completion(),
        sdk_response(),
        sdk_embeddings(),
        sdk_message(),
    )
    live.openai_chat().reply(completion)
    live.openai_responses().reply(response)
    live.openai_embeddings().reply(embeddings)
    live.anthropic_messages().reply(message)
    client = openai_client(server)

    served_chat = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert served_chat.model_dump(exclude_unset=True) == completion.model_dump(exclude_unset=True)
    served_response = client.responses.create(model="m", input="x")
    assert served_response.output == response.output
    assert served_response.id == response.id
    served_embeddings = client.embeddings.create(model="m", input="x", encoding_format="float")
    assert served_embeddings == embeddings
    served_message = anthropic_client(server).messages.create(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    assert served_message == message


def test_mocks_added_to_a_followed_builder_answer_the_next_request() -> None:
    m = mock()
    with MockServer(m) as server:
        client = openai_client(server)
        messages: Any = [{"role": "user", "content": "hi"}]
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="m", messages=messages)
        m.openai_chat().when_last_message_contains("hi").reply("first")
        assert (
            client.chat.completions.create(model="m", messages=messages).choices[0].message.content == "first"
        )
        m.reset()
        m.openai_chat().reply("second")
        assert (
            client.chat.completions.create(model="m", messages=messages).choices[0].message.content
            == "second"
        )
        with pytest.raises(ConfigError, match=r"\$\.openai\[1\]\.response\.choices"):
            m.openai_chat().reply({"choices": [1]})
        assert len(m.build().openai) == 1  # the refused mock was rolled back
        assert (
            client.chat.completions.create(model="m", messages=messages).choices[0].message.content
            == "second"
        )
    assert_round_trips(m)
