"""What every per-API builder shares: copy-on-write stages, headers, the model rule, names,
registration, and the handle a registered mock is known by."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, Self, TypeVar

from pydantic import ValidationError

from ..apis import ApiKey
from ..config import (
    Config,
    ConfigError,
    Fault,
    FaultKind,
    HeaderMatch,
    MatchType,
    MockBase,
    ReplyFunction,
    Timing,
    closest_name,
)
from ._values import BuilderError, JsonObject, json_copy

if TYPE_CHECKING:
    from hypothesis.strategies import DataObject, SearchStrategy

    from ..replies import Reply
    from ..server.journal import RecordedRequest
    from ..server.programmed import ProgrammedRequest
    from ..server.served import Follower

    ReplyValue = str | Mapping[str, Any] | Reply
    """What a reply function returns."""

__all__ = [
    "MatchKind",
    "MockHandle",
    "MockRegistry",
    "MockT",
    "RequestBuilder",
    "SuggestsVerbs",
    "check_pattern",
]

MatchKind = Literal["exact", "contains", "regex"]
"""How a header or the model is compared: the whole value, a substring, or a Python ``re`` pattern
searched for in the value."""

MockT = TypeVar("MockT", bound=MockBase)


class SuggestsVerbs:
    """A builder whose misspelt verb raises an ``AttributeError`` naming the verb it is closest
    to, as an unknown config key does (``when_last_mesage_contains`` → did you mean
    ``when_last_message_contains``?). mypy and an IDE see no ``__getattr__``, so they go on
    flagging a misspelt verb before anything runs."""

    __slots__ = ()

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name.startswith("_"):  # copy, pickle and dataclasses probe for these: the plain error
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            verbs = [verb for verb in dir(type(self)) if not verb.startswith("_")]
            close = closest_name(name, verbs)
            hint = f'; did you mean "{close}"?' if close else f"; its verbs: {', '.join(verbs)}"
            raise AttributeError(f"mockllm: {type(self).__name__} has no verb {name!r}{hint}")


@dataclass(frozen=True)
class MockHandle(Generic[MockT]):
    """What a ``reply*`` verb returns: where the mock went, the mock itself, and the requests it
    answered on the server that serves its builder::

        weather = m.openai_chat().when_last_message_contains("weather").reply("Sunny.")
        ...  # the code under test talks to the server
        weather.assert_called_once()
        assert weather.calls[0].body["model"] == "gpt-4o"

    The calls are read from every `MockServer` (or ``mockllm`` fixture) given the builder itself,
    and start from zero after its ``reset()``. A mock whose builder no server follows (never given
    to one, or given only as ``builder.build()``) has no calls to read: ``calls``, ``call_count``
    and the assertions raise `BuilderError` rather than report a silent zero.
    """

    api: ApiKey
    """The config key of the mock's list (``openai``, ``openai_response``, …)."""
    position: int
    """Its index in that list; earlier mocks win. Stale after `MockBuilder.reset`."""
    mock: MockT
    """The config model, exactly as it appears in `MockBuilder.build`."""
    _registry: MockRegistry | None = field(default=None, repr=False, compare=False)
    """The builder it was registered on, which knows the servers that follow it."""

    @property
    def name(self) -> str:
        return self.mock.name

    @property
    def label(self) -> str:
        """How the server refers to the mock: its name, else ``api[position]``."""
        return self.mock.name or f"{self.api}[{self.position}]"

    @property
    def tool_call_ids(self) -> tuple[str, ...]:
        """The ids of the tool calls this reply answers with, in order: those given with ``id=``
        and those the server makes up for calls without one. So a test can send the result that
        answers a call, and mock what comes next::

            asked = m.openai_chat().reply_tool_call("get_weather", {"city": "Paris"})
            m.openai_chat().when_tool_result(asked.tool_call_ids[0]).reply("Sunny in Paris.")

        Ollama's tool results name the tool rather than a call id: there, these are the tool
        names. Stale after `MockBuilder.reset` (made-up ids depend on the mock's position)."""
        # The server's fill makes the ids a reply leaves out; asking it keeps one source of them.
        from ..server.registry import tool_call_ids

        return tool_call_ids(self.api, self.mock.response, self.position)

    # --- verification --------------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedRequest]:
        """The requests this mock answered, oldest first: ``body`` (the parsed JSON), ``headers``,
        ``status``, and for a timed or faulty answer what it ``delivery``-ed. Only those the
        server's journal still holds (it keeps the last 10,000 by default)."""
        return [record for server in self._followers() for record in server.calls_of(self.mock)]

    @property
    def call_count(self) -> int:
        """How many requests this mock answered (also those the journal no longer holds)."""
        return sum(server.call_count(self.mock) for server in self._followers())

    @property
    def called(self) -> bool:
        return self.call_count > 0

    def assert_called(self) -> None:
        """Fail unless the mock answered at least one request."""
        if not self.called:
            self._fail("was never called")

    def assert_called_once(self) -> None:
        """Fail unless the mock answered exactly one request."""
        self.assert_call_count(1)

    def assert_not_called(self) -> None:
        """Fail if the mock answered any request."""
        self.assert_call_count(0)

    def assert_call_count(self, count: int) -> None:
        """Fail unless the mock answered exactly ``count`` requests."""
        actual = self.call_count
        if actual != count:
            self._fail(f"was called {_times(actual)}, expected {_times(count)}")

    def _fail(self, problem: str) -> None:
        # The whole report, near misses included: a mock not called is usually a mock that missed.
        reports = "\n".join(server.describe_requests() for server in self._followers())
        raise AssertionError(f'mock "{self.label}" {problem}.\n{reports}')

    def _followers(self) -> tuple[Follower, ...]:
        followers = self._registry.followers() if self._registry is not None else ()
        if not followers:
            raise BuilderError(
                f'mockllm: mock "{self.label}" is served by no server, so it has no calls to read. '
                "Give the builder itself to MockServer(...) (not builder.build()), or register the "
                "mock through the mockllm fixture."
            )
        return followers


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


class MockRegistry(Protocol):
    """Where a finished mock goes: the root builder (`MockBuilder`)."""

    def add(self, api: ApiKey, mock: MockT) -> int:
        """Append ``mock`` to the list of ``api``; returns its position there."""
        ...

    def followers(self) -> tuple[Follower, ...]:
        """The servers that serve the registered mocks, where their handles read their calls."""
        ...


@dataclass(frozen=True, eq=False)
class RequestBuilder(SuggestsVerbs, Generic[MockT]):
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
    _over_time: tuple[tuple[str, Any], ...] = ()
    """The mock's ``times``, ``priority``, scenario keys, ``timing`` and ``fault``, in the order they
    were given."""
    _rules: tuple[tuple[str, Any], ...] = ()
    """The match's request-wide keys (``model``, ``turn``, ``history_contains``, …): a list key
    holds a tuple that each verb extends, any other key the value the last verb gave."""

    _API: ClassVar[ApiKey]
    _SUBJECT: ClassVar[Literal["message", "input"]]

    def named(self, name: str) -> Self:
        """Name the mock (``name``): shown in the server's no-match diagnostics and the journal."""
        return dataclasses.replace(self, _name=name)

    def with_header(self, name: str, value: str, *, match_type: MatchKind = "exact") -> Self:
        """Also require that the request header ``name`` equals ``value`` (``match.headers``);
        names are case-insensitive and every header rule must hold. An absent header never
        matches. ``match_type`` says how the header's value is compared: ``"exact"`` (the
        default), ``"contains"`` (it contains ``value``) or ``"regex"`` (the pattern ``value`` is
        found in it)."""
        if not name:
            raise BuilderError("mockllm: with_header() needs a header name")
        if match_type == "regex":
            check_pattern("with_header", value)
        rule = HeaderMatch(name=name, value=value, match_type=MatchType(match_type))
        return dataclasses.replace(self, _headers=(*self._headers, rule))

    def when_model(self, value: str, *, match_type: MatchKind = "exact") -> Self:
        """The request's ``model`` is ``value`` (``match.model``); ``match_type`` says how it is
        compared: ``"exact"`` (the default), ``"contains"`` (it contains ``value``) or ``"regex"``
        (the pattern ``value`` is found in it). A request without a model never matches. Not a
        body rule: it combines with one."""
        if not isinstance(value, str):
            raise BuilderError(f"mockllm: when_model() takes the model name as a string, got {value!r}")
        if match_type == "regex":
            check_pattern("when_model", value)
        return self._with_rule("model", {"value": value, "match_type": MatchType(match_type).value})

    # --- behaviour over time ---------------------------------------------------------------------

    def times(self, n: int) -> Self:
        """Answer at most ``n`` matching requests, then step aside for later mocks (``times``).

        A reply sequence is mocks on one prefix, each but the last with a count::

            weather = m.openai_chat().when_last_message_contains("weather")
            weather.once().reply_tool_call("get_weather", {"city": "Paris"})
            weather.reply("It is sunny in Paris.")
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise BuilderError(f"mockllm: times() takes a whole number of at least 1, got {n!r}")
        return self._set("times", n)

    def once(self) -> Self:
        """Answer one matching request, then step aside: ``times(1)``."""
        return self.times(1)

    def in_sequence(self, steps: int) -> tuple[Self, ...]:
        """``steps`` builders for one reply sequence: each but the last answers once, the last
        answers from then on. Register their replies in order::

            first, then = m.openai_chat().when_last_message_contains("book").in_sequence(2)
            first.reply_tool_call("book_flight", {"to": "Paris"})
            then.reply("Booked.")

        Plain mocks with ``times: 1`` and no ``times``, so the JSON stays as readable as if each
        were written by hand.
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise BuilderError(f"mockllm: in_sequence() takes a whole number of steps, got {steps!r}")
        return (*(self.once() for _ in range(steps - 1)), self)

    def priority(self, priority: int) -> Self:
        """``priority``: a lower number is tried first, whatever the order of registration;
        equal priorities keep that order. The default is 5."""
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise BuilderError(f"mockllm: priority() takes a whole number, got {priority!r}")
        return self._set("priority", priority)

    def allowing_unknown_fields(self) -> Self:
        """Let the reply carry fields or values its provider's response type does not know, on
        purpose (``allow_unknown_fields``): the contract guard then neither warns nor takes them
        for typos. A value of the wrong type is still refused."""
        return self._set("allow_unknown_fields", True)

    def in_scenario(
        self, scenario: str, *, required_state: str | None = None, new_state: str | None = None
    ) -> Self:
        """Take part in a scenario, a named state machine (WireMock's model). Every scenario starts
        in ``"Started"``; the mock matches only while its scenario is in ``required_state`` (any
        state if None), and after it answers the scenario moves to ``new_state`` (unchanged if
        None). Sets ``scenario``, ``required_state``, ``new_state``."""
        if not isinstance(scenario, str) or not scenario:
            raise BuilderError(f"mockllm: in_scenario() needs a scenario name, got {scenario!r}")
        return (
            self._set("scenario", scenario)
            ._set("required_state", required_state)
            ._set("new_state", new_state)
        )

    def with_timing(
        self,
        *,
        ttft_ms: float | None = None,
        chunk_interval_ms: float | None = None,
        jitter_ms: float | None = None,
        seed: int | None = None,
    ) -> Self:
        """Answer over wall-clock time (``timing``): a stream's first byte waits ``ttft_ms``, then its
        events come ``chunk_interval_ms`` apart, each pause moved by up to ``jitter_ms`` either way
        (drawn from ``seed``, so every run pauses alike); a JSON answer or an error waits
        ``ttft_ms`` in all. Milliseconds, from 0 to 600000. With no argument: no timing::

            m.anthropic_messages().with_timing(ttft_ms=200, chunk_interval_ms=20).reply("Slowly, then.")
        """
        given = {
            "ttft_ms": ttft_ms,
            "chunk_interval_ms": chunk_interval_ms,
            "jitter_ms": jitter_ms,
            "seed": seed,
        }
        timing = {key: value for key, value in given.items() if value is not None}
        try:
            Timing.model_validate(timing)
        except ValidationError as exc:
            problems = "; ".join(
                f"{error['loc'][0]}={error['input']!r}: {error['msg']}" for error in exc.errors()
            )
            raise BuilderError(f"mockllm: with_timing(): {problems}") from None
        return self._set("timing", timing or None)

    def with_fault(self, kind: FaultKind, *, after_events: int | None = None) -> Self:
        """Make the answer go wrong (``fault``), as ``kind`` says: ``"reset"`` closes the
        connection before answering, ``"stall"`` answers nothing until the client times out; in a
        stream, after ``after_events`` events, ``"disconnect"`` drops the connection,
        ``"truncate"`` ends without the terminal event, ``"malformed"`` sends an event that is not
        JSON and ``"error_event"`` the provider's in-stream error. Combines with `with_timing`::

            m.openai_chat().with_fault("disconnect", after_events=3).reply("Cut short.")
        """
        fault: JsonObject = {"kind": kind}
        if after_events is not None:
            fault["after_events"] = after_events
        try:
            Fault.model_validate(fault)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'fault'}={error['input']!r}: {error['msg']}"
                for error in exc.errors()
            )
            raise BuilderError(f"mockllm: with_fault(): {problems}") from None
        return self._set("fault", fault)

    # --- for the per-API builders ------------------------------------------------------------------

    def _when(self, verb: str, match_type: MatchKind, subject: Any) -> Self:
        if self._verb:
            raise BuilderError(
                f"mockllm: {verb}() after {self._verb}(): a mock has one body rule (the last "
                "message or the input). Start each mock from a prefix without one, e.g. "
                "base = m.openai_chat().with_header(...); base.when_...(...).reply(...)"
            )
        return dataclasses.replace(self, _match_type=MatchType(match_type), _subject=subject, _verb=verb)

    def _set(self, key: str, value: Any) -> Self:
        kept: tuple[tuple[str, Any], ...] = tuple(item for item in self._over_time if item[0] != key)
        return dataclasses.replace(self, _over_time=kept if value is None else (*kept, (key, value)))

    def _with_rule(self, key: str, value: Any) -> Self:
        kept: tuple[tuple[str, Any], ...] = tuple(item for item in self._rules if item[0] != key)
        return dataclasses.replace(self, _rules=(*kept, (key, value)))

    def _with_rule_items(
        self, verb: str, key: str, values: tuple[str, ...], *, what: str, empty: bool = True
    ) -> Self:
        """Adds ``values`` to the list key ``key``; each must be a string (``empty``: may be "")."""
        if not values:
            raise BuilderError(f"mockllm: {verb}() needs at least one {what}")
        for value in values:
            if not isinstance(value, str) or (not empty and not value):
                kind = "a string" if empty else "a non-empty string"
                raise BuilderError(f"mockllm: {verb}() takes each {what} as {kind}, got {value!r}")
        current: tuple[str, ...] = dict(self._rules).get(key, ())
        return self._with_rule(key, (*current, *values))

    def _rule(self, key: str) -> Any:
        return dict(self._rules).get(key)

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
        for key, value in self._rules:
            match[key] = list(value) if isinstance(value, tuple) else value
        return match

    # --- replies -------------------------------------------------------------------------------------

    def reply_error(
        self,
        status: int,
        *,
        message: str | None = None,
        type: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> MockHandle[MockT]:
        """Answer with an HTTP error in the provider's own shape (``error``): the SDK raises its
        exception class for ``status`` (``RateLimitError`` for 429, ``InternalServerError`` for
        500, Anthropic's ``OverloadedError`` for 529, …) with ``message`` in it, and retries as it
        does against the real API. ``type`` defaults to what the provider sends for ``status``;
        ``headers`` are sent as given (``retry-after-ms``, ``x-should-retry``, …), and
        ``retry_after`` (seconds) is sugar for a ``retry-after`` header.

        With ``once()`` (or ``in_sequence()``) the first call fails and the next one succeeds::

            chat = m.openai_chat()
            chat.once().reply_error(429, headers={"retry-after-ms": "5"})
            chat.reply("It worked on the second try.")
        """
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise BuilderError(f"mockllm: reply_error() takes an HTTP status from 400 to 599, got {status!r}")
        sent: JsonObject = dict(headers) if headers is not None else {}
        if retry_after is not None:
            if isinstance(retry_after, bool) or not isinstance(retry_after, int | float) or retry_after < 0:
                raise BuilderError(
                    f"mockllm: reply_error(retry_after=) takes seconds (a number >= 0), got {retry_after!r}"
                )
            sent["retry-after"] = str(retry_after)
        error: JsonObject = {"status": status}
        if type is not None:
            error["type"] = type
        if message is not None:
            error["message"] = message
        if sent:
            error["headers"] = sent
        return self._register(error=error)

    def reply_with(
        self, fn: Callable[[ProgrammedRequest], ReplyValue | Awaitable[ReplyValue]]
    ) -> MockHandle[MockT]:
        """Answer each request with what ``fn(request)`` returns (``reply_with``): a text, the
        provider's response dict (or SDK object), or a value of `mockllm.replies` (``text``,
        ``refusal``, ``tool_call``, ``tool_calls``, ``error``). ``fn`` may be async. ``request``
        has ``body``, ``headers``, ``api``, ``model``, what the matchers read of the conversation
        (``turns``, ``history``, ``system``, ``tool_results``) and the request's tools
        (``tool_names``, ``tool_schemas``)::

            def weather(request):
                if request.tool_results:
                    return "It is sunny."
                return replies.tool_call("get_weather", {"city": "Paris"})

            m.openai_chat().reply_with(weather)

        The answer goes through what a ``reply*`` verb's does (streams, timing, faults, the
        contract guard, the journal), and ``times``, scenarios and priorities apply. Python only:
        a config holding one cannot be exported or served by ``mockllm serve``. An exception in
        ``fn`` answers a 500 in the provider's shape, journaled with its traceback, and fails
        the test under the pytest fixture."""
        if not callable(fn):
            raise BuilderError(f"mockllm: reply_with() takes a function of the request, got {fn!r}")
        return self._register_answer({"reply_with": ReplyFunction(fn, self._answering)})

    def reply_drawn(
        self,
        data: DataObject,
        strategy: SearchStrategy[Any] | Callable[[ProgrammedRequest], SearchStrategy[Any]],
    ) -> MockHandle[MockT]:
        """Answer each request with a reply drawn from the running hypothesis example (``data``,
        from ``st.data()``): ``@given`` then drives the code under test end to end, a failure
        shrinks to the fewest and simplest model behaviours that break it, and hypothesis's
        database replays it. ``strategy`` is a strategy of reply values (`mockllm.strategies`),
        or a function of the request giving one (to draw tool arguments from the request's own
        tool schemas)::

            @given(st.data())
            def test_agent(mockllm_examples, data):
                m = mockllm_examples.example()
                m.openai_chat().reply_drawn(data, strategies.replies("openai"))
                run_agent(m.openai_base_url)

        Each draw is labelled with the request it answers, so hypothesis's report of a falsifying
        example lists the replies in order."""
        from ..strategies import drawing

        return self.reply_with(drawing(data, strategy))

    def _answering(self, value: Any) -> MockBase:
        """The mock this builder makes of a reply function's ``value``, as its ``reply*`` verbs
        would (with the mock's ``timing`` and ``fault``, or the value's own). Raises ``ValueError``
        for a value this API cannot answer."""
        from ..replies import Reply, text

        captured = _Captured()
        builder = dataclasses.replace(self, _registry=captured)
        try:
            if isinstance(value, str):
                value = text(value)
            if not isinstance(value, Reply):
                builder._register(json_copy(value, "the reply"))
            else:
                if value.timing is not None:
                    builder = builder._set("timing", value.timing)
                if value.fault is not None:
                    builder = builder._set("fault", value.fault)
                if value.error is not None:
                    builder.reply_error(**value.error)
                else:
                    builder._reply_value(value)
        except BuilderError as exc:
            raise ValueError(str(exc).removeprefix("mockllm: ")) from None
        mock: MockBase = captured.mock  # every branch registers or raises
        return mock

    def _reply_value(self, reply: Reply) -> MockHandle[MockT]:
        """Register ``reply`` (a text, a refusal or tool calls; never an error) as this API's
        response."""
        raise BuilderError(
            f"the {self._API} API answers no texts or tool calls: return its response as a dict"
        )

    def _register(
        self, response: JsonObject | None = None, *, error: JsonObject | None = None
    ) -> MockHandle[MockT]:
        return self._register_answer({"response": response} if error is None else {"error": error})

    def _register_answer(self, answer: JsonObject) -> MockHandle[MockT]:
        """Registers the mock with ``answer``: its one key of ``response``, ``error``, …"""
        data: JsonObject = {**dict(self._over_time), "match": self._match(), **answer}
        if self._name:
            data = {"name": self._name, **data}
        try:
            # Validated as a whole config, so errors read as they do for a JSON file.
            config = Config.from_dict({self._API: [data]})
        except ConfigError as exc:
            prefix = f"$.{self._API}[0]."
            problems = "; ".join(f"{path.removeprefix(prefix)}: {message}" for path, message in exc.problems)
            raise BuilderError(f"mockllm: invalid {self._API} mock: {problems}") from None
        mock: MockT = config.mocks(self._API)[0]
        return MockHandle(self._API, self._registry.add(self._API, mock), mock, self._registry)


class _Captured:
    """The registry of a builder making the mock that answers a reply function's value: keeps the
    mock rather than adding it to a config."""

    def __init__(self) -> None:
        self.mock: Any = None
        """The mock registered last."""

    def add(self, api: ApiKey, mock: MockT) -> int:
        self.mock = mock
        return 0

    def followers(self) -> tuple[Follower, ...]:
        return ()


def check_pattern(verb: str, pattern: Any) -> None:
    """Refuses a bad regex where it is given, rather than when the mock is registered."""
    if not isinstance(pattern, str):
        raise BuilderError(f"mockllm: {verb}() takes a regex pattern string, got {pattern!r}")
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise BuilderError(f"mockllm: {verb}(): invalid regex {pattern!r}: {exc}") from None
