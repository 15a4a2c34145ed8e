"""The Sanic application: routes, auth presence checks, body parsing and provider-shaped errors.

The request path is: read the body once with orjson, check it, find the mock through the API's
index, write the bytes prepared at config load. No pydantic runs per request. A mock with ``timing``
or ``fault`` is written over time instead, by `mockllm.server.writer`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote
from uuid import uuid4

import orjson
from sanic import HTTPResponse, Request, Sanic
from sanic.exceptions import MethodNotAllowed, NotFound, SanicException

from ..config import MAX_DELAY_MS
from ..contract.guard import ContractMode, ContractProblem, Guard
from ..matching import Gate
from .adapter import ApiAdapter, PreparedError, PreparedResponse, TimedResponse
from .admin import ADMIN_PREFIX, AdminAccess, add_admin_routes, unknown_admin_route
from .chaos import CHAOS_HEADER, ChaosDice, Strike, answer_strike
from .compiled import CompiledMocks
from .errors import ApiError
from .journal import Delivery, Journal, NearMiss, RecordedRequest
from .models import model_names
from .programmed import ProgrammedReply, ProgrammedRequest, ReplyFailed
from .provider import JSON_TYPE, Endpoint, IntoRequest, Provider, Route
from .registry import ADAPTERS, CLAIM_ORDER, PROVIDERS
from .runtime import Runtime
from .sanic_internals import OwnHeadersResponse, new_app
from .served import ServedMocks
from .state import Claimed, SharedState, StoreDown
from .writer import write_timed

if TYPE_CHECKING:
    from .recorder import Recorder

__all__ = ["MAX_BODY_BYTES", "UPSTREAM", "create_app"]

UPSTREAM = "<upstream>"
"""The journal's label of a request a recorder answered from the upstream."""

MAX_BODY_BYTES = 32 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_MODEL_PATHS = ("/v1/models", *sorted({path for p in PROVIDERS for path in p.model_paths}))
_ROUTES = ", ".join(
    [f"{r.method} {r.shown}" for h in ADAPTERS.values() for r in h.routes]
    + [f"{e.route.method} {e.route.shown}" for h in ADAPTERS.values() for e in h.endpoints]
    + [f"GET {path}" for path in _MODEL_PATHS]
    + [f"GET {path}/{{id}}" for path in _MODEL_PATHS]
    + ["GET /health"]
)

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse | None]]

_log = logging.getLogger("mockllm")


def create_app(
    served: ServedMocks,
    journal: Journal,
    *,
    name: str | None = None,
    touchup: bool = False,
    chaos: ChaosDice | None = None,
    admin: AdminAccess | None = None,
    recorder: Recorder | None = None,
    guard: Guard | None = None,
) -> Sanic[Any, Any]:
    """A fresh app that answers with ``served``'s mocks as they are at each request.

    ``touchup``: see `new_app`; only ``mockllm serve``, the one app of its process, asks for it.
    ``chaos``: the server's chaos rates and draws (none by default; the request header still works).
    ``admin``: serve the admin API under ``/__mockllm/`` to these clients (None: no admin API).
    ``recorder``: forwards the requests no mock matches (see `mockllm.server.recorder`); a server
    sets ``app.ctx.recorder`` to change it while it runs.
    ``guard``: the contract guard that checks each answer against its request (None: off).
    """
    dice = ChaosDice(None) if chaos is None else chaos
    # Sanic keeps a process-wide registry of app names, so every app gets a unique one.
    app = new_app(name or f"mockllm-{uuid4().hex[:12]}", touchup=touchup, max_body_bytes=MAX_BODY_BYTES)
    # Sanic gives up on a handler silent for RESPONSE_TIMEOUT (60 s by default); the longest pause a
    # mock's timing may ask for must not be cut short.
    app.config.RESPONSE_TIMEOUT = MAX_DELAY_MS / 1000 + 60
    app.ctx.served = served
    app.ctx.journal = journal
    app.ctx.recorder = recorder

    # Google's custom methods (".../models/gemini-2.0-flash:generateContent") share a path whose
    # last segment names the model and the method: one Sanic route per path, dispatching on it.
    actions: dict[tuple[str, str], tuple[Provider, dict[str, Handler]]] = {}
    for adapter in ADAPTERS.values():
        spec = adapter.spec
        provider = adapter.provider
        routed = [(route, _route(adapter, dice, guard, route)) for route in adapter.routes]
        routed += [(e.route, _endpoint(adapter, e)) for e in adapter.endpoints]
        for i, (route, handle) in enumerate(routed):
            if route.action is not None:  # every API of such a path is one provider's
                actions.setdefault((route.path, route.method), (provider, {}))[1][route.action] = handle
                continue
            # error_format spares Sanic reading each handler's source to guess it (a third of a start).
            app.add_route(
                handle,
                route.path,
                methods=[route.method],
                name=f"{spec.key}_{i}",
                error_format="json",
                ctx_api=spec.key,
                ctx_provider=provider,
            )
    for i, ((path, method), (owner, table)) in enumerate(actions.items()):
        app.add_route(
            _dispatch(table),
            path,
            methods=[method],
            name=f"action_{i}",
            error_format="json",
            ctx_api=None,
            ctx_provider=owner,
        )

    async def health(request: Request) -> HTTPResponse:
        served: ServedMocks = request.app.ctx.served
        counts = served.current().counts()
        body: dict[str, Any] = {"status": "healthy", "service": "mock-llm"}
        body.update(counts.items())
        if served.state is not None:  # still 200 when the store is down: stateless mocks answer
            body["state"] = {"backend": served.state.backend, "ok": await served.state.healthy()}
        return HTTPResponse(orjson.dumps(body), content_type=JSON_TYPE)

    # HEAD gets GET's headers without the body (Sanic drops the body of a HEAD response).
    app.add_route(health, "/health", methods=["GET", "HEAD"], name="health", error_format="json")
    for i, path in enumerate(_MODEL_PATHS):
        app.add_route(_models, path, methods=["GET"], name=f"models_{i}", error_format="json")
        app.add_route(
            _models, f"{path}/<target:path>", methods=["GET"], name=f"model_{i}", error_format="json"
        )
    if admin is not None:
        add_admin_routes(app, admin)
    app.error_handler.add(SanicException, _sanic_error)
    app.error_handler.add(Exception, _unexpected_error)
    return app


@dataclass(frozen=True, slots=True)
class Matched:
    """The mock that answers a request: its place in the order its API's mocks are tried."""

    mocks: CompiledMocks
    order: int

    @property
    def mock(self) -> Any:
        """The mock's config model."""
        return self.mocks.index.mocks[self.order]

    @property
    def label(self) -> str:
        return self.mocks.label(self.order)


def _route(adapter: ApiAdapter, dice: ChaosDice, guard: Guard | None, route: Route) -> Handler:
    """The handler of one of an API's routes: check, parse, match, answer, journal."""
    key, provider, streaming = adapter.spec.key, adapter.provider, adapter.streaming
    into_request, route_variant, records = route.into_request, route.variant, route.records
    terms = adapter.contract if guard is not None else None

    # Sanic passes a route's parameters (a deployment, a model) as keywords: request.match_info has them.
    async def handle(request: Request, **_params: str) -> HTTPResponse | None:
        journal: Journal = request.app.ctx.journal
        body: Any = None
        try:
            provider.check_auth(request, route)
            body = _parse(request.body)
            if into_request is not None:
                body = _into_request(into_request, request, body)
            adapter.validate(body)
            served: ServedMocks = request.app.ctx.served
            mocks: CompiledMocks = served.current().apis[key]
            runtime, store = served.runtime, served.state
            gate: Gate | None = runtime.gate if mocks.stateful else None
            headers = request.headers
            claimed: Claimed | None = None
            try:
                if store is not None and mocks.stateful:
                    order, claimed, gate = await _claim(store, mocks, body, headers)
                else:
                    order = mocks.index.find(body, headers, gate)
                if order is None:
                    recorder: Recorder | None = request.app.ctx.recorder
                    if recorder is None or not records:
                        raise _no_match(request.path, mocks, body, headers, gate)
                    # A request recorded already is answered by its new mock; any other goes upstream.
                    mocks = recorder.mocks(key)
                    order = mocks.index.find(body, headers, None)
                    if order is None:
                        return await _forward(request, recorder, adapter, body)
            except (RecursionError, orjson.JSONEncodeError) as exc:
                # orjson parses deeper JSON than it (or recursive matching) can walk back. Any other
                # TypeError is a bug of ours and must surface as one, not as a 400.
                if isinstance(exc, orjson.JSONEncodeError) and "Recursion limit" not in str(exc):
                    raise
                raise ApiError(400, "The request body is nested too deeply.") from None
            variant = adapter.variant(body) if route_variant is None else route_variant(request, body)
            # Without server-wide chaos, one header lookup is all a request pays for it.
            if dice.rates is not None or CHAOS_HEADER in headers:
                strike = dice.roll(headers.get(CHAOS_HEADER))
                if strike is not None:  # not counted: a retry finds the mock as this request did
                    await _give_back(store, mocks, order, claimed)
                    return await _answer_strike(
                        request, strike, body, variant, adapter, Matched(mocks, order)
                    )
        except ApiError as exc:
            if journal.enabled:
                _record(journal, request, body, exc.status, None, key, exc)
            return provider.error_response(exc.status, exc.client_message, exc.param)
        mock = mocks.index.mocks[order]
        answer = mocks.answer(order)
        reply: str | None = None
        if isinstance(answer, ProgrammedReply):  # a reply function's: prepared from what it returns
            try:
                answer, reply = await answer.answer(ProgrammedRequest(adapter, body, headers))
            except ReplyFailed as exc:
                # Journaled with the traceback, so that the pytest fixture fails the test; no answer,
                # so not counted (a claim on a shared store is given back).
                await _give_back(store, mocks, order, claimed)
                matched = Matched(mocks, order)
                return _refuse(
                    request, journal, provider, key, body, matched, 500, exc.message, journaled=exc.details
                )
        contract: tuple[ContractProblem, ...] = ()
        if terms is not None and guard is not None and not isinstance(answer, PreparedError):
            said = answer.said if isinstance(answer, PreparedResponse) else answer.answer.said
            contract = guard.check(terms, body, said)
            if contract:
                if guard.mode is ContractMode.ERROR:  # before any byte: a stream gets the 400 too
                    await _give_back(store, mocks, order, claimed)
                    matched = Matched(mocks, order)
                    message = _unfit(matched, contract)
                    return _refuse(
                        request, journal, provider, key, body, matched, 400, message, contract=contract
                    )
                guard.log_once(mock, mocks.label(order), contract)
        if not isinstance(answer, PreparedResponse):  # an error mock, or one answered over time
            _answered(runtime, store, mocks, order, claimed)
            matched = Matched(mocks, order)
            return await _answer_later(request, answer, body, variant, adapter, matched, contract, reply)
        data = answer.render(body, variant)
        _answered(runtime, store, mocks, order, claimed)  # once rendered: one that fails is no answer
        if journal.enabled:
            journal.add(
                request.method,
                request.path,
                body,
                request.body,
                headers,
                200,
                mocks.label(order),
                None,
                key,
                (),
                None,
                mock,
                contract,
                None if into_request is None else request.ctx.mockllm_url_fields,
                reply,
            )
        if streaming is not None and adapter.is_stream(variant):
            content_type, stream_headers = streaming.media(variant)
            return OwnHeadersResponse(data, content_type=content_type, headers=stream_headers)
        return OwnHeadersResponse(data, content_type=JSON_TYPE)

    handle.__name__ = f"handle_{key}"
    return handle


async def _claim(
    store: SharedState, mocks: CompiledMocks, body: dict[str, Any], headers: Any
) -> tuple[int | None, Claimed | None, Gate]:
    """The mock that answers, gated by the shared store: the stateful mocks whose rules hold, up to
    the first stateless one, claimed in one round trip. A request that a stateless mock answers
    first never reaches the store. Returns the mock's order, the claim (None when the store was not
    asked, or chose none) and the gate that explains a 404."""
    candidates: list[int] = []
    fallback: int | None = None
    listed = mocks.index.mocks
    for order in mocks.index.matching(body, headers):
        if not listed[order].is_stateful:
            fallback = order
            break
        candidates.append(order)
    if not candidates:
        return fallback, None, _no_gate
    try:
        claimed = await store.claim(mocks, candidates)
    except StoreDown as exc:
        raise ApiError(503, f"{exc}: a mock with times or a scenario cannot answer until it does.") from None
    if claimed.chosen is not None:
        return candidates[claimed.chosen], claimed, _no_gate
    refused = {id(listed[order]): why for order, why in zip(candidates, claimed.refusals, strict=True)}
    return fallback, None, lambda mock: refused.get(id(mock))


def _no_gate(mock: Any) -> str | None:
    return None


def _answered(
    runtime: Runtime, store: SharedState | None, mocks: CompiledMocks, order: int, claimed: Claimed | None
) -> None:
    """Count the mock that answered: in the process, or on the shared store (where a claim counted
    it already)."""
    if store is None:
        runtime.answered(mocks.index.mocks[order])
    elif claimed is None:
        store.counted(mocks, order)


async def _give_back(
    store: SharedState | None, mocks: CompiledMocks, order: int, claimed: Claimed | None
) -> None:
    """A mock did not answer after all (chaos struck, the contract guard refused it, its reply
    function failed): a claim on the shared store is given back."""
    if store is None or claimed is None:
        return
    # The store went down meanwhile: the claim stays counted, as nothing can take it back.
    with contextlib.suppress(StoreDown):
        await store.release(mocks, order, claimed.before)


def _into_request(into_request: IntoRequest, request: Request, parsed: dict[str, Any]) -> dict[str, Any]:
    """The body with what the route's URL carries in it (Azure's deployment, Gemini's model). The
    journal keeps the bytes that came and those fields (`_record` finds them in ``request.ctx``)."""
    body = into_request(request, parsed)
    request.ctx.mockllm_url_fields = {
        key: value for key, value in body.items() if parsed.get(key, _ABSENT) is not value
    }
    return body


_ABSENT = object()


def _dispatch(table: dict[str, Handler]) -> Handler:
    """The route of a path whose last segment is ``{model}:{action}``: the handler of the action."""

    async def dispatch(request: Request, target: str, **params: str) -> HTTPResponse | None:
        _, colon, action = target.rpartition(":")
        handle = table.get(action) if colon else None
        if handle is None:
            raise NotFound(f"Requested URL {request.path} not found")
        return await handle(request, target=target, **params)

    return dispatch


def _endpoint(adapter: ApiAdapter, endpoint: Endpoint) -> Handler:
    """A JSON endpoint beside an API's answers (Anthropic's and Gemini's token counts): the API's
    auth and error shape, the request parsed, answered by ``endpoint.answer``."""
    provider, route = adapter.provider, endpoint.route

    async def handle(request: Request, **_params: str) -> HTTPResponse:
        try:
            provider.check_auth(request, route)
            body = _parse(request.body) if route.method == "POST" else {}
            if route.into_request is not None:
                body = route.into_request(request, body)
            try:
                answer = endpoint.answer(body)
            except (RecursionError, orjson.JSONEncodeError):
                # Answers serialise parts of the request; orjson parses deeper JSON than it writes.
                raise ApiError(400, "The request body is nested too deeply.") from None
        except ApiError as exc:
            _journal_refusal(request, exc.status, exc.message)
            return provider.error_response(exc.status, exc.client_message, exc.param)
        return HTTPResponse(orjson.dumps(answer), content_type=JSON_TYPE)

    handle.__name__ = f"{adapter.spec.key}_{route.action or route.path.rpartition('/')[2]}"
    return handle


async def _forward(
    request: Request, recorder: Recorder, adapter: ApiAdapter, body: dict[str, Any]
) -> HTTPResponse | None:
    """Answer with the upstream's answer; journalled under the label `UPSTREAM` (not unmatched)."""
    journal: Journal = request.app.ctx.journal

    def answered(status: int) -> None:
        if journal.enabled:
            _record(journal, request, body, status, UPSTREAM, adapter.spec.key)

    return await recorder.forward(request, adapter, body, answered)


def _refuse(
    request: Request,
    journal: Journal,
    provider: Provider,
    api: str,
    body: dict[str, Any],
    matched: Matched,
    status: int,
    message: str,
    *,
    journaled: str | None = None,
    contract: tuple[ContractProblem, ...] = (),
) -> HTTPResponse:
    """Answer a matched request with an error in the provider's shape, in place of its mock's
    answer, journaled with ``journaled`` (by default the message) and ``contract``. The mock is not
    counted: it did not answer."""
    if journal.enabled:
        error = message if journaled is None else journaled
        _record(
            journal, request, body, status, matched.label, api, error, matched=matched.mock, contract=contract
        )
    return provider.error_response(status, message)


def _unfit(matched: Matched, contract: tuple[ContractProblem, ...]) -> str:
    """``--contract error``'s 400: how the mock's answer does not fit the request, so that a suite
    in any language fails loudly."""
    listed = "; ".join(str(problem) for problem in contract)
    return f'mockllm contract guard: the answer of mock "{matched.label}" does not fit the request: {listed}'


async def _answer_later(
    request: Request,
    answer: PreparedError | TimedResponse,
    body: dict[str, Any],
    variant: Hashable,
    adapter: ApiAdapter,
    matched: Matched,
    contract: tuple[ContractProblem, ...] = (),
    reply: str | None = None,
) -> HTTPResponse | None:
    """Answer with an error mock or a mock with ``timing`` or ``fault``. It was counted when it
    matched and is journalled now, before it is written: a concurrent request must already see a
    ``times`` used up, and the journal shows a request while it is answered."""
    started = perf_counter()
    journal: Journal = request.app.ctx.journal
    key, provider = adapter.spec.key, adapter.provider
    label, mock = matched.label, matched.mock
    if isinstance(answer, PreparedError):
        error = answer
        timing = error.timing
        delivery = Delivery() if timing is not None else None
        if journal.enabled:
            _record(
                journal,
                request,
                body,
                error.status,
                label,
                key,
                error.message,
                delivery=delivery,
                matched=mock,
                reply=reply,
            )
        if timing is None or delivery is None:
            return HTTPResponse(
                error.body, status=error.status, headers=error.headers, content_type=JSON_TYPE
            )
        return await write_timed(
            request,
            timing,
            error.body,
            status=error.status,
            headers=error.headers,
            content_type=JSON_TYPE,
            provider=provider,
            delivery=delivery,
            started=started,
        )
    paced = answer
    delivery = Delivery()
    if journal.enabled:
        _record(
            journal,
            request,
            body,
            200,
            label,
            key,
            delivery=delivery,
            matched=mock,
            contract=contract,
            reply=reply,
        )
    content: bytes | list[bytes]
    headers: dict[str, str] | None
    streaming = adapter.streaming
    if streaming is not None and adapter.is_stream(variant):
        content, delivery.events_total = paced.events(body, variant)
        content_type, headers = streaming.media(variant)
    else:
        content, content_type, headers = paced.answer.render(body, variant), JSON_TYPE, None
    return await write_timed(
        request,
        paced.timing,
        content,
        content_type=content_type,
        headers=headers,
        fault=paced.fault,
        provider=provider,
        delivery=delivery,
        started=started,
    )


async def _answer_strike(
    request: Request,
    strike: Strike,
    body: dict[str, Any],
    variant: Hashable,
    adapter: ApiAdapter,
    matched: Matched,
) -> HTTPResponse | None:
    """Chaos fails a matched request: journalled with the mock that matched, and ``fault`` saying
    how chaos failed it."""
    journal: Journal = request.app.ctx.journal
    delivery = Delivery(fault=strike.kind)
    if journal.enabled:
        _record(
            journal,
            request,
            body,
            strike.status(adapter.provider),
            matched.label,
            adapter.spec.key,
            strike.error,
            delivery=delivery,
            matched=matched.mock,
        )
    answer = matched.mocks.answer(matched.order)
    if isinstance(answer, ProgrammedReply):
        try:
            answer, _ = await answer.answer(ProgrammedRequest(adapter, body, request.headers))
        except ReplyFailed as exc:  # chaos fails the request all the same, as it fails an error mock
            answer = PreparedError(adapter, 500, None, exc.message, {})
    return await answer_strike(request, strike, adapter, answer, body, variant, delivery)


def _record(
    journal: Journal,
    request: Request,
    body: Any,
    status: int,
    mock: str | None,
    api: str,
    error: ApiError | str | None = None,
    *,
    delivery: Delivery | None = None,
    matched: Any = None,
    contract: tuple[ContractProblem, ...] = (),
    reply: str | None = None,
) -> None:
    """Journal a request: ``error`` is why it was refused, or an error mock's message; ``matched``
    the mock that answered (the model itself, for `MockHandle.calls`); ``contract`` how its answer
    did not fit the request; ``reply`` what a reply function answered."""
    message, misses = (error.message, error.near_misses) if isinstance(error, ApiError) else (error, ())
    # Kept, not copied: the body's bytes and Sanic's header map are made anew for each request.
    journal.add(
        request.method,
        request.path,
        body,
        request.body,
        request.headers,
        status,
        mock,
        message,
        api,
        misses,
        delivery,
        matched,
        contract,
        getattr(request.ctx, "mockllm_url_fields", None),
        reply,
    )


async def _models(request: Request, target: str | None = None) -> HTTPResponse:
    """``GET /v1/models[/{id}]`` (and a provider's other model paths), in the shape of the
    provider whose SDK asks."""
    provider = next(p for p in CLAIM_ORDER if p.asks_for_models(request))
    try:
        provider.check_auth(request, None)
        if target is not None:
            body = provider.model_info(unquote(target))  # the SDKs quote a "/" in an id
        else:
            query = {name: values[0] for name, values in request.args.items()}
            body = provider.model_list(model_names(request.app.ctx.served.current()), query)
    except ApiError as exc:
        _journal_refusal(request, exc.status, exc.message)
        return provider.error_response(exc.status, exc.client_message, exc.param)
    return HTTPResponse(orjson.dumps(body), content_type=JSON_TYPE)


def _parse(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise ApiError(400, "The request body is empty; expected a JSON object.")
    if raw.startswith(_BOM):  # the real APIs accept one, as some Windows tools write it
        raw = raw[len(_BOM) :]
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"The request body must be a JSON object, not {type(body).__name__}.")
    return body


def _no_match(
    path: str, mocks: CompiledMocks, body: dict[str, Any], headers: Any, gate: Gate | None
) -> ApiError:
    adapter = mocks.adapter
    message = f"No mock matched POST {path} ({adapter.describe(body)})."
    if not mocks.index.mocks:
        message += f' The config has no "{adapter.spec.key}" mocks.'
    misses = tuple(
        NearMiss(mocks.label(order), tuple(reasons))
        for order, reasons in mocks.index.explain(body, headers, gate)
    )
    return ApiError(404, message, near_misses=misses)


def _provider_of(request: Request) -> Provider:
    """Errors outside an API's routes still take the shape the caller's SDK understands."""
    route = request.route
    if route is not None and isinstance(getattr(route.ctx, "provider", None), Provider):
        provider: Provider = route.ctx.provider
        return provider
    return next(p for p in CLAIM_ORDER if p.owns(request))


_EXACT_ROUTES = frozenset(
    (route.method, route.path)
    for adapter in ADAPTERS.values()
    for route in adapter.routes
    if "<" not in route.path
)


def _sanic_error(request: Request, exc: Exception) -> HTTPResponse:
    status = getattr(exc, "status_code", 500)
    if status >= 500:
        _log.error("error handling %s %s", request.method, request.path, exc_info=exc)
    admin = hasattr(request.app.ctx, "admin_access") and request.path.startswith(ADMIN_PREFIX + "/")
    if admin and isinstance(exc, NotFound | MethodNotAllowed):
        return unknown_admin_route(request.method, request.path)
    if isinstance(exc, NotFound):
        message = f"Unknown route {request.method} {request.path}."
        if (request.method, "/v1" + request.path) in _EXACT_ROUTES:
            message += (
                f" Did you mean {request.method} /v1{request.path}? A client's base URL for this server "
                "ends in /v1."
            )
        message += f" This server answers: {_ROUTES}."
    elif isinstance(exc, MethodNotAllowed):
        message = f"Method {request.method} is not allowed on {request.path}."
    else:
        message = str(exc) or type(exc).__name__
    _journal_refusal(request, status, message)
    return _provider_of(request).error_response(status, message)


def _unexpected_error(request: Request, exc: Exception) -> HTTPResponse:
    # A bug of ours: the client gets a one-line 500, the traceback goes to whoever runs the server,
    # and the journal keeps it, so that a test whose code swallowed the SDK's exception still sees it.
    _log.error("error handling %s %s", request.method, request.path, exc_info=exc)
    message = f"mockllm internal error: {type(exc).__name__}: {exc}"
    _journal_refusal(request, 500, message)
    return _provider_of(request).error_response(500, message)


def _journal_refusal(request: Request, status: int, message: str) -> None:
    """Journal a request no route of an API answered (an unknown route, a body too large, a bug of
    ours), so that strict mode and the report see it too. The admin API's own requests are not the
    code under test's: they are not journaled."""
    journal: Journal = request.app.ctx.journal
    if not journal.enabled or request.path.startswith(ADMIN_PREFIX):
        return
    try:
        body: Any = _parse(request.body)
    except ApiError:
        body = None
    api = getattr(request.route.ctx, "api", None) if request.route is not None else None
    journal.record(
        RecordedRequest(request.method, request.path, body, request.headers, status, None, message, api)
    )
