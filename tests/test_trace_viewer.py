"""The trace viewer's server side, over real HTTP: the page and its events feed under the admin
API's access rule, "Mock this" for every API (the suggestion is served and replayed), and the trace
file a failed test leaves (pytester runs, xdist included). The page itself is tested in a browser
in test_trace_viewer_browser.py."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from mockllm import Config, MockServer, mock
from mockllm.trace_file import trace_file_name

from .test_pytest_plugin import CLIENTS, INNER_ARGS

pytest_plugins = ["pytester"]


@pytest.fixture
def server() -> Iterator[MockServer]:
    mocks = mock()
    mocks.openai_chat().named("greet").when_last_message_contains("hello").reply("Hi!")
    with MockServer(mocks) as served:
        yield served


def chat(server: MockServer, text: str, *, stream: bool = False) -> None:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-secret", max_retries=0, timeout=10)
    try:
        answer = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": text}], stream=stream
        )
        if stream:
            list(answer)  # type: ignore[arg-type]
    except openai.NotFoundError:
        pass


class Listener:
    """An events feed client on its own thread, over a plain socket (so that the test can leave at
    once): the ``data:`` of each event, parsed, in ``events``."""

    def __init__(self, server: MockServer) -> None:
        self.events: queue.Queue[Any] = queue.Queue()
        self.head = b""
        host, port = server.url.removeprefix("http://").split(":")
        self._sock = socket.create_connection((host, int(port)), timeout=10)
        self._sock.sendall(f"GET /__mockllm/events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        reader = self._sock.makefile("rb")
        while not self.head.endswith(b"\r\n\r\n"):
            self.head += reader.readline()
        self._thread = threading.Thread(target=self._run, args=(reader,), daemon=True)
        self._thread.start()

    def _run(self, reader: Any) -> None:
        kind = "message"
        with contextlib.suppress(OSError, ValueError):
            for line in reader:
                if line.startswith(b"event: "):
                    kind = line[len(b"event: ") :].strip().decode()
                elif line.startswith(b"data: "):
                    data = json.loads(line[len(b"data: ") :])
                    self.events.put(data if kind == "message" else {kind: data})
                    kind = "message"

    def next(self) -> Any:
        return self.events.get(timeout=10)

    def close(self) -> None:
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(10)


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# --- the events feed ---------------------------------------------------------------------------


def test_each_event_is_the_journal_entry_as_the_admin_api_gives_it(server: MockServer) -> None:
    first, second = Listener(server), Listener(server)
    try:
        assert (
            first.head.startswith(b"HTTP/1.1 200")
            and b"content-type: text/event-stream" in first.head.lower()
        )
        chat(server, "hello there")
        chat(server, "what now?", stream=True)
        events = [first.next(), first.next()]
        assert [second.next(), second.next()] == events
        journal = httpx.get(server.url + "/__mockllm/requests").json()["requests"]
        assert events == journal
        assert events[0]["mock"] == "greet" and events[1]["mock"] is None
        assert events[1]["near_misses"][0]["mock"] == "greet"
        assert "sk-secret" not in json.dumps(events)  # credentials redacted as in the journal
    finally:
        first.close()
        second.close()


def test_the_feed_watches_the_journal_only_while_someone_listens(server: MockServer) -> None:
    assert not server.journal.watched
    listener = Listener(server)
    wait_until(lambda: server.journal.watched)
    chat(server, "hello")
    assert listener.next()["mock"] == "greet"
    listener.close()
    chat(server, "hello")  # the server notices the client left when it next writes to it
    wait_until(lambda: not server.journal.watched)


def test_a_client_over_its_budget_is_told_how_many_requests_it_missed(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mockllm.server import events

    listener = Listener(server)
    try:
        chat(server, "hello")
        assert listener.next()["mock"] == "greet"
        # A server with no time to spare on the feed (a load test's) skips the entries, and says so.
        monkeypatch.setattr(events, "BUDGET", 0.0)
        monkeypatch.setattr(events, "BURST_SECONDS", 0.0)
        time.sleep(2 * events.BATCH_SECONDS)
        chat(server, "hello")
        chat(server, "hello")
        skipped = [listener.next()]
        while sum(event["skipped"]["skipped"] for event in skipped) < 2:
            skipped.append(listener.next())
        assert all(set(event) == {"skipped"} for event in skipped)
    finally:
        listener.close()


def test_the_page_and_the_feed_follow_the_admin_access_rule() -> None:
    with MockServer(admin_token="s3cret") as served:
        for route in ("/__mockllm/ui", "/__mockllm/events"):
            assert httpx.get(served.url + route).status_code == 401
        page = httpx.get(served.url + "/__mockllm/ui", headers={"authorization": "Bearer s3cret"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    with MockServer() as served:
        # A page of another site may not read the journal, live or not.
        refused = httpx.get(served.url + "/__mockllm/events", headers={"origin": "https://elsewhere.example"})
        assert refused.status_code == 403
        page = httpx.get(served.url + "/__mockllm/ui").text
        # Everything the page needs is in it: no other file, no network.
        assert "<script>" in page and "<style>" in page
        assert not re.search(r"""(src|href)=["'](https?:)?//""", page)
    with MockServer(journal_size=0) as served:
        assert httpx.get(served.url + "/__mockllm/events").status_code == 409


# --- Mock this --------------------------------------------------------------------------------

# One request per API, as its SDK sends it: route, headers, body.
REQUESTS: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    "openai": (
        "/v1/chat/completions",
        {"authorization": "Bearer k"},
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": "Weather in Oslo?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
            ],
        },
    ),
    "openai_response": ("/v1/responses", {"authorization": "Bearer k"}, {"model": "gpt-4o", "input": "Hi"}),
    "openai_embeddings": (
        "/v1/embeddings",
        {"authorization": "Bearer k"},
        {"model": "text-embedding-3-small", "input": ["a", "b"]},
    ),
    "anthropic": (
        "/v1/messages",
        {"x-api-key": "k", "anthropic-version": "2023-06-01"},
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 10,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        },
    ),
    "gemini": (
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {"x-goog-api-key": "k"},
        {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
    ),
    "gemini_embeddings": (
        "/v1beta/models/text-embedding-004:batchEmbedContents",
        {"x-goog-api-key": "k"},
        {"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}}]},
    ),
    "ollama": (
        "/api/chat",
        {},
        {"model": "llama3", "messages": [{"role": "user", "content": "Hi"}], "stream": False},
    ),
    "ollama_embeddings": ("/api/embed", {}, {"model": "all-minilm", "input": "a"}),
    "bedrock": (
        "/model/anthropic.claude-3-haiku/converse",
        {"authorization": "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/bedrock/aws4_request"},
        {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]},
    ),
}


def test_every_api_is_covered() -> None:
    from mockllm.apis import APIS

    assert set(REQUESTS) == {spec.key for spec in APIS}


@pytest.mark.parametrize("api", sorted(REQUESTS))
def test_mock_this_builds_a_mock_that_matches_the_unmatched_request(api: str) -> None:
    path, headers, body = REQUESTS[api]
    with MockServer() as served:
        missed = httpx.post(served.url + path, headers=headers, json=body)
        assert missed.status_code == 404, missed.text
        [entry] = httpx.get(served.url + "/__mockllm/requests").json()["requests"]
        assert entry["api"] == api
        suggestion = httpx.post(served.url + "/__mockllm/mock-this", json={"api": api, "body": entry["body"]})
        assert suggestion.status_code == 200, suggestion.text
    code, document = suggestion.json()["builder"], suggestion.json()["config"]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    built: Config = namespace["mocks"].build()
    loaded = Config.from_json(json.dumps(document))
    assert built == loaded
    for config in (built, loaded):
        with MockServer(config) as served:
            replayed = httpx.post(served.url + path, headers=headers, json=body)
            assert replayed.status_code == 200, replayed.text
            [entry] = httpx.get(served.url + "/__mockllm/requests").json()["requests"]
            assert entry["mock"] == f"{api}[0]"


def test_mock_this_refuses_what_it_cannot_suggest(server: MockServer) -> None:
    url = server.url + "/__mockllm/mock-this"
    unknown = httpx.post(url, json={"api": "openia", "body": {}})
    assert unknown.status_code == 400 and "$.api" in unknown.text
    no_body = httpx.post(url, json={"api": "openai", "body": "text"})
    assert no_body.status_code == 422 and "no JSON object body" in no_body.text
    form = httpx.post(url, content=b'{"api": "openai"}', headers={"content-type": "text/plain"})
    assert form.status_code == 415


# --- the trace file a test leaves ---------------------------------------------------------------

TESTS = (
    CLIENTS
    + """

def test_passes(mockllm):
    mockllm.openai_chat().when_last_message_contains("ping").reply("pong")
    assert chat(mockllm, "ping") == "pong"


@pytest.mark.parametrize("city", ["Oslo", "Rome/Lazio"])
def test_fails(mockllm, city):
    mockllm.openai_chat().when_last_message_contains("ping").reply("pong")
    with pytest.raises(openai.NotFoundError):
        chat(mockllm, f"weather in {city}?")
    assert False, "the agent gave up"


def test_without_mockllm():
    assert False
"""
)


def traces(pytester: pytest.Pytester) -> list[Path]:
    return sorted((pytester.path / ".mockllm" / "traces").glob("*.html"))


def test_a_failed_test_leaves_its_trace_and_the_report_names_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent=TESTS)
    stale = pytester.path / ".mockllm" / "traces" / "test_agent.py_test_gone.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("the last run's")
    result = pytester.runpytest_subprocess(*INNER_ARGS, "-n", "2")
    result.assert_outcomes(passed=1, failed=3)
    written = traces(pytester)  # one file per test, whichever worker ran it; the last run's gone
    assert [path.name for path in written] == [
        trace_file_name("test_agent.py::test_fails[Oslo]"),
        trace_file_name("test_agent.py::test_fails[Rome/Lazio]"),
    ]
    assert written[0].name == "test_agent.py_test_fails_Oslo.html"
    output = result.stdout.str()
    assert "mockllm trace" in output and str(written[0]) in output
    page = written[0].read_text()
    # The same page, its journal embedded: the unmatched request, and a mock for it.
    assert "weather in Oslo?" in page and "mocks.openai_chat()" in page and "EventSource" in page


def test_trace_on_writes_every_test_that_used_mockllm_and_off_none(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent=TESTS)
    result = pytester.runpytest_subprocess(*INNER_ARGS, "--mockllm-trace=on")
    result.assert_outcomes(passed=1, failed=3)
    assert len(traces(pytester)) == 3  # one per test that used mockllm
    for path in traces(pytester):
        path.unlink()
    pytester.makeini("[pytest]\nmockllm_trace = off\n")
    result = pytester.runpytest_subprocess(*INNER_ARGS)
    result.assert_outcomes(passed=1, failed=3)
    assert traces(pytester) == []
    assert "mockllm trace" not in result.stdout.str()


def test_a_bad_trace_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent=TESTS)
    pytester.makeini("[pytest]\nmockllm_trace = always\n")
    result = pytester.runpytest_subprocess(*INNER_ARGS)
    assert result.ret != 0
    assert "mockllm_trace takes off, on, retain-on-failure; got 'always'" in result.stderr.str()


def test_the_journal_gives_what_was_recorded_after_a_count_while_watched() -> None:
    from mockllm.server.journal import Journal, RecordedRequest

    journal = Journal(3)

    def record(path: str) -> None:
        journal.record(RecordedRequest("POST", path, None, {}, 404, None))

    record("/unwatched")
    journal.watch(lambda: None)
    start = journal.added
    for n in range(4):
        record(f"/{n}")
    # The journal keeps 3: the oldest of those recorded since is dropped, as it is from the journal.
    assert [entry.path for entry in journal.since(start)] == ["/1", "/2", "/3"]
    assert [entry.path for entry in journal.since(start + 2, limit=1)] == ["/2"]
    journal.clear()
    assert journal.since(start) == []
    record("/after")
    assert [entry.path for entry in journal.since(start)] == ["/after"]


def test_emptying_the_journal_is_told_before_what_comes_after(server: MockServer) -> None:
    listener = Listener(server)
    try:
        chat(server, "hello")
        assert listener.next()["mock"] == "greet"
        assert httpx.delete(server.url + "/__mockllm/requests").status_code == 200
        chat(server, "hello again")
        assert listener.next() == {"cleared": {}}
        assert listener.next()["body"]["messages"][0]["content"] == "hello again"
    finally:
        listener.close()
