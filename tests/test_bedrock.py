"""Bedrock through its official clients: boto3's ``bedrock-runtime`` (Converse and ConverseStream,
a tool loop, reasoning, errors botocore raises and retries as against AWS, stream faults) and
``anthropic.AnthropicBedrock`` (the ``anthropic`` mocks on InvokeModel's routes, plain and
streamed). Every event-stream frame the server writes is read by botocore's own parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import botocore.exceptions
import httpx2 as httpx
import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from mockllm import Chaos, Config, MockServer, RecordedRequest, Recording, mock
from mockllm.builders import MockBuilder, ToolCall

from .conftest import anthropic_bedrock_client, bedrock_runtime

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def last(server: MockServer) -> RecordedRequest:
    return list(server.journal)[-1]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def converse_stream(client: Any, messages: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """The answer ``converse_stream``'s events spell, put together as a client does."""
    blocks: dict[int, dict[str, Any]] = {}
    inputs: dict[int, str] = {}
    answer: dict[str, Any] = {}
    for event in client.converse_stream(modelId=MODEL, messages=messages, **kwargs)["stream"]:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            blocks[start["contentBlockIndex"]] = {"toolUse": dict(start["start"]["toolUse"])}
        elif "contentBlockDelta" in event:
            delta, index = (
                event["contentBlockDelta"]["delta"],
                event["contentBlockDelta"]["contentBlockIndex"],
            )
            if "text" in delta:
                blocks.setdefault(index, {"text": ""})["text"] += delta["text"]
            elif "toolUse" in delta:
                inputs[index] = inputs.get(index, "") + delta["toolUse"]["input"]
            elif "reasoningContent" in delta:
                text = blocks.setdefault(index, {"reasoningContent": {"reasoningText": {"text": ""}}})
                part, held = delta["reasoningContent"], text["reasoningContent"]["reasoningText"]
                held["text"] += part.get("text", "")
                if "signature" in part:
                    held["signature"] = part["signature"]
        elif "messageStop" in event:
            answer["stopReason"] = event["messageStop"]["stopReason"]
        elif "metadata" in event:
            answer.update(event["metadata"])
    for index, text in inputs.items():
        blocks[index]["toolUse"]["input"] = json.loads(text)
    answer["output"] = {"message": {"role": "assistant", "content": [blocks[i] for i in sorted(blocks)]}}
    return answer


def test_converse_and_its_stream_give_the_same_answer(m: MockBuilder, server: MockServer) -> None:
    m.bedrock().when_last_message_contains("think").reply(
        "It is 42.", reasoning="Six times seven.", signature="c2ln"
    )
    m.bedrock().reply("Hello from Bedrock, in several words.")
    client = bedrock_runtime(server)
    for text in ("hi", "think about it"):
        plain = client.converse(modelId=MODEL, messages=[user(text)])
        plain.pop("ResponseMetadata")
        assert converse_stream(client, [user(text)]) == plain
    assert plain["output"]["message"]["content"][1] == {"text": "It is 42."}
    assert plain["stopReason"] == "end_turn" and plain["usage"]["totalTokens"] > 0
    entry = last(server)
    assert entry.body["model"] == MODEL  # the URL's, %3A decoded
    assert entry.path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"


def test_a_tool_loop_by_tool_use_id(m: MockBuilder, server: MockServer) -> None:
    m.bedrock().when_tool_names("get_weather").when_turn(0).reply_tool_uses(
        [ToolCall("get_weather", {"city": "Paris"}, id="tu_paris"), ToolCall("get_weather", {"city": "Rome"})]
    )
    final = (
        m.bedrock()
        .when_history_has_tool_results("tu_paris")
        .when_system_contains("brief")
        .reply("Sunny, then rain.")
    )
    client = bedrock_runtime(server)
    tools = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]}
    messages = [user("Weather in Paris and Rome?")]
    first = converse_stream(client, messages, toolConfig=tools, system=[{"text": "be brief"}])
    uses = [b["toolUse"] for b in first["output"]["message"]["content"]]
    assert [(u["name"], u["input"]) for u in uses] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Rome"}),
    ]
    assert uses[0]["toolUseId"] == "tu_paris" and uses[1]["toolUseId"]
    assert first["stopReason"] == "tool_use"
    messages.append(first["output"]["message"])
    results = [{"toolResult": {"toolUseId": u["toolUseId"], "content": [{"text": "sunny"}]}} for u in uses]
    messages.append({"role": "user", "content": results})
    answer = client.converse(
        modelId=MODEL, messages=messages, toolConfig=tools, system=[{"text": "be brief"}]
    )
    assert answer["output"]["message"]["content"] == [{"text": "Sunny, then rain."}]
    final.assert_called_once()


@pytest.mark.parametrize(
    ("status", "code", "attempts"),
    [
        (400, "ValidationException", 1),
        (404, "ResourceNotFoundException", 1),
        (429, "ThrottlingException", 3),
        (503, "ServiceUnavailableException", 3),
    ],
)
def test_errors_are_botocore_s_and_retried_as_against_aws(
    m: MockBuilder, server: MockServer, status: int, code: str, attempts: int
) -> None:
    m.bedrock().reply_error(status, message="mocked trouble")
    client = bedrock_runtime(server, attempts=3)
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        client.converse(modelId=MODEL, messages=[user("hi")])
    error = failed.value.response["Error"]
    assert (error["Code"], error["Message"]) == (code, "mocked trouble")
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert len(server.journal) == attempts


def test_stream_faults_in_event_stream_frames(m: MockBuilder, server: MockServer) -> None:
    m.bedrock().when_last_message_contains("fail").with_fault("error_event", after_events=2).reply("a b c d")
    m.bedrock().when_last_message_contains("break").with_fault("malformed", after_events=1).reply("a b c d")
    client = bedrock_runtime(server)
    seen: list[dict[str, Any]] = []
    with pytest.raises(botocore.exceptions.EventStreamError) as failed:
        for event in client.converse_stream(modelId=MODEL, messages=[user("fail")])["stream"]:
            seen.append(event)
    assert failed.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert list(seen[0]) == ["messageStart"] and len(seen) == 2
    with pytest.raises(ChecksumMismatch):  # the broken frame's checksum fails botocore's check
        list(client.converse_stream(modelId=MODEL, messages=[user("break")])["stream"])


def test_every_frame_decodes_with_botocore_and_its_checksums_hold(m: MockBuilder, server: MockServer) -> None:
    m.bedrock().reply_tool_use("lookup", {"query": "x" * 100, "deep": {"list": [1, 2, 3]}}, text="Looking.")
    answer = httpx.post(
        f"{server.url}/model/m/converse-stream",
        json={"messages": [user("hi")]},
        headers={"authorization": "AWS4-HMAC-SHA256 Credential=x"},
    )
    assert answer.headers["content-type"] == "application/vnd.amazon.eventstream"
    buffer = EventStreamBuffer()
    for i in range(0, len(answer.content), 7):  # fed in pieces, as the network does
        buffer.add_data(answer.content[i : i + 7])
    messages = list(buffer)
    kinds = [message.headers[":event-type"] for message in messages]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    assert all(message.headers[":message-type"] == "event" for message in messages)


def test_a_request_without_authorization_is_refused_as_aws_does(server: MockServer) -> None:
    refused = httpx.post(f"{server.url}/model/m/converse", json={"messages": [user("hi")]})
    assert refused.status_code == 403
    assert refused.headers["x-amzn-errortype"].startswith("AccessDeniedException:")
    assert "message" in refused.json()
    bad = httpx.post(
        f"{server.url}/model/m/converse",
        content=b"{not json",
        headers={"authorization": "AWS4-HMAC-SHA256 x"},
    )
    assert bad.status_code == 400 and bad.headers["x-amzn-errortype"].startswith("ValidationException:")


def test_chaos_fails_with_service_unavailable(m: MockBuilder) -> None:
    m.bedrock().reply("fine")
    with (
        MockServer(m, chaos=Chaos(error_rate=1.0)) as server,
        pytest.raises(botocore.exceptions.ClientError) as failed,
    ):
        bedrock_runtime(server).converse(modelId=MODEL, messages=[user("hi")])
    assert failed.value.response["Error"]["Code"] == "ServiceUnavailableException"


def test_claude_on_bedrock_answers_with_the_anthropic_mocks(m: MockBuilder, server: MockServer) -> None:
    m.anthropic_messages().when_last_message_contains("fail").reply_error(
        429, headers={"x-should-retry": "false"}
    )
    m.anthropic_messages().when_tool_result("toolu_look").reply("Found it.")
    m.anthropic_messages().when_model(MODEL).reply_tool_use(
        "lookup", {"q": 1}, id="toolu_look", text="Let me look."
    )
    client = anthropic_bedrock_client(server)
    ask = [{"role": "user", "content": "hi"}]
    plain = client.messages.create(model=MODEL, max_tokens=64, messages=ask)  # type: ignore[arg-type]
    with client.messages.stream(model=MODEL, max_tokens=64, messages=ask) as stream:  # type: ignore[arg-type]
        assert "".join(stream.text_stream) == "Let me look."
        final = stream.get_final_message()
    shown = [(b.type, getattr(b, "text", None), getattr(b, "input", None)) for b in final.content]
    assert shown == [(b.type, getattr(b, "text", None), getattr(b, "input", None)) for b in plain.content]
    assert final.stop_reason == plain.stop_reason == "tool_use"
    result = {"type": "tool_result", "tool_use_id": "toolu_look", "content": "a book"}
    loop = [*ask, {"role": "assistant", "content": plain.content}, {"role": "user", "content": [result]}]
    answer = client.messages.create(model=MODEL, max_tokens=64, messages=loop)  # type: ignore[arg-type]
    assert answer.content[0].text == "Found it."  # type: ignore[union-attr]
    assert last(server).body["anthropic_version"] and last(server).api == "anthropic"
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "fail"}])


def test_a_recorded_converse_stream_replays_as_a_plain_answer(tmp_path: Path) -> None:
    real = mock()
    real.bedrock().reply_tool_use("lookup", {"q": "x"}, id="tu_rec", text="Recorded.")
    cassette = tmp_path / "bedrock.json"
    with MockServer(real) as upstream:
        recording = Recording(cassette, upstreams={"bedrock": upstream.url})
        with MockServer(Config(), record=recording) as recorder:
            streamed = converse_stream(bedrock_runtime(recorder), [user("look it up")])
    with MockServer(Config.from_json(cassette.read_bytes())) as replay:
        plain = bedrock_runtime(replay).converse(modelId=MODEL, messages=[user("look it up")])
    plain.pop("ResponseMetadata")
    assert plain == streamed
    assert plain["output"]["message"]["content"][1]["toolUse"]["toolUseId"] == "tu_rec"
