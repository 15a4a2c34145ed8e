"""``POST /v1/responses``: Responses API answers and their typed event streams."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import orjson

from ..apis import API_BY_KEY
from ..contract.shapes import ResponseType
from ..server.adapter import (
    INPUT_TOKENS,
    SSE,
    ApiAdapter,
    MatchStyle,
    Request,
    Streaming,
    check_bool,
    check_content,
    check_model,
    describe_input,
    estimate_tokens,
    input_tokens_plus,
    is_sse,
    json_or_events,
    json_or_stream,
)
from ..server.errors import ApiError
from ..server.faults import ERROR_MESSAGE, malformed_sse
from ..server.provider import Route
from ..server.sse import sse_event, sse_events, sse_media, text_pieces
from ..server.usage import Prompt
from .azure import azure_routes
from .contract import RESPONSES_TERMS
from .matching import RESPONSES_RULES, responses_turns
from .provider import OPENAI

__all__ = ["ADAPTER"]

# Ids are filled when absent, with the prefix the real API uses for the item kind.
_ID_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "reasoning": "rs",
    "web_search_call": "ws",
    "file_search_call": "fs",
    "code_interpreter_call": "ci",
    "image_generation_call": "ig",
    "mcp_list_tools": "mcpl",
    "mcp_call": "mcp",
    "mcp_approval_request": "mcpr",
    "custom_tool_call": "ctc",
}
# Hosted tool calls the server runs: done by the time the response is.
_HOSTED_CALLS = frozenset(
    {"web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call"}
)
_ROLES = frozenset({"user", "assistant", "system", "developer"})


def validate(body: Request) -> None:
    check_model(body)
    value = body.get("input")
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise ApiError(400, f"'input[{i}]' must be an object", param=f"input[{i}]")
            kind = item.get("type")
            if kind is not None and type(kind) is not str:
                raise ApiError(400, f"'input[{i}].type' must be a string", param=f"input[{i}].type")
            role = item.get("role")
            if role is not None and (type(role) is not str or role not in _ROLES):
                raise ApiError(
                    400,
                    f"'input[{i}].role' must be one of 'user', 'assistant', 'system', 'developer'",
                    param=f"input[{i}].role",
                )
            content = item.get("content", "")
            if type(content) is not str:  # the path is spelled out only for content worth a look
                check_content(content, f"input[{i}].content", allow_null=False)
    elif value is not None and not isinstance(value, str):
        raise ApiError(400, "'input' must be a string or an array of input items", param="input")
    check_bool(body, "stream")


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    out.setdefault("id", f"resp_mockllm_{position}")
    out.setdefault("object", "response")
    out.setdefault("created_at", created)
    out.setdefault("status", "completed")
    output = out.get("output", [])
    if not isinstance(output, list) or not all(isinstance(item, dict) for item in output):
        raise ValueError("response.output: expected a list of output item objects")
    out["output"] = [_fill_item(item, k, position) for k, item in enumerate(output)]
    out.setdefault("parallel_tool_calls", True)
    out.setdefault("tool_choice", "auto")
    out.setdefault("tools", [])
    if "usage" not in out:
        texts = [_item_text(item) for item in out["output"]]
        tokens = estimate_tokens(*texts)
        out["usage"] = {
            "input_tokens": INPUT_TOKENS,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens_plus(tokens),
        }
    return out


def prompt_tokens(body: Request) -> int:
    """The prompt's size by `estimate_tokens`: the instructions, the input's text (a message's
    text parts, a tool output's text, the JSON of any other item or part), and the JSON of the
    tools."""
    prompt = Prompt()
    prompt.content(body.get("instructions"))
    value = body.get("input")
    for item in value if isinstance(value, list) else (value,):
        if isinstance(item, dict) and ("content" in item or "output" in item):
            prompt.content(item.get("content", item.get("output")))
        else:
            prompt.content(item)
    prompt.json_items(body.get("tools"))
    return prompt.tokens()


def _fill_item(item: dict[str, Any], k: int, position: int) -> dict[str, Any]:
    out = dict(item)
    kind = out.get("type")
    if kind is None and "content" in out:  # kagent-style message without "type"
        kind = out["type"] = "message"
    if not isinstance(kind, str):
        return out  # not a type of the SDK's: served as written, like any item of a type it lacks
    prefix = _ID_PREFIX.get(kind)
    if prefix is not None:
        out.setdefault("id", f"{prefix}_mockllm_{position}_{k}")
    where = f"response.output[{k}]"
    if kind == "message":
        out.setdefault("status", "completed")
        out.setdefault("role", "assistant")
        out["content"] = [
            _fill_part(part, f"{where}.content[{j}]") for j, part in enumerate(_parts(out, "content", where))
        ]
    elif kind == "function_call":
        out.setdefault("call_id", f"call_mockllm_{position}_{k}")
        out.setdefault("arguments", "{}")
        out.setdefault("status", "completed")
    elif kind == "reasoning":
        summary = _parts(out, "summary", where)
        out["summary"] = [_text_part(part, "text", f"{where}.summary[{j}]") for j, part in enumerate(summary)]
    elif kind in _HOSTED_CALLS:
        out.setdefault("status", "completed")
        if kind == "file_search_call":
            out.setdefault("queries", [])
        elif kind == "code_interpreter_call":
            out.setdefault("container_id", f"cntr_mockllm_{position}")
            _check_text(out, "code", where, nullable=True)
        elif kind == "image_generation_call":
            _check_text(out, "result", where, nullable=True)
    elif kind in ("mcp_call", "mcp_approval_request"):
        out.setdefault("arguments", "{}")
        if kind == "mcp_call":
            out.setdefault("status", "failed" if out.get("error") else "completed")
    elif kind == "mcp_list_tools":
        out.setdefault("tools", [])
    elif kind == "custom_tool_call":
        out.setdefault("call_id", f"call_mockllm_{position}_{k}")
        out.setdefault("input", "")
        _check_text(out, "input", where, nullable=False)
    return out


def _check_text(item: dict[str, Any], key: str, where: str, *, nullable: bool) -> None:
    """A field the stream sends in deltas (or in one event) must be a string."""
    value = item.get(key)
    if not isinstance(value, str) and not (nullable and value is None):
        raise ValueError(f"{where}.{key}: expected a string{' or null' if nullable else ''}")


def _parts(item: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """An item's list of parts (``content``, ``summary``); absent or null is none."""
    parts = item.get(key)
    if parts is None:
        return []
    if not isinstance(parts, list) or not all(isinstance(part, dict) for part in parts):
        raise ValueError(f"{where}.{key}: expected a list of objects")
    return parts


def _fill_part(part: dict[str, Any], where: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "output_text":
        return {**_text_part(part, "text", where), "annotations": part.get("annotations", [])}
    if kind == "refusal":
        return _text_part(part, "refusal", where)
    return part


def _text_part(part: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """A part whose ``key`` is its text: streamed in deltas, so a string (absent is empty)."""
    text = part.get(key, "")
    if not isinstance(text, str):
        raise ValueError(f"{where}.{key}: expected a string")
    return {**part, key: text}


def _item_text(item: dict[str, Any]) -> str:
    """What the model wrote in an item, for the usage estimate."""
    key = _GENERATED_TEXT.get(str(item.get("type")))
    if key is not None:
        text = item.get(key)
        return text if isinstance(text, str) else ""
    texts = []
    for key in ("content", "summary"):
        parts = item.get(key)
        if isinstance(parts, list):
            texts += [p.get("text") for p in parts if isinstance(p, dict)]
    return "".join(t for t in texts if isinstance(t, str))


# The field of an item the model writes itself (tool calls' arguments, code, custom input).
_GENERATED_TEXT = {
    "function_call": "arguments",
    "mcp_call": "arguments",
    "mcp_approval_request": "arguments",
    "code_interpreter_call": "code",
    "custom_tool_call": "input",
}


def _json_text(value: Any) -> str:
    """Arguments as the stream carries them: JSON text (a config may write them as an object)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def stream_events(response: dict[str, Any], variant: Any) -> list[bytes]:
    return _Stream(response).all_events()


class _Stream:
    """The event sequence ``responses.stream()`` accepts: created, in_progress, then for each
    output item added → its parts and deltas → done, and completed with the full response."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        self.events: list[bytes] = []

    def emit(self, kind: str, **fields: Any) -> None:
        data = {"type": kind, **fields, "sequence_number": len(self.events)}
        self.events.append(sse_event(data, kind))

    def all_events(self) -> list[bytes]:
        response = self.response
        snapshot = {**response, "status": "in_progress", "output": []}
        snapshot.pop("usage", None)
        self.emit("response.created", response=snapshot)
        self.emit("response.in_progress", response=snapshot)
        for index, item in enumerate(response["output"]):
            steps = _ITEM_STEPS.get(str(item.get("type")), _Stream._whole)
            steps(self, index, item)
        self.emit("response.completed", response=response)
        return self.events

    def _whole(self, index: int, item: dict[str, Any]) -> None:
        """An item without events of its own (an approval request, say) arrives whole."""
        self.emit("response.output_item.added", output_index=index, item=item)
        self.emit("response.output_item.done", output_index=index, item=item)

    def _tool(
        self,
        index: int,
        item: dict[str, Any],
        added: dict[str, Any],
        family: str,
        steps: tuple[str, ...],
        end: str = "completed",
    ) -> None:
        """A tool call without deltas: added (with ``added`` over the item), ``family.<step>``
        for each step, then ``family.<end>``, and done with the whole item."""
        self.emit("response.output_item.added", output_index=index, item={**item, **added})
        at = {"item_id": item.get("id"), "output_index": index}
        for step in steps:
            self.emit(f"{family}.{step}", **at)
        self.emit(f"{family}.{end}", **at)
        self.emit("response.output_item.done", output_index=index, item=item)

    def _deltas(self, at: dict[str, Any], family: str, key: str, text: str) -> None:
        """``family.delta`` events whose concatenation is ``text``, then ``family.done``."""
        for piece in text_pieces(text):
            self.emit(f"{family}.delta", **at, delta=piece)
        self.emit(f"{family}.done", **at, **{key: text})

    def _search(self, index: int, item: dict[str, Any]) -> None:
        family = f"response.{item['type']}"  # web_search_call or file_search_call
        added: dict[str, Any] = {"status": "in_progress"}
        if "results" in item:  # file search results come with the finished item
            added["results"] = None
        self._tool(index, item, added, family, ("in_progress", "searching"))

    def _code_interpreter(self, index: int, item: dict[str, Any]) -> None:
        added = {"status": "in_progress", "code": "", "outputs": None}
        self.emit("response.output_item.added", output_index=index, item={**item, **added})
        at = {"item_id": item.get("id"), "output_index": index}
        self.emit("response.code_interpreter_call.in_progress", **at)
        self._deltas(at, "response.code_interpreter_call_code", "code", item.get("code") or "")
        self.emit("response.code_interpreter_call.interpreting", **at)
        self.emit("response.code_interpreter_call.completed", **at)
        self.emit("response.output_item.done", output_index=index, item=item)

    def _image_generation(self, index: int, item: dict[str, Any]) -> None:
        self.emit(
            "response.output_item.added",
            output_index=index,
            item={**item, "status": "in_progress", "result": None},
        )
        at = {"item_id": item.get("id"), "output_index": index}
        self.emit("response.image_generation_call.in_progress", **at)
        self.emit("response.image_generation_call.generating", **at)
        result = item.get("result")
        if result:  # the one partial image a mock has: the final one
            image = {k: item[k] for k in ("background", "output_format", "quality", "size") if k in item}
            self.emit(
                "response.image_generation_call.partial_image",
                **at,
                partial_image_index=0,
                partial_image_b64=result,
                **image,
            )
        self.emit("response.image_generation_call.completed", **at)
        self.emit("response.output_item.done", output_index=index, item=item)

    def _mcp_list_tools(self, index: int, item: dict[str, Any]) -> None:
        end = "failed" if item.get("error") else "completed"
        self._tool(index, item, {"tools": []}, "response.mcp_list_tools", ("in_progress",), end)

    def _mcp_call(self, index: int, item: dict[str, Any]) -> None:
        added = {"status": "in_progress", "arguments": "", "output": None, "error": None}
        self.emit("response.output_item.added", output_index=index, item={**item, **added})
        at = {"item_id": item.get("id"), "output_index": index}
        self.emit("response.mcp_call.in_progress", **at)
        self._deltas(at, "response.mcp_call_arguments", "arguments", _json_text(item.get("arguments", "")))
        end = "failed" if item.get("error") or item.get("status") == "failed" else "completed"
        self.emit(f"response.mcp_call.{end}", **at)
        self.emit("response.output_item.done", output_index=index, item=item)

    def _custom_tool_call(self, index: int, item: dict[str, Any]) -> None:
        self.emit("response.output_item.added", output_index=index, item={**item, "input": ""})
        at = {"item_id": item.get("id"), "output_index": index}
        self._deltas(at, "response.custom_tool_call_input", "input", item["input"])
        self.emit("response.output_item.done", output_index=index, item=item)

    def _message(self, index: int, item: dict[str, Any]) -> None:
        added = {**item, "status": "in_progress", "content": []}
        self.emit("response.output_item.added", output_index=index, item=added)
        at = {"item_id": item.get("id"), "output_index": index}
        for content_index, part in enumerate(item["content"]):
            kind = part.get("type")
            at_part = {**at, "content_index": content_index}
            if kind == "output_text":
                text = part["text"]
                empty = {**part, "text": "", "annotations": []}
                self.emit("response.content_part.added", **at_part, part=empty)
                for piece in text_pieces(text):
                    self.emit("response.output_text.delta", **at_part, delta=piece, logprobs=[])
                annotations = part.get("annotations")
                for annotation_index, annotation in enumerate(
                    annotations if isinstance(annotations, list) else []
                ):
                    self.emit(
                        "response.output_text.annotation.added",
                        **at_part,
                        annotation_index=annotation_index,
                        annotation=annotation,
                    )
                self.emit("response.output_text.done", **at_part, text=text, logprobs=[])
            elif kind == "refusal":
                refusal = part["refusal"]
                self.emit("response.content_part.added", **at_part, part={**part, "refusal": ""})
                for piece in text_pieces(refusal):
                    self.emit("response.refusal.delta", **at_part, delta=piece)
                self.emit("response.refusal.done", **at_part, refusal=refusal)
            else:
                self.emit("response.content_part.added", **at_part, part=part)
            self.emit("response.content_part.done", **at_part, part=part)
        self.emit("response.output_item.done", output_index=index, item=item)

    def _function_call(self, index: int, item: dict[str, Any]) -> None:
        arguments = _json_text(item.get("arguments", ""))
        # The stream helper appends deltas to the added item's arguments, so they start as "".
        added = {**item, "status": "in_progress", "arguments": ""}
        self.emit("response.output_item.added", output_index=index, item=added)
        at = {"item_id": item.get("id"), "output_index": index}
        for piece in text_pieces(arguments):
            self.emit("response.function_call_arguments.delta", **at, delta=piece)
        self.emit(
            "response.function_call_arguments.done",
            **at,
            arguments=arguments,
            name=item.get("name"),
        )
        self.emit("response.output_item.done", output_index=index, item=item)

    def _reasoning(self, index: int, item: dict[str, Any]) -> None:
        self.emit("response.output_item.added", output_index=index, item={**item, "summary": []})
        at = {"item_id": item.get("id"), "output_index": index}
        for summary_index, part in enumerate(item["summary"]):
            text = part["text"]
            at_part = {**at, "summary_index": summary_index}
            self.emit("response.reasoning_summary_part.added", **at_part, part={**part, "text": ""})
            for piece in text_pieces(text):
                self.emit("response.reasoning_summary_text.delta", **at_part, delta=piece)
            self.emit("response.reasoning_summary_text.done", **at_part, text=text)
            self.emit("response.reasoning_summary_part.done", **at_part, part=part)
        self.emit("response.output_item.done", output_index=index, item=item)


# Each item kind's events, between its output_item.added and output_item.done.
_ITEM_STEPS: dict[str, Callable[[_Stream, int, dict[str, Any]], None]] = {
    "message": _Stream._message,
    "function_call": _Stream._function_call,
    "reasoning": _Stream._reasoning,
    "web_search_call": _Stream._search,
    "file_search_call": _Stream._search,
    "code_interpreter_call": _Stream._code_interpreter,
    "image_generation_call": _Stream._image_generation,
    "mcp_list_tools": _Stream._mcp_list_tools,
    "mcp_call": _Stream._mcp_call,
    "custom_tool_call": _Stream._custom_tool_call,
}


_FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete"})


def reassemble(raw: bytes) -> dict[str, Any] | None:
    """A recorded stream as the response it streamed: its final event carries the whole of it."""
    for event in reversed(sse_events(raw)):
        if (
            isinstance(event, dict)
            and event.get("type") in _FINAL_RESPONSE_EVENTS
            and isinstance(event.get("response"), dict)
        ):
            response: dict[str, Any] = event["response"]
            return response
    return None


def error_event(response: dict[str, Any], position: int, variant: Hashable) -> bytes:
    """``response.failed``, with the same response id as ``response.created``: the stream helper
    refuses a changed identity."""
    failed = {
        **response,
        "status": "failed",
        "output": [],
        "error": {"code": "server_error", "message": ERROR_MESSAGE},
    }
    failed.pop("usage", None)
    data = {"type": "response.failed", "response": failed, "sequence_number": position}
    return sse_event(data, "response.failed")


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    value = body.get("input")
    if style == "contains" and isinstance(value, list) and value:
        value = value[-1:]  # contains with a list: the tail of the input
    return {"match_type": style, "input": value, "turn": responses_turns(body)}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["openai_response"],
    provider=OPENAI,
    routes=(Route("/v1/responses", "/v1/responses"), *azure_routes("/responses")),
    rules=RESPONSES_RULES,
    validate=validate,
    variant=json_or_stream,
    is_stream=is_sse,
    fill=fill,
    response_type=ResponseType(
        "openai_response",
        # The server turns these into what the wire has.
        lenient=(
            ("ResponseReasoningItem", "summary", (("type", "null"),)),
            ("ResponseOutputMessage", "content", (("type", "null"),)),
        ),
    ),
    contract=RESPONSES_TERMS,
    render=json_or_events(stream_events),
    describe=describe_input,
    streaming=Streaming(
        events=stream_events,
        shortest=SSE,
        media=sse_media,
        malformed_event=malformed_sse,
        error_event=error_event,
        reassemble=reassemble,
    ),
    recorded_match=recorded_match,
    id_prefix="resp_",
    input_tokens=prompt_tokens,
)
