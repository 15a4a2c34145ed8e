"""The contract guard at request time, through the official SDKs over real HTTP: each answer a mock
gives is checked against what the request declares (its tools and their argument schemas, tool
choice, parallel calls, structured output), in the three modes (``warn`` journals and logs,
``error`` answers the provider's 400 before any stream event, ``off`` checks nothing), as the
journal, the admin API and ``mockllm serve --contract`` show it.

The requests are written once, in neutral terms (`Ask`), and each API's driver (`Api`) sends them
through its own SDK, sync, async or streamed, and reads back what the SDK got. The tables of cases
run against every API that has the knob a case needs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import anthropic
import botocore.config
import botocore.exceptions
import httpx2 as httpx
import ollama
import openai
import pytest
from google import genai
from google.genai import errors, types

from mockllm import MockServer, RecordedRequest, mock
from mockllm.builders import MockBuilder, ToolCall

from .conftest import (
    anthropic_bedrock_client,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    bedrock_runtime,
    openai_client,
)

T = TypeVar("T")
Transport = Literal["sync", "async", "stream"]
TRANSPORTS: tuple[Transport, ...] = ("sync", "async", "stream")
QUESTION = "What is the weather in Paris?"
BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"


# --- what a request declares, in neutral terms -----------------------------------------------------


CITY: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CITY_OPTIONAL: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}}
"""No ``required``: only a strict tool makes ``city`` required."""
ZONE: dict[str, Any] = {"type": "object", "properties": {"zone": {"type": "string"}}}
OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Declared:
    """A function tool a request declares."""

    name: str
    schema: dict[str, Any]
    strict: bool = False


WEATHER = Declared("get_weather", CITY)
STRICT_WEATHER = Declared("get_weather", CITY, strict=True)
STRICT_OPEN_WEATHER = Declared("get_weather", CITY_OPTIONAL, strict=True)
OPEN_WEATHER = Declared("get_weather", CITY_OPTIONAL)
TIME = Declared("get_time", ZONE)
CONTACT = Declared(
    "update_contact",
    {
        "type": "object",
        "properties": {"properties": {"type": "object", "properties": {"email": {"type": "string"}}}},
    },
    strict=True,
)
"""A strict tool with an argument called ``properties``, a keyword of JSON Schema too."""


@dataclass(frozen=True)
class Ask:
    """What a request asks of its answer."""

    tools: tuple[Declared, ...] = ()
    choice: str | None = None
    """``"none"``, ``"required"`` or the name of the one tool the request forces; None: auto."""
    parallel: bool | None = None
    """``parallel_tool_calls`` (Anthropic's ``disable_parallel_tool_use``, inverted); None: unsaid."""
    output: dict[str, Any] | Literal["json"] | None = None
    """Structured output: JSON of this schema, or ``"json"``: any JSON (JSON mode)."""


@dataclass
class Answer:
    """What the SDK got: the names of the tools called, and the text."""

    calls: list[str] = field(default_factory=list)
    text: str = ""


Events = list[Any]
"""Every stream event the SDK handed out, as the driver read them."""


_CLIENTS: dict[tuple[Callable[[MockServer], Any], MockServer], Any] = {}


def cached(server: MockServer, make: Callable[[MockServer], T]) -> T:
    """The sync client ``make`` gives for ``server``, made once per server: the module's servers
    serve hundreds of requests, and an SDK client costs more to make than a request to send. (The
    async ones are made anew: each belongs to its own event loop.)"""
    key = (make, server)
    if key not in _CLIENTS:
        _CLIENTS[key] = make(server)
    client: T = _CLIENTS[key]
    return client


def _named(choice: str | None) -> str | None:
    return choice if choice not in (None, "none", "required") else None


# --- OpenAI Chat Completions ----------------------------------------------------------------------


def _chat_kwargs(ask: Ask) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": QUESTION}]}
    if ask.tools:
        kwargs["tools"] = [
            {
                "type": "function",
                "function": {"name": tool.name, "parameters": tool.schema, "strict": tool.strict},
            }
            for tool in ask.tools
        ]
    if ask.choice in ("none", "required"):
        kwargs["tool_choice"] = ask.choice
    elif ask.choice is not None:
        kwargs["tool_choice"] = {"type": "function", "function": {"name": ask.choice}}
    if ask.parallel is not None:
        kwargs["parallel_tool_calls"] = ask.parallel
    if ask.output == "json":
        kwargs["response_format"] = {"type": "json_object"}
    elif ask.output is not None:
        schema = {"name": "answer", "schema": ask.output, "strict": True}
        kwargs["response_format"] = {"type": "json_schema", "json_schema": schema}
    return kwargs


def send_chat(server: MockServer, ask: Ask, transport: Transport, events: Events) -> Answer:
    kwargs = _chat_kwargs(ask)
    if transport == "stream":
        answer = Answer()
        for chunk in cached(server, openai_client).chat.completions.create(**kwargs, stream=True):
            events.append(chunk)
            for choice in chunk.choices:
                answer.text += choice.delta.content or ""
                for call in choice.delta.tool_calls or ():
                    if call.function is not None and call.function.name:
                        answer.calls.append(call.function.name)
        return answer
    if transport == "async":

        async def create() -> Any:
            async with async_openai_client(server) as client:
                return await client.chat.completions.create(**kwargs)

        completion = asyncio.run(create())
    else:
        completion = cached(server, openai_client).chat.completions.create(**kwargs)
    message = completion.choices[0].message
    return Answer([call.function.name for call in message.tool_calls or ()], message.content or "")


# --- OpenAI Responses -----------------------------------------------------------------------------


def _responses_kwargs(ask: Ask) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "input": QUESTION}
    if ask.tools:
        kwargs["tools"] = [
            {"type": "function", "name": tool.name, "parameters": tool.schema, "strict": tool.strict}
            for tool in ask.tools
        ]
    if ask.choice in ("none", "required"):
        kwargs["tool_choice"] = ask.choice
    elif ask.choice is not None:
        kwargs["tool_choice"] = {"type": "function", "name": ask.choice}
    if ask.parallel is not None:
        kwargs["parallel_tool_calls"] = ask.parallel
    if ask.output == "json":
        kwargs["text"] = {"format": {"type": "json_object"}}
    elif ask.output is not None:
        kwargs["text"] = {
            "format": {"type": "json_schema", "name": "answer", "schema": ask.output, "strict": True}
        }
    return kwargs


def _response_answer(response: Any) -> Answer:
    calls = [item.name for item in response.output if item.type == "function_call"]
    return Answer(calls, response.output_text)


def send_responses(server: MockServer, ask: Ask, transport: Transport, events: Events) -> Answer:
    kwargs = _responses_kwargs(ask)
    if transport == "stream":
        completed = None
        for event in cached(server, openai_client).responses.create(**kwargs, stream=True):
            events.append(event)
            if event.type == "response.completed":
                completed = event.response
        assert completed is not None, "the stream has no response.completed event"
        return _response_answer(completed)
    if transport == "async":

        async def create() -> Any:
            async with async_openai_client(server) as client:
                return await client.responses.create(**kwargs)

        return _response_answer(asyncio.run(create()))
    return _response_answer(cached(server, openai_client).responses.create(**kwargs))


# --- Anthropic (and Claude on Bedrock) ------------------------------------------------------------


def _anthropic_kwargs(ask: Ask, model: str = "claude-sonnet-4-5") -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    if ask.tools:
        kwargs["tools"] = [
            {"name": tool.name, "input_schema": tool.schema, **({"strict": True} if tool.strict else {})}
            for tool in ask.tools
        ]
    choice: dict[str, Any] | None = None
    if ask.choice == "none":
        choice = {"type": "none"}
    elif ask.choice == "required":
        choice = {"type": "any"}
    elif ask.choice is not None:
        choice = {"type": "tool", "name": ask.choice}
    if ask.parallel is not None:
        choice = {"type": "auto", **(choice or {}), "disable_parallel_tool_use": not ask.parallel}
    if choice is not None:
        kwargs["tool_choice"] = choice
    if isinstance(ask.output, dict):
        kwargs["output_config"] = {"format": {"type": "json_schema", "schema": ask.output}}
    return kwargs


def _message_answer(message: Any) -> Answer:
    calls = [block.name for block in message.content if block.type == "tool_use"]
    return Answer(calls, "".join(block.text for block in message.content if block.type == "text"))


def _send_messages(client: Any, kwargs: dict[str, Any], events: Events) -> Answer:
    with client.messages.stream(**kwargs) as stream:
        for event in stream:
            events.append(event)
        return _message_answer(stream.get_final_message())


def send_anthropic(server: MockServer, ask: Ask, transport: Transport, events: Events) -> Answer:
    kwargs = _anthropic_kwargs(ask)
    if transport == "stream":
        return _send_messages(cached(server, anthropic_client), kwargs, events)
    if transport == "async":

        async def create() -> Any:
            async with async_anthropic_client(server) as client:
                return await client.messages.create(**kwargs)

        return _message_answer(asyncio.run(create()))
    return _message_answer(cached(server, anthropic_client).messages.create(**kwargs))


def send_anthropic_bedrock(server: MockServer, ask: Ask, transport: Transport, events: Events) -> Answer:
    client = cached(server, anthropic_bedrock_client)
    kwargs = _anthropic_kwargs(ask, BEDROCK_MODEL)
    if transport == "stream":
        return _send_messages(client, kwargs, events)
    return _message_answer(client.messages.create(**kwargs))


# --- Gemini ---------------------------------------------------------------------------------------


def openapi_schema(schema: dict[str, Any]) -> types.Schema:
    """A JSON Schema of these tests as Google's OpenAPI subset (upper-case types)."""
    properties = schema.get("properties")
    return types.Schema(
        type=types.Type(schema["type"].upper()),
        properties={name: openapi_schema(item) for name, item in properties.items()} if properties else None,
        required=schema.get("required"),
    )


def _gemini_config(ask: Ask, *, openapi: bool) -> types.GenerateContentConfig:
    config = types.GenerateContentConfig(
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)
    )
    if ask.tools:
        declarations = [
            types.FunctionDeclaration(name=tool.name, parameters=openapi_schema(tool.schema))
            if openapi
            else types.FunctionDeclaration(name=tool.name, parameters_json_schema=tool.schema)
            for tool in ask.tools
        ]
        config.tools = [types.Tool(function_declarations=declarations)]
    if ask.choice is not None:
        mode = (
            types.FunctionCallingConfigMode.NONE
            if ask.choice == "none"
            else types.FunctionCallingConfigMode.ANY
        )
        named = _named(ask.choice)
        calling = types.FunctionCallingConfig(mode=mode, allowed_function_names=[named] if named else None)
        config.tool_config = types.ToolConfig(function_calling_config=calling)
    if ask.output is not None:
        config.response_mime_type = "application/json"
        if isinstance(ask.output, dict) and openapi:
            config.response_schema = openapi_schema(ask.output)
        elif isinstance(ask.output, dict):
            config.response_json_schema = ask.output
    return config


def _gemini_answer(chunks: Sequence[types.GenerateContentResponse]) -> Answer:
    answer = Answer()
    for chunk in chunks:
        content = chunk.candidates[0].content if chunk.candidates else None
        for part in (content.parts if content is not None else None) or ():
            if part.function_call is not None and part.function_call.name:
                answer.calls.append(part.function_call.name)
            elif part.text and not part.thought:
                answer.text += part.text
    return answer


def gemini_client(server: MockServer) -> genai.Client:
    return genai.Client(api_key="test-key", http_options={"base_url": server.gemini_base_url})


def _send_gemini(
    server: MockServer, ask: Ask, transport: Transport, events: Events, *, openapi: bool
) -> Answer:
    model, config = "gemini-2.5-flash", _gemini_config(ask, openapi=openapi)
    if transport == "stream":
        stream = cached(server, gemini_client).models.generate_content_stream
        for chunk in stream(model=model, contents=QUESTION, config=config):
            events.append(chunk)
        return _gemini_answer(events)
    if transport == "async":

        async def create() -> types.GenerateContentResponse:
            client = gemini_client(server)
            return await client.aio.models.generate_content(model=model, contents=QUESTION, config=config)

        return _gemini_answer([asyncio.run(create())])
    generate = cached(server, gemini_client).models.generate_content
    return _gemini_answer([generate(model=model, contents=QUESTION, config=config)])


def send_gemini(server: MockServer, ask: Ask, transport: Transport, events: Events) -> Answer:
    """Tools with ``parametersJsonSchema``, output with ``responseJsonSchema``."""
    return _send_gemini(server, ask, transport, events, openapi=False)


def send_gemini_openapi(server: MockServer, ask: Ask, transport: Transport, events: Events) -> Answer:
    """Tools with ``parameters``, output with ``responseSchema``: Google's OpenAPI subset."""
    return _send_gemini(server, ask, transport, events, openapi=True)


# --- Bedrock Converse -----------------------------------------------------------------------------


def _converse_kwargs(ask: Ask) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "modelId": BEDROCK_MODEL,
        "messages": [{"role": "user", "content": [{"text": QUESTION}]}],
    }
    if ask.tools:
        specs = [
            {
                "name": tool.name,
                "inputSchema": {"json": tool.schema},
                **({"strict": True} if tool.strict else {}),
            }
            for tool in ask.tools
        ]
        config: dict[str, Any] = {"tools": [{"toolSpec": spec} for spec in specs]}
        if ask.choice == "required":
            config["toolChoice"] = {"any": {}}
        elif ask.choice is not None:
            config["toolChoice"] = {"tool": {"name": ask.choice}}
        kwargs["toolConfig"] = config
    if isinstance(ask.output, dict):
        schema = {"name": "answer", "schema": json.dumps(ask.output)}
        kwargs["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": schema}}}
    return kwargs


def send_bedrock(server: MockServer, ask: Ask, transport: Transport, events: Events) -> Answer:
    client, kwargs = cached(server, bedrock_runtime), _converse_kwargs(ask)
    answer = Answer()
    if transport == "stream":
        for event in client.converse_stream(**kwargs)["stream"]:
            events.append(event)
            if "contentBlockStart" in event:
                answer.calls.append(event["contentBlockStart"]["start"]["toolUse"]["name"])
            elif "contentBlockDelta" in event:
                answer.text += event["contentBlockDelta"]["delta"].get("text", "")
        return answer
    for block in client.converse(**kwargs)["output"]["message"]["content"]:
        if "toolUse" in block:
            answer.calls.append(block["toolUse"]["name"])
        answer.text += block.get("text", "")
    return answer


# --- Ollama ---------------------------------------------------------------------------------------


def _ollama_kwargs(ask: Ask) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": "llama3.2", "messages": [{"role": "user", "content": QUESTION}]}
    if ask.tools:
        kwargs["tools"] = [
            {"type": "function", "function": {"name": tool.name, "parameters": tool.schema}}
            for tool in ask.tools
        ]
    if ask.output is not None:
        kwargs["format"] = ask.output
    return kwargs


def _ollama_answer(parts: Sequence[ollama.ChatResponse]) -> Answer:
    answer = Answer()
    for part in parts:
        answer.calls += [call.function.name for call in part.message.tool_calls or ()]
        answer.text += part.message.content or ""
    return answer


def ollama_client(server: MockServer) -> ollama.Client:
    return ollama.Client(host=server.ollama_host)


def send_ollama(server: MockServer, ask: Ask, transport: Transport, events: Events) -> Answer:
    kwargs = _ollama_kwargs(ask)
    if transport == "stream":
        for part in cached(server, ollama_client).chat(**kwargs, stream=True):
            events.append(part)
        return _ollama_answer(events)
    if transport == "async":

        async def create() -> ollama.ChatResponse:
            response: ollama.ChatResponse = await ollama.AsyncClient(host=server.ollama_host).chat(**kwargs)
            return response

        return _ollama_answer([asyncio.run(create())])
    return _ollama_answer([cached(server, ollama_client).chat(**kwargs)])


# --- the APIs -------------------------------------------------------------------------------------


Knob = Literal["strict", "none", "required", "named", "parallel", "json_mode", "schema_output"]


def _status_of_boto(error: Exception) -> int:
    assert isinstance(error, botocore.exceptions.ClientError)
    assert error.response["Error"]["Code"] == "ValidationException"
    return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


@dataclass(frozen=True)
class Api:
    """An API as these tests drive it: its mock builder, its SDK, and where in its answer things are."""

    id: str
    builder: Callable[[MockBuilder], Any]
    calls_verb: str
    """The builder's verb of an answer with several tool calls."""
    send: Callable[[MockServer, Ask, Transport, Events], Answer]
    call_path: str
    """The JSON path of tool call ``{i}`` in the answer."""
    arguments_key: str
    """Where a call's arguments are, from the call."""
    text_path: str
    knobs: frozenset[Knob]
    error: type[Exception]
    """What its SDK raises for a 400."""
    status_of: Callable[[Exception], int]
    transports: tuple[Transport, ...] = TRANSPORTS
    only: frozenset[str] | None = None
    """The ids of the only cases run against it (a second way to the same API's reader)."""

    def __str__(self) -> str:
        return self.id

    def reply(
        self, m: MockBuilder, answer: Sequence[ToolCall] | str, *, name: str | None = None, once: bool = False
    ) -> Any:
        """Register a mock answering any request with ``answer``: tool calls, or a text."""
        entry = self.builder(m)
        if name is not None:
            entry = entry.named(name)
        if once:
            entry = entry.once()
        if isinstance(answer, str):
            return entry.reply(answer)
        return getattr(entry, self.calls_verb)(list(answer))

    def path(self, where: str) -> str:
        """``call0``, ``args0``, ``call1``, ``text`` or ``$``, in this API's answer."""
        if where.startswith("call"):
            return self.call_path.format(i=int(where[4:]))
        if where.startswith("args"):
            return self.call_path.format(i=int(where[4:])) + self.arguments_key
        return self.text_path if where == "text" else where


def _status_code(error: Exception) -> int:
    assert isinstance(error, (openai.APIStatusError, anthropic.APIStatusError, ollama.ResponseError))
    return error.status_code


def _gemini_code(error: Exception) -> int:
    assert isinstance(error, errors.ClientError)
    return error.code


CHOICES: frozenset[Knob] = frozenset(("none", "required", "named", "parallel"))
OPENAI_CHAT = Api(
    id="openai_chat",
    builder=MockBuilder.openai_chat,
    calls_verb="reply_tool_calls",
    send=send_chat,
    call_path="$.choices[0].message.tool_calls[{i}]",
    arguments_key=".function.arguments",
    text_path="$.choices[0].message.content",
    knobs=CHOICES | {"strict", "json_mode", "schema_output"},
    error=openai.BadRequestError,
    status_of=_status_code,
)
OPENAI_RESPONSES = Api(
    id="openai_responses",
    builder=MockBuilder.openai_responses,
    calls_verb="reply_function_calls",
    send=send_responses,
    call_path="$.output[{i}]",
    arguments_key=".arguments",
    text_path="$.output[0].content",
    knobs=CHOICES | {"strict", "json_mode", "schema_output"},
    error=openai.BadRequestError,
    status_of=_status_code,
)
ANTHROPIC = Api(
    id="anthropic",
    builder=MockBuilder.anthropic_messages,
    calls_verb="reply_tool_uses",
    send=send_anthropic,
    call_path="$.content[{i}]",
    arguments_key=".input",
    text_path="$.content",
    knobs=CHOICES | {"strict", "schema_output"},
    error=anthropic.BadRequestError,
    status_of=_status_code,
)
ANTHROPIC_BEDROCK = dataclasses.replace(
    ANTHROPIC,
    id="anthropic_bedrock",
    send=send_anthropic_bedrock,
    transports=("sync", "stream"),
    only=frozenset(("fits", "undeclared_tool", "wrong_type", "extra_key_strict_tool")),
)
"""Claude on Bedrock (``anthropic.AnthropicBedrock``): the anthropic mocks on InvokeModel's routes."""
GEMINI = Api(
    id="gemini",
    builder=MockBuilder.gemini,
    calls_verb="reply_function_calls",
    send=send_gemini,
    call_path="$.candidates[0].content.parts[{i}].functionCall",
    arguments_key=".args",
    text_path="$.candidates[0].content.parts",
    knobs=frozenset(("none", "required", "named", "json_mode", "schema_output")),
    error=errors.ClientError,
    status_of=_gemini_code,
)
GEMINI_OPENAPI = dataclasses.replace(
    GEMINI,
    id="gemini_openapi",
    send=send_gemini_openapi,
    transports=("sync", "stream"),
    only=frozenset(
        (
            *("fits", "missing_required_key", "wrong_type", "optional_key_loose_tool", "second_call_wrong"),
            *("schema_json_off_schema", "schema_json_missing_key", "schema_fits"),
        )
    ),
)
"""Gemini with the schemas in Google's OpenAPI subset (``parameters``, ``responseSchema``)."""
BEDROCK = Api(
    id="bedrock",
    builder=MockBuilder.bedrock,
    calls_verb="reply_tool_uses",
    send=send_bedrock,
    call_path="$.output.message.content[{i}].toolUse",
    arguments_key=".input",
    text_path="$.output.message.content",
    knobs=frozenset(("strict", "required", "named", "schema_output")),
    error=botocore.exceptions.ClientError,
    status_of=_status_of_boto,
    transports=("sync", "stream"),  # boto3 has no async client
)
OLLAMA = Api(
    id="ollama",
    builder=MockBuilder.ollama,
    calls_verb="reply_tool_calls",
    send=send_ollama,
    call_path="$.message.tool_calls[{i}]",
    arguments_key=".function.arguments",
    text_path="$.message.content",
    knobs=frozenset(("json_mode", "schema_output")),
    error=ollama.ResponseError,
    status_of=_status_code,
)
APIS = (OPENAI_CHAT, OPENAI_RESPONSES, ANTHROPIC, ANTHROPIC_BEDROCK, GEMINI, GEMINI_OPENAPI, BEDROCK, OLLAMA)


# --- the cases ------------------------------------------------------------------------------------


Expected = tuple[str, str, tuple[str, ...]]
"""A problem expected: its rule, where (see `Api.path`), and parts of its message."""


@dataclass(frozen=True)
class Case:
    id: str
    ask: Ask
    answer: tuple[ToolCall, ...] | str
    problems: tuple[Expected, ...] = ()
    needs: frozenset[Knob] = frozenset()
    transports: tuple[Transport, ...] = ("sync",)
    """Sent each of these ways (those the API's SDK has)."""

    def __str__(self) -> str:
        return self.id


def calls(*pairs: tuple[str, dict[str, Any]]) -> tuple[ToolCall, ...]:
    return tuple(ToolCall(name, arguments) for name, arguments in pairs)


PARIS = calls(("get_weather", {"city": "Paris"}))
UNKNOWN = ("unknown_tool", "call0", ('the answer calls "get_time"', 'the request declares "get_weather"'))

TOOL_CASES = (
    Case("fits", Ask(tools=(WEATHER, TIME)), PARIS, transports=TRANSPORTS),
    Case(
        "undeclared_tool", Ask(tools=(WEATHER,)), calls(("get_time", {})), (UNKNOWN,), transports=TRANSPORTS
    ),
    Case(
        "no_tools_declared",
        Ask(),
        PARIS,
        (("unknown_tool", "call0", ('the answer calls "get_weather"', "the request declares no tools")),),
    ),
    Case(
        "missing_required_key",
        Ask(tools=(WEATHER,)),
        calls(("get_weather", {})),
        (("tool_arguments", "args0", ('"city" is a required property', '(tool "get_weather")')),),
    ),
    Case(
        "wrong_type",
        Ask(tools=(WEATHER,)),
        calls(("get_weather", {"city": 42})),
        (("tool_arguments", "args0", ('$.city: 42 is not of type "string"', '(tool "get_weather")')),),
        transports=TRANSPORTS,
    ),
    Case(
        "second_call_wrong",
        Ask(tools=(WEATHER, TIME)),
        calls(("get_time", {"zone": "CET"}), ("get_weather", {"city": ["Paris"]})),
        (("tool_arguments", "args1", ('$.city: ["Paris"] is not of type "string"',)),),
    ),
    Case(
        "extra_key_loose_tool", Ask(tools=(WEATHER,)), calls(("get_weather", {"city": "Paris", "units": "C"}))
    ),
    Case(
        "extra_key_strict_tool",
        Ask(tools=(STRICT_WEATHER,)),
        calls(("get_weather", {"city": "Paris", "units": "C"})),
        (("tool_arguments", "args0", ("Additional properties are not allowed", "'units' was unexpected")),),
        frozenset({"strict"}),
    ),
    Case("optional_key_loose_tool", Ask(tools=(OPEN_WEATHER,)), calls(("get_weather", {}))),
    Case(
        "optional_key_strict_tool",
        Ask(tools=(STRICT_OPEN_WEATHER,)),
        calls(("get_weather", {})),
        (("tool_arguments", "args0", ('"city" is a required property',)),),
        frozenset({"strict"}),
    ),
    Case(
        "strict_tool_with_a_properties_argument",  # closed at each depth, its names no keywords
        Ask(tools=(CONTACT,)),
        calls(("update_contact", {"properties": {"email": "a@example.com", "phone": "1"}})),
        (("tool_arguments", "args0", ("$.properties: Additional properties", "'phone' was unexpected")),),
        frozenset({"strict"}),
    ),
)

CHOICE_CASES = (
    Case(
        "none_forbids_a_call",
        Ask(tools=(WEATHER,), choice="none"),
        PARIS,
        (("tools_forbidden", "call0", ("forbids tool calls (tool choice none)",)),),
        frozenset({"none"}),
    ),
    Case("none_and_text", Ask(tools=(WEATHER,), choice="none"), "Sunny.", (), frozenset({"none"})),
    Case(
        "required_and_text",
        Ask(tools=(WEATHER,), choice="required"),
        "Sunny.",
        (("forced_tool", "$", ("forces a call of a tool; the answer has none",)),),
        frozenset({"required"}),
    ),
    Case("required_and_a_call", Ask(tools=(WEATHER,), choice="required"), PARIS, (), frozenset({"required"})),
    Case(
        "forced_and_another_tool",
        Ask(tools=(WEATHER, TIME), choice="get_weather"),
        calls(("get_time", {"zone": "CET"})),
        (("forced_tool", "call0", ('forces a call of "get_weather"; the answer calls "get_time"',)),),
        frozenset({"named"}),
    ),
    Case(
        "forced_and_text",
        Ask(tools=(WEATHER, TIME), choice="get_weather"),
        "Sunny.",
        (("forced_tool", "$", ('forces a call of the tool "get_weather"; the answer has none',)),),
        frozenset({"named"}),
    ),
    Case(
        "forced_and_that_tool",
        Ask(tools=(WEATHER, TIME), choice="get_weather"),
        PARIS,
        (),
        frozenset({"named"}),
    ),
    Case(
        "parallel_off_two_calls",
        Ask(tools=(WEATHER,), parallel=False),
        calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})),
        (("parallel_calls", "call1", ("turns parallel tool calls off; the answer makes 2 calls",)),),
        frozenset({"parallel"}),
    ),
    Case(
        "parallel_on_two_calls",
        Ask(tools=(WEATHER,), parallel=True),
        calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})),
        (),
        frozenset({"parallel"}),
    ),
    Case(
        "several_rules_at_once",
        Ask(tools=(WEATHER,), choice="none"),
        calls(("get_time", {})),
        (("tools_forbidden", "call0", ()), UNKNOWN),
        frozenset({"none"}),
    ),
)

OUTPUT_CASES = (
    Case(
        "schema_text_not_json",
        Ask(output=OUTPUT),
        "Sunny in Paris.",
        (("structured_output", "text", ("the request asks for JSON; the answer is 'Sunny in Paris.'",)),),
        frozenset({"schema_output"}),
    ),
    Case(
        "schema_json_off_schema",
        Ask(output=OUTPUT),
        '{"city": 42}',
        (("structured_output", "text", ('$.city: 42 is not of type "string"',)),),
        frozenset({"schema_output"}),
    ),
    Case(
        "schema_json_missing_key",
        Ask(output=OUTPUT),
        "{}",
        (("structured_output", "text", ('"city" is a required property',)),),
        frozenset({"schema_output"}),
    ),
    Case("schema_fits", Ask(output=OUTPUT), '{"city": "Paris"}', (), frozenset({"schema_output"})),
    Case(
        "schema_and_a_tool_call",  # a tool call is not the structured answer: not checked as one
        Ask(tools=(WEATHER,), output=OUTPUT),
        PARIS,
        (),
        frozenset({"schema_output"}),
    ),
    Case(
        "json_mode_text_not_json",
        Ask(output="json"),
        "Sunny in Paris, all day long, with a light breeze.",
        (("structured_output", "text", ("the answer is 'Sunny in Paris, all day long, with a ...'",)),),
        frozenset({"json_mode"}),
    ),
    Case("json_mode_any_json", Ask(output="json"), '{"anything": [1, 2]}', (), frozenset({"json_mode"})),
)


def last(server: MockServer) -> RecordedRequest:
    return list(server.journal)[-1]


# --- servers --------------------------------------------------------------------------------------


class Servers:
    """One server per contract mode for the module (a server per test costs more than its
    requests), each following its own builder."""

    def __init__(self) -> None:
        self.running: dict[str, tuple[MockBuilder, MockServer]] = {}

    def __call__(self, mode: str) -> tuple[MockBuilder, MockServer]:
        """The builder and server of ``mode``, with no mocks, counts or journal left from before."""
        if mode not in self.running:
            builder = mock()
            self.running[mode] = (builder, MockServer(builder, contract=mode).start_in_thread())
        builder, server = self.running[mode]
        builder.reset()
        server.reset()
        return builder, server


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    made = Servers()
    yield made
    for _, server in made.running.values():
        server.stop_thread()
    _CLIENTS.clear()


@pytest.fixture
def m(servers: Servers) -> MockBuilder:
    """The builder of the module's server in warn mode (the default), with no mocks."""
    return servers("warn")[0]


@pytest.fixture
def server(servers: Servers, m: MockBuilder) -> MockServer:
    """The module's server in warn mode, following ``m`` (cleared by it)."""
    return servers.running["warn"][1]


def assert_problems(record: RecordedRequest, api: Api, expected: Sequence[Expected]) -> None:
    """The entry's problems are ``expected``: rules and paths in order, each message with its parts."""
    got = [(problem.rule, problem.path) for problem in record.contract]
    assert got == [(rule, api.path(where)) for rule, where, _ in expected], record.contract
    for problem, (_, _, parts) in zip(record.contract, expected, strict=True):
        for part in parts:
            assert part in problem.message, (part, problem.message)


def table(cases: Sequence[Case]) -> list[Any]:
    """(api, case, transport) for every API that has the knobs of the case, each way to send it."""
    return [
        pytest.param(api, case, transport, id=f"{api}-{case}-{transport}")
        for case in cases
        for api in APIS
        if case.needs <= api.knobs and (api.only is None or case.id in api.only)
        for transport in case.transports
        if transport in api.transports
    ]


def check(m: MockBuilder, server: MockServer, api: Api, case: Case, transport: Transport) -> None:
    """In warn mode: the answer goes out whole as the mock wrote it, and its journal entry lists the
    problems expected."""
    api.reply(m, case.answer)
    events: Events = []
    answer = api.send(server, case.ask, transport, events)
    if isinstance(case.answer, str):
        assert (answer.calls, answer.text) == ([], case.answer)
    else:
        assert answer.calls == [call.name for call in case.answer]
    if transport == "stream":
        assert events
    record = last(server)
    assert record.status == 200
    assert_problems(record, api, case.problems)


# --- tools, tool choice, structured output: every API --------------------------------------------


@pytest.mark.parametrize(("api", "case", "transport"), table(TOOL_CASES))
def test_tool_calls_against_the_declared_tools(
    m: MockBuilder, server: MockServer, api: Api, case: Case, transport: Transport
) -> None:
    check(m, server, api, case, transport)


@pytest.mark.parametrize(("api", "case", "transport"), table(CHOICE_CASES))
def test_tool_calls_against_tool_choice_and_parallel_calls(
    m: MockBuilder, server: MockServer, api: Api, case: Case, transport: Transport
) -> None:
    check(m, server, api, case, transport)


@pytest.mark.parametrize(("api", "case", "transport"), table(OUTPUT_CASES))
def test_text_against_structured_output(
    m: MockBuilder, server: MockServer, api: Api, case: Case, transport: Transport
) -> None:
    check(m, server, api, case, transport)


def test_hosted_tool_calls_are_not_the_agents(m: MockBuilder, server: MockServer) -> None:
    """A web search the provider ran is no call of the agent's tools: not an unknown tool, and the
    text after it is still the answer that structured output checks."""
    m.openai_responses().reply_web_search("weather in Paris", then_text="Sunny in Paris.")
    m.anthropic_messages().reply_web_search("weather in Paris", then_text="Sunny in Paris.")
    send_responses(server, Ask(output=OUTPUT), "sync", [])
    assert_problems(last(server), OPENAI_RESPONSES, [("structured_output", "$.output[1].content", ())])
    send_anthropic(server, Ask(output=OUTPUT), "sync", [])
    assert_problems(last(server), ANTHROPIC, [("structured_output", "text", ("'Sunny in Paris.'",))])


def test_gemini_thoughts_are_not_the_structured_answer(m: MockBuilder, server: MockServer) -> None:
    m.gemini().when_last_message_contains("Paris").reply('{"city": "Paris"}', thinking="Paris, surely.")
    m.gemini().reply("Rome, then.", thinking='{"city": "Rome"}')
    send_gemini(server, Ask(output=OUTPUT), "sync", [])
    assert last(server).contract == ()
    client = cached(server, gemini_client)
    config = types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=OUTPUT)
    client.models.generate_content(model="gemini-2.5-flash", contents="And Rome?", config=config)
    assert_problems(last(server), GEMINI, [("structured_output", "text", ("'Rome, then.'",))])


@pytest.mark.parametrize(
    ("mode", "answer", "expected"),
    [
        (
            "auto",
            calls(("get_time", {})),
            [("forced_tool", "call0", ('"get_weather"; the answer calls "get_time"',))],
        ),
        ("required", "Sunny.", [("forced_tool", "$", ('forces a call of the tool "get_weather"',))]),
        ("auto", "Sunny.", []),
        ("required", PARIS, []),
    ],
)
@pytest.mark.parametrize("api", [OPENAI_CHAT, OPENAI_RESPONSES], ids=str)
def test_openai_allowed_tools_restrict_the_calls(
    m: MockBuilder,
    server: MockServer,
    api: Api,
    mode: str,
    answer: tuple[ToolCall, ...] | str,
    expected: list[Expected],
) -> None:
    api.reply(m, answer)
    client = cached(server, openai_client)
    if api is OPENAI_CHAT:
        allowed = {"mode": mode, "tools": [{"type": "function", "function": {"name": "get_weather"}}]}
        kwargs = _chat_kwargs(Ask(tools=(WEATHER, TIME)))
        kwargs["tool_choice"] = {"type": "allowed_tools", "allowed_tools": allowed}
        client.chat.completions.create(**kwargs)
    else:
        kwargs = _responses_kwargs(Ask(tools=(WEATHER, TIME)))
        kwargs["tool_choice"] = {
            "type": "allowed_tools",
            "mode": mode,
            "tools": [{"type": "function", "name": "get_weather"}],
        }
        client.responses.create(**kwargs)
    assert_problems(last(server), api, expected)


EXTRA_KEY = ("tool_arguments", "args0", ("'units' was unexpected",))


@pytest.mark.parametrize(
    ("api", "strict", "expected"),
    [
        (OPENAI_RESPONSES, "left out", [EXTRA_KEY]),
        (OPENAI_RESPONSES, None, [EXTRA_KEY]),
        (OPENAI_RESPONSES, False, []),
        (OPENAI_CHAT, "left out", []),
    ],
    ids=["responses-left_out", "responses-null", "responses-false", "chat-left_out"],
)
def test_a_responses_function_tool_is_strict_unless_it_says_not(
    m: MockBuilder, server: MockServer, api: Api, strict: bool | str | None, expected: list[Expected]
) -> None:
    """Responses makes a function tool's schema strict when the request leaves ``strict`` out;
    Chat Completions keeps it as written."""
    api.reply(m, calls(("get_weather", {"city": "Paris", "units": "C"})))
    client = cached(server, openai_client)
    tool: dict[str, Any] = {"name": "get_weather", "parameters": CITY}
    if strict != "left out":
        tool["strict"] = strict
    if api is OPENAI_CHAT:
        kwargs = {**_chat_kwargs(Ask()), "tools": [{"type": "function", "function": tool}]}
        client.chat.completions.create(**kwargs)
    else:
        client.responses.create(**{**_responses_kwargs(Ask()), "tools": [{"type": "function", **tool}]})
    assert_problems(last(server), api, expected)


def test_gemini_requests_in_snake_case_are_read_too(m: MockBuilder, server: MockServer) -> None:
    """Google's API takes the request's keys in snake_case as well (as REST clients other than
    the SDK may send them)."""
    m.gemini().reply_function_call("get_time", {})
    body = {
        "contents": [{"role": "user", "parts": [{"text": QUESTION}]}],
        "tools": [{"function_declarations": [{"name": "get_weather", "parameters_json_schema": CITY}]}],
        "tool_config": {
            "function_calling_config": {"mode": "ANY", "allowed_function_names": ["get_weather"]}
        },
    }
    answered = httpx.post(
        server.gemini_base_url + "/v1beta/models/gemini-2.5-flash:generateContent",
        json=body,
        headers={"x-goog-api-key": "test"},
    )
    assert answered.status_code == 200, answered.text
    assert_problems(
        last(server), GEMINI, [("forced_tool", "call0", ('"get_weather"',)), ("unknown_tool", "call0", ())]
    )


# --- modes ----------------------------------------------------------------------------------------


ONE_OF_EACH = [api for api in APIS if api is not GEMINI_OPENAPI]


@pytest.mark.parametrize(
    ("api", "transport"),
    [
        pytest.param(api, transport, id=f"{api}-{transport}")
        for api in ONE_OF_EACH
        for transport in api.transports
    ],
)
def test_error_mode_answers_the_providers_400_before_any_event_and_keeps_the_mock(
    servers: Servers, api: Api, transport: Transport
) -> None:
    m, server = servers("error")
    handle = api.reply(m, PARIS, name="weather-once", once=True)
    events: Events = []
    with pytest.raises(api.error) as refused:
        api.send(server, Ask(tools=(TIME,)), transport, events)
    assert events == []  # refused before any stream event
    assert api.status_of(refused.value) == 400
    call = api.path("call0")
    problem = f'unknown_tool at {call}: the answer calls "get_weather"; the request declares "get_time"'
    assert 'mockllm contract guard: the answer of mock "weather-once" does not fit the request' in str(
        refused.value
    )
    assert problem in str(refused.value)
    record = last(server)
    assert (record.status, record.mock) == (400, "weather-once")
    assert_problems(record, api, [("unknown_tool", "call0", ('declares "get_time"',))])
    assert handle.call_count == 0

    answer = api.send(server, Ask(tools=(WEATHER,)), transport, events)  # the once-mock is still there
    assert answer.calls == ["get_weather"]
    assert (last(server).status, last(server).mock, last(server).contract) == (200, "weather-once", ())
    assert handle.call_count == 1


@pytest.mark.parametrize("mode", ["off", "warn"])
@pytest.mark.parametrize("api", ONE_OF_EACH, ids=str)
def test_off_mode_checks_nothing(servers: Servers, api: Api, mode: str) -> None:
    m, server = servers(mode)
    api.reply(m, calls(("get_time", {"zone": 1})))
    assert api.send(server, Ask(tools=(WEATHER,)), "sync", []).calls == ["get_time"]
    assert last(server).status == 200
    assert [problem.rule for problem in last(server).contract] == ([] if mode == "off" else ["unknown_tool"])


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match=r'contract takes "off", "warn", "error", got \'strict\''):
        MockServer(mock(), contract="strict")


def test_warn_mode_logs_each_problem_once_per_mock_and_rule(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mockllm")
    builder = mock()
    builder.openai_chat().when_last_message_contains("twice").named("two-rules").reply_tool_calls(
        [ToolCall("get_time", {}), ToolCall("get_weather", {"city": 42})]
    )
    builder.openai_chat().named("one-rule").reply_tool_call("get_time", {})
    ask = {"model": "gpt-4o-mini", "tools": _chat_kwargs(Ask(tools=(WEATHER,)))["tools"]}
    with MockServer(builder) as server:  # its own guard: nothing logged by another test's server
        client = openai_client(server)
        for text in ("twice", "twice", "once", "twice", "once"):
            client.chat.completions.create(messages=[{"role": "user", "content": text}], **ask)
        journal = list(server.journal)
    assert [len(entry.contract) for entry in journal] == [2, 2, 1, 2, 1]  # each request journaled whole
    call = OPENAI_CHAT.path("call0")
    logged = [(record.name, record.levelno, record.getMessage()) for record in caplog.records]
    assert [entry for entry in logged if "contract:" in entry[2]] == [
        (
            "mockllm",
            logging.WARNING,
            f'contract: mock two-rules: unknown_tool at {call}: the answer calls "get_time"; the request '
            'declares "get_weather" (logged once per mock and rule)',
        ),
        (
            "mockllm",
            logging.WARNING,
            f"contract: mock two-rules: tool_arguments at {OPENAI_CHAT.path('args1')}: "
            '$.city: 42 is not of type "string" (tool "get_weather") (logged once per mock and rule)',
        ),
        (
            "mockllm",
            logging.WARNING,
            f'contract: mock one-rule: unknown_tool at {call}: the answer calls "get_time"; the request '
            'declares "get_weather" (logged once per mock and rule)',
        ),
    ]


@pytest.mark.parametrize("mode", ["warn", "error"])
def test_a_stream_answered_over_time_is_checked_too(servers: Servers, mode: str) -> None:
    """A mock with ``timing`` is answered another way (paced): checked all the same, and in warn
    mode its stream is written whole."""
    m, server = servers(mode)
    m.openai_chat().with_timing(ttft_ms=0, chunk_interval_ms=0).reply_tool_call("get_time", {})
    events: Events = []
    if mode == "error":
        with pytest.raises(openai.BadRequestError, match="unknown_tool"):
            send_chat(server, Ask(tools=(WEATHER,)), "stream", events)
        assert events == [] and last(server).status == 400
    else:
        assert send_chat(server, Ask(tools=(WEATHER,)), "stream", events).calls == ["get_time"]
        record = last(server)
        assert record.delivery is not None and record.events_sent == record.events_total
        assert record.events_total is not None and record.events_total >= len(events) > 1
    assert_problems(last(server), OPENAI_CHAT, [UNKNOWN])


# --- the admin API and the CLI --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["warn", "error"])
def test_the_admin_api_lists_each_entrys_problems(servers: Servers, mode: str) -> None:
    m, server = servers(mode)
    m.openai_chat().when_last_message_contains("Rome").named("fits").reply_tool_call(
        "get_weather", {"city": "Rome"}
    )
    m.openai_chat().named("bad-city").reply_tool_call("get_weather", {"city": 42})
    client = openai_client(server)
    tools = _chat_kwargs(Ask(tools=(WEATHER,)))["tools"]
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Rome?"}], tools=tools
    )
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Paris?"}], tools=tools
        )
    except openai.BadRequestError:
        assert mode == "error"
    entries = httpx.get(server.url + "/__mockllm/requests").json()["requests"]
    shown = [(entry["mock"], entry["status"], entry["contract"]) for entry in entries]
    problem = {
        "rule": "tool_arguments",
        "path": "$.choices[0].message.tool_calls[0].function.arguments",
        "message": '$.city: 42 is not of type "string" (tool "get_weather")',
    }
    assert shown == [("fits", 200, []), ("bad-city", 400 if mode == "error" else 200, [problem])]


def test_serve_contract_error_answers_a_400_in_openais_shape(tmp_path: Path) -> None:
    builder = mock()
    builder.openai_chat().named("undeclared").reply_tool_call("get_time", {"zone": "CET"})
    config = tmp_path / "mocks.json"
    config.write_text(builder.to_json())
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mockllm",
            "serve",
            "--port",
            "0",
            "--config",
            str(config),
            "--contract",
            "error",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        refused = httpx.post(
            url + "/v1/chat/completions",
            json=_chat_kwargs(Ask(tools=(WEATHER,))),
            headers={"Authorization": "Bearer test"},
        )
        client = openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0)
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(**_chat_kwargs(Ask(tools=(WEATHER,))))
    finally:
        process.terminate()
        process.wait(timeout=10)
    message = (
        'mockllm contract guard: the answer of mock "undeclared" does not fit the request: unknown_tool at '
        '$.choices[0].message.tool_calls[0]: the answer calls "get_time"; the request declares "get_weather"'
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }
    assert (raised.value.status_code, raised.value.body) == (400, refused.json()["error"])
