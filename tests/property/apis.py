"""The matchable APIs described alike, so one property can be checked against each of them.

For every API: how to draw a mock's body rule (``message`` or ``input``), how to draw the extra
request-wide rules (Anthropic's ``system_contains``/``tool_names``), and how to build a request that
carries a given body, optionally rewritten into a form that DESIGN.md §4 calls equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from mockllm.anthropic.matching import ANTHROPIC_RULES, anthropic_mismatch
from mockllm.config import (
    AnthropicMock,
    GeminiEmbeddingMock,
    GeminiMock,
    OpenAIEmbeddingMock,
    OpenAIMock,
    OpenAIResponseMock,
)
from mockllm.gemini.matching import GEMINI_EMBEDDINGS_RULES, GEMINI_RULES
from mockllm.matching import MatchRules, MockIndex, headers_mismatch
from mockllm.openai.matching import (
    CHAT_RULES,
    EMBEDDINGS_RULES,
    RESPONSES_RULES,
    chat_mismatch,
    embeddings_mismatch,
    responses_mismatch,
)

from . import strategies as s

JsonObject = dict[str, Any]
Headers = dict[str, str]


def equal_form(draw: st.DrawFn, value: Any) -> Any:
    """``value`` rewritten into a form §4 calls equal: a string content as one text part (or back),
    an added null-valued key, keys in another order."""
    if isinstance(value, list):
        return [equal_form(draw, item) for item in value]
    if not isinstance(value, dict):
        return value
    # A tool's input is the caller's own JSON: a null in it is data, not an absent key.
    out = {key: item if key == "input" else equal_form(draw, item) for key, item in value.items()}
    content = out.get("content")
    if "role" in out and isinstance(content, str) and draw(st.booleans()):
        kind = "input_text" if out.get("type") == "message" else "text"
        out["content"] = [{"type": kind, "text": content}]
    elif (
        isinstance(content, list)
        and len(content) == 1
        and isinstance(content[0], dict)
        and set(content[0]) == {"type", "text"}
        and content[0]["type"] in ("text", "input_text")
        and draw(st.booleans())
    ):
        out["content"] = content[0]["text"]
    if draw(st.booleans()):
        out.setdefault(draw(st.sampled_from(["name", "refusal", "status", "x_unused"])), None)
    if draw(st.booleans()):
        out = dict(reversed(list(out.items())))
    return out


@dataclass(frozen=True)
class ApiSpec:
    key: str
    """The config key of the API's mocks."""
    rules: MatchRules[Any]
    mismatch: Callable[[Any, JsonObject], str | None]
    mock_model: type[BaseModel]
    body_key: str
    bodies: st.SearchStrategy[Any]
    build_request: Callable[[st.DrawFn, JsonObject, bool], JsonObject]
    """(draw, match, rewrite into an equal form) -> a request that the match's body rule describes."""
    extra_rules: Callable[[st.DrawFn], JsonObject]

    def __str__(self) -> str:
        return self.key

    def mock(self, match: JsonObject, name: str = "") -> Any:
        return self.mock_model.model_validate({"name": name, "match": match, "response": {}})

    def index(self, mocks: Sequence[Any]) -> MockIndex[Any]:
        return MockIndex(self.rules, mocks)

    def holds(self, mock: Any, request: JsonObject, headers: Headers) -> bool:
        """Whether one mock's rules hold, checked rule by rule (no index)."""
        return self.mismatch(mock.match, request) is None and not headers_mismatch(
            mock.match.headers, headers
        )


def _no_extra(draw: st.DrawFn) -> JsonObject:
    return {}


def _history(draw: st.DrawFn, messages: st.SearchStrategy[JsonObject]) -> list[JsonObject]:
    return draw(st.lists(messages, max_size=2))


def _chat_request(draw: st.DrawFn, match: JsonObject, rewrite: bool) -> JsonObject:
    last = equal_form(draw, match["message"]) if rewrite else match["message"]
    return {"model": "gpt-mock", "messages": [*_history(draw, s.chat_messages()), last]}


def _responses_request(draw: st.DrawFn, match: JsonObject, rewrite: bool) -> JsonObject:
    value = match["input"]
    if rewrite and isinstance(value, list):
        # An easy message may leave out "type": "message"; the rule then adds it.
        value = [
            {k: v for k, v in item.items() if k != "type"}
            if item.get("type") == "message" and "role" in item and draw(st.booleans())
            else item
            for item in equal_form(draw, value)
        ]
    return {"model": "gpt-mock", "input": value}


def _embeddings_request(draw: st.DrawFn, match: JsonObject, rewrite: bool) -> JsonObject:
    return {"model": "text-embedding-mock", "input": match["input"]}


def _anthropic_extra(draw: st.DrawFn) -> JsonObject:
    extra: JsonObject = {}
    if draw(st.booleans()):
        extra["system_contains"] = draw(st.lists(s.texts(min_size=1, max_size=6), max_size=2))
    if draw(st.booleans()):
        extra["tool_names"] = draw(st.lists(s.names, max_size=2))
    return extra


def _anthropic_request(draw: st.DrawFn, match: JsonObject, rewrite: bool) -> JsonObject:
    last = equal_form(draw, match["message"]) if rewrite else match["message"]
    request: JsonObject = {
        "model": "claude-mock",
        "max_tokens": 64,
        "messages": [*_history(draw, s.anthropic_messages()), last],
    }
    needles = match.get("system_contains") or []
    if needles or draw(st.booleans()):
        pieces = [*needles, *draw(st.lists(s.texts(max_size=6), max_size=2))]
        pieces = draw(st.permutations(pieces))
        system = "".join(pieces)
        request["system"] = [{"type": "text", "text": system}] if draw(st.booleans()) else system
    tool_names = [*(match.get("tool_names") or []), *draw(st.lists(s.names, max_size=2))]
    if tool_names:
        tools = [{"name": n, "input_schema": {"type": "object"}} for n in tool_names]
        request["tools"] = draw(st.permutations(tools))
    return request


CHAT_SPEC = ApiSpec(
    "openai", CHAT_RULES, chat_mismatch, OpenAIMock, "message", s.chat_messages(), _chat_request, _no_extra
)
RESPONSES_SPEC = ApiSpec(
    "openai_response",
    RESPONSES_RULES,
    responses_mismatch,
    OpenAIResponseMock,
    "input",
    s.responses_inputs,
    _responses_request,
    _no_extra,
)
EMBEDDINGS_SPEC = ApiSpec(
    "openai_embeddings",
    EMBEDDINGS_RULES,
    embeddings_mismatch,
    OpenAIEmbeddingMock,
    "input",
    s.embeddings_inputs,
    _embeddings_request,
    _no_extra,
)
ANTHROPIC_SPEC = ApiSpec(
    "anthropic",
    ANTHROPIC_RULES,
    anthropic_mismatch,
    AnthropicMock,
    "message",
    s.anthropic_messages(),
    _anthropic_request,
    _anthropic_extra,
)


def _gemini_request(draw: st.DrawFn, match: JsonObject, rewrite: bool) -> JsonObject:
    last = equal_form(draw, match["message"]) if rewrite else match["message"]
    request: JsonObject = {
        "model": "gemini-mock",
        "contents": [*_history(draw, s.gemini_contents()), last],
    }
    needles = match.get("system_contains") or []
    if needles or draw(st.booleans()):
        pieces = draw(st.permutations([*needles, *draw(st.lists(s.texts(max_size=6), max_size=2))]))
        request["systemInstruction"] = {"role": "user", "parts": [{"text": "".join(pieces)}]}
    tool_names = [*(match.get("tool_names") or []), *draw(st.lists(s.names, max_size=2))]
    if tool_names:
        declarations = [{"name": n, "parameters": {"type": "OBJECT"}} for n in tool_names]
        request["tools"] = [{"functionDeclarations": draw(st.permutations(declarations))}]
    return request


def _gemini_embeddings_request(draw: st.DrawFn, match: JsonObject, rewrite: bool) -> JsonObject:
    value = match["input"]
    texts = [value] if isinstance(value, str) else value
    contents = [{"role": "user", "parts": [{"text": text}]} for text in texts]
    if len(contents) == 1 and draw(st.booleans()):  # :embedContent, one content
        return {"model": "gemini-embedding-mock", "content": contents[0]}
    return {"model": "gemini-embedding-mock", "requests": [{"content": c} for c in contents]}


def _gemini_mismatch(match: Any, request: JsonObject) -> str | None:
    return GEMINI_RULES.mismatch(match, request)


def _gemini_embeddings_mismatch(match: Any, request: JsonObject) -> str | None:
    return GEMINI_EMBEDDINGS_RULES.mismatch(match, request)


GEMINI_SPEC = ApiSpec(
    "gemini",
    GEMINI_RULES,
    _gemini_mismatch,
    GeminiMock,
    "message",
    s.gemini_contents(),
    _gemini_request,
    _anthropic_extra,  # system_contains and tool_names, as on Anthropic
)
GEMINI_EMBEDDINGS_SPEC = ApiSpec(
    "gemini_embeddings",
    GEMINI_EMBEDDINGS_RULES,
    _gemini_embeddings_mismatch,
    GeminiEmbeddingMock,
    "input",
    s.gemini_embed_inputs,
    _gemini_embeddings_request,
    _no_extra,
)
SPECS = (CHAT_SPEC, RESPONSES_SPEC, EMBEDDINGS_SPEC, ANTHROPIC_SPEC, GEMINI_SPEC, GEMINI_EMBEDDINGS_SPEC)


@st.composite
def matches(
    draw: st.DrawFn, spec: ApiSpec, *, match_type: str | None = None, with_headers: bool = True
) -> JsonObject:
    """A ``match`` object for ``spec``: a body rule, maybe header rules and request-wide rules."""
    match: JsonObject = {
        "match_type": match_type or draw(st.sampled_from(["exact", "contains"])),
        spec.body_key: draw(spec.bodies),
        **spec.extra_rules(draw),
    }
    if with_headers:
        rules = draw(s.header_rules())
        if rules:
            match["headers"] = rules
    return match


@st.composite
def satisfying_headers(draw: st.DrawFn, match: JsonObject) -> Headers:
    """Request headers (lower-case names, as the server hands them over) meeting every rule."""
    headers = {"authorization": "Bearer test", "content-type": "application/json"}
    for rule in match.get("headers") or []:
        headers[rule["name"].lower()] = draw(s.satisfying_value(rule))
    return headers
