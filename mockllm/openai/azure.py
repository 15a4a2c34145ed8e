"""Azure OpenAI's routes to the OpenAI APIs: the same adapters and mocks under Azure's URLs.

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

from typing import Any
from urllib.parse import unquote

from sanic import Request

from ..server.errors import ApiError
from ..server.provider import IntoRequest, Route

__all__ = ["azure_routes"]


def _needs_api_version(shown: str) -> IntoRequest:
    def into_request(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if not request.args.get("api-version"):
            # Azure's own answer to a request without one, made to say what is missing.
            raise ApiError(
                404,
                f"Resource not found: POST {shown} needs an 'api-version' query parameter "
                "(any value; AzureOpenAI(api_version=...) sends it).",
                param="api-version",
            )
        return body

    return into_request


def _deployment_route(shown: str) -> IntoRequest:
    checked = _needs_api_version(shown)

    def into_request(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        # The deployment is the request's model. Sanic hands the path segment over as sent; the
        # SDK percent-encodes the name.
        return {**checked(request, body), "model": unquote(request.match_info["deployment"])}

    return into_request


def azure_routes(suffix: str) -> tuple[Route, ...]:
    """Azure OpenAI's routes to the OpenAI API at ``/v1{suffix}`` (``suffix``:
    ``/chat/completions``, …)."""
    deployment = f"/openai/deployments/{{deployment}}{suffix}"
    return (
        Route(
            f"/openai/deployments/<deployment>{suffix}",
            deployment,
            flavor="azure",
            into_request=_deployment_route(deployment),
            records=False,
        ),
        Route(
            f"/openai{suffix}",
            f"/openai{suffix}",
            flavor="azure",
            into_request=_needs_api_version(f"/openai{suffix}"),
            records=False,
        ),
        Route(f"/openai/v1{suffix}", f"/openai/v1{suffix}", flavor="azure", records=False),
    )
