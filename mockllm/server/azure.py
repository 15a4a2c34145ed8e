"""Azure OpenAI's routes to the OpenAI APIs: the same handlers and mocks under Azure's URLs.

What ``openai.AzureOpenAI`` (and ``AsyncAzureOpenAI``) send, seen on the wire:

- ``azure_endpoint=E``: chat and embeddings go to ``E/openai/deployments/{model}/…`` (the body's
  ``model`` put in the path), Responses to ``E/openai/responses``.
- ``azure_endpoint=E, azure_deployment=D``: chat and embeddings go to ``E/openai/deployments/D/…``
  while the body still names the caller's ``model``; Responses as above.
- Every request carries ``?api-version=…`` and an ``api-key`` header (``azure_ad_token=`` sends
  ``Authorization: Bearer`` instead).
- Azure's v1 API, ``openai.OpenAI(base_url=E + "/openai/v1/")``: ``E/openai/v1/…``, with
  ``Authorization: Bearer`` and no ``api-version``.

Azure answers a deployment route with the deployment's model whatever the body names, so there the
deployment stands for the request's model: ``match.model`` compares it, an answer without a
``model`` echoes it, and the journal records the body with it. A route Azure requires an
``api-version`` on refuses a request without one with Azure's 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sanic import Request

from ..apis import ApiSpec
from .errors import ApiError

__all__ = ["AZURE_API_KEY_HEADER", "AzureRoute", "azure_routes"]

AZURE_API_KEY_HEADER = "api-key"
"""Azure's API key header, accepted on its routes besides ``Authorization: Bearer``."""


@dataclass(frozen=True)
class AzureRoute:
    """One Azure URL of an OpenAI API."""

    path: str
    """The Sanic route; a deployment route names the deployment ``<deployment>``."""
    shown: str
    """The route as people write it: ``/openai/deployments/{deployment}/chat/completions``."""
    deployment: bool
    needs_api_version: bool

    def request_body(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """The body as the API handler sees it: on a deployment route, the deployment is its model."""
        if self.needs_api_version and not request.args.get("api-version"):
            # Azure's own answer to a request without one, made to say what is missing.
            raise ApiError(
                404,
                f"Resource not found: POST {self.shown} needs an 'api-version' query parameter "
                "(any value; AzureOpenAI(api_version=...) sends it).",
                param="api-version",
            )
        if self.deployment:
            # Sanic hands the path segment over as sent; the SDK percent-encodes the name.
            return {**body, "model": unquote(request.match_info["deployment"])}
        return body


def azure_routes(spec: ApiSpec) -> tuple[AzureRoute, ...]:
    """The Azure routes of an API: none unless its spec says ``azure``."""
    if not spec.azure:
        return ()
    suffix = spec.route.removeprefix("/v1")  # "/chat/completions"
    return (
        AzureRoute(
            f"/openai/deployments/<deployment>{suffix}",
            f"/openai/deployments/{{deployment}}{suffix}",
            deployment=True,
            needs_api_version=True,
        ),
        AzureRoute(f"/openai{suffix}", f"/openai{suffix}", deployment=False, needs_api_version=True),
        AzureRoute(f"/openai/v1{suffix}", f"/openai/v1{suffix}", deployment=False, needs_api_version=False),
    )
