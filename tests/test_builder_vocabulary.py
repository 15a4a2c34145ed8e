"""One vocabulary across the conversation builders: the same idea is the same verb, with the same
keywords, on every API; ``when_tool_result(id, contains=)`` means "the last message is that tool's
result" everywhere, through each API's official SDK; a reply handle names the tool-call ids it
answers with; a misspelt verb gets a did-you-mean."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ollama
import pytest
from google import genai

from mockllm import MockBuilder, MockServer
from mockllm.builders import MockHandle

from .conftest import anthropic_client, bedrock_runtime, openai_client

BUILDERS: dict[str, Callable[[MockBuilder], Any]] = {
    "chat": MockBuilder.openai_chat,
    "responses": MockBuilder.openai_responses,
    "anthropic": MockBuilder.anthropic_messages,
    "gemini": MockBuilder.gemini,
    "bedrock": MockBuilder.bedrock,
    "ollama": MockBuilder.ollama,
}
ON_THE_LAST_MESSAGE = {"chat", "anthropic", "gemini", "bedrock", "ollama"}
"""The APIs whose request ends with a message (Responses' ends with an input item)."""

ONLY_ON: dict[str, tuple[set[str], str]] = {
    # Responses' request is an input (a string or a list of items), not a list of messages.
    "when_last_message": (ON_THE_LAST_MESSAGE, "Responses' request ends with an input item"),
    "when_last_message_contains": (ON_THE_LAST_MESSAGE, "Responses: when_input_contains"),
    "when_last_message_matches": (ON_THE_LAST_MESSAGE, "Responses: when_input_matches"),
    "when_input": ({"responses"}, "the whole input, a string or items"),
    "when_input_contains": ({"responses"}, "the input's last item, or the string input"),
    "when_input_matches": ({"responses"}, "a regex on the input's last item"),
    "when_input_ends_with": ({"responses"}, "a tail of input items"),
    "when_input_item": ({"responses"}, "the kind of the last input item"),
    "when_user_input_contains": ({"responses"}, "a user item, not a tool output, mentions a text"),
    "when_tool_output_contains": ({"responses"}, "any function_call_output mentions a text"),
    # The provider's own name for a tool call, beside reply_tool_call(s) on every API.
    "reply_tool_use": ({"anthropic", "bedrock"}, "Anthropic's and Bedrock's tool_use/toolUse"),
    "reply_tool_uses": ({"anthropic", "bedrock"}, "Anthropic's and Bedrock's tool_use/toolUse"),
    "reply_function_call": ({"responses", "gemini"}, "Responses' and Gemini's function call"),
    "reply_function_calls": ({"responses", "gemini"}, "Responses' and Gemini's function call"),
    # Server-side tools only some providers run.
    "reply_web_search": ({"responses", "anthropic"}, "a hosted web search"),
    "reply_mcp_call": ({"responses"}, "a remote MCP server's call"),
    "reply_mcp_approval_request": ({"responses"}, "an MCP call awaiting approval"),
    "reply_mcp_tool_use": ({"anthropic"}, "Anthropic's MCP connector"),
    "reply_items": ({"responses"}, "any output items (hosted tools, custom tool calls)"),
    "reply_code_execution": ({"gemini"}, "Gemini's code execution"),
}


def verbs(builder: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(builder, callable) if not name.startswith("_")}


def test_the_conversation_builders_share_one_vocabulary(m: MockBuilder) -> None:
    found = {api: verbs(type(start(m))) for api, start in BUILDERS.items()}
    shared = set.intersection(*found.values())
    assert {
        "when_tool_result",
        "when_history_has_tool_results",
        "when_history_contains",
        "when_turn",
        "when_model",
        "when_tool_results",  # the deprecated name of when_history_has_tool_results
        "reply",
        "reply_tool_call",
        "reply_tool_calls",
        "reply_error",
    } <= shared
    only_some = {
        verb: {api for api in found if verb in found[api]} for verb in set.union(*found.values()) - shared
    }
    assert only_some == {verb: apis for verb, (apis, _) in ONLY_ON.items()}
    # The same verb takes the same keywords everywhere.
    for verb in ("when_tool_result", "when_history_has_tool_results", "when_turn"):
        keywords = {
            api: sorted(
                p.name
                for p in inspect.signature(getattr(type(start(m)), verb)).parameters.values()
                if p.kind is p.KEYWORD_ONLY
            )
            for api, start in BUILDERS.items()
        }
        assert len({tuple(k) for k in keywords.values()}) == 1, (verb, keywords)


def test_the_old_plural_name_still_works_and_says_what_replaced_it(m: MockBuilder) -> None:
    with pytest.warns(DeprecationWarning, match=r"when_history_has_tool_results\(\)"):
        old = m.openai_chat().when_tool_results("call_1", "call_2").reply("Both in.")
    new = m.openai_chat().when_history_has_tool_results("call_1", "call_2").reply("Both in.")
    assert old.mock.match == new.mock.match


def test_a_misspelt_verb_gets_a_did_you_mean(m: MockBuilder) -> None:
    with pytest.raises(AttributeError, match='did you mean "when_last_message_contains"'):
        m.openai_chat().when_last_mesage_contains("x")  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match='did you mean "when_history_has_tool_results"'):
        m.anthropic_messages().when_history_has_tool_result("x")  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match='did you mean "openai_chat"'):
        m.openai_chta()  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match=r"its verbs: .*reply_tool_call"):
        m.gemini().xyzzy  # type: ignore[attr-defined]  # noqa: B018


# --- when_tool_result and tool_call_ids through each SDK ---------------------------------------------


@dataclass(frozen=True)
class Loop:
    """How one API's SDK starts a tool loop and sends a tool's result back."""

    result_id: str
    """What a result refers to its call by here (a call id; Ollama: the tool name)."""
    first_call_id: Callable[[MockServer], str]
    """The id of the tool call the first answer holds, as the SDK reads it."""
    answer_result: Callable[[MockServer, str, str], str]
    """(server, id, result text) -> the text of the answer to that tool result."""


def _chat_first(server: MockServer) -> str:
    answer = openai_client(server).chat.completions.create(
        model="g", messages=[{"role": "user", "content": "Paris?"}]
    )
    calls = answer.choices[0].message.tool_calls
    assert calls is not None
    return calls[0].id


def _chat_result(server: MockServer, call_id: str, text: str) -> str:
    call = {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages: Any = [
        {"role": "user", "content": "Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": text},
    ]
    return (
        openai_client(server).chat.completions.create(model="g", messages=messages).choices[0].message.content
        or ""
    )


def _responses_first(server: MockServer) -> str:
    output = openai_client(server).responses.create(model="g", input="Paris?").output[0]
    assert output.type == "function_call"
    return output.call_id


def _responses_result(server: MockServer, call_id: str, text: str) -> str:
    items: Any = [
        {"type": "function_call", "call_id": call_id, "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call_id, "output": text},
    ]
    return openai_client(server).responses.create(model="g", input=items).output_text


def _anthropic_first(server: MockServer) -> str:
    answer = anthropic_client(server).messages.create(
        model="c", max_tokens=9, messages=[{"role": "user", "content": "Paris?"}]
    )
    block = answer.content[0]
    assert block.type == "tool_use"
    return block.id


def _anthropic_result(server: MockServer, call_id: str, text: str) -> str:
    messages: Any = [
        {"role": "user", "content": "Paris?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": call_id, "name": "get_weather", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": text}]},
    ]
    block = anthropic_client(server).messages.create(model="c", max_tokens=9, messages=messages).content[0]
    assert block.type == "text"
    return block.text


def _gemini(server: MockServer) -> genai.Client:
    return genai.Client(api_key="test-key", http_options={"base_url": server.gemini_base_url})


def _gemini_first(server: MockServer) -> str:
    client = _gemini(server)  # held: a client closes its connections when it is collected
    calls = client.models.generate_content(model="gemini-2.5-flash", contents="Paris?").function_calls
    assert calls and calls[0].id
    return calls[0].id


def _gemini_result(server: MockServer, call_id: str, text: str) -> str:
    contents: Any = [
        {"role": "user", "parts": [{"text": "Paris?"}]},
        {"role": "model", "parts": [{"functionCall": {"id": call_id, "name": "get_weather", "args": {}}}]},
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"id": call_id, "name": "get_weather", "response": {"result": text}}}
            ],
        },
    ]
    client = _gemini(server)
    return client.models.generate_content(model="gemini-2.5-flash", contents=contents).text or ""


def _bedrock_first(server: MockServer) -> str:
    answer = bedrock_runtime(server).converse(
        modelId="m", messages=[{"role": "user", "content": [{"text": "Paris?"}]}]
    )
    return str(answer["output"]["message"]["content"][0]["toolUse"]["toolUseId"])


def _bedrock_result(server: MockServer, call_id: str, text: str) -> str:
    messages = [
        {"role": "user", "content": [{"text": "Paris?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": call_id, "name": "get_weather", "input": {}}}],
        },
        {"role": "user", "content": [{"toolResult": {"toolUseId": call_id, "content": [{"text": text}]}}]},
    ]
    answer = bedrock_runtime(server).converse(modelId="m", messages=messages)
    return str(answer["output"]["message"]["content"][0]["text"])


def _ollama_first(server: MockServer) -> str:
    answer = ollama.Client(host=server.ollama_host).chat(
        model="l", messages=[{"role": "user", "content": "Paris?"}]
    )
    assert answer.message.tool_calls
    return answer.message.tool_calls[0].function.name


def _ollama_result(server: MockServer, name: str, text: str) -> str:
    call = {"function": {"name": name, "arguments": {}}}
    messages: Any = [
        {"role": "user", "content": "Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_name": name, "content": text},
    ]
    return ollama.Client(host=server.ollama_host).chat(model="l", messages=messages).message.content or ""


LOOPS = {
    "chat": Loop("call_1", _chat_first, _chat_result),
    "responses": Loop("call_1", _responses_first, _responses_result),
    "anthropic": Loop("toolu_1", _anthropic_first, _anthropic_result),
    "gemini": Loop("call_1", _gemini_first, _gemini_result),
    "bedrock": Loop("tooluse_1", _bedrock_first, _bedrock_result),
    "ollama": Loop("get_weather", _ollama_first, _ollama_result),
}


@pytest.mark.parametrize("api", sorted(LOOPS))
def test_when_tool_result_means_the_last_message_is_that_result(
    api: str, m: MockBuilder, server: MockServer
) -> None:
    loop, start = LOOPS[api], BUILDERS[api]
    start(m).when_tool_result(loop.result_id, contains="Rainy").reply("Take an umbrella.")
    start(m).when_tool_result(loop.result_id).reply("Enjoy the weather.")
    asked: MockHandle[Any] = start(m).when_turn(0).reply_tool_call("get_weather", {"city": "Paris"})
    start(m).reply("Something else.")

    assert loop.answer_result(server, loop.result_id, "Rainy and cold") == "Take an umbrella."
    assert loop.answer_result(server, loop.result_id, "Sunny") == "Enjoy the weather."
    # Ids compare exactly: another call's result is not this one's.
    assert loop.answer_result(server, loop.result_id + "0", "Rainy") == "Something else."

    # The handle names the id the server made up for the call, so the loop can answer it.
    (made_up,) = asked.tool_call_ids
    assert loop.first_call_id(server) == made_up
    start(m).when_tool_result(made_up, contains="12").priority(1).reply("Mild.")
    assert loop.answer_result(server, made_up, json.dumps({"celsius": 12})) == "Mild."


def test_tool_call_ids_are_the_ones_given_in_order(m: MockBuilder) -> None:
    from mockllm.builders import ToolCall

    handle = m.anthropic_messages().reply_tool_calls([ToolCall("a", {}, id="toolu_a"), ToolCall("b", {})])
    assert handle.tool_call_ids == ("toolu_a", f"toolu_mockllm_{handle.position}_1")
    assert m.openai_chat().reply("No tools.").tool_call_ids == ()
    assert m.openai_chat().reply_error(429).tool_call_ids == ()


def test_every_reply_docstring_names_its_keywords(m: MockBuilder) -> None:
    starts = [*BUILDERS.values(), MockBuilder.openai_embeddings, MockBuilder.gemini_embeddings]
    for start in [*starts, MockBuilder.ollama_embeddings]:
        reply = type(start(m)).reply
        doc = inspect.getdoc(reply) or ""
        keywords = [p.name for p in inspect.signature(reply).parameters.values() if p.kind is p.KEYWORD_ONLY]
        assert [k for k in keywords if f"``{k}``" not in doc] == [], reply.__qualname__
