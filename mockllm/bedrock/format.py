"""The config models of Bedrock Converse mocks (``bedrock``): a mock's ``match.message`` is a
Converse message (``{"role": "user", "content": [{"text": …}]}``) compared with the request's last
message; ``response`` is a Converse response (``{"output": {"message": …}, "stopReason": …}``)."""

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

__all__ = ["BedrockMessage", "BedrockMock", "BedrockRequestMatch"]


def _blocks(value: Any) -> Any:
    if is_object_list(value):
        return value
    raise ValueError('expected a list of content blocks (JSON objects: {"text": …}, {"toolResult": …}, …)')


Blocks = Annotated[Any, AfterValidator(_blocks), WithJsonSchema(PARTS_SCHEMA)]


@with_config(ConfigDict(extra="forbid"))
class BedrockMessage(TypedDict, total=False):
    """A Converse message: who speaks, and its content blocks."""

    role: Literal["user", "assistant"]
    content: Blocks


class BedrockRequestMatch(MatchBase):
    message: BedrockMessage
    headers: tuple[HeaderMatch, ...] = ()
    model: ModelMatch | None = None
    """The model id in the URL (``/model/{modelId}/converse``), URL-decoded."""
    turn: Turn | None = None
    """How many ``assistant`` messages the request holds."""
    history_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the text (text blocks, tool results) of some message."""
    tool_results: tuple[ToolCallId, ...] = ()
    """Each id is the ``toolUseId`` of one of the request's ``toolResult`` blocks."""
    system_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the ``system`` text."""
    tool_names: tuple[StrictStr, ...] = ()
    """Each name is the name of one of ``toolConfig.tools``."""

    def _compile_body(self) -> None:
        _ = self.block_patterns

    @cached_property
    def block_patterns(self) -> tuple[re.Pattern[str] | None, ...]:
        """For a ``regex`` rule, the text of each text block of ``message.content`` compiled (None
        for other blocks). Empty for other rules."""
        if self.match_type is not MatchType.REGEX:
            return ()
        patterns: list[re.Pattern[str] | None] = []
        for i, block in enumerate(self.message.get("content") or []):
            if "text" not in block:
                patterns.append(None)
                continue
            loc = ("message", "content", i, "text")
            if not isinstance(block["text"], str):
                raise not_a_pattern(loc, block["text"], "BedrockRequestMatch", "text")
            patterns.append(compiled_pattern(block["text"], loc, "BedrockRequestMatch"))
        return tuple(patterns)


class BedrockMock(MockBase):
    """``POST /model/{modelId}/converse`` (and ``/converse-stream``): ``response`` is a Converse
    response."""

    match: BedrockRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None
