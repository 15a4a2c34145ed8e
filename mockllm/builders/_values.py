"""Values the builders share: the error, tool calls, usage shapes and JSON copying."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

import orjson
from typing_extensions import TypedDict

__all__ = [
    "AnthropicUsage",
    "BuilderError",
    "ChatUsage",
    "EmbeddingsUsage",
    "ResponsesUsage",
    "ToolCall",
]

JsonObject = dict[str, Any]


class BuilderError(ValueError):
    """A builder chain that cannot make a valid mock (raised where the chain goes wrong)."""


@dataclass(frozen=True)
class ToolCall:
    """One tool call in a reply, for any API.

    It becomes a Chat Completions ``tool_calls`` entry, a Responses ``function_call`` item or an
    Anthropic ``tool_use`` block. ``arguments`` is a dict or a JSON object text; ``id`` is the
    call's id (``call_id`` in Responses), which the tool result sent back refers to; ``call_id=``
    is another spelling of it. Left out, the server makes one up.
    """

    name: str
    arguments: Mapping[str, Any] | str = "{}"
    id: str | None = field(default=None, kw_only=True)
    call_id: InitVar[str | None] = field(default=None, kw_only=True)

    def __post_init__(self, call_id: str | None) -> None:
        if call_id is not None:
            object.__setattr__(self, "id", tool_call_id(self.id, call_id, "ToolCall"))

    def arguments_text(self) -> str:
        """The arguments as the OpenAI APIs carry them: JSON text, kept as written."""
        if isinstance(self.arguments, str):
            return self.arguments
        return orjson.dumps(json_copy(self.arguments, f"arguments of tool call {self.name!r}")).decode()

    def arguments_object(self) -> JsonObject:
        """The arguments as Anthropic carries them: a JSON object."""
        what = f"arguments of tool call {self.name!r}"
        if not isinstance(self.arguments, str):
            value = json_copy(self.arguments, what)
        else:
            try:
                value = orjson.loads(self.arguments)
            except orjson.JSONDecodeError as exc:
                raise BuilderError(f"mockllm: the {what} are not valid JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise BuilderError(f"mockllm: the {what} must be a JSON object, got {type(value).__name__}")
        return value


def tool_call_id(id: str | None, call_id: str | None, verb: str) -> str | None:
    """A tool call's id given as ``id=`` or as ``call_id=`` (Responses' name for it): every reply
    verb takes both."""
    if call_id is None:
        return id
    if id is not None and id != call_id:
        raise BuilderError(f"mockllm: {verb}() takes id= or call_id= (the same thing), not both")
    return call_id


def checked_tool_calls(calls: Sequence[ToolCall], verb: str) -> Sequence[ToolCall]:
    """The calls a reply verb of several tool calls was given: at least one, each a `ToolCall`."""
    if not calls:
        raise BuilderError(f"mockllm: {verb}() needs at least one ToolCall")
    for call in calls:
        if not isinstance(call, ToolCall):
            raise BuilderError(f"mockllm: {verb}() takes ToolCall values, got {call!r}")
    return calls


class ChatUsage(TypedDict, total=False):
    """Chat Completions ``usage``; ``total_tokens`` defaults to the sum of the other two."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: JsonObject
    completion_tokens_details: JsonObject


class ResponsesUsage(TypedDict, total=False):
    """Responses ``usage``; totals and the ``*_details`` objects are filled in when absent."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: JsonObject
    output_tokens_details: JsonObject


class EmbeddingsUsage(TypedDict, total=False):
    """Embeddings ``usage``; ``total_tokens`` defaults to ``prompt_tokens``."""

    prompt_tokens: int
    total_tokens: int


class AnthropicUsage(TypedDict, total=False):
    """Anthropic ``usage``."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


# --- JSON copies ---------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    # orjson serialises only dict, list and tuple containers; a user may hand any Mapping or
    # Sequence, or a pydantic model nested inside a dict (an SDK param type, say).
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        # exclude_unset: what the SDK model left at its defaults stays out, as the user wrote it.
        return dump(mode="json", by_alias=True, exclude_unset=True)
    raise TypeError(type(value).__name__)


def json_copy(value: Any, what: str) -> Any:
    """A deep copy made of plain JSON values, so later changes to the user's object don't leak in."""
    try:
        return orjson.loads(orjson.dumps(value, default=_json_default))
    except TypeError as exc:
        raise BuilderError(f"mockllm: {what} is not JSON: {exc}") from None


def sdk_object(value: object, *, sdk_type: str, items: str) -> JsonObject:
    """A provider response given as an SDK model or a dict, as a JSON object.

    ``items`` names the list the object must carry (``choices``, ``output``, ``data``,
    ``content``), which tells a response of another API apart before the server refuses it.
    """
    if not isinstance(value, Mapping) and not callable(getattr(value, "model_dump", None)):
        raise BuilderError(f"mockllm: reply() takes a {sdk_type} or a dict here, got {type(value).__name__}")
    data = json_copy(value, "the response")
    if not isinstance(data, dict) or not isinstance(data.get(items), list):
        raise BuilderError(f"mockllm: the response has no {items!r} list; is it a {sdk_type}?")
    return data


def optional(**fields: Any) -> JsonObject:
    """The given fields that are not None, in order (for optional response envelope fields)."""
    return {key: value for key, value in fields.items() if value is not None}
