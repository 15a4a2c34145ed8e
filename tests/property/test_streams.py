"""Stream reassembly (DESIGN.md §6): for generated responses, the official SDKs' stream helpers
rebuild exactly the answer the same mock gives without streaming — content, tool calls and their
arguments, ids, finish/stop reasons and usage. Over real HTTP, one server per test function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockllm import Config, MockServer

from . import strategies as s
from .support import anthropic_client, openai_client, server_settings

JsonObject = dict[str, Any]
ServeFn = Callable[[Config], MockServer]


@pytest.fixture
def server(serve: ServeFn) -> MockServer:
    """One server per test function; each example swaps its config in with ``set_config``."""
    return serve(Config())


def _strip(value: Any, keys: frozenset[str]) -> Any:
    """``value`` without the helper-only keys (``parsed``, ``parsed_arguments``, …)."""
    if isinstance(value, dict):
        return {k: _strip(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_strip(v, keys) for v in value]
    return value


def _optional(draw: st.DrawFn, out: JsonObject, key: str, strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        out[key] = draw(strategy)


# --- chat completions ---------------------------------------------------------------------------


@st.composite
def chat_tool_calls(draw: st.DrawFn, arguments: st.SearchStrategy[Any]) -> JsonObject:
    function: JsonObject = {"name": draw(s.names)}
    _optional(draw, function, "arguments", arguments)  # a call without arguments takes none
    call: JsonObject = {"function": function}
    _optional(draw, call, "id", s.ids("call_"))
    _optional(draw, call, "type", st.just("function"))
    return call


@st.composite
def chat_completions(draw: st.DrawFn, arguments: st.SearchStrategy[Any] | None = None) -> JsonObject:
    """A ``chat.completion`` as a config writes it: several choices, text (or none), a refusal,
    any number of tool calls with any JSON arguments; ids, model and usage sometimes given."""
    # Arguments as the APIs send them (a JSON string), or as a config may write them (an object).
    arguments = arguments if arguments is not None else st.one_of(s.json_arguments(), s.json_objects)
    choices = []
    for _ in range(draw(st.integers(1, 3))):
        message: JsonObject = {}
        _optional(draw, message, "content", st.one_of(st.none(), s.texts(max_size=60)))
        _optional(draw, message, "refusal", s.texts(max_size=20))
        _optional(draw, message, "tool_calls", st.lists(chat_tool_calls(arguments), min_size=1, max_size=3))
        choice: JsonObject = {"message": message}
        # "length" and "content_filter" make the SDK's stream helper raise by design.
        _optional(draw, choice, "finish_reason", st.sampled_from(["stop", "tool_calls"]))
        choices.append(choice)
    response: JsonObject = {"choices": choices}
    _optional(draw, response, "id", s.ids("chatcmpl-"))
    _optional(draw, response, "model", s.names)
    _optional(draw, response, "system_fingerprint", s.ids("fp_"))
    if draw(st.booleans()):
        prompt, completion = draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000))
        response["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    return response


def _chat_config(response: JsonObject) -> Config:
    match = {"match_type": "contains", "message": {"content": ""}}
    return Config.model_validate({"openai": [{"match": match, "response": response}]})


def _chat_round(server: MockServer, response: JsonObject) -> None:
    server.set_config(_chat_config(response))
    client = openai_client(server)
    messages: Any = [{"role": "user", "content": "hi"}]
    whole = client.chat.completions.create(model="gpt-mock", messages=messages)
    with client.chat.completions.stream(
        model="gpt-mock", messages=messages, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    helper_only = frozenset({"parsed", "parsed_arguments", "index"})
    rebuilt = final.model_dump()
    for choice in rebuilt["choices"]:
        choice["message"] = _strip(choice["message"], helper_only)
    assert rebuilt == whole.model_dump()


@server_settings()
@given(response=chat_completions())
def test_chat_stream_reassembles_the_completion(server: MockServer, response: JsonObject) -> None:
    """``chat.completions.stream(...).get_final_completion()`` equals ``create()``.

    Mutations caught: text pieces split every 5 UTF-8 bytes (decoded with ``errors="replace"``);
    the usage chunk left out; the first tool-call delta without ``id``; the finish chunk dropped.
    """
    _chat_round(server, response)


def _message(**message: Any) -> JsonObject:
    return {"choices": [{"message": message}]}


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(_message(tool_calls=[{"function": {"name": "f"}}]), id="tool-call-without-arguments"),
        pytest.param(
            _message(tool_calls=[{"function": {"name": "f", "arguments": {"a": 1}}}]),
            id="tool-call-arguments-as-object",
        ),
        pytest.param(_message(content="hi", refusal=""), id="empty-refusal"),
        pytest.param(
            _message(content="hi", tool_calls=[]),
            marks=pytest.mark.xfail(
                strict=True,
                reason="SDK limitation: 'tool_calls': [] is served as []; the stream's first delta "
                "cannot carry an empty list that the SDK's stream helper keeps (it rebuilds None)",
            ),
            id="empty-tool-calls",
        ),
    ],
)
def test_chat_stream_reassembles_edge_cases(server: MockServer, response: JsonObject) -> None:
    """Responses that once streamed differently from the non-stream answer, kept as fixed examples;
    ``tool_calls: []`` still does and stays out of the generated domain (``min_size=1`` above)."""
    _chat_round(server, response)


# --- responses ----------------------------------------------------------------------------------


@st.composite
def hosted_output_items(draw: st.DrawFn) -> JsonObject:
    """Hosted tool calls, MCP items and custom tool calls, with the fields their events carry."""
    kind = draw(
        st.sampled_from(
            [
                "web_search_call",
                "file_search_call",
                "code_interpreter_call",
                "image_generation_call",
                "mcp_list_tools",
                "mcp_call",
                "custom_tool_call",
            ]
        )
    )
    item: JsonObject = {"type": kind}
    if kind == "web_search_call":
        item["action"] = {"type": "search", "query": draw(s.texts(max_size=30))}
    elif kind == "file_search_call":
        item["queries"] = draw(st.lists(s.texts(max_size=20), max_size=2))
    elif kind == "code_interpreter_call":
        _optional(draw, item, "code", st.one_of(st.none(), s.texts(max_size=60)))
        item["outputs"] = draw(
            st.lists(st.builds(lambda t: {"type": "logs", "logs": t}, s.texts(max_size=20)), max_size=2)
        )
    elif kind == "image_generation_call":
        _optional(draw, item, "result", st.one_of(st.none(), st.just("iVBORw0KGgo=")))
    elif kind == "custom_tool_call":
        item["name"] = draw(s.names)
        _optional(draw, item, "input", s.texts(max_size=60))
    else:
        item["server_label"] = draw(s.names)
        if kind == "mcp_list_tools":
            item["tools"] = [{"name": draw(s.names), "input_schema": {"type": "object"}}]
        else:
            item["name"] = draw(s.names)
            _optional(draw, item, "arguments", s.json_arguments())
            outcome = draw(st.sampled_from(["pending", "output", "error"]))
            if outcome == "output":
                item["output"] = draw(s.texts(max_size=20))
            elif outcome == "error":
                item["error"] = {"type": "mcp_protocol_error", "code": -32602, "message": "bad arguments"}
    return item


@st.composite
def responses_output_items(draw: st.DrawFn) -> JsonObject:
    kind = draw(st.sampled_from(["message", "message", "function_call", "reasoning", "hosted"]))
    if kind == "hosted":
        return draw(hosted_output_items())
    item: JsonObject = {"type": kind}
    if kind == "message":
        part = st.one_of(
            st.builds(lambda t: {"type": "output_text", "text": t}, s.texts(max_size=60)),
            st.builds(lambda t: {"type": "refusal", "refusal": t}, s.texts(max_size=20)),
        )
        item["content"] = draw(st.lists(part, max_size=3))
        _optional(draw, item, "id", s.ids("msg_"))
    elif kind == "function_call":
        item["name"] = draw(s.names)
        _optional(draw, item, "arguments", s.json_arguments())
        _optional(draw, item, "call_id", s.ids("call_"))
        _optional(draw, item, "id", s.ids("fc_"))
    else:
        summary = st.builds(lambda t: {"type": "summary_text", "text": t}, s.texts(max_size=30))
        item["summary"] = draw(st.lists(summary, max_size=2))
    return item


@st.composite
def responses_responses(draw: st.DrawFn) -> JsonObject:
    output = draw(st.lists(responses_output_items(), max_size=4))
    for k, item in enumerate(output):  # ids and call ids are unique within a response
        for key in ("id", "call_id"):
            if key in item:
                item[key] += f"_{k}"
    response: JsonObject = {"output": output}
    _optional(draw, response, "id", s.ids("resp_"))
    _optional(draw, response, "model", s.names)
    if draw(st.booleans()):
        given_in, given_out = draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000))
        response["usage"] = {
            "input_tokens": given_in,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": given_out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": given_in + given_out,
        }
    return response


@server_settings()
@given(response=responses_responses())
def test_responses_stream_reassembles_the_response(server: MockServer, response: JsonObject) -> None:
    """``responses.stream(...).get_final_response()`` equals ``create()``, and the text and
    arguments the helper accumulates from the deltas (the ``snapshot`` of the last delta of each
    part or call) equal the non-stream text and arguments.

    Mutations caught: text pieces split every 5 UTF-8 bytes; ``content_part.added`` left out
    (the helper raises); the last argument delta dropped; ``response.completed`` left out.
    """
    match = {"match_type": "contains", "input": ""}
    server.set_config(Config.model_validate({"openai_response": [{"match": match, "response": response}]}))
    client = openai_client(server)
    whole = client.responses.create(model="gpt-mock", input="hi")
    snapshots: dict[tuple[int, int], str] = {}
    with client.responses.stream(model="gpt-mock", input="hi") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                snapshots[(event.output_index, event.content_index)] = event.snapshot
            elif event.type == "response.function_call_arguments.delta":
                snapshots[(event.output_index, -1)] = event.snapshot
        final = stream.get_final_response()

    assert _strip(final.model_dump(), frozenset({"parsed", "parsed_arguments"})) == whole.model_dump()
    assert final.output_text == whole.output_text
    expected: dict[tuple[int, int], str] = {}
    for index, item in enumerate(whole.output):
        if item.type == "message":
            for content_index, part in enumerate(item.content):
                if part.type == "output_text" and part.text:
                    expected[(index, content_index)] = part.text
        elif item.type == "function_call" and item.arguments:
            expected[(index, -1)] = item.arguments
    assert snapshots == expected


# --- anthropic ----------------------------------------------------------------------------------


@st.composite
def anthropic_content_blocks(draw: st.DrawFn) -> JsonObject:
    kind = draw(
        st.sampled_from(["text", "text", "tool_use", "thinking", "server_tool_use", "redacted_thinking"])
    )
    if kind == "text":
        block = {"type": "text", "text": draw(s.texts(max_size=60))}
        if draw(st.booleans()):
            cited = {"type": "web_search_result_location", "url": "https://example.com/a", "title": "A"}
            block["citations"] = [{**cited, "cited_text": draw(s.texts(max_size=20)), "encrypted_index": "x"}]
        return block
    if kind == "server_tool_use":
        return {
            "type": "server_tool_use",
            "name": "web_search",
            "input": {"query": draw(s.texts(max_size=30))},
        }
    if kind == "redacted_thinking":
        return {"type": "redacted_thinking", "data": draw(s.ids("Em"))}
    if kind == "tool_use":
        block: JsonObject = {"type": "tool_use", "name": draw(s.names), "input": draw(s.json_objects)}
        _optional(draw, block, "id", s.ids("toolu_"))
        return block
    block = {"type": "thinking", "thinking": draw(s.texts(max_size=40))}
    _optional(draw, block, "signature", s.ids("sig"))
    return block


@st.composite
def anthropic_responses(draw: st.DrawFn) -> JsonObject:
    response: JsonObject = {"content": draw(st.lists(anthropic_content_blocks(), max_size=4))}
    _optional(draw, response, "id", s.ids("msg_"))
    _optional(draw, response, "model", s.names)
    stop = draw(st.sampled_from([None, "end_turn", "max_tokens", "stop_sequence", "tool_use"]))
    if stop is not None:
        response["stop_reason"] = stop
    if stop == "stop_sequence":
        response["stop_sequence"] = draw(s.texts(min_size=1, max_size=6))
    if draw(st.booleans()):
        usage = {"input_tokens": draw(st.integers(0, 10_000)), "output_tokens": draw(st.integers(0, 10_000))}
        _optional(draw, usage, "cache_read_input_tokens", st.integers(0, 1000))
        _optional(draw, usage, "cache_creation_input_tokens", st.integers(0, 1000))
        response["usage"] = usage
    return response


@server_settings()
@given(response=anthropic_responses())
def test_anthropic_stream_reassembles_the_message(server: MockServer, response: JsonObject) -> None:
    """``messages.stream(...).get_final_message()`` equals ``create()``: text, tool_use inputs (any
    JSON object, rebuilt from ``input_json_delta`` pieces), thinking and signatures, stop reason and
    sequence, usage.

    Mutations caught: text pieces split every 5 UTF-8 bytes; ``message_delta`` carrying output
    tokens 0; the last ``input_json_delta`` piece dropped; ``signature_delta`` left out.
    (Dropping ``message_stop`` is not seen: the SDK's helper does not need it.)
    """
    match = {"match_type": "contains", "message": {"content": ""}}
    server.set_config(Config.model_validate({"anthropic": [{"match": match, "response": response}]}))
    client = anthropic_client(server)
    messages: Any = [{"role": "user", "content": "hi"}]
    whole = client.messages.create(model="claude-mock", max_tokens=1024, messages=messages)
    with client.messages.stream(model="claude-mock", max_tokens=1024, messages=messages) as stream:
        final = stream.get_final_message()
    assert _strip(final.model_dump(), frozenset({"parsed_output"})) == whole.model_dump()


# --- gemini -------------------------------------------------------------------------------------

_BASE64 = st.binary(min_size=1, max_size=12).map(lambda raw: __import__("base64").b64encode(raw).decode())


@st.composite
def gemini_parts(draw: st.DrawFn) -> JsonObject:
    kind = draw(st.sampled_from(["text", "text", "thought", "call", "code"]))
    if kind == "text":
        return {"text": draw(s.texts(max_size=60))}
    if kind == "thought":
        part: JsonObject = {"text": draw(s.texts(min_size=1, max_size=40)), "thought": True}
        _optional(draw, part, "thoughtSignature", _BASE64)
        return part
    if kind == "call":
        call: JsonObject = {"name": draw(s.names)}
        _optional(draw, call, "args", s.json_objects)
        _optional(draw, call, "id", s.ids("call_"))
        return {"functionCall": call}
    return {"executableCode": {"language": "PYTHON", "code": draw(s.texts(max_size=20))}}


@st.composite
def gemini_responses(draw: st.DrawFn) -> JsonObject:
    """A ``GenerateContentResponse`` as a config writes it: one candidate of text, thought, call and
    code parts; finish reason, usage, model version and id sometimes given."""
    candidate: JsonObject = {"content": {"parts": draw(st.lists(gemini_parts(), min_size=1, max_size=4))}}
    _optional(draw, candidate, "finishReason", st.sampled_from(["STOP", "MAX_TOKENS"]))
    response: JsonObject = {"candidates": [candidate]}
    _optional(draw, response, "modelVersion", s.names)
    _optional(draw, response, "responseId", s.ids("r"))
    if draw(st.booleans()):
        prompt, answer = draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000))
        response["usageMetadata"] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": answer,
            "totalTokenCount": prompt + answer,
        }
    return response


def _joined(parts: list[JsonObject]) -> list[JsonObject]:
    """Parts with adjacent text parts of the same kind joined (a stream cannot tell them apart)."""
    out: list[JsonObject] = []
    for part in parts:
        previous = out[-1] if out else None
        if (
            previous is not None
            and isinstance(previous.get("text"), str)
            and isinstance(part.get("text"), str)
            and previous.get("thought") == part.get("thought")
            and previous.get("thought_signature", previous.get("thoughtSignature")) is None
        ):
            out[-1] = {**previous, **part, "text": previous["text"] + part["text"]}
        else:
            out.append(part)
    return [part for part in out if part.get("text") != ""]


@server_settings()
@given(response=gemini_responses())
def test_gemini_stream_chunks_rebuild_the_answer(server: MockServer, response: JsonObject) -> None:
    """The chunks ``generate_content_stream`` yields, their parts laid end to end, are the answer
    ``generate_content`` gives: parts, thoughts and signatures, function calls and their ids,
    finish reason, usage, model version, response id. The recorder's reassembly of the same
    stream's bytes gives the answer's JSON.

    Mutations caught: a thought's signature on its first piece (the SDK keeps it per part); the
    finish reason on every chunk; the usage on the first chunk only.
    """
    from google import genai

    from mockllm.gemini.generate import reassemble

    server.set_config(
        Config.model_validate(
            {
                "gemini": [
                    {"match": {"match_type": "contains", "message": {"parts": []}}, "response": response}
                ]
            }
        )
    )
    client = genai.Client(api_key="k", http_options={"base_url": server.gemini_base_url})
    whole = client.models.generate_content(model="gemini-mock", contents="hi")
    chunks = list(client.models.generate_content_stream(model="gemini-mock", contents="hi"))
    parts = [
        part.model_dump(exclude_none=True)
        for chunk in chunks
        for part in (chunk.candidates[0].content.parts or [])  # type: ignore[index,union-attr]
    ]
    plain = whole.candidates[0]  # type: ignore[index]
    assert _joined(parts) == _joined([p.model_dump(exclude_none=True) for p in plain.content.parts or []])  # type: ignore[union-attr]
    last = chunks[-1]
    assert last.candidates[0].finish_reason == plain.finish_reason  # type: ignore[index]
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])  # type: ignore[index]
    assert last.usage_metadata == whole.usage_metadata
    assert {c.model_version for c in chunks} == {whole.model_version}
    assert {c.response_id for c in chunks} == {whole.response_id}

    raw = _post_stream(server)
    rebuilt = reassemble(raw)
    assert rebuilt is not None
    answer = orjson.loads(_post_plain(server))
    rebuilt["candidates"][0]["content"]["parts"] = _joined(rebuilt["candidates"][0]["content"]["parts"])
    answer["candidates"][0]["content"]["parts"] = _joined(answer["candidates"][0]["content"]["parts"])
    assert rebuilt == answer


def _post(server: MockServer, method: str) -> bytes:
    from .support import raw_request

    body = orjson.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    answer = raw_request(server, "POST", f"/v1/models/gemini-mock:{method}", body, {"x-goog-api-key": "k"})
    assert answer.status == 200
    return answer.body


def _post_stream(server: MockServer) -> bytes:
    return _post(server, "streamGenerateContent?alt=sse")


def _post_plain(server: MockServer) -> bytes:
    return _post(server, "generateContent")


# --- bedrock ------------------------------------------------------------------------------------


@st.composite
def converse_blocks(draw: st.DrawFn) -> JsonObject:
    kind = draw(st.sampled_from(["text", "text", "toolUse", "reasoning"]))
    if kind == "text":
        return {"text": draw(s.texts(max_size=60))}
    if kind == "toolUse":
        use: JsonObject = {"name": draw(s.names), "input": draw(s.json_objects)}
        _optional(draw, use, "toolUseId", s.ids("tooluse_"))
        return {"toolUse": use}
    text: JsonObject = {"text": draw(s.texts(max_size=40))}
    _optional(draw, text, "signature", s.names)
    return {"reasoningContent": {"reasoningText": text}}


@st.composite
def converse_responses(draw: st.DrawFn) -> JsonObject:
    """A Converse response as a config writes it: text, tool use and reasoning blocks; stop reason
    and usage sometimes given."""
    blocks = draw(st.lists(converse_blocks(), min_size=1, max_size=4))
    response: JsonObject = {"output": {"message": {"role": "assistant", "content": blocks}}}
    _optional(draw, response, "stopReason", st.sampled_from(["end_turn", "tool_use", "max_tokens"]))
    if draw(st.booleans()):
        given, made = draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000))
        response["usage"] = {"inputTokens": given, "outputTokens": made, "totalTokens": given + made}
    return response


@server_settings()
@given(response=converse_responses())
def test_converse_stream_frames_decode_with_botocore_and_rebuild_the_answer(
    server: MockServer, response: JsonObject
) -> None:
    """Every frame of a Converse stream decodes with botocore's own `EventStreamBuffer` (its
    checksums hold, fed in arbitrary pieces), every payload is the event's own fields, and the
    events put back together give the answer ``converse`` gives.

    Mutations caught: the message checksum computed without the headers; a payload wrapped in its
    event's name (botocore then reads an empty event); a tool use's input sent whole as an object.
    """
    from botocore.eventstream import EventStreamBuffer

    from mockllm.bedrock.converse import reassemble

    from .support import raw_request

    match = {"match_type": "contains", "message": {"content": []}}
    server.set_config(Config.model_validate({"bedrock": [{"match": match, "response": response}]}))
    headers = {"authorization": "AWS4-HMAC-SHA256 Credential=x"}
    body = orjson.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    streamed = raw_request(server, "POST", "/model/m/converse-stream", body, headers)
    plain = raw_request(server, "POST", "/model/m/converse", body, headers)
    assert streamed.status == plain.status == 200
    buffer = EventStreamBuffer()
    for start in range(0, len(streamed.body), 5):
        buffer.add_data(streamed.body[start : start + 5])
    events = list(buffer)
    kinds = [event.headers[":event-type"] for event in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    for event in events:
        payload = orjson.loads(event.payload)
        assert event.headers[":event-type"] not in payload  # flat: no wrapper
    rebuilt = reassemble(streamed.body)
    assert rebuilt is not None
    assert rebuilt == orjson.loads(plain.body)
