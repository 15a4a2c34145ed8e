"""Gemini mocks (``POST …/models/{model}:generateContent`` and ``:streamGenerateContent``):
``mock().gemini()``.

Verb → the fields it sets in the mock (``gemini[i]``):

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
  ``match.message.parts``
- ``when_last_message_matches(pattern, role=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.parts``
- ``when_tool_result(id_or_name, contains=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.parts``
- ``when_last_message(role=, parts= | contains=)`` → ``match.match_type``, ``match.message.role``,
  ``match.message.parts``
- ``reply(text | GenerateContentResponse | dict, thinking=, thought_signature=)`` → ``response``
- ``reply_function_call(name, args, id=)``, ``reply_tool_call(name, args, id=)`` → ``response``
- ``reply_function_calls([ToolCall, ...])``, ``reply_tool_calls([ToolCall, ...])`` → ``response``
- ``reply_code_execution(code, output, then_text=)`` → ``response``
- ``reply_with(fn)``, ``reply_drawn(data, strategy)`` → ``reply_with`` (a Python function: no JSON
  holds it)
- ``reply_error(status, message=, type=, headers=, retry_after=)`` → ``error.status``,
  ``error.message``, ``error.type``, ``error.headers``

A mock has at most one rule on the last message (a Gemini ``Content``: ``when_last_message*``,
``when_tool_result``); the other ``when_*`` verbs look at the whole request. A mock with no
``when_*`` verb on the last message matches every request that passes its request-wide rules. The
server fills in what a reply leaves out (``responseId``, ``usageMetadata``, function call ids;
``modelVersion`` echoes the model in the request's URL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from ..builders._base import MockHandle, check_pattern
from ..builders._conversation import ConversationBuilder, checked_result_args
from ..builders._values import (
    BuilderError,
    JsonObject,
    ToolCall,
    checked_tool_calls,
    json_copy,
    optional,
    sdk_object,
)
from .format import GeminiMock

if TYPE_CHECKING:
    from google.genai.types import GenerateContentResponse

    from ..replies import Reply

__all__ = ["FinishReason", "GeminiBuilder", "GeminiRole"]

GeminiRole = Literal["user", "model"]
FinishReason = Literal[
    "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "LANGUAGE", "OTHER", "BLOCKLIST", "MALFORMED_FUNCTION_CALL"
]
Parts = Sequence[Mapping[str, Any]]


class GeminiBuilder(ConversationBuilder[GeminiMock]):
    """A Gemini mock: at most one ``when_*`` rule on the last content, any number of rules on the
    whole request and of headers, then a ``reply*`` verb."""

    _API = "gemini"
    _SUBJECT = "message"

    def _catch_all(self) -> JsonObject:
        return {"parts": []}

    # --- request-wide rules ---------------------------------------------------------------------------

    def when_system_contains(self, text: str) -> Self:
        """The request's ``systemInstruction`` text contains ``text`` (each such rule must hold)."""
        return self._with_rule_items("when_system_contains", "system_contains", (text,), what="text")

    def when_tool_names(self, *names: str) -> Self:
        """The request declares a function of each of ``names`` (among others)."""
        return self._with_rule_items("when_tool_names", "tool_names", names, what="tool name")

    # --- the last content -----------------------------------------------------------------------------

    def when_last_message_contains(self, text: str, *, role: GeminiRole | None = "user") -> Self:
        """The last content has ``role`` (any role with ``role=None``) and its text (text parts,
        function responses) contains ``text``."""
        return self._when(
            "when_last_message_contains", "contains", optional(role=role, parts=[{"text": text}])
        )

    def when_last_message_matches(self, pattern: str, *, role: GeminiRole | None = "user") -> Self:
        """The last content has ``role`` (any role with ``role=None``) and the Python regex
        ``pattern`` is found (``re.search``) in one of its texts."""
        check_pattern("when_last_message_matches", pattern)
        return self._when(
            "when_last_message_matches", "regex", optional(role=role, parts=[{"text": pattern}])
        )

    def when_tool_result(self, id_or_name: str, *, contains: str = "") -> Self:
        """The last content carries the ``functionResponse`` of the call ``id_or_name`` (its id,
        or its function's name for the responses the SDK sends without one), and its text (a
        function response's is its ``response`` as JSON) contains ``contains`` when given."""
        id_or_name, contains = checked_result_args(id_or_name, contains, "call id or name")
        parts: list[JsonObject] = [{"functionResponse": {"id": id_or_name}}]
        if contains:
            parts.append({"text": contains})
        return self._when("when_tool_result", "contains", {"parts": parts})

    def when_last_message(
        self,
        *,
        role: GeminiRole | None = None,
        parts: str | Parts | None = None,
        contains: str | Parts | None = None,
    ) -> Self:
        """The last content is exactly ``role`` + ``parts`` (a string is one text part).

        With ``contains=`` instead it is a ``contains`` rule: each given part is found in the last
        content (a text part by substring, a ``functionResponse`` by id or name, a
        ``functionCall`` by name, any other part whole), and the role, where given, is equal.
        """
        if contains is not None:
            if parts is not None:
                raise BuilderError("mockllm: when_last_message() takes parts= (exact) or contains=, not both")
            return self._when("when_last_message", "contains", optional(role=role, parts=_parts(contains)))
        if role is None or parts is None:
            raise BuilderError(
                "mockllm: when_last_message() needs role= and parts= for an exact rule (or contains=)"
            )
        return self._when("when_last_message", "exact", {"role": role, "parts": _parts(parts)})

    # --- replies ------------------------------------------------------------------------------------

    @overload
    def reply(
        self,
        text: str,
        /,
        *,
        thinking: str | None = None,
        thought_signature: str | None = None,
        finish_reason: FinishReason = "STOP",
        model: str | None = None,
        response_id: str | None = None,
        usage: Mapping[str, int] | None = None,
        grounding: Mapping[str, Any] | None = None,
    ) -> MockHandle[GeminiMock]: ...

    @overload
    def reply(self, response: GenerateContentResponse | Mapping[str, Any], /) -> MockHandle[GeminiMock]: ...

    def reply(
        self,
        content: str | GenerateContentResponse | Mapping[str, Any],
        /,
        *,
        thinking: str | None = None,
        thought_signature: str | None = None,
        finish_reason: FinishReason | None = None,
        model: str | None = None,
        response_id: str | None = None,
        usage: Mapping[str, int] | None = None,
        grounding: Mapping[str, Any] | None = None,
    ) -> MockHandle[GeminiMock]:
        """Answer with a text part whose text is ``content``, or, when ``content`` is a
        ``google.genai.types.GenerateContentResponse`` or a dict, with that whole response, served
        as written.

        The keywords apply to a text reply: ``thinking`` puts a thought part before the text (its
        ``thought_signature`` base64 text, if given); ``grounding`` is the candidate's
        ``groundingMetadata`` (the sources a search-grounded answer cites). ``finish_reason`` sets
        the candidate's (default ``"STOP"``), ``model`` and ``response_id`` the answer's
        ``modelVersion`` and ``responseId`` (by default the request's model and a fresh id), and
        ``usage`` its ``usageMetadata`` (by default the server estimates it)."""
        if not isinstance(content, str):
            options = (thinking, thought_signature, finish_reason, model, response_id, usage, grounding)
            if any(v is not None for v in options):
                raise BuilderError(
                    "mockllm: reply() options apply to a text reply; set them on the response object"
                )
            return self._register(sdk_object(content, sdk_type="GenerateContentResponse", items="candidates"))
        parts = [*_thought(thinking, thought_signature), {"text": content}]
        extra = optional(
            groundingMetadata=json_copy(grounding, "grounding") if grounding is not None else None
        )
        return self._register(_response(parts, finish_reason or "STOP", model, response_id, usage, extra))

    def reply_function_call(
        self,
        name: str,
        args: Mapping[str, Any] | str = "{}",
        *,
        id: str | None = None,
        text: str | None = None,
        thinking: str | None = None,
        thought_signature: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        usage: Mapping[str, int] | None = None,
    ) -> MockHandle[GeminiMock]:
        """Answer with one ``functionCall`` part calling function ``name``; ``args`` is a dict or
        JSON object text and ``id`` the id its ``functionResponse`` will carry (the server makes one
        up when it is left out). ``text`` is a text part before the call; ``thinking`` (with its
        ``thought_signature``), ``model``, ``response_id`` and ``usage`` are as for `reply`."""
        return self.reply_function_calls(
            [ToolCall(name, args, id=id)],
            text=text,
            thinking=thinking,
            thought_signature=thought_signature,
            model=model,
            response_id=response_id,
            usage=usage,
        )

    def reply_function_calls(
        self,
        calls: Sequence[ToolCall],
        *,
        text: str | None = None,
        thinking: str | None = None,
        thought_signature: str | None = None,
        model: str | None = None,
        response_id: str | None = None,
        usage: Mapping[str, int] | None = None,
    ) -> MockHandle[GeminiMock]:
        """Answer with parallel ``functionCall`` parts, one per `ToolCall` of ``calls``, after an
        optional text part ``text``. ``thinking`` (with its ``thought_signature``), ``model``,
        ``response_id`` and ``usage`` are as for `reply`."""
        calls = checked_tool_calls(calls, "reply_function_calls")
        parts = _thought(thinking, thought_signature)
        if text is not None:
            parts.append({"text": text})
        for call in calls:
            parts.append(
                {"functionCall": {**optional(id=call.id), "name": call.name, "args": call.arguments_object()}}
            )
        return self._register(_response(parts, "STOP", model, response_id, usage, {}))

    reply_tool_call = reply_function_call
    """`reply_function_call` under the name every conversation builder has."""
    reply_tool_calls = reply_function_calls
    """`reply_function_calls` under the name every conversation builder has."""

    def reply_code_execution(
        self,
        code: str,
        output: str,
        *,
        then_text: str | None = None,
        language: str = "PYTHON",
        outcome: str = "OUTCOME_OK",
        model: str | None = None,
        response_id: str | None = None,
        usage: Mapping[str, int] | None = None,
    ) -> MockHandle[GeminiMock]:
        """Answer as the code execution tool does: an ``executableCode`` part with ``code`` in
        ``language`` (default ``"PYTHON"``), its ``codeExecutionResult`` with ``output`` and
        ``outcome`` (default ``"OUTCOME_OK"``), then a text part ``then_text`` if given.
        ``model``, ``response_id`` and ``usage`` are as for `reply`."""
        parts: list[JsonObject] = [
            {"executableCode": {"language": language, "code": code}},
            {"codeExecutionResult": {"outcome": outcome, "output": output}},
        ]
        if then_text is not None:
            parts.append({"text": then_text})
        return self._register(_response(parts, "STOP", model, response_id, usage, {}))

    def _reply_value(self, reply: Reply) -> MockHandle[GeminiMock]:
        if reply.calls:
            return self.reply_function_calls(reply.calls, text=reply.text)
        stops: dict[str, FinishReason] = {"end": "STOP", "truncated": "MAX_TOKENS", "refusal": "SAFETY"}
        return self.reply(reply.text or "", finish_reason=stops[reply.stop])


def _parts(value: str | Parts) -> list[JsonObject]:
    if isinstance(value, str):
        return [{"text": value}]
    parts = json_copy(value, "parts")
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        raise BuilderError(
            "mockllm: a Gemini content's parts are a string or a non-empty list of parts (dicts)"
        )
    return parts


def _thought(thinking: str | None, signature: str | None) -> list[JsonObject]:
    if thinking is None:
        if signature is not None:
            raise BuilderError("mockllm: thought_signature= needs thinking=")
        return []
    return [{"text": thinking, "thought": True, **optional(thoughtSignature=signature)}]


def _response(
    parts: list[JsonObject],
    finish_reason: str,
    model: str | None,
    response_id: str | None,
    usage: Mapping[str, int] | None,
    extra: JsonObject,
) -> JsonObject:
    candidate = {"content": {"role": "model", "parts": parts}, "finishReason": finish_reason, **extra}
    return {
        "candidates": [candidate],
        **optional(
            usageMetadata=json_copy(usage, "usage") if usage is not None else None,
            modelVersion=model,
            responseId=response_id,
        ),
    }
