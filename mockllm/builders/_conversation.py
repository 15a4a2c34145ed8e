"""The verbs of the rules on the whole conversation, which the chat, Responses and Anthropic
builders share: how many assistant turns came before, what the history holds, which tool results
are in. None of them is the mock's body rule: they combine with one, and with each other."""

from __future__ import annotations

from typing import Self

from ._base import MockT, RequestBuilder
from ._values import BuilderError

__all__ = ["ConversationBuilder"]


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
        """Each text occurs in some message of the request, the last one included
        (``match.history_contains``); the system prompt is not part of the history."""
        return self._with_rule_items("when_history_contains", "history_contains", texts, what="text")

    def when_tool_results(self, *ids: str) -> Self:
        """The request carries a tool result for each of these tool call ids, in any order
        (``match.tool_results``); ids are compared exactly, so ``call_1`` is not ``call_10``.
        With the ids of parallel tool calls, the mock waits for all of their results."""
        return self._with_rule_items(
            "when_tool_results", "tool_results", ids, what="tool call id", empty=False
        )
