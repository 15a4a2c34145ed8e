"""The config models of Ollama's mocks: ``ollama`` (``/api/chat`` and ``/api/generate``) and
``ollama_embeddings`` (``/api/embed`` and ``/api/embeddings``).

An ``ollama`` mock's ``match.message`` is an Ollama chat message compared with the request's last
message (a generate request's ``prompt`` is a user message); its ``response`` is a chat response
(``{"message": {"role": "assistant", "content": …}}``), which a generate request gets as its
``response`` text. An ``ollama_embeddings`` mock's ``match.input`` is the request's ``input`` (or
an ``/api/embeddings`` request's ``prompt``), as on OpenAI embeddings.
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
    JsonObject,
    MatchBase,
    MockBase,
    ModelMatch,
    ResponseObject,
    ToolCallId,
    Turn,
    VectorsFromText,
)

__all__ = [
    "OllamaEmbeddingMock",
    "OllamaEmbeddingRequestMatch",
    "OllamaMessage",
    "OllamaMock",
    "OllamaRequestMatch",
]


@with_config(ConfigDict(extra="forbid"))
class OllamaMessage(TypedDict, total=False):
    """An Ollama chat message, as the client sends it."""

    role: Literal["system", "user", "assistant", "tool"]
    content: StrictStr
    thinking: StrictStr
    images: list[StrictStr]
    tool_calls: list[JsonObject]
    tool_name: StrictStr


class OllamaRequestMatch(MatchBase):
    message: OllamaMessage
    headers: tuple[HeaderMatch, ...] = ()
    model: ModelMatch | None = None
    turn: Turn | None = None
    """How many ``assistant`` messages the request holds."""
    history_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in some message that is not ``system`` (or in a generate prompt)."""
    tool_results: tuple[ToolCallId, ...] = ()
    """Each name is the ``tool_name`` of one of the request's ``tool`` messages (Ollama's tool
    calls carry no id)."""
    system_contains: tuple[StrictStr, ...] = ()
    """Each string occurs in the ``system`` messages (or a generate request's ``system``)."""
    tool_names: tuple[StrictStr, ...] = ()
    """Each name is the name of one of the request's ``tools``."""

    def _compile_body(self) -> None:
        _ = self.pattern

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """The ``message.content`` of a ``regex`` rule, compiled (once, at load)."""
        return self._regex(self.message.get("content", ""), ("message", "content"))


class OllamaMock(MockBase):
    """``POST /api/chat`` and ``/api/generate``: ``response`` is a chat response."""

    match: OllamaRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None


def _input(value: Any) -> Any:
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise ValueError("expected a string or a list of strings")


EmbedInput = Annotated[
    Any,
    AfterValidator(_input),
    WithJsonSchema(TEXTS_SCHEMA),
]


class OllamaEmbeddingRequestMatch(InputMatch):
    input: EmbedInput
    headers: tuple[HeaderMatch, ...] = ()
    model: ModelMatch | None = None


class OllamaEmbeddingMock(MockBase):
    """``POST /api/embed`` and ``/api/embeddings``: ``response`` is ``{"embeddings": [[…], …]}``
    (or ``{"embedding": […]}``), or ``vectors_from_text`` makes each input's vector from its text."""

    model_config = VECTORS_MOCK_CONFIG

    match: OllamaEmbeddingRequestMatch
    response: ResponseObject = None
    error: ErrorReply | None = None
    vectors_from_text: VectorsFromText | None = None
