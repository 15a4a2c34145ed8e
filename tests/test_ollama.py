"""Ollama through the official ``ollama`` client: chat and generate, sync, async and streamed (NDJSON),
a tool loop, thinking, errors, embeddings, the model list, and the cross-cutting features (faults,
chaos, timing, the journal, record & replay) through the same seam as the other APIs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2 as httpx
import ollama
import pytest

from mockllm import Chaos, Config, MockServer, RecordedRequest, Recording, mock
from mockllm.builders import MockBuilder, ToolCall

MODEL = "llama3.2"


def last(server: MockServer) -> RecordedRequest:
    return list(server.journal)[-1]


def client(server: MockServer) -> ollama.Client:
    return ollama.Client(host=server.ollama_host)


def test_chat_and_generate_plain_streamed_and_async(m: MockBuilder, server: MockServer) -> None:
    m.ollama().when_last_message_contains("capital").reply("Paris is the capital of France.")
    local = client(server)
    ask = [{"role": "user", "content": "What is the capital of France?"}]

    plain = local.chat(model=MODEL, messages=ask)
    assert plain.message.content == "Paris is the capital of France."
    assert (plain.model, plain.done, plain.done_reason) == (MODEL, True, "stop")
    parts = list(local.chat(model=MODEL, messages=ask, stream=True))
    assert len(parts) > 2 and "".join(p.message.content or "" for p in parts) == plain.message.content
    assert parts[-1].done and not any(p.done for p in parts[:-1])
    assert last(server).body["stream"] is True  # the client sends it either way

    generated = local.generate(model=MODEL, prompt="the capital of France?")
    assert generated.response == plain.message.content
    streamed = "".join(
        part.response or "" for part in local.generate(model=MODEL, prompt="capital", stream=True)
    )
    assert streamed == plain.message.content

    async def both() -> tuple[str | None, str]:
        remote = ollama.AsyncClient(host=server.url)
        answer = await remote.chat(model=MODEL, messages=ask)
        text = ""
        async for part in await remote.chat(model=MODEL, messages=ask, stream=True):
            text += part.message.content or ""
        return answer.message.content, text

    assert asyncio.run(both()) == (plain.message.content, plain.message.content)


def test_a_tool_loop_names_its_tool(m: MockBuilder, server: MockServer) -> None:
    """Ollama's tool calls carry no id: the result comes back as a tool message naming its tool."""
    m.ollama().when_tool_names("get_weather").when_turn(0).reply_tool_calls(
        [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Rome"})]
    )
    answer = m.ollama().when_tool_result("get_weather").reply("Sunny in both.", thinking="Two results.")
    local = client(server)

    def get_weather(city: str) -> str:
        """Get the weather of a city.

        Args:
          city: The city
        """
        return "sunny"

    messages: list[object] = [{"role": "user", "content": "Weather in Paris and Rome?"}]
    first = local.chat(model=MODEL, messages=messages, tools=[get_weather])  # type: ignore[arg-type]
    calls = first.message.tool_calls or []
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Rome"}),
    ]
    messages.append(first.message)
    messages += [
        {"role": "tool", "content": get_weather(**c.function.arguments), "tool_name": "get_weather"}
        for c in calls
    ]
    final = local.chat(model=MODEL, messages=messages, tools=[get_weather], think=True)  # type: ignore[arg-type]
    assert (final.message.content, final.message.thinking) == ("Sunny in both.", "Two results.")
    answer.assert_called_once()
    assert last(server).body["tools"][0]["function"]["name"] == "get_weather"


def test_errors_are_ollama_s_and_the_server_keeps_serving(m: MockBuilder, server: MockServer) -> None:
    m.ollama().when_model("nope").reply_error(404, message="model 'nope' not found")
    m.ollama().reply("fine")
    local = client(server)
    with pytest.raises(ollama.ResponseError) as missing:
        local.chat(model="nope", messages=[{"role": "user", "content": "hi"}])
    assert (missing.value.status_code, missing.value.error) == (404, "model 'nope' not found")
    with pytest.raises(ollama.ResponseError) as streamed:
        list(local.chat(model="nope", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert streamed.value.status_code == 404

    for body in (b"{not json", b"[]", b'{"model": "m", "messages": "hi"}', b'{"messages": []}', b"\xff" * 50):
        refused = httpx.post(f"{server.url}/api/chat", content=body)
        assert refused.status_code == 400 and isinstance(refused.json()["error"], str), body
    assert local.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}]).message.content == "fine"


def test_faults_and_chaos_reach_the_client(m: MockBuilder) -> None:
    m.ollama().with_fault("error_event", after_events=2).reply("one two three four five")
    with MockServer(m) as server:
        got: list[str] = []
        with pytest.raises(ollama.ResponseError) as failed:
            for part in client(server).chat(
                model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True
            ):
                got.append(part.message.content or "")
        assert got == ["one", " two"] and failed.value.status_code == -1
        assert last(server).fault == "error_event"
    plain = mock()
    plain.ollama().reply("fine")
    with MockServer(plain, chaos=Chaos(error_rate=1.0)) as flaky:
        with pytest.raises(ollama.ResponseError) as overloaded:
            client(flaky).chat(model=MODEL, messages=[{"role": "user", "content": "x"}])
        assert overloaded.value.status_code == 503


def test_timing_paces_the_stream(m: MockBuilder, server: MockServer) -> None:
    m.ollama().with_timing(ttft_ms=30, chunk_interval_ms=5).reply("slow and steady")
    parts = list(client(server).chat(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    assert "".join(p.message.content or "" for p in parts) == "slow and steady"
    entry = last(server)
    assert entry.events_sent == entry.events_total == len(parts)
    assert entry.ttfb_ms is not None and entry.ttfb_ms >= 25


def test_embeddings_the_model_list_and_the_version(m: MockBuilder, server: MockServer) -> None:
    m.ollama_embeddings().when_input_contains("cat").reply_vectors([[1.0, 0.0], [0.0, 1.0]])
    m.ollama_embeddings().reply_vectors_from_text(8)
    m.ollama().reply({"model": "qwen3:8b", "message": {"role": "assistant", "content": "x"}})
    local = client(server)
    cats = local.embed(model="nomic-embed-text", input=["a cat", "a dog", "a cow"])
    assert [list(v) for v in cats.embeddings] == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    assert list(local.embed(model="nomic-embed-text", input="one cat", dimensions=1).embeddings[0]) == [1.0]
    texts = local.embed(model="nomic-embed-text", input=["x", "y", "x"]).embeddings
    assert len(texts[0]) == 8 and texts[0] == texts[2] != texts[1]
    assert list(local.embeddings(model="nomic-embed-text", prompt="x").embedding) == list(texts[0])
    assert [model.model for model in local.list().models] == ["qwen3:8b", "mock-model"]
    assert httpx.get(f"{server.url}/api/version").json() == {"version": "0.12.0"}


def test_the_fixture_points_a_plain_client_at_the_mock(mockllm_env: object) -> None:
    mockllm_env.ollama().reply("from the fixture")  # type: ignore[attr-defined]
    with ollama.Client() as local:
        answer = local.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.message.content == "from the fixture"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_recorded_run_replays_offline(tmp_path: Path, stream: bool) -> None:
    real = mock()
    real.ollama().when_turn(0).reply_tool_call("lookup", {"q": "x"})
    real.ollama().when_turn(1).reply("Recorded answer, in several words.")
    cassette = tmp_path / "ollama.json"

    def run(server: MockServer) -> tuple[str, str]:
        local = client(server)
        messages: list[object] = [{"role": "user", "content": "look it up"}]
        if stream:
            parts = list(local.chat(model=MODEL, messages=messages, stream=True))
            call = next(c for p in parts for c in p.message.tool_calls or [])
        else:
            call = (local.chat(model=MODEL, messages=messages).message.tool_calls or [])[0]
        messages += [
            {
                "role": "assistant",
                "tool_calls": [{"function": {"name": call.function.name, "arguments": {"q": "x"}}}],
            },
            {"role": "tool", "content": "found", "tool_name": "lookup"},
        ]
        final = local.chat(model=MODEL, messages=messages)
        return call.function.name, final.message.content or ""

    with MockServer(real) as upstream:
        with MockServer(Config(), record=Recording(cassette, upstreams={"ollama": upstream.url})) as recorder:
            recorded = run(recorder)
        assert len(upstream.journal) == 2
    with MockServer(Config.from_json(cassette.read_bytes())) as replay:
        assert run(replay) == recorded == ("lookup", "Recorded answer, in several words.")
