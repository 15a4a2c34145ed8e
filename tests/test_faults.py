"""``fault`` on a mock: resets, stalls and streams cut short, malformed or failing, through the
official SDKs and a raw HTTP client over real HTTP."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from mockllm import BuilderError, Config, ConfigError, MockServer
from mockllm.builders import MockBuilder
from mockllm.server import faults
from mockllm.server.compiled import CompiledConfig

from .conftest import anthropic_client, async_anthropic_client, async_openai_client, openai_client

TEXT = "A stream that goes wrong somewhere along the way."
MESSAGES: Any = [{"role": "user", "content": "hi"}]
APIS = ["chat", "responses", "anthropic"]
TERMINAL = {
    "chat": b"data: [DONE]",
    "responses": b"event: response.completed",
    "anthropic": b"event: message_stop",
}


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No fault is a bug of the server: nothing reaches the log at ERROR."""
    caplog.set_level(logging.INFO)
    yield
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def faulty(api: str, m: MockBuilder, kind: str, after_events: int | None = None, **timing: Any) -> None:
    builder = {
        "chat": m.openai_chat(),
        "responses": m.openai_responses(),
        "anthropic": m.anthropic_messages(),
    }[api]
    if timing:
        builder = builder.with_timing(**timing)
    builder.when_model("faulty").with_fault(kind, after_events=after_events).reply(TEXT)  # type: ignore[arg-type]
    m.openai_chat().priority(9).reply("still serving")  # after any faulty mock, whenever registered


def raw_request(
    server: MockServer, api: str, *, stream: bool = True
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL, headers and body of a request to ``api`` for the faulty mock."""
    if api == "anthropic":
        headers = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
        body = {"model": "faulty", "max_tokens": 10, "messages": MESSAGES, "stream": stream}
        return server.anthropic_base_url + "/v1/messages", headers, body
    headers = {"authorization": "Bearer test"}
    if api == "chat":
        return (
            server.openai_base_url + "/chat/completions",
            headers,
            {"model": "faulty", "messages": MESSAGES, "stream": stream},
        )
    return (
        server.openai_base_url + "/responses",
        headers,
        {"model": "faulty", "input": "hi", "stream": stream},
    )


def read_events(server: MockServer, api: str) -> tuple[list[bytes], Exception | None]:
    """The complete SSE events of a stream, and the transport error that ended it, if any."""
    url, headers, body = raw_request(server, api)
    received = b""
    error: Exception | None = None
    with (
        httpx.Client(timeout=5) as client,
        client.stream("POST", url, headers=headers, json=body) as response,
    ):
        assert response.status_code == 200
        try:
            for chunk in response.iter_bytes():
                received += chunk
        except httpx.TransportError as exc:
            error = exc
    *events, rest = received.split(b"\n\n")
    assert rest == b""  # every event that went out went out whole
    return events, error


def assert_still_serving(server: MockServer) -> None:
    reply = openai_client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices[0].message.content == "still serving"


def full_count(server: MockServer, api: str, m: MockBuilder) -> int:
    """How many events the answer's whole stream has."""
    faulty(api, m, "truncate")
    events, _ = read_events(server, api)
    m.reset()
    return len(events) + 1


# --- what goes over the wire ----------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("after", [0, 3])
def test_disconnect_delivers_exactly_after_events_then_drops_the_connection(
    m: MockBuilder, server: MockServer, api: str, after: int
) -> None:
    faulty(api, m, "disconnect", after)
    events, error = read_events(server, api)
    assert len(events) == after
    assert isinstance(error, httpx.RemoteProtocolError)  # no end of the chunked body
    assert_still_serving(server)


@pytest.mark.parametrize("api", APIS)
def test_truncate_leaves_out_the_terminal_event_and_ends_cleanly(
    m: MockBuilder, server: MockServer, api: str
) -> None:
    count = full_count(server, api, m)
    faulty(api, m, "truncate")
    events, error = read_events(server, api)
    assert error is None
    assert len(events) == count - 1
    assert not any(event.startswith(TERMINAL[api]) for event in events)
    m.reset()
    faulty(api, m, "truncate", 2)
    events, error = read_events(server, api)
    assert (len(events), error) == (2, None)


@pytest.mark.parametrize("api", APIS)
def test_malformed_and_error_event_come_after_after_events(
    m: MockBuilder, server: MockServer, api: str
) -> None:
    faulty(api, m, "malformed", 2)
    events, error = read_events(server, api)
    assert error is None
    assert len(events) == 3 and events[-1].endswith(b"data: {not json")
    m.reset()
    faulty(api, m, "error_event")  # by default, before any other event
    [event], error = read_events(server, api)
    assert error is None
    data = json.loads(event.rpartition(b"data: ")[2])
    if api == "anthropic":
        assert event.startswith(b"event: error\n")
        assert data["error"]["type"] == "overloaded_error"
    elif api == "responses":
        assert data["type"] == "response.failed"
        assert data["response"]["status"] == "failed" and data["response"]["error"]["code"] == "server_error"
    else:
        assert data["error"]["type"] == "server_error"


def test_malformed_defaults_to_the_middle_of_the_stream(m: MockBuilder, server: MockServer) -> None:
    count = full_count(server, "anthropic", m)
    faulty("anthropic", m, "malformed")
    events, _ = read_events(server, "anthropic")
    assert len(events) == count // 2 + 1
    assert events[-1] == b"event: content_block_delta\ndata: {not json"


def test_a_fault_combines_with_timing(m: MockBuilder, server: MockServer) -> None:
    faulty("chat", m, "disconnect", 2, ttft_ms=40, chunk_interval_ms=10)
    start = time.monotonic()
    events, error = read_events(server, "chat")
    assert len(events) == 2 and error is not None
    assert time.monotonic() - start >= 0.05


# --- what the SDKs raise --------------------------------------------------------------------------------


def consume(api: str, server: MockServer, **kwargs: Any) -> Any:
    """Read the faulty mock's stream with the SDK's stream helper to its final answer."""
    if api == "chat":
        with openai_client(server, **kwargs).chat.completions.stream(
            model="faulty", messages=MESSAGES
        ) as stream:
            return stream.get_final_completion()
    if api == "responses":
        with openai_client(server, **kwargs).responses.stream(model="faulty", input="hi") as stream:
            return stream.get_final_response()
    client = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0, **kwargs)
    with client.messages.stream(model="faulty", max_tokens=10, messages=MESSAGES) as stream:
        return stream.get_final_message()


CONNECTION_ERRORS = (openai.APIConnectionError, anthropic.APIConnectionError, httpx.TransportError)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("kind", ["disconnect", "reset"])
def test_sdks_raise_a_connection_error_for_disconnect_and_reset(
    m: MockBuilder, server: MockServer, api: str, kind: str
) -> None:
    faulty(api, m, kind, 3 if kind == "disconnect" else None)
    with pytest.raises(CONNECTION_ERRORS):
        consume(api, server)
    assert_still_serving(server)


def test_stream_helpers_refuse_a_truncated_stream(m: MockBuilder, server: MockServer) -> None:
    faulty("responses", m, "truncate")
    with pytest.raises(RuntimeError, match=r"response\.completed"):
        consume("responses", server)
    # The chat and Anthropic helpers end at EOF without [DONE] or message_stop as well as with it:
    # what arrived is the answer, cut where the fault cut it.
    faulty("anthropic", m, "truncate", 4)
    message = consume("anthropic", server)
    text = message.content[0].text  # type: ignore[union-attr]
    assert message.stop_reason is None and TEXT.startswith(text) and text != TEXT
    faulty("chat", m, "truncate", 3)
    completion = consume("chat", server)
    text = completion.choices[0].message.content
    assert (
        text is not None
        and TEXT.startswith(text)
        and text != TEXT
        and completion.choices[0].finish_reason is None
    )


@pytest.mark.parametrize("api", APIS)
def test_sdks_fail_to_decode_a_malformed_event(m: MockBuilder, server: MockServer, api: str) -> None:
    faulty(api, m, "malformed", 2)
    with pytest.raises(json.JSONDecodeError):
        consume(api, server)


def test_sdks_raise_the_in_stream_error(m: MockBuilder, server: MockServer) -> None:
    for api in APIS:
        faulty(api, m, "error_event", 2)
    with pytest.raises(openai.APIError, match="overloaded") as chat_error:
        consume("chat", server)
    assert not isinstance(chat_error.value, openai.APIStatusError)
    with pytest.raises(anthropic.APIStatusError) as claude_error:
        consume("anthropic", server)
    assert claude_error.value.type == "overloaded_error"  # type: ignore[attr-defined]
    # responses.stream() yields response.failed, then finds no response.completed.
    with openai_client(server).responses.stream(model="faulty", input="hi") as stream:
        failed = [event for event in stream if event.type == "response.failed"]
        assert failed[0].response.status == "failed"  # type: ignore[union-attr]
        with pytest.raises(RuntimeError):
            stream.get_final_response()


async def test_async_clients_see_the_same_faults(m: MockBuilder, server: MockServer) -> None:
    faulty("chat", m, "disconnect", 2)
    faulty("anthropic", m, "error_event", 1)
    stream = await async_openai_client(server).chat.completions.create(
        model="faulty", messages=MESSAGES, stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            pass
    with pytest.raises(anthropic.APIStatusError, match="overloaded"):
        async with async_anthropic_client(server).messages.stream(
            model="faulty", max_tokens=10, messages=MESSAGES
        ) as claude:
            await claude.get_final_message()


def test_stall_ends_in_the_clients_timeout(m: MockBuilder, server: MockServer) -> None:
    faulty("chat", m, "stall")
    faulty("anthropic", m, "stall")
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        openai_client(server, timeout=0.3).chat.completions.create(
            model="faulty", messages=MESSAGES, stream=True
        )
    with pytest.raises(anthropic.APITimeoutError):
        anthropic.Anthropic(
            base_url=server.anthropic_base_url, api_key="test", max_retries=0, timeout=0.3
        ).messages.create(model="faulty", max_tokens=10, messages=MESSAGES)
    assert time.monotonic() - start < 2
    assert_still_serving(server)


def test_the_server_lets_go_of_a_stall_after_its_bound(
    m: MockBuilder, server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faults, "STALL_LIMIT_S", 0.05)
    faulty("responses", m, "stall")
    url, headers, body = raw_request(server, "responses")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(url, headers=headers, json=body, timeout=5)
    assert_still_serving(server)


@pytest.mark.parametrize(
    ("kind", "raised"),
    [
        ("reset", openai.APIConnectionError),
        ("disconnect", openai.APIConnectionError),
        ("truncate", openai.APIConnectionError),
        ("malformed", json.JSONDecodeError),
        ("error_event", openai.InternalServerError),
    ],
)
def test_a_json_answer_meets_the_fault_as_a_network_would_show_it(
    m: MockBuilder, server: MockServer, kind: str, raised: type[Exception]
) -> None:
    faulty("chat", m, kind)
    with pytest.raises(raised):
        openai_client(server).chat.completions.create(model="faulty", messages=MESSAGES)
    assert_still_serving(server)


def test_an_anthropic_json_error_event_is_overloaded(m: MockBuilder, server: MockServer) -> None:
    faulty("anthropic", m, "error_event")
    with pytest.raises(anthropic.OverloadedError):
        anthropic_client(server).messages.create(model="faulty", max_tokens=10, messages=MESSAGES)


def test_a_faulty_mock_is_counted_and_journalled(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().with_fault("reset").reply("never")
    with pytest.raises(openai.APIConnectionError):
        openai_client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    [entry] = list(server.journal)
    assert entry.status == 200 and entry.mock == "openai[0]"


# --- the config key -------------------------------------------------------------------------------------


MOCK = {"match": {"match_type": "contains", "message": {"content": "x"}}, "response": {"choices": []}}
CHAT = {
    "match": {"match_type": "contains", "message": {"content": "x"}},
    "response": {"choices": [{"index": 0, "message": {"role": "assistant", "content": "one two"}}]},
}


@pytest.mark.parametrize(
    ("fault", "path", "problem"),
    [
        ({"kind": "boom"}, "fault.kind", "'reset'"),
        ({}, "fault.kind", "missing"),
        ({"kind": "reset", "after_events": 1}, "fault", '"after_events" is for the mid-stream kinds'),
        ({"kind": "stall", "after_events": 0}, "fault", '"after_events" is for the mid-stream kinds'),
        ({"kind": "disconnect", "after_events": -1}, "fault.after_events", "greater than or equal to 0"),
        ({"kind": "disconnect", "after_events": "1"}, "fault.after_events", "integer"),
        ({"kind": "disconnect", "after_events": True}, "fault.after_events", "integer"),
        ({"kind": "truncate", "at": 1}, "fault.at", "unknown key"),
    ],
)
def test_bad_faults_are_load_errors_at_their_path(fault: dict[str, Any], path: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_dict({"openai": [MOCK, {**MOCK, "fault": fault}]})
    [(where, message)] = caught.value.problems
    assert where == f"$.openai[1].{path}"
    assert problem in message


def test_a_fault_needs_a_response_not_an_error() -> None:
    mock = {"match": MOCK["match"], "error": {"status": 500}, "fault": {"kind": "reset"}}
    with pytest.raises(ConfigError, match=r"\$\.openai\[0\].*a fault goes with a \"response\""):
        Config.from_dict({"openai": [mock]})


def test_after_events_past_the_end_of_the_stream_is_a_load_error() -> None:
    # "one two": the role chunk, two pieces, the finish chunk and [DONE].
    for kind, limit in [("disconnect", 5), ("malformed", 5), ("error_event", 5), ("truncate", 4)]:
        CompiledConfig.of(
            Config.from_dict({"openai": [{**CHAT, "fault": {"kind": kind, "after_events": limit}}]})
        )
        config = Config.from_dict({"openai": [{**CHAT, "fault": {"kind": kind, "after_events": limit + 1}}]})
        with pytest.raises(ConfigError) as caught:
            CompiledConfig.of(config)
        [(where, message)] = caught.value.problems
        assert where == "$.openai[0].fault.after_events"
        assert f"it has 5 events, so a {kind} fault takes at most {limit}" in message


def test_the_builder_refuses_after_events_past_the_end(m: MockBuilder, server: MockServer) -> None:
    with pytest.raises((BuilderError, ConfigError), match="past the end of the stream"):
        m.anthropic_messages().with_fault("disconnect", after_events=1000).reply("short")


def test_with_fault_refuses_bad_values(m: MockBuilder) -> None:
    with pytest.raises(BuilderError, match=r"with_fault\(\): kind='boom'"):
        m.openai_chat().with_fault("boom")  # type: ignore[arg-type]
    with pytest.raises(BuilderError, match="after_events"):
        m.anthropic_messages().with_fault("reset", after_events=1)
    with pytest.raises(BuilderError, match="after_events"):
        m.openai_responses().with_fault("disconnect", after_events=-1)


def test_fault_round_trips_through_json() -> None:
    text = json.dumps(
        {
            "openai": [{**MOCK, "fault": {"kind": "disconnect", "after_events": 0}}],
            "anthropic": [{**MOCK, "fault": {"kind": "stall"}, "timing": {"ttft_ms": 1}}],
        }
    )
    config = Config.from_json(text)
    assert json.loads(config.to_json()) == json.loads(text)
    assert Config.from_json(config.to_json()) == config
