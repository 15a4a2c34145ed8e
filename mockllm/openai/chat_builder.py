"""Chat Completions mocks (``POST /v1/chat/completions``): ``mock().openai_chat()``.

Verb → the fields it sets in the mock (``openai[i]``):

- ``named(name)`` → ``name``
- ``times(n)``, ``once()``, ``in_sequence(steps)`` → ``times``; ``priority(n)`` → ``priority``
- ``in_scenario(scenario, required_state=, new_state=)`` → ``scenario``, ``required_state``,
  ``new_state``
- ``with_timing(ttft_ms=, chunk_interval_ms=, jitter_ms=, seed=)`` → ``timing.ttft_ms``,
  ``timing.chunk_interval_ms``, ``timing.jitter_ms``, ``timing.seed``
- ``with_fault(kind, after_events=)`` → ``fault.kind``, ``fault.after_events``
- ``allowing_unknown_fields()`` → ``allow_unknown_fields``
- ``with_header(name, value, match_type=)`` → ``match.headers[].name``, ``match.headers[].value``,
  ``match.headers[].match_type``
- ``when_model(value, match_type=)`` → ``match.model.value``, ``match.model.match_type``
- ``when_turn(n)`` → ``match.turn``
- ``when_history_contains(*texts)`` → ``match.history_contains``
- ``when_history_has_tool_results(*ids)`` → ``match.tool_results``
- ``when_system_contains(text)`` → ``match.system_contains``
- ``when_tool_names(*names)`` → ``match.tool_names``
- ``when_last_message_contains(text, role=)`` → ``match.match_type``, ``match.message.content``,
  ``match.message.role``
- ``when_last_message_matches(pattern, role=, name=, tool_call_id=)`` → ``match.match_type``,
  ``match.message.content``, ``match.message.role``, ``match.message.name``,
  ``match.message.tool_call_id``
- ``when_tool_result(tool_call_id, contains=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.tool_call_id``, ``match.message.content``
- ``when_last_message(role=, content= | contains=, name=, tool_call_id=, tool_calls=, refusal=,
  audio=, function_call=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.content``, ``match.message.name``, ``match.message.tool_call_id``,
  ``match.message.tool_calls``, ``match.message.refusal``, ``match.message.audio``,
  ``match.message.function_call``
- ``reply(text | ChatCompletion | dict)`` → ``response``
- ``reply_tool_call(name, arguments)`` → ``response``
- ``reply_tool_calls([ToolCall, ...])`` → ``response``
- ``reply_with(fn)``, ``reply_drawn(data, strategy)`` → ``reply_with`` (a Python function: no JSON
  holds it)
- ``reply_error(status, message=, type=, headers=, retry_after=)`` → ``error.status``,
  ``error.message``, ``error.type``, ``error.headers``

A mock has at most one rule on the last message (``when_last_message*``, ``when_tool_result``);
the other ``when_*`` verbs look at the whole request and combine with it and with each other. A
mock with no ``when_*`` verb matches every request. The server fills in what a reply leaves out
(``id``, ``created``, ``usage``; ``model`` echoes the request's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from ..builders._base import MockHandle, check_pattern
from ..builders._conversation import ConversationBuilder, checked_result_args
from ..builders._values import (
    BuilderError,
    ChatUsage,
    JsonObject,
    ToolCall,
    checked_tool_calls,
    json_copy,
    optional,
    sdk_object,
    tool_call_id,
)
from ..config import OpenAIMock

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

    from ..replies import Reply


__all__ = ["ChatRole", "FinishReason", "OpenAIChatBuilder"]

ChatRole = Literal["system", "developer", "user", "assistant", "tool", "function"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
ContentParts = Sequence[Mapping[str, Any]]


class OpenAIChatBuilder(ConversationBuilder[OpenAIMock]):
    """A Chat Completions mock: at most one ``when_*`` rule on the last message, any number of
    rules on the whole request and of headers, then a ``reply*`` verb."""

    _API = "openai"
    _SUBJECT = "message"

    def _catch_all(self) -> JsonObject:
        return {}

    # --- request-wide rules ---------------------------------------------------------------------------

    def when_system_contains(self, text: str) -> Self:
        """The text of the request's ``system`` and ``developer`` messages contains ``text`` (each
        such rule must hold)."""
        return self._with_rule_items("when_system_contains", "system_contains", (text,), what="text")

    def when_tool_names(self, *names: str) -> Self:
        """The request offers a tool of each of ``names`` (among others): a function's
        ``function.name``, or a custom tool's name."""
        return self._with_rule_items("when_tool_names", "tool_names", names, what="tool name")

    # --- the last message ---------------------------------------------------------------------------

    def when_last_message_contains(self, text: str, *, role: ChatRole | None = "user") -> Self:
        """The last message has ``role`` (any role with ``role=None``) and its text contains ``text``.

        kagent's Go server needs a role in a ``contains`` rule, hence the default.
        """
        return self._when("when_last_message_contains", "contains", optional(role=role, content=text))

    def when_last_message_matches(
        self,
        pattern: str,
        *,
        role: ChatRole | None = "user",
        name: str | None = None,
        tool_call_id: str | None = None,
    ) -> Self:
        """The last message has ``role`` (any role with ``role=None``) and the Python regex
        ``pattern`` is found in its text (``re.search``; text parts joined by newlines). ``name``
        and ``tool_call_id``, where given, are equal."""
        check_pattern("when_last_message_matches", pattern)
        message = optional(role=role, name=name, tool_call_id=tool_call_id, content=pattern)
        return self._when("when_last_message_matches", "regex", message)

    def when_tool_result(self, tool_call_id: str, *, contains: str = "") -> Self:
        """The last message is the result of tool call ``tool_call_id`` (a ``tool`` message, the id
        compared exactly), and its text contains ``contains`` when given."""
        tool_call_id, contains = checked_result_args(tool_call_id, contains)
        message = {"role": "tool", "tool_call_id": tool_call_id, "content": contains}
        return self._when("when_tool_result", "contains", message)

    def when_last_message(
        self,
        *,
        role: ChatRole | None = None,
        content: str | ContentParts | None = None,
        contains: str | None = None,
        name: str | None = None,
        tool_call_id: str | None = None,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
        refusal: str | None = None,
        audio: Mapping[str, Any] | None = None,
        function_call: Mapping[str, Any] | None = None,
    ) -> Self:
        """The last message is exactly the one described (keys left out are absent from it).

        ``role``, ``content``, ``name``, ``tool_call_id``, ``tool_calls``, ``refusal``, ``audio``
        and ``function_call`` are the message's keys. A string ``content`` equals a single text
        part with that text.

        With ``contains`` instead of ``content`` it is a ``contains`` rule: the text contains
        ``contains`` and ``role``, ``name`` and ``tool_call_id``, where given, are equal.
        """
        if contains is not None:
            if content is not None:
                raise BuilderError(
                    "mockllm: when_last_message() takes content= (exact) or contains=, not both"
                )
            ignored = [
                key
                for key, value in (
                    ("tool_calls", tool_calls),
                    ("refusal", refusal),
                    ("audio", audio),
                    ("function_call", function_call),
                )
                if value is not None
            ]
            if ignored:
                raise BuilderError(
                    "mockllm: when_last_message(contains=...) compares only role, name, tool_call_id "
                    f"and the text; {', '.join(ignored)} would be ignored. Use content= for an exact rule"
                )
            message = optional(role=role, name=name, tool_call_id=tool_call_id, content=contains)
            return self._when("when_last_message", "contains", message)
        if role is None:
            raise BuilderError(
                "mockllm: when_last_message() needs role= for an exact rule (the whole message is compared)"
            )
        message = optional(
            role=role,
            content=json_copy(content, "content"),
            name=name,
            tool_call_id=tool_call_id,
            tool_calls=json_copy(tool_calls, "tool_calls"),
            refusal=refusal,
            audio=json_copy(audio, "audio"),
            function_call=json_copy(function_call, "function_call"),
        )
        return self._when("when_last_message", "exact", message)

    # --- replies ------------------------------------------------------------------------------------

    @overload
    def reply(
        self,
        text: str,
        /,
        *,
        model: str | None = None,
        response_id: str | None = None,
        created: int | None = None,
        finish_reason: FinishReason = "stop",
        usage: ChatUsage | None = None,
    ) -> MockHandle[OpenAIMock]: ...

    @overload
    def reply(self, response: ChatCompletion | Mapping[str, Any], /) -> MockHandle[OpenAIMock]: ...

    def reply(
        self,
        content: str | ChatCompletion | Mapping[str, Any],
        /,
        *,
        model: str | None = None,
        response_id: str | None = None,
        created: int | None = None,
        finish_reason: FinishReason | None = None,
        usage: ChatUsage | None = None,
    ) -> MockHandle[OpenAIMock]:
        """Answer with an assistant message whose text is ``content``, or, when ``content`` is an
        ``openai.types.chat.ChatCompletion`` or a dict, with that whole ``chat.completion``, served
        as written.

        The keywords apply to a text reply (a whole response carries its own fields): ``model``,
        ``response_id`` and ``created`` set the answer's ``model``, ``id`` and ``created`` (by
        default the request's model, a fresh id and now), ``finish_reason`` its choice's (default
        ``"stop"``), and ``usage`` its token counts (by default the server estimates them)."""
        if not isinstance(content, str):
            if any(v is not None for v in (model, response_id, created, finish_reason, usage)):
                raise BuilderError(
                    "mockllm: reply() options apply to a text reply; set them on the response object"
                )
            return self._register(sdk_object(content, sdk_type="ChatCompletion", items="choices"))
        message = {"role": "assistant", "content": content}
        return self._register(
            _completion(message, model, response_id, created, finish_reason or "stop", usage)
        )

    def reply_tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str = "{}",
        *,
        id: str | None = None,
        call_id: str | None = None,
        content: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created: int | None = None,
        finish_reason: FinishReason = "tool_calls",
        usage: ChatUsage | None = None,
    ) -> MockHandle[OpenAIMock]:
        """Answer with one call of tool ``name``; ``arguments`` is a dict or JSON text (kept as
        written) and ``id`` the call id the tool result will refer to (``call_id`` is another
        spelling of it; by default the server makes one up). ``content`` is text sent along with
        the call; ``model``, ``response_id``, ``created``, ``finish_reason`` (default
        ``"tool_calls"``) and ``usage`` are as for `reply`."""
        return self.reply_tool_calls(
            [ToolCall(name, arguments, id=tool_call_id(id, call_id, "reply_tool_call"))],
            content=content,
            model=model,
            response_id=response_id,
            created=created,
            finish_reason=finish_reason,
            usage=usage,
        )

    def reply_tool_calls(
        self,
        calls: Sequence[ToolCall],
        *,
        content: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created: int | None = None,
        finish_reason: FinishReason = "tool_calls",
        usage: ChatUsage | None = None,
    ) -> MockHandle[OpenAIMock]:
        """Answer with several tool calls at once (parallel tool calls): ``calls`` are
        `ToolCall`s, in order, and ``content`` optional text sent along. ``model``,
        ``response_id``, ``created``, ``finish_reason`` (default ``"tool_calls"``) and ``usage``
        are as for `reply`."""
        calls = checked_tool_calls(calls, "reply_tool_calls")
        tool_calls = []
        for call in calls:
            function = {"name": call.name, "arguments": call.arguments_text()}
            tool_calls.append({**optional(id=call.id), "type": "function", "function": function})
        message = {"role": "assistant", "content": content, "tool_calls": tool_calls}
        return self._register(_completion(message, model, response_id, created, finish_reason, usage))

    def _reply_value(self, reply: Reply) -> MockHandle[OpenAIMock]:
        if reply.calls:
            return self.reply_tool_calls(reply.calls, content=reply.text)
        if reply.stop == "refusal":
            message = {"role": "assistant", "content": None, "refusal": reply.text}
            return self._register(_completion(message, None, None, None, "stop", None))
        return self.reply(reply.text or "", finish_reason="length" if reply.stop == "truncated" else "stop")


def _completion(
    message: JsonObject,
    model: str | None,
    response_id: str | None,
    created: int | None,
    finish_reason: FinishReason,
    usage: ChatUsage | None,
) -> JsonObject:
    choice = {"index": 0, "message": message, "finish_reason": finish_reason}
    return {
        **optional(id=response_id),
        "object": "chat.completion",
        **optional(created=created, model=model),
        "choices": [choice],
        **optional(usage=_usage(usage)),
    }


def _usage(usage: ChatUsage | None) -> JsonObject | None:
    if usage is None:
        return None
    out: JsonObject = json_copy(usage, "usage")
    out.setdefault("prompt_tokens", 0)
    out.setdefault("completion_tokens", 0)
    out.setdefault("total_tokens", out["prompt_tokens"] + out["completion_tokens"])
    return out
