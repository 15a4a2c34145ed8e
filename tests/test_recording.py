"""Record and replay: a mockllm in front of an "upstream" (a second mockllm on 127.0.0.1) forwards
what no mock matches, records it to a cassette, and the cassette replays the same answers offline."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import logging
import re
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import orjson
import pytest

from mockllm import Config, MockServer, Recording, load_config
from mockllm.server.app import UPSTREAM

from .conftest import anthropic_client, async_anthropic_client, openai_client

SECRET = "sk-very-secret-key-1234567890"

UPSTREAM_CONFIG: dict[str, Any] = {
    "openai": [
        {
            "match": {
                "match_type": "contains",
                "message": {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
            },
            "response": {
                "choices": [{"message": {"role": "assistant", "content": "It is sunny in Paris."}}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26},
            },
        },
        {
            "match": {"match_type": "contains", "message": {"role": "user", "content": "weather"}},
            "response": {
                "choices": [
                    {
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [
                                {
                                    "id": "call_1",
                                    "type": "function",
                                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                                }
                            ],
                        },
                        "finish_reason": "tool_calls",
                    }
                ]
            },
        },
        {
            "match": {"match_type": "contains", "message": {"role": "user", "content": "rate limit me"}},
            "error": {"status": 429, "message": "slow down", "headers": {"retry-after": "7"}},
        },
        {
            "match": {"match_type": "contains", "message": {"role": "user", "content": "hang"}},
            "response": {"choices": [{"message": {"role": "assistant", "content": "late"}}]},
            "timing": {"ttft_ms": 5000},
        },
    ],
    "openai_response": [
        {
            "match": {"match_type": "contains", "input": "call_2"},
            "response": {
                "output": [
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "Sunny, 24 degrees."}],
                    }
                ]
            },
        },
        {
            "match": {"match_type": "contains", "input": "weather"},
            "response": {
                "output": [
                    {
                        "type": "function_call",
                        "call_id": "call_2",
                        "name": "get_weather",
                        "arguments": '{"city": "Paris"}',
                    }
                ]
            },
        },
    ],
    "anthropic": [
        {
            "match": {
                "match_type": "contains",
                "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]},
            },
            "response": {"content": [{"type": "text", "text": "Sunny in Paris."}], "stop_reason": "end_turn"},
        },
        {
            "match": {"match_type": "contains", "message": {"role": "user", "content": "weather"}},
            "response": {
                "content": [
                    {"type": "thinking", "thinking": "The user wants the weather.", "signature": "sig"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                ],
                "stop_reason": "tool_use",
            },
        },
    ],
    "openai_embeddings": [
        {
            "match": {"match_type": "contains", "input": "hello"},
            "response": {
                "data": [
                    {"index": 0, "embedding": [0.1, -0.25, 0.5, 1.0]},
                    {"index": 1, "embedding": [0.3, 0.7, -0.125, 0.0]},
                ]
            },
        }
    ],
}

TOOLS: Any = [
    {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
    }
]


@pytest.fixture
def upstream() -> Iterator[MockServer]:
    with MockServer(Config.from_dict(UPSTREAM_CONFIG)) as server:
        yield server


def recorder_for(upstream: MockServer, path: Path | None, **options: Any) -> MockServer:
    recording = Recording(
        path,
        openai_upstream=upstream.openai_base_url,
        anthropic_upstream=upstream.anthropic_base_url,
        **options,
    )
    return MockServer(record=recording)


def openai_with_key(server: MockServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key=SECRET, max_retries=0)


# --- one agent run per API, streamed or not: the answers a caller sees --------------------------


def chat_loop(server: MockServer, *, stream: bool) -> list[Any]:
    client = openai_with_key(server)
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    answers = []
    for _ in range(2):
        if stream:
            # A chat stream carries usage only when asked: asked, so the recorded answer has it.
            with client.chat.completions.stream(
                model="gpt-4o", messages=messages, tools=TOOLS, stream_options={"include_usage": True}
            ) as events:
                answer = events.get_final_completion()
        else:
            answer = client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
        answers.append(answer.model_dump())
        message = answer.choices[0].message
        if not message.tool_calls:
            break
        messages.append(message.model_dump(exclude_none=True))
        call = message.tool_calls[0]
        messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 degrees"})
    assert len(answers) == 2
    return answers


def responses_loop(server: MockServer, *, stream: bool) -> list[Any]:
    client = openai_with_key(server)
    items: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    answers = []
    for _ in range(2):
        if stream:
            with client.responses.stream(model="gpt-4o", input=items) as events:
                answer = events.get_final_response()
        else:
            answer = client.responses.create(model="gpt-4o", input=items)
        answers.append(answer.model_dump())
        calls = [item for item in answer.output if item.type == "function_call"]
        if not calls:
            break
        items += [item.model_dump(exclude_none=True) for item in answer.output]
        items.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"})
    assert len(answers) == 2
    return answers


def anthropic_loop(server: MockServer, *, stream: bool) -> list[Any]:
    client = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key=SECRET, max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    answers = []
    for _ in range(2):
        if stream:
            with client.messages.stream(model="claude-x", max_tokens=100, messages=messages) as events:
                answer = events.get_final_message()
        else:
            answer = client.messages.create(model="claude-x", max_tokens=100, messages=messages)
        answers.append(answer.model_dump())
        uses = [block for block in answer.content if block.type == "tool_use"]
        if not uses:
            break
        messages.append(
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in answer.content]}
        )
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny"}],
            }
        )
    assert len(answers) == 2
    return answers


def embeddings(server: MockServer) -> list[Any]:
    client = openai_with_key(server)  # base64 on the wire: the SDK's default
    return [
        client.embeddings.create(model="text-embedding-3-small", input=["hello", "hello world"]).model_dump()
    ]


def everything(server: MockServer, *, stream: bool) -> dict[str, list[Any]]:
    return {
        "chat": chat_loop(server, stream=stream),
        "responses": responses_loop(server, stream=stream),
        "anthropic": anthropic_loop(server, stream=stream),
        "embeddings": embeddings(server),
    }


# --- record, stop, replay -----------------------------------------------------------------------


@pytest.mark.parametrize("first", ["stream", "json"])
def test_an_agent_run_recorded_replays_offline_both_ways(
    upstream: MockServer, tmp_path: Path, first: str
) -> None:
    cassette = tmp_path / "cassette.json"
    streamed = first == "stream"
    truth = {mode: everything(upstream, stream=mode) for mode in (True, False)}
    with recorder_for(upstream, cassette) as recorder:
        recorded = everything(recorder, stream=streamed)
        # The other way is answered at once by the mocks just recorded, not forwarded again.
        again = everything(recorder, stream=not streamed)
        forwarded = [r for r in recorder.journal if r.mock == "<upstream>"]
        assert len(forwarded) == 7  # two calls per agent loop, one embeddings call
    assert recorded == truth[streamed]
    assert again == truth[not streamed]
    upstream.stop_thread()  # the upstream is gone: replay is offline
    with MockServer(cassette) as replay:
        for mode in (True, False):
            assert everything(replay, stream=mode) == truth[mode]
    config = load_config(cassette)
    assert config.counts() == {
        "openai": 2,
        "openai_response": 2,
        "openai_embeddings": 1,
        "anthropic": 2,
        "gemini": 0,
        "gemini_embeddings": 0,
        "ollama": 0,
        "ollama_embeddings": 0,
        "bedrock": 0,
    }
    assert [mock.match.turn for mock in config.openai] == [0, 1]


def test_the_cassette_is_plain_readable_config(upstream: MockServer, tmp_path: Path) -> None:
    cassette = tmp_path / "cassette.json"
    with recorder_for(upstream, cassette) as recorder:
        chat_loop(recorder, stream=True)
        embeddings(recorder)
        anthropic_loop(recorder, stream=True)
    data = orjson.loads(cassette.read_bytes())
    first = data["openai"][0]
    assert first["match"] == {
        "match_type": "exact",
        "message": {"role": "user", "content": "What is the weather in Paris?"},
        "turn": 0,
    }
    assert first["response"]["object"] == "chat.completion"
    call = first["response"]["choices"][0]["message"]["tool_calls"][0]
    assert call["id"] == "call_1" and call["function"]["arguments"] == '{"city": "Paris"}'
    assert data["openai"][1]["match"]["message"]["role"] == "tool"
    assert data["openai"][1]["match"]["turn"] == 1
    vectors = data["openai_embeddings"][0]["response"]["data"]
    assert all(isinstance(x, float) for x in vectors[0]["embedding"])  # base64 written out as numbers
    blocks = data["anthropic"][0]["response"]["content"]
    assert blocks[0] == {"type": "thinking", "thinking": "The user wants the weather.", "signature": "sig"}
    assert blocks[1]["input"] == {"city": "Paris"}


def test_recording_a_conversation_twice_leaves_no_duplicates(upstream: MockServer, tmp_path: Path) -> None:
    cassette = tmp_path / "cassette.json"
    for _ in range(2):
        with recorder_for(upstream, cassette) as recorder:
            everything(recorder, stream=True)
            everything(recorder, stream=False)
    data = orjson.loads(cassette.read_bytes())
    matches = [
        (key, orjson.dumps(m["match"], option=orjson.OPT_SORT_KEYS)) for key in data for m in data[key]
    ]
    assert len(matches) == len(set(matches)) == 7


def test_no_credential_is_ever_written_and_the_file_is_owner_only(
    upstream: MockServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "cassette.json"
    with recorder_for(upstream, cassette, record_errors=True) as recorder:
        everything(recorder, stream=True)
        anthropic.Anthropic(
            base_url=recorder.anthropic_base_url, auth_token=SECRET, max_retries=0
        ).messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "weather?"}])
        with pytest.raises(openai.RateLimitError):
            openai_with_key(recorder).chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "rate limit me"}],
                extra_headers={"cookie": SECRET},
            )
    text = cassette.read_text()
    assert SECRET not in text and SECRET[3:20] not in text
    assert stat.S_IMODE(cassette.stat().st_mode) == 0o600
    # The upstream saw the caller's key: credentials are forwarded.
    assert any(r.headers.get("authorization") == f"Bearer {SECRET}" for r in upstream.journal)


def test_passthrough_forwards_and_writes_nothing(upstream: MockServer, tmp_path: Path) -> None:
    with recorder_for(upstream, None) as recorder:
        assert chat_loop(recorder, stream=True) == chat_loop(upstream, stream=True)
    assert list(tmp_path.iterdir()) == []


def test_a_mock_that_matches_is_answered_without_the_upstream(upstream: MockServer, tmp_path: Path) -> None:
    config = Config.from_dict(
        {
            "openai": [
                {
                    "match": {"match_type": "contains", "message": {"role": "user", "content": "weather"}},
                    "response": {"choices": [{"message": {"role": "assistant", "content": "local"}}]},
                }
            ]
        }
    )
    recording = Recording(tmp_path / "c.json", openai_upstream=upstream.openai_base_url)
    with MockServer(config, record=recording) as recorder:
        answer = openai_client(recorder).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "weather?"}]
        )
    assert answer.choices[0].message.content == "local"
    assert len(upstream.journal) == 0
    assert not (tmp_path / "c.json").exists()


def test_upstream_errors_pass_through_and_are_recorded_only_on_request(
    upstream: MockServer, tmp_path: Path
) -> None:
    ask = [{"role": "user", "content": "rate limit me"}]
    for record_errors in (False, True):
        cassette = tmp_path / f"errors-{record_errors}.json"
        with recorder_for(upstream, cassette, record_errors=record_errors) as recorder:
            with pytest.raises(openai.RateLimitError) as caught:
                openai_client(recorder).chat.completions.create(model="m", messages=ask)  # type: ignore[arg-type]
            assert caught.value.response.headers["retry-after"] == "7"
            assert caught.value.body["message"] == "slow down"  # type: ignore[index]
        assert cassette.exists() == record_errors
    error_mock = orjson.loads(cassette.read_bytes())["openai"][0]
    assert error_mock["error"] == {
        "status": 429,
        "type": "requests",
        "message": "slow down",
        "headers": {"retry-after": "7"},
    }
    with MockServer(cassette) as replay, pytest.raises(openai.RateLimitError):
        openai_client(replay).chat.completions.create(model="m", messages=ask)  # type: ignore[arg-type]


def test_an_upstream_that_is_down_gives_502_in_the_provider_shape(tmp_path: Path) -> None:
    with MockServer() as gone:
        base = gone.url
    recording = Recording(tmp_path / "c.json", openai_upstream=base + "/v1", anthropic_upstream=base)
    with MockServer(record=recording) as recorder:
        with pytest.raises(openai.APIStatusError) as caught:
            openai_client(recorder).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.status_code == 502
        assert "cannot reach the upstream" in caught.value.message
        with pytest.raises(anthropic.APIStatusError) as anthropic_caught:
            anthropic_client(recorder).messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        assert anthropic_caught.value.status_code == 502
        assert anthropic_caught.value.body["type"] == "error"  # type: ignore[index]
    assert not (tmp_path / "c.json").exists()


def test_an_upstream_that_does_not_answer_in_time_gives_504(upstream: MockServer, tmp_path: Path) -> None:
    with recorder_for(upstream, tmp_path / "c.json", timeout=0.5) as recorder:
        with pytest.raises(openai.APIStatusError) as caught:
            openai_client(recorder).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hang"}]
            )
        assert caught.value.status_code == 504
    assert not (tmp_path / "c.json").exists()


def test_a_recorder_refuses_to_forward_to_itself(tmp_path: Path) -> None:
    with MockServer() as server:
        own = Recording(tmp_path / "c.json", anthropic_upstream=f"http://localhost:{server.port}")
        with pytest.raises(ValueError, match="own address"):
            server.set_recording(own)
        assert server.recorder is None


def test_normalize_makes_volatile_fields_stable(upstream: MockServer, tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    with recorder_for(upstream, cassette, normalize=True) as recorder:
        chat_loop(recorder, stream=False)
        responses_loop(recorder, stream=True)
    data = orjson.loads(cassette.read_bytes())
    chat = data["openai"][0]["response"]
    assert chat["created"] == 0 and "system_fingerprint" not in chat
    assert chat["id"].startswith("chatcmpl-")
    assert chat["choices"][0]["message"]["tool_calls"][0]["id"] == "call_1"  # sent back: kept
    assert data["openai_response"][0]["response"]["created_at"] == 0
    first = cassette.read_text()
    with recorder_for(upstream, cassette, normalize=True) as recorder:
        chat_loop(recorder, stream=False)
        responses_loop(recorder, stream=True)
    assert cassette.read_text() == first


async def test_an_async_client_streams_through_the_recorder(upstream: MockServer, tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    recording = Recording(cassette, anthropic_upstream=upstream.anthropic_base_url)
    async with MockServer(record=recording) as recorder:
        client = async_anthropic_client(recorder)
        ask: Any = [{"role": "user", "content": "weather?"}]
        async with client.messages.stream(model="m", max_tokens=9, messages=ask) as stream:
            texts = [event.type async for event in stream]
            final = await stream.get_final_message()
        assert "content_block_delta" in texts
        assert final.content[1].type == "tool_use"
    assert load_config(cassette).counts()["anthropic"] == 1


def test_a_stream_reaches_the_caller_as_it_arrives_not_when_it_ends(tmp_path: Path) -> None:
    slow = Config.from_dict(
        {
            "openai": [
                {
                    "match": {"match_type": "contains", "message": {"role": "user", "content": "slow"}},
                    "response": {"choices": [{"message": {"role": "assistant", "content": "word " * 12}}]},
                    "timing": {"chunk_interval_ms": 150},
                }
            ]
        }
    )
    with MockServer(slow) as upstream, recorder_for(upstream, tmp_path / "c.json") as recorder:
        started = time.monotonic()
        stream = openai_client(recorder).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "slow"}], stream=True
        )
        arrivals = [time.monotonic() - started for _ in stream]
        # The SDK closes the connection at [DONE], before the upstream's stream has ended, and the
        # recorder is stopped right after: the exchange is recorded all the same.
    total = arrivals[-1]
    assert total > 0.9  # at least 7 pauses of 150 ms
    assert arrivals[0] < total / 2, arrivals  # the first event came long before the last
    assert (
        load_config(tmp_path / "c.json").openai[0].response["choices"][0]["message"]["content"]
        == "word " * 12
    )


def test_azure_routes_are_not_forwarded(upstream: MockServer, tmp_path: Path) -> None:
    with recorder_for(upstream, tmp_path / "c.json") as recorder:
        client = openai.AzureOpenAI(
            azure_endpoint=recorder.url, api_key="k", api_version="2024-10-21", max_retries=0
        )
        with pytest.raises(openai.NotFoundError, match="No mock matched"):
            client.chat.completions.create(model="d", messages=[{"role": "user", "content": "weather?"}])
    assert len(upstream.journal) == 0


def test_recorders_forwarding_to_each_other_stop_with_508(tmp_path: Path) -> None:
    with MockServer() as first, MockServer() as second:
        first.set_recording(Recording(None, openai_upstream=second.openai_base_url))
        second.set_recording(Recording(None, openai_upstream=first.openai_base_url))
        with pytest.raises(openai.APIStatusError) as caught:
            openai_client(first).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
    assert caught.value.status_code == 508
    assert "loop" in caught.value.message


class _OddUpstream(http.server.BaseHTTPRequestHandler):
    """An upstream that answers "odd" with JSON no mock could answer (``choices`` not a list), and
    anything else well."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["content-length"])))
        odd = body["messages"][-1]["content"] == "odd"
        good = {"choices": [{"message": {"role": "assistant", "content": "ok"}}]}
        reply = {"choices": "nope"} if odd else good
        data = orjson.dumps(reply)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_an_answer_no_mock_could_give_is_not_recorded_and_recording_goes_on(tmp_path: Path) -> None:
    """The odd answer reaches the caller, but is kept out of the cassette (which would no longer
    serve) and out of the recorded mocks, so later exchanges are recorded and replayed as usual.

    Mutation caught: the recorded mock compiled only after it was written and kept (the cassette
    then failed to load, and every later exchange was forwarded again instead of replayed)."""
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OddUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    cassette = tmp_path / "c.json"
    recording = Recording(cassette, openai_upstream=f"http://127.0.0.1:{upstream.server_port}/v1")
    try:
        with MockServer(record=recording) as recorder:
            client = openai_client(recorder)
            odd = client.chat.completions.with_raw_response.create(
                model="m", messages=[{"role": "user", "content": "odd"}]
            )
            assert orjson.loads(odd.content) == {"choices": "nope"}
            for _ in range(2):  # forwarded, then answered by its recorded mock
                fine: Any = [{"role": "user", "content": "fine"}]
                answer = client.chat.completions.create(model="m", messages=fine)
                assert answer.choices[0].message.content == "ok"
            labels = [entry.mock for entry in recorder.journal]
        assert labels[:2] == [UPSTREAM, UPSTREAM] and labels[2].startswith("recorded openai "), labels
    finally:
        upstream.shutdown()
    with MockServer(cassette) as replay:
        assert (
            openai_client(replay)
            .chat.completions.create(model="m", messages=[{"role": "user", "content": "fine"}])
            .choices[0]
            .message.content
            == "ok"
        )


def test_a_key_an_upstream_error_echoes_is_redacted_in_the_cassette(tmp_path: Path) -> None:
    """Real providers echo part of a wrong key in their 401 ("Incorrect API key provided: sk-…"):
    the cassette keeps the error's shape and words, never the key.

    Mutation caught: the upstream's error message written as it came."""
    echoed = "sk-proj-abcdEFGH1234ijklMNOP5678qrst"
    google = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"
    aws = "AKIAIOSFODNN7EXAMPLE"
    token = "eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIn0abcdefghijklmnop"
    message = (
        f"Incorrect API key provided: {echoed}. Also {google}, {aws} and Bearer {token}; "
        "see https://platform.openai.com/account/api-keys."
    )
    upstream_config = {
        "openai": [
            {
                "match": {"match_type": "contains", "message": {"role": "user", "content": "hi"}},
                "error": {"status": 401, "message": message, "type": "invalid_request_error"},
            }
        ]
    }
    cassette = tmp_path / "c.json"
    with (
        MockServer(Config.from_dict(upstream_config)) as upstream,
        recorder_for(upstream, cassette, record_errors=True) as recorder,
    ):
        with pytest.raises(openai.AuthenticationError) as caught:
            openai_with_key(recorder).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
        assert echoed in caught.value.message  # the caller sees the upstream's answer as it came
    written = cassette.read_text()
    for secret in (echoed, google, aws, token):
        assert secret not in written
    error = orjson.loads(written)["openai"][0]["error"]
    assert error["message"] == (
        f"Incorrect API key provided: <redacted, {len(echoed)} characters>. "
        f"Also <redacted, {len(google)} characters>, <redacted, {len(aws)} characters> and "
        f"Bearer <redacted, {len(token)} characters>; see https://platform.openai.com/account/api-keys."
    )
    assert error["type"] == "invalid_request_error"


class _BrokenStreamUpstream:
    """An upstream on 127.0.0.1 that answers every request with the head of an SSE stream and one
    chat chunk, then drops the connection (``drop``) or sends nothing more (``stall``)."""

    CHUNK = (
        b"data: "
        + orjson.dumps(
            {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": "Half"}, "finish_reason": None}
                ],
            }
        )
        + b"\n\n"
    )

    def __init__(self, how: str) -> None:
        self.how = how
        self.done = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.sock.accept()
                threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(65536)
            head, _, body = received.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
            while len(body) < length:
                body += connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                + b"%x\r\n%b\r\n" % (len(self.CHUNK), self.CHUNK)
            )
            if self.how == "stall":
                self.done.wait(30)

    def close(self) -> None:
        self.done.set()
        self.sock.close()


@pytest.mark.parametrize("how", ["drop", "stall"])
def test_an_upstream_stream_that_breaks_off_breaks_the_callers_connection(
    how: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The caller sees what the real API's broken stream would show: a connection closed without
    the end of the chunked body, so its SDK raises rather than take half an answer as whole. The
    log says why the stream ended.

    Mutation caught: the relay ending the caller's body cleanly once the upstream broke off."""
    caplog.set_level(logging.WARNING, logger="mockllm")
    upstream = _BrokenStreamUpstream(how)
    recording = Recording(None, openai_upstream=f"http://127.0.0.1:{upstream.port}/v1", timeout=0.5)
    body = orjson.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    try:
        with MockServer(record=recording) as passthrough:
            connection = http.client.HTTPConnection("127.0.0.1", passthrough.port, timeout=10)
            connection.request(
                "POST",
                "/v1/chat/completions",
                body=body,
                headers={"authorization": "Bearer k", "content-type": "application/json"},
            )
            answer = connection.getresponse()
            assert answer.status == 200
            with pytest.raises(http.client.IncompleteRead) as cut:
                answer.read()
            assert cut.value.partial.startswith(b"data: ")
            connection.close()
            with pytest.raises((openai.APIConnectionError, httpx.TransportError)):
                stream = openai_client(passthrough).chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}], stream=True
                )
                list(stream)
    finally:
        upstream.close()
    [broken, *_] = [r.getMessage() for r in caplog.records if "broke off" in r.getMessage()]
    reason = "stalled: nothing for 0.5 s" if how == "stall" else "RemoteProtocolError"
    assert reason in broken, broken
