"""The journal as a test reads it: what it keeps of each request, and what it shows of it."""

from __future__ import annotations

import httpx2 as httpx

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
