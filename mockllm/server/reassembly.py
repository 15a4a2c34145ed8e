"""A recorded answer as the non-stream answer object of its API, so that one mock replays it both
as a stream and not.

Each function takes what the upstream sent (a JSON body, or the bytes of an SSE stream) and gives
the object the API would have answered without ``stream``; None when the stream is incomplete (it
was cut short), which is then not recorded.
"""

from __future__ import annotations

import struct
from base64 import b64decode
from typing import Any

import orjson

from ..apis import ApiKey

__all__ = ["embeddings_as_floats", "sse_events", "stream_answer"]


def sse_events(raw: bytes) -> list[Any]:
    """The JSON ``data`` of each event of an SSE stream, in order (``[DONE]`` and comments left
    out; an event whose data is not JSON is skipped)."""
    events: list[Any] = []
    text = raw.replace(b"\r\n", b"\n")
    for block in text.split(b"\n\n"):
        data = [line[5:].removeprefix(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
        if not data:
            continue
        payload = b"\n".join(data)
        if payload.strip() == b"[DONE]":
            continue
        try:
            events.append(orjson.loads(payload))
        except orjson.JSONDecodeError:
            continue
    return events


def stream_answer(api: ApiKey, raw: bytes) -> dict[str, Any] | None:
    """The non-stream answer object of a complete stream of ``api``, or None."""
    events = [event for event in sse_events(raw) if isinstance(event, dict)]
    if api == "openai":
        return _chat(events, complete=raw.rstrip().endswith(b"[DONE]"))
    if api == "openai_response":
        return _responses(events)
    if api == "anthropic":
        return _anthropic(events)
    return None


def _chat(chunks: list[dict[str, Any]], *, complete: bool) -> dict[str, Any] | None:
    if not complete or not chunks:
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


_FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete"})


def _responses(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    # The final event carries the whole response: nothing to put together.
    for event in reversed(events):
        if event.get("type") in _FINAL_RESPONSE_EVENTS and isinstance(event.get("response"), dict):
            response: dict[str, Any] = event["response"]
            return response
    return None


def _anthropic(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    message: dict[str, Any] | None = None
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, str] = {}
    stopped = False
    for event in events:
        kind = event.get("type")
        if kind == "message_start":
            message = dict(event.get("message") or {})
        elif kind == "content_block_start":
            blocks[event.get("index", len(blocks))] = dict(event.get("content_block") or {})
        elif kind == "content_block_delta":
            index = event.get("index", 0)
            block, delta = blocks.setdefault(index, {}), event.get("delta") or {}
            delta_kind = delta.get("type")
            if delta_kind == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif delta_kind == "input_json_delta":
                partial_json[index] = partial_json.get(index, "") + delta.get("partial_json", "")
            elif delta_kind == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            elif delta_kind == "signature_delta":
                block["signature"] = block.get("signature", "") + delta.get("signature", "")
            elif delta_kind == "citations_delta":
                block.setdefault("citations", []).append(delta.get("citation"))
        elif kind == "message_delta" and message is not None:
            for key, value in (event.get("delta") or {}).items():
                message[key] = value
            if isinstance(event.get("usage"), dict):
                message["usage"] = {**(message.get("usage") or {}), **event["usage"]}
        elif kind == "message_stop":
            stopped = True
    if message is None or not stopped:
        return None
    for index, text in partial_json.items():
        try:
            blocks[index]["input"] = orjson.loads(text) if text.strip() else {}
        except orjson.JSONDecodeError:
            return None
    message["content"] = [blocks[index] for index in sorted(blocks)]
    return message


def embeddings_as_floats(answer: dict[str, Any]) -> dict[str, Any]:
    """An embeddings answer with each base64 vector (little-endian float32, the SDK's default
    encoding) written out as numbers, so a person can read the cassette. mockllm encodes them
    back when a request asks for base64: float32 values survive the round trip exactly."""
    data = answer.get("data")
    if not isinstance(data, list):
        return answer
    items = []
    for item in data:
        vector = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(vector, str):
            raw = b64decode(vector)
            item = {**item, "embedding": list(struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) // 4 * 4]))}
        items.append(item)
    return {**answer, "data": items}
