"""Bedrock Converse mocks (``POST /model/{modelId}/converse`` and ``/converse-stream``):
``mock().bedrock()``.

Verb → the fields it sets in the mock (``bedrock[i]``):

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
- ``when_last_message_contains(text, role=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.content``
- ``when_last_message_matches(pattern, role=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.content``
- ``when_tool_result(tool_use_id, contains=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.content``
- ``when_last_message(role=, content= | contains=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.content``
- ``reply(text | dict, reasoning=, signature=, stop_reason=, usage=)`` → ``response``
- ``reply_tool_use(name, input, id=)``, ``reply_tool_call(name, input, id=)`` → ``response``
- ``reply_tool_uses([ToolCall, ...])``, ``reply_tool_calls([ToolCall, ...])`` → ``response``
- ``reply_with(fn)``, ``reply_drawn(data, strategy)`` → ``reply_with`` (a Python function: no JSON
  holds it)
- ``reply_error(status, message=, type=, headers=, retry_after=)`` → ``error.status``,
  ``error.message``, ``error.type``, ``error.headers``

The model is the one in the URL. ``reply_error``'s ``type`` is Bedrock's error name
(``ThrottlingException``, …; by default the one of the status), sent as ``x-amzn-ErrorType`` so
that botocore raises it and retries it as against AWS. The server fills in what a reply leaves out
(tool use ids, ``stopReason``, ``usage``, ``metrics``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

from ..builders._base import MockHandle, check_pattern
from ..builders._conversation import ConversationBuilder, checked_result_args
from ..builders._values import BuilderError, JsonObject, ToolCall, checked_tool_calls, json_copy, optional
from .format import BedrockMock

if TYPE_CHECKING:
    from ..replies import Reply

__all__ = ["BedrockBuilder", "BedrockRole"]

BedrockRole = Literal["user", "assistant"]
Blocks = Sequence[Mapping[str, Any]]


class BedrockBuilder(ConversationBuilder[BedrockMock]):
    """A Bedrock Converse mock: at most one ``when_*`` rule on the last message, any number of
    rules on the whole request and of headers, then a ``reply*`` verb."""

    _API = "bedrock"
    _SUBJECT = "message"

    def _catch_all(self) -> JsonObject:
        return {"content": []}

    def when_system_contains(self, text: str) -> Self:
        """The request's ``system`` text contains ``text`` (each such rule must hold)."""
        return self._with_rule_items("when_system_contains", "system_contains", (text,), what="text")

    def when_tool_names(self, *names: str) -> Self:
        """The request's ``toolConfig`` offers a tool of each of ``names`` (among others)."""
        return self._with_rule_items("when_tool_names", "tool_names", names, what="tool name")

    def when_last_message_contains(self, text: str, *, role: BedrockRole | None = "user") -> Self:
        """The last message has ``role`` (any with ``role=None``) and one of its texts (text
        blocks, tool results) contains ``text``."""
        return self._when(
            "when_last_message_contains", "contains", optional(role=role, content=[{"text": text}])
        )

    def when_last_message_matches(self, pattern: str, *, role: BedrockRole | None = "user") -> Self:
        """The last message has ``role`` (any with ``role=None``) and the Python regex ``pattern``
        is found (``re.search``) in one of its texts."""
        check_pattern("when_last_message_matches", pattern)
        return self._when(
            "when_last_message_matches", "regex", optional(role=role, content=[{"text": pattern}])
        )

    def when_tool_result(self, tool_use_id: str, *, contains: str = "") -> Self:
        """The last message carries the ``toolResult`` of the tool use ``tool_use_id`` (compared
        exactly), and its text (a result's text and JSON blocks) contains ``contains`` when given."""
        tool_use_id, contains = checked_result_args(tool_use_id, contains, "tool use id")
        blocks: list[JsonObject] = [{"toolResult": {"toolUseId": tool_use_id}}]
        if contains:
            blocks.append({"text": contains})
        return self._when("when_tool_result", "contains", {"role": "user", "content": blocks})

    def when_last_message(
        self,
        *,
        role: BedrockRole | None = None,
        content: str | Blocks | None = None,
        contains: str | Blocks | None = None,
    ) -> Self:
        """The last message is exactly ``role`` + ``content`` (a string is one text block); with
        ``contains`` instead (a string or blocks), each given block is found in it."""
        if contains is not None:
            if content is not None:
                raise BuilderError(
                    "mockllm: when_last_message() takes content= (exact) or contains=, not both"
                )
            return self._when("when_last_message", "contains", optional(role=role, content=_blocks(contains)))
        if role is None or content is None:
            raise BuilderError(
                "mockllm: when_last_message() needs role= and content= for an exact rule (or contains=)"
            )
        return self._when("when_last_message", "exact", {"role": role, "content": _blocks(content)})

    def reply(
        self,
        content: str | Mapping[str, Any],
        /,
        *,
        reasoning: str | None = None,
        signature: str | None = None,
        stop_reason: str | None = None,
        usage: Mapping[str, int] | None = None,
    ) -> MockHandle[BedrockMock]:
        """Answer with a text block ``content`` (after a reasoning block ``reasoning`` signed with
        ``signature``, if given), or with a whole Converse response given as a dict. For a text
        reply, ``stop_reason`` sets the answer's ``stopReason`` and ``usage`` its token counts
        (the server fills in what is left out)."""
        if not isinstance(content, str):
            if any(v is not None for v in (reasoning, signature, stop_reason, usage)):
                raise BuilderError("mockllm: reply() options apply to a text reply; set them on the response")
            response = json_copy(content, "the response")
            if not isinstance(response, dict) or not isinstance(response.get("output"), dict):
                raise BuilderError("mockllm: the response has no 'output' object; is it a Converse response?")
            return self._register(response)
        blocks = [*_reasoning(reasoning, signature), {"text": content}]
        return self._register(_response(blocks, stop_reason, usage))

    def reply_tool_use(
        self,
        name: str,
        input: Mapping[str, Any] | str = "{}",
        *,
        id: str | None = None,
        text: str | None = None,
    ) -> MockHandle[BedrockMock]:
        """Answer with one ``toolUse`` block calling tool ``name`` with ``input`` (a dict or JSON
        object text), after a text block ``text`` if given; ``id`` is the ``toolUseId`` its result
        will carry (the server makes one up when it is left out)."""
        return self.reply_tool_uses([ToolCall(name, input, id=id)], text=text)

    def reply_tool_uses(
        self, calls: Sequence[ToolCall], *, text: str | None = None
    ) -> MockHandle[BedrockMock]:
        """Answer with several ``toolUse`` blocks, one per `ToolCall` of ``calls``, after a text
        block ``text`` if given."""
        calls = checked_tool_calls(calls, "reply_tool_uses")
        blocks: list[JsonObject] = [] if text is None else [{"text": text}]
        for call in calls:
            blocks.append(
                {
                    "toolUse": {
                        **optional(toolUseId=call.id),
                        "name": call.name,
                        "input": call.arguments_object(),
                    }
                }
            )
        return self._register(_response(blocks, "tool_use", None))

    reply_tool_call = reply_tool_use
    """`reply_tool_use` under the name every conversation builder has."""
    reply_tool_calls = reply_tool_uses
    """`reply_tool_uses` under the name every conversation builder has."""

    def _reply_value(self, reply: Reply) -> MockHandle[BedrockMock]:
        if reply.calls:
            return self.reply_tool_uses(reply.calls, text=reply.text)
        stops = {"end": "end_turn", "truncated": "max_tokens", "refusal": "content_filtered"}
        return self.reply(reply.text or "", stop_reason=stops[reply.stop])


def _blocks(content: str | Blocks) -> list[JsonObject]:
    if isinstance(content, str):
        return [{"text": content}]
    blocks = json_copy(content, "content")
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise BuilderError("mockllm: message content is a string or a non-empty list of blocks (dicts)")
    return blocks


def _reasoning(text: str | None, signature: str | None) -> list[JsonObject]:
    if text is None:
        if signature is not None:
            raise BuilderError("mockllm: signature= needs reasoning=")
        return []
    return [{"reasoningContent": {"reasoningText": {"text": text, **optional(signature=signature)}}}]


def _response(
    blocks: list[JsonObject], stop_reason: str | None, usage: Mapping[str, int] | None
) -> JsonObject:
    return {
        "output": {"message": {"role": "assistant", "content": blocks}},
        **optional(stopReason=stop_reason, usage=json_copy(usage, "usage") if usage is not None else None),
    }
