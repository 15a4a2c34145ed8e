"""The SDKs' own stream helpers reassemble exactly the non-stream answer, for every API."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import pytest

from mockllm import Config, MockServer

from .conftest import (
    ServeFn,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    openai_client,
)

UNICODE = "Grüße 👋🏽 from 東京 — naïve café, emoji 👨‍👩‍👧 and ∑ math. " * 20
ARGS = {"city": "Zürich 🇨🇭", "days": [1, 2, 3], "nested": {"ok": True, "note": "日本語"}}

CONFIG = Config.model_validate(
    {
        "openai": [
            {
                "name": "text",
                "match": {"match_type": "contains", "message": {"role": "user", "content": "text"}},
                "response": {
                    "model": "gpt-mock",
                    "system_fingerprint": "fp_1",
                    "choices": [{"message": {"role": "assistant", "content": UNICODE}}],
                },
            },
            {
                "name": "tools",
                "match": {"match_type": "contains", "message": {"role": "user", "content": "tools"}},
                "response": {
                    "model": "gpt-mock",
                    "choices": [
                        {
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {"function": {"name": "weather", "arguments": json.dumps(ARGS)}},
                                    {"id": "call_b", "function": {"name": "time", "arguments": "{}"}},
                                ],
                            }
                        }
                    ],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33},
                },
            },
        ],
        "openai_response": [
            {
                "name": "mixed",
                "match": {"match_type": "contains", "input": "mixed"},
                "response": {
                    "model": "gpt-mock",
                    "output": [
                        {
                            "type": "reasoning",
                            "summary": [{"type": "summary_text", "text": "Think 🤔 first."}],
                        },
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [
                                {"type": "output_text", "text": UNICODE},
                                {"type": "output_text", "text": ""},
                            ],
                        },
                        {"type": "function_call", "name": "weather", "arguments": json.dumps(ARGS)},
                        {"type": "function_call", "name": "time", "call_id": "call_t", "arguments": "{}"},
                    ],
                },
            }
        ],
        "anthropic": [
            {
                "name": "blocks",
                "match": {"match_type": "contains", "message": {"role": "user", "content": "blocks"}},
                "response": {
                    "model": "claude-mock",
                    "content": [
                        {"type": "thinking", "thinking": "Let me see… 🤔", "signature": "sig-1"},
                        {"type": "text", "text": UNICODE},
                        {"type": "tool_use", "name": "weather", "input": ARGS},
                        {"type": "tool_use", "id": "toolu_x", "name": "noargs", "input": {}},
                    ],
                    "usage": {"input_tokens": 7, "output_tokens": 70, "cache_read_input_tokens": 3},
                },
            }
        ],
    }
)


@pytest.fixture(scope="module")
def server() -> Any:
    with MockServer(CONFIG) as running:
        yield running


@pytest.mark.parametrize("prompt", ["text", "tools"])
def test_chat_stream_helper_reassembles_the_completion(server: MockServer, prompt: str) -> None:
    client = openai_client(server)
    messages: Any = [{"role": "user", "content": prompt}]
    completion = client.chat.completions.create(model="m", messages=messages)
    with client.chat.completions.stream(
        model="m", messages=messages, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    want, got = completion.choices[0], final.choices[0]
    assert (final.id, final.model, final.created, final.usage) == (
        completion.id,
        completion.model,
        completion.created,
        completion.usage,
    )
    assert final.system_fingerprint == completion.system_fingerprint
    assert got.finish_reason == want.finish_reason
    assert got.message.content == want.message.content
    assert got.message.role == want.message.role
    want_calls = [c.model_dump() for c in want.message.tool_calls or []]
    got_calls = [c.model_dump(exclude={"index"}) for c in got.message.tool_calls or []]
    for call in got_calls:
        call["function"].pop("parsed_arguments", None)
    assert got_calls == want_calls


def test_chat_tool_calls_get_ids_and_finish_reason(server: MockServer) -> None:
    completion = openai_client(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "tools"}]
    )
    calls = completion.choices[0].message.tool_calls or []
    assert [c.id for c in calls] == ["call_mockllm_1_0", "call_b"]
    assert json.loads(calls[0].function.arguments) == ARGS  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"


def test_chat_usage_chunk_only_when_asked(server: MockServer) -> None:
    client = openai_client(server)
    chunks = list(
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "text"}], stream=True)
    )
    assert all(chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == UNICODE
    assert len(chunks) > 50  # streamed in token-sized pieces, not in one delta


async def test_responses_stream_helper_reassembles_the_response(server: MockServer) -> None:
    client = async_openai_client(server)
    response = await client.responses.create(model="m", input="mixed")
    async with client.responses.stream(model="m", input="mixed") as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert _without_parsed(final.model_dump()) == response.model_dump()
    assert final.output_text == response.output_text == UNICODE
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds
    assert "response.function_call_arguments.delta" in kinds
    calls = [item for item in response.output if item.type == "function_call"]
    assert [json.loads(c.arguments) for c in calls] == [ARGS, {}]  # type: ignore[union-attr]
    assert [c.call_id for c in calls] == ["call_mockllm_0_2", "call_t"]  # type: ignore[union-attr]


def _without_parsed(value: Any) -> Any:
    """The stream helper returns Parsed* types, which add ``parsed`` fields; the rest must agree."""
    if isinstance(value, dict):
        return {
            k: _without_parsed(v)
            for k, v in value.items()
            if k not in ("parsed", "output_parsed", "parsed_arguments")
        }
    if isinstance(value, list):
        return [_without_parsed(v) for v in value]
    return value


def test_responses_sync_stream_events_carry_sequence_numbers(server: MockServer) -> None:
    client = openai_client(server)
    events = list(client.responses.create(model="m", input="mixed", stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert len({e.response.id for e in events if hasattr(e, "response")}) == 1


async def test_anthropic_stream_helper_reassembles_the_message(server: MockServer) -> None:
    client = async_anthropic_client(server)
    messages: Any = [{"role": "user", "content": "blocks"}]
    message = await client.messages.create(model="m", max_tokens=100, messages=messages)
    async with client.messages.stream(model="m", max_tokens=100, messages=messages) as stream:
        final = await stream.get_final_message()
    assert final.model_dump() == message.model_dump()
    assert message.stop_reason == "tool_use"
    assert message.content[2].input == ARGS  # type: ignore[union-attr]
    assert message.usage.cache_read_input_tokens == 3


def test_anthropic_sync_stream_text(server: MockServer) -> None:
    with anthropic_client(server).messages.stream(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "blocks"}]
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == UNICODE


def test_sse_framing_on_the_wire(server: MockServer) -> None:
    body = {
        "model": "m",
        "max_tokens": 5,
        "stream": True,
        "messages": [{"role": "user", "content": "blocks"}],
    }
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    reply = httpx.post(server.url + "/v1/messages", json=body, headers=headers)
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = reply.content.split(b"\n\n")
    assert events[-1] == b""  # the last event ends with a blank line too
    assert all(e.startswith(b"event: ") for e in events[:-1])
    # UTF-8 is never cut inside a character: every event decodes on its own.
    for event in events:
        event.decode("utf-8")


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the fixture's odd "instructions": {}
def test_streaming_kagent_response_fixture_without_ids(serve: ServeFn) -> None:
    """kagent's own Responses fixture has a message without an id; kagent refuses to stream it,
    we fill the id in and stream it."""
    response = {
        "id": "resp_123",
        "object": "response",
        "created_at": 1677652288.0,
        "model": "gpt-4",
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Agents wake"}],
            }
        ],
        "error": {},
        "incomplete_details": {},
        "instructions": {},
        "metadata": {},
        "parallel_tool_calls": False,
        "temperature": 1.0,
        "tools": [],
    }
    config = Config.model_validate(
        {"openai_response": [{"match": {"match_type": "contains", "input": "haiku"}, "response": response}]}
    )
    client = openai_client(serve(config))
    with client.responses.stream(model="m", input="a haiku please") as stream:
        final = stream.get_final_response()
    assert final.id == "resp_123"
    assert final.output_text == "Agents wake"
