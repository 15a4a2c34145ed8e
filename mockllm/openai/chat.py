"""``POST /v1/chat/completions``: chat.completion answers and their chunk streams."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import orjson

from ..apis import API_BY_KEY
from ..contract.shapes import ResponseType
from ..server.adapter import (
    INPUT_TOKENS,
    JSON,
    SSE,
    ApiAdapter,
    MatchStyle,
    Request,
    Streaming,
    check_bool,
    check_content,
    check_model,
    check_object_list,
    describe_last_message,
    estimate_tokens,
    input_tokens_plus,
    json_or_events,
)
from ..server.errors import ApiError
from ..server.faults import ERROR_MESSAGE, malformed_sse
from ..server.provider import Route
from ..server.sse import DONE, sse_event, sse_events, sse_media, text_pieces
from ..server.usage import Prompt
from .azure import azure_routes
from .contract import CHAT_TERMS
from .matching import CHAT_RULES, chat_turns
from .provider import OPENAI

__all__ = ["ADAPTER"]

# Variants: the JSON body, the stream, and the stream ending with a usage chunk.
SSE_USAGE = "sse+usage"


def validate(body: Request) -> None:
    check_model(body)
    check_object_list(body.get("messages"), "messages", required=True)
    # Agent requests carry long histories: the usual message costs type tests only, and the path
    # of a field is spelled out when it is wrong.
    for i, message in enumerate(body["messages"]):
        if len(message) == 2 and type(message.get("role")) is str and type(message.get("content")) is str:
            continue  # the usual message: a role and a text
        if type(message.get("role", "")) is not str:
            raise ApiError(400, f"'messages[{i}].role' must be a string", param=f"messages[{i}].role")
        content = message.get("content")
        if content is not None and type(content) is not str:
            check_content(content, f"messages[{i}].content", allow_null=True)
        for key in ("name", "tool_call_id"):
            value = message.get(key)
            if value is not None and type(value) is not str:
                where = f"messages[{i}].{key}"
                raise ApiError(400, f"'{where}' must be a string", param=where)
        calls = message.get("tool_calls")
        if calls is not None:
            check_object_list(calls, f"messages[{i}].tool_calls", required=False, non_empty=False)
    check_object_list(body.get("tools"), "tools", required=False, non_empty=False)
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (type(value) is not int or value < 1):
            raise ApiError(400, f"'{key}' must be an integer of at least 1", param=key)
    check_bool(body, "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise ApiError(400, "'stream_options' must be an object", param="stream_options")


def variant(body: Request) -> Hashable:
    if body.get("stream") is not True:
        return JSON
    options = body.get("stream_options")
    return SSE_USAGE if isinstance(options, dict) and options.get("include_usage") else SSE


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    out.setdefault("id", f"chatcmpl-mockllm-{position}")
    out.setdefault("object", "chat.completion")
    out.setdefault("created", created)
    choices = out.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise ValueError("response.choices: expected a list of choice objects")
    out["choices"] = [_fill_choice(choice, i, position) for i, choice in enumerate(choices)]
    if "usage" not in out:
        texts = []
        for choice in out["choices"]:
            message = choice["message"]
            texts.append(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function")
                if isinstance(function, dict):
                    texts.append(function["arguments"])
        completion = estimate_tokens(*texts)
        out["usage"] = {
            "prompt_tokens": INPUT_TOKENS,
            "completion_tokens": completion,
            "total_tokens": input_tokens_plus(completion),
        }
    return out


def prompt_tokens(body: Request) -> int:
    """The prompt's size by `estimate_tokens`: the text of the messages (the JSON of parts without
    text), their tool calls, and the JSON of the tools."""
    prompt = Prompt().messages(body["messages"], ("text", "refusal"))
    prompt.json_items(body.get("tools"))
    return prompt.tokens()


def _fill_choice(choice: dict[str, Any], i: int, position: int) -> dict[str, Any]:
    out = dict(choice)
    out.setdefault("index", i)
    message = out.get("message")
    if not isinstance(message, dict):
        raise ValueError(f"response.choices[{i}].message: expected an object")
    message = out["message"] = dict(message)
    message.setdefault("role", "assistant")
    calls = message.get("tool_calls")
    if calls is not None:
        where = f"response.choices[{i}].message"
        if not isinstance(calls, list):
            raise ValueError(f"{where}.tool_calls: expected a list of tool call objects")
        message["tool_calls"] = [_fill_call(call, position, j, where) for j, call in enumerate(calls)]
    out.setdefault("finish_reason", "tool_calls" if calls else "stop")
    return out


def _fill_call(call: Any, position: int, j: int, where: str) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise ValueError(f"{where}.tool_calls[{j}]: expected a tool call object")
    out = {"id": f"call_mockllm_{position}_{j}", "type": "function", **call}
    function = out.get("function")
    if isinstance(function, dict):
        # The SDKs read arguments as a JSON string; a no-argument call sends "{}".
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = orjson.dumps(arguments).decode()
        out["function"] = {**function, "arguments": arguments}
    elif function is not None:
        raise ValueError(f"{where}.tool_calls[{j}].function: expected an object")
    return out


def stream_events(response: dict[str, Any], variant: Any) -> list[bytes]:
    """The chunks of a stream variant, one SSE event each."""
    include_usage = variant == SSE_USAGE
    base = {
        "id": response.get("id"),
        "object": "chat.completion.chunk",
        "created": response.get("created"),
        "model": response.get("model"),
    }
    for key in ("system_fingerprint", "service_tier"):
        if key in response:
            base[key] = response[key]
    events: list[bytes] = []

    for choice in response["choices"]:
        index = choice["index"]

        def emit(delta: dict[str, Any], finish_reason: Any = None, index: int = index) -> None:
            events.append(
                sse_event(
                    {
                        **base,
                        "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason}],
                    }
                )
            )

        message = choice["message"]
        content = message.get("content")
        refusal = message.get("refusal")
        calls = message.get("tool_calls")
        # Strings the answer carries start out empty in the first delta, so that the stream
        # helper rebuilds "" rather than None when there is no text to send.
        first: dict[str, Any] = {"role": message.get("role")}
        if isinstance(content, str):
            first["content"] = ""
        if isinstance(refusal, str):
            first["refusal"] = ""
        emit(first)
        if isinstance(content, str):
            for piece in text_pieces(content):
                emit({"content": piece})
        if isinstance(refusal, str):
            for piece in text_pieces(refusal):
                emit({"refusal": piece})
        for j, call in enumerate(calls or []):
            function = call.get("function")
            if not isinstance(function, dict):  # a custom tool call streams whole
                emit({"tool_calls": [{"index": j, **call}]})
                continue
            arguments = function["arguments"]
            # The first delta of a call carries id, type and name; the stream helper needs "type".
            emit({"tool_calls": [{"index": j, **call, "function": {**function, "arguments": ""}}]})
            for piece in text_pieces(arguments):
                emit({"tool_calls": [{"index": j, "function": {"arguments": piece}}]})
        emit({}, choice.get("finish_reason"))

    # The usage chunk must come last: the stream helper keeps the usage of the last chunk.
    if include_usage:
        events.append(sse_event({**base, "choices": [], "usage": response.get("usage")}))
    events.append(DONE)
    return events


def reassemble(raw: bytes) -> dict[str, Any] | None:
    """A recorded stream as the chat.completion it streamed (None when it has no ``[DONE]``)."""
    chunks = [chunk for chunk in sse_events(raw) if isinstance(chunk, dict)]
    if not raw.rstrip().endswith(b"[DONE]") or not chunks:
        return None
    answer: dict[str, Any] = {"object": "chat.completion"}
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for key in ("id", "created", "model", "system_fingerprint", "service_tier"):
            if chunk.get(key) is not None:
                answer[key] = chunk[key]
        if chunk.get("usage") is not None:
            answer["usage"] = chunk["usage"]
        for delta_choice in chunk.get("choices") or []:
            index = delta_choice.get("index", 0)
            choice = choices.setdefault(
                index,
                {"index": index, "message": {"role": "assistant", "content": None}, "finish_reason": None},
            )
            if delta_choice.get("finish_reason") is not None:
                choice["finish_reason"] = delta_choice["finish_reason"]
            if delta_choice.get("logprobs") is not None:
                choice["logprobs"] = delta_choice["logprobs"]
            _merge_chat_delta(choice["message"], delta_choice.get("delta") or {})
    answer["choices"] = [choices[index] for index in sorted(choices)]
    for choice in answer["choices"]:
        calls = choice["message"].pop("_calls", None)
        if calls:
            choice["message"]["tool_calls"] = [calls[index] for index in sorted(calls)]
    return answer


def _merge_chat_delta(message: dict[str, Any], delta: dict[str, Any]) -> None:
    for key, value in delta.items():
        if key == "tool_calls":
            calls: dict[int, dict[str, Any]] = message.setdefault("_calls", {})
            for piece in value or []:
                call = calls.setdefault(
                    piece.get("index", len(calls)), {"id": "", "type": "function", "function": {}}
                )
                for field in ("id", "type"):
                    if piece.get(field):
                        call[field] = piece[field]
                function = piece.get("function") or {}
                for field in ("name", "arguments"):
                    if isinstance(function.get(field), str):
                        call["function"][field] = call["function"].get(field, "") + function[field]
        elif key == "role":
            if value:
                message["role"] = value
        elif isinstance(value, str) and isinstance(message.get(key), str):
            message[key] += value  # content, refusal, and the reasoning text some servers send
        elif value is not None:
            message[key] = value
    if "_calls" in message:
        for call in message["_calls"].values():
            call["function"].setdefault("name", "")
            call["function"].setdefault("arguments", "")


def error_event(response: dict[str, Any], position: int, variant: Hashable) -> bytes:
    """A chunk with a top-level ``error``, which the SDK raises as APIError."""
    return sse_event(
        {"error": {"message": ERROR_MESSAGE, "type": "server_error", "param": None, "code": None}}
    )


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    messages = body.get("messages") or [None]
    return {"match_type": style, "message": messages[-1], "turn": chat_turns(body)}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["openai"],
    provider=OPENAI,
    routes=(Route("/v1/chat/completions", "/v1/chat/completions"), *azure_routes("/chat/completions")),
    rules=CHAT_RULES,
    validate=validate,
    variant=variant,
    # The stream with a usage chunk runs every step of the plain one: rendering it checks both.
    is_stream=lambda v: v != JSON,
    fill=fill,
    response_type=ResponseType(
        "openai",
        # The server turns these into what the wire has.
        lenient=(("Function", "arguments", (("type", "object"),)),),
    ),
    contract=CHAT_TERMS,
    render=json_or_events(stream_events),
    describe=describe_last_message,
    streaming=Streaming(
        events=stream_events,
        shortest=SSE,
        media=sse_media,
        malformed_event=malformed_sse,
        error_event=error_event,
        reassemble=reassemble,
    ),
    recorded_match=recorded_match,
    id_prefix="chatcmpl-",
    input_tokens=prompt_tokens,
)
