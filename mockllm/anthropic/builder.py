"""Anthropic Messages mocks (``POST /v1/messages``): ``mock().anthropic_messages()``.

Verb → the fields it sets in the mock (``anthropic[i]``):

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
  ``match.message.content``, ``match.tool_result_contains``
- ``when_last_message(role=, content= | contains=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.content``
- ``reply(text | Message | dict, thinking=, redacted_thinking=, citations=)`` → ``response``
- ``reply_tool_use(name, input)``, ``reply_tool_call(name, input)`` → ``response``
- ``reply_tool_uses([ToolCall, ...])``, ``reply_tool_calls([ToolCall, ...])`` → ``response``
- ``reply_web_search(query, results=[WebResult, ...], then_text=, citations=)`` → ``response``
- ``reply_mcp_tool_use(server_name, name, input, result=, is_error=, then_text=)`` → ``response``
- ``reply_with(fn)``, ``reply_drawn(data, strategy)`` → ``reply_with`` (a Python function: no JSON
  holds it)
- ``reply_error(status, message=, type=, headers=, retry_after=)`` → ``error.status``,
  ``error.message``, ``error.type``, ``error.headers``

Message content is always written as a list of blocks, which kagent's Go server requires. A mock
has at most one rule on the last message (``when_last_message*``, ``when_tool_result``); the other
``when_*`` verbs look at the whole request and combine with it and with each other. A mock with no
``when_*`` verb on the last message matches every request that passes its request-wide rules. The
server fills in what a reply leaves out (``id``, ``usage``; ``model`` echoes the request's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from ..builders._base import MockHandle, check_pattern
from ..builders._conversation import ConversationBuilder, checked_result_args
from ..builders._hosted import WebResult
from ..builders._values import (
    AnthropicUsage,
    BuilderError,
    JsonObject,
    ToolCall,
    checked_tool_calls,
    json_copy,
    optional,
    sdk_object,
    tool_call_id,
)
from ..config import AnthropicMock

if TYPE_CHECKING:
    from anthropic.types import Message

    from ..replies import Reply


__all__ = ["AnthropicMessagesBuilder", "AnthropicRole", "StopReason"]

AnthropicRole = Literal["user", "assistant"]
StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]
Blocks = Sequence[Mapping[str, Any]]


class AnthropicMessagesBuilder(ConversationBuilder[AnthropicMock]):
    """An Anthropic Messages mock: at most one ``when_*`` rule on the last message, any number of
    rules on the whole request and of headers, then a ``reply*`` verb."""

    _API = "anthropic"
    _SUBJECT = "message"

    def _catch_all(self) -> JsonObject:
        return {}

    # --- request-wide rules ---------------------------------------------------------------------------

    def when_system_contains(self, text: str) -> Self:
        """The request's ``system`` text contains ``text`` (each such rule must hold)."""
        return self._with_rule_items("when_system_contains", "system_contains", (text,), what="text")

    def when_tool_names(self, *names: str) -> Self:
        """The request offers a tool of each of ``names`` (among others)."""
        return self._with_rule_items("when_tool_names", "tool_names", names, what="tool name")

    # --- the last message ---------------------------------------------------------------------------

    def when_last_message_contains(self, text: str, *, role: AnthropicRole | None = "user") -> Self:
        """The last message has ``role`` (any role with ``role=None``) and one of its text blocks
        contains ``text``."""
        message = optional(role=role, content=[_text(text)])
        return self._when("when_last_message_contains", "contains", message)

    def when_last_message_matches(self, pattern: str, *, role: AnthropicRole | None = "user") -> Self:
        """The last message has ``role`` (any role with ``role=None``) and the Python regex
        ``pattern`` is found (``re.search``) in one of its text blocks."""
        check_pattern("when_last_message_matches", pattern)
        message = optional(role=role, content=[_text(pattern)])
        return self._when("when_last_message_matches", "regex", message)

    def when_tool_result(self, tool_use_id: str, *, contains: str = "") -> Self:
        """The last message carries the ``tool_result`` of tool call ``tool_use_id`` (compared
        exactly), and that result's text contains ``contains`` when given."""
        tool_use_id, contains = checked_result_args(tool_use_id, contains)
        block = {"type": "tool_result", "tool_use_id": tool_use_id}
        # kagent's tool_result block matches on its id alone: the text is a rule of its own.
        builder = self._with_rule("tool_result_contains", contains) if contains else self
        return builder._when("when_tool_result", "contains", {"role": "user", "content": [block]})

    def when_last_message(
        self,
        *,
        role: AnthropicRole | None = None,
        content: str | Blocks | None = None,
        contains: str | Blocks | None = None,
    ) -> Self:
        """The last message is exactly ``role`` + ``content`` (a string is one text block).

        With ``contains=`` instead it is a ``contains`` rule: each given block is found in the last
        message (a text block by substring, a ``tool_result`` by ``tool_use_id``, a ``tool_use``
        by name, any other block whole), and the role, where given, is equal.
        """
        if contains is not None:
            if content is not None:
                raise BuilderError(
                    "mockllm: when_last_message() takes content= (exact) or contains=, not both"
                )
            message = optional(role=role, content=_blocks(contains))
            return self._when("when_last_message", "contains", message)
        if role is None or content is None:
            raise BuilderError(
                "mockllm: when_last_message() needs role= and content= for an exact rule (or contains=)"
            )
        return self._when("when_last_message", "exact", {"role": role, "content": _blocks(content)})

    # --- replies ------------------------------------------------------------------------------------

    @overload
    def reply(
        self,
        text: str,
        /,
        *,
        thinking: str | None = None,
        thinking_signature: str | None = None,
        redacted_thinking: str | None = None,
        citations: Citations | None = None,
        model: str | None = None,
        response_id: str | None = None,
        stop_reason: StopReason = "end_turn",
        stop_sequence: str | None = None,
        usage: AnthropicUsage | None = None,
    ) -> MockHandle[AnthropicMock]: ...

    @overload
    def reply(self, response: Message | Mapping[str, Any], /) -> MockHandle[AnthropicMock]: ...

    def reply(
        self,
        content: str | Message | Mapping[str, Any],
        /,
        *,
        thinking: str | None = None,
        thinking_signature: str | None = None,
        redacted_thinking: str | None = None,
        citations: Citations | None = None,
        model: str | None = None,
        response_id: str | None = None,
        stop_reason: StopReason | None = None,
        stop_sequence: str | None = None,
        usage: AnthropicUsage | None = None,
    ) -> MockHandle[AnthropicMock]:
        """Answer with a text block whose text is ``content``, or, when ``content`` is an
        ``anthropic.types.Message`` or a dict, with that whole message, served as written.

        The keywords apply to a text reply: ``thinking`` puts a thinking block before the text
        (signed with ``thinking_signature``), ``redacted_thinking`` a ``redacted_thinking`` block
        with that ``data``; ``citations`` are the text block's citations. ``model`` and
        ``response_id`` set the message's ``model`` and ``id`` (by default the request's model and
        a fresh id), ``stop_reason`` and ``stop_sequence`` why it stopped (default
        ``"end_turn"``), and ``usage`` its token counts (by default the server estimates them)."""
        if not isinstance(content, str):
            options = (
                thinking,
                thinking_signature,
                redacted_thinking,
                citations,
                model,
                response_id,
                stop_reason,
                stop_sequence,
                usage,
            )
            if any(v is not None for v in options):
                raise BuilderError(
                    "mockllm: reply() options apply to a text reply; set them on the response object"
                )
            return self._register(sdk_object(content, sdk_type="Message", items="content"))
        blocks = [
            *_thinking(thinking, thinking_signature),
            *_redacted(redacted_thinking),
            _text(content, citations),
        ]
        return self._register(
            _message(blocks, model, response_id, stop_reason or "end_turn", stop_sequence, usage)
        )

    def reply_tool_use(
        self,
        name: str,
        input: Mapping[str, Any] | str = "{}",
        *,
        id: str | None = None,
        call_id: str | None = None,
        text: str | None = None,
        thinking: str | None = None,
        thinking_signature: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        stop_reason: StopReason = "tool_use",
        usage: AnthropicUsage | None = None,
    ) -> MockHandle[AnthropicMock]:
        """Answer with one ``tool_use`` block calling tool ``name``; ``input`` is a dict or JSON
        object text and ``id`` the id the ``tool_result`` will refer to (``call_id`` is another
        spelling of it; by default the server makes one up). ``text`` is a text block before the
        call; ``thinking`` (signed with ``thinking_signature``), ``model``, ``response_id``,
        ``stop_reason`` (default ``"tool_use"``) and ``usage`` are as for `reply`."""
        return self.reply_tool_uses(
            [ToolCall(name, input, id=tool_call_id(id, call_id, "reply_tool_use"))],
            text=text,
            thinking=thinking,
            thinking_signature=thinking_signature,
            model=model,
            response_id=response_id,
            stop_reason=stop_reason,
            usage=usage,
        )

    def reply_tool_uses(
        self,
        calls: Sequence[ToolCall],
        *,
        text: str | None = None,
        thinking: str | None = None,
        thinking_signature: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        stop_reason: StopReason = "tool_use",
        usage: AnthropicUsage | None = None,
    ) -> MockHandle[AnthropicMock]:
        """Answer with several ``tool_use`` blocks, one per `ToolCall` of ``calls``, after an
        optional text block ``text``. ``thinking`` (signed with ``thinking_signature``), ``model``,
        ``response_id``, ``stop_reason`` (default ``"tool_use"``) and ``usage`` are as for
        `reply`."""
        calls = checked_tool_calls(calls, "reply_tool_uses")
        blocks = _thinking(thinking, thinking_signature)
        if text is not None:
            blocks.append(_text(text))
        for call in calls:
            blocks.append(
                {
                    "type": "tool_use",
                    **optional(id=call.id),
                    "name": call.name,
                    "input": call.arguments_object(),
                }
            )
        return self._register(_message(blocks, model, response_id, stop_reason, None, usage))

    reply_tool_call = reply_tool_use
    """`reply_tool_use` under the name every conversation builder has."""
    reply_tool_calls = reply_tool_uses
    """`reply_tool_uses` under the name every conversation builder has."""

    def reply_web_search(
        self,
        query: str,
        *,
        results: Sequence[WebResult] = (),
        then_text: str | None = None,
        citations: Citations | None = None,
        id: str | None = None,
        thinking: str | None = None,
        thinking_signature: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        stop_reason: StopReason = "end_turn",
        usage: AnthropicUsage | None = None,
    ) -> MockHandle[AnthropicMock]:
        """Answer with the server-run web search for ``query`` (a ``server_tool_use`` block named
        ``web_search``, ``id`` its id) and its ``web_search_tool_result`` listing ``results``, then
        a text block ``then_text`` citing ``citations`` if given. ``thinking`` (signed with
        ``thinking_signature``), ``model``, ``response_id``, ``stop_reason`` (default
        ``"end_turn"``) and ``usage`` are as for `reply`."""
        found = []
        for result in results:
            if not isinstance(result, WebResult):
                raise BuilderError(
                    f"mockllm: reply_web_search() results are WebResult values, got {result!r}"
                )
            found.append(result.block())
        blocks = _thinking(thinking, thinking_signature)
        blocks.append(
            {"type": "server_tool_use", **optional(id=id), "name": "web_search", "input": {"query": query}}
        )
        blocks.append({"type": "web_search_tool_result", **optional(tool_use_id=id), "content": found})
        blocks += _then_text(then_text, citations)
        return self._register(_message(blocks, model, response_id, stop_reason, None, usage))

    def reply_mcp_tool_use(
        self,
        server_name: str,
        name: str,
        input: Mapping[str, Any] | str = "{}",
        *,
        result: str | None = None,
        is_error: bool = False,
        then_text: str | None = None,
        id: str | None = None,
        thinking: str | None = None,
        thinking_signature: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        stop_reason: StopReason = "end_turn",
        usage: AnthropicUsage | None = None,
    ) -> MockHandle[AnthropicMock]:
        """Answer with a call of tool ``name`` on MCP server ``server_name`` (an ``mcp_tool_use``
        block, ``id`` its id, ``input`` a dict or JSON object text), its ``mcp_tool_result``
        (``result`` as one text block, an error if ``is_error``) if ``result`` is given, then a text
        block ``then_text`` if given. ``thinking`` (signed with ``thinking_signature``), ``model``,
        ``response_id``, ``stop_reason`` (default ``"end_turn"``) and ``usage`` are as for `reply`.
        MCP blocks are beta: the client reads them through ``client.beta.messages``."""
        blocks = _thinking(thinking, thinking_signature)
        call = ToolCall(name, input, id=id)
        blocks.append(
            {
                "type": "mcp_tool_use",
                **optional(id=id),
                "name": name,
                "server_name": server_name,
                "input": call.arguments_object(),
            }
        )
        if result is not None:
            blocks.append(
                {
                    "type": "mcp_tool_result",
                    **optional(tool_use_id=id),
                    "is_error": is_error,
                    "content": [_text(result)],
                }
            )
        elif is_error:
            raise BuilderError("mockllm: reply_mcp_tool_use(is_error=True) needs the error text as result=")
        blocks += _then_text(then_text, None)
        return self._register(_message(blocks, model, response_id, stop_reason, None, usage))

    def _reply_value(self, reply: Reply) -> MockHandle[AnthropicMock]:
        if reply.calls:
            return self.reply_tool_uses(reply.calls, text=reply.text)
        stops: dict[str, StopReason] = {"end": "end_turn", "truncated": "max_tokens", "refusal": "refusal"}
        return self.reply(reply.text or "", stop_reason=stops[reply.stop])


Citations = Sequence[Mapping[str, Any]]


def _text(text: str, citations: Citations | None = None) -> JsonObject:
    if citations is None:
        return {"type": "text", "text": text}
    if isinstance(citations, Mapping | str):
        raise BuilderError("mockllm: citations= is a list of citation objects")
    return {"type": "text", "text": text, "citations": json_copy(list(citations), "citations")}


def _then_text(text: str | None, citations: Citations | None) -> list[JsonObject]:
    if text is None:
        if citations is not None:
            raise BuilderError("mockllm: citations= needs then_text=, the text that cites them")
        return []
    return [_text(text, citations)]


def _redacted(data: str | None) -> list[JsonObject]:
    return [] if data is None else [{"type": "redacted_thinking", "data": data}]


def _blocks(content: str | Blocks) -> list[JsonObject]:
    if isinstance(content, str):
        return [_text(content)]
    blocks = json_copy(content, "content")
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise BuilderError("mockllm: message content is a string or a non-empty list of blocks (dicts)")
    return blocks


def _thinking(thinking: str | None, signature: str | None) -> list[JsonObject]:
    if thinking is None:
        if signature is not None:
            raise BuilderError("mockllm: thinking_signature= needs thinking=")
        return []
    return [{"type": "thinking", "thinking": thinking, "signature": signature or ""}]


def _message(
    blocks: list[JsonObject],
    model: str | None,
    response_id: str | None,
    stop_reason: StopReason,
    stop_sequence: str | None,
    usage: AnthropicUsage | None,
) -> JsonObject:
    return {
        **optional(id=response_id),
        "type": "message",
        "role": "assistant",
        **optional(model=model),
        "content": blocks,
        "stop_reason": stop_reason,
        **optional(stop_sequence=stop_sequence, usage=json_copy(usage, "usage")),
    }
