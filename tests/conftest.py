"""Shared fixtures: real servers on 127.0.0.1 and official SDK clients pointed at them."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anthropic
import boto3
import httpcore2 as httpcore
import openai
import pytest
from botocore.config import Config as BotoConfig

from mockllm import Config, MockServer, mock
from mockllm.builders import MockBuilder

if TYPE_CHECKING:
    from .redis_store import RedisStore

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
# The shared conformance configs live beside the repository when it is checked out in the team's
# workspace, and in CI; the tests that need them get them through conformance_data().
CONFORMANCE = ROOT.parent / "shared" / "conformance"


def on_ci() -> bool:
    """True under CI (the ``CI`` environment variable set to true, 1 or yes)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def doc_section(page: str, heading: str) -> str:
    """The text of ``page`` (a path from the repository's root: ``README.md``, ``docs/….md``)
    under ``heading`` (a whole ``#…`` line), up to the next heading of the same or a higher level
    (a ``#`` line inside a fenced code block is not a heading)."""
    lines = (ROOT / page).read_text().splitlines(keepends=True)
    assert f"{heading}\n" in lines, f"no {heading!r} heading in {page}"
    level = len(heading) - len(heading.lstrip("#"))
    section: list[str] = []
    fenced = False
    for line in lines[lines.index(f"{heading}\n") + 1 :]:
        fenced ^= line.startswith("```")
        marks = len(line) - len(line.lstrip("#"))
        if not fenced and 0 < marks <= level and line[marks : marks + 1] == " ":
            break
        section.append(line)
    return "".join(section)


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced ``language`` code blocks of ``text`` (an info string after the language, such as
    ``title="mocks.json"``, is allowed)."""
    return re.findall(rf"```{language}(?: [^\n]*)?\n(.*?)```", text, flags=re.DOTALL)


def conformance_data(name: str) -> Path:
    """The folder ``name`` of the shared conformance data; call it at the top of a test module.

    Where the folder is missing or empty the module is skipped, with the path in the reason; under
    CI it must be there, and its absence fails the run instead.
    """
    path = CONFORMANCE / name
    if path.is_dir() and any(path.iterdir()):
        return path
    missing = (
        f"shared conformance data not found: {path} is missing or empty"
        " (shared/conformance/ is looked for beside the repository checkout)"
    )
    if on_ci():
        pytest.fail(f"{missing}; CI needs it", pytrace=False)
    pytest.skip(f"{missing}; the tests that need it are skipped outside CI", allow_module_level=True)


ServeFn = Callable[[Config], MockServer]


@pytest.fixture(scope="session", autouse=True)
def _one_ssl_context() -> Iterator[None]:
    """Every HTTP client (each SDK client, each ``httpx.post``) builds an SSL context and loads the CA
    bundle into it, 50-100 ms, whether or not it ever speaks TLS. These tests build hundreds of
    clients and speak plain HTTP to 127.0.0.1, so the clients share one context."""
    with pytest.MonkeyPatch.context() as patch:
        if hasattr(httpcore, "default_ssl_context"):
            patch.setattr(httpcore, "default_ssl_context", functools.cache(httpcore.default_ssl_context))
        yield


@pytest.fixture
def redis_store(tmp_path: Path) -> Iterator[RedisStore]:
    """A real redis-server on a free loopback port, for this test alone (skipped when it is not
    installed, failed under CI)."""
    from .redis_store import running_store

    yield from running_store(tmp_path)


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


@pytest.fixture
def m() -> MockBuilder:
    """A fresh builder (modules that need another kind of ``m`` define their own)."""
    return mock()


@pytest.fixture
def server(m: MockBuilder) -> Iterator[MockServer]:
    """A threaded server following ``m``: mocks registered on it answer the next request."""
    with MockServer(m) as running:
        yield running


def openai_client(server: MockServer, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0, **kwargs)  # type: ignore[arg-type]


def async_openai_client(server: MockServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)


def anthropic_client(server: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)


def async_anthropic_client(server: MockServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)


def bedrock_runtime(server: MockServer, attempts: int = 1) -> Any:
    """boto3's ``bedrock-runtime`` client on the server, with dummy credentials; ``attempts``
    counts the first try (1: no retries)."""
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=server.bedrock_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def anthropic_bedrock_client(server: MockServer) -> anthropic.AnthropicBedrock:
    """Claude on Bedrock (``anthropic.AnthropicBedrock``) on the server, with dummy credentials."""
    return anthropic.AnthropicBedrock(
        base_url=server.bedrock_endpoint_url,
        aws_region="us-east-1",
        aws_access_key="test",
        aws_secret_key="test",
        max_retries=0,
    )
