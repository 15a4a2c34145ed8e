"""Ollama mocks (``POST /api/chat`` and ``/api/generate``): ``mock().ollama()``.

Verb → the fields it sets in the mock (``ollama[i]``):

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
- ``when_history_has_tool_results(*names)`` → ``match.tool_results``
- ``when_system_contains(text)`` → ``match.system_contains``
- ``when_tool_names(*names)`` → ``match.tool_names``
- ``when_last_message_contains(text, role=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.content``
- ``when_last_message_matches(pattern, role=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.content``
- ``when_tool_result(tool_name, contains=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.tool_name``
- ``when_last_message(role=, content=, thinking=, images=, tool_calls= | contains=)`` →
  ``match.match_type``, ``match.message.role``, ``match.message.content``,
  ``match.message.thinking``, ``match.message.images``, ``match.message.tool_calls``
- ``reply(text | dict, thinking=)`` → ``response``
- ``reply_tool_call(name, arguments)`` → ``response``
- ``reply_tool_calls([ToolCall, ...])`` → ``response``
- ``reply_with(fn)``, ``reply_drawn(data, strategy)`` → ``reply_with`` (a Python function: no JSON
  holds it)
- ``reply_error(status, message=, type=, headers=, retry_after=)`` → ``error.status``,
  ``error.message``, ``error.type``, ``error.headers``

A generate request's ``prompt`` is its last message (a user message), its ``system`` the system
prompt; it gets the reply's text as its ``response``. Ollama's tool calls carry no id: a tool
result names its tool (``tool_name``). The server fills in ``created_at``, ``done``,
``done_reason`` and the counters; ``model`` echoes the request's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

from ..builders._base import MockHandle, check_pattern
from ..builders._conversation import ConversationBuilder, checked_result_args
from ..builders._values import BuilderError, JsonObject, ToolCall, checked_tool_calls, json_copy, optional
from .format import OllamaMock

if TYPE_CHECKING:
    from ..replies import Reply

__all__ = ["OllamaBuilder", "OllamaRole"]

OllamaRole = Literal["system", "user", "assistant", "tool"]


class OllamaBuilder(ConversationBuilder[OllamaMock]):
    """An Ollama mock: at most one ``when_*`` rule on the last message, any number of rules on the
    whole request and of headers, then a ``reply*`` verb."""

    _API = "ollama"
    _SUBJECT = "message"

    def _catch_all(self) -> JsonObject:
        return {"content": ""}

    def when_system_contains(self, text: str) -> Self:
        """The system prompt contains ``text`` (each such rule must hold)."""
        return self._with_rule_items("when_system_contains", "system_contains", (text,), what="text")

    def when_tool_names(self, *names: str) -> Self:
        """The request offers a tool of each of ``names`` (among others)."""
        return self._with_rule_items("when_tool_names", "tool_names", names, what="tool name")

    def when_last_message_contains(self, text: str, *, role: OllamaRole | None = "user") -> Self:
        """The last message (a generate request's prompt) has ``role`` (any with ``role=None``) and
        its content contains ``text``."""
        return self._when("when_last_message_contains", "contains", optional(role=role, content=text))

    def when_last_message_matches(self, pattern: str, *, role: OllamaRole | None = "user") -> Self:
        """The last message has ``role`` (any with ``role=None``) and the Python regex ``pattern``
        is found (``re.search``) in its content."""
        check_pattern("when_last_message_matches", pattern)
        return self._when("when_last_message_matches", "regex", optional(role=role, content=pattern))

    def when_tool_result(self, tool_name: str, *, contains: str = "") -> Self:
        """The last message is the result of tool ``tool_name`` (a ``tool`` message naming it; Ollama
        gives results no call id), and its content contains ``contains`` when given."""
        tool_name, contains = checked_result_args(tool_name, contains, "tool name")
        message = {"role": "tool", "tool_name": tool_name, **optional(content=contains or None)}
        return self._when("when_tool_result", "contains", message)

    def when_last_message(
        self,
        *,
        role: OllamaRole | None = None,
        content: str | None = None,
        thinking: str | None = None,
        images: Sequence[str] | None = None,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
        contains: str | None = None,
    ) -> Self:
        """The last message is exactly ``role`` with ``content``, ``thinking``, ``images`` and
        ``tool_calls`` (fields left out are absent from it); with ``contains`` instead, its content
        contains that text (and the role, where given, is equal)."""
        if contains is not None:
            if content is not None or tool_calls is not None or thinking is not None or images is not None:
                raise BuilderError("mockllm: when_last_message() takes exact fields or contains=, not both")
            return self._when("when_last_message", "contains", optional(role=role, content=contains))
        if role is None:
            raise BuilderError("mockllm: when_last_message() needs role= for an exact rule (or contains=)")
        message = optional(
            role=role,
            content=content,
            thinking=thinking,
            images=json_copy(list(images), "images") if images is not None else None,
            tool_calls=json_copy(list(tool_calls), "tool_calls") if tool_calls is not None else None,
        )
        return self._when("when_last_message", "exact", message)

    def reply(
        self,
        content: str | Mapping[str, Any],
        /,
        *,
        thinking: str | None = None,
        model: str | None = None,
        done_reason: str | None = None,
    ) -> MockHandle[OllamaMock]:
        """Answer with the text ``content`` (after ``thinking``, if given), or with a whole chat
        response given as a dict. For a text reply, ``model`` sets the answer's ``model`` (by
        default the request's) and ``done_reason`` why it ended (filled in by the server when
        left out)."""
        if not isinstance(content, str):
            if thinking is not None or model is not None or done_reason is not None:
                raise BuilderError("mockllm: reply() options apply to a text reply; set them on the response")
            response = json_copy(content, "the response")
            if not isinstance(response, dict) or not isinstance(response.get("message"), dict):
                raise BuilderError(
                    "mockllm: the response has no 'message' object; is it an Ollama chat response?"
                )
            return self._register(response)
        message = {"role": "assistant", "content": content, **optional(thinking=thinking)}
        return self._register({**optional(model=model, done_reason=done_reason), "message": message})

    def reply_tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str = "{}",
        *,
        content: str = "",
        thinking: str | None = None,
    ) -> MockHandle[OllamaMock]:
        """Answer with one call of tool ``name``; ``arguments`` is a dict or JSON object text,
        ``content`` the message's text (empty by default) and ``thinking`` its thinking, if given."""
        return self.reply_tool_calls([ToolCall(name, arguments)], content=content, thinking=thinking)

    def reply_tool_calls(
        self, calls: Sequence[ToolCall], *, content: str = "", thinking: str | None = None
    ) -> MockHandle[OllamaMock]:
        """Answer with several tool calls at once, one per `ToolCall` of ``calls`` (their
        arguments as objects, as Ollama sends them); ``content`` and ``thinking`` are as for
        `reply_tool_call`."""
        calls = checked_tool_calls(calls, "reply_tool_calls")
        tool_calls = []
        for call in calls:
            tool_calls.append({"function": {"name": call.name, "arguments": call.arguments_object()}})
        message = {
            "role": "assistant",
            "content": content,
            **optional(thinking=thinking),
            "tool_calls": tool_calls,
        }
        return self._register({"message": message})

    def _reply_value(self, reply: Reply) -> MockHandle[OllamaMock]:
        # Ollama has no refusal of its own: a refusal is the model's text.
        if reply.calls:
            return self.reply_tool_calls(reply.calls, content=reply.text or "")
        return self.reply(reply.text or "", done_reason="length" if reply.stop == "truncated" else None)
