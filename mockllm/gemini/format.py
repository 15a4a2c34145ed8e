"""The config models of Gemini mocks: ``gemini`` (``generateContent``) and ``gemini_embeddings``
(``embedContent`` / ``batchEmbedContents``).

A ``gemini`` mock's ``match.message`` is a Gemini ``Content`` (``{"role": "user", "parts":
[{"text": …}]}``), compared with the request's last content; ``response`` is a
``GenerateContentResponse``. A ``gemini_embeddings`` mock's ``match.input`` is the text of the
request's contents, as on OpenAI embeddings; ``response`` is an ``EmbedContentResponse``
(``{"embedding": {"values": […]}}``) or a batch's (``{"embeddings": […]}``).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, StrictStr, WithJsonSchema, with_config
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from ..config_parts import (
    TEXTS_SCHEMA,
    VECTORS_MOCK_CONFIG,
    ErrorReply,
    HeaderMatch,
    InputMatch,
    MatchBase,
    MatchType,
    MockBase,
    ModelMatch,
    ResponseObject,
    ToolCallId,
    Turn,
    VectorsFromText,
    compiled_pattern,
    is_object_list,
    not_a_pattern,
)

__all__ = [
    "GeminiContent",
    "GeminiEmbeddingMock",
    "GeminiEmbeddingRequestMatch",
    "GeminiMock",
    "GeminiRequestMatch",
]


def _parts(value: Any) -> Any:
    if is_object_list(value):
        return value
    raise ValueError('expected a list of parts (JSON objects: {"text": …}, {"functionResponse": …}, …)')


Parts = Annotated[Any, AfterValidator(_parts), WithJsonSchema({"type": "array", "items": {"type": "object"}})]


@with_config(ConfigDict(extra="forbid"))
class GeminiContent(TypedDict, total=False):
    """A Gemini ``Content``: who speaks, and the parts of what they say."""

    role: Literal["user", "model", "function", "tool"]
    parts: Parts


def _texts(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        # One content is one string, however the request batched it.
        return value[0] if len(value) == 1 else value
    raise ValueError("expected a string or a list of strings")


Texts = Annotated[
    Any,
    AfterValidator(_texts),
    WithJsonSchema(TEXTS_SCHEMA),
]


class GeminiRequestMatch(MatchBase):
    message: GeminiContent
    headers: tuple[HeaderMatch, ...] = ()
    model: ModelMatch | None = None
    """The model named in the URL (``…/models/{model}:generateContent``)."""
    turn: Turn | None = None
    """How many model turns the request holds: runs of consecutive ``model`` contents (a chat
    sends a streamed answer back one content per chunk)."""
    history_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the text (text parts, function responses) of some content."""
    tool_results: tuple[ToolCallId, ...] = ()
    """Each id is the ``id`` of one of the request's ``functionResponse`` parts (its ``name``, for a
    part without an id: the SDK's automatic function calling sends none)."""
    system_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the text of ``systemInstruction``."""
    tool_names: tuple[StrictStr, ...] = ()
    """Each name is the name of one of the request's function declarations."""

    def _compile_body(self) -> None:
        _ = self.part_patterns

    @cached_property
    def part_patterns(self) -> tuple[re.Pattern[str] | None, ...]:
        """For a ``regex`` rule, the text of each part of ``message.parts`` compiled (None for parts
        that are not text). Empty for other rules."""
        if self.match_type is not MatchType.REGEX:
            return ()
        patterns: list[re.Pattern[str] | None] = []
        for i, part in enumerate(self.message.get("parts") or []):
            if "text" not in part:
                patterns.append(None)
                continue
            text, loc = part["text"], ("message", "parts", i, "text")
            if not isinstance(text, str):
                raise not_a_pattern(loc, text, "GeminiRequestMatch", "text")
            patterns.append(compiled_pattern(text, loc, "GeminiRequestMatch"))
        return tuple(patterns)


class GeminiMock(MockBase):
    """``POST …/models/{model}:generateContent`` (and ``:streamGenerateContent``): ``response`` is
    a ``GenerateContentResponse``."""

    match: GeminiRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None


class GeminiEmbeddingRequestMatch(InputMatch):
    input: Texts
    """The text of the request's contents: one string per content (a ``batchEmbedContents``
    request of one content is that content's text)."""
    headers: tuple[HeaderMatch, ...] = ()
    model: ModelMatch | None = None


class GeminiEmbeddingMock(MockBase):
    """``POST …/models/{model}:batchEmbedContents`` (and ``:embedContent``): ``response`` is an
    ``EmbedContentResponse``, or ``vectors_from_text`` makes each content's vector from its text."""

    model_config = VECTORS_MOCK_CONFIG

    match: GeminiEmbeddingRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None
    vectors_from_text: VectorsFromText | None = None
