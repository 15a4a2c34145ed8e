"""What every API's mocks are made of: the base models of a mock and of its match, and the parts
they share (header and model rules, ``error``, ``timing``, ``fault``, ``vectors_from_text``).

Each API's own mock and match models build on these (``config.py`` for the APIs served since the
start, ``<api>/format.py`` for the others); ``config.py`` puts them together into `Config`.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "DEFAULT_PRIORITY",
    "MAX_DELAY_MS",
    "MAX_VECTOR_DIMENSIONS",
    "MID_STREAM_FAULTS",
    "PARTS_SCHEMA",
    "STARTED",
    "TEXTS_SCHEMA",
    "VECTORS_MOCK_CONFIG",
    "ConfigError",
    "ConfigModel",
    "ErrorReply",
    "Fault",
    "FaultKind",
    "HeaderMatch",
    "InputMatch",
    "JsonObject",
    "MatchBase",
    "MatchType",
    "MockBase",
    "ModelMatch",
    "ReplyFunction",
    "ResponseObject",
    "Timing",
    "ToolCallId",
    "Turn",
    "VectorsFromText",
    "compiled_pattern",
    "is_object_list",
    "not_a_pattern",
]

JsonObject = dict[str, Any]


class ConfigError(ValueError):
    """A config that cannot be used, with every problem as ``(json_path, message)``."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {path}: {message}" for path, message in problems]
        super().__init__("\n".join(lines))


class MatchType(StrEnum):
    EXACT = "exact"
    CONTAINS = "contains"
    REGEX = "regex"
    """A Python ``re`` pattern, searched for (``re.search``); compiled once, when the config loads."""


def is_object_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


PARTS_SCHEMA: JsonObject = {"type": "array", "items": {"type": "object"}}
"""The JSON schema of a list of content parts (objects)."""
TEXTS_SCHEMA: JsonObject = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
"""The JSON schema of an embeddings input: a string or a list of strings."""


def _response_object(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    raise ValueError("expected a JSON object (the provider's response)")


# Checked as a plain object, not as dict[str, Any]: pydantic would copy each response, which costs
# time and memory for every mock of a large config, and the server reads it as it is.
ResponseObject = Annotated[Any, AfterValidator(_response_object), WithJsonSchema({"type": "object"})]


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
"""One set of field names per combination of keys set, shared by the models that set them."""
_FIELDS_SET_SLOT = BaseModel.__dict__["__pydantic_fields_set__"]
"""Where a model holds its set of the keys that were set (a slot: quicker than ``object.__setattr__``)."""


class ConfigModel(BaseModel):
    """Unknown keys are errors. The lists of a match are tuples that default to ``()``: a list
    default is copied (or made by a factory) for every mock, and with several such fields a config
    of 100,000 mocks spent a third of its load time, and tens of MB, on empty lists.

    Mocks and matches share their set of the keys that were set (see `_share_fields_set`)."""

    model_config = ConfigDict(extra="forbid")

    def _share_fields_set(self) -> None:
        """Swap this model's set of the keys that were set for the one shared by every model that
        set the same keys. Pydantic gives each model a set of its own, 216 bytes even for two names:
        43 MB for the mocks and matches of a config of 100,000 mocks. Pydantic changes the set in
        place only when a field is assigned (its copies copy it), and `__setattr__` first gives the
        model a set of its own again."""
        own = self.__pydantic_fields_set__
        _FIELDS_SET_SLOT.__set__(self, _FIELDS_SETS.setdefault(frozenset(own), own))

    def __setattr__(self, name: str, value: Any) -> None:
        _FIELDS_SET_SLOT.__set__(self, set(self.__pydantic_fields_set__))
        super().__setattr__(name, value)


def compiled_pattern(pattern: str, loc: tuple[int | str, ...], model: str) -> re.Pattern[str]:
    """``pattern`` compiled; a bad one fails validation at ``loc`` (within the match being checked),
    so the load error names the JSON path of the pattern itself."""
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        error = PydanticCustomError("invalid_regex", "invalid regex: {reason}", {"reason": reason})
        raise ValidationError.from_exception_data(
            model, [{"type": error, "loc": loc, "input": pattern}]
        ) from None


def not_a_pattern(loc: tuple[int | str, ...], value: Any, model: str, what: str) -> ValidationError:
    error = PydanticCustomError(
        "regex_needs_a_string", "a regex rule's {what} is one pattern: a string", {"what": what}
    )
    return ValidationError.from_exception_data(model, [{"type": error, "loc": loc, "input": value}])


class _ValueRule(ConfigModel):
    """A rule comparing one text of the request (a header, the model) with ``value``."""

    if typing.TYPE_CHECKING:  # each rule declares them, in the order they are written
        value: str
        match_type: MatchType

    @model_validator(mode="after")
    def _compile(self) -> Self:
        if self.match_type is MatchType.REGEX:
            _ = self.pattern
        return self

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """``value`` compiled, for a ``regex`` rule (once, at load)."""
        if self.match_type is not MatchType.REGEX:
            return None
        return compiled_pattern(self.value, ("value",), type(self).__name__)

    def holds(self, actual: str) -> bool:
        """Whether ``actual`` satisfies the rule."""
        kind = self.match_type
        if kind is MatchType.EXACT:
            return actual == self.value
        if kind is MatchType.CONTAINS:
            return self.value in actual
        pattern = self.pattern
        return pattern is not None and pattern.search(actual) is not None


class HeaderMatch(_ValueRule):
    """One header rule. Names are case-insensitive; an absent header never satisfies a rule."""

    name: str = Field(min_length=1)
    value: str
    match_type: MatchType = MatchType.EXACT


class ModelMatch(_ValueRule):
    """A rule on the request's ``model`` (``match.model``): compared like a header value. A request
    without a model never satisfies it."""

    value: StrictStr
    match_type: MatchType = MatchType.EXACT


Turn = Annotated[int, Field(strict=True, ge=0)]
ToolCallId = Annotated[str, Field(strict=True, min_length=1)]


# Rules on the whole request, each ANDed with the body rule and the header rules. All optional, and
# additive to kagent's format (its Go server ignores them), except Anthropic's system_contains and
# tool_names, which are kagent's own:
#   model             the request's model, compared like a header value
#   turn              the number of assistant turns already in the request (0: an agent's first call)
#   history_contains  each text occurs in some message or input item (the system prompt is no part of it)
#   tool_results      each id has a tool result in the request, compared exactly; in any order
#   system_contains   each text occurs in the system prompt
#   tool_names        each name is the name of one of the request's tools
# Responses' input_item narrows the body rule to the last input item instead. A compiled regex and
# a set of ids are cached on the match when it is validated, so no request compiles or builds them.


class MatchBase(ConfigModel):
    """What the match models share: the body's ``match_type``, and the patterns and id sets of the
    rules a match uses, made once when it loads (never on the request path)."""

    match_type: MatchType

    @model_validator(mode="after")
    def _compile(self) -> Self:
        # Only what a rule uses: the others are never asked for.
        if self.match_type is MatchType.REGEX:
            self._compile_body()
        if getattr(self, "tool_results", ()):
            _ = self.tool_result_ids
        self._share_fields_set()
        return self

    def _compile_body(self) -> None:
        """Compile the body's patterns (a bad one raises the error of its JSON path)."""
        raise NotImplementedError

    def _regex(self, value: Any, loc: tuple[int | str, ...]) -> re.Pattern[str] | None:
        """``value``, at ``loc`` in the match, compiled when the rule is ``regex`` (else None)."""
        if self.match_type is not MatchType.REGEX:
            return None
        model = type(self).__name__
        if not isinstance(value, str):
            raise not_a_pattern(loc, value, model, str(loc[-1]))
        return compiled_pattern(value, loc, model)

    @cached_property
    def tool_result_ids(self) -> frozenset[str]:
        """``tool_results``, for lookups."""
        return frozenset(getattr(self, "tool_results", ()))


class InputMatch(MatchBase):
    """A match whose body rule is on the request's ``input`` (Responses, the embeddings APIs)."""

    if typing.TYPE_CHECKING:  # each subclass declares it, with its own type
        input: Any

    def _compile_body(self) -> None:
        _ = self.pattern

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """The ``input`` of a ``regex`` rule, compiled (once, at load)."""
        return self._regex(self.input, ("input",))


# --- error replies ----------------------------------------------------------------------------

# RFC 9110's token: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_SERVER_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def _error_headers(value: dict[str, str]) -> dict[str, str]:
    for name, text in value.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid HTTP header name")
        if name.lower() in _SERVER_HEADERS:
            raise ValueError(f'"{name}" is set by the server and cannot be configured')
        if any(c in text for c in "\r\n\0"):
            raise ValueError(f'the value of "{name}" has a line break or NUL')
        if not _HEADER_VALUE.fullmatch(text):
            raise ValueError(f'the value of "{name}" is not printable ASCII text')
    return value


class ErrorReply(ConfigModel):
    """``error``: answer with an HTTP error in the provider's own shape instead of ``response``.

    The SDKs raise their own exception class for ``status`` (``RateLimitError`` for 429, Anthropic's
    ``OverloadedError`` for 529, …) and honour ``retry-after``, ``retry-after-ms`` and
    ``x-should-retry`` among ``headers`` as they do against the real APIs.
    """

    status: Annotated[int, Field(strict=True, ge=400, le=599)]
    """The HTTP status, 400 to 599."""
    type: StrictStr | None = None
    """The error's ``type``; by default what the provider sends for ``status`` (OpenAI 429
    ``requests``, Anthropic 429 ``rate_limit_error``, 529 ``overloaded_error``, …)."""
    message: StrictStr | None = None
    """The error's message; by default ``"mocked error: <status> <type>"`` (OpenAI's 429 names its
    code, ``rate_limit_exceeded``)."""
    headers: Annotated[dict[StrictStr, StrictStr], AfterValidator(_error_headers)] = {}
    """Response headers, sent as given (``retry-after``, ``retry-after-ms``, ``x-should-retry``, …)."""


MAX_DELAY_MS = 600_000
"""The longest pause ``timing`` may ask for, in milliseconds (ten minutes): a longer one is a typo
more often than a test."""


def _millis(value: Any) -> int | float:
    # One check with one message, where a union of int and float would report each branch apart.
    # An int stays an int, so a config dumps as it was written.
    if type(value) not in (int, float) or not 0 <= value <= MAX_DELAY_MS:  # NaN fails the range too
        raise PydanticCustomError(
            "milliseconds", "expected a number of milliseconds from 0 to {limit}", {"limit": MAX_DELAY_MS}
        )
    return typing.cast(int | float, value)


_Millis = Annotated[
    int | float,
    PlainValidator(_millis),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_DELAY_MS}),
]


class Timing(ConfigModel):
    """``timing``: how the answer unfolds in wall-clock time.

    A stream's first byte of body waits ``ttft_ms``; then its events follow one by one,
    ``chunk_interval_ms`` apart, each pause moved by up to ``jitter_ms`` either way (never below 0).
    The jitter comes from a random generator seeded with ``seed``, afresh for every request, so a
    mock's pauses are the same on every request and every run. A JSON answer (or an ``error``)
    waits ``ttft_ms`` in all.
    """

    ttft_ms: _Millis = 0
    """Milliseconds before the first byte of the body (a JSON answer: before the whole of it)."""
    chunk_interval_ms: _Millis = 0
    """Milliseconds between two stream events."""
    jitter_ms: _Millis = 0
    """The most a pause between events is moved, either way."""
    seed: Annotated[int, Field(strict=True)] = 0
    """Seeds the jitter: another seed, another (equally reproducible) sequence of pauses."""


FaultKind = Literal["reset", "stall", "disconnect", "truncate", "malformed", "error_event"]
MID_STREAM_FAULTS: frozenset[str] = frozenset({"disconnect", "truncate", "malformed", "error_event"})
"""The kinds that happen partway through a stream, and so take ``after_events``."""


class Fault(ConfigModel):
    """``fault``: the answer goes wrong the way a flaky network or an overloaded provider does.

    ``reset`` closes the connection before any byte of the answer; ``stall`` sends nothing until the
    client gives up (the server lets go after a bound). The others happen in a stream, after
    ``after_events`` SSE events (every event counts, an Anthropic ``ping`` too): ``disconnect``
    closes the connection abruptly (default: after every event, without the end of the chunked
    body); ``truncate`` ends the response cleanly (default: all but the terminal event, ``[DONE]``,
    ``response.completed`` or ``message_stop``); ``malformed`` sends one event whose data is not
    JSON, then ends (default: at the middle); ``error_event`` sends the provider's in-stream error,
    then ends (default: first).
    """

    kind: FaultKind
    """What goes wrong."""
    after_events: Annotated[int, Field(strict=True, ge=0)] | None = None
    """How many events of the stream go out first (mid-stream kinds only)."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.after_events is not None and self.kind not in MID_STREAM_FAULTS:
            raise PydanticCustomError(
                "fault_after_events",
                '"after_events" is for the mid-stream kinds (disconnect, truncate, malformed, '
                'error_event), not "{kind}"',
                {"kind": self.kind},
            )
        return self


# --- programmable replies ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReplyFunction:
    """``reply_with``: a Python function that answers each request (``.reply_with(fn)`` on a
    builder). It lives in Python only: a JSON config cannot hold one, so a config holding one is
    neither exported nor served by ``mockllm serve``."""

    fn: Callable[[Any], Any]
    """``fn(request)``, sync or async: a text, the provider's response dict or a `Reply`."""
    answer: Callable[[Any], MockBase]
    """What ``fn`` returned -> a mock of the API answering it (its ``response`` or ``error``, and
    its ``timing`` and ``fault``), made by the mock's builder as its ``reply*`` verbs make one.
    Raises ``ValueError`` for a value that the API cannot answer."""

    @property
    def name(self) -> str:
        return getattr(self.fn, "__qualname__", None) or repr(self.fn)


def _reply_function(value: Any) -> ReplyFunction:
    if isinstance(value, ReplyFunction):
        return value
    raise PydanticCustomError(
        "python_only",
        "a reply function lives in Python only, and a JSON config cannot hold one: give the mock a "
        '"response" (or an "error"), or register the function with .reply_with(fn) on a builder',
    )


_ReplyWith = SkipJsonSchema[Annotated[ReplyFunction | None, PlainValidator(_reply_function)]]


# --- mocks -----------------------------------------------------------------------------------


DEFAULT_PRIORITY = 5
STARTED = "Started"
"""The state every scenario starts in (WireMock's name)."""


class MockBase(ConfigModel):
    """What every mock has besides its match and response: a name, and how it behaves over time.

    These keys are additive to kagent's format (its Go server ignores them).
    """

    # A mock answers with exactly one of "response" and "error": said in the schema too, for the
    # validators of other languages.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"oneOf": [{"required": ["response"]}, {"required": ["error"]}]}
    )

    name: str = ""
    times: Annotated[int, Field(strict=True, ge=1)] | None = None
    """Answers at most this many matching requests, then steps aside for later mocks."""
    priority: Annotated[int, Field(strict=True)] = DEFAULT_PRIORITY
    """Lower wins; equal priorities keep list order."""
    scenario: str | None = None
    """The scenario whose state ``required_state`` and ``new_state`` read and set; every scenario
    starts in ``"Started"``."""
    required_state: str | None = None
    """The mock matches only while its scenario is in this state."""
    new_state: str | None = None
    """After the mock answers, its scenario moves to this state."""
    timing: Timing | None = None
    """Delays before and within the answer; none by default."""
    fault: Fault | None = None
    """How the answer goes wrong (a reset, a stall, a stream cut short, …); none by default."""
    allow_unknown_fields: Annotated[bool, Field(strict=True)] = False
    """Let ``response`` carry fields and values its provider's type does not know, on purpose: no
    warning, and no error for one that looks like a typo. A value of the wrong type is still an
    error."""
    reply_with: _ReplyWith = Field(default=None, exclude=True)
    """A Python function that answers each request in place of ``response`` (Python only: see
    `ReplyFunction`)."""
    if typing.TYPE_CHECKING:  # each API's mock declares them, the order they are written
        match: Any
        """The mock's rules: the API's match model."""
        response: Any
        """The provider's response object; a mock has it or ``error``."""
        error: ErrorReply | None
        """An HTTP error to answer with instead of ``response``."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        # One validator for every cross-field rule: a config of 100,000 mocks runs it 100,000 times.
        if self.scenario is None and (self.required_state is not None or self.new_state is not None):
            raise ValueError('"required_state" and "new_state" need a "scenario": add "scenario": "<name>"')
        vectors = self.__dict__.get("vectors_from_text")  # a field of embeddings mocks alone
        answers = (self.response is not None) + (self.error is not None) + (vectors is not None)
        if answers + (self.reply_with is not None) != 1:
            raise PydanticCustomError("response_or_error", self._answer_problem())
        if self.fault is not None and self.error is not None:
            # An error answers in one piece before any stream: there is nothing for a fault to cut.
            raise ValueError('both "fault" and "error": a fault goes with a "response"')
        self._share_fields_set()
        return self

    def _answer_problem(self) -> str:
        """What is wrong with a mock that has not exactly one answer."""
        keys = [
            key
            for key in ("response", "error", "vectors_from_text", "reply_with")
            if key in type(self).model_fields
        ]
        given = [f'"{key}"' for key in keys if getattr(self, key) is not None]
        if given:
            return f"both {' and '.join(given)}: a mock answers with one of them"
        message = 'missing required key "response" (or "error", to answer with an HTTP error'
        if "vectors_from_text" in keys:
            message += ', or "vectors_from_text", for vectors made from each input'
        return message + ")"

    @property
    def is_stateful(self) -> bool:
        """Whether the mock's answers depend on what happened before (``times`` or a scenario)."""
        return self.times is not None or self.scenario is not None


MAX_VECTOR_DIMENSIONS = 8192
"""The longest vector ``vectors_from_text`` makes, and the most ``dimensions`` a request may ask
for: real embedding models stay at or under 3,072, and a bound keeps the vectors cached for recent
inputs within a few tens of MB."""


VECTORS_MOCK_CONFIG = ConfigDict(
    extra="forbid",
    json_schema_extra={
        "oneOf": [
            {"required": ["response"]},
            {"required": ["error"]},
            {"required": ["vectors_from_text"]},
        ]
    },
)
"""The model config of an embeddings mock, which answers with exactly one of a ``response``, an
``error`` and ``vectors_from_text`` (said in the schema too, for the validators of other
languages)."""


class VectorsFromText(ConfigModel):
    """``vectors_from_text``: answer each input with a unit-length vector derived from its text (or
    its token ids), in place of a ``response``: equal inputs get equal vectors, different inputs
    different ones, on every run and machine. A request's ``dimensions`` asks for another length."""

    dimensions: Annotated[int, Field(strict=True, ge=1, le=MAX_VECTOR_DIMENSIONS)]
    """The length of each vector."""
    seed: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)] = 0
    """Another seed, another (equally stable) family of vectors."""
