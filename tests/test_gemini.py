"""Gemini through the official ``google-genai`` SDK: sync, async and streamed answers, a tool loop
with call ids, thoughts, hosted tools, errors in Google's shape, token counts, embeddings, the
model list, Vertex AI's routes, and the cross-cutting features (faults, chaos, timing, the journal,
record & replay, strict mode) through the same seam as the other APIs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import google.oauth2.credentials
import httpx2 as httpx
import pytest
from google import genai
from google.genai import errors, types

from mockllm import Chaos, Config, MockServer, RecordedRequest, Recording, mock
from mockllm.builders import MockBuilder, ToolCall

from .conftest import TESTDATA

MODEL = "gemini-2.5-flash"


def last(server: MockServer) -> RecordedRequest:
    return list(server.journal)[-1]


def client(server: MockServer) -> genai.Client:
    return genai.Client(api_key="test-key", http_options={"base_url": server.gemini_base_url})


def vertex_client(server: MockServer) -> genai.Client:
    # Offline Vertex AI: a token that is never refreshed, and the project named explicitly.
    return genai.Client(
        vertexai=True,
        project="my-project",
        location="us-central1",
        credentials=google.oauth2.credentials.Credentials(token="test-token"),  # type: ignore[no-untyped-call]
        http_options={"base_url": server.gemini_base_url},
    )


# --- answers ------------------------------------------------------------------------------------


def test_a_text_answer_sync_async_and_streamed(m: MockBuilder, server: MockServer) -> None:
    m.gemini().when_last_message_contains("capital of France").reply("Paris is the capital of France.")
    gemini = client(server)

    plain = gemini.models.generate_content(model=MODEL, contents="What is the capital of France?")
    assert plain.text == "Paris is the capital of France."
    assert plain.model_version == MODEL  # echoed from the URL
    assert plain.candidates is not None and plain.candidates[0].finish_reason == types.FinishReason.STOP
    assert plain.usage_metadata is not None and plain.usage_metadata.total_token_count

    chunks = list(
        gemini.models.generate_content_stream(model=MODEL, contents="What is the capital of France?")
    )
    assert len(chunks) > 1
    assert "".join(chunk.text or "" for chunk in chunks) == plain.text
    assert (
        chunks[-1].candidates is not None
        and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    )
    assert chunks[-1].usage_metadata == plain.usage_metadata
    assert all(chunk.response_id == plain.response_id for chunk in chunks)

    async def both() -> tuple[str | None, str]:
        answer = await gemini.aio.models.generate_content(model=MODEL, contents="capital of France?")
        streamed = ""
        async for chunk in await gemini.aio.models.generate_content_stream(
            model=MODEL, contents="capital of France?"
        ):
            streamed += chunk.text or ""
        return answer.text, streamed

    assert asyncio.run(both()) == (plain.text, plain.text)


def test_a_chat_keeps_the_streamed_answer_as_the_plain_one(m: MockBuilder, server: MockServer) -> None:
    m.gemini().when_turn(0).reply(
        "First answer, with several words in it.", thinking="Let me think.", thought_signature="c2lnbmF0dXJl"
    )
    m.gemini().when_turn(1).reply("Second answer.")
    gemini = client(server)  # kept: a client let go closes its connections
    chat = gemini.chats.create(model=MODEL)
    streamed = list(chat.send_message_stream("hello"))
    assert "".join(chunk.text or "" for chunk in streamed) == "First answer, with several words in it."
    assert chat.send_message("and then?").text == "Second answer."
    # The history sent back holds the model's turn as it streamed, a content per chunk: its
    # thought (with the signature on its last piece) and its text; one turn all the same.
    model_turn = [c for c in last(server).body["contents"] if c["role"] == "model"]
    parts = [part for content in model_turn for part in content["parts"]]
    assert "".join(p["text"] for p in parts if p.get("thought")) == "Let me think."
    assert (
        "".join(p["text"] for p in parts if not p.get("thought")) == "First answer, with several words in it."
    )
    assert [p["thoughtSignature"] for p in parts if "thoughtSignature" in p] == ["c2lnbmF0dXJl"]


def test_thoughts_code_execution_and_grounding(m: MockBuilder, server: MockServer) -> None:
    m.gemini().when_last_message_contains("think").reply(
        "42", thinking="Six times seven.", thought_signature="YWJj"
    )
    m.gemini().when_last_message_contains("compute").reply_code_execution(
        "print(6 * 7)", "42\n", then_text="It is 42."
    )
    grounding = {
        "webSearchQueries": ["meaning of life"],
        "groundingChunks": [{"web": {"uri": "https://example.com/42", "title": "42"}}],
        "groundingSupports": [
            {"segment": {"startIndex": 0, "endIndex": 2, "text": "42"}, "groundingChunkIndices": [0]}
        ],
    }
    m.gemini().when_last_message_contains("search").reply("42", grounding=grounding)
    gemini = client(server)

    thought = gemini.models.generate_content(model=MODEL, contents="think hard")
    assert thought.text == "42"  # thought parts are not the answer's text
    parts = thought.candidates[0].content.parts  # type: ignore[index,union-attr]
    assert parts is not None and parts[0].thought is True and parts[0].thought_signature == b"abc"

    ran = gemini.models.generate_content(model=MODEL, contents="compute it")
    assert ran.executable_code == "print(6 * 7)"
    assert ran.code_execution_result == "42\n"
    assert ran.text == "It is 42."

    found = gemini.models.generate_content(model=MODEL, contents="search the web")
    metadata = found.candidates[0].grounding_metadata  # type: ignore[index]
    assert metadata is not None and metadata.web_search_queries == ["meaning of life"]
    assert metadata.grounding_chunks[0].web.uri == "https://example.com/42"  # type: ignore[index,union-attr]


# --- tools --------------------------------------------------------------------------------------


def test_a_tool_loop_round_trips_the_call_id(m: MockBuilder, server: MockServer) -> None:
    """Parallel calls with ids; the results come back as functionResponse parts carrying them."""
    m.gemini().when_tool_names("get_weather").when_turn(0).reply_function_calls(
        [
            ToolCall("get_weather", {"city": "Paris"}, id="call_paris"),
            ToolCall("get_weather", {"city": "Rome"}),
        ]
    )
    weather = (
        m.gemini()
        .when_history_has_tool_results("call_paris", "get_weather")
        .reply("Sunny in Paris, rainy in Rome.")
    )
    gemini = client(server)
    declaration = types.FunctionDeclaration(
        name="get_weather",
        parameters=types.Schema(
            type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}
        ),
    )
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])])
    history: list[types.Content] = [types.Content(role="user", parts=[types.Part(text="Weather?")])]

    first = gemini.models.generate_content(model=MODEL, contents=history, config=config)
    calls = first.function_calls
    assert calls is not None
    assert [(c.name, c.args, c.id) for c in calls] == [
        ("get_weather", {"city": "Paris"}, "call_paris"),
        ("get_weather", {"city": "Rome"}, calls[1].id),
    ]
    assert calls[1].id  # made up by the server, as a real answer carries one
    history.append(first.candidates[0].content)  # type: ignore[index,arg-type]
    results = [
        types.Part(
            function_response=types.FunctionResponse(
                id=calls[0].id, name="get_weather", response={"sky": "sunny"}
            )
        ),
        # Part.from_function_response sends no id (nor does automatic function calling): by name.
        types.Part.from_function_response(name="get_weather", response={"sky": "rainy"}),
    ]
    history.append(types.Content(role="user", parts=results))

    final = gemini.models.generate_content(model=MODEL, contents=history, config=config)
    assert final.text == "Sunny in Paris, rainy in Rome."
    weather.assert_called_once()
    sent = last(server).body["contents"][-1]["parts"]
    assert sent[0]["functionResponse"]["id"] == "call_paris"


def test_automatic_function_calling_runs_the_python_tool(m: MockBuilder, server: MockServer) -> None:
    m.gemini().when_turn(0).reply_function_call("add", {"a": 2, "b": 3})
    m.gemini().when_tool_result("add").when_history_contains("5").reply("2 + 3 = 5")

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    gemini = client(server)
    answer = gemini.models.generate_content(
        model=MODEL, contents="What is 2 + 3?", config=types.GenerateContentConfig(tools=[add])
    )
    assert answer.text == "2 + 3 = 5"
    assert len(server.journal) == 2


# --- errors -------------------------------------------------------------------------------------


def test_errors_raise_the_sdk_s_classes_with_google_s_status(m: MockBuilder, server: MockServer) -> None:
    m.gemini().when_last_message_contains("quota").reply_error(429, message="Quota exceeded.")
    m.gemini().when_last_message_contains("busy").reply_error(503)
    gemini = client(server)
    with pytest.raises(errors.ClientError) as limited:
        gemini.models.generate_content(model=MODEL, contents="quota")
    assert (limited.value.code, limited.value.status, limited.value.message) == (
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded.",
    )
    with pytest.raises(errors.ServerError) as busy:
        list(gemini.models.generate_content_stream(model=MODEL, contents="busy"))
    assert (busy.value.code, busy.value.status) == (503, "UNAVAILABLE")

    with pytest.raises(errors.ClientError) as unmatched:
        gemini.models.generate_content(model=MODEL, contents="nothing matches this")
    assert unmatched.value.code == 404 and unmatched.value.status == "NOT_FOUND"
    assert "No mock matched" in (unmatched.value.message or "")


def test_a_request_without_a_key_is_refused_as_google_does(server: MockServer) -> None:
    url = f"{server.url}/v1beta/models/{MODEL}:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    refused = httpx.post(url, json=body)
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": 403,
        "message": refused.json()["error"]["message"],
        "status": "PERMISSION_DENIED",
    }
    keyed = httpx.post(url + "?key=k", json=body)
    assert keyed.status_code == 404  # past the key check: no mock
    vertex = f"{server.url}/v1beta1/projects/p/locations/l/publishers/google/models/{MODEL}:generateContent"
    assert httpx.post(vertex, json=body).json()["error"]["status"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"contents": "hi"}', "'contents'"),
        (b'{"contents": [{"parts": [{"text": 5}]}]}', "contents[0].parts[0].text"),
        (b'{"contents": [{"role": "user", "parts": "hi"}]}', "contents[0].parts"),
        (b'{"contents": [{"parts": []}], "systemInstruction": 3}', "systemInstruction"),
        (b"\x00\xff" * 100, "not valid JSON"),
    ],
)
def test_bad_bodies_get_a_400_in_google_s_shape(
    m: MockBuilder, server: MockServer, body: bytes, field: str
) -> None:
    m.gemini().reply("fine")
    url = f"{server.url}/v1/models/{MODEL}:generateContent"
    headers = {"x-goog-api-key": "k", "content-type": "application/json"}
    refused = httpx.post(url, content=body, headers=headers)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    assert field in error["message"]
    # The server keeps serving, and later good requests still match.
    assert client(server).models.generate_content(model=MODEL, contents="hi").text == "fine"


def test_an_unknown_method_is_google_s_404(server: MockServer) -> None:
    answer = httpx.post(f"{server.url}/v1beta/models/{MODEL}:frobnicate", headers={"x-goog-api-key": "k"})
    assert answer.status_code == 404
    assert answer.json()["error"]["status"] == "NOT_FOUND"


# --- token counts, embeddings, models ---------------------------------------------------------------


def test_count_tokens_and_the_model_list(m: MockBuilder, server: MockServer) -> None:
    m.gemini().reply(
        {"candidates": [{"content": {"parts": [{"text": "x"}]}}], "modelVersion": "gemini-mock-pro"}
    )
    gemini = client(server)
    counted = gemini.models.count_tokens(model=MODEL, contents="four bytes of text and a bit more")
    assert counted.total_tokens == 9
    names = [model.name for model in gemini.models.list()]
    assert names == ["models/mock-model"]  # modelVersion is no model a request names
    got = gemini.models.get(model="gemini-2.5-pro")
    assert got.name == "models/gemini-2.5-pro" and got.supported_actions
    paged = list(gemini.models.list(config={"page_size": 1}))
    assert [p.name for p in paged] == names


def test_embeddings_one_per_content(m: MockBuilder, server: MockServer) -> None:
    m.gemini_embeddings().when_input_contains("cat").reply_vectors([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    m.gemini_embeddings().reply_vectors_from_text(16)
    gemini = client(server)
    cats = gemini.models.embed_content(model="gemini-embedding-001", contents=["a cat", "a dog", "a cow"])
    assert [e.values for e in cats.embeddings or []] == [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [1.0, 0.0, 0.5]]
    short = gemini.models.embed_content(
        model="gemini-embedding-001",
        contents="one cat",
        config=types.EmbedContentConfig(output_dimensionality=2),
    )
    assert [e.values for e in short.embeddings or []] == [[1.0, 0.0]]
    texts = gemini.models.embed_content(model="gemini-embedding-001", contents=["x", "y", "x"])
    vectors = [e.values for e in texts.embeddings or []]
    assert len(vectors[0] or []) == 16 and vectors[0] == vectors[2] != vectors[1]
    # Vertex AI's single-content route answers an EmbedContentResponse.
    vertex = vertex_client(server)
    single = vertex.models.embed_content(model="gemini-embedding-001", contents="x")
    assert [e.values for e in single.embeddings or []] == [vectors[0]]


# --- Vertex AI and the environment ---------------------------------------------------------------------


def test_vertex_ai_routes_answer_the_same_mocks(m: MockBuilder, server: MockServer) -> None:
    m.gemini().when_model(MODEL).reply("From Vertex AI.")
    vertex = vertex_client(server)
    assert vertex.models.generate_content(model=MODEL, contents="hi").text == "From Vertex AI."
    streamed = "".join(
        c.text or "" for c in vertex.models.generate_content_stream(model=MODEL, contents="hi")
    )
    assert streamed == "From Vertex AI."
    assert vertex.models.count_tokens(model=MODEL, contents="hi").total_tokens == 1
    assert last(server).path == (
        f"/v1beta1/projects/my-project/locations/us-central1/publishers/google/models/{MODEL}:streamGenerateContent"
    )


def test_the_v1beta_routes_and_a_json_array_stream(m: MockBuilder, server: MockServer) -> None:
    m.gemini().reply("Streamed as an array.")
    beta = genai.Client(
        api_key="k", http_options={"base_url": server.gemini_base_url, "api_version": "v1beta"}
    )
    assert beta.models.generate_content(model=MODEL, contents="hi").text == "Streamed as an array."
    url = f"{server.url}/v1beta/models/{MODEL}:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    array = httpx.post(url, json=body, headers={"x-goog-api-key": "k"})
    assert array.headers["content-type"] == "application/json"
    chunks = array.json()
    assert (
        "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "Streamed as an array."
    )


# --- the cross-cutting features ----------------------------------------------------------------------


def test_timing_and_faults_reach_the_sdk_s_stream(m: MockBuilder, server: MockServer) -> None:
    m.gemini().when_last_message_contains("fail").with_fault("error_event", after_events=2).reply(
        "a b c d e f g h"
    )
    m.gemini().when_last_message_contains("break").with_fault("malformed", after_events=1).reply(
        "a b c d e f"
    )
    m.gemini().when_last_message_contains("slow").with_timing(ttft_ms=30, chunk_interval_ms=5).reply(
        "one two three"
    )
    gemini = client(server)
    got: list[str] = []
    with pytest.raises(errors.ServerError) as failed:
        for chunk in gemini.models.generate_content_stream(model=MODEL, contents="fail"):
            got.append(chunk.text or "")
    assert got == ["a", " b"] and failed.value.code == 503 and failed.value.status == "UNAVAILABLE"
    with pytest.raises(errors.UnknownApiResponseError):
        list(gemini.models.generate_content_stream(model=MODEL, contents="break"))
    slow = list(gemini.models.generate_content_stream(model=MODEL, contents="slow"))
    assert "".join(c.text or "" for c in slow) == "one two three"
    entry = last(server)
    assert entry.events_sent == entry.events_total == len(slow)
    assert entry.ttfb_ms is not None and entry.ttfb_ms >= 25


def test_chaos_fails_a_share_with_google_s_overloaded_error(m: MockBuilder) -> None:
    m.gemini().reply("fine")
    with MockServer(m, chaos=Chaos(error_rate=1.0)) as server:
        gemini = client(server)
        with pytest.raises(errors.ServerError) as failed:
            gemini.models.generate_content(model=MODEL, contents="hi")
    assert (failed.value.code, failed.value.status) == (503, "UNAVAILABLE")
    assert last(server).fault == "chaos_error"


def test_the_journal_and_a_handle_s_calls(m: MockBuilder, server: MockServer) -> None:
    handle = m.gemini().named("greeting").when_model("gemini", match_type="contains").reply("hi")
    gemini = client(server)
    gemini.models.generate_content(model=MODEL, contents="hello")
    entry = last(server)
    assert (entry.api, entry.mock, entry.status) == ("gemini", "greeting", 200)
    assert entry.body["model"] == MODEL  # the URL's model, as the matchers saw it
    assert entry.redacted_headers()["x-goog-api-key"].startswith("<redacted")
    handle.assert_called_once()


def test_the_fixture_points_a_plain_client_at_the_mock(mockllm_env: object) -> None:
    mockllm_env.gemini().reply("from the fixture")  # type: ignore[attr-defined]
    gemini = genai.Client()
    assert gemini.models.generate_content(model=MODEL, contents="hi").text == "from the fixture"


# --- record and replay ------------------------------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[MockServer]:
    """A server standing in for Google's API."""
    real = mock()
    real.gemini().when_turn(0).reply_function_call("lookup", {"q": "x"}, id="call_up")
    real.gemini().when_turn(1).reply("Recorded answer, in several words.")
    real.gemini_embeddings().reply_vectors_from_text(4)
    with MockServer(real) as server:
        yield server


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_recorded_run_replays_offline(upstream: MockServer, tmp_path: Path, stream: bool) -> None:
    cassette = tmp_path / "gemini.json"
    recording = Recording(cassette, upstreams={"gemini": upstream.url}, api_keys={"gemini": "real-key"})
    contents: list[types.Content] = [types.Content(role="user", parts=[types.Part(text="look it up")])]

    def run(server: MockServer) -> tuple[str, str | None]:
        gemini = client(server)
        if stream:
            chunks = list(gemini.models.generate_content_stream(model=MODEL, contents=contents))
            call = next(c for chunk in chunks for c in chunk.function_calls or [])
        else:
            call = gemini.models.generate_content(model=MODEL, contents=contents).function_calls[0]  # type: ignore[index]
        history = [
            *contents,
            types.Content(role="model", parts=[types.Part(function_call=call)]),
            types.Content(
                role="user", parts=[types.Part.from_function_response(name="lookup", response={"r": 1})]
            ),
        ]
        final = gemini.models.generate_content(model=MODEL, contents=history)
        return call.id or "", final.text

    with MockServer(Config(), record=recording) as recorder:
        recorded = run(recorder)
    assert last(upstream).headers["x-goog-api-key"] == "real-key"
    written = json.loads(cassette.read_text())
    assert [m["match"]["turn"] for m in written["gemini"]] == [0, 1]
    with MockServer(Config.from_json(cassette.read_bytes())) as replay:
        assert run(replay) == recorded == ("call_up", "Recorded answer, in several words.")
        assert all(entry.status == 200 for entry in replay.journal)


def test_the_testdata_config_loads_and_serves() -> None:
    config = Config.from_json((TESTDATA / "gemini.json").read_bytes())
    assert config.counts()["gemini"] >= 2
    with MockServer(config) as server:
        gemini = client(server)
        answer = gemini.models.generate_content(model=MODEL, contents="What's the weather in Paris?")
        assert answer.function_calls is not None
