"""The admin HTTP API under ``/__mockllm/``: mocks, the journal, scenarios and reset, for test
suites in any language. `mockllm.server.admin_openapi` describes it.

JSON in, JSON out. A bad request gets a 400 naming the JSON path of each problem and changes
nothing. Without a token only loopback clients may use it; with one, any client that sends it as
``Authorization: Bearer <token>``. The provider routes are never behind the token.

A browser on this machine is a loopback client too, and runs any site's pages: the admin API
refuses what only a page on another site would send. A request whose ``Origin`` is not the
server's own is refused (a page the server serves itself passes); a write whose body is not
``application/json`` is refused, as that is the one type a cross-site page cannot send without
asking first (and the server never says yes); without a token, a ``Host`` that is not this
machine's name (a DNS-rebound site's) is refused.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from sanic import HTTPResponse, Request, Sanic

from ..apis import API_BY_KEY
from ..config import Config, ConfigError
from .added_mocks import labelled
from .events import event_feed, writable_entry
from .journal import Journal
from .runtime import Runtime
from .served import ServedMocks
from .state import StateSnapshot, StoreDown

__all__ = ["ADMIN_PREFIX", "AdminAccess", "add_admin_routes", "is_loopback", "unknown_admin_route"]

ADMIN_PREFIX = "/__mockllm"
_JSON = "application/json"
_BODY_SOURCE = "request body"

AdminHandler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


@dataclass(frozen=True)
class AdminAccess:
    """Who may use the admin API."""

    token: str | None = None
    """Required as ``Authorization: Bearer <token>``; None lets loopback clients in, and only them."""
    refusal: str | None = None
    """Why the admin API cannot answer at all (409), such as ``mockllm serve --workers 4``."""
    host: str = "127.0.0.1"
    """The address the server listens on: a ``Host`` that names it is this machine's."""


class AdminError(Exception):
    def __init__(self, status: int, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems

    def response(self) -> HTTPResponse:
        error: dict[str, Any] = {"message": self.message}
        if self.problems is not None:
            error["problems"] = _listed(self.problems)
        headers = {"www-authenticate": 'Bearer realm="mockllm admin"'} if self.status == 401 else None
        return HTTPResponse(
            _json_bytes({"error": error}), status=self.status, headers=headers, content_type=_JSON
        )


def is_loopback(address: str) -> bool:
    """Whether ``address`` (a client's IP) is on this machine: 127.0.0.0/8, ``::1``, or an
    IPv4-mapped ``::ffff:127.x.x.x``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _host_name(host: str) -> str:
    """The name in a ``Host`` header, without its port: ``[::1]:8787`` → ``::1``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


def _check_origin(request: Request) -> None:
    """Refuse a request that a page of another site sent: its ``Origin`` is not the scheme and
    ``Host`` the request was sent to. A page the server serves itself is of the same origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    try:
        parts = urlsplit(origin)
    except ValueError:
        parts = None
    if parts is not None and parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower():
        return
    raise AdminError(
        403,
        f"The admin API refuses cross-site requests: the request came from a page of {origin!r}, not "
        f"of this server ({'http://' + host if host else 'no Host was sent'}). Call it from a test "
        "process, or from a page this server serves.",
    )


def _check_host(request: Request, access: AdminAccess) -> None:
    """Refuse a request addressed to a name that is not this machine's: a site whose name was
    pointed at 127.0.0.1 after its page loaded (DNS rebinding) sends its own name."""
    host = request.headers.get("host")
    if host is None:  # HTTP/1.0 may leave it out; a browser never does
        return
    name = _host_name(host).lower()
    if name in ("localhost", access.host.lower()) or is_loopback(name):
        return
    raise AdminError(
        403,
        f"The admin API answers requests addressed to this machine only (localhost, 127.0.0.1, [::1] "
        f"or {access.host}), and Host {host!r} is none of them. To call it by another name, start the "
        "server with --admin-token TOKEN and send 'Authorization: Bearer TOKEN'.",
    )


def _check_json(request: Request) -> None:
    """Refuse a body that is not ``application/json``: the types a page may send to any site
    without asking first (``text/plain``, forms) never change the mocks."""
    if not request.body:
        return
    given = request.headers.get("content-type", "")
    if given.partition(";")[0].strip().lower() != _JSON:
        sent = f"came as {given!r}" if given else "came with no Content-Type"
        raise AdminError(
            415,
            f"The admin API takes JSON: send the body with 'Content-Type: application/json' "
            f"(this one {sent}).",
        )


def _check_access(request: Request, access: AdminAccess) -> None:
    _check_origin(request)
    token = access.token
    if token is None:
        if not is_loopback(request.ip):
            raise AdminError(
                403,
                f"The admin API answers loopback clients only, and {request.ip} is not one: "
                "start the server with --admin-token TOKEN (MockServer(admin_token=...)) and send "
                "'Authorization: Bearer TOKEN' to use it from elsewhere.",
            )
        _check_host(request, access)
    else:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # Header bytes that are not UTF-8 arrive as lone surrogates, as do such bytes of a token
        # given on the command line: "surrogatepass" compares them.
        sent, wanted = (text.encode("utf-8", "surrogatepass") for text in (given.strip(), token))
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent, wanted):
            what = "a wrong" if given else "no"
            raise AdminError(
                401,
                f"The admin API needs 'Authorization: Bearer <the --admin-token>'; {what} token was sent.",
            )
    if access.refusal is not None:
        raise AdminError(409, access.refusal)


def _reply(data: Any, status: int = 200) -> HTTPResponse:
    return HTTPResponse(_json_bytes(data), status=status, content_type=_JSON)


def _json_bytes(data: Any) -> bytes:
    """An admin answer's JSON, ending in a newline as a command-line client expects."""
    return orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE)


def unknown_admin_route(method: str, path: str) -> HTTPResponse:
    """The 404 (in the admin API's error shape) of a path under ``/__mockllm/`` that is none of its
    routes, listing them."""
    from .admin_openapi import openapi_paths  # only read when asked, as the document is

    routes = ", ".join(
        f"{verb.upper()} {route}" for route, verbs in openapi_paths().items() for verb in verbs
    )
    return AdminError(
        404, f"Unknown admin route {method} {path}. The admin API answers: {routes}."
    ).response()


def _query(request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query parameters, one value each; an unknown one (a typo) is a 400."""
    args = request.args
    for key in args:
        if key not in allowed:
            known = ", ".join(allowed) or "none"
            raise AdminError(
                400, f"unknown query parameter {key!r} (known: {known})", [(f"?{key}", "unknown")]
            )
    return {key: args.get(key, "") for key in allowed if key in args}


def _config_of(request: Request) -> Config:
    try:
        return Config.from_json(request.body or b"", source=_BODY_SOURCE)
    except ConfigError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ConfigError) -> AdminError:
    count = len(exc.problems)
    return AdminError(
        400,
        f"The config in the request body is invalid ({count} problem{'s' if count != 1 else ''}); "
        "nothing was changed.",
        exc.problems,
    )


def _listed(problems: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Problems as the admin API lists them (its errors' ``problems`` too)."""
    return [{"path": path, "message": message} for path, message in problems]


def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(request.body or b"")
    except orjson.JSONDecodeError as exc:
        raise AdminError(400, "The request body is not valid JSON.", [("$", str(exc))]) from None
    if not isinstance(body, dict):
        raise AdminError(400, "The request body must be a JSON object.", [("$", "expected a JSON object")])
    return body


View = Runtime | StateSnapshot
"""Call counts and scenario states as the admin API shows them: the process's, or the store's."""


async def _view(served: ServedMocks) -> View:
    """The counts and states to show: read from the store when the server shares one."""
    store = served.state
    if store is None:
        return served.runtime
    return await store.snapshot(served.current().apis.values())


def _mock_entry(runtime: View, api: str, label: str, mock: Any) -> dict[str, Any]:
    scenario = mock.scenario
    return {
        "api": api,
        "name": label,
        "calls": runtime.calls(mock),
        "scenario": None if scenario is None else {"name": scenario, "state": runtime.state(scenario)},
        "mock": mock.model_dump(mode="json", exclude_defaults=True),
    }


def add_admin_routes(app: Sanic[Any, Any], access: AdminAccess) -> None:
    """Register the admin API on ``app`` (whose ``ctx`` holds ``served`` and ``journal``)."""
    app.ctx.admin_access = access

    def route(handler: AdminHandler, path: str, method: str) -> None:
        async def guarded(request: Request, **params: Any) -> HTTPResponse:
            try:
                _check_access(request, request.app.ctx.admin_access)
                _check_json(request)
                # A label such as "openai[0]" arrives URL-encoded.
                names = {key: unquote(value) for key, value in params.items()}
                return await handler(request, request.app.ctx.served, **names)
            except AdminError as exc:
                return exc.response()
            except StoreDown as exc:
                return AdminError(503, str(exc)).response()

        name = f"admin_{method.lower()}_{handler.__name__.lstrip('_')}"
        guarded.__name__ = name
        app.add_route(guarded, ADMIN_PREFIX + path, methods=[method], name=name, error_format="json")

    # --- mocks --------------------------------------------------------------------------------

    async def mocks(request: Request, served: ServedMocks) -> HTTPResponse:
        query = _query(request, ("calls",))
        config = served.current().config
        if query.get("calls", "false") not in ("true", "false", "1", "0"):
            raise AdminError(400, "calls must be true or false", [("?calls", "expected true or false")])
        if query.get("calls") in ("true", "1"):
            view = await _view(served)
            entries = [_mock_entry(view, api, label, mock) for api, _, label, mock in labelled(config)]
            return _reply({"mocks": entries})
        return HTTPResponse(config.to_json(indent=False).encode() + b"\n", content_type=_JSON)

    # A change is read and compiled off the event loop (a posted config may hold thousands of mocks
    # and take seconds), while the server goes on answering; it is swapped in on the loop.

    async def add(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        config = await asyncio.to_thread(_config_of, request)
        try:
            warnings = await served.add_off_loop(config)
        except ConfigError as exc:
            raise _invalid(exc) from None
        return _reply({"mocks": served.current().counts(), "warnings": _listed(warnings)})

    async def replace(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        config = await asyncio.to_thread(_config_of, request)
        try:
            warnings = await served.replace_off_loop(config)
        except ConfigError as exc:
            raise _invalid(exc) from None
        return _reply({"mocks": served.current().counts(), "warnings": _listed(warnings)})

    async def clear(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        await served.clear_off_loop()
        return _reply({"mocks": served.current().counts()})

    route(mocks, "/mocks", "GET")
    route(add, "/mocks", "POST")
    route(replace, "/mocks", "PUT")
    route(clear, "/mocks", "DELETE")

    async def mock(request: Request, served: ServedMocks, name: str) -> HTTPResponse:
        _query(request, ())
        for api, _, label, found in labelled(served.current().config):
            if label == name:
                return _reply(_mock_entry(await _view(served), api, label, found))
        raise AdminError(404, f"No mock is named {name!r}.")

    async def remove(request: Request, served: ServedMocks, name: str) -> HTTPResponse:
        _query(request, ())
        removed = await served.remove_off_loop(name)
        if not removed:
            raise AdminError(404, f"No mock is named {name!r}.")
        return _reply({"removed": removed, "mocks": served.current().counts()})

    route(mock, "/mocks/<name:path>", "GET")
    route(remove, "/mocks/<name:path>", "DELETE")

    # --- the journal ----------------------------------------------------------------------------

    async def requests(request: Request, served: ServedMocks) -> HTTPResponse:
        query = _query(request, ("api", "mock", "status"))
        journal = _journal(request)
        api, label, status_text = query.get("api"), query.get("mock"), query.get("status")
        if api is not None and api not in API_BY_KEY:
            known = ", ".join(API_BY_KEY)
            raise AdminError(
                400, f"unknown api {api!r} (known: {known})", [("?api", f"expected one of {known}")]
            )
        status: int | None = None
        if status_text is not None:
            try:
                status = int(status_text)
            except ValueError:
                raise AdminError(
                    400,
                    f"status must be an HTTP status code, got {status_text!r}",
                    [("?status", "expected an integer")],
                ) from None
        kept = (
            [entry.as_json() for entry in journal] if served.state is None else await served.state.journal()
        )
        entries = [
            entry
            for entry in kept
            if (api is None or entry["api"] == api)
            and (label is None or entry["mock"] == label)
            and (status is None or entry["status"] == status)
        ]
        try:
            return _reply({"requests": entries})
        except orjson.JSONEncodeError:
            # orjson parses JSON nested deeper than it writes, and a mock may answer such a body.
            return _reply({"requests": [writable_entry(entry) for entry in entries]})

    async def forget(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        journal = _journal(request)
        removed = len(journal)
        journal.clear()
        if served.state is not None:
            removed = await served.state.clear_journal()
        return _reply({"removed": removed})

    route(requests, "/requests", "GET")
    route(forget, "/requests", "DELETE")

    # --- scenarios and reset --------------------------------------------------------------------

    async def scenarios(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        return _reply(_scenarios(served, await _view(served)))

    async def set_scenario(request: Request, served: ServedMocks, name: str) -> HTTPResponse:
        _query(request, ())
        body = _json_object(request)
        problems = [
            (f"$.{key}", 'unknown key; the body is {"state": "..."}') for key in body if key != "state"
        ]
        state = body.get("state")
        if "state" not in body:
            problems.append(("$.state", 'missing required key "state"'))
        elif not isinstance(state, str) or not state:
            problems.append(
                ("$.state", f"expected a non-empty string, got {orjson.dumps(state).decode()[:60]}")
            )
        if problems:
            raise AdminError(
                400, "The scenario state in the request body is invalid; nothing was changed.", problems
            )
        if name not in _scenarios(served, await _view(served)):
            raise AdminError(404, f"No mock has the scenario {name!r}.")
        if served.state is None:
            served.runtime.set_state(name, str(state))
        else:
            await served.state.set_state(name, str(state))
        return _reply({name: state})

    async def reset(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        await served.reset_off_loop()
        return _reply({"mocks": served.current().counts()})

    route(scenarios, "/scenarios", "GET")
    route(set_scenario, "/scenarios/<name:path>", "PUT")
    route(reset, "/reset", "POST")

    async def openapi(request: Request, served: ServedMocks) -> HTTPResponse:
        from .admin_openapi import openapi_document  # only read when asked: the config schema is large

        return HTTPResponse(openapi_document(), content_type=_JSON)

    route(openapi, "/openapi.json", "GET")

    # --- the trace viewer -----------------------------------------------------------------------

    async def ui(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        from .trace_page import viewer_page  # only read when asked

        return HTTPResponse(viewer_page(), content_type="text/html; charset=utf-8")

    async def events(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        _journal(request)
        return await event_feed(request).serve(request)

    async def mock_this(request: Request, served: ServedMocks) -> HTTPResponse:
        _query(request, ())
        body = _json_object(request)
        api, sent = body.get("api"), body.get("body")
        if not isinstance(api, str) or api not in API_BY_KEY:
            known = ", ".join(API_BY_KEY)
            raise AdminError(400, "The request body needs the request's api.", [("$.api", f"one of {known}")])
        # The one route that reaches the builders: a suggestion is builder code, and the JSON
        # beside it is what that code builds.
        from ..mock_this import suggest_mock

        try:
            suggestion = await asyncio.to_thread(suggest_mock, api, sent)
        except ValueError as exc:
            raise AdminError(422, f"No mock to suggest for this request: {exc}.") from None
        return _reply(suggestion.as_json())

    route(ui, "/ui", "GET")
    route(events, "/events", "GET")
    route(mock_this, "/mock-this", "POST")


def _journal(request: Request) -> Journal:
    journal: Journal = request.app.ctx.journal
    if not journal.enabled:
        raise AdminError(409, "The journal is off (mockllm serve --journal-size 0): no requests are kept.")
    return journal


def _scenarios(served: ServedMocks, runtime: View) -> dict[str, str]:
    """Every scenario a served mock names, and any that was given a state, with its state."""
    names = {
        mock.scenario for _, _, _, mock in labelled(served.current().config) if mock.scenario is not None
    }
    names.update(runtime.scenarios)
    return {name: runtime.state(name) for name in sorted(names)}
