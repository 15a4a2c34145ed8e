"""Error replies (``error`` on a mock) through the official SDKs over HTTP: each status raises the
SDK's own exception class with the configured message, and the SDKs retry, or do not, exactly as
they do against the real APIs (``retry-after-ms``, ``retry-after``, ``x-should-retry``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from mockllm import BuilderError, Config, ConfigError, MockServer
from mockllm.builders import MockBuilder

from .conftest import (
    ServeFn,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    openai_client,
)

FAST = {"retry-after-ms": "5"}
"""A retry delay the SDKs honour (so no backoff sleep slows the tests down)."""

MESSAGES = [{"role": "user", "content": "hi"}]


# --- calls, one per API, streamed or not ----------------------------------------------------------


def call_chat(client: openai.OpenAI, stream: bool) -> str | None:
    if stream:
        with client.chat.completions.stream(model="gpt-4o", messages=MESSAGES) as events:  # type: ignore[arg-type]
            return events.get_final_completion().choices[0].message.content
    reply = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    return reply.choices[0].message.content


def call_responses(client: openai.OpenAI, stream: bool) -> str:
    if stream:
        with client.responses.stream(model="gpt-5", input="hi") as events:
            return events.get_final_response().output_text
    return client.responses.create(model="gpt-5", input="hi").output_text


def call_embeddings(client: openai.OpenAI, stream: bool) -> list[float]:
    return client.embeddings.create(model="text-embedding-3-small", input="hi").data[0].embedding


def call_anthropic(client: anthropic.Anthropic, stream: bool) -> str:
    if stream:
        with client.messages.stream(model="claude", max_tokens=10, messages=MESSAGES) as events:  # type: ignore[arg-type]
            return events.get_final_text()
    reply = client.messages.create(model="claude", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    block = reply.content[0]
    assert block.type == "text"
    return block.text


async def acall_chat(client: openai.AsyncOpenAI, stream: bool) -> str | None:
    if stream:
        async with client.chat.completions.stream(model="gpt-4o", messages=MESSAGES) as events:  # type: ignore[arg-type]
            return (await events.get_final_completion()).choices[0].message.content
    reply = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    return reply.choices[0].message.content


async def acall_responses(client: openai.AsyncOpenAI, stream: bool) -> str:
    if stream:
        async with client.responses.stream(model="gpt-5", input="hi") as events:
            return (await events.get_final_response()).output_text
    return (await client.responses.create(model="gpt-5", input="hi")).output_text


async def acall_embeddings(client: openai.AsyncOpenAI, stream: bool) -> list[float]:
    reply = await client.embeddings.create(model="text-embedding-3-small", input="hi")
    return reply.data[0].embedding


async def acall_anthropic(client: anthropic.AsyncAnthropic, stream: bool) -> str:
    if stream:
        async with client.messages.stream(model="claude", max_tokens=10, messages=MESSAGES) as events:  # type: ignore[arg-type]
            return await events.get_final_text()
    reply = await client.messages.create(model="claude", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    block = reply.content[0]
    assert block.type == "text"
    return block.text


# (API, builder of m, sync call, async call, whether it streams, the reply of a normal mock)
APIS: dict[str, tuple[str, Callable[..., Any], Callable[..., Awaitable[Any]], Any]] = {
    "chat": ("openai", call_chat, acall_chat, "fine"),
    "responses": ("openai", call_responses, acall_responses, "fine"),
    "embeddings": ("openai", call_embeddings, acall_embeddings, [0.5, 0.5]),
    "anthropic": ("anthropic", call_anthropic, acall_anthropic, "fine"),
}
CASES = [
    pytest.param(api, stream, id=f"{api}-{'stream' if stream else 'json'}")
    for api in APIS
    for stream in (False, True)
    if not (api == "embeddings" and stream)
]


def builder(m: MockBuilder, api: str) -> Any:
    return {
        "chat": m.openai_chat,
        "responses": m.openai_responses,
        "embeddings": m.openai_embeddings,
        "anthropic": m.anthropic_messages,
    }[api]()


def client(server: MockServer, api: str, **kwargs: Any) -> Any:
    if APIS[api][0] == "anthropic":
        return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", **kwargs)
    return openai.OpenAI(base_url=server.openai_base_url, api_key="test", **kwargs)


def async_client(server: MockServer, api: str, **kwargs: Any) -> Any:
    if APIS[api][0] == "anthropic":
        return anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="test", **kwargs)
    return openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", **kwargs)


# --- the exception class and the message -------------------------------------------------------

OPENAI_CLASSES = [
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
    (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError),
    (409, openai.ConflictError),
    (422, openai.UnprocessableEntityError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
]
ANTHROPIC_CLASSES = [
    (400, anthropic.BadRequestError, "invalid_request_error"),
    (401, anthropic.AuthenticationError, "authentication_error"),
    (403, anthropic.PermissionDeniedError, "permission_error"),
    (404, anthropic.NotFoundError, "not_found_error"),
    (409, anthropic.ConflictError, "invalid_request_error"),
    (422, anthropic.UnprocessableEntityError, "invalid_request_error"),
    (429, anthropic.RateLimitError, "rate_limit_error"),
    (500, anthropic.InternalServerError, "api_error"),
    (503, anthropic.ServiceUnavailableError, "api_error"),
    (529, anthropic.OverloadedError, "overloaded_error"),
]


@pytest.mark.parametrize(("status", "error_class"), OPENAI_CLASSES)
@pytest.mark.parametrize("api", ["chat", "responses", "embeddings"])
def test_openai_raises_its_class_for_each_status(
    m: MockBuilder, server: MockServer, api: str, status: int, error_class: type[openai.APIStatusError]
) -> None:
    builder(m, api).reply_error(status, message=f"mocked {status}")
    with pytest.raises(error_class) as caught:
        APIS[api][1](openai_client(server), False)
    assert caught.value.status_code == status
    assert f"mocked {status}" in str(caught.value)
    assert caught.value.body["message"] == f"mocked {status}"  # type: ignore[index]


@pytest.mark.parametrize(("status", "error_class", "kind"), ANTHROPIC_CLASSES)
def test_anthropic_raises_its_class_for_each_status(
    m: MockBuilder, server: MockServer, status: int, error_class: type[anthropic.APIStatusError], kind: str
) -> None:
    m.anthropic_messages().reply_error(status, message=f"mocked {status}")
    with pytest.raises(error_class) as caught:
        call_anthropic(anthropic_client(server), False)
    error = caught.value
    assert (error.status_code, error.type, error.api_message) == (status, kind, f"mocked {status}")  # type: ignore[attr-defined]
    assert error.body == {"type": "error", "error": {"type": kind, "message": f"mocked {status}"}}


@pytest.mark.parametrize(("api", "stream"), CASES)
def test_streamed_and_not_alike_the_error_comes_before_any_stream(
    m: MockBuilder, server: MockServer, api: str, stream: bool
) -> None:
    builder(m, api).reply_error(500, message="the model fell over")
    sdk = anthropic if APIS[api][0] == "anthropic" else openai
    call = client(server, api, max_retries=0)
    with pytest.raises(sdk.InternalServerError, match="the model fell over"):
        APIS[api][1](call, stream)


@pytest.mark.parametrize(("api", "stream"), CASES)
async def test_async_clients_raise_the_same(
    m: MockBuilder, server: MockServer, api: str, stream: bool
) -> None:
    builder(m, api).reply_error(429, message="too many")
    sdk = anthropic if APIS[api][0] == "anthropic" else openai
    with pytest.raises(sdk.RateLimitError, match="too many"):
        await APIS[api][2](async_client(server, api, max_retries=0), stream)


def test_the_default_type_and_message_are_the_providers(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().reply_error(429)
    m.anthropic_messages().reply_error(529)
    with pytest.raises(openai.RateLimitError) as caught:
        call_chat(openai_client(server), False)
    assert caught.value.body == {
        "message": "mocked error: 429 rate_limit_exceeded",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert caught.value.code == "rate_limit_exceeded"
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        call_anthropic(anthropic_client(server), False)
    assert overloaded.value.api_message == "mocked error: 529 overloaded_error"  # type: ignore[attr-defined]


def test_a_configured_type_replaces_the_default_and_its_code(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().reply_error(429, type="insufficient_quota", message="You exceeded your quota.")
    with pytest.raises(openai.RateLimitError) as caught:
        call_chat(openai_client(server), False)
    assert caught.value.body == {
        "message": "You exceeded your quota.",
        "type": "insufficient_quota",
        "param": None,
        "code": None,
    }


def test_headers_are_sent_as_given_and_retry_after_is_sugar(m: MockBuilder, server: MockServer) -> None:
    m.anthropic_messages().reply_error(
        503, headers={"x-should-retry": "false", "request-id": "req_42"}, retry_after=0.25
    )
    with pytest.raises(anthropic.ServiceUnavailableError) as caught:
        call_anthropic(anthropic_client(server), False)
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["x-should-retry"]) == ("0.25", "false")
    assert headers["content-type"] == "application/json"
    assert caught.value.request_id == "req_42"


# --- retries -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("api", "stream"), CASES)
def test_fail_once_then_succeed_with_default_retries(
    m: MockBuilder, server: MockServer, api: str, stream: bool
) -> None:
    status = 529 if APIS[api][0] == "anthropic" else 429
    mocks = builder(m, api).named("flaky")
    mocks.once().reply_error(status, headers=FAST)
    mocks.named("steady").reply(APIS[api][3])
    assert APIS[api][1](client(server, api), stream) == APIS[api][3]
    assert [(r.status, r.mock) for r in server.journal] == [(status, "flaky"), (200, "steady")]
    assert [r.headers["x-stainless-retry-count"] for r in server.journal] == ["0", "1"]


@pytest.mark.parametrize(("api", "stream"), CASES)
async def test_async_fail_once_then_succeed_with_default_retries(
    m: MockBuilder, server: MockServer, api: str, stream: bool
) -> None:
    first, then = builder(m, api).in_sequence(2)
    first.reply_error(503, headers=FAST)
    then.reply(APIS[api][3])
    assert await APIS[api][2](async_client(server, api), stream) == APIS[api][3]
    assert [r.status for r in server.journal] == [503, 200]


def test_the_sdks_give_up_after_their_default_retries(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().reply_error(500, headers=FAST)
    m.anthropic_messages().reply_error(529, headers=FAST)
    with pytest.raises(openai.InternalServerError):
        call_chat(client(server, "chat"), False)
    with pytest.raises(anthropic.OverloadedError):
        call_anthropic(client(server, "anthropic"), False)
    assert [r.status for r in server.journal] == [500] * 3 + [529] * 3


def test_times_lets_an_error_answer_several_retries(m: MockBuilder, server: MockServer) -> None:
    chat = m.openai_chat()
    chat.times(2).reply_error(429, retry_after=0.005)
    chat.reply("third time lucky")
    assert call_chat(client(server, "chat"), False) == "third time lucky"
    assert [r.status for r in server.journal] == [429, 429, 200]


@pytest.mark.parametrize("api", ["chat", "anthropic"])
def test_a_400_is_not_retried(m: MockBuilder, server: MockServer, api: str) -> None:
    mocks = builder(m, api)
    mocks.once().reply_error(400, message="bad request", headers=FAST)
    mocks.reply(APIS[api][3])
    sdk = anthropic if APIS[api][0] == "anthropic" else openai
    with pytest.raises(sdk.BadRequestError, match="bad request"):
        APIS[api][1](client(server, api), False)
    assert [r.status for r in server.journal] == [400]


@pytest.mark.parametrize(("api", "stream"), CASES)
def test_x_should_retry_false_stops_retries_of_a_500(
    m: MockBuilder, server: MockServer, api: str, stream: bool
) -> None:
    mocks = builder(m, api)
    mocks.once().reply_error(500, headers={"x-should-retry": "false", **FAST})
    mocks.reply(APIS[api][3])
    sdk = anthropic if APIS[api][0] == "anthropic" else openai
    with pytest.raises(sdk.InternalServerError):
        APIS[api][1](client(server, api), stream)
    assert [r.status for r in server.journal] == [500]


def test_x_should_retry_true_retries_a_400(m: MockBuilder, server: MockServer) -> None:
    chat = m.openai_chat()
    chat.once().reply_error(400, headers={"x-should-retry": "true", **FAST})
    chat.reply("fine")
    assert call_chat(client(server, "chat"), False) == "fine"
    assert [r.status for r in server.journal] == [400, 200]


# --- the journal, the runtime, the JSON config -------------------------------------------------------


def test_the_journal_records_the_error_mock(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().named("quota").reply_error(429, message="no more")
    with pytest.raises(openai.RateLimitError):
        call_chat(openai_client(server), False)
    (record,) = server.journal
    assert (record.status, record.mock, record.error, record.matched) == (429, "quota", "no more", True)
    assert server.journal.unmatched == []


def test_an_error_mock_moves_its_scenario_on(m: MockBuilder, server: MockServer) -> None:
    chat = m.openai_chat()
    chat.in_scenario("outage", required_state="Started", new_state="recovered").reply_error(503)
    chat.in_scenario("outage", required_state="recovered").reply("back")
    with pytest.raises(openai.InternalServerError):
        call_chat(openai_client(server), False)
    assert server.scenarios == {"outage": "recovered"}
    assert call_chat(openai_client(server), False) == "back"


async def test_an_error_mock_from_a_json_config(serve: ServeFn) -> None:
    config = Config.from_json(
        """{"anthropic": [
          {"name": "busy", "times": 1, "match": {"match_type": "contains", "message": {}},
           "error": {"status": 529, "message": "Overloaded", "headers": {"retry-after-ms": "5"}}},
          {"match": {"match_type": "contains", "message": {}},
           "response": {"content": [{"type": "text", "text": "done"}]}}
        ]}"""
    )
    server = serve(config)
    strict = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)
    with pytest.raises(anthropic.OverloadedError, match="Overloaded"):
        await acall_anthropic(strict, False)
    assert await acall_anthropic(async_anthropic_client(server), True) == "done"
    assert [(r.status, r.mock) for r in server.journal] == [(529, "busy"), (200, "anthropic[1]")]


def test_the_raw_answer_on_the_wire(m: MockBuilder, server: MockServer) -> None:
    m.openai_responses().reply_error(503, type="server_error", message="down", headers={"Retry-After": "1"})
    reply = httpx.post(
        f"{server.openai_base_url}/responses",
        json={"model": "gpt-5", "input": "hi", "stream": True},
        headers={"authorization": "Bearer test"},
    )
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "1"
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"error": {"message": "down", "type": "server_error", "param": None, "code": None}}


async def test_async_openai_default_client_sees_a_plain_error(m: MockBuilder, server: MockServer) -> None:
    m.openai_embeddings().reply_error(422, message="unprocessable")
    with pytest.raises(openai.UnprocessableEntityError, match="unprocessable"):
        await acall_embeddings(async_openai_client(server), False)


MATCH = {"match_type": "contains", "message": {}}


@pytest.mark.parametrize(
    ("mock", "path", "message"),
    [
        ({"match": MATCH}, "$.openai[0]", 'missing required key "response" (or "error"'),
        (
            {"match": MATCH, "response": {}, "error": {"status": 500}},
            "$.openai[0]",
            'both "response" and "error"',
        ),
        (
            {"match": MATCH, "error": {"status": 399}},
            "$.openai[0].error.status",
            "greater than or equal to 400",
        ),
        ({"match": MATCH, "error": {"status": 600}}, "$.openai[0].error.status", "less than or equal to 599"),
        ({"match": MATCH, "error": {"status": "429"}}, "$.openai[0].error.status", "valid integer"),
        ({"match": MATCH, "error": {"status": 429.0}}, "$.openai[0].error.status", "valid integer"),
        ({"match": MATCH, "error": {}}, "$.openai[0].error.status", 'missing required key "status"'),
        (
            {"match": MATCH, "error": {"status": 429, "headers": {"retry-after": 5}}},
            "$.openai[0].error.headers.retry-after",
            "valid string",
        ),
        (
            {"match": MATCH, "error": {"status": 429, "headers": ["retry-after"]}},
            "$.openai[0].error.headers",
            "valid dictionary",
        ),
        (
            {"match": MATCH, "error": {"status": 429, "headers": {"x-a": "1\r\nx-b: 2"}}},
            "$.openai[0].error.headers",
            "line break",
        ),
        (
            {"match": MATCH, "error": {"status": 429, "headers": {"x-a": "caf\u00e9"}}},
            "$.openai[0].error.headers",
            "not printable ASCII",
        ),
        (
            {"match": MATCH, "error": {"status": 429, "headers": {"bad name": "1"}}},
            "$.openai[0].error.headers",
            "not a valid HTTP header name",
        ),
        (
            {"match": MATCH, "error": {"status": 429, "headers": {"Content-Length": "1"}}},
            "$.openai[0].error.headers",
            "set by the server",
        ),
        ({"match": MATCH, "error": {"status": 429, "type": 7}}, "$.openai[0].error.type", "valid string"),
        (
            {"match": MATCH, "error": {"status": 429, "mesage": "x"}},
            "$.openai[0].error.mesage",
            'did you mean "message"',
        ),
    ],
)
def test_bad_error_values_are_load_errors_with_their_path(
    mock: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_dict({"openai": [mock]})
    assert [where for where, _ in caught.value.problems] == [path]
    assert message in caught.value.problems[0][1]


def test_error_mocks_round_trip_through_json(m: MockBuilder) -> None:
    chat = m.openai_chat()
    chat.once().reply_error(
        429, message="slow", type="requests", headers={"retry-after-ms": "5"}, retry_after=1
    )
    m.anthropic_messages().named("overloaded").reply_error(529)
    m.openai_embeddings().reply([1.0])
    config = m.build()
    assert Config.from_json(config.to_json()) == config
    assert '"error": {\n' in config.to_json()
    assert config.openai[0].error is not None and config.openai[0].response is None
    assert config.openai[0].error.headers == {"retry-after-ms": "5", "retry-after": "1"}


def test_a_message_that_is_not_unicode_text_is_served_escaped(m: MockBuilder, server: MockServer) -> None:
    m.anthropic_messages().reply_error(500, message="half a pair: \ud800", type="api_\udfff")
    with pytest.raises(anthropic.InternalServerError) as caught:
        call_anthropic(anthropic_client(server), False)
    assert caught.value.api_message == "half a pair: \\ud800"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda b: b.reply_error(200), "from 400 to 599"),
        (lambda b: b.reply_error(True), "from 400 to 599"),
        (lambda b: b.reply_error("429"), "from 400 to 599"),
        (lambda b: b.reply_error(429, retry_after=-1), "retry_after"),
        (lambda b: b.reply_error(429, headers={"retry-after": 1}), "error.headers.retry-after"),
    ],
)
def test_the_builder_refuses_bad_values(m: MockBuilder, call: Callable[[Any], Any], problem: str) -> None:
    with pytest.raises(BuilderError, match=problem):
        call(m.openai_chat())
    assert m.build().counts()["openai"] == 0


def test_the_schema_says_a_mock_has_response_or_error() -> None:
    schema = Config.model_json_schema()["$defs"]
    for name in ("OpenAIMock", "OpenAIResponseMock", "OpenAIEmbeddingMock", "AnthropicMock"):
        answers = [{"required": ["response"]}, {"required": ["error"]}]
        if name == "OpenAIEmbeddingMock":  # or vectors made from each input
            answers.append({"required": ["vectors_from_text"]})
        assert schema[name]["oneOf"] == answers
        assert schema[name]["properties"]["error"]["anyOf"][0] == {"$ref": "#/$defs/ErrorReply"}
    assert schema["ErrorReply"]["properties"]["status"] == {
        "maximum": 599,
        "minimum": 400,
        "title": "Status",
        "type": "integer",
    }
    assert schema["ErrorReply"]["required"] == ["status"]
