"""``GET /v1/models[/{id}]`` in both providers' shapes and Anthropic's
``POST /v1/messages/count_tokens``, through the official SDKs, sync and async."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import anthropic
import openai
import pytest

from mockllm import Config, MockServer, mock
from mockllm.server.adapter import estimate_tokens

from .conftest import ServeFn, anthropic_client, async_anthropic_client, async_openai_client, openai_client

CONFIG = {
    "openai": [
        {
            "match": {"match_type": "contains", "message": {"content": "a"}},
            "response": {"model": "gpt-4o", "choices": []},
        },
        {"match": {"match_type": "contains", "message": {"content": "b"}}, "response": {"choices": []}},
    ],
    "anthropic": [
        {
            "match": {"match_type": "contains", "message": {"content": ""}},
            "response": {"model": "claude-sonnet-5", "content": [{"type": "text", "text": "It is sunny!"}]},
        },
        {"match": {"match_type": "contains", "message": {"content": "x"}}, "error": {"status": 529}},
    ],
    "openai_response": [
        {"match": {"match_type": "contains", "input": ""}, "response": {"model": "gpt-4o", "output": []}}
    ],
}
NAMES = ["gpt-4o", "claude-sonnet-5", "mock-model"]


@pytest.fixture(params=["json", "builder"])
def server(request: pytest.FixtureRequest, serve: ServeFn) -> MockServer:
    """The same mocks from a JSON config and from the builder."""
    if request.param == "json":
        return serve(Config.from_json(json.dumps(CONFIG)))
    m = mock()
    m.openai_chat().when_last_message_contains("a").reply("hi", model="gpt-4o")
    m.anthropic_messages().reply("It is sunny!", model="claude-sonnet-5")
    m.openai_responses().reply("hi", model="gpt-4o")
    m.openai_embeddings().reply_vectors_from_text(4)
    return serve(m.build())


def run(use_async: bool, sync_call: Any, async_call: Any) -> Any:
    if not use_async:
        return sync_call()
    return asyncio.run(async_call())


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_openai_lists_the_config_s_models_and_retrieves_any(server: MockServer, use_async: bool) -> None:

    async def listed() -> list[Any]:
        async with async_openai_client(server) as client:
            return [model async for model in client.models.list()]

    models = run(use_async, lambda: list(openai_client(server).models.list()), listed)
    assert [model.id for model in models] == NAMES
    assert all(isinstance(model, openai.types.Model) and model.owned_by == "mockllm" for model in models)

    async def retrieved() -> Any:
        async with async_openai_client(server) as client:
            return await client.models.retrieve("accounts/acme/models/tuned")

    model = run(
        use_async, lambda: openai_client(server).models.retrieve("accounts/acme/models/tuned"), retrieved
    )
    assert (model.id, model.object) == ("accounts/acme/models/tuned", "model")


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_anthropic_lists_model_infos_page_by_page(server: MockServer, use_async: bool) -> None:

    async def listed() -> list[Any]:
        async with async_anthropic_client(server) as client:
            return [model async for model in client.models.list(limit=2)]

    # limit=2 over three models: the SDK follows has_more and last_id to the second page.
    models = run(use_async, lambda: list(anthropic_client(server).models.list(limit=2)), listed)
    assert [model.id for model in models] == NAMES
    assert all(model.type == "model" and model.display_name == model.id for model in models)

    page = anthropic_client(server).models.list(limit=1, before_id="mock-model")
    assert ([model.id for model in page.data], page.has_more) == (["claude-sonnet-5"], True)

    async def retrieved() -> Any:
        async with async_anthropic_client(server) as client:
            return await client.models.retrieve("claude-opus-9")

    info = run(use_async, lambda: anthropic_client(server).models.retrieve("claude-opus-9"), retrieved)
    assert isinstance(info, anthropic.types.ModelInfo)
    assert (info.id, info.lifecycle) == ("claude-opus-9", "active")


def _get(server: MockServer, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_models_need_the_provider_s_auth(serve: ServeFn) -> None:
    server = serve(Config())
    status, body = _get(server, "/v1/models", {})
    assert status == 401 and body["error"]["message"].startswith("Missing API key")  # OpenAI's shape
    status, body = _get(server, "/v1/models/m", {"anthropic-version": "2023-06-01"})
    assert status == 401 and body["type"] == "error"  # Anthropic's shape
    status, body = _get(server, "/v1/models", {"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert status == 200 and body["data"][0]["id"] == "mock-model" and body["has_more"] is False
    status, body = _get(server, "/v1/models?limit=0", {"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert status == 400 and "limit" in body["error"]["message"]


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A1", "9" * 5000, "-1", "1.5"])
def test_a_bad_anthropic_models_limit_is_a_400(serve: ServeFn, limit: str) -> None:
    """A superscript two (a digit to ``str.isdigit``, not to ``int``), an Arabic-Indic one, more
    digits than ``int`` parses: each a 400 in Anthropic's shape, and the server serves on.

    Mutation caught: the ``limit`` check back to ``isdigit`` alone (a ValueError, 500)."""
    server = serve(Config())
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    status, body = _get(server, f"/v1/models?limit={limit}", headers)
    assert status == 400 and body["type"] == "error" and "limit" in body["error"]["message"]
    status, body = _get(server, "/v1/models?limit=1", headers)
    assert status == 200 and [model["id"] for model in body["data"]] == ["mock-model"]


# --- count_tokens --------------------------------------------------------------------------------

HISTORY: list[Any] = [{"role": "user", "content": "hi there"}]  # 8 bytes: 2 tokens


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_count_tokens_uses_the_estimate_of_the_reported_usage(server: MockServer, use_async: bool) -> None:

    def count(messages: Any, **kwargs: Any) -> int:
        async def counted() -> Any:
            async with async_anthropic_client(server) as client:
                return await client.messages.count_tokens(
                    model="claude-sonnet-5", messages=messages, **kwargs
                )

        def sync_counted() -> Any:
            return anthropic_client(server).messages.count_tokens(
                model="claude-sonnet-5", messages=messages, **kwargs
            )

        tokens: int = run(use_async, sync_counted, counted).input_tokens
        return tokens

    assert count(HISTORY) == 2
    answer = anthropic_client(server).messages.create(
        model="claude-sonnet-5", max_tokens=50, messages=HISTORY
    )
    # The reply, sent back as history, counts what its usage said it cost.
    grown = [*HISTORY, {"role": "assistant", "content": answer.content[0].text}]
    assert count(grown) - count(HISTORY) == answer.usage.output_tokens == 3

    tools: Any = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    system = "You are terse."
    # Texts by their size; the parts without text and the tools by one JSON array of them.
    expected = estimate_tokens("hi there", system, json.dumps(tools, separators=(",", ":")))
    assert count(HISTORY, system=system, tools=tools) == expected
    assert count(HISTORY, tools=[]) == 2


def test_count_tokens_refuses_what_messages_refuses(serve: ServeFn) -> None:
    client = anthropic_client(serve(Config()))
    with pytest.raises(anthropic.BadRequestError, match="'messages' must be a non-empty array"):
        client.messages.count_tokens(model="m", messages=[])
    with pytest.raises(anthropic.BadRequestError, match=r"'messages\.0\.content' must be a string"):
        client.messages.count_tokens(model="m", messages=[{"role": "user", "content": 5}])  # type: ignore[typeddict-item]


@pytest.mark.parametrize("where", ["tools", "content"])
def test_count_tokens_of_a_deeply_nested_body_is_a_400(serve: ServeFn, where: str) -> None:
    """JSON nested deeper than orjson serialises, in a tool's schema or a content block: valid for
    the parser, so the estimate meets it. A 400 in Anthropic's shape, and the server counts on.

    Mutation caught: the guard for ``orjson.JSONEncodeError`` dropped from the route (a 500)."""
    server = serve(Config())
    client = anthropic_client(server)
    deep: Any = "x"
    for _ in range(300):
        deep = {"a": deep}
    tools: Any = [{"name": "t", "input_schema": deep}] if where == "tools" else []
    block = {"type": "tool_result", "tool_use_id": "t", "content": [deep]}
    content: Any = "hi" if where == "tools" else [block]
    with pytest.raises(anthropic.BadRequestError, match="nested too deeply"):
        # The SDK's own JSON encoder goes deeper than orjson, so it sends this.
        client.messages.count_tokens(model="m", messages=[{"role": "user", "content": content}], tools=tools)
    assert client.messages.count_tokens(model="m", messages=HISTORY).input_tokens == 2


# --- Anthropic tools: [] -------------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_takes_an_empty_tools_list(server: MockServer, use_async: bool, stream: bool) -> None:
    kwargs: Any = {"model": "claude-sonnet-5", "max_tokens": 50, "messages": HISTORY, "tools": []}

    def sync_call() -> Any:
        client = anthropic_client(server)
        if stream:
            with client.messages.stream(**kwargs) as events:
                return events.get_final_message()
        return client.messages.create(**kwargs)

    async def async_call() -> Any:
        async with async_anthropic_client(server) as client:
            if stream:
                async with client.messages.stream(**kwargs) as events:
                    return await events.get_final_message()
            return await client.messages.create(**kwargs)

    assert run(use_async, sync_call, async_call).content[0].text == "It is sunny!"
