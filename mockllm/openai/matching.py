"""What the matchers read of OpenAI's requests: the last chat message, the Responses input and
its items, the embeddings input; and what the request-wide rules read of each. The engine (the
canonical form, the index, the rule messages) is `mockllm.matching`'s."""

from __future__ import annotations

from typing import Any

import orjson

from ..config_parts import MatchType
from ..matching import (
    SYSTEM_ROLES,
    Conversation,
    MatchRules,
    Request,
    assistant_turns,
    canonical,
    canonical_key,
    embeddings_input_mismatch,
    input_texts,
    last_message,
    message_mismatch,
    object_messages,
    parts_text,
    pattern_mismatch,
    preview,
    substring_mismatch,
    tool_names_of,
)
from .format import (
    OpenAIEmbeddingMock,
    OpenAIEmbeddingRequestMatch,
    OpenAIMock,
    OpenAIRequestMatch,
    OpenAIResponseMock,
    OpenAIResponseRequestMatch,
)

__all__ = [
    "CHAT_RULES",
    "EMBEDDINGS_RULES",
    "RESPONSES_RULES",
    "chat_mismatch",
    "chat_request_mismatch",
    "chat_turns",
    "embeddings_mismatch",
    "embeddings_request_mismatch",
    "is_model_produced",
    "responses_mismatch",
    "responses_request_mismatch",
    "responses_turns",
]


# --- chat completions -------------------------------------------------------------------------


chat_subject = last_message
"""What a chat rule looks at: the last message."""
chat_turns = assistant_turns
"""``turn`` on chat: the number of ``assistant`` messages."""


def _chat_history(request: Request) -> list[str]:
    """The text of every message but the system prompt (``system`` and ``developer`` messages)."""
    return [
        parts_text(m.get("content")) for m in object_messages(request) if m.get("role") not in SYSTEM_ROLES
    ]


def _chat_result_ids(request: Request) -> set[str]:
    return {
        i
        for m in object_messages(request)
        if m.get("role") == "tool" and isinstance(i := m.get("tool_call_id"), str)
    }


def _chat_system(request: Request) -> str:
    return "\n".join(
        parts_text(m.get("content")) for m in object_messages(request) if m.get("role") in SYSTEM_ROLES
    )


CHAT_CONVERSATION = Conversation(
    turns=chat_turns,
    history=_chat_history,
    result_ids=_chat_result_ids,
    system=_chat_system,
    tool_names=tool_names_of,
)
chat_request_mismatch = CHAT_CONVERSATION.mismatch


def _chat_body_mismatch(match: OpenAIRequestMatch, request: Request) -> str | None:
    return message_mismatch(match, last_message(request), _chat_message_mismatch)


def _chat_message_mismatch(match: OpenAIRequestMatch, last: dict[str, Any]) -> str | None:
    want = match.message
    reason = _field_mismatch("tool_call_id", want, last) or _field_mismatch("name", want, last)
    if reason is not None:
        return reason
    text = parts_text(last.get("content"))
    if match.match_type is MatchType.REGEX:
        return pattern_mismatch(match.pattern, text, "last message")
    return substring_mismatch(parts_text(want.get("content")), text, "last message")


def chat_mismatch(match: OpenAIRequestMatch, request: Request) -> str | None:
    """Every rule of a chat mock but its headers: the last message, then the request-wide rules."""
    return _chat_body_mismatch(match, request) or chat_request_mismatch(match, request)


def _field_mismatch(key: str, want: dict[str, Any] | Any, last: dict[str, Any]) -> str | None:
    expected = want.get(key)
    if expected is None or last.get(key) == expected:
        return None
    return f"{key}: wants {preview(expected)}, got {preview(last.get(key))}"


# --- responses --------------------------------------------------------------------------------


def _responses_item(item: Any) -> Any:
    # Clients may omit "type" on easy messages ({"role", "content"}); kagent adds it, so do we.
    if isinstance(item, dict) and "type" not in item and "role" in item and "content" in item:
        return {**item, "type": "message"}
    return item


def responses_subject(request: Request) -> Any:
    """What a Responses rule looks at: the whole ``input``, easy messages typed."""
    value = request.get("input")
    if isinstance(value, list):
        return [_responses_item(item) for item in value]
    return value


def _item_text(item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    if item.get("type") in _RESULT_ID_KEY:
        return parts_text(item.get("output"))
    return parts_text(item.get("content"))


def _item_type(item: Any) -> Any:
    """An input item's type; an easy message (``{"role", "content"}``) is a ``message``."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind is None and "role" in item:
        return "message"
    return kind


def is_model_produced(item: Any) -> bool:
    """Whether a Responses input item is one the model emits in ``output``: an assistant
    ``message``, a ``reasoning`` item, a ``function_call`` or ``custom_tool_call``, a hosted tool's
    ``*_call`` (``web_search_call``, ``computer_call``, …) or an ``mcp_*`` item (calls, tool lists,
    approval requests). Not user, system or developer messages, ``*_output`` items (what the client
    sends back) or ``mcp_approval_response``."""
    kind = _item_type(item)
    if not isinstance(kind, str):
        return False
    if kind == "message":
        return bool(item.get("role") == "assistant")
    if kind.endswith("_call") or kind == "reasoning":
        return True
    return kind.startswith("mcp_") and kind != "mcp_approval_response"


def responses_turns(request: Request) -> int:
    """``turn`` on Responses: the runs of consecutive model-produced input items (one response of
    the model may be several items: reasoning, a message, parallel function calls)."""
    value = request.get("input")
    if not isinstance(value, list):
        return 0
    turns, inside = 0, False
    for item in value:
        produced = is_model_produced(item)
        if produced and not inside:
            turns += 1
        inside = produced
    return turns


def _responses_history(request: Request) -> list[str]:
    value = request.get("input")
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        return []
    return [
        _item_text(item)
        for item in value
        if isinstance(item, dict) and not (_item_type(item) == "message" and item.get("role") in SYSTEM_ROLES)
    ]


# The input items that answer a call of the model, and the key naming the call they answer.
_RESULT_ID_KEY = {
    "function_call_output": "call_id",
    "custom_tool_call_output": "call_id",
    "mcp_approval_response": "approval_request_id",
}


def _responses_result_ids(request: Request) -> set[str]:
    """The ids of the calls the input answers: ``function_call_output`` and
    ``custom_tool_call_output`` items by ``call_id``, ``mcp_approval_response`` items by
    ``approval_request_id``."""
    value = request.get("input")
    if not isinstance(value, list):
        return set()
    return {
        i
        for item in value
        if isinstance(item, dict)
        and (key := _RESULT_ID_KEY.get(str(item.get("type")))) is not None
        and isinstance(i := item.get(key), str)
    }


def _responses_system(request: Request) -> str:
    """The request's ``instructions`` and the text of its ``system`` and ``developer`` input
    messages."""
    instructions = request.get("instructions")
    texts = [instructions] if isinstance(instructions, str) else []
    value = request.get("input")
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict) and _item_type(item) == "message" and item.get("role") in SYSTEM_ROLES:
            texts.append(_item_text(item))
    return "\n".join(texts)


RESPONSES_CONVERSATION = Conversation(
    turns=responses_turns,
    history=_responses_history,
    history_item="input item",
    result_ids=_responses_result_ids,
    system=_responses_system,
    tool_names=tool_names_of,
)
responses_request_mismatch = RESPONSES_CONVERSATION.mismatch


def _input_item_kind(item: Any) -> str:
    """How an input item is named in a near miss: its type, and a message's role."""
    kind = _item_type(item)
    if kind == "message":
        return f"a message (role {preview(item.get('role'))})"
    return f"a {kind}" if isinstance(kind, str) else f"not an item: {preview(item)}"


def _narrowed(want: str, actual: Any) -> tuple[str | None, Any]:
    """``input_item``: (why the last input item is not of kind ``want``, or None; the input the
    body rule then looks at: a string input, or the last item alone)."""
    if isinstance(actual, str):
        if want == "user":
            return None, actual
        return f"input_item: wants {want} last, the input is a string (a user message)", actual
    if not isinstance(actual, list) or not actual:
        return f"input_item: wants {want} last, the input is {preview(actual)}", actual
    last = actual[-1]
    kind = _item_type(last)
    if (kind == "message" and last.get("role") == "user") if want == "user" else kind == want:
        return None, [last]
    return f"input_item: wants {want} last, the last input item is {_input_item_kind(last)}", actual


def _answered_call_mismatch(call_id: str, actual: Any) -> str | None:
    """``call_id``: why the last input item does not answer the call ``call_id``, or None."""
    last = actual[-1] if isinstance(actual, list) and actual else None
    answered = last.get("call_id") if isinstance(last, dict) else None
    if answered == call_id:
        return None
    return f"call_id: wants the last input item to answer {preview(call_id)}, it answers {preview(answered)}"


def _responses_body_mismatch(match: OpenAIResponseRequestMatch, request: Request) -> str | None:
    actual = responses_subject(request)
    if actual is None:
        return "the request has no input"
    if match.input_item is not None:
        reason, actual = _narrowed(match.input_item, actual)
        if reason is not None:
            return reason
    if match.call_id is not None:
        reason = _answered_call_mismatch(match.call_id, actual)
        if reason is not None:
            return reason
    want = match.input
    kind = match.match_type
    if kind is MatchType.EXACT:
        if isinstance(want, list):
            want = [_responses_item(item) for item in want]
        if canonical_key(want) == canonical_key(actual):
            return None
        return f"exact: input {preview(actual)} differs from {preview(want)}"
    if kind is MatchType.REGEX:
        if isinstance(actual, str):
            return pattern_mismatch(match.pattern, actual, "input")
        if not actual:
            return "the request input is an empty list"
        return pattern_mismatch(match.pattern, _item_text(actual[-1]), "the last input item's text")
    if isinstance(want, str):
        if isinstance(actual, str):
            return substring_mismatch(want, actual, "input")
        if not actual:
            return "the request input is an empty list"
        last = actual[-1]
        if want in _item_text(last) or want in orjson.dumps(canonical(last)).decode():
            return None
        return f"text {preview(want)} not found in the last input item {preview(last)}"
    # A list under contains: the mock's items are the tail of the input.
    want = [_responses_item(item) for item in want]
    if isinstance(actual, list) and len(want) <= len(actual):
        tail = actual[len(actual) - len(want) :]
        if canonical_key(tail) == canonical_key(want):
            return None
    return f"contains: input {preview(actual)} does not end with {preview(want)}"


def responses_mismatch(match: OpenAIResponseRequestMatch, request: Request) -> str | None:
    """Every rule of a Responses mock but its headers: the input, then the request-wide rules."""
    return _responses_body_mismatch(match, request) or responses_request_mismatch(match, request)


def _responses_indexed(match: OpenAIResponseRequestMatch) -> bool:
    # An exact rule under input_item compares the last item alone, not the input the index is keyed
    # by; call_id is a condition on that item the index does not see.
    return match.input_item is None and match.call_id is None


# --- embeddings -------------------------------------------------------------------------------


def embeddings_subject(request: Request) -> Any:
    return request.get("input")


EMBEDDINGS_REQUEST = Conversation()
"""An embeddings request is no conversation: its one request-wide rule is ``model``."""
embeddings_request_mismatch = EMBEDDINGS_REQUEST.mismatch


def _embeddings_body_mismatch(match: OpenAIEmbeddingRequestMatch, request: Request) -> str | None:
    return embeddings_input_mismatch(match, request.get("input"))


def embeddings_mismatch(match: OpenAIEmbeddingRequestMatch, request: Request) -> str | None:
    """Every rule of an embeddings mock but its headers: the input, then the model."""
    return _embeddings_body_mismatch(match, request) or embeddings_request_mismatch(match, request)


# --- the index's view ---


def _chat_needle(match: Any) -> str:
    return parts_text(match.message.get("content"))


def _chat_haystack(request: Request) -> str:
    last = last_message(request)
    return parts_text(last.get("content")) if last is not None else ""


def _input_needle(match: Any) -> str:
    return match.input if isinstance(match.input, str) else ""


def _responses_haystack(request: Request) -> str:
    value = responses_subject(request)
    if isinstance(value, list) and value:
        last = value[-1]
        return _item_text(last) + "\n" + orjson.dumps(canonical(last)).decode()
    return value if isinstance(value, str) else ""


def _embeddings_haystack(request: Request) -> str:
    return "\n".join(input_texts(request.get("input")))


CHAT_RULES: MatchRules[OpenAIMock] = MatchRules(
    subject=chat_subject,
    mismatch=chat_mismatch,
    body_mismatch=_chat_body_mismatch,
    request_mismatch=chat_request_mismatch,
    conversation=CHAT_CONVERSATION,
    exact_subject=lambda m: m.message,
    needle=_chat_needle,
    haystack=_chat_haystack,
)
RESPONSES_RULES: MatchRules[OpenAIResponseMock] = MatchRules(
    subject=responses_subject,
    mismatch=responses_mismatch,
    body_mismatch=_responses_body_mismatch,
    request_mismatch=responses_request_mismatch,
    conversation=RESPONSES_CONVERSATION,
    exact_subject=lambda m: [_responses_item(i) for i in m.input] if isinstance(m.input, list) else m.input,
    needle=_input_needle,
    haystack=_responses_haystack,
    indexed=_responses_indexed,
)
EMBEDDINGS_RULES: MatchRules[OpenAIEmbeddingMock] = MatchRules(
    subject=embeddings_subject,
    mismatch=embeddings_mismatch,
    body_mismatch=_embeddings_body_mismatch,
    request_mismatch=embeddings_request_mismatch,
    conversation=EMBEDDINGS_REQUEST,
    exact_subject=lambda m: m.input,
    needle=_input_needle,
    haystack=_embeddings_haystack,
)
