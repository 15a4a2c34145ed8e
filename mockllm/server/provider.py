"""What the APIs of one provider share, and the routes an API is served on.

A `Provider` (OpenAI, Anthropic, Google's Gemini, …) owns every decision that is the same for all
of its APIs: how a client authenticates, the shape of an error and the type that goes with a
status, its overloaded answer, the shape of its model list, where its real API lives (for record
and replay) and the environment variables that point its SDK at a server. The cross-cutting parts
of the server (routing, faults, chaos, the recorder, the fixtures) ask it; none of them branches on
a provider's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from sanic import HTTPResponse, Request

from ..apis import ProviderName
from ..matching import printable

__all__ = ["JSON_TYPE", "Endpoint", "IntoRequest", "Provider", "Route", "bearer"]

JSON_TYPE = "application/json"

IntoRequest = Callable[[Request, dict[str, Any]], dict[str, Any]]
"""Maps what a URL carries (a model, a deployment) into the request the matchers and the answer
read; raises `ApiError` for a URL the real API refuses."""


@dataclass(frozen=True)
class Route:
    """One URL an API is served on."""

    path: str
    """The Sanic route. A route with an `action` ends in ``<target:path>``: a model and a Google
    custom method (``gemini-2.0-flash:generateContent``)."""
    shown: str
    """The route as people write it, for the list in an unknown route's 404."""
    method: str = "POST"
    action: str | None = None
    """Google's custom method after the ``:`` of the last segment; None for a plain path."""
    flavor: str = ""
    """Which of the provider's URL conventions holds (``"azure"``, ``"vertex"``): its provider's
    auth reads it."""
    into_request: IntoRequest | None = None
    variant: Callable[[Request, dict[str, Any]], Hashable] | None = None
    """(request, body) -> the rendering a request here asks for, when its URL says it (Gemini's
    stream method and ``alt``, Ollama's chat or generate) rather than its body alone (the API's
    ``variant``)."""
    records: bool = True
    """Whether a request here that no mock matches may go to the upstream (a recorder's): not on
    URLs that name what the upstream's base URL has no place for (an Azure deployment)."""


@dataclass(frozen=True)
class Endpoint:
    """A JSON endpoint beside an API's answers (a token count): served with the API's auth and
    error shape."""

    route: Route
    answer: Callable[[dict[str, Any]], dict[str, Any]]
    """The request body (what the route maps into it included) -> the answer; raises `ApiError`
    for a request the real API refuses."""


def bearer(request: Request) -> str:
    """The token of an ``Authorization: Bearer`` header, or ""."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Provider(ABC):
    """What one provider's APIs share. Subclasses implement every abstract method (mypy refuses to
    build one that does not) and set the class attributes."""

    name: ClassVar[ProviderName]
    title: ClassVar[str]
    """For people: "OpenAI", "Anthropic", …"""
    overloaded_status: ClassVar[int]
    """The status of the provider's retryable overloaded answer (OpenAI 500, Anthropic 529, …)."""
    default_upstream: ClassVar[str]
    """The real API's base URL, as the provider's SDK takes it."""
    upstream_env: ClassVar[str]
    """The environment variable ``mockllm serve --record`` reads the upstream base URL from."""
    upstream_flag: ClassVar[str]
    """The ``mockllm serve`` flag that names the upstream base URL."""
    key_env: ClassVar[tuple[str, ...]]
    """The environment variables a recording reads a real API key from, in order."""
    model_paths: ClassVar[tuple[str, ...]] = ()
    """Where the provider's model list is served besides ``/v1/models``."""
    claims_the_rest: ClassVar[bool] = False
    """Asked last, and answers what no other provider claims (OpenAI: the shape most clients
    read)."""

    # --- requests --------------------------------------------------------------------------------

    @abstractmethod
    def check_auth(self, request: Request, route: Route | None) -> None:
        """Raise `ApiError` for a request without the credentials the real API asks for (any key
        works); ``route`` is None outside an API's routes (the model list)."""

    @abstractmethod
    def owns(self, request: Request) -> bool:
        """Whether a request that reached no API route (an unknown path, a bad method) comes from
        this provider's SDK, so its error takes this provider's shape."""

    # --- errors ----------------------------------------------------------------------------------

    @abstractmethod
    def default_type(self, status: int) -> str:
        """The error type (or status name) the provider sends with ``status``."""

    def default_code(self, status: int) -> str | None:
        """The error code the provider sends with ``status``, if it sends one."""
        return None

    @abstractmethod
    def error_object(
        self, status: int, message: str, param: str | None, kind: str, code: str | None
    ) -> dict[str, Any]:
        """The provider's error body as an object."""

    def error_headers(self, status: int, kind: str) -> dict[str, str]:
        """Headers the provider's SDK reads an error's type from (none for most)."""
        return {}

    def error_body(
        self,
        status: int,
        message: str,
        param: str | None = None,
        *,
        kind: str | None = None,
        code: str | None = None,
    ) -> bytes:
        """The provider's error body; ``kind`` (the type) defaults to `default_type`."""
        if kind is None:
            kind = self.default_type(status)
        try:
            return orjson.dumps(self.error_object(status, message, param, kind, code))
        except orjson.JSONEncodeError:
            # The message quotes the request line or a header with bytes that are not UTF-8.
            shown = param and printable(param)
            return orjson.dumps(self.error_object(status, printable(message), shown, printable(kind), code))

    def error_response(
        self,
        status: int,
        message: str,
        param: str | None = None,
        *,
        kind: str | None = None,
        code: str | None = None,
    ) -> HTTPResponse:
        """The provider's error answer: `error_body` with its `error_headers`."""
        if kind is None:
            kind = self.default_type(status)
        body = self.error_body(status, message, param, kind=kind, code=code)
        headers = self.error_headers(status, kind)
        return HTTPResponse(body, status=status, headers=headers or None, content_type=JSON_TYPE)

    def overloaded(self, message: str) -> HTTPResponse:
        """The provider's answer when it is overloaded, which its SDK retries (google-genai only
        when the client is given ``retry_options``)."""
        return self.error_response(self.overloaded_status, message)

    # --- the model list --------------------------------------------------------------------------

    @abstractmethod
    def asks_for_models(self, request: Request) -> bool:
        """Whether a ``GET /v1/models`` request comes from this provider's SDK."""

    @abstractmethod
    def model_info(self, name: str) -> dict[str, Any]:
        """One model, in the provider's shape."""

    @abstractmethod
    def model_list(self, names: list[str], query: Mapping[str, str]) -> dict[str, Any]:
        """The models ``names``, in the provider's list shape (honouring its paging query);
        raises `ApiError` for a query the real API refuses."""

    # --- record and replay -----------------------------------------------------------------------

    @abstractmethod
    def upstream_url(self, base: str, request: Request) -> str:
        """Where ``request`` goes on the real API whose base URL is ``base`` (query included)."""

    @abstractmethod
    def credentials(self, key: str) -> list[tuple[str, str]]:
        """The headers that carry a real API key upstream."""

    # --- clients ---------------------------------------------------------------------------------

    @abstractmethod
    def client_env(self, root: str, key: str) -> dict[str, str | None]:
        """The environment variables that point the provider's SDK at a server whose root URL is
        ``root`` (no trailing slash), with the API key ``key``; None removes a variable the SDK
        would prefer to them."""

    def base_url(self, root: str) -> str:
        """The base URL the provider's SDK takes for a server whose root URL is ``root``."""
        return root
