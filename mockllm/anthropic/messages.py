"""``POST /v1/messages``: Anthropic Message answers and their event streams."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any
from urllib.parse import unquote

import orjson
from sanic import Request as HttpRequest

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
    json_or_events,
    json_or_stream,
)
from ..server.errors import ApiError
from ..server.eventstream import EVENTSTREAM_TYPE, broken_frame, chunk_frame
from ..server.faults import ERROR_MESSAGE, MALFORMED_DATA
from ..server.provider import Endpoint, Route
from ..server.sse import sse_event, sse_events, sse_media, text_pieces
from ..server.usage import Prompt
from .contract import MESSAGES_TERMS
from .matching import ANTHROPIC_RULES, anthropic_turns
from .provider import ANTHROPIC

__all__ = ["ADAPTER", "count_tokens", "validate_prompt"]


def validate(body: Request) -> None:
    validate_prompt(body)
    if "max_tokens" not in body:
        raise ApiError(400, "max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if type(max_tokens) is not int:
        raise ApiError(400, "max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise ApiError(400, "max_tokens: Input should be greater than or equal to 1")
    check_bool(body, "stream")


def validate_prompt(body: Request) -> None:
    """The checks a Messages request and a ``count_tokens`` request share: the model, the messages,
    the system prompt and the tools."""
    check_model(body)
    check_object_list(body.get("messages"), "messages", required=True)
    for i, message in enumerate(body["messages"]):
        if not isinstance(message.get("role"), str):
            raise ApiError(400, f"messages.{i}.role: Field required")
        content = message.get("content")
        if type(content) is not str:  # the path is spelled out only for content worth a look
            check_content(content, f"messages.{i}.content", allow_null=False, dotted=True)
    if "system" in body:
        check_content(body["system"], "system", allow_null=False, dotted=True)
    # An empty list is no tools: the real API takes it, and some frameworks send it.
    check_object_list(body.get("tools"), "tools", required=False, non_empty=False)
    for i, tool in enumerate(body.get("tools") or []):
        if "name" in tool and not isinstance(tool["name"], str):
            raise ApiError(400, f"tools.{i}.name: Input should be a valid string")


_TEXT_KEYS = ("text", "thinking")
"""The fields whose text a block counts by (other blocks count by their JSON)."""


def count_tokens(body: Request) -> int:
    """``POST /v1/messages/count_tokens``, and the ``input_tokens`` of an answer's usage: the
    prompt's size by `estimate_tokens`, of the text of the system prompt and of text and thinking
    blocks, and of the JSON of other blocks and of the tools."""
    prompt = Prompt()
    prompt.content(body.get("system"), _TEXT_KEYS)
    for message in body["messages"]:
        prompt.content(message["content"], _TEXT_KEYS)
    prompt.json_items(body.get("tools"))
    return max(1, prompt.tokens())


def token_count(body: Request) -> dict[str, Any]:
    """``POST /v1/messages/count_tokens``."""
    validate_prompt(body)
    return {"input_tokens": count_tokens(body)}


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    out.setdefault("id", f"msg_mockllm_{position}")
    out.setdefault("type", "message")
    out.setdefault("role", "assistant")
    content = out.get("content")
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise ValueError("response.content: expected a list of content blocks")
    blocks = out["content"] = _fill_blocks(content, position)
    has_tool_use = any(block.get("type") == "tool_use" for block in blocks)
    out.setdefault("stop_reason", "tool_use" if has_tool_use else "end_turn")
    out.setdefault("stop_sequence", None)
    if "usage" not in out:
        texts = [b.get("text") or b.get("thinking") for b in blocks]
        texts += [orjson.dumps(b["input"]).decode() for b in blocks if "input" in b]
        out["usage"] = {
            "input_tokens": INPUT_TOKENS,
            "output_tokens": estimate_tokens(*texts),
            **_server_tool_usage(blocks),
        }
    elif not isinstance(out["usage"], dict):
        # The stream's message_start and message_delta carry the usage, as an object.
        raise ValueError("response.usage: expected an object")
    return out


def _server_tool_usage(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """What the real API adds to the usage of an answer for which Anthropic's servers searched or
    fetched the web: how many times each (none for an answer that did neither)."""
    runs = [block.get("name") for block in blocks if block.get("type") == "server_tool_use"]
    searches, fetches = runs.count("web_search"), runs.count("web_fetch")
    if not searches and not fetches:
        return {}
    return {"server_tool_use": {"web_search_requests": searches, "web_fetch_requests": fetches}}


# Blocks whose input the stream sends in input_json_delta events, and the prefix of their ids.
_TOOL_INPUT_BLOCKS = {"tool_use": "toolu", "server_tool_use": "srvtoolu", "mcp_tool_use": "mcptoolu"}
# A result block answers the latest call block of this type before it (its tool_use_id is filled
# from that call's id when absent).
_RESULT_OF = {"web_search_tool_result": "server_tool_use", "mcp_tool_result": "mcp_tool_use"}


def _fill_blocks(content: list[dict[str, Any]], position: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    latest: dict[str, Any] = {}  # call block type -> the id of the latest such block
    for k, block in enumerate(content):
        out = _fill_block(block, k, position)
        kind = out.get("type")
        if not isinstance(kind, str):  # not a block of the SDK's: served as written
            pass
        elif kind in _TOOL_INPUT_BLOCKS:
            latest[kind] = out.get("id")
        elif kind in _RESULT_OF:
            call_id = latest.get(_RESULT_OF[kind])
            if call_id is not None:
                out.setdefault("tool_use_id", call_id)
            if kind == "mcp_tool_result":
                out.setdefault("is_error", False)
        blocks.append(out)
    return blocks


def _fill_block(block: dict[str, Any], k: int, position: int) -> dict[str, Any]:
    out = dict(block)
    kind = out.get("type")
    where = f"response.content[{k}]"
    prefix = _TOOL_INPUT_BLOCKS.get(str(kind))
    if prefix is not None:
        out.setdefault("id", f"{prefix}_mockllm_{position}_{k}")
        out.setdefault("input", {})
        if kind != "tool_use" and not isinstance(out["input"], dict):  # streamed as JSON deltas
            raise ValueError(f"{where}.input: expected an object")
    elif kind == "thinking":
        out.setdefault("signature", "")
    if kind in ("text", "thinking"):
        # The stream sends this text in deltas: a string (absent is empty).
        text = out.setdefault(kind, "")
        if not isinstance(text, str):
            raise ValueError(f"{where}.{kind}: expected a string")
    if kind == "text" and not isinstance(out.get("citations", []), list | None):
        raise ValueError(f"{where}.citations: expected a list of citations or null")  # streamed one by one
    return out


def stream_events(response: dict[str, Any], variant: Any) -> list[bytes]:
    """The stream's events: SSE (each named, as the SDKs skip an event without an ``event:``
    line), or on Bedrock's InvokeModelWithResponseStream each in an event-stream ``chunk``."""
    if variant == BEDROCK_EVENTS:
        return [chunk_frame(event) for event in _events(response)]
    return [sse_event(event, event["type"]) for event in _events(response)]


def _events(response: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, **fields})

    usage = response["usage"]
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
        if not isinstance(kind, str):
            kind = None  # sent whole, as any block of a type the SDK lacks
        if kind == "text":
            citations = block.get("citations")
            start = {**block, "text": ""}
            if citations:  # each arrives in a citations_delta, before the text it cites
                start["citations"] = []
            emit("content_block_start", index=index, content_block=start)
            for citation in citations or ():
                emit(
                    "content_block_delta",
                    index=index,
                    delta={"type": "citations_delta", "citation": citation},
                )
            for piece in text_pieces(block["text"]):
                emit("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
        elif kind in _TOOL_INPUT_BLOCKS:
            emit("content_block_start", index=index, content_block={**block, "input": {}})
            tool_input = block.get("input")
            if tool_input:
                for piece in text_pieces(orjson.dumps(tool_input).decode()):
                    delta = {"type": "input_json_delta", "partial_json": piece}
                    emit("content_block_delta", index=index, delta=delta)
        elif kind == "thinking":
            empty = {**block, "thinking": "", "signature": ""}
            emit("content_block_start", index=index, content_block=empty)
            for piece in text_pieces(block["thinking"]):
                delta = {"type": "thinking_delta", "thinking": piece}
                emit("content_block_delta", index=index, delta=delta)
            if block.get("signature"):
                delta = {"type": "signature_delta", "signature": block["signature"]}
                emit("content_block_delta", index=index, delta=delta)
        else:  # redacted thinking, tool result blocks, …: whole in the start event
            emit("content_block_start", index=index, content_block=block)
        emit("content_block_stop", index=index)
    stop = {"stop_reason": response.get("stop_reason"), "stop_sequence": response.get("stop_sequence")}
    emit("message_delta", delta=stop, usage=usage)
    emit("message_stop")
    return events


def reassemble(raw: bytes) -> dict[str, Any] | None:
    """A recorded stream as the Message it streamed (None without its ``message_stop``)."""
    events = [event for event in sse_events(raw) if isinstance(event, dict)]
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


def error_event(response: dict[str, Any], position: int, variant: Hashable) -> bytes:
    event = {"type": "error", "error": {"type": "overloaded_error", "message": ERROR_MESSAGE}}
    return chunk_frame(event) if variant == BEDROCK_EVENTS else sse_event(event, "error")


def _malformed(variant: Hashable) -> bytes:
    if variant == BEDROCK_EVENTS:
        return broken_frame()
    # The Anthropic SDKs skip an event without an "event:" line unread: name it as a delta.
    return b"event: content_block_delta\n" + MALFORMED_DATA


def _media(variant: Hashable) -> tuple[str, dict[str, str] | None]:
    return (EVENTSTREAM_TYPE, None) if variant == BEDROCK_EVENTS else sse_media(variant)


# --- Claude on Bedrock -------------------------------------------------------------------------------

BEDROCK_EVENTS = "bedrock-eventstream"
"""The stream variant of InvokeModelWithResponseStream: each event in an event-stream ``chunk``."""


def _on_bedrock(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    """InvokeModel's body is Messages' with ``anthropic_version`` in it, and the model in the URL."""
    if not isinstance(body.get("anthropic_version"), str):
        raise ApiError(400, "anthropic_version: Field required (InvokeModel takes it in the body)")
    return {**body, "model": unquote(request.match_info["model_id"])}


def _bedrock_routes() -> tuple[Route, ...]:
    """Claude on Bedrock: the same mocks on InvokeModel's routes (not forwarded when recording:
    their upstream is AWS's, per region)."""
    return (
        Route(
            "/model/<model_id:path>/invoke",
            "/model/{modelId}/invoke",
            flavor="bedrock",
            into_request=_on_bedrock,
            variant=lambda request, body: JSON,
            records=False,
        ),
        Route(
            "/model/<model_id:path>/invoke-with-response-stream",
            "/model/{modelId}/invoke-with-response-stream",
            flavor="bedrock",
            into_request=_on_bedrock,
            variant=lambda request, body: BEDROCK_EVENTS,
            records=False,
        ),
    )


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    messages = body.get("messages") or [None]
    return {"match_type": style, "message": messages[-1], "turn": anthropic_turns(body)}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["anthropic"],
    provider=ANTHROPIC,
    routes=(Route("/v1/messages", "/v1/messages"), *_bedrock_routes()),
    rules=ANTHROPIC_RULES,
    validate=validate,
    variant=json_or_stream,
    is_stream=lambda variant: variant != JSON,
    fill=fill,
    response_type=ResponseType("anthropic"),
    contract=MESSAGES_TERMS,
    render=json_or_events(stream_events),
    describe=describe_last_message,
    streaming=Streaming(
        events=stream_events,
        shortest=SSE,
        media=_media,
        malformed_event=_malformed,
        error_event=error_event,
        reassemble=reassemble,
    ),
    recorded_match=recorded_match,
    id_prefix="msg_",
    endpoints=(Endpoint(Route("/v1/messages/count_tokens", "/v1/messages/count_tokens"), token_count),),
    input_tokens=count_tokens,
)
