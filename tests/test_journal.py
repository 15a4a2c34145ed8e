"""The journal as a test reads it: what it keeps of each request, and what it shows of it."""

from __future__ import annotations

import gc
import tracemalloc

import httpx2 as httpx
import orjson

from mockllm import MockServer

SECRET = "sk-live-SECRET-0123456789"


def test_printing_an_entry_shows_credentials_redacted_and_reading_them_gives_them_whole() -> None:
    """A failing ``assert entry.status == 200`` prints the entry (its repr), and CI logs keep it:
    the key is shown as its scheme and length only. The headers themselves stay readable.

    Mutation caught: the entry's headers kept as the server's header map (its repr shows every
    value)."""
    with MockServer() as server:
        headers = {"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET, "X-Tenant": "acme"}
        httpx.post(server.openai_base_url + "/chat/completions", json={"model": "m"}, headers=headers)
        [entry] = server.journal
    for shown in (repr(entry), str(entry), repr(entry.headers), str(entry.headers)):
        assert SECRET not in shown, shown
    assert f"Bearer <redacted, {len(SECRET)} characters>" in repr(entry)
    assert "acme" in repr(entry)
    assert entry.headers["authorization"] == f"Bearer {SECRET}"
    assert entry.headers["X-API-KEY"] == SECRET
    assert dict(entry.headers)["x-tenant"] == "acme"


def test_a_full_journal_holds_about_the_bytes_of_the_bodies_it_keeps() -> None:
    """Bodies just under the journal's cut-off, of many small JSON objects: parsed, each took about
    twenty times its size. What the journal holds per request is now about the body's bytes.

    Measured with tracemalloc (the Python allocations the requests leave behind), not the process's
    RSS, which the allocator rounds and keeps. Mutation caught: the parsed body kept."""
    body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "pad": [{}] * 20_000})
    assert len(body) < 64 * 1024
    requests = 20
    with MockServer(journal_body_bytes=64 * 1024) as server, httpx.Client() as client:
        url = server.openai_base_url + "/chat/completions"
        headers = {"authorization": "Bearer k", "content-type": "application/json"}
        client.post(url, content=body, headers=headers)  # the connection and the server warmed up
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(requests):
                assert client.post(url, content=body, headers=headers).status_code == 404
            gc.collect()
            retained = (tracemalloc.get_traced_memory()[0] - before) / requests
        finally:
            tracemalloc.stop()
        assert len(server.journal) == requests + 1
        assert list(server.journal)[-1].body["pad"] == [{}] * 20_000  # read, it is the parsed body
    assert retained < 1.5 * len(body), f"{retained:,.0f} bytes retained per request of {len(body):,}"
