"""What the over-HTTP properties share: SDK clients, a raw HTTP client and the settings that let
one server serve every example of a test."""

from __future__ import annotations

import http.client
from dataclasses import dataclass

import anthropic
import openai
from hypothesis import HealthCheck, settings

from mockllm import MockServer


def server_settings(share: int = 3) -> settings:
    """The loaded profile with a ``1/share`` of its examples (at least 5): each example is a few
    HTTP round trips. The server is one per test function, swapped with ``set_config`` between
    examples, so a function-scoped fixture is meant to be reused."""
    return settings(
        max_examples=max(5, settings().max_examples // share),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def openai_client(server: MockServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)


def anthropic_client(server: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes


def raw_request(
    server: MockServer, method: str, path: str, body: bytes, headers: dict[str, str]
) -> RawResponse:
    """One request on a fresh connection, bytes in and bytes out (no SDK in the way)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return RawResponse(response.status, response.read())
    finally:
        connection.close()
