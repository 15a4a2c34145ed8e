"""Every request the server answers is in the journal, the ones no API's route answered too (an
unknown route, a refused model list or token count): so strict mode and the report see an agent
whose client was pointed at the wrong URL, even when its code swallowed the error."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from mockllm import Config, MockServer
from mockllm.mock_llm import MockLLM

from .conftest import ServeFn, anthropic_client

PING: Any = [{"role": "user", "content": "ping"}]


def test_a_base_url_without_v1_is_journaled_with_the_route_meant(serve: ServeFn) -> None:
    server = serve(Config())
    client = openai.OpenAI(base_url=server.url, api_key="test", max_retries=0)  # no /v1
    with pytest.raises(openai.NotFoundError) as error:
        client.chat.completions.create(model="m", messages=PING)
    assert "Did you mean POST /v1/chat/completions?" in str(error.value)
    [record] = list(server.journal)
    assert (record.method, record.path, record.status, record.mock) == (
        "POST",
        "/chat/completions",
        404,
        None,
    )
    assert record.error is not None and record.error.startswith("Unknown route POST /chat/completions.")
    # Sanic reads no body for a route it does not know: the entry has none.


def test_refused_extra_routes_are_journaled(serve: ServeFn) -> None:
    server = serve(Config())
    assert httpx.get(f"{server.url}/v1/models").status_code == 401  # no credentials
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client(server).messages.count_tokens(model="claude", messages=[])
    assert httpx.get(f"{server.url}/__mockllm/nothing-here").status_code == 404  # the admin API's own
    assert [(r.path, r.status, r.mock) for r in server.journal] == [
        ("/v1/models", 401, None),
        ("/v1/messages/count_tokens", 400, None),
    ]


def test_the_fixture_counts_them_as_unanswered(mockllm: MockLLM) -> None:
    mockllm.openai_chat().reply("pong")
    assert (
        httpx.post(f"{mockllm.url}/chat/completions", json={"model": "m", "messages": PING}).status_code
        == 404
    )
    [unanswered] = mockllm.unmatched
    assert unanswered.path == "/chat/completions"


def test_answered_extra_routes_are_not_unanswered(server: MockServer) -> None:
    assert httpx.get(f"{server.url}/health").status_code == 200
    assert httpx.get(f"{server.url}/v1/models", headers={"Authorization": "Bearer t"}).status_code == 200
    assert list(server.journal) == []


def test_an_unknown_admin_route_lists_the_admin_routes(serve: ServeFn) -> None:
    server = serve(Config())
    answer = httpx.get(f"{server.url}/__mockllm/mock")
    assert answer.status_code == 404
    assert answer.text.endswith("\n")  # as every admin answer, for a command-line client
    message = answer.json()["error"]["message"]
    assert message.startswith("Unknown admin route GET /__mockllm/mock. The admin API answers: ")
    assert "GET /__mockllm/mocks" in message and "POST /__mockllm/reset" in message
    assert httpx.get(f"{server.url}/__mockllm/requests").text.endswith("}\n")
