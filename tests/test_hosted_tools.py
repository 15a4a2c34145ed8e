"""Hosted tools, MCP and server tools: the Responses items and Anthropic blocks of tools the
provider runs itself, served as written and streamed with their own typed events, so the SDKs'
stream helpers rebuild the non-stream answer and strict validation accepts every event."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.beta import BetaMessage, BetaRawMessageStreamEvent
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from mockllm import (
    CodeInterpreter,
    Config,
    ConfigError,
    CustomToolCall,
    FileSearch,
    ImageGeneration,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    MockServer,
    ToolCall,
    WebResult,
    WebSearch,
)
from mockllm.builders import MockBuilder

from .conftest import (
    ServeFn,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    openai_client,
)

IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
CITATION = {
    "type": "web_search_result_location",
    "url": "https://weather.example/paris",
    "title": "Paris weather",
    "cited_text": "Sunny, 21°C",
    "encrypted_index": "Eo8BCioIAhgB",
}
URL_CITATION = {
    "type": "url_citation",
    "url": "https://weather.example/paris",
    "title": "Paris weather",
    "start_index": 0,
    "end_index": 5,
}


def _user(text: str) -> dict[str, Any]:
    return {
        "match_type": "contains",
        "message": {"role": "user", "content": [{"type": "text", "text": text}]},
    }


# Every hosted item kind, as a config writes it (ids left out: the server fills them).
HOSTED_OUTPUT: list[dict[str, Any]] = [
    {"type": "web_search_call", "action": {"type": "search", "query": "weather in Paris"}},
    {
        "type": "file_search_call",
        "queries": ["refund policy"],
        "results": [{"file_id": "file_1", "filename": "policy.md", "score": 0.9, "text": "30 days"}],
    },
    {
        "type": "code_interpreter_call",
        "code": "print(sum(range(10)))",
        "outputs": [{"type": "logs", "logs": "45"}],
    },
    {"type": "image_generation_call", "result": IMAGE, "output_format": "png", "revised_prompt": "a dot"},
    {
        "type": "mcp_list_tools",
        "server_label": "wiki",
        "tools": [{"name": "ask", "input_schema": {"type": "object"}, "description": "Ask the wiki"}],
    },
    {
        "type": "mcp_call",
        "server_label": "wiki",
        "name": "ask",
        "arguments": '{"q": "Grüße 👋"}',
        "output": "42",
    },
    {
        "type": "mcp_call",
        "server_label": "wiki",
        "name": "ask",
        "arguments": "{}",
        "error": {"type": "mcp_protocol_error", "code": -32602, "message": "bad arguments"},
    },
    {"type": "mcp_approval_request", "server_label": "wiki", "name": "delete", "arguments": '{"page": 1}'},
    {"type": "custom_tool_call", "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch"},
    {
        "type": "message",
        "content": [{"type": "output_text", "text": "Sunny today.", "annotations": [URL_CITATION]}],
    },
]

CONFIG = Config.model_validate(
    {
        "openai_response": [
            {"match": {"match_type": "contains", "input": "hosted"}, "response": {"output": HOSTED_OUTPUT}},
        ],
        "anthropic": [
            {
                "match": _user("search"),
                "response": {
                    "content": [
                        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                        {
                            "type": "server_tool_use",
                            "name": "web_search",
                            "input": {"query": "weather in Paris"},
                        },
                        {
                            "type": "web_search_tool_result",
                            "content": [
                                {
                                    "type": "web_search_result",
                                    "url": "https://weather.example/paris",
                                    "title": "Paris weather",
                                    "encrypted_content": "EqgfCioIARgBIiQ3",
                                    "page_age": "1 day ago",
                                }
                            ],
                        },
                        {"type": "text", "text": "It is sunny in Paris.", "citations": [CITATION]},
                    ]
                },
            },
            {
                "match": _user("mcp"),
                "response": {
                    "content": [
                        {
                            "type": "mcp_tool_use",
                            "server_name": "wiki",
                            "name": "ask",
                            "input": {"q": "answer"},
                        },
                        {"type": "mcp_tool_result", "content": [{"type": "text", "text": "42"}]},
                        {"type": "text", "text": "The answer is 42."},
                    ]
                },
            },
        ],
    }
)

OPENAI_EVENT = TypeAdapter(ResponseStreamEvent)
ANTHROPIC_EVENT = TypeAdapter(RawMessageStreamEvent)
BETA_EVENT = TypeAdapter(BetaRawMessageStreamEvent)


@pytest.fixture(scope="module")
def server() -> Any:
    with MockServer(CONFIG) as running:
        yield running


def _without_parsed(value: Any) -> Any:
    """The stream helper returns Parsed* types, which add ``parsed`` fields; the rest must agree."""
    if isinstance(value, dict):
        return {k: _without_parsed(v) for k, v in value.items() if k not in ("parsed", "parsed_arguments")}
    if isinstance(value, list):
        return [_without_parsed(v) for v in value]
    return value


def _sse_data(server: MockServer, path: str, body: dict[str, Any], base: str) -> list[dict[str, Any]]:
    headers = {"Authorization": "Bearer test", "anthropic-version": "2023-06-01"}
    reply = httpx.post(base + path, json={**body, "stream": True}, headers=headers)
    assert reply.status_code == 200
    return [json.loads(line[6:]) for line in reply.text.splitlines() if line.startswith("data: ")]


# --- Responses ---------------------------------------------------------------------------------


def test_responses_hosted_items_pass_strict_validation_with_ids_filled(server: MockServer) -> None:
    strict = openai_client(server, _strict_response_validation=True)
    response = strict.responses.create(model="m", input="hosted")
    assert [item.id for item in response.output] == [
        "ws_mockllm_0_0",
        "fs_mockllm_0_1",
        "ci_mockllm_0_2",
        "ig_mockllm_0_3",
        "mcpl_mockllm_0_4",
        "mcp_mockllm_0_5",
        "mcp_mockllm_0_6",
        "mcpr_mockllm_0_7",
        "ctc_mockllm_0_8",
        "msg_mockllm_0_9",
    ]
    kinds = {item.type: item for item in response.output}
    assert kinds["code_interpreter_call"].container_id == "cntr_mockllm_0"  # type: ignore[union-attr]
    assert kinds["custom_tool_call"].call_id == "call_mockllm_0_8"  # type: ignore[union-attr]
    calls = [item for item in response.output if item.type == "mcp_call"]
    assert [c.status for c in calls] == ["completed", "failed"]  # type: ignore[union-attr]
    assert all(item.status == "completed" for item in response.output[:4])  # type: ignore[union-attr]
    assert response.output_text == "Sunny today."


def test_responses_every_event_is_a_known_sdk_type_in_strict_validation(server: MockServer) -> None:
    events = _sse_data(server, "/responses", {"model": "m", "input": "hosted"}, server.openai_base_url)
    for event in events:
        OPENAI_EVENT.validate_python(event)  # raises on an unknown type or a missing field
    kinds = [event["type"] for event in events]
    for expected in (
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.image_generation_call.generating",
        "response.image_generation_call.partial_image",
        "response.image_generation_call.completed",
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.mcp_call.in_progress",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.output_text.annotation.added",
    ):
        assert expected in kinds, expected
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    # An item's events stay between its added and done events, with its id and output index.
    for index, item in enumerate(events[-1]["response"]["output"]):
        own = [k for k, e in enumerate(events) if e.get("output_index") == index]
        added, done = own[0], own[-1]
        assert events[added]["type"] == "response.output_item.added"
        assert events[done]["type"] == "response.output_item.done" and events[done]["item"] == item
        assert all(events[k].get("item_id", item["id"]) == item["id"] for k in own)
        assert set(range(added, done + 1)) == set(own)


def test_responses_deltas_add_up_to_the_item_fields(server: MockServer) -> None:
    events = _sse_data(server, "/responses", {"model": "m", "input": "hosted"}, server.openai_base_url)
    output = events[-1]["response"]["output"]

    def joined(kind: str, index: int) -> str:
        return "".join(e["delta"] for e in events if e["type"] == kind and e["output_index"] == index)

    assert joined("response.code_interpreter_call_code.delta", 2) == output[2]["code"]
    assert joined("response.mcp_call_arguments.delta", 5) == output[5]["arguments"]
    assert joined("response.custom_tool_call_input.delta", 8) == output[8]["input"]
    added = {e["output_index"]: e["item"] for e in events if e["type"] == "response.output_item.added"}
    assert added[2]["code"] == "" and added[5]["arguments"] == "" and added[8]["input"] == ""
    assert added[0]["status"] == "in_progress" and added[5]["status"] == "in_progress"
    partial = next(e for e in events if e["type"] == "response.image_generation_call.partial_image")
    assert partial["partial_image_b64"] == IMAGE and partial["partial_image_index"] == 0
    failed = [e["output_index"] for e in events if e["type"] == "response.mcp_call.failed"]
    assert failed == [6]


def test_responses_sync_stream_helper_rebuilds_the_response(server: MockServer) -> None:
    client = openai_client(server)
    response = client.responses.create(model="m", input="hosted")
    with client.responses.stream(model="m", input="hosted") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert _without_parsed(final.model_dump()) == response.model_dump()
    raw = list(client.responses.create(model="m", input="hosted", stream=True))
    assert raw[-1].response.model_dump() == response.model_dump()  # type: ignore[union-attr]


async def test_responses_async_stream_helper_rebuilds_the_response(server: MockServer) -> None:
    client = async_openai_client(server)
    response = await client.responses.create(model="m", input="hosted")
    async with client.responses.stream(model="m", input="hosted") as stream:
        classes = {type(event).__name__ async for event in stream}
        final = await stream.get_final_response()
    assert _without_parsed(final.model_dump()) == response.model_dump()
    assert {"ResponseMcpCallArgumentsDeltaEvent", "ResponseWebSearchCallSearchingEvent"} <= classes
    assert len(classes) > 20  # each kind of event parsed as its own type


# --- Anthropic ---------------------------------------------------------------------------------


def test_anthropic_server_tool_blocks_validate_and_stream_with_typed_deltas(server: MockServer) -> None:
    body = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "search"}]}
    message = Message.model_validate(
        httpx.post(
            server.anthropic_base_url + "/v1/messages",
            json=body,
            headers={"Authorization": "Bearer t", "anthropic-version": "2023-06-01"},
        ).json()
    )
    use, result = message.content[1], message.content[2]
    assert use.type == "server_tool_use" and use.id == "srvtoolu_mockllm_0_1"
    assert result.type == "web_search_tool_result" and result.tool_use_id == use.id
    events = _sse_data(server, "/v1/messages", body, server.anthropic_base_url)
    for event in events:
        if event["type"] != "ping":  # the SDK skips pings before parsing
            ANTHROPIC_EVENT.validate_python(event)
    deltas = [e["delta"]["type"] for e in events if e["type"] == "content_block_delta"]
    assert "input_json_delta" in deltas and deltas.count("citations_delta") == 1
    text_start = next(e for e in events if e["type"] == "content_block_start" and e["index"] == 3)
    assert text_start["content_block"] == {"type": "text", "text": "", "citations": []}


def test_anthropic_sync_stream_rebuilds_web_search_citations_and_redacted_thinking(
    server: MockServer,
) -> None:
    client = anthropic_client(server)
    messages: Any = [{"role": "user", "content": "search"}]
    message = client.messages.create(model="m", max_tokens=100, messages=messages)
    with client.messages.stream(model="m", max_tokens=100, messages=messages) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert final.model_dump() == message.model_dump()
    assert "citation" in kinds  # the helper's own event for a citations_delta
    assert [block.type for block in final.content] == [
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "text",
    ]
    assert final.content[1].input == {"query": "weather in Paris"}  # type: ignore[union-attr]
    assert final.content[3].citations[0].cited_text == "Sunny, 21°C"  # type: ignore[union-attr,index]
    # As the real API counts them, for an agent that tracks what its searches cost.
    assert final.usage.server_tool_use is not None
    assert (
        final.usage.server_tool_use.web_search_requests,
        final.usage.server_tool_use.web_fetch_requests,
    ) == (1, 0)
    plain = client.messages.create(model="m", max_tokens=100, messages=[{"role": "user", "content": "mcp"}])
    assert plain.usage.server_tool_use is None


async def test_anthropic_async_stream_rebuilds_server_tool_blocks(server: MockServer) -> None:
    client = async_anthropic_client(server)
    messages: Any = [{"role": "user", "content": "search"}]
    message = await client.messages.create(model="m", max_tokens=100, messages=messages)
    async with client.messages.stream(model="m", max_tokens=100, messages=messages) as stream:
        final = await stream.get_final_message()
    assert final.model_dump() == message.model_dump()
    raw = [
        e
        async for e in await client.messages.create(model="m", max_tokens=100, messages=messages, stream=True)
    ]
    assert [e.type for e in raw][-1] == "message_stop"


def test_anthropic_mcp_blocks_through_the_beta_client(server: MockServer) -> None:
    client = anthropic_client(server)
    messages: Any = [{"role": "user", "content": "mcp"}]
    message = client.beta.messages.create(model="m", max_tokens=100, messages=messages)
    with client.beta.messages.stream(model="m", max_tokens=100, messages=messages) as stream:
        final = stream.get_final_message()
    assert final.model_dump() == message.model_dump()
    use, result = message.content[0], message.content[1]
    assert use.type == "mcp_tool_use" and use.id == "mcptoolu_mockllm_1_0" and use.input == {"q": "answer"}
    assert result.type == "mcp_tool_result" and result.tool_use_id == use.id and result.is_error is False
    BetaMessage.model_validate(message.model_dump())
    body = {"model": "m", "max_tokens": 100, "messages": messages}
    for event in _sse_data(server, "/v1/messages?beta=true", body, server.anthropic_base_url):
        if event["type"] != "ping":
            BETA_EVENT.validate_python(event)


async def test_anthropic_mcp_blocks_through_the_async_beta_client(server: MockServer) -> None:
    client = async_anthropic_client(server)
    messages: Any = [{"role": "user", "content": "mcp"}]
    message = await client.beta.messages.create(model="m", max_tokens=100, messages=messages)
    async with client.beta.messages.stream(model="m", max_tokens=100, messages=messages) as stream:
        final = await stream.get_final_message()
    assert final.model_dump() == message.model_dump()
    assert final.content[0].input == {"q": "answer"}  # type: ignore[union-attr]


# --- config errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "response", "path"),
    [
        ("openai_response", {"output": [{"type": "code_interpreter_call", "code": 1}]}, "output[0].code"),
        ("openai_response", {"output": [{"type": "custom_tool_call", "input": {}}]}, "output[0].input"),
        ("openai_response", {"output": [{"type": "image_generation_call", "result": 5}]}, "output[0].result"),
        ("anthropic", {"content": [{"type": "server_tool_use", "input": "q"}]}, "content[0].input"),
        ("anthropic", {"content": [{"type": "text", "text": "x", "citations": {}}]}, "content[0].citations"),
    ],
)
def test_a_streamed_field_of_the_wrong_type_is_a_config_error_naming_it(
    api: str, response: dict[str, Any], path: str
) -> None:
    match = {"match_type": "contains", "input": "x"} if api == "openai_response" else _user("x")
    with pytest.raises(ConfigError) as caught:
        MockServer(Config.from_dict({api: [{"match": match, "response": response}]}))
    assert f"response.{path}" in str(caught.value)


# --- builders -------------------------------------------------------------------------------------


def test_responses_builder_verbs_one_line_per_agent_step(serve: ServeFn) -> None:
    m = MockBuilder()
    r = m.openai_responses()
    r.when_user_input_contains("weather").reply_web_search(
        "weather in Paris", sources=["https://weather.example/paris"], then_text="Sunny."
    )
    r.when_user_input_contains("wiki").reply_mcp_call(
        "wiki", "ask", {"q": "answer"}, output="42", tools=[{"name": "ask"}], then_text="It is 42."
    )
    r.when_user_input_contains("broken").reply_mcp_call("wiki", "ask", error="timeout")
    r.when_user_input_contains("delete").reply_mcp_approval_request(
        "wiki", "delete", {"page": 1}, id="mcpr_1"
    )
    r.when_history_has_tool_results("mcpr_1").reply("Deleted.")
    r.when_user_input_contains("everything").reply_items(
        FileSearch(["policy"], [{"file_id": "f", "text": "30 days"}]),
        CodeInterpreter("print(1)", "1"),
        ImageGeneration(IMAGE, "a dot"),
        McpListTools("wiki", [{"name": "ask", "description": "Ask"}]),
        McpCall("wiki", "ask", '{"q": 1}', output="one", approval_request_id="mcpr_1"),
        McpApprovalRequest("wiki", "delete"),
        CustomToolCall("apply_patch", "*** Begin Patch", id="call_patch"),
        WebSearch("q"),
        ToolCall("get_time", {"tz": "UTC"}, id="call_time"),
        {"type": "web_search_call", "action": {"type": "search", "query": "raw"}},
        then_text="Done.",
        reasoning="Many tools.",
    )
    server = serve(m.build())
    strict = openai_client(server, _strict_response_validation=True)

    searched = strict.responses.create(model="m", input="weather?")
    assert [i.type for i in searched.output] == ["web_search_call", "message"]
    assert searched.output[0].action.sources[0].url == "https://weather.example/paris"  # type: ignore[union-attr]
    assert searched.output_text == "Sunny."

    wiki = strict.responses.create(model="m", input="ask the wiki")
    tools, call = wiki.output[0], wiki.output[1]
    assert tools.type == "mcp_list_tools" and tools.tools[0].input_schema == {
        "type": "object",
        "properties": {},
    }
    assert call.type == "mcp_call" and call.output == "42" and json.loads(call.arguments) == {"q": "answer"}
    assert call.status == "completed" and wiki.output_text == "It is 42."

    broken = strict.responses.create(model="m", input="broken tool").output[0]
    assert broken.type == "mcp_call" and broken.status == "failed"
    assert broken.error.type == "mcp_tool_execution_error"  # type: ignore[union-attr]

    request = strict.responses.create(model="m", input="delete page 1").output[0]
    assert request.type == "mcp_approval_request" and request.id == "mcpr_1"
    approved = strict.responses.create(
        model="m",
        input=[
            {"role": "user", "content": "delete page 1"},
            {
                "type": "mcp_approval_request",
                "id": "mcpr_1",
                "server_label": "wiki",
                "name": "delete",
                "arguments": "{}",
            },
            {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
        ],
    )
    assert approved.output_text == "Deleted."

    everything = strict.responses.create(model="m", input="everything")
    assert [i.type for i in everything.output] == [
        "reasoning",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_list_tools",
        "mcp_call",
        "mcp_approval_request",
        "custom_tool_call",
        "web_search_call",
        "function_call",
        "web_search_call",
        "message",
    ]
    assert everything.output[7].call_id == "call_patch"  # type: ignore[union-attr]
    with strict.responses.stream(model="m", input="everything") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert _without_parsed(final.model_dump()) == everything.model_dump()


def test_anthropic_builder_verbs_one_line_per_agent_step(serve: ServeFn) -> None:
    m = MockBuilder()
    a = m.anthropic_messages()
    a.when_last_message_contains("weather").reply_web_search(
        "weather in Paris",
        results=[WebResult("https://weather.example/paris", "Paris weather", page_age="1 day ago")],
        then_text="Sunny, 21°C.",
        citations=[CITATION],
        id="srvtoolu_1",
    )
    a.when_last_message_contains("wiki").reply_mcp_tool_use(
        "wiki", "ask", {"q": "answer"}, result="42", then_text="42."
    )
    a.when_last_message_contains("secret").reply("Done.", redacted_thinking="EmwKAhgB", citations=[CITATION])
    a.when_history_has_tool_results("srvtoolu_1").reply("Seen the search.")
    server = serve(m.build())
    client = anthropic_client(server)

    messages: Any = [{"role": "user", "content": "weather?"}]
    message = client.messages.create(model="m", max_tokens=100, messages=messages)
    assert [b.type for b in message.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert message.content[1].tool_use_id == "srvtoolu_1"  # type: ignore[union-attr]
    assert message.content[1].content[0].page_age == "1 day ago"  # type: ignore[union-attr,index]
    assert message.content[2].citations[0].url == CITATION["url"]  # type: ignore[union-attr,index]
    with client.messages.stream(model="m", max_tokens=100, messages=messages) as stream:
        assert stream.get_final_message().model_dump() == message.model_dump()

    mcp = client.beta.messages.create(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "wiki"}]
    )
    assert [b.type for b in mcp.content] == ["mcp_tool_use", "mcp_tool_result", "text"]
    assert mcp.content[1].tool_use_id == mcp.content[0].id  # type: ignore[union-attr]

    secret = client.messages.create(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "secret"}]
    )
    assert [b.type for b in secret.content] == ["redacted_thinking", "text"]

    # The search replayed in the history is a tool result the next mock keys on.
    history: Any = [*messages, {"role": "assistant", "content": message.model_dump()["content"]}]
    history.append({"role": "user", "content": "and?"})
    assert (
        client.messages.create(model="m", max_tokens=100, messages=history).content[0].text
        == "Seen the search."
    )  # type: ignore[union-attr]


def test_builder_verbs_refuse_what_cannot_be_an_answer() -> None:
    from mockllm import BuilderError

    m = MockBuilder()
    with pytest.raises(BuilderError, match="output= or error="):
        m.openai_responses().reply_mcp_call("s", "t", output="x", error="y")
    with pytest.raises(BuilderError, match="at least one output item"):
        m.openai_responses().reply_items()
    with pytest.raises(BuilderError, match="takes output items"):
        m.openai_responses().reply_items("web search")  # type: ignore[arg-type]
    with pytest.raises(BuilderError, match="citations= needs then_text="):
        m.anthropic_messages().reply_web_search("q", citations=[CITATION])
    with pytest.raises(BuilderError, match="needs the error text"):
        m.anthropic_messages().reply_mcp_tool_use("s", "t", is_error=True)
    with pytest.raises(BuilderError, match="WebResult"):
        m.anthropic_messages().reply_web_search("q", results=[{"url": "u"}])  # type: ignore[list-item]


# --- matching on the answers to hosted and MCP items ----------------------------------------------


def test_matching_keys_on_mcp_approval_and_custom_tool_outputs(serve: ServeFn) -> None:
    m = MockBuilder()
    r = m.openai_responses()
    r.when_input_item("mcp_approval_response").when_input_contains('"approve":false').reply("Not deleted.")
    r.when_input_item("mcp_approval_response").reply("Deleted.")
    r.when_input_item("custom_tool_call_output").when_history_has_tool_results("call_patch").reply("Patched.")
    r.when_turn(2).reply("Second turn.")
    server = serve(m.build())
    client = openai_client(server)

    def approval(approve: bool) -> Any:
        return [
            {"role": "user", "content": "delete"},
            {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "wiki", "tools": []},
            {
                "type": "mcp_approval_request",
                "id": "mcpr_1",
                "server_label": "wiki",
                "name": "d",
                "arguments": "{}",
            },
            {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": approve},
        ]

    assert client.responses.create(model="m", input=approval(False)).output_text == "Not deleted."
    assert client.responses.create(model="m", input=approval(True)).output_text == "Deleted."
    patched = [
        {"role": "user", "content": "patch it"},
        {"type": "custom_tool_call", "call_id": "call_patch", "name": "apply_patch", "input": "x"},
        {"type": "custom_tool_call_output", "call_id": "call_patch", "output": "ok"},
    ]
    assert client.responses.create(model="m", input=patched).output_text == "Patched."
    # Hosted and MCP items the model produced count as its turns; the answers to them do not.
    turns = [
        {"role": "user", "content": "go"},
        {
            "type": "web_search_call",
            "id": "ws_1",
            "status": "completed",
            "action": {"type": "search", "query": "q"},
        },
        {"type": "mcp_call", "id": "mcp_1", "server_label": "wiki", "name": "ask", "arguments": "{}"},
        {"role": "user", "content": "again"},
        {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": None},
        {"role": "user", "content": "and now?"},
    ]
    assert client.responses.create(model="m", input=turns).output_text == "Second turn."
