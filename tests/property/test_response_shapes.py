"""Responses of any shape (DESIGN.md §3, "served as written"): a config either fails at load with
the JSON path of the field at fault, or serves every variant of its API (JSON and stream, floats
and base64) with a 200. Over real HTTP, one server per test function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from mockllm import Config, ConfigError, MockServer

from . import strategies as s
from .support import raw_request, server_settings

JsonObject = dict[str, Any]
ServeFn = Callable[[Config], MockServer]

junk = s.json_values
texty = st.one_of(s.texts(max_size=12), junk)


def _mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four, else junk: most shapes get far enough to be served."""
    return st.one_of(good, good, good, junk)


def _object(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[JsonObject]:
    """Objects with some of ``fields``, each value good or junk, or junk in place of the object."""
    return _mostly(st.fixed_dictionaries({}, optional=fields))


def _lists(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return _mostly(st.lists(items, max_size=3))


_usage = st.one_of(s.json_objects, junk)
_chat_call = _object(
    {
        "id": texty,
        "type": st.one_of(st.sampled_from(["function", "custom"]), junk),
        "function": _object(
            {"name": texty, "arguments": st.one_of(s.json_arguments(), s.json_objects, junk)}
        ),
        "custom": junk,
    }
)
_chat = st.fixed_dictionaries(
    {
        "choices": _lists(
            _object(
                {
                    "message": _object(
                        {
                            "role": texty,
                            "content": st.one_of(st.none(), texty),
                            "refusal": texty,
                            "tool_calls": st.one_of(st.none(), _lists(_chat_call)),
                        }
                    ),
                    "finish_reason": texty,
                    "index": junk,
                }
            )
        )
    },
    optional={"id": texty, "model": texty, "usage": _usage, "system_fingerprint": texty},
)
_part = _object(
    {
        "type": st.one_of(st.sampled_from(["output_text", "refusal", "summary_text", "input_text"]), junk),
        "text": texty,
        "refusal": texty,
        "annotations": junk,
    }
)
_item = _object(
    {
        "type": st.one_of(
            st.sampled_from(["message", "function_call", "reasoning", "web_search_call"]), junk
        ),
        "id": texty,
        "role": texty,
        "content": st.one_of(st.none(), _lists(_part)),
        "summary": st.one_of(st.none(), _lists(_part)),
        "name": texty,
        "call_id": texty,
        "arguments": st.one_of(s.json_arguments(), junk),
        "status": texty,
    }
)
_responses = st.fixed_dictionaries({}, optional={"output": _lists(_item), "id": texty, "usage": _usage})
# Mostly numbers a float32 holds; sometimes one near or past its limit, any double or an int64.
_small = st.floats(-1e6, 1e6)
_number = st.one_of(
    _small,
    _small,
    st.sampled_from([3.4028235e38, -3.4028236e38, 1e39, 2**63]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**63), 2**63),
)
_vectors = st.lists(_number, min_size=1, max_size=4)
_embeddings = st.fixed_dictionaries(
    {
        "data": _lists(
            _mostly(
                st.fixed_dictionaries(
                    {"embedding": st.one_of(_vectors, _vectors, texty)},
                    optional={"index": junk, "object": junk},
                )
            )
        )
    },
    optional={"model": texty, "usage": _usage},
)
_block = _object(
    {
        "type": st.one_of(st.sampled_from(["text", "tool_use", "thinking", "redacted_thinking"]), junk),
        "text": texty,
        "thinking": texty,
        "signature": texty,
        "id": texty,
        "name": texty,
        "input": st.one_of(s.json_objects, junk),
    }
)
_anthropic = st.fixed_dictionaries(
    {"content": _lists(_block)},
    optional={"id": texty, "model": texty, "usage": _usage, "stop_reason": texty, "stop_sequence": texty},
)

PING: Any = [{"role": "user", "content": "ping"}]
LONG_MODEL = "m" * 256
API = {
    # key: (responses, route, the body of every variant of a request)
    "openai": (
        _chat,
        "/v1/chat/completions",
        [
            {"model": "gpt-mock", "messages": PING},
            {"model": LONG_MODEL, "messages": PING, "stream": True},
            {"messages": PING, "stream": True, "stream_options": {"include_usage": True}},
        ],
    ),
    "openai_response": (
        _responses,
        "/v1/responses",
        [{"model": "gpt-mock", "input": "ping"}, {"model": LONG_MODEL, "input": "ping", "stream": True}],
    ),
    "openai_embeddings": (
        _embeddings,
        "/v1/embeddings",
        [
            {"model": "e", "input": "ping", "encoding_format": "float"},
            {"model": LONG_MODEL, "input": "ping", "encoding_format": "base64"},
            {"input": "ping", "encoding_format": "base64", "dimensions": 2},
        ],
    ),
    "anthropic": (
        _anthropic,
        "/v1/messages",
        [
            {"model": "claude-mock", "max_tokens": 5, "messages": PING},
            {"model": LONG_MODEL, "max_tokens": 5, "messages": PING, "stream": True},
        ],
    ),
}
HEADERS = {
    "Authorization": "Bearer test",
    "anthropic-version": "2023-06-01",
    "Content-Type": "application/json",
}


@pytest.fixture
def server(serve: ServeFn) -> MockServer:
    return serve(Config())


@pytest.mark.parametrize("key", list(API))
@server_settings(share=1)
@given(data=st.data())
def test_a_config_that_loads_serves_every_variant(server: MockServer, key: str, data: st.DataObject) -> None:
    """Mutations caught: fill's check of Anthropic's ``usage`` dropped (a 500 on ``stream: true``);
    fill's float32 check of embeddings dropped (a load error without a path)."""
    responses, route, bodies = API[key]
    response = data.draw(responses, label="response")
    match = {"match_type": "contains", "message": {"content": ""}}
    if key in ("openai_response", "openai_embeddings"):
        match = {"match_type": "contains", "input": ""}
    config = Config.model_validate({key: [{"match": match, "response": response}]})
    try:
        server.set_config(config)
    except ConfigError as error:
        event("refused at load")
        for path, message in error.problems:
            assert path.startswith(f"$.{key}[0].response"), error
            # The field at fault is named, not a Python error from rendering it.
            assert path != f"$.{key}[0].response" and "Error" not in message, error
        return
    event("served")
    for body in bodies:
        answer = raw_request(server, "POST", route, orjson.dumps(body), HEADERS)
        assert answer.status == 200, (body, answer.body)
