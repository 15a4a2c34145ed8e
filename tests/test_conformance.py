"""Every real kagent config loads, and each mock answers a request built from its own match,
through the official SDKs: sync and async, streaming and not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mockllm import Config, MockServer, load_config

from .conftest import (
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    conformance_data,
    openai_client,
)

CONFIGS = sorted(conformance_data("kagent-e2e").glob("*.json"))


def _mock_cases() -> list[Any]:
    cases = []
    for path in CONFIGS:
        raw = json.loads(path.read_text())
        for api in ("openai", "openai_embeddings", "anthropic", "openai_response"):
            for position in range(len(raw.get(api, []))):
                cases.append(pytest.param(path, api, position, id=f"{path.stem}-{api}-{position}"))
    return cases


CASES = _mock_cases()


def is_subset(expected: Any, actual: Any) -> bool:
    """Every key and value the config wrote is in the served JSON (defaults may be added)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and is_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(is_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


@pytest.fixture(scope="module")
def servers() -> Any:
    started = {path: MockServer(load_config(path)).start_in_thread() for path in CONFIGS}
    yield started
    for server in started.values():
        server.stop_thread()


def _mock(path: Path, api: str, position: int) -> dict[str, Any]:
    mock: dict[str, Any] = json.loads(path.read_text())[api][position]
    return mock


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_loads_and_round_trips(path: Path) -> None:
    config = load_config(path)
    assert Config.from_json(config.to_json()) == config
    # Dumped JSON still says what the file said (so it keeps working in the Go server).
    raw = json.loads(path.read_text())
    dumped = json.loads(config.to_json())
    for api in ("openai", "openai_response", "openai_embeddings", "anthropic"):
        for original, again in zip(raw.get(api, []), dumped.get(api, []), strict=True):
            assert again["match"]["match_type"] == original["match"]["match_type"]
            assert again["response"] == original["response"]
            for key in ("message", "input"):
                assert again["match"].get(key) == original["match"].get(key)


def _chat_messages(mock: dict[str, Any]) -> list[dict[str, Any]]:
    return [mock["match"]["message"]]


def _expected_chat(mock: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = mock["response"]["choices"][0]["message"]
    return message


@pytest.mark.parametrize(("path", "api", "position"), [c for c in CASES if c.values[1] == "openai"])
def test_chat_mock_answers_its_own_request(servers: Any, path: Path, api: str, position: int) -> None:
    mock = _mock(path, api, position)
    client = openai_client(servers[path], default_headers=_headers(mock))
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4.1-mini", messages=_chat_messages(mock)
    )
    assert is_subset(mock["response"], raw.http_response.json())
    completion = raw.parse()
    expected = _expected_chat(mock)
    assert completion.id == mock["response"]["id"]
    assert completion.choices[0].message.content == expected.get("content")
    calls = completion.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in expected.get("tool_calls", [])
    ]

    # The stream helper reassembles the same answer.
    with client.chat.completions.stream(
        model="gpt-4.1-mini", messages=_chat_messages(mock), stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert final.id == completion.id
    assert final.choices[0].message.content == completion.choices[0].message.content
    assert final.choices[0].finish_reason == completion.choices[0].finish_reason
    final_calls = final.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name, c.function.arguments) for c in final_calls] == [
        (c.id, c.function.name, c.function.arguments)  # type: ignore[union-attr]
        for c in calls
    ]
    assert final.usage == completion.usage


@pytest.mark.parametrize(("path", "api", "position"), [c for c in CASES if c.values[1] == "openai"])
async def test_chat_mock_answers_async(servers: Any, path: Path, api: str, position: int) -> None:
    mock = _mock(path, api, position)
    client = async_openai_client(servers[path])
    headers = _headers(mock)
    completion = await client.chat.completions.create(
        model="m", messages=_chat_messages(mock), extra_headers=headers
    )
    assert completion.id == mock["response"]["id"]
    stream = await client.chat.completions.create(
        model="m", messages=_chat_messages(mock), stream=True, extra_headers=headers
    )
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert text == (completion.choices[0].message.content or "")


def _headers(mock: dict[str, Any]) -> dict[str, str]:
    return {
        h["name"]: h["value"] for h in mock["match"].get("headers", []) if h.get("match_type") != "contains"
    }


@pytest.mark.parametrize(
    ("path", "api", "position"), [c for c in CASES if c.values[1] == "openai_embeddings"]
)
async def test_embeddings_mock_answers_its_own_request(
    servers: Any, path: Path, api: str, position: int
) -> None:
    mock = _mock(path, api, position)
    vector = mock["response"]["data"][0]["embedding"]
    sync = openai_client(servers[path]).embeddings.create(model="m", input=mock["match"]["input"])
    # The SDK asked for base64 and decoded it: float32 precision.
    assert sync.data[0].embedding == pytest.approx(vector, rel=1e-6, abs=1e-7)
    floats = await async_openai_client(servers[path]).embeddings.create(
        model="m", input=mock["match"]["input"], encoding_format="float"
    )
    assert floats.data[0].embedding == vector


@pytest.mark.parametrize(("path", "api", "position"), [c for c in CASES if c.values[1] == "anthropic"])
async def test_anthropic_mock_answers_its_own_request(
    servers: Any, path: Path, api: str, position: int
) -> None:
    mock = _mock(path, api, position)
    messages = [mock["match"]["message"]]
    message = anthropic_client(servers[path]).messages.create(model="m", max_tokens=100, messages=messages)
    assert message.id == mock["response"]["id"]
    assert [b.model_dump(exclude_none=True) for b in message.content] == mock["response"]["content"]
    async with async_anthropic_client(servers[path]).messages.stream(
        model="m", max_tokens=100, messages=messages
    ) as stream:
        final = await stream.get_final_message()
    assert final.model_dump() == message.model_dump()
