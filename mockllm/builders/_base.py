"""What every per-API builder shares: copy-on-write stages, headers, names, registration, and the
handle a registered mock is known by."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, Self, TypeVar

from ..apis import ApiKey
from ..config import (
    AnthropicMock,
    Config,
    ConfigError,
    HeaderMatch,
    MatchType,
    OpenAIEmbeddingMock,
    OpenAIMock,
    OpenAIResponseMock,
)
from ._values import BuilderError, JsonObject

__all__ = ["MockHandle", "MockRegistry", "MockT", "RequestBuilder"]

MockT = TypeVar("MockT", OpenAIMock, OpenAIResponseMock, OpenAIEmbeddingMock, AnthropicMock)


@dataclass(frozen=True)
class MockHandle(Generic[MockT]):
    """What a ``reply*`` verb returns: where the mock went, and the mock itself."""

    api: ApiKey
    """The config key of the mock's list (``openai``, ``openai_response``, …)."""
    position: int
    """Its index in that list; earlier mocks win. Stale after `MockBuilder.reset`."""
    mock: MockT
    """The config model, exactly as it appears in `MockBuilder.build`."""

    @property
    def name(self) -> str:
        return self.mock.name

    @property
    def label(self) -> str:
        """How the server refers to the mock: its name, else ``api[position]``."""
        return self.mock.name or f"{self.api}[{self.position}]"


class MockRegistry(Protocol):
    """Where a finished mock goes: the root builder (`MockBuilder`)."""

    def add(self, api: ApiKey, mock: MockT) -> MockHandle[MockT]: ...


@dataclass(frozen=True, eq=False)
class RequestBuilder(Generic[MockT]):
    """One mock under construction. Every ``when_*``/``with_*`` returns a changed copy and leaves
    this one as it was, so a half-built chain can be reused as a prefix; only a ``reply*`` verb
    registers a mock with the root builder.
    """

    _registry: MockRegistry = field(repr=False)
    _name: str = ""
    _headers: tuple[HeaderMatch, ...] = ()
    _match_type: MatchType | None = None
    _subject: Any = None
    """The value under ``match.message`` or ``match.input``."""
    _verb: str = ""
    """The ``when_*`` verb that set the body rule, for the error on a second one."""

    _API: ClassVar[ApiKey]
    _SUBJECT: ClassVar[Literal["message", "input"]]

    def named(self, name: str) -> Self:
        """Name the mock (``name``): shown in the server's no-match diagnostics and the journal."""
        return dataclasses.replace(self, _name=name)

    def with_header(
        self, name: str, value: str, *, match_type: Literal["exact", "contains"] = "exact"
    ) -> Self:
        """Also require a request header (``match.headers``); names are case-insensitive and
        every header rule must hold. An absent header never matches."""
        if not name:
            raise BuilderError("mockllm: with_header() needs a header name")
        rule = HeaderMatch(name=name, value=value, match_type=MatchType(match_type))
        return dataclasses.replace(self, _headers=(*self._headers, rule))

    # --- for the per-API builders ------------------------------------------------------------------

    def _when(self, verb: str, match_type: Literal["exact", "contains"], subject: Any) -> Self:
        if self._verb:
            raise BuilderError(
                f"mockllm: {verb}() after {self._verb}(): a mock has one body rule (the last "
                "message or the input). Start each mock from a prefix without one, e.g. "
                "base = m.openai_chat().with_header(...); base.when_...(...).reply(...)"
            )
        return dataclasses.replace(self, _match_type=MatchType(match_type), _subject=subject, _verb=verb)

    def _catch_all(self) -> Any:
        """The body rule of a mock with no ``when_*`` verb: one that every request satisfies."""
        raise NotImplementedError

    def _match(self) -> JsonObject:
        match: JsonObject
        if self._match_type is None:
            match = {"match_type": MatchType.CONTAINS.value, self._SUBJECT: self._catch_all()}
        else:
            match = {"match_type": self._match_type.value, self._SUBJECT: self._subject}
        if self._headers:
            match["headers"] = [rule.model_dump(mode="json") for rule in self._headers]
        return match

    def _register(self, response: JsonObject) -> MockHandle[MockT]:
        data: JsonObject = {"match": self._match(), "response": response}
        if self._name:
            data = {"name": self._name, **data}
        try:
            # Validated as a whole config, so errors read as they do for a JSON file.
            config = Config.from_dict({self._API: [data]})
        except ConfigError as exc:
            prefix = f"$.{self._API}[0]."
            problems = "; ".join(f"{path.removeprefix(prefix)}: {message}" for path, message in exc.problems)
            raise BuilderError(f"mockllm: invalid {self._API} mock: {problems}") from None
        mock: MockT = getattr(config, self._API)[0]
        return self._registry.add(self._API, mock)
