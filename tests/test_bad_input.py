"""Bad input of every kind gets a clear 4xx in the provider's error shape; the server keeps
serving and later good requests still match."""

from __future__ import annotations

import http.client
import logging
import socket
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import orjson
import pytest

from mockllm import Config, MockServer

from .conftest import ServeFn, anthropic_client, openai_client

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

CHAT = "/v1/chat/completions"
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
        {"model": "m", "input": [{"role": [], "content": ""}]},  # unhashable: once a 500
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


# --- the echoed model --------------------------------------------------------------------------

LONG_ANSWER = " ".join(f"word{i}" for i in range(2000))


def test_overlong_model_is_refused_with_param(server: MockServer) -> None:
    """The model is echoed into every stream event: a 10 KB one made answers hundreds of times the
    size of the request."""
    ping: Any = [{"role": "user", "content": "ping"}]
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client(server).chat.completions.create(model="M" * 10_000, messages=ping, stream=True)
    assert refused.value.param == "model"
    assert "256" in refused.value.message
    with pytest.raises(anthropic.BadRequestError) as anthropic_refused:
        anthropic_client(server).messages.create(model="M" * 10_000, max_tokens=5, messages=ping)
    assert "model" in anthropic_refused.value.message
    with pytest.raises(openai.BadRequestError):
        openai_client(server).embeddings.create(model="M" * 257, input="ping")
    _assert_still_serving(server)


def test_long_model_name_is_still_echoed(server: MockServer) -> None:
    model = "fine-tuned:" + "m" * 245  # 256 characters, the limit
    ping: Any = [{"role": "user", "content": "ping"}]
    assert openai_client(server).chat.completions.create(model=model, messages=ping).model == model
    chunks = list(openai_client(server).chat.completions.create(model=model, messages=ping, stream=True))
    assert {chunk.model for chunk in chunks} == {model}
    assert anthropic_client(server).messages.create(model=model, max_tokens=5, messages=ping).model == model


def test_render_cache_is_bounded_in_bytes() -> None:
    """Requests naming many models (each echoed into every event of a long stream) leave a bounded
    cache behind, and every one of them still gets its own model back."""
    from mockllm.server import CompiledConfig
    from mockllm.server.adapter import MAX_CACHED_BYTES

    ping = {"match_type": "contains", "message": {"content": "ping"}}
    answer = {"choices": [{"message": {"content": LONG_ANSWER}}]}
    config = Config.model_validate({"openai": [{"match": ping, "response": answer}]})
    prepared = CompiledConfig.of(config).apis["openai"].answer(0)
    stream_size = 0
    for i in range(100):
        model = f"{i:03}" + "m" * 253
        body = prepared.render({"model": model, "messages": [{"role": "user", "content": "ping"}]}, "sse")
        assert body.count(model.encode()) > 2000
        stream_size = len(body)
        cached = sum(map(len, prepared._cache.values()))
        assert cached <= MAX_CACHED_BYTES, f"{cached} bytes cached after {i + 1} models"
    assert stream_size * 64 > MAX_CACHED_BYTES  # the entry bound alone would not have held it
    again = prepared.render({"model": "gpt-4o", "messages": [{"role": "user", "content": "ping"}]}, "sse")
    assert again.count(b'"model":"gpt-4o"') > 2000


# --- headers that are not UTF-8 ------------------------------------------------------------------


def _raw_http(server: MockServer, request: bytes, timeout: float = 5) -> tuple[int, bytes]:
    """One request written byte for byte on a socket; the status and body of the answer."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(request)
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        return reply.status, reply.read()


def _post_head(path: str, body: bytes, *headers: bytes) -> bytes:
    lines = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: mock", *headers]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def test_header_bytes_that_are_not_utf8(serve: ServeFn) -> None:
    """A header rule meets a header value that is not UTF-8: the request matches, or gets its 404
    with a readable near miss; never a 500."""
    rule = {"name": "X-Team", "value": "blue"}
    tenant = {"name": "X-Tenant", "value": "acme", "match_type": "contains"}
    hi = {"match_type": "contains", "message": {"content": "hi"}}
    answer = {"choices": [{"message": {"content": "hello"}}]}
    config = Config.model_validate(
        {
            "openai": [
                {"match": {**hi, "headers": [rule]}, "response": answer},
                {"match": {**hi, "message": {"content": "tenant"}, "headers": [tenant]}, "response": answer},
            ]
        }
    )
    server = serve(config)
    hi_body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    request = _post_head(CHAT, hi_body, b"Authorization: Bearer \xff\xfe", b"X-Team: blue \xff\xfe")
    status, body = _raw_http(server, request)
    assert status == 404, body
    message = orjson.loads(body)["error"]["message"]
    assert 'got "blue \\xff\\xfe"' in message
    tenant_body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "tenant"}]})
    request = _post_head(CHAT, tenant_body, b"Authorization: Bearer k", b"X-Tenant: acme-\xc3\xa9-\xff")
    status, body = _raw_http(server, request)
    assert status == 200 and b"hello" in body
    # A request line with such a byte in its method gets a 405 that quotes it.
    status, body = _raw_http(server, b"G\xffT /health HTTP/1.1\r\nHost: mock\r\n\r\n")
    assert status == 405 and "G\\xffT" in orjson.loads(body)["error"]["message"]
    assert openai_client(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], extra_headers={"X-Team": "blue"}
    )


# --- types the real APIs refuse -----------------------------------------------------------------


def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "ping"}], **fields}


def _chat_message(**fields: Any) -> dict[str, Any]:
    return _chat(messages=[{"role": "user", "content": "ping", **fields}])


def _anthropic(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "ping"}], **fields}


def _responses_item(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "input": [{"role": "user", "content": "ping", **fields}]}


REFUSED = [
    # (path, body, the param OpenAI names / the field Anthropic's message names)
    (CHAT, _chat(tools="get_weather"), "tools"),
    (CHAT, _chat(tools=[{"type": "function"}, "get_weather"]), "tools[1]"),
    (CHAT, _chat(max_tokens=0), "max_tokens"),
    (CHAT, _chat(max_tokens=-1), "max_tokens"),
    (CHAT, _chat(max_tokens=True), "max_tokens"),
    (CHAT, _chat(max_tokens="5"), "max_tokens"),
    (CHAT, _chat(max_tokens=2.5), "max_tokens"),
    (CHAT, _chat(max_completion_tokens=0), "max_completion_tokens"),
    (CHAT, _chat(max_completion_tokens=False), "max_completion_tokens"),
    (CHAT, _chat_message(name=5), "messages[0].name"),
    (CHAT, _chat_message(name=["n"]), "messages[0].name"),
    (CHAT, _chat_message(tool_call_id=7), "messages[0].tool_call_id"),
    (CHAT, _chat_message(tool_call_id={"id": "call_1"}), "messages[0].tool_call_id"),
    (CHAT, _chat_message(tool_calls="call_1"), "messages[0].tool_calls"),
    (CHAT, _chat_message(tool_calls={"id": "call_1"}), "messages[0].tool_calls"),
    (CHAT, _chat_message(tool_calls=["call_1"]), "messages[0].tool_calls[0]"),
    (
        CHAT,
        _chat(messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}]),
        "messages[0].content[0].text",
    ),
    ("/v1/messages", _anthropic(max_tokens=0), "max_tokens"),
    ("/v1/messages", _anthropic(max_tokens=-1), "max_tokens"),
    ("/v1/messages", _anthropic(max_tokens=None), "max_tokens"),
    ("/v1/messages", _anthropic(max_tokens=True), "max_tokens"),
    ("/v1/messages", {"model": "m", "messages": [{"role": "user", "content": "ping"}]}, "max_tokens"),
    ("/v1/messages", _anthropic(system=[{"type": "text", "text": 5}]), "system.0.text"),
    ("/v1/messages", _anthropic(system=[{"type": "text", "text": ["s"]}]), "system.0.text"),
    (
        "/v1/messages",
        _anthropic(messages=[{"role": "user", "content": [{"type": "text", "text": {"t": "ping"}}]}]),
        "messages.0.content.0.text",
    ),
    (
        "/v1/responses",
        _responses_item(content=[{"type": "input_text", "text": 5}]),
        "input[0].content[0].text",
    ),
    ("/v1/responses", _responses_item(role="tool"), "input[0].role"),
    ("/v1/responses", _responses_item(role="bot"), "input[0].role"),
    ("/v1/responses", _responses_item(role=3), "input[0].role"),
]


@pytest.mark.parametrize(("path", "body", "field"), REFUSED)
def test_types_the_real_apis_refuse(server: MockServer, path: str, body: Any, field: str) -> None:
    """Each body would match a mock if its types were not checked."""
    headers = ANTHROPIC_AUTH if path == "/v1/messages" else OPENAI_AUTH
    reply = httpx.post(server.url + path, json=body, headers=headers)
    message = _assert_error_shape(path, reply, 400)
    if path == "/v1/messages":
        assert field in message
    else:
        assert reply.json()["error"]["param"] == field
    _assert_still_serving(server)


def test_sdk_gets_bad_request_with_param(server: MockServer) -> None:
    ping: Any = [{"role": "user", "content": "ping"}]
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client(server).chat.completions.create(model="m", messages=ping, max_tokens=0)
    assert refused.value.param == "max_tokens"
    with pytest.raises(anthropic.BadRequestError) as anthropic_refused:
        anthropic_client(server).messages.create(model="m", max_tokens=0, messages=ping)
    assert "max_tokens: Input should be greater than or equal to 1" in anthropic_refused.value.message


def test_values_the_real_apis_take_are_not_refused(server: MockServer) -> None:
    """Nulls and empty lists where the SDK types allow them, every role the Responses API knows."""
    chat = openai_client(server).chat.completions
    for fields in (
        {"max_tokens": None, "max_completion_tokens": None, "tools": None},
        {"max_tokens": 1, "max_completion_tokens": 4096, "tools": []},
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]},
    ):
        assert chat.create(model="m", messages=[{"role": "user", "content": "ping"}], **fields)  # type: ignore[call-overload]
    history: Any = [
        {"role": "system", "content": "s", "name": "setup"},
        {"role": "user", "content": "q", "name": None},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "r"},
        {"role": "assistant", "content": "a", "tool_calls": []},
        {"role": "user", "content": [{"type": "text", "text": "ping"}]},
    ]
    assert chat.create(model="m", messages=history).choices[0].message.content == "pong"
    roles = [{"role": role, "content": "x"} for role in ("system", "developer", "assistant")]
    items: Any = [
        *roles,
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ping"}]},
    ]
    assert openai_client(server).responses.create(model="m", input=items).id
    system: Any = [{"type": "text", "text": "be brief"}]
    ping: Any = [{"role": "user", "content": "ping"}]
    reply = anthropic_client(server).messages.create(model="m", max_tokens=1, system=system, messages=ping)
    assert reply.content[0].text == "pong"  # type: ignore[union-attr]


# --- HTTP odds and ends --------------------------------------------------------------------------


def test_head_health(server: MockServer) -> None:
    get = httpx.get(server.url + "/health")
    head = httpx.head(server.url + "/health")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == get.headers["content-length"]


@pytest.mark.parametrize("path", list(GOOD))
def test_json_body_after_a_byte_order_mark(server: MockServer, path: str) -> None:
    reply = _post(server, path, b"\xef\xbb\xbf" + orjson.dumps(GOOD[path]))
    assert reply.status_code == 200, reply.text
    twice = _post(server, path, b"\xef\xbb\xbf\xef\xbb\xbf" + orjson.dumps(GOOD[path]))
    assert "JSON" in _assert_error_shape(path, twice, 400)


@pytest.mark.parametrize("target", [b"\xcd", b"\xcd\xff/x", b"/x\xcd", b"%", b"\x00"])
def test_a_request_target_that_is_no_url_gets_a_400(
    server: MockServer, target: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    status, _ = _raw_http(server, b"GET " + target + b" HTTP/1.1\r\nHost: mock\r\n\r\n", timeout=3)
    assert status == 400
    assert [record.getMessage() for record in caplog.records] == []
    _assert_still_serving(server)


def test_request_head_with_bare_line_feeds(server: MockServer) -> None:
    """Lines ending in LF alone (hand-written requests, netcat): answered at once, not after the
    request timeout; a request sent behind one on the same connection too."""
    body = orjson.dumps(GOOD[CHAT])
    head = f"POST {CHAT} HTTP/1.1\nHost: mock\nAuthorization: Bearer k\nContent-Length: {len(body)}\n\n"
    status, reply = _raw_http(server, head.encode() + body, timeout=3)
    assert status == 200 and b"pong" in reply
    health = b"GET /health HTTP/1.1\nHost: mock\n\n"
    with socket.create_connection((server.host, server.port), timeout=3) as sock:
        sock.sendall(health + health)
        answers = b""
        while answers.count(b"healthy") < 2:
            chunk = sock.recv(65536)
            assert chunk, answers
            answers += chunk
        assert answers.count(b"HTTP/1.1 200 OK") == 2
    # A head in pieces, its blank line in the last one.
    with socket.create_connection((server.host, server.port), timeout=3) as sock:
        for piece in (b"GET /health HTTP/1.1\n", b"Host: mock\n", b"\n"):
            sock.sendall(piece)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        assert answer.status == 200
    _assert_still_serving(server)
