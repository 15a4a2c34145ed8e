"""The config models of Anthropic's mocks (``anthropic``), in kagent mockllm's format: a mock's
``match.message`` is an Anthropic message compared with the request's last message; ``response``
is an Anthropic ``Message``."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, StrictStr, WithJsonSchema, with_config
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from ..config_parts import (
    PARTS_SCHEMA,
    ErrorReply,
    HeaderMatch,
    MatchBase,
    MatchType,
    MockBase,
    ModelMatch,
    ResponseObject,
    ToolCallId,
    Turn,
    compiled_pattern,
    is_object_list,
    not_a_pattern,
)

__all__ = ["AnthropicMessage", "AnthropicMock", "AnthropicRequestMatch"]


def _anthropic_content(value: Any) -> Any:
    if isinstance(value, str) or is_object_list(value):
        return value
    raise ValueError("expected a string or a list of content blocks (JSON objects)")


AnthropicContent = Annotated[
    Any,
    AfterValidator(_anthropic_content),
    WithJsonSchema({"anyOf": [{"type": "string"}, PARTS_SCHEMA]}),
]


@with_config(ConfigDict(extra="forbid"))
class AnthropicMessage(TypedDict, total=False):
    """An Anthropic Messages API message param."""

    role: Literal["user", "assistant", "system"]
    content: AnthropicContent


class AnthropicRequestMatch(MatchBase):
    message: AnthropicMessage
    headers: tuple[HeaderMatch, ...] = ()
    system_contains: tuple[str, ...] = ()
    """Each string must occur in the request's ``system`` text."""
    tool_names: tuple[str, ...] = ()
    """Each name must be the name of one of the request's ``tools``."""
    model: ModelMatch | None = None
    turn: Turn | None = None
    """How many ``assistant`` messages the request holds."""
    history_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the text (text blocks, ``tool_result`` content) of some message."""
    tool_results: tuple[ToolCallId, ...] = ()
    """Each id is the ``tool_use_id`` of one of the request's ``tool_result`` blocks (or of a
    server tool's result block, ``mcp_tool_result`` say, replayed in the history)."""
    tool_result_contains: StrictStr | None = None
    """With a ``contains`` or ``regex`` rule: the text of a ``tool_result`` block of the last
    message (one of those the ``message`` rule names by ``tool_use_id``, if it names any) contains
    this (``when_tool_result(id, contains=…)``). An addition to kagent's rule, whose
    ``tool_result`` blocks match on ``tool_use_id`` alone."""

    def _compile_body(self) -> None:
        _ = self.block_patterns

    @cached_property
    def block_patterns(self) -> tuple[re.Pattern[str] | None, ...]:
        """For a ``regex`` rule, the text of each block of ``message.content`` compiled (None for
        blocks that are not text); a string content is one text block. Empty for other rules."""
        if self.match_type is not MatchType.REGEX:
            return ()
        content = self.message.get("content")
        model = "AnthropicRequestMatch"
        if isinstance(content, str):
            return (compiled_pattern(content, ("message", "content"), model),)
        patterns: list[re.Pattern[str] | None] = []
        for i, block in enumerate(content or []):
            text = block.get("text")
            if block.get("type") != "text":
                patterns.append(None)
            elif not isinstance(text, str):
                raise not_a_pattern(("message", "content", i, "text"), text, model, "text")
            else:
                patterns.append(compiled_pattern(text, ("message", "content", i, "text"), model))
        return tuple(patterns)


class AnthropicMock(MockBase):
    """``POST /v1/messages``: ``response`` is an Anthropic ``Message`` object."""

    match: AnthropicRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None
