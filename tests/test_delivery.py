"""What the journal says a timed or faulty answer delivered: the events sent of the stream's total,
the fault, the time to the first byte, a client that left early; and the failure report's line."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest

from mockllm import MockServer, RecordedRequest
from mockllm.builders import MockBuilder
from mockllm.mock_llm import MockLLM

from .conftest import anthropic_client, openai_client
from .test_faults import faulty, read_events

TEXT = "Every word of this answer goes out as its own event, or as far as the fault lets it."
MESSAGES: Any = [{"role": "user", "content": "hi"}]


def only_entry(server: MockServer) -> RecordedRequest:
    [entry] = list(server.journal)
    return entry


def eventually(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """The server learns that a client left on its next write: wait for it."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the journal never caught up"
        time.sleep(0.01)


def test_a_timed_stream_records_every_event_and_the_time_to_first_byte(
    m: MockBuilder, server: MockServer
) -> None:
    m.openai_chat().with_timing(ttft_ms=40, chunk_interval_ms=1).reply(TEXT)
    stream = openai_client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = list(stream)
    entry = only_entry(server)
    assert entry.events_total is not None and entry.events_total > 5
    assert entry.events_sent == entry.events_total == len(chunks) + 1  # and [DONE]
    assert entry.ttfb_ms is not None and entry.ttfb_ms >= 40
    assert (entry.fault, entry.client_left, entry.status) == (None, False, 200)


def test_a_timed_json_answer_records_the_time_to_first_byte_and_no_events(
    m: MockBuilder, server: MockServer
) -> None:
    m.anthropic_messages().with_timing(ttft_ms=30).reply(TEXT)
    anthropic_client(server).messages.create(model="claude", max_tokens=10, messages=MESSAGES)
    entry = only_entry(server)
    assert entry.ttfb_ms is not None and entry.ttfb_ms >= 30
    assert entry.duration_ms == entry.ttfb_ms  # written in one piece
    assert (entry.events_sent, entry.events_total, entry.fault) == (None, None, None)


def test_an_answer_without_timing_or_fault_records_no_delivery(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().reply(TEXT)
    list(openai_client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    entry = only_entry(server)
    assert entry.delivery is None
    assert (entry.events_sent, entry.events_total, entry.fault, entry.ttfb_ms) == (None,) * 4


@pytest.mark.parametrize("api", ["chat", "responses", "anthropic"])
def test_a_disconnect_records_after_events_of_the_whole_stream(
    m: MockBuilder, server: MockServer, api: str
) -> None:
    faulty(api, m, "disconnect", 3)
    events, error = read_events(server, api)
    assert len(events) == 3 and error is not None
    entry = only_entry(server)
    assert (entry.events_sent, entry.fault, entry.client_left) == (3, "disconnect", False)
    assert entry.events_total is not None and entry.events_total > 3
    assert entry.ttfb_ms is not None


def test_a_disconnect_before_any_event_records_no_first_byte(m: MockBuilder, server: MockServer) -> None:
    faulty("chat", m, "disconnect", 0)
    read_events(server, "chat")
    entry = only_entry(server)
    assert (entry.events_sent, entry.fault, entry.ttfb_ms) == (0, "disconnect", None)


def test_a_truncate_records_all_but_the_terminal_event(m: MockBuilder, server: MockServer) -> None:
    faulty("anthropic", m, "truncate")
    events, error = read_events(server, "anthropic")
    assert error is None
    entry = only_entry(server)
    assert entry.fault == "truncate"
    assert entry.events_sent == len(events) == (entry.events_total or 0) - 1


def test_a_reset_records_the_fault_and_nothing_sent(m: MockBuilder, server: MockServer) -> None:
    faulty("chat", m, "reset")
    with pytest.raises(httpx.TransportError):
        read_events(server, "chat")
    entry = only_entry(server)
    assert (entry.fault, entry.events_sent, entry.ttfb_ms, entry.client_left) == ("reset", None, None, False)


def test_a_client_that_leaves_early_is_recorded_with_the_events_sent_so_far(
    m: MockBuilder, server: MockServer
) -> None:
    m.openai_chat().with_timing(chunk_interval_ms=40).reply(TEXT)
    url = server.openai_base_url + "/chat/completions"
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    with (
        httpx.Client(timeout=5) as client,
        client.stream("POST", url, headers={"authorization": "Bearer test"}, json=body) as response,
    ):
        next(response.iter_bytes())  # the first event, then the client hangs up
    entry = only_entry(server)
    eventually(lambda: entry.client_left)
    assert entry.events_sent is not None and entry.events_total is not None
    assert 1 <= entry.events_sent < entry.events_total
    assert entry.fault is None
    sent = entry.events_sent
    time.sleep(0.1)
    assert entry.events_sent == sent  # nothing more went out


def test_the_failure_report_says_what_was_delivered(mockllm: MockLLM) -> None:
    mockllm.openai_chat().named("plain").when_model("plain").reply(TEXT)
    faulty_mock = mockllm.openai_chat().named("x").with_timing(ttft_ms=20)
    faulty_mock.with_fault("disconnect", after_events=3).reply(TEXT)
    read_events(mockllm.server, "chat")
    openai_client(mockllm.server).chat.completions.create(model="plain", messages=MESSAGES)
    report = mockllm.describe_requests()
    total = mockllm.requests[0].events_total
    expected = rf'1\. POST /v1/chat/completions -> 200, mock "x", 3 of {total} events, fault disconnect, '
    line = re.search(expected + r"first byte (\d+) ms\n", report)
    assert line is not None, report
    assert int(line.group(1)) >= 20
    assert '2. POST /v1/chat/completions -> 200, mock "plain"\n' in report


def test_a_timed_stream_records_how_long_it_took_to_its_last_byte(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().with_timing(ttft_ms=20, chunk_interval_ms=10).reply(TEXT)
    chunks = list(
        openai_client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    )
    entry = only_entry(server)
    assert entry.ttfb_ms is not None and entry.duration_ms is not None
    # Every event after the first waits its interval (uvloop's timers may fire a little early).
    assert entry.duration_ms >= entry.ttfb_ms + 0.9 * 10 * (len(chunks) - 1)
    assert entry.as_json()["duration_ms"] == entry.duration_ms
