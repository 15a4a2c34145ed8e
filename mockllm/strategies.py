"""Hypothesis strategies of model replies, to fuzz an agent with what real models also answer.

Scripted mocks test the paths a test's author thought of; models also answer with an empty text,
a tool call whose arguments miss a required key, three tool calls at once, a refusal, a reply cut
at the token limit, a 429 in the middle of a loop. Each strategy draws `mockllm.replies` values,
which a mock's builder renders in its API's shape, so one strategy serves every API::

    from hypothesis import given, strategies as st
    from mockllm import strategies

    @given(st.data())
    def test_agent_survives_any_reply(mockllm_examples, data):
        m = mockllm_examples.example()
        m.openai_chat().reply_drawn(data, strategies.replies())
        run_agent(m.openai_base_url)  # must not crash

Tool calls are drawn from the tools of the request being answered (its own argument schemas):
valid arguments from `tool_call_replies`, deliberately invalid ones from
`invalid_tool_call_replies`. Needs the ``fuzz`` extra (``pip install 'mockllm-server[fuzz]'``).
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

try:
    from hypothesis import strategies as st
    from hypothesis.control import current_build_context
    from hypothesis.errors import StopTest
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        f"mockllm.strategies needs hypothesis ({exc}): pip install 'mockllm-server[fuzz]'"
    ) from exc

import jsonschema_rs

from .apis import API_BY_KEY
from .builders._values import BuilderError, ToolCall
from .replies import Reply, error, refusal, text, tool_calls
from .schema_values import normalized, schema_values

if TYPE_CHECKING:
    from hypothesis.control import BuildContext
    from hypothesis.strategies import DataObject, SearchStrategy

    from .server.programmed import ProgrammedRequest

__all__ = [
    "error_replies",
    "fault_replies",
    "invalid_tool_call_replies",
    "refusal_replies",
    "replies",
    "text_replies",
    "texts",
    "tool_call_replies",
    "truncated_replies",
]

_answering: contextvars.ContextVar[ProgrammedRequest | None] = contextvars.ContextVar(
    "mockllm_answering", default=None
)
"""The request a drawn reply answers, while it is drawn: the tool strategies read its tools."""

RETRYABLE = (408, 409, 429, 500, 502, 503, 504)
"""The statuses the SDKs retry."""
REFUSED = (400, 401, 403, 404, 413, 422)
"""Statuses an agent must not retry."""


# --- texts ---------------------------------------------------------------------------------------


def _json_text() -> SearchStrategy[str]:
    values = st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    )
    return values.map(lambda value: orjson.dumps(value).decode())


def texts() -> SearchStrategy[str]:
    """Assistant texts: empty first (what hypothesis shrinks to), then any Unicode, long ones
    (thousands of characters), and JSON-looking ones (an agent that parses a text as JSON)."""
    long = st.builds(
        lambda piece, times: piece * times, st.text(min_size=1, max_size=12), st.integers(100, 800)
    )
    return st.one_of(st.just(""), st.text(), _json_text(), long)


def text_replies() -> SearchStrategy[Reply]:
    """Text replies (`texts`) that end as the model chose."""
    return texts().map(text)


def truncated_replies() -> SearchStrategy[Reply]:
    """Text replies cut at the token limit: ``length`` (OpenAI, Ollama), ``max_tokens``
    (Anthropic, Bedrock), ``MAX_TOKENS`` (Gemini), an ``incomplete`` response (Responses)."""
    return texts().map(lambda content: text(content, truncated=True))


def refusal_replies() -> SearchStrategy[Reply]:
    """Refusals, in the provider's way of saying so."""
    return st.one_of(st.just("I can't help with that."), st.text()).map(refusal)


# --- tool calls ----------------------------------------------------------------------------------


def tool_call_replies(
    request: ProgrammedRequest | None = None, *, max_calls: int = 3, text: bool = False
) -> SearchStrategy[Reply]:
    """Replies of 1 to ``max_calls`` calls of the request's declared tools, each with arguments
    valid against its schema (`mockllm.schema_values`, which reads what the SDKs send: pydantic's
    schemas with ``$defs``, OpenAI's ``strict`` ones, Gemini's). ``request``: the one answered
    (by default, the request a `reply_drawn` mock is answering). ``text``: with a text before the
    calls, sometimes. A request declaring no tools draws no tool call (the strategy is empty)."""
    return _calls(request, max_calls, text, valid=True)


def invalid_tool_call_replies(
    request: ProgrammedRequest | None = None, *, max_calls: int = 1
) -> SearchStrategy[Reply]:
    """Like `tool_call_replies`, with arguments that break their schema on purpose: a required
    key left out, a value of the wrong type, a key the schema forbids. A tool whose schema every
    object satisfies has no invalid arguments, and is not called."""
    return _calls(request, max_calls, False, valid=False)


def _calls(
    request: ProgrammedRequest | None, max_calls: int, with_text: bool, *, valid: bool
) -> SearchStrategy[Reply]:
    if isinstance(max_calls, bool) or not isinstance(max_calls, int) or max_calls < 1:
        raise BuilderError(f"mockllm: max_calls takes a whole number of at least 1, got {max_calls!r}")

    def of_request(answered: ProgrammedRequest | None) -> SearchStrategy[Reply]:
        if answered is None:
            raise BuilderError(
                "mockllm: a tool call strategy reads the tools of the request it answers: use it in "
                "reply_drawn(), or give it the request"
            )
        calls = [
            _call(name, schema, valid)
            for name, schema in answered.tool_schemas.items()
            if valid or _has_invalid(schema)
        ]
        if not calls:
            return st.nothing()
        lead = st.none() | texts() if with_text else st.none()
        return st.builds(
            lambda drawn, said: tool_calls(*drawn, text=said),
            st.lists(st.one_of(calls), min_size=1, max_size=max_calls),
            lead,
        )

    if request is not None:
        return of_request(request)
    return st.deferred(lambda: of_request(_answering.get()))


def _call(name: str, schema: dict[str, Any] | None, valid: bool) -> SearchStrategy[ToolCall]:
    arguments = _arguments(_schema_key(schema)) if valid else _invalid_arguments(_schema_key(schema))
    return st.builds(lambda args: ToolCall(name, args), arguments)


def _schema_key(schema: dict[str, Any] | None) -> bytes:
    # Schemas are cached by their JSON: an agent sends the same tools on every turn. Tool arguments
    # are an object, whether or not the schema says so (Gemini's and hand-written ones may not).
    plain = {"type": "object", **normalized(schema or {})}
    return orjson.dumps(plain, option=orjson.OPT_SORT_KEYS)


@lru_cache(maxsize=256)
def _arguments(key: bytes) -> SearchStrategy[Any]:
    return schema_values(orjson.loads(key))


@lru_cache(maxsize=256)
def _validator(key: bytes) -> Any:
    return jsonschema_rs.validator_for(orjson.loads(key))


def _has_invalid(schema: dict[str, Any] | None) -> bool:
    schema = schema or {}
    return bool(
        schema.get("required") or schema.get("properties") or schema.get("additionalProperties") is False
    )


@lru_cache(maxsize=256)
def _invalid_arguments(key: bytes) -> SearchStrategy[Any]:
    schema = orjson.loads(key)
    properties: dict[str, Any] = schema.get("properties") or {}
    required: list[str] = [name for name in schema.get("required") or () if isinstance(name, str)]
    valid = _arguments(key).filter(lambda value: isinstance(value, dict))
    breaks: list[SearchStrategy[Any]] = []
    if required:  # a required key left out
        breaks.append(
            st.tuples(valid, st.sampled_from(required)).map(
                lambda pair: {k: v for k, v in pair[0].items() if k != pair[1]}
            )
        )
    if properties:  # a value of another type
        wrong = st.one_of(
            st.none(), st.booleans(), st.integers(-9, 9), st.text(max_size=5), st.lists(st.none())
        )
        breaks.append(
            st.tuples(valid, st.sampled_from(sorted(properties)), wrong).map(
                lambda drawn: {**drawn[0], drawn[1]: drawn[2]}
            )
        )
    if schema.get("additionalProperties") is False:  # a key the schema forbids
        breaks.append(valid.map(lambda value: {**value, "unexpected_key": True}))
    check = _validator(key)
    return st.one_of(breaks).filter(lambda value: not check.is_valid(value))


# --- errors, faults, timing ----------------------------------------------------------------------


def error_replies(statuses: Sequence[int] | None = None) -> SearchStrategy[Reply]:
    """HTTP errors in the provider's shape: the ones the SDKs retry (408, 409, 429, 5xx) with
    retry headers of a few milliseconds (``retry-after-ms``, ``x-should-retry``), and ones an agent
    must not retry (400, 401, 403, 404, 413, 422). ``statuses``: only these."""
    chosen = st.sampled_from(tuple(statuses) if statuses is not None else (*RETRYABLE, *REFUSED))

    def make(status: int, wait_ms: int, should_retry: bool | None) -> Reply:
        headers = {"retry-after-ms": str(wait_ms)}
        if should_retry is not None:
            headers["x-should-retry"] = "true" if should_retry else "false"
        return error(status, headers=headers)

    return st.builds(make, chosen, st.integers(0, 20), st.none() | st.booleans())


def fault_replies(base: SearchStrategy[Reply] | None = None) -> SearchStrategy[Reply]:
    """``base`` replies (text replies by default) that go wrong on the way: the connection reset,
    a stream cut after its first events, ended without its terminal event, with an event that is
    not JSON, or with the provider's in-stream error; or paced over a few milliseconds."""
    inner = text_replies() if base is None else base
    faulted = st.builds(
        lambda reply, kind, after: reply.with_fault(kind, after_events=None if kind == "reset" else after),
        inner,
        st.sampled_from(("disconnect", "truncate", "malformed", "error_event", "reset")),
        st.none() | st.integers(0, 1),
    )
    paced = st.builds(
        lambda reply, ttft, interval: reply.with_timing(ttft_ms=ttft, chunk_interval_ms=interval),
        inner,
        st.integers(0, 30),
        st.integers(0, 5),
    )
    return faulted | paced


def replies(
    api: str | None = None,
    *,
    request: ProgrammedRequest | None = None,
    errors: bool = True,
    faults: bool = True,
) -> SearchStrategy[Reply]:
    """Any reply a model may give: texts, tool calls of the request's tools (valid, and sometimes
    not), several at once, refusals, truncations, and (``errors``) HTTP errors and (``faults``)
    broken streams and paced answers. ``api``: the config key of the API answered (an embeddings
    API draws errors alone: it has no texts to give); ``request`` as for `tool_call_replies`.
    Hypothesis shrinks a failure towards the first kind listed: an empty text."""
    if api is not None and api not in API_BY_KEY:
        raise BuilderError(
            f"mockllm: replies() takes an API's config key ({', '.join(API_BY_KEY)}), got {api!r}"
        )
    if api is not None and _answers_vectors(api):
        return error_replies()
    kinds: list[SearchStrategy[Reply]] = [
        text_replies(),
        tool_call_replies(request, text=True),
        invalid_tool_call_replies(request),
        refusal_replies(),
        truncated_replies(),
    ]
    if errors:
        kinds.append(error_replies())
    if faults:
        kinds.append(fault_replies())
    return st.one_of(kinds)


def _answers_vectors(api: str) -> bool:
    """Whether the API's answers are vectors (an embeddings API), as its adapter says."""
    from .server.registry import ADAPTERS

    return ADAPTERS[API_BY_KEY[api].key].vectors is not None


# --- drawing in a running example -----------------------------------------------------------------


def drawing(
    data: DataObject, strategy: SearchStrategy[Any] | Callable[[ProgrammedRequest], SearchStrategy[Any]]
) -> Callable[[ProgrammedRequest], Any]:
    """A reply function that answers each request with a value drawn from ``data`` (what
    ``reply_drawn`` registers)."""
    if not isinstance(data, st.DataObject):
        raise BuilderError(f"mockllm: reply_drawn() takes the data of st.data(), got {data!r}")
    if not isinstance(strategy, st.SearchStrategy) and not callable(strategy):
        raise BuilderError(
            f"mockllm: reply_drawn() takes a strategy or a function of the request, got {strategy!r}"
        )
    try:
        context = current_build_context()
    except Exception:
        raise BuilderError("mockllm: reply_drawn() is for the body of a @given test") from None
    counter = itertools.count(1)

    def draw(request: ProgrammedRequest) -> Any:
        chosen = strategy if isinstance(strategy, st.SearchStrategy) else strategy(request)
        label = f"reply {next(counter)}, to {request.api} turn {request.turns}"
        token = _answering.set(request)
        try:
            with _in_example(context):
                return data.draw(chosen, label=label)
        except StopTest:
            # The example ran out of choices (while hypothesis shrinks, say): it is over, and
            # hypothesis discards it whatever the code under test does with this 500.
            raise RuntimeError("the hypothesis example is over; this request is not part of it") from None
        finally:
            _answering.reset(token)

    draw.__qualname__ = "reply_drawn"
    return draw


@contextlib.contextmanager
def _in_example(context: BuildContext) -> Iterator[None]:
    """Draw in the example of ``context`` from the server's thread: hypothesis keeps the running
    example per thread, and its notes (the falsifying example's "Draw n" lines) go there."""
    from hypothesis.control import _current_build_context

    if _current_build_context.value is context:
        yield
        return
    with _current_build_context.with_value(context):
        yield
