"""mockllm.strategies: every reply it draws is one each official SDK parses (or raises its own
error class for), saying what was drawn; tool arguments follow the request's own schemas —
pydantic's with $defs, OpenAI's strict ones, Gemini's — valid ones validate, invalid ones never do."""

from __future__ import annotations

import enum
from typing import Any

import anthropic
import botocore.exceptions
import jsonschema_rs
import ollama
import openai
import pytest
from google.genai import errors as genai_errors
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from mockllm import replies, strategies
from mockllm.pytest_plugin import Examples
from mockllm.schema_values import normalized
from mockllm.server.programmed import ProgrammedRequest
from mockllm.server.registry import ADAPTERS

from ..sdk_calls import ASK, CHAT_APIS, SCHEMA, TOOL, builder_of

SDK_ERRORS = (
    openai.APIStatusError,
    anthropic.APIStatusError,
    genai_errors.APIError,
    botocore.exceptions.ClientError,
    ollama.ResponseError,
)


@pytest.mark.parametrize("api", CHAT_APIS)
def test_every_drawn_reply_is_parsed_by_the_sdk_as_drawn(api: str, mockllm_examples: Examples) -> None:
    @given(st.data(), st.booleans())
    def check(data: st.DataObject, stream: bool) -> None:
        m = mockllm_examples.example()
        drawn: list[replies.Reply] = []

        def kept(reply: replies.Reply) -> replies.Reply:
            drawn.append(reply)
            return reply

        builder_of(m, api).reply_drawn(data, strategies.replies(api, faults=False).map(kept))
        try:
            answer = ASK[api](m, stream)  # type: ignore[arg-type]
        except SDK_ERRORS:
            (reply,) = drawn
            assert reply.error is not None
            return
        (reply,) = drawn
        assert reply.error is None
        assert answer.calls == [(call.name, call.arguments) for call in reply.calls]
        if not reply.calls:
            assert answer.text == reply.text
        assert [record.status for record in m.requests] == [200]

    check()


# --- tool arguments from the request's schemas ------------------------------------------------


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str | None = None


class Forecast(BaseModel):
    """pydantic's schema: $defs and $ref for the nested model and the enum, anyOf for the optional."""

    place: Place
    unit: Unit = Unit.C
    days: int
    hours: list[int] = []


STRICT = {  # OpenAI's strict mode: every key required, nothing else allowed, null through a type list
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": ["integer", "null"]},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "airport": {"type": "string", "pattern": "^[A-Z]{3}$"},
    },
    "required": ["city", "days", "tags", "airport"],
    "additionalProperties": False,
}
GEMINI = {  # Gemini's OpenAPI subset
    "type": "OBJECT",
    "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER", "nullable": True}},
    "required": ["city"],
}
SCHEMAS = {"pydantic": Forecast.model_json_schema(), "strict": STRICT, "plain": SCHEMA}


def chat_request(schema: dict[str, Any]) -> ProgrammedRequest:
    tool = {"type": "function", "function": {"name": TOOL, "parameters": schema, "strict": schema is STRICT}}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tools": [tool]}
    return ProgrammedRequest(ADAPTERS["openai"], body, {})


def gemini_request() -> ProgrammedRequest:
    tools = [{"functionDeclarations": [{"name": TOOL, "parameters": GEMINI}]}]
    body = {"model": "gemini", "contents": [{"role": "user", "parts": [{"text": "hi"}]}], "tools": tools}
    return ProgrammedRequest(ADAPTERS["gemini"], body, {})


REQUESTS = {**{name: chat_request(schema) for name, schema in SCHEMAS.items()}, "gemini": gemini_request()}


@pytest.mark.parametrize("name", REQUESTS)
@given(data=st.data())
def test_valid_arguments_validate_against_the_tool_s_schema(name: str, data: st.DataObject) -> None:
    request = REQUESTS[name]
    validator = jsonschema_rs.validator_for(normalized(request.tool_schemas[TOOL]))
    reply = data.draw(strategies.tool_call_replies(request))
    assert 1 <= len(reply.calls) <= 3
    for call in reply.calls:
        assert call.name == TOOL
        assert validator.is_valid(call.arguments), call.arguments


@pytest.mark.parametrize("name", REQUESTS)
@given(data=st.data())
def test_invalid_arguments_never_validate(name: str, data: st.DataObject) -> None:
    request = REQUESTS[name]
    validator = jsonschema_rs.validator_for(normalized(request.tool_schemas[TOOL]))
    (call,) = data.draw(strategies.invalid_tool_call_replies(request)).calls
    assert isinstance(call.arguments, dict)
    assert not validator.is_valid(call.arguments), call.arguments


def test_a_request_without_tools_draws_no_tool_call() -> None:
    request = ProgrammedRequest(ADAPTERS["openai"], {"messages": []}, {})
    assert strategies.tool_call_replies(request).is_empty
