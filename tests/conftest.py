"""Shared fixtures: real servers on 127.0.0.1 and official SDK clients pointed at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import anthropic
import openai
import pytest

from mockllm import Config, MockServer

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
# The shared conformance configs live beside the repository when it is checked out in the team's
# workspace; the tests that need them are skipped elsewhere.
CONFORMANCE = ROOT.parent / "shared" / "conformance"

ServeFn = Callable[[Config], MockServer]


@pytest.fixture
def serve() -> Iterator[ServeFn]:
    """Start a threaded server for a config; every server is stopped after the test."""
    servers: list[MockServer] = []

    def start(config: Config) -> MockServer:
        server = MockServer(config).start_in_thread()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop_thread()


def openai_client(server: MockServer, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0, **kwargs)  # type: ignore[arg-type]


def async_openai_client(server: MockServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)


def anthropic_client(server: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)


def async_anthropic_client(server: MockServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)
