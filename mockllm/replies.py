"""Reply values: what a programmable reply (``.reply_with(fn)``) may return, for any API.

``fn(request)`` returns a text, the provider's response dict, or one of these values; the
mock's builder turns it into that API's response, as its ``reply*`` verbs do::

    from mockllm import replies

    def answer(request):
        if not request.tool_names:
            return "No tools to call."
        return replies.tool_call(request.tool_names[0], {"city": "Paris"})

    m.openai_chat().reply_with(answer)

A value may carry its own fault or timing (``replies.text("Cut").with_fault("disconnect")``),
which wins over the mock's. The values are immutable, and print as what they answer, so a
falsifying example of a fuzzed agent reads as the model's behaviours in order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .builders._values import BuilderError, JsonObject, ToolCall

__all__ = ["Reply", "ToolCall", "error", "refusal", "text", "tool_call", "tool_calls"]

Stop = Literal["end", "truncated", "refusal"]
"""How a text reply ends: as the model chose, cut at the token limit, or a refusal."""


@dataclass(frozen=True)
class Reply:
    """One answer of a programmable reply. Made by `text`, `refusal`, `tool_call`, `tool_calls`
    and `error`; each API's builder renders it in that API's shape."""

    text: str | None = None
    """The assistant's text (None: none, beside tool calls)."""
    calls: tuple[ToolCall, ...] = ()
    """The tool calls, in order."""
    stop: Stop = "end"
    """``truncated``: the provider's stop reason for the token limit (``length``, ``max_tokens``,
    ``MAX_TOKENS``); ``refusal``: the provider's refusal (OpenAI's ``refusal`` field, Anthropic's
    ``refusal`` stop reason, Gemini's ``SAFETY``, …)."""
    error: JsonObject | None = None
    """An HTTP error instead (the config's ``error``: ``status``, ``message``, ``type``,
    ``headers``)."""
    fault: JsonObject | None = None
    """The config's ``fault`` for this answer, over the mock's."""
    timing: JsonObject | None = None
    """The config's ``timing`` for this answer, over the mock's."""

    def with_fault(self, kind: str, *, after_events: int | None = None) -> Reply:
        """This reply, going wrong as ``with_fault`` says on a builder (``reset``, ``stall``,
        ``disconnect``, ``truncate``, ``malformed``, ``error_event``)."""
        fault: JsonObject = {"kind": kind}
        if after_events is not None:
            fault["after_events"] = after_events
        return dataclasses.replace(self, fault=fault)

    def with_timing(self, *, ttft_ms: float | None = None, chunk_interval_ms: float | None = None) -> Reply:
        """This reply, written over time as ``with_timing`` says on a builder."""
        given = {"ttft_ms": ttft_ms, "chunk_interval_ms": chunk_interval_ms}
        return dataclasses.replace(self, timing={k: v for k, v in given.items() if v is not None})

    def __repr__(self) -> str:
        if self.error is not None:
            shown = f"error({self.error['status']}"
            shown += "".join(f", {key}={value!r}" for key, value in self.error.items() if key != "status")
            shown += ")"
        elif self.calls:
            calls = ", ".join(f"{call.name}({call.arguments_text()})" for call in self.calls)
            shown = f"tool_calls({calls}" + ("" if self.text is None else f", text={self.text!r}") + ")"
        elif self.stop == "refusal":
            shown = f"refusal({self.text!r})"
        else:
            shown = f"text({self.text!r}" + (", truncated=True" if self.stop == "truncated" else "") + ")"
        if self.fault is not None:
            shown += f".with_fault({self.fault!r})"
        if self.timing is not None:
            shown += f".with_timing({self.timing!r})"
        return shown


def text(content: str, *, truncated: bool = False) -> Reply:
    """The assistant answers ``content``; ``truncated``: cut at the token limit (the provider's
    ``length`` / ``max_tokens`` / ``MAX_TOKENS`` stop reason)."""
    if not isinstance(content, str):
        raise BuilderError(f"mockllm: replies.text() takes a string, got {type(content).__name__}")
    return Reply(text=content, stop="truncated" if truncated else "end")


def refusal(message: str = "I can't help with that.") -> Reply:
    """The model refuses, the way the provider says so."""
    if not isinstance(message, str):
        raise BuilderError(f"mockllm: replies.refusal() takes a string, got {type(message).__name__}")
    return Reply(text=message, stop="refusal")


def tool_call(
    name: str, arguments: Mapping[str, Any] | str = "{}", *, id: str | None = None, text: str | None = None
) -> Reply:
    """One call of tool ``name``; ``arguments`` a dict or JSON text (sent as written, valid or not),
    ``id`` the call's id (made up when left out), after an optional ``text``."""
    return tool_calls(ToolCall(name, arguments, id=id), text=text)


def tool_calls(*calls: ToolCall, text: str | None = None) -> Reply:
    """Several tool calls at once (parallel calls), after an optional ``text``."""
    if not calls or not all(isinstance(call, ToolCall) for call in calls):
        raise BuilderError(f"mockllm: replies.tool_calls() takes one ToolCall or more, got {calls!r}")
    return Reply(text=text, calls=calls)


def error(
    status: int,
    *,
    message: str | None = None,
    type: str | None = None,
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
) -> Reply:
    """An HTTP error in the provider's shape, as ``reply_error`` answers: the SDK raises its class
    for ``status``; ``retry_after`` (seconds) is sugar for a ``retry-after`` header."""
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise BuilderError(f"mockllm: replies.error() takes an HTTP status from 400 to 599, got {status!r}")
    sent = dict(headers or {})
    if retry_after is not None:
        sent["retry-after"] = str(retry_after)
    given = {"status": status, "message": message, "type": type, "headers": sent or None}
    return Reply(error={key: value for key, value in given.items() if value is not None})
