"""The recording proxy: a request no mock matches is forwarded to the real API, its answer is
passed back to the caller as it arrives, and (when recording) written to a cassette as a new mock.

A cassette is a plain config file: a recorded mock matches the request's last message (or input)
and its ``turn``, and answers with the non-stream answer object (a stream is put back together by
`mockllm.server.reassembly`), so the same mock replays a request with ``stream`` and without.
Credentials are forwarded to the upstream and never written; the file is written whole to a temporary
file and renamed (owner-only permissions) after each exchange, so a recorder killed mid-run keeps
every exchange that completed.

The HTTP client is imported only here, and this module only when a server records or passes
requests through: a plain ``serve`` never loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import uuid4

import orjson
from sanic import HTTPResponse, Request
from sanic.exceptions import RequestCancelled, SanicException

from ..anthropic.provider import ANTHROPIC
from ..apis import API_BY_KEY, ApiKey
from ..config import Config, ConfigError
from ..matching import CREDENTIAL_HEADERS
from ..openai.provider import OPENAI
from ..redaction import redacted_keys
from .adapter import ApiAdapter, MatchStyle
from .compiled import CompiledConfig, CompiledMocks
from .provider import Provider
from .registry import PROVIDERS
from .sanic_internals import abort

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "DEFAULT_ANTHROPIC_UPSTREAM",
    "DEFAULT_OPENAI_UPSTREAM",
    "LOOP_HEADER",
    "Recorder",
    "Recording",
]

DEFAULT_OPENAI_UPSTREAM = OPENAI.default_upstream
DEFAULT_ANTHROPIC_UPSTREAM = ANTHROPIC.default_upstream
LOOP_HEADER = "x-mockllm-forwarded-by"
"""Sent with every forwarded request: the ids of the recorders it went through, so that one that
receives a request carrying its own id (recorders forwarding to each other) refuses it."""

_log = logging.getLogger("mockllm")

# Not forwarded upstream: they describe this connection, not the request. accept-encoding is
# replaced by identity so the stream's bytes pass through readable (and reassemble).
_REQUEST_HOP_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "accept-encoding",
        "te",
        "upgrade",
        "proxy-connection",
        "x-mockllm-chaos",
        LOOP_HEADER,
    }
)
_RESPONSE_HOP_HEADERS = frozenset(
    {"content-length", "connection", "keep-alive", "transfer-encoding", "content-encoding", "content-type"}
)
_KEPT_ERROR_HEADERS = ("retry-after", "retry-after-ms", "x-should-retry")
"""The headers of an upstream error that a recorded error mock keeps: those the SDKs act on."""


@dataclass(frozen=True)
class Recording:
    """How a server forwards requests that no mock matches.

    Args:
        path: the cassette (a config file) recorded exchanges are written to; None passes requests
            through without saving them.
        openai_upstream: the OpenAI base URL, as the SDK takes it (ending in ``/v1``).
        anthropic_upstream: the Anthropic base URL, as the SDK takes it (without ``/v1``).
        match_type: ``exact`` (the recorded last message or input, deep-equal) or ``contains``.
        normalize: write stable ids, ``created`` 0 and no ``system_fingerprint``, so that
            re-recording a conversation changes its cassette only where the answers changed.
        record_errors: record upstream errors (4xx/5xx) as ``error`` mocks; they are passed through
            to the caller either way.
        timeout: seconds to wait for the upstream to connect or send the next bytes.
        fresh: start the cassette over with the first exchange, rather than adding to it.
        openai_api_key: sent to OpenAI in place of the caller's credentials (for tests whose
            clients hold a dummy key).
        anthropic_api_key: sent to Anthropic in place of the caller's credentials, likewise.
        upstreams: the base URLs of the other providers, by provider name (``{"gemini": …}``);
            a provider named in neither gets its real API.
        api_keys: the API keys of the other providers, by provider name, as the two above.
    """

    path: str | Path | None
    openai_upstream: str = DEFAULT_OPENAI_UPSTREAM
    anthropic_upstream: str = DEFAULT_ANTHROPIC_UPSTREAM
    match_type: MatchStyle = "exact"
    normalize: bool = False
    record_errors: bool = False
    timeout: float = 600.0
    fresh: bool = False
    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    upstreams: Mapping[str, str] = field(default_factory=dict)
    api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)

    def upstream(self, provider: Provider) -> str:
        """The base URL a request of ``provider``'s goes to."""
        named = {OPENAI.name: self.openai_upstream, ANTHROPIC.name: self.anthropic_upstream}
        return (
            self.upstreams.get(provider.name) or named.get(provider.name) or provider.default_upstream
        ).rstrip("/")

    def api_key(self, provider: Provider) -> str | None:
        """The API key sent to ``provider``'s upstream in place of the caller's, if any."""
        named = {OPENAI.name: self.openai_api_key, ANTHROPIC.name: self.anthropic_api_key}
        return self.api_keys.get(provider.name) or named.get(provider.name)


def _same_host(a: str, b: str) -> bool:
    loopback = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", ""}
    if a == b or (a in loopback and b in loopback):
        return True
    try:
        return bool(
            {i[4][0] for i in socket.getaddrinfo(a, None)} & {i[4][0] for i in socket.getaddrinfo(b, None)}
        )
    except OSError:
        return False


def _is_base_url(url: str) -> bool:
    """Whether ``url`` is an http(s) URL with a host and, if it gives one, a valid port."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:  # "http://[::1", "http://h:99999", "http://h:abc"
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def points_at(url: str, host: str, port: int) -> bool:
    """Whether ``url`` reaches the server listening on ``host:port``."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        upstream_port = parts.port or default
    except ValueError:
        return False
    return upstream_port == port and _same_host(parts.hostname or "", host)


_CALLER_LEFT = (RequestCancelled, SanicException)
"""What writing to a caller that closed its connection raises: Sanic's cancellation of the request
(a `CancelledError`), or its error for a response whose stream it already detached."""


class Recorder:
    """Forwards unmatched requests for a server and records the exchanges (see `Recording`)."""

    def __init__(self, recording: Recording) -> None:
        for provider in PROVIDERS:
            url = recording.upstream(provider)
            if not _is_base_url(url):
                raise ConfigError(
                    "recording", [(f"{provider.name} upstream", f"expected an http(s) base URL, got {url!r}")]
                )
        self.recording = recording
        self.id = uuid4().hex
        self.recorded: dict[ApiKey, list[Any]] = {spec: [] for spec in API_BY_KEY}  # type: ignore[misc]
        """The mocks recorded by this recorder, which answer a repeated request at once."""
        self._keys: dict[ApiKey, dict[bytes, int]] = {key: {} for key in self.recorded}
        self._compiled = CompiledConfig.of(Config())
        self._client: httpx2.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._write_lock = threading.Lock()
        self._started_over = not recording.fresh
        self._relays: set[asyncio.Task[bool]] = set()
        """Streams being relayed: each outlives its request, see `_relay`."""

    def refuse_self(self, host: str, port: int) -> None:
        """Raise `ConfigError` when an upstream is the server itself (``host:port``)."""
        for provider in PROVIDERS:
            url = self.recording.upstream(provider)
            if points_at(url, host, port):
                problem = f"{url} is this server's own address: it would forward every request to itself"
                raise ConfigError("recording", [(f"{provider.name} upstream", problem)])

    def mocks(self, api: ApiKey) -> CompiledMocks:
        """The mocks recorded so far for ``api``."""
        return self._compiled.apis[api]

    async def aclose(self, *, grace: float = 10.0) -> None:
        """Close the connections to the upstreams, once the streams still being relayed ended (for
        ``grace`` seconds at most), so that a server stopped right after a stream records it."""
        if self._relays:
            await asyncio.wait(set(self._relays), timeout=grace)
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # --- forwarding -------------------------------------------------------------------------------

    def _http(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            import httpx2

            timeout = self.recording.timeout
            self._client = httpx2.AsyncClient(timeout=httpx2.Timeout(timeout), follow_redirects=False)
            self._client_loop = loop
        return self._client

    def _headers(self, request: Request, provider: Provider) -> list[tuple[str, str]]:
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _REQUEST_HOP_HEADERS
        ]
        key = self.recording.api_key(provider)
        if key:
            headers = [(name, value) for name, value in headers if name.lower() not in CREDENTIAL_HEADERS]
            headers += provider.credentials(key)
        headers.append(("accept-encoding", "identity"))
        chain = request.headers.get(LOOP_HEADER)
        headers.append((LOOP_HEADER, f"{chain},{self.id}" if chain else self.id))
        return headers

    async def forward(
        self, request: Request, adapter: ApiAdapter, body: dict[str, Any], answered: Callable[[int], None]
    ) -> HTTPResponse | None:
        """Answer ``request`` with the upstream's answer; returns the response (None when it was
        streamed already). ``answered(status)`` is called once the status is known, before a stream
        is relayed: the caller may leave during it, which ends this request early."""
        import httpx2

        def reply(response: HTTPResponse) -> HTTPResponse:
            answered(response.status)
            return response

        provider = adapter.provider
        if self.id in request.headers.get(LOOP_HEADER, "").split(","):
            message = (
                "mockllm recorder: the request came back to this server: the upstreams forward in a loop"
            )
            return reply(provider.error_response(508, message))
        url = provider.upstream_url(self.recording.upstream(provider), request)
        client = self._http()
        upstream_request = client.build_request(
            "POST", url, content=request.body, headers=self._headers(request, provider)
        )
        try:
            upstream = await client.send(upstream_request, stream=True)
        except httpx2.TimeoutException:
            message = (
                f"mockllm recorder: the upstream {url} did not answer within {self.recording.timeout:g} s"
            )
            return reply(provider.error_response(504, message))
        except httpx2.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            message = f"mockllm recorder: cannot reach the upstream {url}: {reason}"
            return reply(provider.error_response(502, message))
        status = upstream.status_code
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _RESPONSE_HOP_HEADERS}
        content_type = upstream.headers.get("content-type", "application/json")
        if status == 200 and _streamed(adapter, content_type):
            answered(status)
            relay = asyncio.get_running_loop().create_task(
                self._relay(request, upstream, headers, content_type, adapter, body)
            )
            self._relays.add(relay)
            relay.add_done_callback(self._relays.discard)
            # Shielded: the SDKs close the connection at the stream's last event ([DONE]), often
            # before the upstream's stream has ended. That cancels this request; the relay goes on
            # reading the upstream to its end, and records the exchange.
            if not await asyncio.shield(relay):
                # The upstream broke off: the caller sees the broken connection the real API's
                # would show, not a body ended cleanly that its SDK would take for a whole answer.
                abort(request)
            return None
        try:
            try:
                raw = await upstream.aread()
            except httpx2.TimeoutException:
                timeout = self.recording.timeout
                message = f"mockllm recorder: the upstream {url} stopped sending within {timeout:g} s"
                return reply(provider.error_response(504, message))
            except httpx2.TransportError as exc:
                return reply(
                    provider.error_response(502, f"mockllm recorder: the upstream {url} failed: {exc}")
                )
        finally:
            await upstream.aclose()
        self._record(adapter, body, status, raw, upstream.headers, streamed=False)
        return reply(HTTPResponse(raw, status=status, headers=headers, content_type=content_type))

    async def _relay(
        self,
        request: Request,
        upstream: httpx2.Response,
        headers: dict[str, str],
        content_type: str,
        adapter: ApiAdapter,
        body: dict[str, Any],
    ) -> bool:
        """Send the upstream's stream on as each piece arrives, and record it once it completed,
        whether or not the caller stayed to the end. Returns whether the upstream's stream ended
        whole; when it broke off, the caller's body is left unended for `forward` to drop."""
        import httpx2

        pieces: list[bytes] = []
        caller: HTTPResponse | None = None
        try:
            with contextlib.suppress(*_CALLER_LEFT):
                caller = await request.respond(
                    status=upstream.status_code, headers=headers, content_type=content_type
                )
            try:
                async for piece in upstream.aiter_raw():
                    pieces.append(piece)
                    if caller is not None:
                        try:
                            await caller.send(piece)
                        except _CALLER_LEFT:  # the caller left: read on, and record
                            caller = None
            except (httpx2.TimeoutException, httpx2.TransportError) as exc:
                if isinstance(exc, httpx2.TimeoutException):
                    reason = f"the upstream stalled: nothing for {self.recording.timeout:g} s"
                else:
                    reason = redacted_keys(f"{type(exc).__name__}: {exc}".rstrip(": "))
                _log.warning(
                    "recorder: the upstream stream of %s broke off (%s); not recorded", request.path, reason
                )
                return False
            if caller is not None:
                with contextlib.suppress(*_CALLER_LEFT):
                    await caller.send(b"", end_stream=True)
        finally:
            await upstream.aclose()
        self._record(adapter, body, upstream.status_code, b"".join(pieces), upstream.headers, streamed=True)
        return True

    # --- recording --------------------------------------------------------------------------------

    def _record(
        self,
        adapter: ApiAdapter,
        body: dict[str, Any],
        status: int,
        raw: bytes,
        headers: Any,
        *,
        streamed: bool,
    ) -> None:
        recording = self.recording
        if recording.path is None:
            return
        api = adapter.spec.key
        try:
            match = adapter.recorded_match(body, recording.match_type)
            if status == 200:
                if streamed and adapter.streaming is not None:
                    answer = adapter.streaming.reassemble(raw)
                else:
                    answer = orjson.loads(raw)
                if not isinstance(answer, dict):
                    _log.warning(
                        "recorder: the answer to %s was incomplete; not recorded", adapter.spec.title
                    )
                    return
                answer = adapter.recorded_answer(answer)
                if recording.normalize:
                    answer = _normalized(adapter, answer, match)
                mock: dict[str, Any] = {"match": match, "response": answer}
            elif status >= 400 and recording.record_errors:
                mock = {"match": match, "error": _error_reply(status, raw, headers)}
            else:
                return
            self._add(api, mock)
        except (orjson.JSONDecodeError, ConfigError, ValueError) as exc:
            # The reason may quote the upstream's answer.
            reason = redacted_keys(str(exc))
            _log.warning("recorder: an exchange of %s was not recorded: %s", adapter.spec.title, reason)

    def _add(self, api: ApiKey, mock: dict[str, Any]) -> None:
        key = orjson.dumps(mock["match"], option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(key).hexdigest()[:8]
        mock = {"name": f"recorded {api} {digest}", **mock}
        config = Config.from_dict({api: [mock]}, source="the recorded exchange")  # a mock that loads
        # ... and that serves (an upstream may answer what no mock could): checked before anything
        # is written or kept, so one odd answer spoils neither the cassette nor later recordings.
        CompiledConfig.of(config, source="the recorded exchange")
        with self._write_lock:
            self._write(api, mock, key)
            mocks, keys = self.recorded[api], self._keys[api]
            model = config.mocks(api)[0]
            if key in keys:
                mocks[keys[key]] = model
            else:
                keys[key] = len(mocks)
                mocks.append(model)
            self._compiled = CompiledConfig.of(Config.of(self.recorded), source="recorded mocks")

    def _write(self, api: ApiKey, mock: dict[str, Any], key: bytes) -> None:
        """Read the cassette, put ``mock`` in (in place of a mock with the same match), and write it
        back whole through a temporary file, readable by the owner only."""
        path = Path(self.recording.path)  # type: ignore[arg-type]
        data: dict[str, Any] = {}
        if self._started_over and path.exists() and path.stat().st_size:
            loaded = orjson.loads(path.read_bytes())
            if not isinstance(loaded, dict):
                raise ValueError(f"{path} is not a config file (a JSON object)")
            data = loaded
        self._started_over = True
        mocks = data.setdefault(api, [])
        for i, existing in enumerate(mocks):
            if (
                isinstance(existing, dict)
                and orjson.dumps(existing.get("match"), option=orjson.OPT_SORT_KEYS) == key
            ):
                mocks[i] = mock
                break
        else:
            mocks.append(mock)
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
        directory = path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _streamed(adapter: ApiAdapter, content_type: str) -> bool:
    """Whether an upstream answer of ``content_type`` is one of the API's streams."""
    streaming = adapter.streaming
    if streaming is None:
        return False
    return content_type.startswith(streaming.media(streaming.shortest)[0])


def _error_reply(status: int, raw: bytes, headers: Any) -> dict[str, Any]:
    """An upstream error as a mock's ``error``: its status, the type and message of its body (keys
    in them redacted), and the headers the SDKs act on."""
    reply: dict[str, Any] = {"status": status}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        # Providers echo part of a wrong key in the message: the cassette keeps the words, not the key.
        for field in ("type", "message"):
            if isinstance(error.get(field), str):
                reply[field] = redacted_keys(error[field])
    kept = {name: headers[name] for name in _KEPT_ERROR_HEADERS if name in headers}
    if kept:
        reply["headers"] = kept
    return reply


def _normalized(adapter: ApiAdapter, answer: dict[str, Any], match: dict[str, Any]) -> dict[str, Any]:
    """``answer`` without what changes from one call to the next: its id is made from the match,
    ``created`` is 0, ``system_fingerprint`` is gone. Ids of tool calls and output items stay, as
    the next request of a conversation sends them back and its recorded match holds them."""
    answer = dict(answer)
    answer.pop("system_fingerprint", None)
    for key in ("created", "created_at"):
        if key in answer:
            answer[key] = 0
    field = adapter.id_field
    if adapter.id_prefix is not None and field in answer:
        digest = hashlib.sha256(orjson.dumps(match, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]
        answer[field] = adapter.id_prefix + digest
    return answer
