"""``timing`` on a mock: the time to the first byte, the pauses between stream events and their
jitter, through the official SDKs over real HTTP.

Bounds are loose on the fast side (a busy machine is late, never early) and wide on the slow side,
so they hold on a loaded CI runner; every timing here is tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import time
import weakref
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2 as httpx
import pytest

from mockllm import BuilderError, Config, ConfigError, MockServer
from mockllm.builders import MockBuilder
from mockllm.config import Timing
from mockllm.server import writer
from mockllm.server.writer import pauses

from .conftest import anthropic_client, async_anthropic_client, async_openai_client, openai_client

TEXT = "Streams arrive one piece at a time, at the pace the mock sets."
MESSAGES: Any = [{"role": "user", "content": "hi"}]
TTFT, INTERVAL = 60, 5
"""Milliseconds: short enough for a fast suite, long enough to tell from no delay at all."""


def first_mock(api: str, m: MockBuilder, **timing: Any) -> None:
    builder = {
        "chat": m.openai_chat(),
        "responses": m.openai_responses(),
        "anthropic": m.anthropic_messages(),
    }[api]
    builder.with_timing(**timing).reply(TEXT)


# --- the pause generator ------------------------------------------------------------------------------


def test_pauses_are_the_same_for_the_same_seed() -> None:
    timing = Timing(chunk_interval_ms=20, jitter_ms=10, seed=7)
    first = list(itertools.islice(pauses(timing), 200))
    assert first == list(itertools.islice(pauses(timing), 200))
    assert all(0.010 <= pause <= 0.030 for pause in first)
    assert len(set(first)) > 100  # jittered, not constant
    other = list(itertools.islice(pauses(Timing(chunk_interval_ms=20, jitter_ms=10, seed=8)), 200))
    assert other != first


def test_pauses_without_jitter_are_the_interval_and_never_negative() -> None:
    assert list(itertools.islice(pauses(Timing(chunk_interval_ms=25)), 3)) == [0.025] * 3
    # A jitter wider than the interval clips at 0 rather than asking for a negative sleep.
    wide = list(itertools.islice(pauses(Timing(chunk_interval_ms=1, jitter_ms=50)), 200))
    assert min(wide) == 0.0 and max(wide) > 0.001
    # No seed is seed 0: a run without one is reproducible too.
    assert list(itertools.islice(pauses(Timing(jitter_ms=5)), 20)) == list(
        itertools.islice(pauses(Timing(jitter_ms=5, seed=0)), 20)
    )


def test_the_server_paces_the_seeded_pauses(
    m: MockBuilder, server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    paced: list[float] = []
    runs_of = writer._runs

    def record(events: list[bytes], gaps: Iterator[float]) -> list[writer.Run]:
        runs = runs_of(events, gaps)
        paced.extend(pause for pause, _, _ in runs[1:])
        return runs

    monkeypatch.setattr(writer, "_runs", record)
    m.openai_chat().when_model("a").with_timing(chunk_interval_ms=5, jitter_ms=4, seed=11).reply(TEXT)
    m.openai_chat().when_model("b").with_timing(chunk_interval_ms=5, jitter_ms=4, seed=12).reply(TEXT)
    client = openai_client(server)

    def pauses_of(model: str) -> list[float]:
        paced.clear()
        chunks = list(client.chat.completions.create(model=model, messages=MESSAGES, stream=True))
        # One pause before each event after the first ([DONE] included); no pause is 0 here.
        assert len(paced) == len(chunks)
        return list(paced)

    first = pauses_of("a")
    assert pauses_of("a") == first  # every request, the same sequence
    assert first == list(
        itertools.islice(pauses(Timing(chunk_interval_ms=5, jitter_ms=4, seed=11)), len(first))
    )
    assert pauses_of("b") != first


# --- streams and answers through the SDKs ---------------------------------------------------------------


def text_of(api: str, event: Any) -> str:
    if api == "chat":
        return (event.choices[0].delta.content or "") if event.choices else ""
    if api == "responses":
        return str(event.delta) if event.type == "response.output_text.delta" else ""
    delta = getattr(event, "delta", None)
    return str(delta.text) if event.type == "content_block_delta" and delta.type == "text_delta" else ""


def answer_text(api: str, answer: Any) -> str:
    if api == "chat":
        return str(answer.choices[0].message.content)
    if api == "responses":
        return str(answer.output_text)
    return str(answer.content[0].text)


def sync_call(server: MockServer, api: str, stream: bool) -> Any:
    if api == "chat":
        return openai_client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=stream)
    if api == "responses":
        return openai_client(server).responses.create(model="gpt-5", input="hi", stream=stream)
    return anthropic_client(server).messages.create(
        model="claude", max_tokens=9, messages=MESSAGES, stream=stream
    )


async def async_call(server: MockServer, api: str, stream: bool) -> Any:
    """The SDK's answer, or every event of its stream with its arrival time; the client is closed
    before the test's loop is."""
    client: Any = async_anthropic_client(server) if api == "anthropic" else async_openai_client(server)
    async with client:
        if api == "chat":
            answer = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=stream)
        elif api == "responses":
            answer = await client.responses.create(model="gpt-5", input="hi", stream=stream)
        else:
            answer = await client.messages.create(
                model="claude", max_tokens=9, messages=MESSAGES, stream=stream
            )
        if not stream:
            return answer
        return [(time.perf_counter(), event) async for event in answer]


def check_stream_timing(start: float, arrivals: list[float]) -> None:
    events = len(arrivals)
    assert events > 5
    assert arrivals[0] - start >= TTFT / 1000 * 0.9, "the first event came before ttft_ms"
    # From the start, not from the first event: an SDK busy with its first event (building its
    # models, say) yields the next ones late and in a burst, but never before they were sent. A
    # terminal event it does not yield only makes the stream longer.
    assert arrivals[-1] - start >= (TTFT + (events - 1) * INTERVAL) / 1000 * 0.9
    assert arrivals[-1] - start < (TTFT + (events + 2) * INTERVAL) / 1000 + 2


@pytest.mark.parametrize("api", ["chat", "responses", "anthropic"])
def test_sync_stream_is_paced_and_equals_the_answer(m: MockBuilder, server: MockServer, api: str) -> None:
    first_mock(api, m, ttft_ms=TTFT, chunk_interval_ms=INTERVAL)
    start = time.perf_counter()
    arrivals, pieces = [], []
    for event in sync_call(server, api, stream=True):
        arrivals.append(time.perf_counter())
        pieces.append(text_of(api, event))
    check_stream_timing(start, arrivals)
    assert "".join(pieces) == TEXT

    start = time.perf_counter()
    answer = sync_call(server, api, stream=False)
    elapsed = time.perf_counter() - start
    assert TTFT / 1000 * 0.9 <= elapsed < TTFT / 1000 + 2  # the whole answer, after ttft_ms alone
    assert answer_text(api, answer) == TEXT


@pytest.mark.parametrize("api", ["chat", "responses", "anthropic"])
async def test_async_stream_is_paced_and_equals_the_answer(
    m: MockBuilder, server: MockServer, api: str
) -> None:
    first_mock(api, m, ttft_ms=TTFT, chunk_interval_ms=INTERVAL)
    start = time.perf_counter()
    events = await async_call(server, api, stream=True)
    check_stream_timing(start, [arrival for arrival, _ in events])
    pieces = [text_of(api, event) for _, event in events]

    answer = await async_call(server, api, stream=False)
    assert "".join(pieces) == answer_text(api, answer) == TEXT


def test_sdk_stream_helpers_reassemble_the_same_answer(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().with_timing(chunk_interval_ms=1, jitter_ms=1).reply_tool_call(
        "get_weather", {"city": "Paris"}
    )
    m.anthropic_messages().with_timing(chunk_interval_ms=1).reply(TEXT)
    client = openai_client(server)
    with client.chat.completions.stream(
        model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
    ) as events:
        streamed = events.get_final_completion()
    answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    [streamed_call], [call] = (
        streamed.choices[0].message.tool_calls or [],
        answer.choices[0].message.tool_calls or [],
    )
    assert streamed_call.model_dump(include={"id", "type"}) == call.model_dump(include={"id", "type"})
    assert streamed_call.function.model_dump(include={"name", "arguments"}) == call.function.model_dump(  # type: ignore[union-attr]
        include={"name", "arguments"}
    )
    assert streamed.id == answer.id and streamed.usage == answer.usage

    claude = anthropic_client(server)
    with claude.messages.stream(model="claude", max_tokens=9, messages=MESSAGES) as stream:
        message = stream.get_final_message()
    answer_message = claude.messages.create(model="claude", max_tokens=9, messages=MESSAGES)
    assert message.model_dump() == answer_message.model_dump()


async def test_slow_streams_do_not_block_the_server(m: MockBuilder, server: MockServer) -> None:
    slow = 300
    m.openai_chat().with_timing(ttft_ms=slow).reply(TEXT)

    async def stream() -> str:
        return "".join(text_of("chat", chunk) for _, chunk in await async_call(server, "chat", stream=True))

    start = time.perf_counter()
    both = asyncio.gather(stream(), stream())
    await asyncio.sleep(0.05)
    # While both wait out their ttft_ms, the server answers another request at once.
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{server.url}/health")
    assert health.status_code == 200
    assert time.perf_counter() - start < slow / 1000
    assert await both == [TEXT, TEXT]
    # Served one after the other they would take twice ttft_ms.
    assert time.perf_counter() - start < 2 * slow / 1000 * 0.9


def test_writes_due_in_the_same_millisecond_share_a_timer_and_a_failing_one_stops_no_other() -> None:
    ran: list[str] = []
    reported: list[dict[str, Any]] = []

    def fails() -> None:
        ran.append("fails")
        raise RuntimeError("a bug in one stream's write")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: reported.append(context))
        ticks = writer._Ticks.of(loop)
        assert writer._Ticks.of(loop) is ticks
        when = loop.time() + 0.02
        ticks.call_at(loop, when, lambda: ran.append("first"))
        ticks.call_at(loop, when, fails)
        ticks.call_at(loop, when + 0.0001, lambda: ran.append("same millisecond"))
        ticks.call_at(loop, when + 0.01, lambda: ran.append("later"))
        await asyncio.sleep(0.005)
        assert ran == []  # nothing early
        await asyncio.sleep(0.1)

    asyncio.run(main())
    assert ran == ["first", "fails", "same millisecond", "later"]
    [context] = reported
    assert str(context["exception"]) == "a bug in one stream's write"


def test_the_ticks_of_a_loop_do_not_keep_it_alive() -> None:
    loop = asyncio.new_event_loop()
    writer._Ticks.of(loop).call_at(loop, loop.time(), lambda: None)
    kept = weakref.ref(loop)
    loop.close()
    del loop
    gc.collect()
    assert kept() is None


# --- errors, other answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_an_error_mock_answers_after_ttft(m: MockBuilder, server: MockServer, stream: bool) -> None:
    m.anthropic_messages().with_timing(ttft_ms=TTFT, chunk_interval_ms=500).reply_error(529, message="busy")
    start = time.perf_counter()
    with pytest.raises(anthropic.InternalServerError, match="busy"):
        sync_call(server, "anthropic", stream=stream)
    assert TTFT / 1000 * 0.9 <= time.perf_counter() - start < TTFT / 1000 + 2


async def test_an_embeddings_answer_waits_ttft(m: MockBuilder, server: MockServer) -> None:
    m.openai_embeddings().with_timing(ttft_ms=TTFT).reply([0.5, 0.25])
    start = time.perf_counter()
    async with async_openai_client(server) as client:
        answer = await client.embeddings.create(model="e", input="hi", encoding_format="float")
    assert time.perf_counter() - start >= TTFT / 1000 * 0.9
    assert answer.data[0].embedding == [0.5, 0.25]


def test_a_mock_with_timing_is_counted_and_journalled(m: MockBuilder, server: MockServer) -> None:
    handle = m.openai_chat().with_timing(ttft_ms=1).once().reply(TEXT)
    m.openai_chat().reply("later")
    client = openai_client(server)
    chunks = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    assert "".join(text_of("chat", chunk) for chunk in chunks) == TEXT
    assert (
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices[0].message.content
        == "later"
    )
    assert handle.mock.timing == Timing(ttft_ms=1)
    assert [entry.mock for entry in server.journal][:1] == ["openai[0]"]


# --- clients that leave ---------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["mid-stream", "before the first byte"])
def test_a_client_that_leaves_leaves_the_server_serving(
    m: MockBuilder,
    server: MockServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    caplog.set_level(logging.INFO)
    real_sleep, slept = writer.sleep, []

    async def counted(delay: float) -> None:
        slept.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(writer, "sleep", counted)
    m.openai_chat().when_model("slow").with_timing(
        ttft_ms=40 if when != "mid-stream" else 0, chunk_interval_ms=20
    ).reply(TEXT)
    m.openai_chat().reply("still here")
    body = {"model": "slow", "messages": MESSAGES, "stream": True}
    headers = {"authorization": "Bearer test"}
    with httpx.Client(base_url=server.openai_base_url, headers=headers) as client:
        if when == "mid-stream":
            with client.stream("POST", "/chat/completions", json=body) as response:
                assert response.status_code == 200
                next(response.iter_bytes())  # one event, then hang up
        else:
            with pytest.raises(httpx.ReadTimeout):
                client.post("/chat/completions", json=body, timeout=0.01)
    time.sleep(0.1)  # the server notices while it pauses, or on its next write
    stopped_at = len(slept)
    reply = openai_client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices[0].message.content == "still here"
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
    # The stream's task ended with the connection: it pauses no more, and stopped long before the
    # end of its 16 events.
    time.sleep(0.05)
    assert len(slept) == stopped_at < 8


# --- the config key ------------------------------------------------------------------------------------


MOCK = {"match": {"match_type": "contains", "message": {"content": "x"}}, "response": {"choices": []}}


@pytest.mark.parametrize(
    ("timing", "path", "problem"),
    [
        ({"ttft_ms": -1}, "ttft_ms", "milliseconds from 0 to 600000"),
        ({"chunk_interval_ms": 600_001}, "chunk_interval_ms", "milliseconds from 0 to 600000"),
        ({"jitter_ms": "5"}, "jitter_ms", "milliseconds"),
        ({"ttft_ms": True}, "ttft_ms", "milliseconds"),
        ({"ttft_ms": None}, "ttft_ms", "milliseconds"),
        ({"seed": 1.5}, "seed", "integer"),
        ({"seed": "1"}, "seed", "integer"),
        ({"ttft": 5}, "ttft", "unknown key"),
    ],
)
def test_bad_timing_is_a_load_error_at_its_path(timing: dict[str, Any], path: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_dict({"openai": [MOCK, {**MOCK, "timing": timing}]})
    [(where, message)] = caught.value.problems
    assert where == f"$.openai[1].timing.{path}"
    assert problem in message


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_and_infinity_are_refused(value: float) -> None:
    # JSON has no such numbers, but a config built in Python can.
    with pytest.raises(ConfigError, match=r"\$\.anthropic\[0\]\.timing\.jitter_ms"):
        Config.from_dict({"anthropic": [{"match": {}, "response": {}, "timing": {"jitter_ms": value}}]})


def test_with_timing_refuses_bad_values_where_given(m: MockBuilder) -> None:
    with pytest.raises(BuilderError, match=r"with_timing\(\): ttft_ms=-5"):
        m.openai_chat().with_timing(ttft_ms=-5)
    with pytest.raises(BuilderError, match="seed"):
        m.openai_responses().with_timing(seed=True)
    assert m.openai_chat().with_timing(ttft_ms=5).with_timing().reply("x").mock.timing is None


def test_timing_round_trips_through_json() -> None:
    timing = {"ttft_ms": 150, "chunk_interval_ms": 12.5, "jitter_ms": 3, "seed": 42}
    text = json.dumps(
        {"openai": [{**MOCK, "timing": timing}], "anthropic": [{**MOCK, "timing": {"ttft_ms": 1}}]}
    )
    config = Config.from_json(text)
    assert json.loads(config.to_json()) == json.loads(text)  # ints stay ints, unset keys stay out
    assert Config.from_json(config.to_json()) == config


# --- a server-wide default ------------------------------------------------------------------------


def test_a_default_timing_applies_to_the_mocks_without_their_own(m: MockBuilder) -> None:
    m.openai_chat().when_model("plain").reply(TEXT)
    m.openai_chat().when_model("own").with_timing(ttft_ms=0).reply(TEXT)
    with MockServer(m, timing={"ttft_ms": 200, "chunk_interval_ms": 1}) as server:
        client = openai_client(server)
        began = time.monotonic()
        list(client.chat.completions.create(model="plain", messages=MESSAGES, stream=True))
        assert time.monotonic() - began >= 0.2
        began = time.monotonic()
        list(client.chat.completions.create(model="own", messages=MESSAGES, stream=True))
        assert time.monotonic() - began < 0.15
        plain, own = server.journal
        assert plain.ttfb_ms is not None and plain.ttfb_ms >= 200
        assert own.ttfb_ms is not None and own.ttfb_ms < 150


def test_a_default_timing_is_checked_like_a_configs(m: MockBuilder) -> None:
    with pytest.raises(ConfigError, match=r"\$\.timing\.ttft_ms: expected a number of milliseconds"):
        MockServer(m, timing={"ttft_ms": -1})
    with pytest.raises(ConfigError, match=r'unknown key "ttft": did you mean "ttft_ms"\?'):
        MockServer(m, timing={"ttft": 5})
    server = MockServer(m, timing=Timing(ttft_ms=5))
    assert server.config.counts() == Config.of({}).counts()
