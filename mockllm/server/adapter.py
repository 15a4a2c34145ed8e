"""What the adapters of the APIs share: `ApiAdapter` (the adapter itself), `Streaming`, request
checks, and prepared answers.

Each API's adapter (``mockllm/openai/chat.py``, ``mockllm/gemini/generate.py``, …; listed in
``mockllm/server/registry.py``) fills in the
fields its SDK needs once, when the config is loaded, and says how to render the answer (JSON
body or SSE stream). Rendered bytes are cached, so the request path only parses, matches and writes.
A stream is rendered as a list of events, which a mock with ``timing`` writes one by one and any
other mock joins into one body.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, cast

import orjson

from ..apis import ApiSpec
from ..config import MID_STREAM_FAULTS, Fault, Timing, VectorsFromText
from ..contract.guard import NOTHING_SAID, ContractTerms, Said
from ..contract.shapes import ResponseType
from ..matching import MatchRules
from .errors import ApiError
from .eventstream import EVENTSTREAM_TYPE
from .faults import faulty_events
from .provider import JSON_TYPE, Endpoint, Provider, Route
from .usage import INPUT_TOKENS, Spliced, counted, estimate_tokens, input_tokens_plus, spliced, written

__all__ = [
    "DEFAULT_MODEL",
    "INPUT_TOKENS",
    "JSON",
    "JSON_TYPE",
    "MAX_CACHED_BYTES",
    "MAX_MODEL_CHARS",
    "SSE",
    "ApiAdapter",
    "KeyedVariant",
    "MatchStyle",
    "PerRequestVectors",
    "PreparedError",
    "PreparedResponse",
    "Streaming",
    "TimedResponse",
    "check_bool",
    "check_content",
    "check_model",
    "check_object_list",
    "describe_input",
    "describe_last_message",
    "estimate_tokens",
    "input_tokens_plus",
    "is_number_list",
    "is_sse",
    "json_or_events",
    "json_or_stream",
]

Request = dict[str, Any]
# Renders a filled response for a variant (e.g. "json", "sse", or embeddings' encoding).
Render = Callable[[dict[str, Any], Any], bytes]
# The events of a stream variant, one SSE event each: `Render` gives them joined.
RenderEvents = Callable[[dict[str, Any], Any], list[bytes]]
MatchStyle = Literal["exact", "contains"]
"""How a recorded mock matches the request it was recorded from."""

DEFAULT_MODEL = "mock-model"
MAX_MODEL_CHARS = 256
"""The longest ``model`` a request may name. Real model ids are well under 100 characters; the
model is echoed into every event of a stream, so its length multiplies the size of the answer."""
MAX_CACHED_BYTES = 16 * 1024 * 1024
"""How many bytes of rendered answers one mock keeps; a render larger than this is not kept."""
_MAX_CACHED_RENDERS = 64

_Rendered = TypeVar("_Rendered")


@dataclass(frozen=True, kw_only=True)
class Streaming:
    """How an API streams: its events, and everything that cuts, breaks or rebuilds a stream of
    them (faults, chaos, the recorder)."""

    events: RenderEvents
    """The events of a stream variant, one each (an SSE event, a JSON array's element, …)."""
    shortest: Hashable
    """The variant with the fewest events, against which a fault's ``after_events`` is checked at
    load (so that it fits every variant)."""
    media: Callable[[Hashable], tuple[str, dict[str, str] | None]]
    """The content type and headers of a stream variant."""
    malformed_event: Callable[[Hashable], bytes]
    """(variant) -> an event whose data the SDK's stream reader fails to decode (the ``malformed``
    fault)."""
    error_event: Callable[[dict[str, Any], int, Hashable], bytes]
    """(response, events sent before it, variant) -> the provider's in-stream error, as the SDK's
    stream reader raises it (the ``error_event`` fault)."""
    reassemble: Callable[[bytes], dict[str, Any] | None]
    """The bytes of a recorded stream -> the non-stream answer, or None for a stream cut short."""


def _as_recorded(answer: dict[str, Any]) -> dict[str, Any]:
    return answer


@dataclass(frozen=True, kw_only=True)
class ApiAdapter:
    """Everything the server knows of one API: its routes, how it checks, matches and answers a
    request, how it streams, and what a recording of it writes. mypy refuses an API that leaves a
    field out; the cross-cutting parts of the server ask these and never an API's name."""

    spec: ApiSpec
    provider: Provider
    routes: tuple[Route, ...]
    """Where the API is served (several URLs: versions, Azure's, Vertex AI's)."""
    rules: MatchRules[Any]
    validate: Callable[[Request], None]
    """Raises `ApiError` (400) for a body the real API would refuse."""
    variant: Callable[[Request], Hashable]
    """Which rendering the request asks for."""
    is_stream: Callable[[Hashable], bool]
    fill: Callable[[dict[str, Any], int, int], dict[str, Any]]
    """(response as configured, mock position, created timestamp) -> response to serve.
    Raises ``ValueError("response.<path>: <problem>")`` for a response it cannot serve."""
    response_type: ResponseType
    """The provider's type of a mock's ``response``, which the contract guard checks it against
    at load."""
    contract: ContractTerms | None
    """How the contract guard reads the API's requests and answers (tools, tool choice,
    structured output); None for an API without tools or structured output (embeddings)."""
    render: Render
    describe: Callable[[Request], str]
    """What the request asked, for the 404 message."""
    streaming: Streaming | None
    """None for an API that does not stream."""
    recorded_match: Callable[[Request, MatchStyle], dict[str, Any]]
    """The ``match`` a recording writes for a request: ``exact`` or ``contains``."""
    recorded_answer: Callable[[dict[str, Any]], dict[str, Any]] = _as_recorded
    """The upstream's answer as a recording writes it (made readable, where it is not)."""
    id_prefix: str | None = None
    """The prefix of the answer's id (``chatcmpl-``, ``msg_``); a normalized recording makes the
    rest of it from the match. None for an answer without an id of its own."""
    id_field: str = "id"
    """The answer's field that holds its id."""
    vectors: type[PerRequestVectors] | None = None
    """The answer of a ``vectors_from_text`` mock, for an embeddings API."""
    endpoints: tuple[Endpoint, ...] = ()
    """JSON endpoints beside the answers: token counting."""
    model_field: str | None = "model"
    """The answer's field that names the model: an answer without it echoes the request's (None:
    the answer names no model)."""
    input_tokens: Callable[[Request], int] | None = None
    """The request's prompt by `estimate_tokens` (what its token-counting endpoint answers), which
    the usage of an answer reports where ``fill`` wrote `INPUT_TOKENS`; None for an API whose
    answers report no prompt usage."""


class KeyedVariant:
    """A variant made of what a request asks of the answer (its ``_key``: compared and hashed by
    it, so prepared answers are cached by it), with what rides along for an answer made per
    request (the inputs of ``vectors_from_text``)."""

    __slots__ = ("_key",)

    _key: tuple[Any, ...]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._key}"


def _no_prompt(body: Request) -> int:
    return 0


def _is_framed(adapter: ApiAdapter, variant: Hashable) -> bool:
    """Whether a variant is a stream of event-stream frames, whose usage is written frame by frame."""
    streaming = adapter.streaming
    return (
        streaming is not None
        and adapter.is_stream(variant)
        and streaming.media(variant)[0] == EVENTSTREAM_TYPE
    )


class Renders(dict[tuple[str | None, Hashable], _Rendered]):
    """A mock's answers rendered per (model, variant), bounded in entries and in bytes, so that
    requests naming many models cannot make it grow without bound: when one more would cross a
    bound, the cache starts over. An answer larger than the byte bound is not kept at all."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0
        """The bytes of the answers kept."""

    def keep(self, key: tuple[str | None, Hashable], rendered: _Rendered, size: int) -> None:
        if size > MAX_CACHED_BYTES:
            return
        if len(self) >= _MAX_CACHED_RENDERS or self.size + size > MAX_CACHED_BYTES:
            self.clear()
            self.size = 0
        self[key] = rendered
        self.size += size


class PreparedResponse:
    """A mock's answer: filled in on first use, then rendered per (model, variant) and cached.

    Nothing is kept for a mock no request asked for, so a config of 100,000 mocks costs little
    more than its models. A response that names no ``model`` echoes the request's model, as the
    real APIs do. The cache is bounded in entries and in bytes, so requests naming many models
    cannot make it grow without bound; an answer it does not keep is rendered again, never wrong.
    """

    __slots__ = (
        "_adapter",
        "_cache",
        "_created",
        "_echo",
        "_fill",
        "_filled",
        "_input_tokens",
        "_position",
        "_read_said",
        "_render",
        "_said",
        "_source",
    )

    def __init__(self, source: dict[str, Any], adapter: ApiAdapter, position: int, created: int) -> None:
        # The adapter's functions and the configured response, not a closure: a config of 100,000
        # mocks keeps 100,000 of these.
        self._source = source
        self._fill = adapter.fill
        self._render = adapter.render
        self._echo = adapter.model_field
        self._position = position
        self._created = created
        self._filled: dict[str, Any] | None = None
        self._cache: Renders[bytes | Spliced] | None = None
        self._input_tokens = adapter.input_tokens or _no_prompt
        self._adapter = adapter
        self._read_said = adapter.contract.said if adapter.contract is not None else None
        self._said: Said | None = None

    @property
    def response(self) -> dict[str, Any]:
        """The response as served: the configured one with what the SDKs need filled in."""
        if self._filled is None:
            self._filled = self._fill(self._source, self._position, self._created)
        return self._filled

    @property
    def said(self) -> Said:
        """The tool calls and texts of the answer, as the contract guard reads them."""
        said = self._said
        if said is None:
            said = self._said = (
                self._read_said(self.response) if self._read_said is not None else NOTHING_SAID
            )
        return said

    def render(self, request: Request, variant: Hashable) -> bytes:
        """The answer to ``request``: cached per (model, variant), with the request's input
        tokens written into its usage."""
        key = (self.model_key(request.get("model")), variant)
        cache = self._cache
        if cache is None:
            cache = self._cache = Renders()
        found = cache.get(key)
        if found is None:
            body = self.render_uncached(key[0], variant)
            size = len(body)
            if size <= MAX_CACHED_BYTES:
                # orjson's bytes keep a 4 KiB buffer whatever their length: keep a snug copy.
                body = bytes(memoryview(body))
            found = spliced(body, _is_framed(self._adapter, variant))
            cache.keep(key, found, size)
        if isinstance(found, bytes):
            return found
        return found.write(counted(self._input_tokens, request))

    def stream_events(self, request: Request, variant: Hashable) -> list[bytes]:
        """The events of a stream variant for ``request``, rendered anew (not kept)."""
        streaming = self._adapter.streaming
        if streaming is None:
            raise TypeError("this API does not stream")
        framed = _is_framed(self._adapter, variant)
        events = streaming.events(self.response_for(request.get("model")), variant)
        return self.written([spliced(event, framed) for event in events], request)

    def written(self, events: list[bytes | Spliced], request: Request) -> list[bytes]:
        """``events`` with the request's input tokens written in (counted only if one needs them)."""
        if all(isinstance(event, bytes) for event in events):
            return cast(list[bytes], events)
        tokens = counted(self._input_tokens, request)
        return [written(event, tokens) for event in events]

    def model_key(self, model: Any) -> str | None:
        """What of a request's ``model`` the answer depends on: the model it echoes, or None for
        a response that names its own."""
        echo = self._echo
        return model if echo is not None and isinstance(model, str) and echo not in self.response else None

    def render_uncached(self, model: Any, variant: Hashable) -> bytes:
        """The answer for a request naming ``model``, rendered anew and not kept."""
        return self._render(self.response_for(model), variant)

    def response_for(self, model: Any) -> dict[str, Any]:
        """The response as served to a request naming ``model``."""
        response = self.response
        echo = self._echo
        if echo is not None and echo not in response:
            response = {**response, echo: model if isinstance(model, str) and model else DEFAULT_MODEL}
        return response


class PerRequestVectors(PreparedResponse):
    """The answer of a ``vectors_from_text`` mock: each input's vector derived from its text
    (`mockllm.text_vectors`), so made per request and never kept here. An API's subclass names
    its ``empty`` answer (what ``response`` reads: its shape, no vectors) and renders the vectors
    in its own shape in ``render_uncached``."""

    __slots__ = ("dimensions", "seed")

    empty: ClassVar[dict[str, Any]]

    def __init__(self, vectors: VectorsFromText, adapter: ApiAdapter, position: int, created: int) -> None:
        super().__init__(self.empty, adapter, position, created)
        self.dimensions = vectors.dimensions
        self.seed = vectors.seed

    def render(self, request: Request, variant: Hashable) -> bytes:
        return self.render_uncached(request.get("model"), variant)


_NO_TIMING = Timing()


class TimedResponse:
    """The answer of a mock with ``timing`` or ``fault``: the `PreparedResponse` it wraps renders
    the bytes, and a stream is handed over as its events (as many as the fault lets out), for the
    route to write one by one."""

    __slots__ = ("_adapter", "_cache", "answer", "fault", "timing")

    def __init__(
        self, answer: PreparedResponse, adapter: ApiAdapter, timing: Timing | None, fault: Fault | None = None
    ) -> None:
        self.answer = answer
        self.timing = _NO_TIMING if timing is None else timing
        self.fault = fault
        self._adapter = adapter
        self._cache: Renders[tuple[list[bytes | Spliced], int]] | None = None

    def events(self, request: Request, variant: Hashable) -> tuple[list[bytes], int]:
        """The events of a stream variant that go out to ``request`` (the caller must not change
        the list), and how many the whole stream has. Cached within the bounds of
        `PreparedResponse.render`: a thousand concurrent paced streams spend their server's time
        writing, not rendering."""
        streaming = self._adapter.streaming
        if streaming is None:
            raise TypeError("this API does not stream")
        key = (self.answer.model_key(request.get("model")), variant)
        cache = self._cache
        if cache is None:
            cache = self._cache = Renders()
        found = cache.get(key)
        if found is None:
            response = self.answer.response_for(key[0])
            events = streaming.events(response, variant)
            total = len(events)
            fault = self.fault
            if fault is not None and fault.kind in MID_STREAM_FAULTS:
                events = faulty_events(streaming, fault, events, response, variant)
            framed = _is_framed(self._adapter, variant)
            found = ([spliced(event, framed) for event in events], total)
            cache.keep(key, found, sum(map(len, events)))
        return self.answer.written(found[0], request), found[1]


class PreparedError:
    """An error mock's answer (``error``): the provider's error body and the configured headers,
    made once at load. Served alike to JSON and stream requests, as the real APIs refuse a request
    before any stream starts."""

    __slots__ = ("body", "headers", "message", "status", "timing")

    def __init__(
        self,
        adapter: ApiAdapter,
        status: int,
        kind: str | None,
        message: str | None,
        headers: dict[str, str],
        timing: Timing | None = None,
    ) -> None:
        provider = adapter.provider
        code = None
        if kind is None:  # the provider's own type, and the code that goes with it
            kind, code = provider.default_type(status), provider.default_code(status)
        self.status = status
        self.message = f"mocked error: {status} {code or kind}" if message is None else message
        self.body = provider.error_body(status, self.message, kind=kind, code=code)
        self.headers = {**provider.error_headers(status, kind), **headers}
        self.timing = timing  # only its ttft_ms counts: the error comes in one piece


# --- variants -------------------------------------------------------------------------------

JSON, SSE = "json", "sse"
"""The variants of an API whose answer is either a JSON body or one kind of stream."""


def json_or_stream(body: Request) -> Hashable:
    """The variant of such an API that a request asks for."""
    return SSE if body.get("stream") is True else JSON


def is_sse(variant: Hashable) -> bool:
    return variant == SSE


def json_or_events(stream_events: Callable[[dict[str, Any], Any], list[bytes]]) -> Render:
    """The render of an API whose variants are the JSON body and streams of ``stream_events``."""

    def render(response: dict[str, Any], variant: Any) -> bytes:
        if variant == JSON:
            return orjson.dumps(response)
        return b"".join(stream_events(response, variant))

    return render


# --- request checks --------------------------------------------------------------------------


def check_object_list(value: Any, where: str, *, required: bool, non_empty: bool = True) -> None:
    """An array of objects; ``null`` or absent stands for no array unless it is ``required``."""
    if value is None and not required:
        return
    if not isinstance(value, list) or (non_empty and not value):
        kind = "a non-empty array" if non_empty else "an array"
        raise ApiError(400, f"'{where}' must be {kind} of objects", param=where)
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ApiError(400, f"'{where}[{i}]' must be an object", param=f"{where}[{i}]")


def check_content(value: Any, where: str, *, allow_null: bool, dotted: bool = False) -> None:
    """Message content: a string or a list of parts (objects) whose ``text``, if any, is a string.

    ``dotted``: name a part ``where.0.text`` (Anthropic's style) rather than ``where[0].text``.
    """
    if isinstance(value, str) or (value is None and allow_null):
        return
    if not isinstance(value, list):
        raise ApiError(400, f"'{where}' must be a string or an array of content parts", param=where)
    for j, part in enumerate(value):
        if not isinstance(part, dict):
            raise ApiError(400, f"'{where}' must be a string or an array of content parts", param=where)
        text = part.get("text")
        if text is not None and not isinstance(text, str):
            at = f"{where}.{j}.text" if dotted else f"{where}[{j}].text"
            raise ApiError(400, f"'{at}' must be a string", param=at)


def check_bool(body: Request, key: str) -> None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise ApiError(400, f"'{key}' must be a boolean", param=key)


def check_model(body: Request) -> None:
    model = body.get("model")
    if model is None:
        return
    if not isinstance(model, str):
        raise ApiError(400, "'model' must be a string", param="model")
    if len(model) > MAX_MODEL_CHARS:
        raise ApiError(
            400, f"'model' is {len(model)} characters long; the limit is {MAX_MODEL_CHARS}", param="model"
        )


def is_number_list(value: Any) -> bool:
    """Whether ``value`` is a list of numbers (a vector): no booleans, which JSON tells apart."""
    return isinstance(value, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in value
    )


def _preview(value: Any) -> str:
    return orjson.dumps(value).decode()[:200]


def describe_last_message(body: Request) -> str:
    messages = body.get("messages") or []
    return f"last message {_preview(messages[-1] if messages else None)}"


def describe_input(body: Request) -> str:
    return f"input {_preview(body.get('input'))}"
