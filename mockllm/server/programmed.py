"""Programmable replies (``reply_with``): a Python function answers each request, and what it
returns is prepared as a static mock's answer is (filled in, checked against the provider's
response type, streamed, paced, faulted) — per request, where a static answer is prepared once.

The static path pays nothing for it: a mock's answer is a `ProgrammedReply` only when the mock has
a function, and the route asks for that before anything else of the answer.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..config import ConfigError, MockBase, ReplyFunction

if TYPE_CHECKING:
    from .adapter import ApiAdapter, PreparedError, PreparedResponse, TimedResponse
    from .journal import RecordedRequest

__all__ = ["FAILED", "ProgrammedReply", "ProgrammedRequest", "ReplyFailed", "failed_replies"]

FAILED = "reply function"
"""How the journal's ``error`` of a request whose reply function failed begins."""


def failed_replies(records: Iterable[RecordedRequest]) -> list[RecordedRequest]:
    """The requests whose reply function raised, or returned what cannot be served."""
    return [
        record
        for record in records
        if record.status == 500
        and (record.error or "").startswith(FAILED)
        and getattr(record.mock_model, "reply_with", None) is not None
    ]


class ProgrammedRequest:
    """The request a reply function is given: the parsed ``body``, the ``headers``, the ``api``
    (the config key: ``openai``, ``anthropic``, ``gemini``, …), the ``model``, and what the
    matchers read of the conversation (``turns``, ``history``, ``system``, ``tool_names``,
    ``tool_results``), plus each declared tool's argument schema (``tool_schemas``)."""

    def __init__(self, adapter: ApiAdapter, body: dict[str, Any], headers: Mapping[str, str]) -> None:
        self.body = body
        """The parsed JSON body (with what the URL carries: Gemini's and Bedrock's model)."""
        self.headers = headers
        """The request headers, read case-insensitively."""
        self.api: str = adapter.spec.key
        self._adapter = adapter

    @property
    def model(self) -> str | None:
        model = self.body.get("model")
        return model if isinstance(model, str) else None

    @cached_property
    def turns(self) -> int:
        """The assistant turns already in the request (0: an agent's first call)."""
        read = self._adapter.rules.conversation.turns
        return read(self.body) if read is not None else 0

    @cached_property
    def history(self) -> list[str]:
        """The texts of the conversation, oldest first (the system prompt is no part of it)."""
        read = self._adapter.rules.conversation.history
        return read(self.body) if read is not None else []

    @cached_property
    def system(self) -> str:
        """The system prompt's text ("" when there is none)."""
        read = self._adapter.rules.conversation.system
        return read(self.body) if read is not None else ""

    @cached_property
    def tool_results(self) -> set[str]:
        """The ids of the tool calls the request answers with results."""
        read = self._adapter.rules.conversation.result_ids
        return read(self.body) if read is not None else set()

    @cached_property
    def tool_schemas(self) -> dict[str, dict[str, Any] | None]:
        """The tools the request declares, by name, each with its arguments' JSON Schema (None for
        a tool declared without one), in the order declared."""
        terms = self._adapter.contract
        if terms is None:
            return {}
        return {name: terms.tool(spec).schema for name, spec in terms.asked(self.body).tools.items()}

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools the request declares, in order."""
        return list(self.tool_schemas)

    def __repr__(self) -> str:
        return f"<{self.api} request, model {self.model!r}, {self.turns} turn(s)>"


class ReplyFailed(Exception):
    """A reply function raised, or returned what its API cannot answer: the request gets a 500 in
    the provider's shape, and the journal keeps ``details`` (the traceback)."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ProgrammedReply:
    """The answer of a mock with a reply function: asked per request."""

    __slots__ = ("_function", "_label", "_prepare")

    def __init__(
        self,
        function: ReplyFunction,
        label: str,
        prepare: Callable[[MockBase], PreparedResponse | PreparedError | TimedResponse],
    ) -> None:
        self._function = function
        self._label = label
        self._prepare = prepare
        """A mock answering what the function returned -> its answer, as a static mock's is
        prepared; raises `ConfigError` for a response that cannot be served."""

    async def answer(
        self, request: ProgrammedRequest
    ) -> tuple[PreparedResponse | PreparedError | TimedResponse, str]:
        """What the function answers ``request``, and that value as the journal shows it; raises
        `ReplyFailed`."""
        function = self._function
        where = f'{FAILED} of mock "{self._label}" ({function.name})'
        try:
            value = function.fn(request)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            raise ReplyFailed(
                f"{where} raised {type(exc).__name__}: {exc}", f"{where} raised:\n{traceback.format_exc()}"
            ) from None
        try:
            return self._prepare(function.answer(value)), _preview(value)
        except (ValueError, ConfigError) as exc:
            problem = f"{where} returned {_preview(value)}, which cannot be served: {exc}"
            raise ReplyFailed(problem, problem) from None


def _preview(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 200 else shown[:197] + "..."
