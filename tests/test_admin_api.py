"""The admin HTTP API under /__mockllm/, over real HTTP, with the official SDKs as the clients whose
requests it changes and records."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import orjson
import pytest
from sanic.compat import Header

from mockllm import Config, MockServer, mock
from mockllm.matching import redact_header, redacted_headers
from mockllm.server.admin import ADMIN_PREFIX, AdminAccess, AdminError, _check_access, is_loopback
from mockllm.server.admin_openapi import openapi_document
from mockllm.server.compiled import Compiler
from mockllm.server.journal import Journal, TruncatedBody

from .conftest import anthropic_client, async_openai_client, openai_client


def chat_mock(text: str, reply: str, *, name: str | None = None, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "match": {"match_type": "contains", "message": {"role": "user", "content": text}},
        "response": {"choices": [{"message": {"role": "assistant", "content": reply}}]},
        **extra,
    }
    if name is not None:
        found["name"] = name
    return found


STARTUP = {
    "openai": [chat_mock("weather", "Sunny.", name="weather"), chat_mock("time", "Noon.")],
    "anthropic": [
        {
            "name": "claude",
            "match": {"match_type": "contains", "message": {"role": "user", "content": "hi"}},
            "response": {"content": [{"type": "text", "text": "Hello from Claude."}]},
        }
    ],
}


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(Config.from_dict(STARTUP)) as running:
        yield running


@pytest.fixture
def admin(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url + ADMIN_PREFIX, headers={"content-type": "application/json"}
    ) as client:
        yield client


def ask(server: MockServer, text: str) -> str | None:
    reply = openai_client(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content


def ask_status(server: MockServer, text: str) -> int:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    headers = {"authorization": "Bearer test"}
    return httpx.post(server.openai_base_url + "/chat/completions", json=body, headers=headers).status_code


# --- mocks ----------------------------------------------------------------------------------------


def test_get_mocks_is_the_config_and_putting_it_back_changes_nothing(
    server: MockServer, admin: httpx.Client
) -> None:
    assert ask(server, "weather?") == "Sunny."
    got = admin.get("/mocks")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert Config.from_json(got.content) == Config.from_dict(STARTUP)  # a config file, as it is
    put = admin.put("/mocks", content=got.content)
    assert put.status_code == 200, put.text
    assert put.json() == {
        "mocks": {
            "openai": 2,
            "openai_response": 0,
            "openai_embeddings": 0,
            "anthropic": 1,
            "gemini": 0,
            "gemini_embeddings": 0,
            "ollama": 0,
            "ollama_embeddings": 0,
            "bedrock": 0,
        },
        "warnings": [],
    }
    assert admin.get("/mocks").content == got.content
    assert admin.get("/mocks/weather").json()["calls"] == 1  # a PUT keeps the counts of unchanged mocks


def test_put_restarts_the_count_of_a_mock_that_changed_only(server: MockServer, admin: httpx.Client) -> None:
    ask(server, "weather?")
    ask(server, "time?")
    changed = {"openai": [STARTUP["openai"][0], chat_mock("time", "Half past noon.")]}
    assert admin.put("/mocks", json=changed).status_code == 200
    assert admin.get("/mocks/weather").json()["calls"] == 1
    assert admin.get("/mocks/openai[1]").json()["calls"] == 0
    assert ask(server, "time?") == "Half past noon."


def test_put_replaces_every_mock(server: MockServer, admin: httpx.Client) -> None:
    assert admin.put("/mocks", json={"openai": [chat_mock("weather", "Rain.")]}).status_code == 200
    assert ask(server, "weather?") == "Rain."
    assert ask_status(server, "time?") == 404
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client(server).messages.create(
            model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


def test_post_appends_after_the_startup_mocks(server: MockServer, admin: httpx.Client) -> None:
    body = {"openai": [chat_mock("weather", "Never seen."), chat_mock("stocks", "Up.", name="stocks")]}
    added = admin.post("/mocks", json=body)
    assert added.status_code == 200
    assert added.json()["mocks"]["openai"] == 4
    assert ask(server, "weather and stocks?") == "Sunny."  # the startup mock comes first
    assert ask(server, "stocks?") == "Up."
    listed = admin.get("/mocks", params={"calls": "true"}).json()["mocks"]
    assert [(entry["api"], entry["name"], entry["calls"]) for entry in listed] == [
        ("openai", "weather", 1),
        ("openai", "openai[1]", 0),
        ("openai", "openai[2]", 0),
        ("openai", "stocks", 1),
        ("anthropic", "claude", 0),
    ]
    assert listed[3]["mock"] == body["openai"][1]


async def test_posted_mocks_answer_the_async_sdk_streaming(server: MockServer) -> None:
    async with httpx.AsyncClient(base_url=server.url + ADMIN_PREFIX) as admin:
        posted = await admin.post("/mocks", json={"openai": [chat_mock("stream", "Streamed from a POST.")]})
        assert posted.status_code == 200
    client = async_openai_client(server)
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "stream it"}], stream=True
    )
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert text == "Streamed from a POST."
    await asyncio.sleep(0)


def test_delete_clears_every_mock_and_reset_brings_the_startup_mocks_back(
    server: MockServer, admin: httpx.Client
) -> None:
    cleared = admin.delete("/mocks")
    assert cleared.status_code == 200
    assert cleared.json()["mocks"] == {
        "openai": 0,
        "openai_response": 0,
        "openai_embeddings": 0,
        "anthropic": 0,
        "gemini": 0,
        "gemini_embeddings": 0,
        "ollama": 0,
        "ollama_embeddings": 0,
        "bedrock": 0,
    }
    assert ask_status(server, "weather?") == 404
    assert admin.post("/reset").status_code == 200
    assert ask(server, "weather?") == "Sunny."


def test_get_and_delete_one_mock(server: MockServer, admin: httpx.Client) -> None:
    ask(server, "weather?")
    one = admin.get("/mocks/weather")
    assert one.status_code == 200
    assert one.json() == {
        "api": "openai",
        "name": "weather",
        "calls": 1,
        "scenario": None,
        "mock": STARTUP["openai"][0],
    }
    unnamed = admin.get("/mocks/openai%5B1%5D")  # "openai[1]", URL-encoded
    assert unnamed.status_code == 200
    assert unnamed.json()["mock"] == STARTUP["openai"][1]
    assert admin.get("/mocks/nobody").status_code == 404
    assert admin.delete("/mocks/nobody").json() == {"error": {"message": "No mock is named 'nobody'."}}

    admin.post("/mocks", json={"openai": [chat_mock("weather", "Dup.", name="weather")]})
    removed = admin.delete("/mocks/weather")  # every mock of that name, startup and added alike
    assert removed.status_code == 200
    assert removed.json()["removed"] == 2
    assert ask_status(server, "weather?") == 404
    assert ask(server, "time?") == "Noon."


def test_a_removed_startup_mock_stays_removed_across_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "mocks.json"
    path.write_bytes(orjson.dumps(STARTUP))
    with MockServer(path) as server, httpx.Client(base_url=server.url + ADMIN_PREFIX) as admin:
        assert admin.delete("/mocks/weather").status_code == 200
        admin.post("/mocks", json={"openai": [chat_mock("added", "Added at run time.")]})
        changed = {**STARTUP, "openai": [*STARTUP["openai"], chat_mock("new", "New in the file.")]}
        path.write_bytes(orjson.dumps(changed))
        server.reload()
        assert ask_status(server, "weather?") == 404
        assert ask(server, "new?") == "New in the file."
        assert ask(server, "added?") == "Added at run time."
        admin.post("/reset")
        assert ask(server, "weather?") == "Sunny."
        assert ask_status(server, "added?") == 404


def test_run_time_mocks_layer_over_a_followed_builder() -> None:
    m = mock()
    m.openai_chat().when_last_message_contains("built").reply("From the builder.")
    with MockServer(m) as server:
        server.add_mocks(Config.from_dict({"openai": [chat_mock("added", "Added.")]}))
        m.openai_chat().when_last_message_contains("later").reply("Registered later.")
        assert ask(server, "later") == "Registered later."
        assert ask(server, "added") == "Added."
        assert server.remove_mocks("openai[0]") == 1
        assert ask_status(server, "built") == 404
        server.reset()
        assert ask(server, "built") == "From the builder."
        assert ask_status(server, "added") == 404


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        (b"{not json", "$", "invalid JSON at line 1 column 2"),
        (b"[]", "$", "expected a JSON object"),
        (b"", "$", "invalid JSON"),
        (
            orjson.dumps(
                {"openai": [{"match": {"message": {"role": "user", "content": "x"}}, "response": {}}]}
            ),
            "$.openai[0].match.match_type",
            'missing required key "match_type"',
        ),
        (orjson.dumps({"openai": [], "antropic": []}), "$.antropic", 'did you mean "anthropic"'),
        (
            orjson.dumps(
                {"openai": [chat_mock("x", "y"), {**chat_mock("x", "y"), "response": {"choices": 3}}]}
            ),
            "$.openai[1].response.choices",
            "",
        ),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bad_mocks_get_a_400_with_the_path_and_change_nothing(
    server: MockServer, admin: httpx.Client, method: str, body: bytes, path: str, message: str
) -> None:
    before = admin.get("/mocks").content
    answer = admin.request(method, "/mocks", content=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "nothing was changed" in error["message"]
    assert error["problems"][0]["path"] == path
    assert message in error["problems"][0]["message"]
    assert admin.get("/mocks").content == before
    assert ask(server, "weather?") == "Sunny."


# --- the journal ----------------------------------------------------------------------------------


def test_requests_are_journalled_oldest_first_and_filtered(server: MockServer, admin: httpx.Client) -> None:
    ask(server, "weather?")
    ask_status(server, "nothing matches this")
    anthropic_client(server).messages.create(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    entries = admin.get("/requests").json()["requests"]
    assert [(e["api"], e["status"], e["mock"]) for e in entries] == [
        ("openai", 200, "weather"),
        ("openai", 404, None),
        ("anthropic", 200, "claude"),
    ]
    first = entries[0]
    assert first["method"] == "POST"
    assert first["path"] == "/v1/chat/completions"
    assert first["body"] == {"model": "m", "messages": [{"role": "user", "content": "weather?"}]}
    assert isinstance(first["time"], float)
    assert entries[0]["time"] <= entries[1]["time"] <= entries[2]["time"]
    assert [miss["mock"] for miss in entries[1]["near_misses"]]
    assert all("reasons" in miss for miss in entries[1]["near_misses"])

    def filtered(**params: str) -> list[tuple[str, int]]:
        answer = admin.get("/requests", params=params)
        assert answer.status_code == 200, answer.text
        return [(e["api"], e["status"]) for e in answer.json()["requests"]]

    assert filtered(api="anthropic") == [("anthropic", 200)]
    assert filtered(status="404") == [("openai", 404)]
    assert filtered(mock="weather") == [("openai", 200)]
    assert filtered(api="openai", status="200") == [("openai", 200)]
    for params in ({"api": "cohere"}, {"status": "ok"}, {"stauts": "200"}):
        bad = admin.get("/requests", params=params)
        assert bad.status_code == 400
        assert bad.json()["error"]["problems"][0]["path"] == "?" + next(iter(params))

    forgotten = admin.delete("/requests")
    assert forgotten.json() == {"removed": 3}
    assert admin.get("/requests").json() == {"requests": []}


def test_timed_answers_carry_the_delivery_fields(admin: httpx.Client, server: MockServer) -> None:
    paced = chat_mock("paced", "Slowly.", name="paced", timing={"ttft_ms": 1})
    admin.post("/mocks", json={"openai": [paced]})
    ask(server, "paced")
    entry = admin.get("/requests", params={"mock": "paced"}).json()["requests"][0]
    assert entry["client_left"] is False
    assert entry["ttfb_ms"] is not None
    assert {"events_sent", "events_total", "fault"} <= entry.keys()
    assert "ttfb_ms" not in admin.get("/requests", params={"mock": "weather"}).json()["requests"]


def test_credentials_are_redacted_in_the_journal_and_in_near_misses() -> None:
    guarded = {
        "openai": [
            chat_mock("secret", "Allowed.")
            | {
                "match": {
                    "match_type": "contains",
                    "message": {"role": "user", "content": "secret"},
                    "headers": [{"name": "X-Api-Key", "value": "sk-wanted-key", "match_type": "exact"}],
                }
            }
        ]
    }
    with MockServer(Config.from_dict(guarded)) as server:
        headers = {
            "Authorization": "Bearer sk-live-abcdef",
            "X-Api-Key": "sk-other-key-123",
            "Cookie": "session=topsecret; theme=dark",
            "Api-Key": "azure-key",
            "X-Tenant": "acme",
        }
        client = openai_client(server, default_headers=headers)
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "secret"}])
        text = str(caught.value)
        assert "sk-wanted-key" not in text and "sk-other-key-123" not in text
        assert "<redacted, 16 characters>" in text
        journal = httpx.get(server.url + "/__mockllm/requests").text
        for secret in (
            "sk-live-abcdef",
            "sk-other-key-123",
            "topsecret",
            "session",
            "azure-key",
            "sk-wanted-key",
        ):
            assert secret not in journal
        entry = orjson.loads(journal)["requests"][0]
        assert entry["headers"]["authorization"] == "Bearer <redacted, 14 characters>"
        assert entry["headers"]["cookie"] == "<redacted, 29 characters>"
        assert entry["headers"]["x-tenant"] == "acme"


def test_a_long_body_is_journalled_truncated_and_marked() -> None:
    with MockServer(Config.from_dict(STARTUP), journal_body_bytes=100) as server:
        long_text = "weather " + "é" * 500
        ask(server, long_text)
        ask(server, "weather")
        kept = server.journal.__iter__()
        first, second = next(kept), next(kept)
        assert isinstance(first.body, TruncatedBody)
        assert second.body == {"model": "m", "messages": [{"role": "user", "content": "weather"}]}
        entry = httpx.get(server.url + "/__mockllm/requests").json()["requests"][0]
        assert entry["body"]["truncated"] is True
        assert entry["body"]["bytes"] == len(
            orjson.dumps({"model": "m", "messages": [{"role": "user", "content": long_text}]})
        )
        assert entry["body"]["head"].startswith('{"model":"m"')
        assert len(entry["body"]["head"].encode()) <= 100 + 3  # a cut character becomes U+FFFD


def test_a_body_nested_too_deeply_to_write_back_keeps_the_journal_readable(
    server: MockServer, admin: httpx.Client
) -> None:
    """orjson parses JSON nested deeper than it writes; a request the mocks answer anyway (the
    nesting is in a part no rule looks at) is journalled with its body marked, not a 500 on every
    later read of the journal.

    Mutation caught: the fallback in the ``/requests`` route dropped (TypeError, 500)."""
    deep = b"[" * 300 + b"1" + b"]" * 300
    body = b'{"model":"m","messages":[{"role":"user","content":"weather"}],"metadata":' + deep + b"}"
    headers = {"authorization": "Bearer test", "content-type": "application/json"}
    answer = httpx.post(server.openai_base_url + "/chat/completions", content=body, headers=headers)
    assert answer.status_code == 200
    ask(server, "weather")
    journal = admin.get("/requests")
    assert journal.status_code == 200, journal.text
    first, second = journal.json()["requests"]
    assert first["mock"] == "weather" and first["body"]["truncated"] is True
    assert "nested too deeply" in first["body"]["reason"]
    assert second["body"]["messages"][0]["content"] == "weather"
    assert [entry["status"] for entry in admin.get("/requests?mock=weather").json()["requests"]] == [200, 200]


# --- scenarios and reset --------------------------------------------------------------------------


def scenario_config() -> dict[str, Any]:
    return {
        "openai": [
            chat_mock(
                "door",
                "It is closed.",
                name="closed",
                scenario="door",
                required_state="Started",
                new_state="open",
            ),
            chat_mock("door", "It is open.", name="open", scenario="door", required_state="open"),
        ]
    }


def test_scenarios_are_listed_and_moved(admin: httpx.Client, server: MockServer) -> None:
    admin.put("/mocks", json=scenario_config())
    assert admin.get("/scenarios").json() == {"door": "Started"}
    assert admin.get("/mocks/closed").json()["scenario"] == {"name": "door", "state": "Started"}
    moved = admin.put("/scenarios/door", json={"state": "open"})
    assert moved.status_code == 200
    assert moved.json() == {"door": "open"}
    assert ask(server, "door?") == "It is open."
    assert admin.get("/scenarios").json() == {"door": "open"}

    assert admin.put("/scenarios/window", json={"state": "open"}).status_code == 404
    for body, path in (
        ({"state": 3}, "$.state"),
        ({}, "$.state"),
        ({"state": "x", "stat": "y"}, "$.stat"),
        ([], "$"),
    ):
        bad = admin.put("/scenarios/door", json=body)
        assert bad.status_code == 400
        assert bad.json()["error"]["problems"][0]["path"] == path
    assert admin.put("/scenarios/door", content=b"{").status_code == 400
    assert admin.get("/scenarios").json() == {"door": "open"}


def test_reset_forgets_run_time_mocks_counts_states_and_the_journal(
    admin: httpx.Client, server: MockServer
) -> None:
    admin.post("/mocks", json=scenario_config())
    ask(server, "weather?")
    ask(server, "door?")
    assert admin.get("/scenarios").json() == {"door": "open"}
    reset = admin.post("/reset")
    assert reset.status_code == 200
    assert reset.json()["mocks"]["openai"] == 2
    assert admin.get("/requests").json() == {"requests": []}
    assert admin.get("/mocks/weather").json()["calls"] == 0
    assert admin.get("/scenarios").json() == {}
    assert admin.get("/mocks").content == Config.from_dict(STARTUP).to_json(indent=False).encode() + b"\n"


# --- access -----------------------------------------------------------------------------------------


def test_an_admin_token_is_required_once_set_and_the_provider_routes_stay_open() -> None:
    with MockServer(Config.from_dict(STARTUP), admin_token="s3cret") as server:
        url = server.url + "/__mockllm/mocks"
        missing = httpx.get(url)
        assert missing.status_code == 401
        assert "no token was sent" in missing.json()["error"]["message"]
        assert httpx.get(url, headers={"authorization": "Bearer wrong"}).status_code == 401
        assert httpx.delete(url, headers={"authorization": "Basic s3cret"}).status_code == 401
        assert ask(server, "weather?") == "Sunny."  # the mocks are still there, and need no token
        assert httpx.get(url, headers={"authorization": "Bearer s3cret"}).status_code == 200


@pytest.mark.parametrize("token", [b"Bearer s3cr\xe9t", b"Bearer \xff\xfe", b"Bearer s3cret\x80"])
def test_a_token_that_is_not_utf8_is_a_401(token: bytes) -> None:
    """Header bytes that are not UTF-8 reach the check as lone surrogates; comparing them is a 401.

    Mutation caught: the token encoded strictly for the comparison (UnicodeEncodeError, 500)."""
    with MockServer(Config.from_dict(STARTUP), admin_token="s3cr\u00e9t") as server:
        url = server.url + "/__mockllm/mocks"
        refused = httpx.get(url, headers={"authorization": token})
        assert refused.status_code == 401, refused.text
        assert "a wrong token was sent" in refused.json()["error"]["message"]
        accepted = httpx.get(url, headers={"authorization": "Bearer s3cr\u00e9t".encode()})
        assert accepted.status_code == 200


def test_a_token_given_as_bytes_that_are_not_utf8_works() -> None:
    """``mockllm serve --admin-token`` with such bytes: Python's argv has them as lone surrogates.

    Mutation caught: the token encoded strictly (every admin request a 500)."""
    with MockServer(Config.from_dict(STARTUP), admin_token="s3cr\udce9t") as server:
        url = server.url + "/__mockllm/mocks"
        assert httpx.get(url, headers={"authorization": b"Bearer s3cr\xe9t"}).status_code == 200
        assert httpx.get(url, headers={"authorization": "Bearer s3cr\u00e9t".encode()}).status_code == 401


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.2", False),
        ("::ffff:10.0.0.5", False),
        ("fe80::1%eth0", False),
        ("", False),
        ("not an address", False),
    ],
)
def test_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def fake_request(ip: str, authorization: str | None = None) -> Any:
    headers = {} if authorization is None else {"authorization": authorization}
    return SimpleNamespace(ip=ip, headers=headers)


def test_without_a_token_other_addresses_are_refused_naming_the_flag() -> None:
    with pytest.raises(AdminError) as refused:
        _check_access(fake_request("10.1.2.3"), AdminAccess())
    assert refused.value.status == 403
    assert "--admin-token" in refused.value.message
    _check_access(fake_request("127.0.0.1"), AdminAccess())
    _check_access(fake_request("10.1.2.3", "Bearer tok"), AdminAccess(token="tok"))  # any address with it
    with pytest.raises(AdminError) as conflict:
        _check_access(fake_request("127.0.0.1"), AdminAccess(refusal="one worker only"))
    assert conflict.value.status == 409


def test_an_admin_refusal_is_a_409_on_every_admin_route() -> None:
    with MockServer(Config.from_dict(STARTUP), admin_refusal="needs one worker") as server:
        answer = httpx.post(server.url + "/__mockllm/reset")
        assert answer.status_code == 409
        assert answer.json() == {"error": {"message": "needs one worker"}}
        assert ask(server, "weather?") == "Sunny."


def test_a_write_that_is_not_json_is_a_415_and_changes_nothing(server: MockServer) -> None:
    """A browser page on any site may POST ``text/plain`` (or a form) to 127.0.0.1 without asking
    first; only ``application/json`` needs its preflight, which the admin API never grants.

    Mutation caught: the body read whatever its content type said."""
    body = orjson.dumps({"openai": [chat_mock("posted", "From a page.")]})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None):
        headers = {} if content_type is None else {"content-type": content_type}
        refused = httpx.post(server.url + "/__mockllm/mocks", content=body, headers=headers)
        assert refused.status_code == 415, (content_type, refused.text)
        assert "application/json" in refused.json()["error"]["message"]
    assert ask_status(server, "posted") == 404
    scenario = httpx.put(server.url + "/__mockllm/scenarios/x", content=b'{"state": "a"}')
    assert scenario.status_code == 415
    accepted = httpx.post(
        server.url + "/__mockllm/mocks",
        content=body,
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )
    assert accepted.status_code == 200, accepted.text
    assert httpx.post(server.url + "/__mockllm/reset").status_code == 200  # no body: no type needed


def test_a_cross_site_origin_is_refused_and_the_servers_own_is_not(server: MockServer) -> None:
    """What a page on another site sends (its Origin) never reaches the admin API, with a token or
    without; a page the server serves itself (same origin) does.

    Mutation caught: the Origin header not looked at (a page on evil.example adds a mock)."""
    url = server.url + "/__mockllm/mocks"
    posted = {"openai": [chat_mock("posted", "From a page.")]}
    for origin in ("http://evil.example", "null", f"http://localhost:{server.port + 1}"):
        refused = httpx.post(url, json=posted, headers={"origin": origin})
        assert refused.status_code == 403, (origin, refused.text)
        assert "cross-site" in refused.json()["error"]["message"]
        assert origin in refused.json()["error"]["message"]
    assert ask_status(server, "posted") == 404
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        same = httpx.post(url, json=posted, headers={"origin": f"http://{host}", "host": host})
        assert same.status_code == 200, same.text
    assert ask(server, "posted") == "From a page."


def test_a_host_that_is_not_this_machine_is_refused(server: MockServer) -> None:
    """DNS rebinding: a page on rebind.evil.example whose name now points at 127.0.0.1 reads the
    journal as a same-origin page of that name. Its Host header gives it away.

    Mutation caught: the Host header not looked at."""
    url = server.url + "/__mockllm/requests"
    for host in ("rebind.evil.example", f"rebind.evil.example:{server.port}", "127.0.0.1.evil.example"):
        refused = httpx.get(url, headers={"host": host})
        assert refused.status_code == 403, (host, refused.text)
        assert repr(host) in refused.json()["error"]["message"]
    for host in (
        "localhost",
        f"LOCALHOST:{server.port}",
        "127.0.0.1",
        f"127.0.0.1:{server.port}",
        "[::1]:80",
    ):
        assert httpx.get(url, headers={"host": host}).status_code == 200, host


def test_with_a_token_any_host_may_ask_but_no_cross_site_page() -> None:
    """In a container behind 0.0.0.0, clients call the server by whatever name reaches it; the token
    is what proves they are no browser page. A page's Origin is refused all the same."""
    with MockServer(Config.from_dict(STARTUP), host="0.0.0.0", admin_token="tok") as server:
        url = f"http://127.0.0.1:{server.port}/__mockllm/mocks"
        token = {"authorization": "Bearer tok"}
        assert httpx.get(url, headers={**token, "host": "mockllm.internal:8787"}).status_code == 200
        assert httpx.get(url, headers={"host": "mockllm.internal:8787"}).status_code == 401
        refused = httpx.get(url, headers={**token, "origin": "http://evil.example"})
        assert refused.status_code == 403


def test_without_a_token_the_address_the_server_listens_on_is_a_known_host() -> None:
    with MockServer(Config.from_dict(STARTUP), host="0.0.0.0") as server:
        url = f"http://127.0.0.1:{server.port}/__mockllm/mocks"
        assert httpx.get(url, headers={"host": f"0.0.0.0:{server.port}"}).status_code == 200
        assert httpx.get(url, headers={"host": "mockllm.internal"}).status_code == 403


# --- the OpenAPI document -------------------------------------------------------------------------


def test_the_openapi_document_lists_exactly_the_admin_routes(server: MockServer, admin: httpx.Client) -> None:
    served = admin.get("/openapi.json")
    assert served.status_code == 200
    document = served.json()
    assert document["openapi"].startswith("3.1")
    assert served.content == openapi_document()
    app = server._app
    assert app is not None
    registered = {
        (
            ADMIN_PREFIX
            + "/"
            + re.sub(r"<(\w+):\w+>", r"{\1}", route.path.removeprefix(ADMIN_PREFIX[1:] + "/")),
            method.lower(),
        )
        for route in app.router.routes
        if route.path.startswith(ADMIN_PREFIX[1:])
        for method in route.methods
    }
    documented = {(path, method) for path, methods in document["paths"].items() for method in methods}
    assert registered == documented
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert operation["responses"], (path, method)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path


def test_every_reference_in_the_openapi_document_resolves() -> None:
    document = orjson.loads(openapi_document())
    refs: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("$ref"), str):
                refs.append(value["$ref"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    assert refs
    for ref in refs:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref


# --- pieces -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("Authorization", "Bearer sk-123", "Bearer <redacted, 6 characters>"),
        ("proxy-authorization", "Basic dXNlcjpwYXNz", "Basic <redacted, 12 characters>"),
        ("authorization", "sk-no-scheme", "<redacted, 12 characters>"),
        ("authorization", "a=b c", "<redacted, 5 characters>"),  # not a scheme: nothing of it shows
        ("cookie", "session=abc; theme=dark", "<redacted, 23 characters>"),
        ("X-API-Key", "sk ant key", "<redacted, 10 characters>"),
        ("api-key", "azure", "<redacted, 5 characters>"),
        ("x-tenant", "acme corp", "acme corp"),
    ],
)
def test_redact_header(name: str, value: str, shown: str) -> None:
    assert redact_header(name, value) == shown


def test_redacted_headers_lower_cases_names_and_joins_repeated_ones() -> None:
    headers = Header([("X-Trace", "a"), ("x-trace", "b"), ("Cookie", "k=v"), ("Accept", "*/*")])
    assert redacted_headers(headers) == {
        "x-trace": "a, b",
        "cookie": "<redacted, 3 characters>",
        "accept": "*/*",
    }


def test_the_journal_keeps_small_bodies_whole_and_marks_large_ones() -> None:
    journal = Journal(2, max_body_bytes=8)
    for raw in (b'{"a": 1}', b'{"a": "\xc3\xa9\xc3\xa9"}', b'{"b": 2}'):
        journal.add("POST", "/v1/x", orjson.loads(raw), raw, {}, 200, None, None, "openai", (), None)
    first, second = list(journal)  # the oldest was dropped
    assert first.body == TruncatedBody(13, '{"a": "\ufffd')  # "é" cut in half
    assert second.body == {"b": 2}
    assert first.as_json()["body"] == {"truncated": True, "bytes": 13, "head": '{"a": "\ufffd'}


def test_the_pytest_fixture_drops_mocks_added_over_http_at_its_reset(mockllm: Any) -> None:
    server = mockllm.server
    mockllm.openai_chat().when_last_message_contains("registered").reply("From the fixture.")
    httpx.post(server.url + "/__mockllm/mocks", json={"openai": [chat_mock("posted", "From HTTP.")]})
    assert ask(server, "posted") == "From HTTP."
    assert ask(server, "registered") == "From the fixture."
    mockllm.reset()
    assert ask_status(server, "posted") == 404


def test_an_admin_change_is_compiled_while_the_server_goes_on_answering(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large config posted to the admin API takes seconds to read and compile: the server answers
    meanwhile. The compile of the posted mocks is held until a health check has been answered.

    Mutation caught: the posted config read and compiled on the event loop (the health check then
    waits for the compile, which waits for the health check)."""
    compiling, release = threading.Event(), threading.Event()
    compile_config = Compiler.compile

    def slow_compile(self: Compiler, config: Config, **options: Any) -> Any:
        if any(mock.name == "posted" for mock in config.openai):
            compiling.set()
            release.wait(30)
        return compile_config(self, config, **options)

    monkeypatch.setattr(Compiler, "compile", slow_compile)
    answers: list[httpx.Response] = []
    posting = threading.Thread(
        target=lambda: answers.append(
            httpx.post(
                server.url + "/__mockllm/mocks",
                json={"openai": [chat_mock("posted", "Posted.", name="posted")]},
                timeout=60,
            )
        )
    )
    posting.start()
    try:
        assert compiling.wait(30)
        try:
            health = httpx.get(server.url + "/health", timeout=10)
        except httpx.TimeoutException:
            pytest.fail("the server did not answer while it compiled the posted mocks")
        assert health.status_code == 200
        assert not answers  # the POST is still compiling
    finally:
        release.set()
        posting.join()
    assert answers[0].status_code == 200, answers[0].text
    assert ask(server, "posted") == "Posted."


def test_admin_changes_made_at_once_are_all_kept(server: MockServer) -> None:
    """Each change is compiled off the loop; one that finds another took effect first is made again
    over it, so none is lost."""
    names = [f"posted-{i}" for i in range(8)]

    def post(name: str) -> int:
        return httpx.post(
            server.url + "/__mockllm/mocks", json={"openai": [chat_mock(name, name, name=name)]}, timeout=60
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        assert list(pool.map(post, names)) == [200] * len(names)
    served = {mock.name for mock in server.config.openai}
    assert served >= set(names)
    assert all(ask(server, name) == name for name in names)
