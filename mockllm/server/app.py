"""The Sanic application: routes, auth presence checks, body parsing and provider-shaped errors.

The request path is: read the body once with orjson, check it, find the mock through the API's
index, write the bytes prepared at config load. No pydantic runs per request. A mock with ``timing``
or ``fault`` is written over time instead, by `mockllm.server.writer`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Hashable
from time import perf_counter
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote
from uuid import uuid4

import orjson
from sanic import HTTPResponse, Request, Sanic
from sanic.exceptions import MethodNotAllowed, NotFound, SanicException

from ..apis import Provider
from ..config import MAX_DELAY_MS
from ..matching import Refusal
from .admin import AdminAccess, add_admin_routes
from .anthropic_messages import count_tokens, validate_prompt
from .azure import AZURE_API_KEY_HEADER, AzureRoute, azure_routes
from .chaos import CHAOS_HEADER, ChaosDice, Strike, answer_strike
from .compiled import HANDLERS, CompiledMocks
from .errors import ApiError, error_body
from .handler import ApiHandler, MockedError, PreparedError, Timed, TimedResponse
from .journal import Delivery, Journal, NearMiss, RecordedRequest
from .models import model_info, model_list, model_names
from .sanic_internals import new_app
from .served import ServedMocks
from .sse import SSE_HEADERS, SSE_TYPE
from .writer import write_timed

if TYPE_CHECKING:
    from .recorder import Recorder

__all__ = ["MAX_BODY_BYTES", "UPSTREAM", "create_app"]

UPSTREAM = "<upstream>"
"""The journal's label of a request a recorder answered from the upstream."""

MAX_BODY_BYTES = 32 * 1024 * 1024
JSON_TYPE = "application/json"
_BOM = b"\xef\xbb\xbf"
_ROUTES = ", ".join(
    [f"POST {h.spec.route}" for h in HANDLERS.values()]
    + [f"POST {azure.shown}" for h in HANDLERS.values() for azure in azure_routes(h.spec)]
    + ["POST /v1/messages/count_tokens", "GET /v1/models", "GET /v1/models/{id}", "GET /health"]
)

Handler = Callable[[Request], Coroutine[Any, Any, HTTPResponse | None]]

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
) -> Sanic[Any, Any]:
    """A fresh app that answers with ``served``'s mocks as they are at each request.

    ``touchup``: see `new_app`; only ``mockllm serve``, the one app of its process, asks for it.
    ``chaos``: the server's chaos rates and draws (none by default; the request header still works).
    ``admin``: serve the admin API under ``/__mockllm/`` to these clients (None: no admin API).
    ``recorder``: forwards the requests no mock matches (see `mockllm.server.recorder`); a server
    sets ``app.ctx.recorder`` to change it while it runs.
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

    # error_format spares Sanic reading each handler's source to guess it (a third of a start).
    app.ctx.api_of_route = {}  # route name -> the config key of its API, for `_unexpected_error`
    for handler in HANDLERS.values():
        spec = handler.spec
        app.add_route(_route(handler, dice), spec.route, methods=["POST"], name=spec.key, error_format="json")
        app.ctx.api_of_route[spec.key] = spec.key
        for i, azure in enumerate(azure_routes(spec)):
            route, name = _route(handler, dice, azure), f"{spec.key}_azure{i}"
            app.add_route(route, azure.path, methods=["POST"], name=name, error_format="json")
            app.ctx.api_of_route[name] = spec.key

    async def health(request: Request) -> HTTPResponse:
        counts = request.app.ctx.served.current().counts()
        body = {"status": "healthy", "service": "mock-llm", **counts}
        return HTTPResponse(orjson.dumps(body), content_type=JSON_TYPE)

    # HEAD gets GET's headers without the body (Sanic drops the body of a HEAD response).
    app.add_route(health, "/health", methods=["GET", "HEAD"], name="health", error_format="json")
    app.add_route(_models, "/v1/models", methods=["GET"], name="models", error_format="json")
    app.add_route(_models, "/v1/models/<model_id:path>", methods=["GET"], name="model", error_format="json")
    app.add_route(
        _count_tokens, "/v1/messages/count_tokens", methods=["POST"], name="count_tokens", error_format="json"
    )
    if admin is not None:
        add_admin_routes(app, admin)
    app.error_handler.add(SanicException, _sanic_error)
    app.error_handler.add(Exception, _unexpected_error)
    return app


def _route(handler: ApiHandler, dice: ChaosDice, azure: AzureRoute | None = None) -> Handler:
    """The route of an API; ``azure``: on one of Azure OpenAI's URLs of it."""
    key, provider = handler.spec.key, handler.spec.provider
    on_azure = azure is not None

    # Sanic passes a route's parameters (an Azure deployment) as keywords: request.match_info has them.
    async def handle(request: Request, **_params: str) -> HTTPResponse | None:
        journal: Journal = request.app.ctx.journal
        body: Any = None
        try:
            _check_auth(request, provider, on_azure)
            body = _parse(request.body)
            if azure is not None:
                body = azure.request_body(request, body)
            handler.validate(body)
            served: ServedMocks = request.app.ctx.served
            mocks: CompiledMocks = served.current().apis[key]
            runtime = served.runtime
            refusal = runtime.refusal if mocks.stateful else None
            headers = request.headers
            try:
                position = mocks.index.find(body, headers, refusal)
                if position is None:
                    recorder: Recorder | None = request.app.ctx.recorder
                    # Azure's URLs name a deployment, which an OpenAI base URL has no place for.
                    if recorder is None or on_azure:
                        raise _no_match(request.path, mocks, body, headers, refusal)
                    # A request recorded already is answered by its new mock; any other goes upstream.
                    mocks = recorder.mocks(key)
                    position = mocks.index.find(body, headers, None)
                    if position is None:
                        return await _forward(request, recorder, handler, body)
            except (RecursionError, orjson.JSONEncodeError) as exc:
                # orjson parses deeper JSON than it (or recursive matching) can walk back. Any other
                # TypeError is a bug of ours and must surface as one, not as a 400.
                if isinstance(exc, orjson.JSONEncodeError) and "Recursion limit" not in str(exc):
                    raise
                raise ApiError(400, "The request body is nested too deeply.") from None
            variant = handler.variant(body)
            # Without server-wide chaos, one header lookup is all a request pays for it.
            if dice.rates is not None or CHAOS_HEADER in headers:
                strike = dice.roll(headers.get(CHAOS_HEADER))
                if strike is not None:  # not counted: a retry finds the mock as this request did
                    return await _answer_strike(request, strike, body, variant, handler, mocks, position)
            special: PreparedError | TimedResponse | None = None
            try:
                data = mocks.answer(position).render(body.get("model"), variant)
            except (MockedError, Timed) as raised:
                # An error mock, or one answered over time, raises from render (see handler.py).
                # Answered after this block: inside it, the exception and its traceback's frames
                # would live as long as a paced stream, and be the context of any error in it.
                special = raised.answer
            runtime.answered(mocks.index.mocks[position])
            if special is not None:
                return await _answer_special(request, special, body, variant, handler, mocks, position)
        except ApiError as exc:
            if journal.enabled:
                _record(journal, request, body, exc.status, None, key, exc)
            return _error_response(provider, exc.status, exc.client_message, exc.param)
        if journal.enabled:
            _record(
                journal, request, body, 200, mocks.label(position), key, matched=mocks.index.mocks[position]
            )
        if handler.is_stream(variant):
            return HTTPResponse(data, content_type=SSE_TYPE, headers=SSE_HEADERS)
        return HTTPResponse(data, content_type=JSON_TYPE)

    handle.__name__ = f"handle_{key}"
    return handle


async def _forward(
    request: Request, recorder: Recorder, handler: ApiHandler, body: dict[str, Any]
) -> HTTPResponse | None:
    """Answer with the upstream's answer; journalled under the label `UPSTREAM` (not unmatched)."""
    journal: Journal = request.app.ctx.journal

    def answered(status: int) -> None:
        if journal.enabled:
            _record(journal, request, body, status, UPSTREAM, handler.spec.key)

    return await recorder.forward(request, handler, body, answered)


async def _answer_special(
    request: Request,
    answer: PreparedError | TimedResponse,
    body: dict[str, Any],
    variant: Hashable,
    handler: ApiHandler,
    mocks: CompiledMocks,
    position: int,
) -> HTTPResponse | None:
    """Answer with an error mock or a mock with ``timing`` or ``fault``. It was counted when it
    matched and is journalled now, before it is written: a concurrent request must already see a
    ``times`` used up, and the journal shows a request while it is answered."""
    started = perf_counter()
    journal: Journal = request.app.ctx.journal
    key, provider = handler.spec.key, handler.spec.provider
    label, matched = mocks.label(position), mocks.index.mocks[position]
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
                matched=matched,
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
            delivery=delivery,
            started=started,
        )
    paced, model = answer, body.get("model")
    delivery = Delivery()
    if journal.enabled:
        _record(journal, request, body, 200, label, key, delivery=delivery, matched=matched)
    content: bytes | list[bytes]
    if handler.is_stream(variant):
        content, delivery.events_total = paced.events(model, variant)
        content_type, headers = SSE_TYPE, SSE_HEADERS
    else:
        content, content_type, headers = paced.answer.render(model, variant), JSON_TYPE, None
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
    handler: ApiHandler,
    mocks: CompiledMocks,
    position: int,
) -> HTTPResponse | None:
    """Chaos fails a matched request: journalled with the mock that matched, and ``fault`` saying
    how chaos failed it."""
    journal: Journal = request.app.ctx.journal
    delivery = Delivery(fault=strike.kind)
    if journal.enabled:
        status, label = strike.status(handler.spec.provider), mocks.label(position)
        _record(
            journal,
            request,
            body,
            status,
            label,
            handler.spec.key,
            strike.error,
            delivery=delivery,
            matched=mocks.index.mocks[position],
        )
    answer = mocks.answer(position)
    return await answer_strike(request, strike, handler, answer, body.get("model"), variant, delivery)


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
) -> None:
    """Journal a request: ``error`` is why it was refused, or an error mock's message; ``matched``
    the mock that answered (the model itself, for `MockHandle.calls`)."""
    message, misses = (error.message, error.near_misses) if isinstance(error, ApiError) else (error, ())
    # Kept, not copied: the parsed body and Sanic's header map are made anew for each request.
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
    )


async def _models(request: Request, model_id: str | None = None) -> HTTPResponse:
    """``GET /v1/models[/{id}]``: a request with an ``anthropic-version`` header is Anthropic's."""
    provider: Provider = "anthropic" if "anthropic-version" in request.headers else "openai"
    try:
        _check_auth(request, provider)
        if model_id is not None:
            body = model_info(provider, unquote(model_id))  # the SDKs quote a "/" in an id
        else:
            query = {name: values[0] for name, values in request.args.items()}
            body = model_list(provider, model_names(request.app.ctx.served.current()), query)
    except ApiError as exc:
        return _error_response(provider, exc.status, exc.client_message, exc.param)
    return HTTPResponse(orjson.dumps(body), content_type=JSON_TYPE)


async def _count_tokens(request: Request) -> HTTPResponse:
    """``POST /v1/messages/count_tokens``: the estimate behind the usage the server fills in."""
    try:
        _check_auth(request, "anthropic")
        body = _parse(request.body)
        validate_prompt(body)
        try:
            tokens = count_tokens(body)
        except orjson.JSONEncodeError:
            # The estimate serialises blocks and tools; orjson parses deeper JSON than it writes.
            raise ApiError(400, "The request body is nested too deeply.") from None
    except ApiError as exc:
        return _error_response("anthropic", exc.status, exc.client_message, exc.param)
    return HTTPResponse(orjson.dumps({"input_tokens": tokens}), content_type=JSON_TYPE)


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _check_auth(request: Request, provider: Provider, azure: bool = False) -> None:
    """``azure``: on Azure OpenAI's routes, which take an ``api-key`` header as well."""
    if provider == "openai":
        if not _bearer(request) and not (azure and request.headers.get(AZURE_API_KEY_HEADER)):
            wanted = (
                "an 'api-key' or 'Authorization: Bearer' header"
                if azure
                else "an 'Authorization: Bearer <any key>' header"
            )
            raise ApiError(401, f"Missing API key: send {wanted} (any key works).")
        return
    if not (request.headers.get("x-api-key") or _bearer(request)):
        raise ApiError(401, "Missing API key: send an 'x-api-key' or 'Authorization: Bearer' header.")
    if not request.headers.get("anthropic-version"):
        raise ApiError(400, "anthropic-version: header is required")


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
    path: str, mocks: CompiledMocks, body: dict[str, Any], headers: Any, refusal: Refusal | None
) -> ApiError:
    handler = mocks.handler
    message = f"No mock matched POST {path} ({handler.describe(body)})."
    if not mocks.index.mocks:
        message += f' The config has no "{handler.spec.key}" mocks.'
    misses = tuple(
        NearMiss(mocks.label(position), tuple(reasons))
        for position, reasons in mocks.index.explain(body, headers, refusal)
    )
    return ApiError(404, message, near_misses=misses)


def _error_response(provider: Provider, status: int, message: str, param: str | None = None) -> HTTPResponse:
    return HTTPResponse(error_body(provider, status, message, param), status=status, content_type=JSON_TYPE)


def _provider_of(request: Request) -> Provider:
    """Errors outside an API handler still take the shape the caller's SDK understands."""
    if request.path.startswith("/v1/messages") or "anthropic-version" in request.headers:
        return "anthropic"
    return "openai"


def _sanic_error(request: Request, exc: Exception) -> HTTPResponse:
    status = getattr(exc, "status_code", 500)
    if status >= 500:
        _log.error("error handling %s %s", request.method, request.path, exc_info=exc)
    if isinstance(exc, NotFound):
        message = f"Unknown route {request.method} {request.path}. This server answers: {_ROUTES}."
    elif isinstance(exc, MethodNotAllowed):
        message = f"Method {request.method} is not allowed on {request.path}."
    else:
        message = str(exc) or type(exc).__name__
    return _error_response(_provider_of(request), status, message)


def _unexpected_error(request: Request, exc: Exception) -> HTTPResponse:
    # A bug of ours: the client gets a one-line 500, the traceback goes to whoever runs the server,
    # and the journal keeps it, so that a test whose code swallowed the SDK's exception still sees it.
    _log.error("error handling %s %s", request.method, request.path, exc_info=exc)
    message = f"mockllm internal error: {type(exc).__name__}: {exc}"
    journal: Journal = request.app.ctx.journal
    if journal.enabled:
        try:
            body: Any = _parse(request.body)
        except ApiError:
            body = None
        # Sanic names a route "<app>.<name>".
        route = request.route.name.rpartition(".")[2] if request.route is not None else ""
        api = request.app.ctx.api_of_route.get(route)
        record = RecordedRequest(request.method, request.path, body, request.headers, 500, None, message, api)
        journal.record(record)
    return _error_response(_provider_of(request), 500, message)
