"""Bad input of every kind gets a clear 4xx in the provider's error shape; the server keeps
serving and later good requests still match."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from mockllm import Config, MockServer

from .conftest import anthropic_client, openai_client

CONFIG = Config.model_validate(
    {
        "openai": [
            {
                "match": {"match_type": "contains", "message": {"role": "user", "content": "ping"}},
                "response": {"choices": [{"message": {"content": "pong"}}]},
            }
        ],
        "openai_response": [
            {"match": {"match_type": "contains", "input": "ping"}, "response": {"output": []}}
        ],
        "openai_embeddings": [
            {
                "match": {"match_type": "contains", "input": "ping"},
                "response": {"data": [{"embedding": [1.0]}]},
            }
        ],
        "anthropic": [
            {
                "match": {"match_type": "contains", "message": {"role": "user", "content": "ping"}},
                "response": {"content": [{"type": "text", "text": "pong"}]},
            }
        ],
    }
)

OPENAI_AUTH = {"authorization": "Bearer test"}
ANTHROPIC_AUTH = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
GOOD = {
    "/v1/chat/completions": {"model": "m", "messages": [{"role": "user", "content": "ping"}]},
    "/v1/responses": {"model": "m", "input": "ping"},
    "/v1/embeddings": {"model": "m", "input": "ping"},
    "/v1/messages": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "ping"}]},
}


@pytest.fixture(scope="module")
def server() -> Any:
    with MockServer(CONFIG) as running:
        yield running


def _post(server: MockServer, path: str, content: bytes) -> httpx.Response:
    headers = ANTHROPIC_AUTH if path == "/v1/messages" else OPENAI_AUTH
    return httpx.post(server.url + path, content=content, headers=headers, timeout=30)


def _assert_error_shape(path: str, reply: httpx.Response, status: int) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    if path == "/v1/messages":
        assert body["type"] == "error"
        message: str = body["error"]["message"]
        assert body["error"]["type"]
    else:
        message = body["error"]["message"]
        assert {"message", "type", "param", "code"} <= body["error"].keys()
    assert message
    return message


def _assert_still_serving(server: MockServer) -> None:
    for path, body in GOOD.items():
        headers = ANTHROPIC_AUTH if path == "/v1/messages" else OPENAI_AUTH
        assert httpx.post(server.url + path, json=body, headers=headers).status_code == 200


BAD_BODIES = {
    "invalid json": b'{"model": "m", "messages": [',
    "empty body": b"",
    "json array": b'[{"role": "user", "content": "ping"}]',
    "json string": b'"ping"',
    "invalid utf-8": b'{"model": "m", "input": "\xff\xfe ping"}',
    "binary": bytes(range(256)) * 4,
    "nul bytes": b"\x00" * 100,
    "10 MB of junk": b"x" * (10 * 1024 * 1024),
}


@pytest.mark.parametrize("path", list(GOOD))
@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_unparseable_bodies_get_400(server: MockServer, path: str, name: str) -> None:
    message = _assert_error_shape(path, _post(server, path, BAD_BODIES[name]), 400)
    assert "JSON" in message
    _assert_still_serving(server)


WRONG_TYPES = {
    "/v1/chat/completions": [
        {"model": "m"},
        {"model": "m", "messages": "ping"},
        {"model": "m", "messages": []},
        {"model": "m", "messages": ["ping"]},
        {"model": "m", "messages": [{"role": "user", "content": 42}]},
        {"model": "m", "messages": [{"role": 7, "content": "ping"}]},
        {"model": 3, "messages": [{"role": "user", "content": "ping"}]},
        {"model": "m", "messages": [{"role": "user", "content": "ping"}], "stream": "yes"},
        {"model": "m", "messages": [{"role": "user", "content": [1, 2]}]},
    ],
    "/v1/responses": [
        {"model": "m", "input": 42},
        {"model": "m", "input": [1, 2]},
        {"model": "m", "input": [{"role": "user", "content": 5}]},
        {"model": "m", "input": "ping", "stream": 1},
    ],
    "/v1/embeddings": [
        {"model": "m"},
        {"model": "m", "input": {"text": "ping"}},
        {"model": "m", "input": []},
        {"model": "m", "input": ["ping", 1]},
        {"model": "m", "input": "ping", "dimensions": 0},
        {"model": "m", "input": "ping", "encoding_format": "hex"},
    ],
    "/v1/messages": [
        {"model": "m", "max_tokens": 5},
        {"model": "m", "max_tokens": 5, "messages": {"role": "user"}},
        {"model": "m", "max_tokens": 5, "messages": [{"content": "ping"}]},
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": None}]},
        {"model": "m", "max_tokens": "5", "messages": [{"role": "user", "content": "ping"}]},
        {"model": "m", "max_tokens": 5, "system": 3, "messages": [{"role": "user", "content": "ping"}]},
        {"model": "m", "max_tokens": 5, "tools": "x", "messages": [{"role": "user", "content": "ping"}]},
    ],
}


@pytest.mark.parametrize(
    ("path", "body"), [(path, body) for path, bodies in WRONG_TYPES.items() for body in bodies]
)
def test_wrong_types_and_missing_fields_get_400(server: MockServer, path: str, body: Any) -> None:
    headers = ANTHROPIC_AUTH if path == "/v1/messages" else OPENAI_AUTH
    reply = httpx.post(server.url + path, json=body, headers=headers)
    _assert_error_shape(path, reply, 400)
    _assert_still_serving(server)


def test_body_over_the_limit_gets_413(server: MockServer) -> None:
    reply = _post(server, "/v1/chat/completions", b" " * (33 * 1024 * 1024))
    assert reply.status_code == 413
    assert "error" in reply.json()
    _assert_still_serving(server)


def test_large_valid_request_still_matches(server: MockServer) -> None:
    history = [{"role": "user", "content": "x" * 1000}] * 5000 + [{"role": "user", "content": "ping"}]
    completion = openai_client(server).chat.completions.create(model="m", messages=history)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "pong"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/chat/completions", 405),
        ("PUT", "/v1/messages", 405),
        ("POST", "/health", 405),
        ("GET", "/nowhere", 404),
        ("POST", "/v1/chat/completion", 404),
        ("POST", "/chat/completions", 404),
    ],
)
def test_unknown_routes_and_wrong_methods(server: MockServer, method: str, path: str, status: int) -> None:
    reply = httpx.request(method, server.url + path, headers=OPENAI_AUTH)
    message = _assert_error_shape(path, reply, status)
    assert method in message and path in message
    _assert_still_serving(server)


def test_openai_sdk_raises_its_own_exceptions(server: MockServer) -> None:
    # A client whose Authorization header is not a bearer token, as a misconfigured proxy sends.
    client = openai_client(server, default_headers={"Authorization": "Basic dXNlcjpwYXNz"})
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    with pytest.raises(openai.BadRequestError) as bad:
        openai_client(server).chat.completions.create(model="m", messages=[])
    assert bad.value.param == "messages"


def test_anthropic_auth_before_version(server: MockServer) -> None:
    body = GOOD["/v1/messages"]
    no_auth = httpx.post(server.url + "/v1/messages", json=body, headers={"anthropic-version": "1"})
    assert _assert_error_shape("/v1/messages", no_auth, 401)
    no_version = httpx.post(server.url + "/v1/messages", json=body, headers={"x-api-key": "k"})
    assert "anthropic-version" in _assert_error_shape("/v1/messages", no_version, 400)
    bearer = {"authorization": "Bearer k", "anthropic-version": "2026-10-21"}
    assert httpx.post(server.url + "/v1/messages", json=body, headers=bearer).status_code == 200


def test_anthropic_sdk_exceptions(server: MockServer) -> None:
    client = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="m", max_tokens=5, messages=[])
    with pytest.raises(anthropic.NotFoundError) as missing:
        anthropic_client(server).messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "something else"}]
        )
    assert missing.value.type == "not_found_error"
    assert "ping" in missing.value.message


def test_bad_requests_are_journaled(server: MockServer) -> None:
    server.journal.clear()
    _post(server, "/v1/chat/completions", b"not json")
    (entry,) = list(server.journal)
    assert entry.status == 400 and entry.mock is None and entry.error and "JSON" in entry.error
