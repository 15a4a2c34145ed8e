"""Bad input never gets a 5xx (DESIGN.md §5): random bytes, random JSON, and JSON objects whose
``messages``/``input``/other fields have the wrong types, on every route; and the server keeps
answering good requests afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockllm import Config, MockServer

from . import strategies as s
from .support import RawResponse, raw_request, server_settings

JsonObject = dict[str, Any]
ServeFn = Callable[[Config], MockServer]

CHAT, RESPONSES, EMBEDDINGS, MESSAGES = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/messages",
)
GEMINI, GEMINI_EMBED = (
    "/v1beta/models/gemini-mock:generateContent",
    "/v1/models/gemini-emb:batchEmbedContents",
)
OLLAMA, OLLAMA_EMBED = "/api/chat", "/api/embed"
ROUTES = (CHAT, RESPONSES, EMBEDDINGS, MESSAGES, GEMINI, GEMINI_EMBED, OLLAMA, OLLAMA_EMBED)
OLLAMA_GENERATE, OLLAMA_EMBEDDINGS = "/api/generate", "/api/embeddings"
COUNT_TOKENS = "/v1/messages/count_tokens"
AZURE_CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
GEMINI_STREAM = "/v1/models/gemini-mock:streamGenerateContent?alt=sse"
GEMINI_COUNT = "/v1/models/gemini-mock:countTokens"
VERTEX_EMBED = "/v1beta1/projects/p/locations/l/publishers/google/models/gemini-emb:embedContent"
# Routes that take the body of another: junk for that API is posted to them.
BODY_OF = {
    COUNT_TOKENS: MESSAGES,
    AZURE_CHAT: CHAT,
    GEMINI_STREAM: GEMINI,
    GEMINI_COUNT: GEMINI,
    VERTEX_EMBED: GEMINI_EMBED,
    OLLAMA_GENERATE: OLLAMA,
    OLLAMA_EMBEDDINGS: OLLAMA_EMBED,
}

_CATCH = [{"name": "X-Catch", "value": "yes"}]


def _mocks(key: str, exact: JsonObject, contains: list[JsonObject], response: JsonObject) -> list[JsonObject]:
    """An exact mock (so requests go through the index's canonical keys), contains mocks (so they
    go through the matchers and, missing, the 404 explanation), and a catch-all behind a header (so
    a junk body that passes the checks is rendered, streamed or not)."""
    everything: JsonObject = {"match_type": "contains"}
    if key in ("openai", "anthropic"):
        everything["message"] = {"content": []}
    elif key == "gemini":
        everything["message"] = {"parts": []}
    elif key == "ollama":
        everything["message"] = {"content": ""}
    else:
        everything["input"] = ""
    return [
        {"name": "exact", "match": {"match_type": "exact", **exact}, "response": response},
        *({"name": f"contains-{i}", "match": m, "response": response} for i, m in enumerate(contains)),
        {"name": "catch-all", "match": {**everything, "headers": _CATCH}, "response": response},
    ]


CONFIG = Config.model_validate(
    {
        "openai": _mocks(
            "openai",
            {"message": {"role": "user", "content": "exact"}},
            [
                {
                    "match_type": "contains",
                    "message": {"role": "tool", "tool_call_id": "call_1", "content": "x"},
                },
                {
                    "match_type": "contains",
                    "message": {"role": "user", "name": "n", "content": [{"type": "text", "text": "y"}]},
                },
                {
                    "match_type": "contains",
                    "message": {"content": "z"},
                    "headers": [{"name": "X-Env", "value": "p", "match_type": "contains"}],
                },
            ],
            {
                "choices": [
                    {
                        "message": {
                            "content": "chat answer",
                            "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}],
                        }
                    }
                ]
            },
        ),
        "openai_response": _mocks(
            "openai_response",
            {"input": [{"role": "user", "content": "exact"}]},
            [
                {"match_type": "contains", "input": "call_1"},
                {
                    "match_type": "contains",
                    "input": [{"type": "function_call_output", "call_id": "c", "output": "o"}],
                },
            ],
            {
                "output": [
                    {"type": "message", "content": [{"type": "output_text", "text": "responses answer"}]},
                    {"type": "function_call", "name": "f"},
                ]
            },
        ),
        "openai_embeddings": _mocks(
            "openai_embeddings",
            {"input": ["exact"]},
            [{"match_type": "contains", "input": "x"}, {"match_type": "contains", "input": [1, 2]}],
            {"data": [{"embedding": [0.25, -0.5, 1.0]}]},
        ),
        "anthropic": _mocks(
            "anthropic",
            {"message": {"role": "user", "content": "exact"}},
            [
                {
                    "match_type": "contains",
                    "message": {"role": "user", "content": "x"},
                    "system_contains": ["s"],
                },
                {"match_type": "contains", "message": {"content": ""}, "tool_names": ["t"]},
                {
                    "match_type": "contains",
                    "message": {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}],
                    },
                },
                {
                    "match_type": "contains",
                    "message": {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "name": "t"}, {"type": "image", "source": {}}],
                    },
                },
            ],
            {
                "content": [
                    {"type": "text", "text": "anthropic answer"},
                    {"type": "tool_use", "name": "t", "input": {"a": 1}},
                ]
            },
        ),
        "gemini": _mocks(
            "gemini",
            {"message": {"role": "user", "parts": [{"text": "exact"}]}},
            [
                {"match_type": "contains", "message": {"parts": [{"text": "x"}]}, "system_contains": ["s"]},
                {"match_type": "contains", "message": {"parts": [{"functionResponse": {"id": "c"}}]}},
                {
                    "match_type": "contains",
                    "message": {"role": "model", "parts": [{"functionCall": {"name": "f"}}]},
                },
                {"match_type": "regex", "message": {"parts": [{"text": "^y"}]}, "tool_names": ["t"]},
            ],
            {
                "candidates": [
                    {
                        "content": {
                            "parts": [{"text": "gemini answer"}, {"functionCall": {"name": "f", "args": {}}}]
                        }
                    }
                ]
            },
        ),
        "gemini_embeddings": _mocks(
            "gemini_embeddings",
            {"input": "exact"},
            [{"match_type": "contains", "input": "x"}, {"match_type": "regex", "input": "^y"}],
            {"embedding": {"values": [0.25, -0.5, 1.0]}},
        ),
        "ollama": _mocks(
            "ollama",
            {"message": {"role": "user", "content": "exact"}},
            [
                {"match_type": "contains", "message": {"role": "tool", "tool_name": "f", "content": "x"}},
                {"match_type": "regex", "message": {"content": "^y"}, "system_contains": ["s"]},
            ],
            {
                "message": {
                    "content": "ollama answer",
                    "tool_calls": [{"function": {"name": "f", "arguments": {}}}],
                }
            },
        ),
        "ollama_embeddings": _mocks(
            "ollama_embeddings",
            {"input": "exact"},
            [{"match_type": "contains", "input": "x"}, {"match_type": "regex", "input": "^y"}],
            {"embeddings": [[0.25, -0.5, 1.0]]},
        ),
    }
)

GOOD: dict[str, JsonObject] = {
    CHAT: {"model": "m", "messages": [{"role": "user", "content": "exact"}]},
    RESPONSES: {"model": "m", "input": [{"role": "user", "content": "exact"}]},
    EMBEDDINGS: {"model": "m", "input": ["exact"], "encoding_format": "base64"},
    MESSAGES: {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "exact"}]},
    GEMINI: {"contents": [{"role": "user", "parts": [{"text": "exact"}]}]},
    GEMINI_EMBED: {"requests": [{"content": {"parts": [{"text": "exact"}]}}]},
    OLLAMA: {"model": "m", "stream": False, "messages": [{"role": "user", "content": "exact"}]},
    OLLAMA_EMBED: {"model": "m", "input": "exact"},
}
ANSWER = {
    CHAT: b"chat answer",
    RESPONSES: b"responses answer",
    EMBEDDINGS: b"AACAPgAAAL8AAIA/",
    MESSAGES: b"anthropic answer",
    GEMINI: b"gemini answer",
    GEMINI_EMBED: b"[0.25,-0.5,1.0]",
    OLLAMA: b"ollama answer",
    OLLAMA_EMBED: b"[0.25,-0.5,1.0]",
}


def _headers(route: str) -> dict[str, str]:
    if route in (OLLAMA, OLLAMA_EMBED):
        return {"Content-Type": "application/json"}
    if route in (GEMINI, GEMINI_EMBED):
        return {"x-goog-api-key": "test", "Content-Type": "application/json"}
    headers = {"Authorization": "Bearer test", "Content-Type": "application/json"}
    if route == MESSAGES:
        headers["anthropic-version"] = "2023-06-01"
    return headers


@pytest.fixture
def server(serve: ServeFn) -> MockServer:
    """One server per test function, shared by all of its examples."""
    return serve(CONFIG)


# --- junk ---------------------------------------------------------------------------------------

junk = s.json_values
texty = st.one_of(s.texts(max_size=8), junk)


def _object(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[JsonObject]:
    """Objects with some of ``fields`` (each value good or junk) and maybe a junk key."""
    return st.fixed_dictionaries({}, optional=fields).flatmap(
        lambda obj: st.dictionaries(s.texts(max_size=6), junk, max_size=1).map(lambda extra: {**extra, **obj})
    )


_parts = st.lists(
    _object(
        {
            "type": st.one_of(
                st.sampled_from(["text", "input_text", "image_url", "tool_result", "tool_use"]), junk
            ),
            "text": texty,
            "tool_use_id": texty,
            "name": texty,
            "content": junk,
        }
    ),
    max_size=3,
)
_content = st.one_of(s.texts(max_size=8), _parts, junk)
_message = _object(
    {
        "role": st.one_of(st.sampled_from(["user", "assistant", "tool", "system"]), junk),
        "content": _content,
        "tool_call_id": texty,
        "name": texty,
        "tool_calls": junk,
    }
)
_messages = st.one_of(
    junk, st.lists(st.one_of(_message, junk), max_size=3), st.lists(_message, min_size=1, max_size=3)
)
_flag = st.one_of(st.booleans(), junk)
_item = _object(
    {
        "type": st.one_of(st.sampled_from(["message", "function_call", "function_call_output"]), junk),
        "role": texty,
        "content": _content,
        "call_id": texty,
        "output": _content,
        "arguments": texty,
    }
)

_BODIES: dict[str, st.SearchStrategy[JsonObject]] = {
    CHAT: _object(
        {
            "model": texty,
            "messages": _messages,
            "stream": _flag,
            "stream_options": st.one_of(_object({"include_usage": _flag}), junk),
        }
    ),
    RESPONSES: _object(
        {
            "model": texty,
            "input": st.one_of(texty, st.lists(st.one_of(_item, junk), max_size=3)),
            "stream": _flag,
        }
    ),
    EMBEDDINGS: _object(
        {
            "model": texty,
            "input": st.one_of(texty, st.lists(texty, max_size=3), st.lists(st.integers(-5, 5), max_size=3)),
            "encoding_format": st.one_of(st.sampled_from(["float", "base64"]), junk),
            "dimensions": st.one_of(st.integers(-3, 5), junk),
        }
    ),
    # A missing max_tokens is refused before matching: usually give one, so junk reaches deeper.
    MESSAGES: _object(
        {
            "model": texty,
            "max_tokens": st.one_of(st.integers(0, 100), junk),
            "messages": _messages,
            "system": _content,
            "tools": st.one_of(junk, st.lists(_object({"name": texty}), max_size=2)),
            "stream": _flag,
        }
    ).map(lambda body: {"max_tokens": 8, **body}),
}


_gemini_part = _object(
    {
        "text": texty,
        "thought": _flag,
        "functionCall": st.one_of(_object({"name": texty, "args": junk}), junk),
        "functionResponse": st.one_of(_object({"name": texty, "id": texty, "response": junk}), junk),
    }
)
_gemini_content = _object(
    {"role": texty, "parts": st.one_of(junk, st.lists(st.one_of(_gemini_part, junk), max_size=3))}
)
_BODIES[GEMINI] = _object(
    {
        "contents": st.one_of(junk, st.lists(st.one_of(_gemini_content, junk), max_size=3)),
        "systemInstruction": st.one_of(_gemini_content, junk),
        "tools": st.one_of(junk, st.lists(_object({"functionDeclarations": junk}), max_size=2)),
        "generationConfig": junk,
    }
)
_BODIES[GEMINI_EMBED] = _object(
    {
        "requests": st.one_of(
            junk,
            st.lists(
                _object({"content": st.one_of(_gemini_content, junk), "outputDimensionality": junk}),
                max_size=3,
            ),
        ),
        "content": st.one_of(_gemini_content, junk),
    }
)

_ollama_message = _object(
    {
        "role": st.one_of(st.sampled_from(["user", "assistant", "tool", "system"]), junk),
        "content": texty,
        "tool_name": texty,
        "tool_calls": junk,
        "thinking": texty,
    }
)
_BODIES[OLLAMA] = _object(
    {
        "model": texty,
        "stream": _flag,
        "messages": st.one_of(junk, st.lists(st.one_of(_ollama_message, junk), max_size=3)),
        "prompt": texty,
        "tools": junk,
    }
).map(lambda body: {"model": "m", **body})
_BODIES[OLLAMA_EMBED] = _object(
    {
        "model": texty,
        "input": st.one_of(texty, st.lists(texty, max_size=3)),
        "prompt": texty,
        "dimensions": junk,
    }
).map(lambda body: {"model": "m", **body})

# Valid bodies, for the shape that breaks exactly one field of a request the server would take.
_VALID: dict[str, st.SearchStrategy[JsonObject]] = {
    CHAT: st.fixed_dictionaries(
        {"model": s.names, "messages": st.lists(s.chat_messages(), min_size=1, max_size=3)},
        optional={"stream": st.booleans(), "stream_options": st.just({"include_usage": True})},
    ),
    RESPONSES: st.fixed_dictionaries(
        {"model": s.names, "input": s.responses_inputs}, optional={"stream": st.booleans()}
    ),
    EMBEDDINGS: st.fixed_dictionaries(
        {"model": s.names, "input": s.embeddings_inputs},
        optional={"encoding_format": st.sampled_from(["float", "base64"]), "dimensions": st.integers(1, 4)},
    ),
    MESSAGES: st.fixed_dictionaries(
        {
            "model": s.names,
            "max_tokens": st.integers(1, 100),
            "messages": st.lists(s.anthropic_messages(), min_size=1, max_size=3),
        },
        optional={
            "system": s.texts(max_size=4),
            "tools": st.lists(st.builds(lambda n: {"name": n}, s.names), min_size=1, max_size=2),
            "stream": st.booleans(),
        },
    ),
}
_VALID[GEMINI] = st.fixed_dictionaries(
    {"contents": st.lists(s.gemini_contents(), min_size=1, max_size=3)},
    optional={
        "systemInstruction": st.builds(lambda t: {"parts": [{"text": t}]}, s.texts(max_size=4)),
        "tools": st.lists(st.builds(lambda n: {"functionDeclarations": [{"name": n}]}, s.names), max_size=2),
    },
)
_VALID[GEMINI_EMBED] = st.lists(s.texts(max_size=6), min_size=1, max_size=3).map(
    lambda texts: {"requests": [{"content": {"parts": [{"text": t}]}} for t in texts]}
)
_VALID[OLLAMA] = st.fixed_dictionaries(
    {
        "model": s.names,
        "messages": st.lists(
            st.builds(
                lambda r, c: {"role": r, "content": c}, st.sampled_from(["user", "assistant"]), s.texts()
            ),
            min_size=1,
            max_size=3,
        ),
    },
    optional={"stream": st.booleans()},
)
_VALID[OLLAMA_EMBED] = st.fixed_dictionaries(
    {"model": s.names, "input": st.one_of(s.texts(), st.lists(s.texts(), min_size=1, max_size=3))}
)
_FIELDS = {
    OLLAMA: ("model", "messages", "stream", "tools", "prompt"),
    OLLAMA_EMBED: ("model", "input", "dimensions", "prompt"),
    GEMINI: ("contents", "systemInstruction", "tools", "generationConfig", "toolConfig"),
    GEMINI_EMBED: ("requests", "content"),
    CHAT: ("model", "messages", "stream", "stream_options"),
    RESPONSES: ("model", "input", "stream"),
    EMBEDDINGS: ("model", "input", "encoding_format", "dimensions"),
    MESSAGES: ("model", "max_tokens", "messages", "system", "tools", "stream"),
}
_ITEM_FIELDS = (
    "role",
    "content",
    "name",
    "tool_call_id",
    "tool_calls",
    "type",
    "call_id",
    "output",
    "parts",
    "outputDimensionality",
)
# A wrong value of every JSON type, and junk.
_wrong = st.one_of(
    st.sampled_from([None, True, 0, -1, 1.5, "", "x", [], [1], {}, {"a": None}, [[]], [{}]]), junk
)


@st.composite
def one_field_wrong(draw: st.DrawFn, route: str) -> JsonObject:
    """A valid body with one value replaced: a top-level field, or a field of the last message,
    input item or tool."""
    body = draw(_VALID[route])
    holders: list[JsonObject] = [body]
    for key in ("messages", "input", "tools", "contents", "requests"):
        value = body.get(key)
        if isinstance(value, list) and value and isinstance(value[-1], dict):
            holders.append(value[-1])
    holder = draw(st.sampled_from(holders))
    known = _FIELDS[route] if holder is body else _ITEM_FIELDS
    holder[draw(st.sampled_from(sorted({*holder, *known})))] = draw(_wrong)
    return body


@st.composite
def junk_requests(draw: st.DrawFn, route: str) -> tuple[str, bytes, dict[str, str]]:
    posted = route in ROUTES or route in BODY_OF
    method = "POST" if posted else draw(st.sampled_from(["POST", "GET", "PUT", "DELETE"]))
    api_route = route if route in ROUTES else BODY_OF.get(route) or draw(st.sampled_from(ROUTES))
    shape = draw(st.sampled_from(["bytes", "json", "object", "one-field", "one-field", "nested"]))
    if shape == "bytes":
        body = draw(st.binary(max_size=64))
    elif shape == "nested":
        # orjson parses up to 1024 levels but serialises only about 255.
        inner = _nested(draw(st.one_of(st.integers(0, 300), st.integers(250, 1020))))
        body = b'{"model":"m","input":"x","messages":[{"role":"user","content":"x","extra":' + inner + b"}]}"
    elif shape == "json":
        body = orjson.dumps(draw(junk))
    elif shape == "one-field":
        body = orjson.dumps(draw(one_field_wrong(api_route)))
    else:
        body = orjson.dumps(draw(_BODIES[api_route]))
    headers = _headers(api_route)
    for name in ("Authorization", "anthropic-version", "Content-Type", "x-goog-api-key"):
        if name in headers and draw(st.integers(0, 7)) == 0:
            del headers[name]
    if draw(st.booleans()):
        headers["X-Catch"] = "yes"
    return method, body, headers


def _assert_answers_good_requests(server: MockServer, routes: tuple[str, ...]) -> None:
    for route in routes:
        answer = raw_request(server, "POST", route, orjson.dumps(GOOD[route]), _headers(route))
        assert answer.status == 200, answer.body
        assert ANSWER[route] in answer.body


def _depth(raw: bytes) -> int:
    """How deeply the JSON text nests (0 for text that is not JSON)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _assert_no_5xx(answer: RawResponse, sent: bytes) -> None:
    assert answer.status < 500, answer.body
    if answer.status >= 400:
        error = orjson.loads(answer.body)
        assert isinstance(error, dict)
        assert "error" in error
        # The error must say what is wrong: "nested too deeply" only for deeply nested bodies.
        if b"nested too deeply" in answer.body:
            assert _depth(sent) > 200, answer.body


@pytest.mark.parametrize(
    "route",
    [*ROUTES, COUNT_TOKENS, AZURE_CHAT, GEMINI_STREAM, GEMINI_COUNT, VERTEX_EMBED, "/health", "/v1/models"],
)
@server_settings(share=1)
@given(data=st.data())
def test_junk_never_gets_a_5xx(server: MockServer, route: str, data: st.DataObject) -> None:
    """Every junk request gets a status below 500 (errors as provider-shaped JSON), and a good
    request to the same route still gets its answer afterwards.

    Mutations caught: the ``dimensions`` check dropped from embeddings' ``validate``; the
    ``messages`` array check dropped from Anthropic's ``validate``; the guard for JSON nested
    deeper than orjson serialises dropped. Only under the deep profile: the ``encoding_format``
    check dropped (a non-empty list reached the render cache key: TypeError, 500).
    """
    method, body, headers = data.draw(junk_requests(route))
    _assert_no_5xx(raw_request(server, method, route, body, headers), body)
    _assert_answers_good_requests(server, (route,) if route in ROUTES else ROUTES)


# --- the admin API ------------------------------------------------------------------------------

_mock = _object(
    {
        "name": texty,
        "match": st.one_of(
            _object({"match_type": texty, "message": junk, "input": junk, "model": junk}), junk
        ),
        "response": junk,
        "error": st.one_of(_object({"status": st.one_of(st.integers(-5, 700), junk), "headers": junk}), junk),
        "vectors_from_text": st.one_of(_object({"dimensions": st.one_of(st.integers(-2, 9), junk)}), junk),
        "times": junk,
        "priority": junk,
        "scenario": texty,
        "timing": junk,
        "fault": junk,
    }
)
_configs = _object(
    {
        key: st.one_of(st.lists(st.one_of(_mock, junk), min_size=1, max_size=2), junk)
        for key in (
            "openai",
            "openai_response",
            "openai_embeddings",
            "anthropic",
            "gemini",
            "gemini_embeddings",
            "ollama",
            "ollama_embeddings",
            "listen_addr",
        )
    }
)
_ADMIN = {
    "/__mockllm/mocks": _configs,
    "/__mockllm/scenarios/door": _object({"state": texty}),
}


@pytest.mark.parametrize("route", list(_ADMIN))
@server_settings(share=2)
@given(data=st.data())
def test_junk_to_the_admin_api_is_a_4xx_that_changes_nothing(
    server: MockServer, route: str, data: st.DataObject
) -> None:
    """A refused admin request leaves the mocks as they were (DESIGN.md §12a: "a bad request
    changes nothing"), and the provider routes still answer."""
    method = data.draw(st.sampled_from(["POST", "PUT"]))
    shape = data.draw(st.sampled_from(["bytes", "json", "object", "object"]))
    if shape == "bytes":
        body = data.draw(st.binary(max_size=64))
    else:
        body = orjson.dumps(data.draw(junk if shape == "json" else _ADMIN[route]))
    before = raw_request(server, "GET", "/__mockllm/mocks", b"", {}).body
    answer = raw_request(server, method, route, body, {"Content-Type": "application/json"})
    _assert_no_5xx(answer, body)
    if answer.status >= 400:
        assert raw_request(server, "GET", "/__mockllm/mocks", b"", {}).body == before
    assert raw_request(server, "POST", "/__mockllm/reset", b"", {}).status == 200
    _assert_answers_good_requests(server, ROUTES)


def _nested(depth: int) -> bytes:
    """``[[…["x"]…]]`` with ``depth`` brackets, written by hand: orjson.dumps refuses this depth."""
    return b"[" * depth + b'"x"' + b"]" * depth


@pytest.mark.parametrize("depth", [254, 1000])
@pytest.mark.parametrize("route", [CHAT, RESPONSES, MESSAGES, GEMINI, OLLAMA])
def test_deeply_nested_body_is_a_4xx(server: MockServer, route: str, depth: int) -> None:
    """JSON nested deep inside the last message (or input item): valid for orjson's parser, too deep
    for its serialiser and for recursive Python code.

    Mutation caught: the app's guard for ``RecursionError``/``orjson.JSONEncodeError`` dropped.
    """
    inner = _nested(depth)
    body = {
        CHAT: b'{"model":"m","messages":[{"role":"user","content":"x","name":' + inner + b"}]}",
        RESPONSES: b'{"model":"m","input":[{"role":"user","content":"x","extra":' + inner + b"}]}",
        MESSAGES: b'{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"x","extra":'
        + inner
        + b"}]}",
        GEMINI: b'{"contents":[{"role":"user","parts":[{"text":"x","extra":' + inner + b"}]}]}",
        OLLAMA: b'{"model":"m","stream":false,"messages":[{"role":"user","content":"x","extra":'
        + inner
        + b"}]}",
    }[route]
    assert orjson.loads(body)  # the request itself is valid JSON
    _assert_no_5xx(raw_request(server, "POST", route, body, _headers(route)), body)


@pytest.mark.parametrize("name", [["t"], {"t": 1}])
def test_tool_with_non_string_name_is_a_4xx(server: MockServer, name: object) -> None:
    """``tools[].name`` of the wrong type, checked against a mock with ``tool_names``.

    Mutation caught: the string check of ``tools[].name`` dropped from Anthropic's ``validate``
    (the matcher's TypeError then came back as a 400 claiming the body was nested too deeply).
    """
    body = {
        "model": "m",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": name}],
    }
    sent = orjson.dumps(body)
    _assert_no_5xx(raw_request(server, "POST", MESSAGES, sent, _headers(MESSAGES)), sent)
