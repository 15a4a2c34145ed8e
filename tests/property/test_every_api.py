"""What goes over all APIs works for every API the registry lists, through its adapter alone
(DESIGN.md §13): faults of every kind cut each stream where they say with the API's own broken and
error events, error replies and chaos answer in the provider's shape, timing paces every stream,
a recorded stream replays as it streamed, and the journal names the API. The expectations are
read from the adapter and its provider; the only per-API lines here are a request and an answer
for each API, and a new API without them fails `test_every_registered_api_has_an_example`."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockllm import Config, MockServer, Recording
from mockllm.config_parts import MID_STREAM_FAULTS
from mockllm.server.compiled import CompiledConfig
from mockllm.server.faults import after_events_limit
from mockllm.server.registry import ADAPTERS

from .support import server_settings

JsonObject = dict[str, Any]
ServeFn = Callable[[Config], MockServer]


@dataclass(frozen=True)
class Example:
    """A request of an API that its catch-all mock answers, and that answer."""

    path: str
    stream_path: str | None
    """Where the same request streams (the body gets ``stream: true`` when the path is the same)."""
    body: JsonObject
    headers: dict[str, str]
    response: JsonObject
    model: str
    catch_all: JsonObject


_BEARER = {"authorization": "Bearer test", "content-type": "application/json"}
_GOOGLE = {"x-goog-api-key": "test", "content-type": "application/json"}
_TEXT = "The quick brown fox jumps over the lazy dog, twice over."

EXAMPLES: dict[str, Example] = {
    "openai": Example(
        "/v1/chat/completions",
        "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        _BEARER,
        {"choices": [{"message": {"content": _TEXT}}], "created": 0},
        "m",
        {"match_type": "contains", "message": {"content": ""}},
    ),
    "openai_response": Example(
        "/v1/responses",
        "/v1/responses",
        {"model": "m", "input": "hi"},
        _BEARER,
        {
            "output": [{"type": "message", "content": [{"type": "output_text", "text": _TEXT}]}],
            "created_at": 0,
        },
        "m",
        {"match_type": "contains", "input": ""},
    ),
    "openai_embeddings": Example(
        "/v1/embeddings",
        None,
        {"model": "m", "input": "hi", "encoding_format": "float"},
        _BEARER,
        {"data": [{"embedding": [0.5, 0.25]}]},
        "m",
        {"match_type": "contains", "input": ""},
    ),
    "anthropic": Example(
        "/v1/messages",
        "/v1/messages",
        {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
        {**_BEARER, "anthropic-version": "2023-06-01"},
        {"content": [{"type": "text", "text": _TEXT}]},
        "m",
        {"match_type": "contains", "message": {"content": ""}},
    ),
    "gemini": Example(
        "/v1/models/g:generateContent",
        "/v1/models/g:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        _GOOGLE,
        {"candidates": [{"content": {"parts": [{"text": _TEXT}]}}]},
        "g",
        {"match_type": "contains", "message": {"parts": []}},
    ),
    "gemini_embeddings": Example(
        "/v1/models/e:batchEmbedContents",
        None,
        {"requests": [{"content": {"parts": [{"text": "hi"}]}}]},
        _GOOGLE,
        {"embedding": {"values": [0.5, 0.25]}},
        "e",
        {"match_type": "contains", "input": ""},
    ),
    "ollama": Example(
        "/api/generate",
        "/api/generate",
        {"model": "m", "stream": False, "prompt": "hi"},
        {"content-type": "application/json"},
        {"message": {"role": "assistant", "content": _TEXT}, "created_at": "2026-12-06T00:00:00Z"},
        "m",
        {"match_type": "contains", "message": {"content": ""}},
    ),
    "ollama_embeddings": Example(
        "/api/embed",
        None,
        {"model": "m", "input": "hi"},
        {"content-type": "application/json"},
        {"embeddings": [[0.5, 0.25]]},
        "m",
        {"match_type": "contains", "input": ""},
    ),
    "bedrock": Example(
        "/model/anthropic.claude-v2%3A1/converse",
        "/model/anthropic.claude-v2%3A1/converse-stream",
        {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
        {"authorization": "AWS4-HMAC-SHA256 Credential=x", "content-type": "application/json"},
        {"output": {"message": {"role": "assistant", "content": [{"text": _TEXT}]}}},
        "anthropic.claude-v2:1",
        {"match_type": "contains", "message": {"content": []}},
    ),
}
STREAMING = sorted(key for key, adapter in ADAPTERS.items() if adapter.streaming is not None)


def test_every_registered_api_has_an_example() -> None:
    assert set(EXAMPLES) == set(ADAPTERS)
    for key, example in EXAMPLES.items():
        assert (example.stream_path is not None) == (ADAPTERS[key].streaming is not None), key  # type: ignore[index]


def _config(key: str, **mock: Any) -> Config:
    example = EXAMPLES[key]
    return Config.from_dict({key: [{"match": example.catch_all, "response": example.response, **mock}]})


def _request(
    server: MockServer, key: str, *, stream: bool, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    """One request; a connection the server drops gives the bytes that came before."""
    example = EXAMPLES[key]
    path = example.stream_path if stream else example.path
    assert path is not None
    body = {**example.body, "stream": True} if stream and path == example.path else example.body
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request(
            "POST", path, body=orjson.dumps(body), headers={**example.headers, **(headers or {})}
        )
        response = connection.getresponse()
        try:
            data = response.read()
        except http.client.IncompleteRead as cut:
            data = cut.partial
        return response.status, data, {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()


def _events(key: str) -> list[bytes]:
    """The API's plain stream of the example's answer to the example's request, as its adapter
    renders it (its usage counting the request's prompt)."""
    adapter = ADAPTERS[key]  # type: ignore[index]
    streaming = adapter.streaming
    assert streaming is not None
    answer = CompiledConfig.of(_config(key)).apis[key].answer(0)  # type: ignore[index]
    request = {**EXAMPLES[key].body, "model": EXAMPLES[key].model}
    return answer.stream_events(request, streaming.shortest)  # type: ignore[union-attr]


@pytest.fixture
def server(serve: ServeFn) -> MockServer:
    return serve(Config())


@server_settings(share=2)
@given(key=st.sampled_from(STREAMING), kind=st.sampled_from(sorted(MID_STREAM_FAULTS)), data=st.data())
def test_a_fault_cuts_every_api_s_stream_where_it_says(
    server: MockServer, key: str, kind: str, data: st.DataObject
) -> None:
    events = _events(key)
    streaming = ADAPTERS[key].streaming  # type: ignore[index]
    assert streaming is not None
    after = data.draw(st.integers(0, after_events_limit(kind, len(events))))
    server.set_config(_config(key, fault={"kind": kind, "after_events": after}))
    status, body, _ = _request(server, key, stream=True)
    assert status == 200
    answer = CompiledConfig.of(_config(key)).apis[key].answer(0)  # type: ignore[index]
    response = answer.response_for(EXAMPLES[key].model)  # type: ignore[union-attr]
    expected = events[:after]
    if kind == "malformed":
        expected.append(streaming.malformed_event(streaming.shortest))
    elif kind == "error_event":
        expected.append(streaming.error_event(response, after, streaming.shortest))
    assert body == b"".join(expected)
    entry = list(server.journal)[-1]
    assert (entry.api, entry.fault, entry.events_total) == (key, kind, len(events))
    assert entry.events_sent == len(expected)


@server_settings(share=2)
@given(key=st.sampled_from(sorted(EXAMPLES)), status=st.integers(400, 599), stream=st.booleans())
def test_error_replies_and_chaos_take_the_provider_s_shape(
    server: MockServer, key: str, status: int, stream: bool
) -> None:
    adapter = ADAPTERS[key]  # type: ignore[index]
    provider = adapter.provider
    stream = stream and adapter.streaming is not None
    example = EXAMPLES[key]
    server.set_config(Config.from_dict({key: [{"match": example.catch_all, "error": {"status": status}}]}))
    got, body, headers = _request(server, key, stream=stream)
    kind, code = provider.default_type(status), provider.default_code(status)
    message = f"mocked error: {status} {code or kind}"
    assert (got, orjson.loads(body)) == (
        status,
        orjson.loads(provider.error_body(status, message, kind=kind, code=code)),
    )
    assert headers["content-type"] == "application/json"

    server.set_config(_config(key))
    got, body, _ = _request(server, key, stream=stream, headers={"x-mockllm-chaos": "error-rate=1"})
    assert got == provider.overloaded_status
    assert orjson.loads(body) == orjson.loads(
        provider.overloaded("mockllm chaos: the server is overloaded, try again").body
    )
    entry = list(server.journal)[-1]
    assert (entry.api, entry.fault, entry.status) == (key, "chaos_error", provider.overloaded_status)


@pytest.mark.parametrize("key", STREAMING)
def test_timing_paces_every_api_s_stream(server: MockServer, key: str) -> None:
    server.set_config(_config(key, timing={"ttft_ms": 20, "chunk_interval_ms": 1}))
    status, body, _ = _request(server, key, stream=True)
    assert status == 200 and body == b"".join(_events(key))
    entry = list(server.journal)[-1]
    assert entry.api == key and entry.events_sent == entry.events_total == len(_events(key))
    assert entry.ttfb_ms is not None and entry.ttfb_ms >= 15


@pytest.mark.parametrize("key", STREAMING)
def test_a_recorded_stream_replays_as_it_streamed(serve: ServeFn, tmp_path: Path, key: str) -> None:
    adapter = ADAPTERS[key]  # type: ignore[index]
    streaming = adapter.streaming
    assert streaming is not None
    upstream = serve(_config(key))
    cassette = tmp_path / "cassette.json"
    base = adapter.provider.base_url(upstream.url)
    recorder = serve(Config())
    recorder.set_recording(Recording(cassette, upstreams={adapter.provider.name: base}))
    status, streamed, _ = _request(recorder, key, stream=True)
    assert status == 200
    assert [entry.status for entry in upstream.journal] == [200]
    recorder.stop_thread()  # a stopping server waits for the streams it relays: the cassette is written
    replay = serve(Config.from_json(cassette.read_bytes()))
    status, replayed, _ = _request(replay, key, stream=True)
    assert status == 200
    assert list(replay.journal)[-1].api == key and list(replay.journal)[-1].mock is not None
    first, again = streaming.reassemble(streamed), streaming.reassemble(replayed)
    assert first is not None and again == first
    status, _, _ = _request(replay, key, stream=False)
    assert status == 200
