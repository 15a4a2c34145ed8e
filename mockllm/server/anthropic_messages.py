"""``POST /v1/messages``: Anthropic Message answers and their event streams."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import orjson

from ..apis import API_BY_KEY
from ..matching import ANTHROPIC_RULES
from .errors import ApiError
from .handler import (
    ApiHandler,
    Request,
    check_bool,
    check_content,
    check_model,
    check_object_list,
    describe_last_message,
    estimate_tokens,
)
from .sse import sse_event, text_pieces

__all__ = ["HANDLER"]

JSON, SSE = "json", "sse"


def validate(body: Request) -> None:
    check_model(body)
    check_object_list(body, "messages", required=True)
    for i, message in enumerate(body["messages"]):
        if not isinstance(message.get("role"), str):
            raise ApiError(400, f"messages.{i}.role: Field required")
        check_content(message.get("content"), f"messages.{i}.content", allow_null=False)
    if "system" in body:
        check_content(body["system"], "system", allow_null=False)
    check_object_list(body, "tools", required=False)
    for i, tool in enumerate(body.get("tools") or []):
        if "name" in tool and not isinstance(tool["name"], str):
            raise ApiError(400, f"tools.{i}.name: Input should be a valid string")
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)):
        raise ApiError(400, "max_tokens: Input should be a valid integer")
    check_bool(body, "stream")


def variant(body: Request) -> Hashable:
    return SSE if body.get("stream") is True else JSON


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    out.setdefault("id", f"msg_mockllm_{position}")
    out.setdefault("type", "message")
    out.setdefault("role", "assistant")
    content = out.get("content")
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise ValueError("response.content: expected a list of content blocks")
    blocks = out["content"] = [_fill_block(block, k, position) for k, block in enumerate(content)]
    has_tool_use = any(block.get("type") == "tool_use" for block in blocks)
    out.setdefault("stop_reason", "tool_use" if has_tool_use else "end_turn")
    out.setdefault("stop_sequence", None)
    if "usage" not in out:
        texts = [b.get("text") or b.get("thinking") or "" for b in blocks]
        texts += [orjson.dumps(b["input"]).decode() for b in blocks if "input" in b]
        out["usage"] = {"input_tokens": 0, "output_tokens": estimate_tokens(*texts)}
    return out


def _fill_block(block: dict[str, Any], k: int, position: int) -> dict[str, Any]:
    out = dict(block)
    if out.get("type") == "tool_use":
        out.setdefault("id", f"toolu_mockllm_{position}_{k}")
        out.setdefault("input", {})
    elif out.get("type") == "thinking":
        out.setdefault("signature", "")
    return out


def render(response: dict[str, Any], variant: Any) -> bytes:
    if variant == JSON:
        return orjson.dumps(response)
    return _stream(response)


def _stream(response: dict[str, Any]) -> bytes:
    events: list[bytes] = []

    def emit(kind: str, **fields: Any) -> None:
        # Anthropic SDKs skip events without an "event:" line.
        events.append(sse_event({"type": kind, **fields}, kind))

    usage = response.get("usage") or {}
    start = {
        **response,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 0},
    }
    emit("message_start", message=start)
    emit("ping")
    for index, block in enumerate(response["content"]):
        kind = block.get("type")
        if kind == "text":
            emit("content_block_start", index=index, content_block={**block, "text": ""})
            for piece in text_pieces(block.get("text", "")):
                emit("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
        elif kind == "tool_use":
            emit("content_block_start", index=index, content_block={**block, "input": {}})
            tool_input = block.get("input")
            if tool_input:
                for piece in text_pieces(orjson.dumps(tool_input).decode()):
                    delta = {"type": "input_json_delta", "partial_json": piece}
                    emit("content_block_delta", index=index, delta=delta)
        elif kind == "thinking":
            empty = {**block, "thinking": "", "signature": ""}
            emit("content_block_start", index=index, content_block=empty)
            for piece in text_pieces(block.get("thinking", "")):
                delta = {"type": "thinking_delta", "thinking": piece}
                emit("content_block_delta", index=index, delta=delta)
            if block.get("signature"):
                delta = {"type": "signature_delta", "signature": block["signature"]}
                emit("content_block_delta", index=index, delta=delta)
        else:  # redacted thinking, server tool blocks, …: whole in the start event
            emit("content_block_start", index=index, content_block=block)
        emit("content_block_stop", index=index)
    stop = {"stop_reason": response.get("stop_reason"), "stop_sequence": response.get("stop_sequence")}
    emit("message_delta", delta=stop, usage=usage)
    emit("message_stop")
    return b"".join(events)


HANDLER = ApiHandler(
    spec=API_BY_KEY["anthropic"],
    rules=ANTHROPIC_RULES,
    validate=validate,
    variant=variant,
    is_stream=lambda v: v == SSE,
    fill=fill,
    render=render,
    describe=describe_last_message,
)
