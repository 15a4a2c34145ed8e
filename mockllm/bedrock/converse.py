"""``POST /model/{modelId}/converse`` and ``/converse-stream``: Converse answers and their
event streams.

The stream is binary event-stream frames (`mockllm.server.eventstream`), each payload the event's
own fields: ``messageStart``; per content block, a ``contentBlockStart`` for a tool use (a text or
reasoning block starts with its first delta), ``contentBlockDelta`` events (text pieces, the tool
input as JSON pieces, reasoning text then its signature) and ``contentBlockStop``; then
``messageStop`` with the stop reason and ``metadata`` with the usage.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import orjson
from sanic import Request as HttpRequest

from ..apis import API_BY_KEY
from ..contract.shapes import ResponseType
from ..server.adapter import (
    INPUT_TOKENS,
    JSON,
    ApiAdapter,
    MatchStyle,
    Request,
    Streaming,
    check_model,
    check_object_list,
    estimate_tokens,
    input_tokens_plus,
)
from ..server.errors import ApiError
from ..server.eventstream import EVENTSTREAM_TYPE, broken_frame, event_frame, exception_frame, frames
from ..server.faults import ERROR_MESSAGE
from ..server.provider import Route
from ..server.sse import text_pieces
from ..server.usage import Prompt
from .contract import CONVERSE_TERMS
from .matching import BEDROCK_RULES, bedrock_turns
from .provider import BEDROCK

__all__ = ["ADAPTER", "EVENTS", "model_from_url"]

EVENTS = "eventstream"
"""The stream variant: event-stream frames."""


def model_from_url(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    """The model id in the URL is the request's; boto3 sends ``:`` as ``%3A``, and Sanic hands the
    segment over as sent."""
    return {**body, "model": unquote(request.match_info["model_id"])}


def validate(body: Request) -> None:
    check_model(body)
    check_object_list(body.get("messages"), "messages", required=True)
    for i, message in enumerate(body["messages"]):
        if message.get("role") not in ("user", "assistant"):
            raise ApiError(400, f"messages.{i}.role: expected 'user' or 'assistant'")
        check_object_list(message.get("content"), f"messages.{i}.content", required=True, non_empty=False)
        for j, block in enumerate(message["content"]):
            if "text" in block and not isinstance(block["text"], str):
                raise ApiError(400, f"messages.{i}.content.{j}.text: expected a string")
    check_object_list(body.get("system"), "system", required=False, non_empty=False)
    for key in ("toolConfig", "inferenceConfig"):
        if key in body and not isinstance(body[key], dict):
            raise ApiError(400, f"{key}: expected an object")


def prompt_tokens(body: Request) -> int:
    """The prompt's size by `estimate_tokens`: the text of the system blocks and of the messages'
    text blocks, the JSON of their other blocks and of the tool configuration's tools."""
    prompt = Prompt()
    prompt.content(body.get("system"))
    for message in body["messages"]:
        prompt.content(message["content"])
    tool_config = body.get("toolConfig")
    if isinstance(tool_config, dict):
        prompt.json_items(tool_config.get("tools"))
    return prompt.tokens()


def describe(body: Request) -> str:
    messages = body.get("messages") or []
    return f"last message {orjson.dumps(messages[-1] if messages else None).decode()[:200]}"


# --- answers ---------------------------------------------------------------------------------------


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    output = out.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    if not isinstance(message, dict):
        raise ValueError(
            'response.output.message: expected a message ({"role": "assistant", "content": [...]})'
        )
    content = message.get("content", [])
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise ValueError("response.output.message.content: expected a list of content blocks")
    blocks = [_fill_block(block, k, position) for k, block in enumerate(content)]
    out["output"] = {**out["output"], "message": {"role": "assistant", **message, "content": blocks}}
    has_tool_use = any("toolUse" in block for block in blocks)
    out.setdefault("stopReason", "tool_use" if has_tool_use else "end_turn")
    if "usage" not in out:
        texts = [b.get("text") for b in blocks] + [
            orjson.dumps(b["toolUse"]["input"]).decode() for b in blocks if "toolUse" in b
        ]
        tokens = estimate_tokens(*texts)
        out["usage"] = {
            "inputTokens": INPUT_TOKENS,
            "outputTokens": tokens,
            "totalTokens": input_tokens_plus(tokens),
        }
    elif not isinstance(out["usage"], dict):
        raise ValueError("response.usage: expected an object")
    out.setdefault("metrics", {"latencyMs": 0})
    return out


def _fill_block(block: dict[str, Any], k: int, position: int) -> dict[str, Any]:
    where = f"response.output.message.content[{k}]"
    if "text" in block and not isinstance(block["text"], str):
        raise ValueError(f"{where}.text: expected a string")
    use = block.get("toolUse")
    if use is not None:
        if not isinstance(use, dict) or not isinstance(use.get("name"), str):
            raise ValueError(f"{where}.toolUse: expected an object with a name")
        return {**block, "toolUse": {"toolUseId": f"tooluse_mockllm_{position}_{k}", "input": {}, **use}}
    reasoning = block.get("reasoningContent")
    if reasoning is not None:
        text = reasoning.get("reasoningText") if isinstance(reasoning, dict) else None
        if text is not None and (not isinstance(text, dict) or not isinstance(text.get("text", ""), str)):
            raise ValueError(f"{where}.reasoningContent.reasoningText: expected an object with a text")
    return block


def stream_events(response: dict[str, Any], variant: Any) -> list[bytes]:
    message = response["output"]["message"]
    events = [event_frame("messageStart", {"role": message["role"]})]
    for index, block in enumerate(message["content"]):
        at = {"contentBlockIndex": index}
        if isinstance(block.get("text"), str):
            events += [
                event_frame("contentBlockDelta", {**at, "delta": {"text": p}})
                for p in text_pieces(block["text"]) or [""]
            ]
        elif "toolUse" in block:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            events.append(event_frame("contentBlockStart", {**at, "start": start}))
            pieces = text_pieces(orjson.dumps(use["input"]).decode())
            events += [
                event_frame("contentBlockDelta", {**at, "delta": {"toolUse": {"input": p}}}) for p in pieces
            ]
        elif isinstance(block.get("reasoningContent"), dict):
            reasoning = block["reasoningContent"]
            text = reasoning.get("reasoningText") or {}
            for piece in text_pieces(text.get("text", "")) or [""]:  # a block the stream must show
                events.append(
                    event_frame("contentBlockDelta", {**at, "delta": {"reasoningContent": {"text": piece}}})
                )
            if text.get("signature"):
                delta = {"reasoningContent": {"signature": text["signature"]}}
                events.append(event_frame("contentBlockDelta", {**at, "delta": delta}))
            if reasoning.get("redactedContent"):
                delta = {"reasoningContent": {"redactedContent": reasoning["redactedContent"]}}
                events.append(event_frame("contentBlockDelta", {**at, "delta": delta}))
        events.append(event_frame("contentBlockStop", at))
    events.append(event_frame("messageStop", {"stopReason": response["stopReason"]}))
    events.append(event_frame("metadata", {"usage": response["usage"], "metrics": response["metrics"]}))
    return events


def render(response: dict[str, Any], variant: Any) -> bytes:
    if variant == JSON:
        return orjson.dumps(response)
    return b"".join(stream_events(response, variant))


def reassemble(raw: bytes) -> dict[str, Any] | None:
    """A recorded Converse stream as the answer it streamed (None when cut short or failed)."""
    decoded = frames(raw)
    if decoded is None:
        return None
    blocks: dict[int, dict[str, Any]] = {}
    inputs: dict[int, str] = {}
    answer: dict[str, Any] = {}
    role = "assistant"
    for headers, event in decoded:
        kind = headers.get(":event-type")
        if headers.get(":message-type") != "event" or not isinstance(event, dict):
            return None
        index = event.get("contentBlockIndex", 0)
        if kind == "messageStart":
            role = event.get("role", role)
        elif kind == "contentBlockStart":
            use = (event.get("start") or {}).get("toolUse")
            if isinstance(use, dict):
                blocks[index] = {"toolUse": dict(use)}
        elif kind == "contentBlockDelta":
            delta = event.get("delta") or {}
            if "text" in delta:
                block = blocks.setdefault(index, {"text": ""})
                block["text"] = block.get("text", "") + delta["text"]
            elif "toolUse" in delta:
                inputs[index] = inputs.get(index, "") + delta["toolUse"].get("input", "")
            elif "reasoningContent" in delta:
                reasoning = blocks.setdefault(index, {"reasoningContent": {"reasoningText": {"text": ""}}})
                text = reasoning["reasoningContent"].setdefault("reasoningText", {"text": ""})
                part = delta["reasoningContent"]
                if "text" in part:
                    text["text"] = text.get("text", "") + part["text"]
                if "signature" in part:
                    text["signature"] = part["signature"]
        elif kind == "messageStop":
            answer["stopReason"] = event.get("stopReason")
        elif kind == "metadata":
            answer.update({k: v for k, v in event.items() if k in ("usage", "metrics")})
    if "stopReason" not in answer:
        return None
    for index, text in inputs.items():
        try:
            blocks[index]["toolUse"]["input"] = orjson.loads(text) if text.strip() else {}
        except (orjson.JSONDecodeError, KeyError):
            return None
    content = [blocks[index] for index in sorted(blocks)]
    return {"output": {"message": {"role": role, "content": content}}, **answer}


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    messages = body.get("messages") or [None]
    return {"match_type": style, "message": messages[-1], "turn": bedrock_turns(body)}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["bedrock"],
    provider=BEDROCK,
    routes=(
        Route(
            "/model/<model_id:path>/converse",
            "/model/{modelId}/converse",
            into_request=model_from_url,
            variant=lambda request, body: JSON,
        ),
        Route(
            "/model/<model_id:path>/converse-stream",
            "/model/{modelId}/converse-stream",
            into_request=model_from_url,
            variant=lambda request, body: EVENTS,
        ),
    ),
    rules=BEDROCK_RULES,
    validate=validate,
    variant=lambda body: JSON,
    is_stream=lambda variant: variant == EVENTS,
    fill=fill,
    response_type=ResponseType("bedrock"),
    contract=CONVERSE_TERMS,
    render=render,
    describe=describe,
    streaming=Streaming(
        events=stream_events,
        shortest=EVENTS,
        media=lambda variant: (EVENTSTREAM_TYPE, None),
        malformed_event=lambda variant: broken_frame(),
        error_event=lambda response, position, variant: exception_frame(
            "modelStreamErrorException", ERROR_MESSAGE
        ),
        reassemble=reassemble,
    ),
    recorded_match=recorded_match,
    model_field=None,
    input_tokens=prompt_tokens,
)
