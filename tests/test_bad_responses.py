"""A response in a config is checked at load in every form a request can ask for (JSON and
stream, floats and base64): a config that loads serves every variant, and one that cannot fails
with the JSON path of the field at fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mockllm import Config, ConfigError, MockServer
from mockllm.cli import main

from .conftest import ServeFn, anthropic_client, openai_client

ANY_MESSAGE = {"match_type": "contains", "message": {"content": ""}}
ANY_INPUT = {"match_type": "contains", "input": ""}


def _config(key: str, response: dict[str, Any]) -> Config:
    match = ANY_MESSAGE if key in ("openai", "anthropic") else ANY_INPUT
    return Config.model_validate({key: [{"match": match, "response": response}]})


def _message(*content: Any, **fields: Any) -> dict[str, Any]:
    return {"output": [{"type": "message", "content": list(content), **fields}]}


BAD = [
    (
        "openai_embeddings",
        {"data": [{"embedding": [0.5, 1e39]}]},
        "$.openai_embeddings[0].response.data[0].embedding[1]: "
        "1e+39 does not fit a float32 (base64 encoding)",
    ),
    (
        "openai_embeddings",
        {"data": [{"embedding": [-(10**40)]}]},
        "$.openai_embeddings[0].response.data[0].embedding[0]: "
        f"-1{'0' * 40} does not fit a float32 (base64 encoding)",
    ),
    (
        "anthropic",
        {"content": [], "usage": "x"},
        '$.anthropic[0].response.usage: expected an object, got "x"',
    ),
    (
        "anthropic",
        {"content": [], "usage": None},
        "$.anthropic[0].response.usage: expected an object, got null",
    ),
    (
        "anthropic",
        {"content": [{"type": "text", "text": 5}], "usage": {"input_tokens": 1, "output_tokens": 1}},
        "$.anthropic[0].response.content[0].text: expected a string, got 5",
    ),
    (
        "anthropic",
        {"content": [{"type": "thinking", "thinking": ["t"]}]},
        '$.anthropic[0].response.content[0].thinking: expected a string, got ["t"]',
    ),
    (
        "openai_response",
        _message({"type": "output_text", "text": 5}),
        "$.openai_response[0].response.output[0].content[0].text: expected a string, got 5",
    ),
    (
        "openai_response",
        _message({"type": "refusal", "refusal": None}),
        "$.openai_response[0].response.output[0].content[0].refusal: expected a string, got null",
    ),
    (
        "openai_response",
        {"output": [{"type": "message", "content": "hello"}]},
        '$.openai_response[0].response.output[0].content: expected an array or null, got "hello"',
    ),
    (
        "openai_response",
        {"output": [{"type": "message", "content": [{"type": "output_text", "text": "a"}, "b"]}]},
        '$.openai_response[0].response.output[0].content[1]: expected an object, got "b"',
    ),
    (
        "openai_response",
        {"output": [{"type": "reasoning", "summary": "abc"}]},
        '$.openai_response[0].response.output[0].summary: expected an array or null, got "abc"',
    ),
    (
        "openai_response",
        {"output": [{"type": "reasoning", "summary": [{"type": "summary_text", "text": 1}]}]},
        "$.openai_response[0].response.output[0].summary[0].text: expected a string, got 1",
    ),
    (
        "openai_response",
        {"output": [{"type": "web_search_call", "content": 5}]},
        None,  # an item the server does not know streams whole: it loads and serves
    ),
    (
        "openai",
        {"choices": [{"message": {"content": "a", "tool_calls": "call_1"}}]},
        '$.openai[0].response.choices[0].message.tool_calls: expected an array or null, got "call_1"',
    ),
    (
        "openai",
        {"choices": [{"message": {"tool_calls": [{"function": {"name": "f"}}, 5]}}]},
        "$.openai[0].response.choices[0].message.tool_calls[1]: expected an object, got 5",
    ),
    (
        "openai",
        {"choices": [{"message": {"tool_calls": [{"function": "f"}]}}]},
        '$.openai[0].response.choices[0].message.tool_calls[0].function: expected an object, got "f"',
    ),
]


@pytest.mark.parametrize(("key", "response", "problem"), BAD)
def test_response_that_cannot_be_served_fails_at_load(
    serve: ServeFn, key: str, response: dict[str, Any], problem: str | None
) -> None:
    config = _config(key, response)
    if problem is None:
        _assert_serves_every_variant(serve(config), key)
        return
    with pytest.raises(ConfigError) as error:
        MockServer(config)
    assert str(error.value) == f"<config>: {problem}"


def test_validate_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "embeddings.json"
    mock = {"match": ANY_INPUT, "response": {"data": [{"embedding": [1e39]}]}}
    path.write_text(json.dumps({"openai_embeddings": [mock]}))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert (
        f"{path}: $.openai_embeddings[0].response.data[0].embedding[0]: 1e+39 does not fit a float32" in err
    )


def _assert_serves_every_variant(server: MockServer, key: str) -> None:
    """Every variant, through the official SDKs (base64 is the embeddings SDK's default)."""
    ping: Any = [{"role": "user", "content": "ping"}]
    if key == "openai":
        chat = openai_client(server).chat.completions
        chat.create(model="m", messages=ping)
        list(chat.create(model="m", messages=ping, stream=True))
        list(chat.create(model="m", messages=ping, stream=True, stream_options={"include_usage": True}))
    elif key == "openai_response":
        openai_client(server).responses.create(model="m", input="ping")
        list(openai_client(server).responses.create(model="m", input="ping", stream=True))
    elif key == "openai_embeddings":
        openai_client(server).embeddings.create(model="m", input="ping")
        openai_client(server).embeddings.create(model="m", input="ping", encoding_format="float")
    else:
        anthropic_client(server).messages.create(model="m", max_tokens=5, messages=ping)
        list(anthropic_client(server).messages.create(model="m", max_tokens=5, messages=ping, stream=True))


GOOD = [
    ("openai_embeddings", {"data": [{"embedding": [3.4028235e38, -3.4028235e38, 0, 1]}]}),
    (
        "anthropic",
        {"content": [{"type": "text"}, {"type": "thinking"}, {"type": "redacted_thinking", "data": "x"}]},
    ),
    (
        "openai_response",
        _message({"type": "output_text"}, {"type": "refusal"}, {"type": "custom", "text": 5}),
    ),
    ("openai_response", {"output": [{"type": "reasoning", "summary": None}, {"type": "message"}]}),
    ("openai", {"choices": [{"message": {"content": None, "tool_calls": None}}]}),
    ("openai", {"choices": [{"message": {"tool_calls": [{"type": "custom", "custom": {"name": "c"}}]}}]}),
]


@pytest.mark.parametrize(("key", "response"), GOOD)
def test_edge_responses_load_and_serve_every_variant(
    serve: ServeFn, key: str, response: dict[str, Any]
) -> None:
    _assert_serves_every_variant(serve(_config(key, response)), key)
