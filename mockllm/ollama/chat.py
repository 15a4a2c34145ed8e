"""``POST /api/chat`` and ``/api/generate``: Ollama's answers and their NDJSON streams, and its
model list and version.

A request streams unless it says ``"stream": false``, as Ollama does: one JSON object per line
(the text in token-sized pieces, a tool call whole), the last with ``"done": true``, the
``done_reason`` and the counters. One ``ollama`` mock answers both routes: a generate request gets
the message's text as its ``response`` and its thinking as ``thinking``.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

import orjson
from sanic import Request as HttpRequest

from ..apis import API_BY_KEY
from ..contract.shapes import ResponseType
from ..server.adapter import (
    INPUT_TOKENS,
    ApiAdapter,
    MatchStyle,
    Request,
    Streaming,
    check_bool,
    check_model,
    check_object_list,
    estimate_tokens,
)
from ..server.errors import ApiError
from ..server.faults import ERROR_MESSAGE
from ..server.provider import Endpoint, Route
from ..server.sse import text_pieces
from ..server.usage import Prompt
from .contract import CHAT_TERMS
from .matching import OLLAMA_RULES, ollama_messages, ollama_turns
from .provider import OLLAMA

__all__ = ["ADAPTER", "NDJSON_TYPE"]

NDJSON_TYPE = "application/x-ndjson"
CHAT, GENERATE = "chat", "generate"
"""What a route answers: a chat response, or a generate one."""
VERSION = "0.12.0"
"""The Ollama version ``GET /api/version`` reports."""


def _variant(kind: str) -> Any:
    def variant(request: HttpRequest, body: dict[str, Any]) -> Hashable:
        return (kind, body.get("stream") is not False)

    return variant


def _is_stream(variant: Hashable) -> bool:
    return isinstance(variant, tuple) and bool(variant[1])


# --- request checks --------------------------------------------------------------------------------


def validate(body: Request) -> None:
    check_model(body)
    if "model" not in body:
        raise ApiError(400, "model is required", param="model")
    check_bool(body, "stream")
    if "prompt" in body and "messages" not in body:
        if not isinstance(body["prompt"], str):
            raise ApiError(400, "json: cannot unmarshal prompt: expected a string", param="prompt")
        return
    check_object_list(body.get("messages"), "messages", required=False, non_empty=False)
    for i, message in enumerate(body.get("messages") or ()):
        if not isinstance(message.get("role"), str):
            raise ApiError(400, f"messages[{i}].role: expected a string", param=f"messages[{i}].role")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise ApiError(400, f"messages[{i}].content: expected a string", param=f"messages[{i}].content")
        check_object_list(
            message.get("tool_calls"), f"messages[{i}].tool_calls", required=False, non_empty=False
        )
    check_object_list(body.get("tools"), "tools", required=False, non_empty=False)


def describe(body: Request) -> str:
    messages = ollama_messages(body)
    return f"last message {orjson.dumps(messages[-1] if messages else None).decode()[:200]}"


# --- answers ---------------------------------------------------------------------------------------


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    message = out.get("message")
    if not isinstance(message, dict):
        raise ValueError('response.message: expected a message object ({"role": "assistant", "content": …})')
    message = out["message"] = {"role": "assistant", "content": "", **message}
    for key in ("content", "thinking"):
        if key in message and not isinstance(message[key], str):
            raise ValueError(f"response.message.{key}: expected a string")
    calls = message.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise ValueError("response.message.tool_calls: expected a list of tool calls")
        message["tool_calls"] = [_fill_call(call, j) for j, call in enumerate(calls)]
    out.setdefault("created_at", datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    out.setdefault("done", True)
    out.setdefault("done_reason", "stop")
    tokens = estimate_tokens(message.get("content"), message.get("thinking"))
    for key, value in (
        ("total_duration", 0),
        ("load_duration", 0),
        ("prompt_eval_count", INPUT_TOKENS),
        ("prompt_eval_duration", 0),
        ("eval_count", tokens),
        ("eval_duration", 0),
    ):
        out.setdefault(key, value)
    return out


def prompt_tokens(body: Request) -> int:
    """The prompt's size by `estimate_tokens`: the messages' text (a generate request's system
    and prompt), their tool calls, and the JSON of the tools."""
    prompt = Prompt().messages(ollama_messages(body))
    prompt.json_items(body.get("tools"))
    return prompt.tokens()


def _fill_call(call: Any, j: int) -> dict[str, Any]:
    where = f"response.message.tool_calls[{j}]"
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise ValueError(f"{where}.function: expected an object with a name")
    arguments = function.get("arguments", {})
    if isinstance(arguments, str):  # written as JSON text: Ollama sends an object
        try:
            arguments = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            raise ValueError(f"{where}.function.arguments: expected a JSON object") from None
    if not isinstance(arguments, dict):
        raise ValueError(f"{where}.function.arguments: expected a JSON object")
    return {**call, "function": {**function, "arguments": arguments}}


def _as_generate(response: dict[str, Any]) -> dict[str, Any]:
    """A chat response as ``/api/generate`` answers it."""
    message = response["message"]
    out = {k: v for k, v in response.items() if k != "message"}
    out["response"] = message.get("content", "")
    if message.get("thinking"):
        out["thinking"] = message["thinking"]
    out.setdefault("context", [])
    return out


def stream_events(response: dict[str, Any], variant: Any) -> list[bytes]:
    """The stream's lines: the text in pieces, then the last line with the counters."""
    kind = variant[0]
    base = {"model": response.get("model"), "created_at": response.get("created_at")}
    final = {k: v for k, v in response.items() if k not in ("message", "model", "created_at")}
    message = response["message"]
    parts: list[dict[str, Any]] = []
    for key in ("thinking", "content"):
        text = message.get(key)
        for piece in text_pieces(text) if isinstance(text, str) else ():
            parts.append({key: piece})
    if message.get("tool_calls"):
        parts.append({"tool_calls": message["tool_calls"]})
    lines: list[dict[str, Any]] = []
    for part in parts:
        if kind == CHAT:
            lines.append({**base, "message": {"role": message["role"], "content": "", **part}, "done": False})
        elif "tool_calls" not in part:  # generate answers text alone
            field = "response" if "content" in part else "thinking"
            lines.append({**base, field: next(iter(part.values())), "done": False})
    if kind == CHAT:
        lines.append({**base, "message": {"role": message["role"], "content": ""}, **final})
    else:
        lines.append({**base, "response": "", "context": [], **final})
    return [orjson.dumps(line) + b"\n" for line in lines]


def render(response: dict[str, Any], variant: Any) -> bytes:
    if _is_stream(variant):
        return b"".join(stream_events(response, variant))
    return orjson.dumps(response if variant[0] == CHAT else _as_generate(response))


def error_event(response: dict[str, Any], position: int, variant: Hashable) -> bytes:
    """Ollama's error after a stream started: a line of its own, which the client raises."""
    return orjson.dumps({"error": ERROR_MESSAGE}) + b"\n"


def reassemble(raw: bytes) -> dict[str, Any] | None:
    """A recorded chat stream as the answer it streamed (None without its ``done`` line)."""
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    answer: dict[str, Any] | None = None
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            chunk = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(chunk, dict) or "error" in chunk:
            return None
        part = chunk.get("message") or {}
        for key in ("content", "thinking"):
            if isinstance(part.get(key), str):
                message[key] = message.get(key, "") + part[key]
        if part.get("tool_calls"):
            message["tool_calls"] = [*message.get("tool_calls", []), *part["tool_calls"]]
        if "response" in chunk:  # a generate stream
            message["content"] += chunk["response"] if isinstance(chunk["response"], str) else ""
        if chunk.get("done"):
            answer = {k: v for k, v in chunk.items() if k not in ("message", "response", "context")}
    if answer is None:
        return None
    return {**answer, "message": message}


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    messages = ollama_messages(body)
    return {"match_type": style, "message": messages[-1] if messages else None, "turn": ollama_turns(body)}


def version(body: Request) -> dict[str, Any]:
    return {"version": VERSION}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["ollama"],
    provider=OLLAMA,
    routes=(
        Route("/api/chat", "/api/chat", variant=_variant(CHAT)),
        Route("/api/generate", "/api/generate", variant=_variant(GENERATE)),
    ),
    rules=OLLAMA_RULES,
    validate=validate,
    variant=lambda body: (CHAT, body.get("stream") is not False),
    is_stream=_is_stream,
    fill=fill,
    response_type=ResponseType("ollama"),
    contract=CHAT_TERMS,
    render=render,
    describe=describe,
    streaming=Streaming(
        events=stream_events,
        shortest=(GENERATE, True),
        media=lambda variant: (NDJSON_TYPE, None),
        malformed_event=lambda variant: b"{not json\n",
        error_event=error_event,
        reassemble=reassemble,
    ),
    recorded_match=recorded_match,
    endpoints=(Endpoint(Route("/api/version", "/api/version", method="GET"), version),),
    input_tokens=prompt_tokens,
)
