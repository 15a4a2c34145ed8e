"""One request with one tool declared, through each chat API's official SDK, sync and async,
streamed or not; what comes back read as the SDK parsed it: the tool calls and the text, and the
stop reason. The tests of programmable replies and of the fuzzing strategies ask every API alike
through these."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anthropic
import boto3
import ollama
import openai
from botocore.config import Config as BotoConfig
from google import genai
from google.genai import types

from mockllm import MockServer

JsonObject = dict[str, Any]

SCHEMA: JsonObject = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
}
TOOL = "get_weather"
QUESTION = "Weather in Paris?"
CHAT_APIS = ("openai", "openai_response", "anthropic", "gemini", "bedrock", "ollama")
ASYNC_APIS = ("openai", "openai_response", "anthropic", "gemini", "ollama")
"""boto3 has no async client."""


@dataclass
class Answer:
    """What the SDK gave back."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    """``(name, arguments)``, the arguments decoded from JSON where the API carries text."""
    text: str = ""
    stop: str | None = None


def _args(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class _ChatChunks:
    """A Chat Completions stream put together as a client does: text, stop, calls by index."""

    def __init__(self) -> None:
        self.text, self.stop = "", None
        self.names: dict[int, str] = {}
        self.arguments: dict[int, str] = {}

    def add(self, chunk: Any) -> None:
        for choice in chunk.choices:
            self.text += choice.delta.content or choice.delta.refusal or ""
            self.stop = choice.finish_reason or self.stop
            for call in choice.delta.tool_calls or []:
                if call.function and call.function.name:
                    self.names[call.index] = call.function.name
                self.arguments[call.index] = self.arguments.get(call.index, "") + (
                    (call.function and call.function.arguments) or ""
                )

    def answer(self) -> Answer:
        calls = [(self.names[i], _args(self.arguments[i])) for i in sorted(self.names)]
        return Answer(calls, self.text, self.stop)


def builder_of(m: Any, api: str) -> Any:
    """The builder of ``api``'s mocks on ``m`` (a `MockBuilder` or a `MockLLM`)."""
    verbs = {
        "openai": m.openai_chat,
        "openai_response": m.openai_responses,
        "anthropic": m.anthropic_messages,
    }
    return verbs[api]() if api in verbs else getattr(m, api)()


# --- sync ------------------------------------------------------------------------------------------


def _openai(server: MockServer, stream: bool) -> Answer:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
    tools: Any = [{"type": "function", "function": {"name": TOOL, "parameters": SCHEMA}}]
    ask: Any = {"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}], "tools": tools}
    if not stream:
        choice = client.chat.completions.create(**ask).choices[0]
        calls = [(c.function.name, _args(c.function.arguments)) for c in choice.message.tool_calls or []]  # type: ignore[union-attr]
        return Answer(calls, choice.message.content or choice.message.refusal or "", choice.finish_reason)
    chunks = _ChatChunks()
    for chunk in client.chat.completions.create(**ask, stream=True):
        chunks.add(chunk)
    return chunks.answer()


def _responses_answer(response: Any) -> Answer:
    answer = Answer(stop=response.status)
    for item in response.output:
        if item.type == "function_call":
            answer.calls.append((item.name, _args(item.arguments)))
        elif item.type == "message":
            for part in item.content:
                answer.text += getattr(part, "text", None) or getattr(part, "refusal", "")
    return answer


def _responses_ask() -> Any:
    tools = [{"type": "function", "name": TOOL, "parameters": SCHEMA, "strict": False}]
    return {"model": "gpt-4o", "input": QUESTION, "tools": tools}


def _responses(server: MockServer, stream: bool) -> Answer:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
    if not stream:
        return _responses_answer(client.responses.create(**_responses_ask()))
    with client.responses.stream(**_responses_ask()) as events:
        return _responses_answer(events.get_final_response())


def _anthropic_answer(message: Any) -> Answer:
    answer = Answer(stop=message.stop_reason)
    for block in message.content:
        if block.type == "tool_use":
            answer.calls.append((block.name, block.input))
        elif block.type == "text":
            answer.text += block.text
    return answer


def _anthropic_ask() -> Any:
    tools = [{"name": TOOL, "input_schema": SCHEMA}]
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": tools,
    }


def _anthropic(server: MockServer, stream: bool) -> Answer:
    client = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)
    if not stream:
        return _anthropic_answer(client.messages.create(**_anthropic_ask()))
    with client.messages.stream(**_anthropic_ask()) as events:
        return _anthropic_answer(events.get_final_message())


def _gemini_config() -> types.GenerateContentConfig:
    declaration = types.FunctionDeclaration(name=TOOL, parameters_json_schema=SCHEMA)
    return types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])])


def _gemini_add(answer: Answer, response: Any) -> None:
    for call in response.function_calls or []:
        answer.calls.append((call.name, call.args))
    for candidate in response.candidates or []:
        answer.stop = candidate.finish_reason.value if candidate.finish_reason else answer.stop
        for part in (candidate.content and candidate.content.parts) or []:
            answer.text += part.text or ""


@functools.lru_cache(maxsize=4)
def _gemini_client_at(base_url: str) -> genai.Client:
    # Making a client costs tens of milliseconds: a property test asks thousands of times.
    options = types.HttpOptions(base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key="test", http_options=options)


def _gemini_client(server: MockServer) -> genai.Client:
    return _gemini_client_at(server.gemini_base_url)


def _gemini(server: MockServer, stream: bool) -> Answer:
    client, answer = _gemini_client(server), Answer()
    ask: Any = {"model": "gemini-2.5-flash", "contents": QUESTION, "config": _gemini_config()}
    responses = (
        client.models.generate_content_stream(**ask) if stream else [client.models.generate_content(**ask)]
    )
    for response in responses:
        _gemini_add(answer, response)
    return answer


def _bedrock(server: MockServer, stream: bool) -> Answer:
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=server.bedrock_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    ask: Any = {
        "modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "messages": [{"role": "user", "content": [{"text": QUESTION}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": TOOL, "inputSchema": {"json": SCHEMA}}}]},
    }
    answer = Answer()
    if not stream:
        response = client.converse(**ask)
        answer.stop = response["stopReason"]
        for block in response["output"]["message"]["content"]:
            if "toolUse" in block:
                answer.calls.append((block["toolUse"]["name"], block["toolUse"]["input"]))
            answer.text += block.get("text", "")
        return answer
    names: dict[int, str] = {}
    inputs: dict[int, str] = {}
    for event in client.converse_stream(**ask)["stream"]:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            names[start["contentBlockIndex"]] = start["start"]["toolUse"]["name"]
        elif "contentBlockDelta" in event:
            delta, index = (
                event["contentBlockDelta"]["delta"],
                event["contentBlockDelta"]["contentBlockIndex"],
            )
            answer.text += delta.get("text", "")
            if "toolUse" in delta:
                inputs[index] = inputs.get(index, "") + delta["toolUse"]["input"]
        elif "messageStop" in event:
            answer.stop = event["messageStop"]["stopReason"]
    answer.calls = [(names[i], _args(inputs.get(i) or "{}")) for i in sorted(names)]
    return answer


def _ollama_ask() -> Any:
    tools = [{"type": "function", "function": {"name": TOOL, "parameters": SCHEMA}}]
    return {"model": "llama3.2", "messages": [{"role": "user", "content": QUESTION}], "tools": tools}


def _ollama_add(answer: Answer, response: Any) -> None:
    answer.text += response.message.content or ""
    answer.stop = response.done_reason or answer.stop
    for call in response.message.tool_calls or []:
        answer.calls.append((call.function.name, dict(call.function.arguments)))


def _ollama(server: MockServer, stream: bool) -> Answer:
    client, answer = ollama.Client(host=server.ollama_host), Answer()
    responses = client.chat(**_ollama_ask(), stream=True) if stream else [client.chat(**_ollama_ask())]
    for response in responses:
        _ollama_add(answer, response)
    return answer


ASK: dict[str, Callable[[MockServer, bool], Answer]] = {
    "openai": _openai,
    "openai_response": _responses,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "bedrock": _bedrock,
    "ollama": _ollama,
}


# --- async -----------------------------------------------------------------------------------------


async def _openai_async(server: MockServer, stream: bool) -> Answer:
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
    tools: Any = [{"type": "function", "function": {"name": TOOL, "parameters": SCHEMA}}]
    ask: Any = {"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}], "tools": tools}
    if not stream:
        choice = (await client.chat.completions.create(**ask)).choices[0]
        calls = [(c.function.name, _args(c.function.arguments)) for c in choice.message.tool_calls or []]  # type: ignore[union-attr]
        return Answer(calls, choice.message.content or "", choice.finish_reason)
    chunks = _ChatChunks()
    async for chunk in await client.chat.completions.create(**ask, stream=True):
        chunks.add(chunk)
    return chunks.answer()


async def _responses_async(server: MockServer, stream: bool) -> Answer:
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
    if not stream:
        return _responses_answer(await client.responses.create(**_responses_ask()))
    async with client.responses.stream(**_responses_ask()) as events:
        return _responses_answer(await events.get_final_response())


async def _anthropic_async(server: MockServer, stream: bool) -> Answer:
    client = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)
    if not stream:
        return _anthropic_answer(await client.messages.create(**_anthropic_ask()))
    async with client.messages.stream(**_anthropic_ask()) as events:
        return _anthropic_answer(await events.get_final_message())


async def _gemini_async(server: MockServer, stream: bool) -> Answer:
    client, answer = _gemini_client(server), Answer()
    ask: Any = {"model": "gemini-2.5-flash", "contents": QUESTION, "config": _gemini_config()}
    if not stream:
        _gemini_add(answer, await client.aio.models.generate_content(**ask))
        return answer
    async for response in await client.aio.models.generate_content_stream(**ask):
        _gemini_add(answer, response)
    return answer


async def _ollama_async(server: MockServer, stream: bool) -> Answer:
    client, answer = ollama.AsyncClient(host=server.ollama_host), Answer()
    if not stream:
        _ollama_add(answer, await client.chat(**_ollama_ask()))
        return answer
    async for response in await client.chat(**_ollama_ask(), stream=True):
        _ollama_add(answer, response)
    return answer


ASK_ASYNC: dict[str, Callable[[MockServer, bool], Awaitable[Answer]]] = {
    "openai": _openai_async,
    "openai_response": _responses_async,
    "anthropic": _anthropic_async,
    "gemini": _gemini_async,
    "ollama": _ollama_async,
}
