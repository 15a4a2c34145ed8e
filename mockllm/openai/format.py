"""The config models of OpenAI's mocks: ``openai`` (Chat Completions), ``openai_response``
(Responses) and ``openai_embeddings``, in kagent mockllm's format.

A chat mock's ``match.message`` is a chat message compared with the request's last message; a
Responses or embeddings mock's ``match.input`` is compared with the request's ``input``;
``response`` is the provider's own response object.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, StrictStr, WithJsonSchema, with_config
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from ..config_parts import (
    PARTS_SCHEMA,
    VECTORS_MOCK_CONFIG,
    ErrorReply,
    HeaderMatch,
    InputMatch,
    JsonObject,
    MatchBase,
    MockBase,
    ModelMatch,
    ResponseObject,
    ToolCallId,
    Turn,
    VectorsFromText,
    is_object_list,
)

__all__ = [
    "ChatMessage",
    "InputItemKind",
    "OpenAIEmbeddingMock",
    "OpenAIEmbeddingRequestMatch",
    "OpenAIMock",
    "OpenAIRequestMatch",
    "OpenAIResponseMock",
    "OpenAIResponseRequestMatch",
    "is_embeddings_input",
]

InputItemKind = Literal["user", "function_call_output", "custom_tool_call_output", "mcp_approval_response"]


# --- value checks for the fields whose JSON type is a union ------------------------------------
# Unions are checked by hand so that an error names the field and says what was expected, instead
# of pydantic's one error per union member.


def _content_parts(value: Any) -> Any:
    if value is None or isinstance(value, str) or is_object_list(value):
        return value
    raise ValueError("expected a string, a list of content parts (JSON objects) or null")


def _responses_input(value: Any) -> Any:
    if isinstance(value, str) or is_object_list(value):
        return value
    raise ValueError("expected a string or a list of input items (JSON objects)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_embeddings_input(value: Any) -> bool:
    """What the embeddings API takes as ``input``: a string, or a list of strings, of token ids or of
    token-id lists."""
    return isinstance(value, str) or (
        isinstance(value, list)
        and (
            all(isinstance(v, str) for v in value)
            or all(_is_int(v) for v in value)
            or all(isinstance(v, list) and all(_is_int(t) for t in v) for v in value)
        )
    )


def _embeddings_input(value: Any) -> Any:
    if is_embeddings_input(value):
        return value
    raise ValueError("expected a string, a list of strings, a list of token ids or a list of token-id lists")


ContentParts = Annotated[
    Any,
    AfterValidator(_content_parts),
    WithJsonSchema({"anyOf": [{"type": "string"}, PARTS_SCHEMA, {"type": "null"}]}),
]
ResponsesInput = Annotated[
    Any,
    AfterValidator(_responses_input),
    WithJsonSchema({"anyOf": [{"type": "string"}, PARTS_SCHEMA]}),
]
EmbeddingsInput = Annotated[
    Any,
    AfterValidator(_embeddings_input),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
                {"type": "array", "items": {"type": "integer"}},
                {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
            ]
        }
    ),
]


@with_config(ConfigDict(extra="forbid"))
class ChatMessage(TypedDict, total=False):
    """A Chat Completions message param, as the client sends it."""

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: ContentParts
    name: str
    tool_call_id: str
    tool_calls: list[JsonObject]
    refusal: str | None
    audio: JsonObject | None
    function_call: JsonObject | None


class OpenAIRequestMatch(MatchBase):
    message: ChatMessage
    headers: tuple[HeaderMatch, ...] = ()
    model: ModelMatch | None = None
    turn: Turn | None = None
    """How many ``assistant`` messages the request holds."""
    history_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the text of some message that is not ``system`` or ``developer``."""
    tool_results: tuple[ToolCallId, ...] = ()
    """Each id is the ``tool_call_id`` of one of the request's ``tool`` messages."""
    system_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the text of the ``system`` and ``developer`` messages."""
    tool_names: tuple[StrictStr, ...] = ()
    """Each name is the name of one of the request's ``tools`` (``function.name``, or a custom
    tool's name)."""

    def _compile_body(self) -> None:
        _ = self.pattern

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """The ``message.content`` of a ``regex`` rule, compiled (once, at load)."""
        content = self.message.get("content")
        return self._regex("" if content is None else content, ("message", "content"))


class OpenAIResponseRequestMatch(InputMatch):
    input: ResponsesInput
    headers: tuple[HeaderMatch, ...] = ()
    input_item: InputItemKind | None = None
    """The last input item must be of this kind (a string ``input`` is a ``user`` item), and the
    ``input`` rule is applied to it alone."""
    call_id: ToolCallId | None = None
    """The last input item answers the call of this id (its ``call_id``, compared exactly): the
    body rule of ``when_tool_result``."""
    model: ModelMatch | None = None
    turn: Turn | None = None
    """How many runs of consecutive model-produced items (assistant messages, function and tool
    calls, reasoning, ``mcp_*`` items) the input holds."""
    history_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the text of some input item that is not a ``system`` or ``developer``
    message (or in a string ``input``)."""
    tool_results: tuple[ToolCallId, ...] = ()
    """Each id is answered in the input: the ``call_id`` of a ``function_call_output`` or
    ``custom_tool_call_output`` item, or the ``approval_request_id`` of an
    ``mcp_approval_response``."""
    system_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the ``instructions`` and the text of the ``system`` and ``developer``
    input messages."""
    tool_names: tuple[StrictStr, ...] = ()
    """Each name is the name of one of the request's ``tools``."""


class OpenAIEmbeddingRequestMatch(InputMatch):
    input: EmbeddingsInput
    headers: tuple[HeaderMatch, ...] = ()
    model: ModelMatch | None = None


class OpenAIMock(MockBase):
    """``POST /v1/chat/completions``: ``response`` is a ``chat.completion`` object."""

    match: OpenAIRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None


class OpenAIResponseMock(MockBase):
    """``POST /v1/responses``: ``response`` is a Responses API ``response`` object."""

    match: OpenAIResponseRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None


class OpenAIEmbeddingMock(MockBase):
    """``POST /v1/embeddings``: ``response`` is a ``CreateEmbeddingResponse`` object."""

    model_config = VECTORS_MOCK_CONFIG

    match: OpenAIEmbeddingRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None
    vectors_from_text: VectorsFromText | None = None
