"""The verbs of the rules on the whole conversation, which every conversation builder shares
(chat, Responses, Anthropic, Gemini, Bedrock, Ollama): how many assistant turns came before, what
the history holds, which tool results are in. None of them is the mock's body rule: they combine
with one, and with each other.

Each API's builder adds ``when_tool_result(id, *, contains="")``, the body rule "the last message
is that tool's result": its id is the provider's (a chat ``tool_call_id``, an Anthropic or Bedrock
``tool_use_id``, a Responses ``call_id``, a Gemini call id or function name, an Ollama tool name).
"""

from __future__ import annotations

from typing import Self

from typing_extensions import deprecated

from ._base import MockT, RequestBuilder
from ._values import BuilderError

__all__ = ["ConversationBuilder", "checked_result_args"]


def checked_result_args(tool_id: object, contains: object, what: str = "tool call id") -> tuple[str, str]:
    """``when_tool_result``'s arguments, checked: a non-empty id (named ``what`` in the error)
    and a text."""
    if not isinstance(tool_id, str) or not tool_id:
        raise BuilderError(f"mockllm: when_tool_result() takes a {what}, got {tool_id!r}")
    if not isinstance(contains, str):
        raise BuilderError(f"mockllm: when_tool_result(contains=) takes a text, got {contains!r}")
    return tool_id, contains


class ConversationBuilder(RequestBuilder[MockT]):
    """A builder of an API whose requests carry a conversation."""

    def when_turn(self, n: int) -> Self:
        """The request holds exactly ``n`` assistant turns (``match.turn``): 0 for the first call
        of an agent run, 1 after the model answered once, and so on. So the same last message can
        get different answers at different steps."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise BuilderError(f"mockllm: when_turn() takes a whole number of at least 0, got {n!r}")
        return self._with_rule("turn", n)

    def when_history_contains(self, *texts: str) -> Self:
        """Each of ``texts`` occurs in some message of the request, the last one included
        (``match.history_contains``); the system prompt is not part of the history."""
        return self._with_rule_items("when_history_contains", "history_contains", texts, what="text")

    def when_history_has_tool_results(self, *ids: str) -> Self:
        """The request carries a tool result for each of the tool call ``ids``, anywhere in the
        conversation and in any order (``match.tool_results``); ids are compared exactly, so
        ``call_1`` is not ``call_10``. With the ids of parallel tool calls, the mock waits for all
        of their results. Not a body rule (``when_tool_result`` is: the *last* message is one
        tool's result): it combines with one."""
        return self._with_rule_items(
            "when_history_has_tool_results", "tool_results", ids, what="tool call id", empty=False
        )

    # Marked so that an IDE strikes it through, and a call warns (DeprecationWarning).
    @deprecated(
        "mockllm: when_tool_results() is now when_history_has_tool_results() (the results may be "
        "anywhere in the conversation; when_tool_result() is about the last message)"
    )
    def when_tool_results(self, *ids: str) -> Self:
        """Deprecated: `when_history_has_tool_results` of ``ids``, whose name says that the results
        may be anywhere in the conversation (``when_tool_result`` is about the last message)."""
        return self.when_history_has_tool_results(*ids)
