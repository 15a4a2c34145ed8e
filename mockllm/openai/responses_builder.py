"""Responses API mocks (``POST /v1/responses``): ``mock().openai_responses()``.

Verb → the fields it sets in the mock (``openai_response[i]``):

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
- ``when_input_item(kind)`` → ``match.input_item``
- ``when_input_contains(text)`` → ``match.match_type``, ``match.input``
- ``when_user_input_contains(text)`` → ``match.input_item``, ``match.match_type``, ``match.input``
- ``when_tool_output_contains(text)`` → ``match.input_item``, ``match.match_type``, ``match.input``
- ``when_tool_result(call_id, contains=)`` → ``match.input_item``, ``match.call_id``,
  ``match.match_type``, ``match.input``
- ``when_input_matches(pattern)`` → ``match.match_type``, ``match.input``
- ``when_input(value)`` → ``match.match_type``, ``match.input``
- ``when_input_ends_with(items)`` → ``match.match_type``, ``match.input``
- ``reply(text | Response | dict, reasoning=)`` → ``response``
- ``reply_function_call(name, arguments)``, ``reply_tool_call(name, arguments)`` → ``response``
- ``reply_function_calls([ToolCall, ...])``, ``reply_tool_calls([ToolCall, ...])`` → ``response``
- ``reply_web_search(query, sources=, then_text=)`` → ``response``
- ``reply_mcp_call(server_label, name, arguments, output= | error=, tools=, then_text=)`` →
  ``response``
- ``reply_mcp_approval_request(server_label, name, arguments, id=)`` → ``response``
- ``reply_items(WebSearch | FileSearch | CodeInterpreter | ImageGeneration | McpListTools | McpCall
  | McpApprovalRequest | CustomToolCall | ToolCall | dict, ..., then_text=)`` → ``response``
- ``reply_with(fn)``, ``reply_drawn(data, strategy)`` → ``reply_with`` (a Python function: no JSON
  holds it)
- ``reply_error(status, message=, type=, headers=, retry_after=)`` → ``error.status``,
  ``error.message``, ``error.type``, ``error.headers``

A mock has at most one rule on the input (``when_input*``, ``when_user_input_contains``,
``when_tool_output_contains``, ``when_tool_result``); the other ``when_*`` verbs look at the whole
request and combine with it and with each other. A mock with no ``when_*`` verb matches every
request. The server fills in what a reply leaves out (ids, ``created_at``, ``usage``, ``tools``;
``model`` echoes the request's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, get_args, overload

from ..builders._base import MockHandle, check_pattern
from ..builders._conversation import ConversationBuilder, checked_result_args
from ..builders._hosted import McpApprovalRequest, McpCall, McpListTools, OutputItem, WebSearch, output_items
from ..builders._values import (
    BuilderError,
    JsonObject,
    ResponsesUsage,
    ToolCall,
    checked_tool_calls,
    json_copy,
    optional,
    sdk_object,
    tool_call_id,
)
from ..config import OpenAIResponseMock

if TYPE_CHECKING:
    from openai.types.responses import Response

    from ..replies import Reply


__all__ = ["InputItemKind", "OpenAIResponsesBuilder"]

InputItems = Sequence[Mapping[str, Any]]
InputItemKind = Literal["user", "function_call_output", "custom_tool_call_output", "mcp_approval_response"]


class OpenAIResponsesBuilder(ConversationBuilder[OpenAIResponseMock]):
    """A Responses API mock: at most one ``when_*`` rule on the request ``input``, any number of
    rules on the whole request and of headers, then a ``reply*`` verb."""

    _API = "openai_response"
    _SUBJECT = "input"

    def _catch_all(self) -> str:
        return ""

    # --- the input ------------------------------------------------------------------------------------

    def when_input_contains(self, text: str) -> Self:
        """A string input contains ``text``; for a list input, the last item's text or its JSON
        does (so a ``call_id`` matches the ``function_call_output`` sent back for that call)."""
        return self._when("when_input_contains", "contains", text)

    def when_input_matches(self, pattern: str) -> Self:
        """The Python regex ``pattern`` is found (``re.search``) in a string input, or in the text
        of the last input item (a message's text parts joined by newlines, a
        ``function_call_output``'s output)."""
        check_pattern("when_input_matches", pattern)
        return self._when("when_input_matches", "regex", pattern)

    def when_system_contains(self, text: str) -> Self:
        """The request's ``instructions`` and its ``system`` and ``developer`` input messages
        contain ``text`` (each such rule must hold)."""
        return self._with_rule_items("when_system_contains", "system_contains", (text,), what="text")

    def when_tool_names(self, *names: str) -> Self:
        """The request offers a tool of each of ``names`` (among others)."""
        return self._with_rule_items("when_tool_names", "tool_names", names, what="tool name")

    def when_input_item(self, kind: InputItemKind) -> Self:
        """The last input item is a user message (``"user"``; a string input is one), or an item
        of type ``kind`` (``function_call_output``, ``custom_tool_call_output``,
        ``mcp_approval_response``) (``match.input_item``), and the input rule, if any, looks at that
        item alone. Not a body rule: it combines with one."""
        if kind not in get_args(InputItemKind):
            raise BuilderError(
                f"mockllm: when_input_item() takes one of {', '.join(map(repr, get_args(InputItemKind)))}, "
                f"got {kind!r}"
            )
        current = self._rule("input_item")
        if current is not None and current != kind:
            raise BuilderError(
                f"mockllm: when_input_item({kind!r}) after when_input_item({current!r}): the last "
                "input item is of one kind"
            )
        return self._with_rule("input_item", kind)

    def when_user_input_contains(self, text: str) -> Self:
        """The last input item is a user message (or the input is a string) and contains ``text``
        (its text or its JSON, as in `when_input_contains`). Unlike `when_input_contains`, a tool
        output that mentions ``text`` does not match, so an agent that sends the tool's answer
        back is not asked the same again."""
        return self.when_input_item("user")._when("when_user_input_contains", "contains", text)

    def when_tool_output_contains(self, text: str) -> Self:
        """The last input item is a ``function_call_output`` whose output (or JSON, so a
        ``call_id`` will do) contains ``text``."""
        return self.when_input_item("function_call_output")._when(
            "when_tool_output_contains", "contains", text
        )

    def when_tool_result(self, call_id: str, *, contains: str = "") -> Self:
        """The last input item is the ``function_call_output`` of the call ``call_id`` (compared
        exactly: ``call_1`` is not ``call_10``), and its output contains ``contains`` when given."""
        call_id, contains = checked_result_args(call_id, contains, "call id")
        answering = self.when_input_item("function_call_output")._with_rule("call_id", call_id)
        return answering._when("when_tool_result", "contains", contains)

    def when_input(self, value: str | InputItems) -> Self:
        """The whole input equals ``value`` (a string, or the list of input items)."""
        return self._when("when_input", "exact", json_copy(value, "input"))

    def when_input_ends_with(self, items: InputItems) -> Self:
        """The input is a list whose last items equal ``items``."""
        if isinstance(items, str) or not items:
            raise BuilderError("mockllm: when_input_ends_with() takes a non-empty list of input items")
        return self._when("when_input_ends_with", "contains", json_copy(items, "input"))

    # --- replies ------------------------------------------------------------------------------------

    @overload
    def reply(
        self,
        text: str,
        /,
        *,
        reasoning: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created_at: float | None = None,
        usage: ResponsesUsage | None = None,
    ) -> MockHandle[OpenAIResponseMock]: ...

    @overload
    def reply(self, response: Response | Mapping[str, Any], /) -> MockHandle[OpenAIResponseMock]: ...

    def reply(
        self,
        content: str | Response | Mapping[str, Any],
        /,
        *,
        reasoning: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created_at: float | None = None,
        usage: ResponsesUsage | None = None,
    ) -> MockHandle[OpenAIResponseMock]:
        """Answer with an assistant message whose text is ``content``, or, when ``content`` is an
        ``openai.types.responses.Response`` or a dict, with that whole ``response``, served as
        written.

        The keywords apply to a text reply: ``reasoning`` puts a reasoning item with that summary
        before the message; ``model``, ``response_id`` and ``created_at`` set the answer's
        ``model``, ``id`` and ``created_at`` (by default the request's model, a fresh id and now);
        ``usage`` its token counts (by default the server estimates them)."""
        if not isinstance(content, str):
            if any(v is not None for v in (reasoning, model, response_id, created_at, usage)):
                raise BuilderError(
                    "mockllm: reply() options apply to a text reply; set them on the response object"
                )
            return self._register(sdk_object(content, sdk_type="Response", items="output"))
        output = [*_reasoning(reasoning), _message(content)]
        return self._register(_response(output, model, response_id, created_at, usage))

    def reply_function_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str = "{}",
        *,
        id: str | None = None,
        call_id: str | None = None,
        text: str | None = None,
        reasoning: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created_at: float | None = None,
        usage: ResponsesUsage | None = None,
    ) -> MockHandle[OpenAIResponseMock]:
        """Answer with one ``function_call`` item calling tool ``name``; ``arguments`` is a dict or
        JSON text (kept as written) and ``id`` the ``call_id`` the ``function_call_output`` will
        refer to (``call_id`` is another spelling of it; by default the server makes one up).
        ``text`` is a message before the call; ``reasoning``, ``model``, ``response_id``,
        ``created_at`` and ``usage`` are as for `reply`."""
        return self.reply_function_calls(
            [ToolCall(name, arguments, id=tool_call_id(id, call_id, "reply_function_call"))],
            text=text,
            reasoning=reasoning,
            model=model,
            response_id=response_id,
            created_at=created_at,
            usage=usage,
        )

    def reply_function_calls(
        self,
        calls: Sequence[ToolCall],
        *,
        text: str | None = None,
        reasoning: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created_at: float | None = None,
        usage: ResponsesUsage | None = None,
    ) -> MockHandle[OpenAIResponseMock]:
        """Answer with several ``function_call`` items, one per `ToolCall` of ``calls``, after an
        optional message ``text``. ``reasoning``, ``model``, ``response_id``, ``created_at`` and
        ``usage`` are as for `reply`."""
        calls = checked_tool_calls(calls, "reply_function_calls")
        output = _reasoning(reasoning)
        if text is not None:
            output.append(_message(text))
        for call in calls:
            item = {
                "type": "function_call",
                **optional(call_id=call.id),
                "name": call.name,
                "arguments": call.arguments_text(),
                "status": "completed",
            }
            output.append(item)
        return self._register(_response(output, model, response_id, created_at, usage))

    reply_tool_call = reply_function_call
    """`reply_function_call` under the name every conversation builder has."""
    reply_tool_calls = reply_function_calls
    """`reply_function_calls` under the name every conversation builder has."""

    def reply_web_search(
        self,
        query: str,
        *,
        sources: Sequence[str] = (),
        then_text: str | None = None,
        reasoning: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created_at: float | None = None,
        usage: ResponsesUsage | None = None,
    ) -> MockHandle[OpenAIResponseMock]:
        """Answer with a ``web_search_call`` item (the hosted search for ``query``, which visited
        the URLs ``sources``), then a message ``then_text`` if given. ``reasoning``, ``model``,
        ``response_id``, ``created_at`` and ``usage`` are as for `reply`."""
        return self.reply_items(
            WebSearch(query, sources),
            then_text=then_text,
            reasoning=reasoning,
            model=model,
            response_id=response_id,
            created_at=created_at,
            usage=usage,
        )

    def reply_mcp_call(
        self,
        server_label: str,
        name: str,
        arguments: Mapping[str, Any] | str = "{}",
        *,
        output: str | None = None,
        error: str | Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        approval_request_id: str | None = None,
        then_text: str | None = None,
        reasoning: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created_at: float | None = None,
        usage: ResponsesUsage | None = None,
    ) -> MockHandle[OpenAIResponseMock]:
        """Answer with an ``mcp_call`` item: the call of tool ``name`` with ``arguments`` (a dict or
        JSON text) on MCP server ``server_label``, which returned ``output`` or failed with
        ``error``; after an ``mcp_list_tools`` item if ``tools`` is given (the server lists them on
        first use), and before a message ``then_text`` if given. ``approval_request_id`` names the
        ``mcp_approval_request`` this call was approved by. ``reasoning``, ``model``,
        ``response_id``, ``created_at`` and ``usage`` are as for `reply`."""
        items: list[OutputItem] = [] if tools is None else [McpListTools(server_label, tools)]
        call = McpCall(server_label, name, arguments, output, error, approval_request_id=approval_request_id)
        return self.reply_items(
            *items,
            call,
            then_text=then_text,
            reasoning=reasoning,
            model=model,
            response_id=response_id,
            created_at=created_at,
            usage=usage,
        )

    def reply_mcp_approval_request(
        self,
        server_label: str,
        name: str,
        arguments: Mapping[str, Any] | str = "{}",
        *,
        id: str | None = None,
        reasoning: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created_at: float | None = None,
        usage: ResponsesUsage | None = None,
    ) -> MockHandle[OpenAIResponseMock]:
        """Answer with an ``mcp_approval_request`` item: the model asks to call tool ``name`` with
        ``arguments`` (a dict or JSON text) on MCP server ``server_label``; ``id`` is the
        ``approval_request_id`` the client's ``mcp_approval_response`` will carry (match it with
        ``when_history_has_tool_results(id)``). ``reasoning``, ``model``, ``response_id``,
        ``created_at`` and ``usage`` are as for `reply`."""
        return self.reply_items(
            McpApprovalRequest(server_label, name, arguments, id=id),
            reasoning=reasoning,
            model=model,
            response_id=response_id,
            created_at=created_at,
            usage=usage,
        )

    def reply_items(
        self,
        *items: OutputItem | ToolCall | Mapping[str, Any],
        then_text: str | None = None,
        reasoning: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        created_at: float | None = None,
        usage: ResponsesUsage | None = None,
    ) -> MockHandle[OpenAIResponseMock]:
        """Answer with ``items``, output items in order (hosted tool calls, MCP items, custom tool
        calls, function calls as `ToolCall`, or any output item as a dict), after a reasoning
        summary and before a message ``then_text``, each if given. ``reasoning``, ``model``,
        ``response_id``, ``created_at`` and ``usage`` are as for `reply`."""
        if not items:
            raise BuilderError("mockllm: reply_items() needs at least one output item")
        output = [*_reasoning(reasoning), *output_items(items, "reply_items")]
        if then_text is not None:
            output.append(_message(then_text))
        return self._register(_response(output, model, response_id, created_at, usage))

    def _reply_value(self, reply: Reply) -> MockHandle[OpenAIResponseMock]:
        if reply.calls:
            return self.reply_function_calls(reply.calls, text=reply.text)
        if reply.stop == "refusal":
            message = _message("")
            message["content"] = [{"type": "refusal", "refusal": reply.text}]
            return self._register(_response([message], None, None, None, None))
        response = _response([_message(reply.text or "")], None, None, None, None)
        if reply.stop == "truncated":
            response |= {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}
        return self._register(response)


def _message(text: str) -> JsonObject:
    part = {"type": "output_text", "text": text, "annotations": []}
    return {"type": "message", "role": "assistant", "status": "completed", "content": [part]}


def _reasoning(summary: str | None) -> list[JsonObject]:
    if summary is None:
        return []
    return [{"type": "reasoning", "summary": [{"type": "summary_text", "text": summary}]}]


def _response(
    output: list[JsonObject],
    model: str | None,
    response_id: str | None,
    created_at: float | None,
    usage: ResponsesUsage | None,
) -> JsonObject:
    return {
        **optional(id=response_id),
        "object": "response",
        **optional(created_at=created_at, model=model),
        "status": "completed",
        "output": output,
        **optional(usage=_usage(usage)),
    }


def _usage(usage: ResponsesUsage | None) -> JsonObject | None:
    if usage is None:
        return None
    out: JsonObject = json_copy(usage, "usage")
    out.setdefault("input_tokens", 0)
    out.setdefault("output_tokens", 0)
    out.setdefault("total_tokens", out["input_tokens"] + out["output_tokens"])
    out.setdefault("input_tokens_details", {"cached_tokens": 0})
    out.setdefault("output_tokens_details", {"reasoning_tokens": 0})
    return out
