"""Chaos: a server-wide share of matched requests fails, for resilience soaks and load tests.

A mock's ``error`` and ``fault`` fail every request they answer; chaos fails a random share of the
requests that some mock matched, whichever it is, as a flaky provider does. It comes in two kinds:

- an error (``error_rate``): the provider's own overloaded answer (OpenAI 500 ``server_error``,
  Anthropic 529 ``overloaded_error``, Gemini 503 ``UNAVAILABLE``), which its SDK retries on its own;
- a disconnect (``disconnect_rate``): a stream is cut after a random number of its events, never the
  terminal one, and the connection dropped (the ``disconnect`` fault); a JSON answer's connection is
  dropped before any byte (the ``reset`` fault).

The draws come from one generator per server, seeded with ``seed``: the same sequence of requests
meets the same failures on every run. A request that chaos fails does not count toward its mock's
``times`` and does not move its scenario, so a client's retry finds the mock as the first try did.

The ``x-mockllm-chaos`` request header sets the rates of one request instead of the server's
(``error-rate=0.05, disconnect-rate=0.1``; a rate it leaves out is 0).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from time import perf_counter
from typing import Any, Literal

from sanic import HTTPResponse, Request

from ..config import ConfigError, Fault, Timing
from .adapter import ApiAdapter, PreparedError, PreparedResponse, TimedResponse
from .errors import ApiError
from .journal import Delivery
from .provider import Provider
from .sanic_internals import abort
from .writer import write_timed

__all__ = ["CHAOS_HEADER", "Chaos", "ChaosDice", "Strike", "answer_strike", "chaos_of"]

CHAOS_HEADER = "x-mockllm-chaos"
"""The request header that sets the chaos rates of that request."""

StrikeKind = Literal["chaos_error", "chaos_disconnect"]
"""What chaos did to a request, as its journal entry's ``fault`` says."""

ERROR_MESSAGE = "mockllm chaos: the server is overloaded, try again"
_DISCONNECT = Fault(kind="disconnect")
_NO_TIMING = Timing()

# The header's names of the rates, and the Chaos fields they set.
_HEADER_KEYS = {"error-rate": "error_rate", "disconnect-rate": "disconnect_rate"}


def _rate_problem(value: object) -> str | None:
    # bool is an int, and NaN fails every comparison: both are refused here.
    if type(value) not in (int, float) or not 0 <= value <= 1:  # type: ignore[operator]
        return f"expected a rate from 0 to 1, got {value!r}"
    return None


@dataclass(frozen=True, slots=True)
class Chaos:
    """The share of matched requests that fail, each rate from 0 to 1 (together at most 1).

    ``seed`` seeds the draws: the same seed and the same sequence of requests give the same
    failures. Raises `ConfigError` for a bad value.
    """

    error_rate: float = 0.0
    """The share answered with the provider's overloaded error (OpenAI 500, Anthropic 529)."""
    disconnect_rate: float = 0.0
    """The share whose connection is dropped: a stream partway through, a JSON answer before it."""
    seed: int = 0
    """Seeds the draws of the server's generator."""

    def __post_init__(self) -> None:
        problems = [
            (name, problem)
            for name in ("error_rate", "disconnect_rate")
            if (problem := _rate_problem(getattr(self, name))) is not None
        ]
        if type(self.seed) is not int:
            problems.append(("seed", f"expected a whole number, got {self.seed!r}"))
        if not problems and self.error_rate + self.disconnect_rate > 1:
            problems.append(("disconnect_rate", "error_rate and disconnect_rate add up to more than 1"))
        if problems:
            raise ConfigError("chaos", problems)

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.disconnect_rate)


def chaos_of(value: Chaos | Mapping[str, Any] | None) -> Chaos | None:
    """A `Chaos` from itself or its fields' mapping; raises `ConfigError` for a bad value or an
    unknown key."""
    if value is None or isinstance(value, Chaos):
        return value
    unknown = [key for key in value if key not in Chaos.__dataclass_fields__]
    if unknown:
        allowed = ", ".join(Chaos.__dataclass_fields__)
        raise ConfigError("chaos", [(str(unknown[0]), f"unknown key; allowed keys: {allowed}")])
    return Chaos(**value)


@dataclass(frozen=True, slots=True)
class Strike:
    """Chaos fails this request: how, and where a cut stream ends (a fraction of its events)."""

    kind: StrikeKind
    cut: float

    def status(self, provider: Provider) -> int:
        """The status the journal records: the error's, or 200 for a connection dropped."""
        return provider.overloaded_status if self.kind == "chaos_error" else 200

    @property
    def error(self) -> str | None:
        return ERROR_MESSAGE if self.kind == "chaos_error" else None


class ChaosDice:
    """A server's chaos: its rates (None when it has none) and the generator every draw comes from.

    Draws happen on the server's event loop, at the match, before any await: the order of the
    requests alone decides which of them fail.
    """

    __slots__ = ("_random", "chaos", "rates")

    def __init__(self, chaos: Chaos | None) -> None:
        self.chaos = chaos
        self.rates: Chaos | None = chaos if chaos is not None and chaos.active else None
        """What the route checks: None spares every request without the header any chaos work."""
        self._random = random.Random(chaos.seed if chaos is not None else 0)

    def reseed(self) -> None:
        """Start the sequence of draws again, as a new server with the same seed would."""
        self._random.seed(self.chaos.seed if self.chaos is not None else 0)

    def roll(self, header: str | None) -> Strike | None:
        """Whether chaos fails the request that carries ``header`` (the value of `CHAOS_HEADER`, or
        None). Raises `ApiError` (400) for a header that does not parse."""
        rates = self.rates if header is None else _header_rates(header)
        if rates is None:
            return None
        # Two draws for every request, failed or not, so one request's fate never shifts the next.
        fate, cut = self._random.random(), self._random.random()
        if fate < rates.error_rate:
            return Strike("chaos_error", cut)
        if fate < rates.error_rate + rates.disconnect_rate:
            return Strike("chaos_disconnect", cut)
        return None


@lru_cache(maxsize=64)  # a load test sends the same value with every request
def _header_rates(header: str) -> Chaos | None:
    fields: dict[str, float] = {}
    for item in header.split(","):
        if not item.strip():
            continue
        name, equals, text = (part.strip() for part in item.partition("="))
        key = _HEADER_KEYS.get(name.lower())
        if key is None or not equals:
            raise _bad_header(header, f"expected name=rate pairs with the names {', '.join(_HEADER_KEYS)}")
        try:
            rate = float(text)
        except ValueError:
            raise _bad_header(header, f"{name}: expected a rate from 0 to 1, got {text!r}") from None
        if not 0 <= rate <= 1:  # NaN too
            raise _bad_header(header, f"{name}: expected a rate from 0 to 1, got {text!r}")
        fields[key] = rate
    if sum(fields.values()) > 1:
        raise _bad_header(header, "the rates add up to more than 1")
    chaos = Chaos(fields.get("error_rate", 0.0), fields.get("disconnect_rate", 0.0))
    return chaos if chaos.active else None


def _bad_header(header: str, problem: str) -> ApiError:
    return ApiError(
        400,
        f"The {CHAOS_HEADER} header {header!r} is not valid: {problem} "
        f"(for example '{CHAOS_HEADER}: error-rate=0.05, disconnect-rate=0.1').",
    )


async def answer_strike(
    request: Request,
    strike: Strike,
    adapter: ApiAdapter,
    answer: PreparedResponse | PreparedError | TimedResponse,
    body: dict[str, Any],
    variant: Any,
    delivery: Delivery,
) -> HTTPResponse | None:
    """Fail the request as ``strike`` says, in place of ``answer`` (the matched mock's)."""
    if strike.kind == "chaos_error":
        return adapter.provider.overloaded(ERROR_MESSAGE)
    streaming = adapter.streaming
    if isinstance(answer, PreparedError) or streaming is None or not adapter.is_stream(variant):
        abort(request)  # an error or a JSON answer: dropped before any byte
    timing, prepared = _NO_TIMING, answer
    if isinstance(prepared, TimedResponse):  # the mock's own pace, up to the cut
        timing, prepared = prepared.timing, prepared.answer
    events = prepared.stream_events(body, variant)
    total = delivery.events_total = len(events)
    content_type, headers = streaming.media(variant)
    # Never the terminal event: a stream that ends complete is no failure to the client.
    sent = min(math.floor(strike.cut * total), max(total - 1, 0))
    return await write_timed(
        request,
        timing,
        events[:sent],
        content_type=content_type,
        headers=headers,
        fault=_DISCONNECT,
        provider=adapter.provider,
        delivery=delivery,
        started=perf_counter(),
    )
