"""A tool call's id is ``id=`` in every reply verb and in `ToolCall`, with ``call_id=`` (Responses'
name for it) as another spelling; the id reaches the SDKs, sync and async, JSON and stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from mockllm import MockServer, ToolCall, mock
from mockllm.builders import BuilderError

from .conftest import anthropic_client, async_anthropic_client, async_openai_client, openai_client

PING: Any = [{"role": "user", "content": "ping"}]


def chat_id(server: MockServer, use_async: bool, stream: bool) -> str:
    kwargs: Any = {"model": "m", "messages": PING}
    if not use_async:
        client = openai_client(server)
        if stream:
            with client.chat.completions.stream(**kwargs) as events:
                return events.get_final_completion().choices[0].message.tool_calls[0].id  # type: ignore[index]
        return client.chat.completions.create(**kwargs).choices[0].message.tool_calls[0].id  # type: ignore[index]

    async def run() -> str:
        async with async_openai_client(server) as client:
            if stream:
                async with client.chat.completions.stream(**kwargs) as events:
                    final = await events.get_final_completion()
                    return final.choices[0].message.tool_calls[0].id  # type: ignore[index]
            answer = await client.chat.completions.create(**kwargs)
            return answer.choices[0].message.tool_calls[0].id  # type: ignore[index]

    return asyncio.run(run())


def responses_id(server: MockServer, use_async: bool, stream: bool) -> str:
    kwargs: Any = {"model": "m", "input": "ping"}
    if not use_async:
        client = openai_client(server)
        if stream:
            with client.responses.stream(**kwargs) as events:
                return str(events.get_final_response().output[0].call_id)  # type: ignore[union-attr]
        return str(client.responses.create(**kwargs).output[0].call_id)  # type: ignore[union-attr]

    async def run() -> str:
        async with async_openai_client(server) as client:
            if stream:
                async with client.responses.stream(**kwargs) as events:
                    return str((await events.get_final_response()).output[0].call_id)  # type: ignore[union-attr]
            return str((await client.responses.create(**kwargs)).output[0].call_id)  # type: ignore[union-attr]

    return asyncio.run(run())


def anthropic_id(server: MockServer, use_async: bool, stream: bool) -> str:
    kwargs: Any = {"model": "m", "max_tokens": 10, "messages": PING}
    if not use_async:
        client = anthropic_client(server)
        if stream:
            with client.messages.stream(**kwargs) as events:
                return str(events.get_final_message().content[0].id)  # type: ignore[union-attr]
        return str(client.messages.create(**kwargs).content[0].id)  # type: ignore[union-attr]

    async def run() -> str:
        async with async_anthropic_client(server) as client:
            if stream:
                async with client.messages.stream(**kwargs) as events:
                    return str((await events.get_final_message()).content[0].id)  # type: ignore[union-attr]
            return str((await client.messages.create(**kwargs)).content[0].id)  # type: ignore[union-attr]

    return asyncio.run(run())


VERBS: list[tuple[str, Callable[[Any], Any], str, Callable[[MockServer, bool, bool], str]]] = [
    ("reply_tool_call", lambda m: m.openai_chat(), "openai", chat_id),
    ("reply_function_call", lambda m: m.openai_responses(), "openai_response", responses_id),
    ("reply_tool_use", lambda m: m.anthropic_messages(), "anthropic", anthropic_id),
]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("spelling", ["id", "call_id"])
@pytest.mark.parametrize(("verb", "builder", "api", "served_id"), VERBS, ids=[v[0] for v in VERBS])
def test_every_reply_verb_takes_id_and_call_id(
    verb: str,
    builder: Callable[[Any], Any],
    api: str,
    served_id: Callable[[MockServer, bool, bool], str],
    spelling: str,
    stream: bool,
    use_async: bool,
) -> None:
    m = mock()
    getattr(builder(m), verb)("get_weather", {"city": "Paris"}, **{spelling: "call_42"})
    with MockServer(m) as server:
        assert served_id(server, use_async, stream) == "call_42"


@pytest.mark.parametrize(("verb", "builder", "api", "served_id"), VERBS, ids=[v[0] for v in VERBS])
def test_the_two_spellings_agree_in_the_config(
    verb: str, builder: Callable[[Any], Any], api: str, served_id: object
) -> None:
    by_id, by_call_id, both = mock(), mock(), mock()
    getattr(builder(by_id), verb)("f", id="c1")
    getattr(builder(by_call_id), verb)("f", call_id="c1")
    getattr(builder(both), verb)("f", id="c1", call_id="c1")
    assert by_id.to_json() == by_call_id.to_json() == both.to_json()
    assert "c1" in by_id.to_json()
    with pytest.raises(BuilderError, match=rf"{verb}\(\) takes id= or call_id="):
        getattr(builder(mock()), verb)("f", id="c1", call_id="c2")


def test_tool_call_takes_call_id_too() -> None:
    assert ToolCall("f", call_id="c1") == ToolCall("f", id="c1")
    assert ToolCall("f", call_id="c1").id == "c1"
    with pytest.raises(BuilderError, match=r"ToolCall\(\) takes id= or call_id="):
        ToolCall("f", id="c1", call_id="c2")
    m = mock()
    m.openai_responses().reply_function_calls([ToolCall("a", call_id="c1"), ToolCall("b", id="c2")])
    m.openai_chat().reply_tool_calls([ToolCall("a", call_id="c3")])
    with MockServer(m) as server:
        output = openai_client(server).responses.create(model="m", input="x").output
        assert [item.call_id for item in output] == ["c1", "c2"]  # type: ignore[union-attr]
        assert chat_id(server, False, False) == "c3"
