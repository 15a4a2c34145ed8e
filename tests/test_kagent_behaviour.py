"""The behaviours kagent mockllm's own tests pin down (its tests 1-20 and the extra cases), each
checked here over real HTTP; where DESIGN §4 defines a better rule, the test says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from mockllm import Config, MockServer, load_config

from .conftest import (
    TESTDATA,
    ServeFn,
    anthropic_client,
    async_openai_client,
    conformance_data,
    openai_client,
)

FIXTURES = conformance_data("kagent-mockllm-testdata")


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def chat_mock(match_type: str, message: dict[str, Any], response: str, **extra: Any) -> dict[str, Any]:
    return {"match": {"match_type": match_type, "message": message, **extra}, "response": fixture(response)}


def anthropic_mock(text: str, response: dict[str, Any], **extra: Any) -> dict[str, Any]:
    message = {"role": "user", "content": [{"type": "text", "text": text}]}
    return {"match": {"match_type": "contains", "message": message, **extra}, "response": response}


# 1, 2 ---------------------------------------------------------------------------------------------


def test_simple_anthropic_mock_raw_http_and_health(serve: ServeFn) -> None:
    config = Config.model_validate({"anthropic": [anthropic_mock("Hello", fixture("anthropic_mock.json"))]})
    server = serve(config)
    body = {
        "model": "c",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello there"}]}],
    }
    reply = httpx.post(
        server.url + "/v1/messages", json=body, headers={"x-api-key": "k", "anthropic-version": "2023-06-01"}
    )
    assert reply.status_code == 200
    assert (reply.json()["id"], reply.json()["type"]) == ("msg_123", "message")
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "healthy" and health["service"] == "mock-llm"
    assert {"openai", "openai_response", "openai_embeddings", "anthropic"} <= health.keys()
    assert health["anthropic"] == 1


# 3 ------------------------------------------------------------------------------------------------


def test_load_config_example() -> None:
    config = load_config(TESTDATA / "kagent_example_config.json")
    assert config.listen_addr == "127.0.0.1:0"
    assert [m.name for m in config.openai] == ["hello"]


# 4 ------------------------------------------------------------------------------------------------


def test_chat_exact_and_streamed_tool_call(serve: ServeFn) -> None:
    config = Config.model_validate(
        {
            "openai": [
                chat_mock("exact", {"role": "user", "content": "Hello"}, "openai_mock.json"),
                chat_mock(
                    "contains", {"role": "user", "content": "What is 2+2?"}, "openai_function_mock.json"
                ),
            ]
        }
    )
    client = openai_client(serve(config))
    completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hello"}])
    assert (completion.id, completion.object) == ("chatcmpl-123", "chat.completion")
    assert completion.choices[0].message.content == "Hello! How can I help you today?"

    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Please: What is 2+2?"}], stream=True
    )
    named = [
        call
        for chunk in stream
        for choice in chunk.choices
        for call in choice.delta.tool_calls or []
        if call.function and call.function.name
    ]
    assert len(named) == 1 and named[0].function.name == "calculate"  # type: ignore[union-attr]
    with client.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": "Please: What is 2+2?"}]
    ) as helper:
        final = helper.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.arguments == '{"expression": "2+2"}'  # type: ignore[index,union-attr]


# 5, 6 ---------------------------------------------------------------------------------------------


def test_responses_contains_and_tool_round_trip(serve: ServeFn) -> None:
    config = Config.model_validate(
        {
            "openai": [chat_mock("exact", {"role": "user", "content": "Hello"}, "openai_mock.json")],
            "openai_response": [
                {
                    "match": {"match_type": "contains", "input": "Calculate 2+2"},
                    "response": fixture("openai_response_function_mock.json"),
                },
                {
                    "match": {"match_type": "contains", "input": "Write me a haiku about Kagent"},
                    "response": fixture("openai_response_mock.json"),
                },
                {
                    "match": {"match_type": "contains", "input": "call_func_123"},
                    "response": fixture("openai_response_mock.json"),
                },
            ],
        }
    )
    client = openai_client(serve(config))
    haiku = client.responses.create(model="m", input="Write me a haiku about Kagent")
    assert haiku.id == "resp_123" and "Kagent finds its mind" in haiku.output_text
    call = client.responses.create(model="m", input="Calculate 2+2")
    assert [item.type for item in call.output] == ["function_call"]
    follow_up: Any = [
        {"role": "user", "content": "Calculate 2+2"},
        {"type": "function_call", "call_id": "call_func_123", "name": "calculate", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_func_123", "output": "4"},
    ]
    assert client.responses.create(model="m", input=follow_up).id == "resp_123"
    # 6: a string mock matches a list input through its last item, on the same server as chat.
    as_list: Any = [{"role": "user", "content": "Write me a haiku about Kagent"}]
    assert client.responses.create(model="m", input=as_list).id == "resp_123"
    assert (
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hello"}]).id
        == "chatcmpl-123"
    )


# 7 ------------------------------------------------------------------------------------------------


async def test_embeddings_dimensions_and_list_input(serve: ServeFn) -> None:
    vector = [i / 1000 for i in range(768)]
    response = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": vector},
            {"object": "embedding", "index": 1, "embedding": vector},
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 16, "total_tokens": 16},
    }
    config = Config.model_validate(
        {
            "openai_embeddings": [
                {"match": {"match_type": "contains", "input": "Hello world"}, "response": response}
            ]
        }
    )
    client = async_openai_client(serve(config))
    one = await client.embeddings.create(model="m", input="Hello world")
    assert (
        one.model == "text-embedding-3-small" and one.data[0].index == 0 and len(one.data[0].embedding) == 768
    )
    # The string mock matches inside a list input (first mock wins); truncation follows the request.
    two = await client.embeddings.create(model="m", input=["Hello world", "Test embeddings"], dimensions=512)
    assert [d.index for d in two.data] == [0, 1]
    assert [len(d.embedding) for d in two.data] == [512, 512]
    assert two.data[1].embedding == pytest.approx(vector[:512], rel=1e-6)


# 8, 9 ---------------------------------------------------------------------------------------------


def test_header_matching(serve: ServeFn) -> None:
    def tenant(name: str) -> dict[str, Any]:
        response = {**fixture("anthropic_mock.json"), "id": f"msg_tenant_{name}"}
        header = {"name": "X-Tenant-ID", "value": f"tenant-{name}", "match_type": "exact"}
        return anthropic_mock("Hello", response, headers=[header])

    bearer = {"name": "Authorization", "value": "Bearer", "match_type": "contains"}
    config = Config.model_validate(
        {
            "anthropic": [
                tenant("a"),
                tenant("b"),
                anthropic_mock("Bearer check", fixture("anthropic_mock.json"), headers=[bearer]),
            ]
        }
    )
    server = serve(config)
    client = anthropic_client(server)
    messages: Any = [{"role": "user", "content": "Hello"}]
    for name in ("a", "b"):
        reply = client.messages.create(
            model="c", max_tokens=5, messages=messages, extra_headers={"x-tenant-id": f"tenant-{name}"}
        )
        assert reply.id == f"msg_tenant_{name}"
    with pytest.raises(Exception, match="404"):
        client.messages.create(
            model="c", max_tokens=5, messages=messages, extra_headers={"X-Tenant-ID": "tenant-c"}
        )
    # 9: "contains Bearer" holds for the SDK's bearer token, and fails when only x-api-key is sent.
    check: Any = [{"role": "user", "content": "Bearer check"}]
    assert client.messages.create(model="c", max_tokens=5, messages=check).id == "msg_123"
    body = {"model": "c", "max_tokens": 5, "messages": check}
    reply = httpx.post(
        server.url + "/v1/messages", json=body, headers={"x-api-key": "k", "anthropic-version": "1"}
    )
    assert reply.status_code == 404
    assert "header Authorization is absent" in reply.json()["error"]["message"]


# 10, 11, 12 -----------------------------------------------------------------------------------------


def test_anthropic_tool_result_and_request_constraints(serve: ServeFn) -> None:
    base = fixture("anthropic_mock.json")
    result_mock = {
        "match": {
            "match_type": "contains",
            "message": {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}],
            },
        },
        "response": {**base, "id": "msg_result"},
    }
    exact_string_result = {
        "match": {
            "match_type": "exact",
            "message": {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "tool output"}],
            },
        },
        "response": {**base, "id": "msg_exact_result"},
    }
    constrained = anthropic_mock(
        "compute",
        {**base, "id": "msg_constrained"},
        system_contains=["arithmetic skill", "call tools"],
        tool_names=["mcp__calculator__add_numbers", "Read"],
    )
    server = serve(Config.model_validate({"anthropic": [result_mock, exact_string_result, constrained]}))
    client = anthropic_client(server)

    # 11: a contains tool_result matches on tool_use_id alone, whatever its content or is_error.
    other_content: Any = [
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "else", "is_error": True}
            ],
        }
    ]
    assert client.messages.create(model="c", max_tokens=5, messages=other_content).id == "msg_result"
    as_assistant: Any = [{"role": "assistant", "content": other_content[0]["content"]}]
    with pytest.raises(Exception, match="404"):
        client.messages.create(model="c", max_tokens=5, messages=as_assistant)

    # 10: a string tool_result content equals the same text as one text block.
    as_blocks: Any = [
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "tool output"}],
                }
            ],
        }
    ]
    assert client.messages.create(model="c", max_tokens=5, messages=as_blocks).id == "msg_exact_result"

    # 12: every system string and every tool name must be present.
    system: Any = [
        {"type": "text", "text": "You have the arithmetic skill."},
        {"type": "text", "text": "Always call tools."},
    ]
    tools: Any = [
        {"name": "mcp__calculator__add_numbers", "input_schema": {"type": "object"}},
        {"name": "Read", "input_schema": {"type": "object"}},
    ]
    messages: Any = [{"role": "user", "content": "compute 1+1"}]
    reply = client.messages.create(model="c", max_tokens=5, system=system, tools=tools, messages=messages)
    assert reply.id == "msg_constrained"
    with pytest.raises(Exception, match="system_contains"):
        client.messages.create(model="c", max_tokens=5, system=system[:1], tools=tools, messages=messages)
    with pytest.raises(Exception, match="tool_names"):
        client.messages.create(model="c", max_tokens=5, system=system, tools=tools[:1], messages=messages)


# 13 -----------------------------------------------------------------------------------------------


def test_anthropic_stream_decodes_with_sdk(serve: ServeFn) -> None:
    response = {
        "id": "msg_stream",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "text", "text": "working"},
            {"type": "tool_use", "id": "toolu_9", "name": "bash", "input": {"command": "pwd"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    client = anthropic_client(serve(Config.model_validate({"anthropic": [anthropic_mock("go", response)]})))
    with client.messages.stream(
        model="c", max_tokens=5, messages=[{"role": "user", "content": "go"}]
    ) as stream:
        final = stream.get_final_message()
    assert (final.id, final.stop_reason, len(final.content)) == ("msg_stream", "tool_use", 2)
    assert final.content[0].text == "working"  # type: ignore[union-attr]
    assert final.content[1].input == {"command": "pwd"}  # type: ignore[union-attr]


# 14-20: Responses stream lifecycle ------------------------------------------------------------------


def _events(server: MockServer, input_text: str) -> list[dict[str, Any]]:
    reply = httpx.post(
        server.openai_base_url + "/responses",
        json={"model": "m", "input": input_text, "stream": True},
        headers={"authorization": "Bearer k"},
    )
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    assert b"event: response.created\ndata: {" in reply.content
    events = []
    for frame in reply.content.decode().split("\n\n")[:-1]:
        name, data = frame.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        assert event["sequence_number"] == len(events)
        events.append(event)
    return events


def test_responses_stream_lifecycles(serve: ServeFn) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hello, 世界 👋"}],
    }
    call = {
        "id": "fc_1",
        "type": "function_call",
        "call_id": "call_1",
        "name": "calculate",
        "namespace": "mcp__tools",
        "arguments": '{"a":1}',
    }
    search = {
        "id": "ts_1",
        "type": "tool_search_call",
        "call_id": "c",
        "execution": "client",
        "arguments": {"query": "q"},
    }
    multi = {
        "id": "msg_2",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "a"}, {"type": "output_text", "text": "b"}],
    }
    empty = {
        "id": "msg_3",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": ""}],
    }
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "hmm"}]}

    def mock(text: str, *output: dict[str, Any]) -> dict[str, Any]:
        return {
            "match": {"match_type": "exact", "input": text},
            "response": {"id": f"resp_{text}", "output": list(output)},
        }

    config = Config.model_validate(
        {
            "openai_response": [
                mock("message", message),
                mock("call", call),
                mock("search", search),
                mock("multi", multi, call, message),
                mock("empty", empty),
                mock("reasoning", reasoning),
            ]
        }
    )
    server = serve(config)
    kinds = [e["type"] for e in _events(server, "message")]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * (len(kinds) - 8),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    events = _events(server, "message")
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    assert events[2]["item"]["status"] == "in_progress" and events[2]["item"]["content"] == []
    assert (events[3]["item_id"], events[3]["output_index"], events[3]["content_index"]) == ("msg_1", 0, 0)
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert (
        deltas
        == "Hello, 世界 👋"
        == next(e["text"] for e in events if e["type"] == "response.output_text.done")
    )
    assert (
        events[-1]["response"]["status"] == "completed"
        and events[-1]["response"]["output"][0]["id"] == "msg_1"
    )

    events = _events(server, "call")  # 15
    added = events[2]["item"]
    assert (added["arguments"], added["name"], added["namespace"]) == ("", "calculate", "mcp__tools")
    delta = next(e for e in events if e["type"] == "response.function_call_arguments.delta")
    assert "arguments" not in delta
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert (done["arguments"], done["name"]) == ('{"a":1}', "calculate")
    assert not any("function_call_output" in e["type"] for e in events)

    events = _events(server, "search")  # 16: other items arrive whole (kagent sends only the done event)
    assert [e["type"] for e in events][2:4] == ["response.output_item.added", "response.output_item.done"]
    assert events[3]["item"]["execution"] == "client" and events[3]["item"]["arguments"] == {"query": "q"}

    events = _events(server, "empty")  # 17
    done_text = next(e for e in events if e["type"] == "response.output_text.done")
    assert done_text["text"] == ""

    events = _events(server, "multi")  # 18
    coordinates = [
        (e["output_index"], e["content_index"]) for e in events if e["type"] == "response.output_text.delta"
    ]
    assert sorted(set(coordinates)) == [(0, 0), (0, 1), (2, 0)]

    # 20: kagent refuses to stream reasoning items; we stream their summaries.
    kinds = [e["type"] for e in _events(server, "reasoning")]
    assert "response.reasoning_summary_text.delta" in kinds


# extra cases ----------------------------------------------------------------------------------------


def test_missing_body_match_type_is_a_load_error(tmp_path: Path) -> None:
    """kagent silently never matches such a mock; we refuse the config and name the fix."""
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps({"openai": [{"name": "x", "match": {"message": {"role": "user"}}, "response": {}}]})
    )
    with pytest.raises(
        ValueError, match=r"c\.json: \$\.openai\[0\]\.match\.match_type: .*\"contains\" or \"regex\""
    ):
        load_config(path)


def test_chat_contains_multipart_and_tool_call_id(serve: ServeFn) -> None:
    """kagent: contains never matches part-list content and ignores tool_call_id; DESIGN §4: text
    parts are joined, and a tool_call_id in the mock must be equal."""
    config = Config.model_validate(
        {
            "openai": [
                chat_mock(
                    "contains", {"role": "tool", "tool_call_id": "call_1", "content": "8"}, "openai_mock.json"
                ),
                chat_mock("contains", {"role": "user", "content": "2+2"}, "openai_function_mock.json"),
            ]
        }
    )
    client = openai_client(serve(config))
    parts: Any = [
        {"role": "user", "content": [{"type": "text", "text": "What is"}, {"type": "text", "text": "2+2?"}]}
    ]
    assert client.chat.completions.create(model="m", messages=parts).id == "chatcmpl-calc"
    tool: Any = [{"role": "tool", "tool_call_id": "call_1", "content": "18"}]
    assert client.chat.completions.create(model="m", messages=tool).id == "chatcmpl-123"
    with pytest.raises(openai.NotFoundError, match="tool_call_id"):
        client.chat.completions.create(model="m", messages=[{**tool[0], "tool_call_id": "call_2"}])


def test_responses_list_contains_is_a_tail(serve: ServeFn) -> None:
    """kagent: a list under contains acts as equality; DESIGN §4: it must equal the input's tail."""
    tail = [{"type": "function_call_output", "call_id": "c1", "output": "4"}]
    config = Config.model_validate(
        {
            "openai_response": [
                {
                    "match": {"match_type": "contains", "input": tail},
                    "response": fixture("openai_response_mock.json"),
                }
            ]
        }
    )
    client = openai_client(serve(config))
    longer: Any = [{"role": "user", "content": "hi"}, *tail]
    assert client.responses.create(model="m", input=longer).id == "resp_123"
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="m", input=[*longer, {"role": "user", "content": "more"}])  # type: ignore[list-item]
