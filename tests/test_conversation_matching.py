"""Matching on the whole conversation, rule by rule: the config keys (``model``, ``turn``,
``history_contains``, ``tool_results``, ``input_item``, chat's ``system_contains``/``tool_names``,
``match_type: "regex"``), their near-miss reasons, the index, and the builder verbs that write them.
The SDK tests over HTTP are in ``test_conversation_sdk.py``."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from mockllm import Config, ConfigError
from mockllm.anthropic.matching import ANTHROPIC_RULES, anthropic_mismatch, anthropic_turns
from mockllm.builders import BuilderError, MockBuilder, mock
from mockllm.config import (
    AnthropicRequestMatch,
    ModelMatch,
    OpenAIEmbeddingRequestMatch,
    OpenAIRequestMatch,
    OpenAIResponseRequestMatch,
)
from mockllm.matching import MockIndex, header_mismatch, headers_mismatch, model_mismatch
from mockllm.openai.matching import (
    CHAT_RULES,
    RESPONSES_RULES,
    chat_mismatch,
    chat_turns,
    embeddings_mismatch,
    is_model_produced,
    responses_mismatch,
    responses_request_mismatch,
    responses_turns,
)

JsonObject = dict[str, Any]


def chat_match(**keys: Any) -> OpenAIRequestMatch:
    keys.setdefault("match_type", "contains")
    keys.setdefault("message", {})
    return OpenAIRequestMatch.model_validate(keys)


def responses_match(**keys: Any) -> OpenAIResponseRequestMatch:
    keys.setdefault("match_type", "contains")
    keys.setdefault("input", "")
    return OpenAIResponseRequestMatch.model_validate(keys)


def anthropic_match(**keys: Any) -> AnthropicRequestMatch:
    keys.setdefault("match_type", "contains")
    keys.setdefault("message", {})
    return AnthropicRequestMatch.model_validate(keys)


def embeddings_match(**keys: Any) -> OpenAIEmbeddingRequestMatch:
    keys.setdefault("match_type", "contains")
    keys.setdefault("input", "")
    return OpenAIEmbeddingRequestMatch.model_validate(keys)


def chat(*messages: JsonObject, **extra: Any) -> JsonObject:
    return {"model": "gpt-4o", "messages": list(messages), **extra}


def user(text: str) -> JsonObject:
    return {"role": "user", "content": text}


def assistant(text: str | None = None, *call_ids: str) -> JsonObject:
    message: JsonObject = {"role": "assistant", "content": text}
    if call_ids:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}} for i in call_ids
        ]
    return message


def tool(call_id: str, text: str) -> JsonObject:
    return {"role": "tool", "tool_call_id": call_id, "content": text}


# --- config: the keys, their types, regex load errors ---------------------------------------------

RESPONSE: JsonObject = {"choices": []}


@pytest.mark.parametrize(
    ("api", "match", "path"),
    [
        (
            "openai",
            {"match_type": "regex", "message": {"content": "(ab"}},
            "$.openai[0].match.message.content",
        ),
        (
            "openai",
            {
                "match_type": "contains",
                "message": {},
                "headers": [{"name": "X", "value": "[", "match_type": "regex"}],
            },
            "$.openai[0].match.headers[0].value",
        ),
        (
            "openai",
            {"match_type": "contains", "message": {}, "model": {"value": "*gpt", "match_type": "regex"}},
            "$.openai[0].match.model.value",
        ),
        (
            "anthropic",
            {
                "match_type": "regex",
                "message": {"content": [{"type": "image"}, {"type": "text", "text": "a)"}]},
            },
            "$.anthropic[0].match.message.content[1].text",
        ),
        (
            "anthropic",
            {"match_type": "regex", "message": {"content": "a)"}},
            "$.anthropic[0].match.message.content",
        ),
        ("openai_response", {"match_type": "regex", "input": "(?P<"}, "$.openai_response[0].match.input"),
        (
            "openai_embeddings",
            {"match_type": "regex", "input": "x{2,1}"},
            "$.openai_embeddings[0].match.input",
        ),
        (
            "openai_embeddings",
            {"match_type": "regex", "input": "(" * 5000},
            "$.openai_embeddings[0].match.input",
        ),
    ],
)
def test_a_bad_pattern_is_a_load_error_at_its_json_path(api: str, match: JsonObject, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_dict({api: [{"match": match, "response": RESPONSE}]})
    assert caught.value.problems[0][0] == path
    assert caught.value.problems[0][1].startswith("invalid regex: ")
    assert f"<config>: {path}: invalid regex: " in str(caught.value)


@pytest.mark.parametrize(
    ("api", "match", "path"),
    [
        (
            "openai",
            {"match_type": "regex", "message": {"content": [{"type": "text", "text": "x"}]}},
            "message.content",
        ),
        ("openai_response", {"match_type": "regex", "input": [{"role": "user", "content": "x"}]}, "input"),
        ("openai_embeddings", {"match_type": "regex", "input": ["a", "b"]}, "input"),
    ],
)
def test_a_regex_rule_needs_one_pattern_string(api: str, match: JsonObject, path: str) -> None:
    with pytest.raises(ConfigError, match=f"match.{path}: a regex rule's .* is one pattern: a string"):
        Config.from_dict({api: [{"match": match, "response": RESPONSE}]})


@pytest.mark.parametrize(
    ("keys", "path", "reason"),
    [
        ({"turn": -1}, "turn", "greater than or equal to 0"),
        ({"turn": True}, "turn", "valid integer"),
        ({"turn": "1"}, "turn", "valid integer"),
        ({"tool_results": [""]}, "tool_results[0]", "at least 1 character"),
        ({"tool_results": "call_1"}, "tool_results", "expected an array"),
        ({"history_contains": [1]}, "history_contains[0]", "valid string"),
        ({"model": "gpt-4o"}, "model", "valid dictionary"),
        ({"model": {"value": "gpt", "match_type": "glob"}}, "model.match_type", "'regex'"),
        ({"model": {"value": "gpt", "kind": "exact"}}, "model.kind", 'unknown key "kind"'),
        ({"input_item": "user"}, "input_item", 'unknown key "input_item"'),
        ({"system_contians": ["x"]}, "system_contians", 'did you mean "system_contains"?'),
    ],
)
def test_bad_conversation_keys_are_load_errors(keys: JsonObject, path: str, reason: str) -> None:
    match = {"match_type": "contains", "message": {}, **keys}
    with pytest.raises(ConfigError) as caught:
        Config.from_dict({"openai": [{"match": match, "response": RESPONSE}]})
    assert caught.value.problems[0][0] == f"$.openai[0].match.{path}"
    assert reason in caught.value.problems[0][1]


def test_input_item_takes_the_kinds_of_answer_on_responses_only() -> None:
    assert responses_match(input_item="function_call_output").input_item == "function_call_output"
    assert responses_match(input_item="mcp_approval_response").input_item == "mcp_approval_response"
    with pytest.raises(
        ConfigError,
        match=r"input_item: Input should be 'user', 'function_call_output', 'custom_tool_call_output' or "
        r"'mcp_approval_response'",
    ):
        Config.from_dict(
            {
                "openai_response": [
                    {"match": {"match_type": "contains", "input": "", "input_item": "x"}, "response": {}}
                ]
            }
        )
    with pytest.raises(ConfigError, match='unknown key "turn"'):
        Config.from_dict(
            {
                "openai_embeddings": [
                    {"match": {"match_type": "contains", "input": "", "turn": 0}, "response": {}}
                ]
            }
        )


EVERY_KEY: JsonObject = {
    "openai": [
        {
            "match": {
                "match_type": "regex",
                "message": {"role": "user", "content": r"order #\d+"},
                "headers": [{"name": "X-Env", "value": "^prod", "match_type": "regex"}],
                "model": {"value": "gpt-4"},
                "turn": 0,
                "history_contains": ["order"],
                "tool_results": ["call_1", "call_2"],
                "system_contains": ["support agent"],
                "tool_names": ["lookup_order"],
            },
            "response": {"choices": [{"message": {"role": "assistant", "content": "x"}}]},
        }
    ],
    "openai_response": [
        {
            "match": {
                "match_type": "contains",
                "input": "Tokyo",
                "input_item": "user",
                "model": {"value": "gpt-5", "match_type": "contains"},
                "turn": 1,
                "history_contains": ["weather"],
                "tool_results": ["call_9"],
            },
            "response": {"output": []},
        }
    ],
    "openai_embeddings": [
        {
            "match": {
                "match_type": "regex",
                "input": "dark|light",
                "model": {"value": "^text-", "match_type": "regex"},
            },
            "response": {"data": []},
        }
    ],
    "anthropic": [
        {
            "match": {
                "match_type": "regex",
                "message": {"role": "user", "content": [{"type": "text", "text": "^2\\+2"}]},
                "system_contains": ["math"],
                "tool_names": ["calc"],
                "model": {"value": "claude", "match_type": "contains"},
                "turn": 2,
                "history_contains": ["sum"],
                "tool_results": ["toolu_1"],
            },
            "response": {"content": []},
        }
    ],
}


def test_every_new_key_round_trips_through_json() -> None:
    config = Config.from_dict(EVERY_KEY)
    again = Config.from_json(config.to_json())
    assert again == config
    assert again.to_json() == config.to_json()
    assert again.openai[0].match.pattern is not None
    assert again.openai[0].match.pattern.pattern == r"order #\d+"
    assert again.openai[0].match.tool_result_ids == frozenset({"call_1", "call_2"})
    # The default match_type of a model rule is left out, as header rules' is.
    assert '"model":{"value":"gpt-4"}' in config.to_json(indent=False)


def test_a_kagent_config_keeps_its_json() -> None:
    kagent = {
        "openai": [
            {
                "name": "hi",
                "match": {"match_type": "contains", "message": {"role": "user", "content": "hi"}},
                "response": {"choices": []},
            }
        ]
    }
    config = Config.from_dict(kagent)
    assert Config.from_json(config.to_json()).model_dump(mode="json", exclude_defaults=True) == kagent
    match = config.openai[0].match
    assert (match.model, match.turn, match.history_contains, match.tool_results, match.pattern) == (
        None,
        None,
        (),
        (),
        None,
    )


def test_the_schema_lists_the_new_keys() -> None:
    schema = Config.model_json_schema()
    chat_keys = set(schema["$defs"]["OpenAIRequestMatch"]["properties"])
    assert {"model", "turn", "history_contains", "tool_results", "system_contains", "tool_names"} <= chat_keys
    assert "input_item" in schema["$defs"]["OpenAIResponseRequestMatch"]["properties"]
    assert "regex" in schema["$defs"]["MatchType"]["enum"]
    assert schema["$defs"]["ModelMatch"]["required"] == ["value"]


# --- model ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "model", "reason"),
    [
        ({"value": "gpt-4o"}, "gpt-4o", None),
        ({"value": "gpt-4o"}, "gpt-4o-mini", 'model: wants exact "gpt-4o", got "gpt-4o-mini"'),
        ({"value": "gpt-4o"}, "gpt-5", 'model: wants exact "gpt-4o", got "gpt-5"'),
        ({"value": "4o", "match_type": "contains"}, "gpt-4o-mini", None),
        ({"value": "4o", "match_type": "contains"}, "gpt-5", 'model: wants contains "4o", got "gpt-5"'),
        ({"value": r"^gpt-\d$", "match_type": "regex"}, "gpt-5", None),
        (
            {"value": r"^gpt-\d$", "match_type": "regex"},
            "gpt-5-mini",
            'model: wants regex "^gpt-\\\\d$", got "gpt-5-mini"',
        ),
        ({"value": "", "match_type": "contains"}, None, 'model: wants contains "", the request has no model'),
        ({"value": ""}, 5, 'model: wants exact "", the request has no model'),
    ],
)
def test_model_rule(rule: JsonObject, model: Any, reason: str | None) -> None:
    request = {"messages": [user("hi")]} if model is None else {"model": model, "messages": [user("hi")]}
    assert model_mismatch(ModelMatch.model_validate(rule), request) == reason


def test_model_rule_on_every_api() -> None:
    rule = {"value": "mini", "match_type": "contains"}
    assert chat_mismatch(chat_match(model=rule), chat(user("x"), model="gpt-4o-mini")) is None
    assert responses_mismatch(responses_match(model=rule), {"model": "gpt-5", "input": "x"}) is not None
    assert embeddings_mismatch(embeddings_match(model=rule), {"model": "emb-mini", "input": "x"}) is None
    assert anthropic_mismatch(anthropic_match(model=rule), {"messages": [user("x")]}) is not None


# --- turn ----------------------------------------------------------------------------------------


def test_chat_turn_counts_assistant_messages() -> None:
    conversation = [
        {"role": "system", "content": "be brief"},
        user("weather?"),
        assistant(None, "call_1", "call_2"),
        tool("call_1", "rain"),
        tool("call_2", "wind"),
        assistant("It rains."),
        user("thanks"),
    ]
    assert chat_turns(chat(*conversation)) == 2
    assert chat_turns(chat(*conversation[:2])) == 0
    assert chat_mismatch(chat_match(turn=2), chat(*conversation)) is None
    assert (
        chat_mismatch(chat_match(turn=2), chat(*conversation[:5]))
        == "turn: wants 2, the request has 1 assistant turn"
    )
    assert (
        chat_mismatch(chat_match(turn=1), chat(user("x")))
        == "turn: wants 1, the request has 0 assistant turns"
    )
    assert chat_mismatch(chat_match(turn=0), chat(user("x"))) is None


def test_anthropic_turn_counts_assistant_messages() -> None:
    request = {
        "system": "be brief",
        "messages": [
            user("weather?"),
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "rain"}],
            },
        ],
    }
    assert anthropic_turns(request) == 1
    assert anthropic_mismatch(anthropic_match(turn=1), request) is None
    assert (
        anthropic_mismatch(anthropic_match(turn=0), request)
        == "turn: wants 0, the request has 1 assistant turn"
    )


@pytest.mark.parametrize(
    ("kinds", "turns"),
    [
        ([], 0),
        (["user"], 0),
        (
            [
                "user",
                "reasoning",
                "function_call",
                "function_call",
                "function_call_output",
                "function_call_output",
            ],
            1,
        ),
        (["user", "reasoning", "assistant", "user", "assistant"], 2),
        (
            [
                "user",
                "function_call",
                "function_call_output",
                "reasoning",
                "function_call",
                "function_call_output",
            ],
            2,
        ),
        (["user", "easy_assistant", "user", "easy_assistant", "user"], 2),
        (["user", "web_search_call", "assistant"], 1),
        (
            [
                "user",
                "mcp_list_tools",
                "mcp_approval_request",
                "mcp_approval_response",
                "mcp_call",
                "assistant",
            ],
            2,
        ),
        (["user", "computer_call", "computer_call_output", "computer_call", "computer_call_output"], 2),
        (["user", "custom_tool_call", "custom_tool_call_output", "assistant"], 2),
        (["developer", "system", "user", "item_reference"], 0),
    ],
)
def test_responses_turn_counts_runs_of_model_produced_items(kinds: list[str], turns: int) -> None:
    def item(kind: str) -> JsonObject:
        if kind in ("user", "developer", "system"):
            return {"type": "message", "role": kind, "content": [{"type": "input_text", "text": "x"}]}
        if kind == "assistant":
            return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "x"}]}
        if kind == "easy_assistant":
            return {"role": "assistant", "content": "x"}
        return {"type": kind, "id": "x"}

    request = {"model": "gpt-5", "input": [item(kind) for kind in kinds]}
    assert responses_turns(request) == turns
    assert responses_request_mismatch(responses_match(turn=turns), request) is None
    assert responses_request_mismatch(responses_match(turn=turns + 1), request) is not None


def test_a_string_input_is_turn_zero() -> None:
    assert responses_turns({"input": "hello"}) == 0
    assert responses_mismatch(responses_match(turn=0, input="hel"), {"input": "hello"}) is None


@pytest.mark.parametrize(
    ("item", "produced"),
    [
        ({"type": "message", "role": "assistant", "content": []}, True),
        ({"role": "assistant", "content": "x"}, True),
        ({"type": "message", "role": "user", "content": []}, False),
        ({"type": "function_call", "call_id": "c"}, True),
        ({"type": "function_call_output", "call_id": "c"}, False),
        ({"type": "custom_tool_call"}, True),
        ({"type": "reasoning", "summary": []}, True),
        ({"type": "file_search_call"}, True),
        ({"type": "image_generation_call"}, True),
        ({"type": "local_shell_call"}, True),
        ({"type": "local_shell_call_output"}, False),
        ({"type": "mcp_call"}, True),
        ({"type": "mcp_list_tools"}, True),
        ({"type": "mcp_approval_request"}, True),
        ({"type": "mcp_approval_response"}, False),
        ({"type": "item_reference", "id": "x"}, False),
        ("not an item", False),
    ],
)
def test_which_input_items_the_model_produced(item: Any, produced: bool) -> None:
    assert is_model_produced(item) is produced


# --- history_contains ----------------------------------------------------------------------------


def test_chat_history_contains_looks_at_every_message_but_the_system_prompt() -> None:
    request = chat(
        {"role": "system", "content": "secret system words"},
        {"role": "developer", "content": [{"type": "text", "text": "developer words"}]},
        user("What is the weather in Paris?"),
        assistant(None, "call_1"),
        tool("call_1", [{"type": "text", "text": "Sunny, 24°C"}]),  # type: ignore[arg-type]
        user("thanks"),
    )
    assert chat_mismatch(chat_match(history_contains=["Paris", "24°C", "thanks"]), request) is None
    assert (
        chat_mismatch(chat_match(history_contains=["Paris", "secret"]), request)
        == 'history_contains: "secret" is in none of the 4 messages'
    )
    assert chat_mismatch(chat_match(history_contains=["developer words"]), request) is not None


def test_responses_history_contains_looks_at_every_item() -> None:
    request = {
        "input": [
            {"role": "developer", "content": "developer words"},
            {"role": "user", "content": "Time in Tokyo?"},
            {"type": "function_call", "call_id": "call_1", "name": "clock", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "14:05"},
        ]
    }
    assert responses_mismatch(responses_match(history_contains=["Tokyo", "14:05"]), request) is None
    assert responses_mismatch(responses_match(history_contains=["developer"]), request) == (
        'history_contains: "developer" is in none of the 3 input items'
    )
    assert responses_mismatch(responses_match(history_contains=["Tok"]), {"input": "Tokyo"}) is None


def test_anthropic_history_contains_reads_text_and_tool_results_not_system() -> None:
    request = {
        "system": "secret",
        "messages": [
            user("weather in Paris?"),
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "w", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "Sunny"}],
                    }
                ],
            },
        ],
    }
    assert anthropic_mismatch(anthropic_match(history_contains=["Paris", "Sunny"]), request) is None
    assert anthropic_mismatch(anthropic_match(history_contains=["secret"]), request) is not None


# --- tool_results --------------------------------------------------------------------------------


def test_chat_tool_results_are_compared_exactly_and_in_any_order() -> None:
    request = chat(user("x"), assistant(None, "call_1", "call_2"), tool("call_2", "b"), tool("call_1", "a"))
    assert chat_mismatch(chat_match(tool_results=["call_1", "call_2"]), request) is None
    assert chat_mismatch(chat_match(tool_results=["call_2"]), request) is None
    only_one = chat(user("x"), assistant(None, "call_1", "call_10"), tool("call_1", "a"))
    assert (
        chat_mismatch(chat_match(tool_results=["call_1", "call_10"]), only_one)
        == 'tool_results: no result for "call_10" (has "call_1")'
    )
    assert chat_mismatch(chat_match(tool_results=["call_"]), only_one) is not None
    assert chat_mismatch(chat_match(tool_results=["call_1"]), chat(user("x"))) == (
        'tool_results: no result for "call_1" (has none)'
    )


def test_anthropic_and_responses_tool_results() -> None:
    anthropic_request = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "b"},
                ],
            },
            {"role": "assistant", "content": "ok"},
            user("again"),
        ]
    }
    assert anthropic_mismatch(anthropic_match(tool_results=["toolu_2", "toolu_1"]), anthropic_request) is None
    assert anthropic_mismatch(anthropic_match(tool_results=["toolu_12"]), anthropic_request) == (
        'tool_results: no result for "toolu_12" (has "toolu_1", "toolu_2")'
    )
    responses_request = {
        "input": [
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "x"},
        ]
    }
    assert responses_mismatch(responses_match(tool_results=["call_1"]), responses_request) is None
    # A function_call is no result.
    assert responses_mismatch(
        responses_match(tool_results=["call_1"]), {"input": responses_request["input"][:1]}
    ) == ('tool_results: no result for "call_1" (has none)')


# --- chat system_contains and tool_names ---------------------------------------------------------


def test_chat_system_contains_reads_system_and_developer_messages() -> None:
    request = chat(
        {"role": "system", "content": "You are a support agent."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        user("You are great"),
    )
    assert chat_mismatch(chat_match(system_contains=["support agent", "French"]), request) is None
    assert chat_mismatch(chat_match(system_contains=["great"]), request) == (
        'system_contains: "great" not in system "You are a support agent.\\nAnswer in French."'
    )


def test_chat_tool_names_reads_functions_and_custom_tools() -> None:
    request = chat(
        user("x"),
        tools=[
            {"type": "function", "function": {"name": "get_weather", "parameters": {}}},
            {"type": "custom", "custom": {"name": "run_sql"}},
            {"type": "custom", "name": "grep"},
        ],
    )
    assert chat_mismatch(chat_match(tool_names=["get_weather", "run_sql", "grep"]), request) is None
    assert chat_mismatch(chat_match(tool_names=["get"]), request) == (
        'tool_names: no tool named "get" in ["get_weather","grep","run_sql"]'
    )


# --- input_item ----------------------------------------------------------------------------------

TOKYO_ASKED = [{"role": "user", "content": "What time is it in Tokyo?"}]
TOKYO_ANSWERED = [
    *TOKYO_ASKED,
    {"type": "function_call", "call_id": "call_1", "name": "clock", "arguments": '{"city":"Tokyo"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "14:05 in Tokyo"},
]


def test_input_item_tells_the_user_from_a_tool_output() -> None:
    anything = responses_match(input="Tokyo")
    asked = responses_match(input="Tokyo", input_item="user")
    answered = responses_match(input="Tokyo", input_item="function_call_output")
    # Without input_item the tool output matches the question's mock too: an agent would loop.
    assert responses_mismatch(anything, {"input": TOKYO_ANSWERED}) is None
    assert responses_mismatch(asked, {"input": TOKYO_ASKED}) is None
    assert responses_mismatch(asked, {"input": "Tokyo?"}) is None
    assert responses_mismatch(asked, {"input": TOKYO_ANSWERED}) == (
        "input_item: wants user last, the last input item is a function_call_output"
    )
    assert responses_mismatch(answered, {"input": TOKYO_ANSWERED}) is None
    assert responses_mismatch(answered, {"input": TOKYO_ASKED}) == (
        'input_item: wants function_call_output last, the last input item is a message (role "user")'
    )
    assert responses_mismatch(answered, {"input": "Tokyo"}) == (
        "input_item: wants function_call_output last, the input is a string (a user message)"
    )


def test_input_item_applies_the_input_rule_to_that_item_alone() -> None:
    last = TOKYO_ANSWERED[-1]
    exact = responses_match(match_type="exact", input=[last], input_item="function_call_output")
    assert responses_mismatch(exact, {"input": TOKYO_ANSWERED}) is None
    tail = responses_match(input=TOKYO_ANSWERED[-2:], input_item="function_call_output")
    assert responses_mismatch(tail, {"input": TOKYO_ANSWERED}) is not None  # only one item is looked at
    regex = responses_match(match_type="regex", input=r"^\d\d:\d\d", input_item="function_call_output")
    assert responses_mismatch(regex, {"input": TOKYO_ANSWERED}) is None


def test_exact_mocks_with_input_item_are_found_without_the_index() -> None:
    mocks = Config.from_dict(
        {
            "openai_response": [
                {
                    "match": {"match_type": "exact", "input": "x", "input_item": "user"},
                    "response": {"output": []},
                },
                {
                    "match": {
                        "match_type": "exact",
                        "input": [TOKYO_ANSWERED[-1]],
                        "input_item": "function_call_output",
                    },
                    "response": {"output": []},
                },
            ]
        }
    ).openai_response
    index = MockIndex(RESPONSES_RULES, mocks)
    assert index.find({"input": "x"}, {}) == 0
    assert index.find({"input": TOKYO_ANSWERED}, {}) == 1
    assert index.find({"input": TOKYO_ASKED}, {}) is None


# --- regex body rules ----------------------------------------------------------------------------


def test_chat_regex_searches_the_last_message_and_checks_its_role() -> None:
    match = chat_match(match_type="regex", message={"role": "user", "content": r"order #\d+"})
    assert chat_mismatch(match, chat(user("where is order #123?"))) is None
    assert chat_mismatch(match, chat(user("where is order #abc?"))) == (
        'regex "order #\\\\d+" not found in last message "where is order #abc?"'
    )
    assert chat_mismatch(match, chat({"role": "assistant", "content": "order #1"})) == (
        'role: wants "user", last message has "assistant"'
    )
    parts = chat(
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "order #9"}]}
    )
    assert chat_mismatch(match, parts) is None
    anchored = chat_match(match_type="regex", message={"content": "^b$"})
    assert chat_mismatch(anchored, chat(user("a\nb"))) is not None  # no re.MULTILINE unless asked: (?m)
    assert (
        chat_mismatch(chat_match(match_type="regex", message={"content": "(?m)^b$"}), chat(user("a\nb")))
        is None
    )
    by_id = chat_match(
        match_type="regex", message={"role": "tool", "tool_call_id": "call_1", "content": "rain"}
    )
    assert chat_mismatch(by_id, chat(tool("call_1", "rain"))) is None
    assert chat_mismatch(by_id, chat(tool("call_2", "rain"))) is not None


def test_responses_regex_searches_the_input_or_the_last_items_text() -> None:
    match = responses_match(match_type="regex", input=r"\d{2}:\d{2}")
    assert responses_mismatch(match, {"input": "at 14:05?"}) is None
    assert responses_mismatch(match, {"input": TOKYO_ANSWERED}) is None
    assert responses_mismatch(match, {"input": TOKYO_ASKED}) is not None
    # The text only, not the item's JSON (contains also searches the JSON, for call ids).
    by_id = responses_match(match_type="regex", input="call_1")
    assert responses_mismatch(by_id, {"input": TOKYO_ANSWERED}) is not None
    assert responses_mismatch(responses_match(input="call_1"), {"input": TOKYO_ANSWERED}) is None


def test_embeddings_regex_searches_any_input_string() -> None:
    match = embeddings_match(match_type="regex", input="^dark")
    assert embeddings_mismatch(match, {"input": ["light mode", "dark mode"]}) is None
    assert embeddings_mismatch(match, {"input": "the dark mode"}) == (
        'regex "^dark" not found in input "the dark mode"'
    )
    assert embeddings_mismatch(match, {"input": [1, 2, 3]}) is not None


def test_anthropic_regex_searches_any_text_block() -> None:
    match = anthropic_match(
        match_type="regex",
        message={
            "role": "user",
            "content": [
                {"type": "text", "text": r"^\d\+\d$"},
                {"type": "tool_result", "tool_use_id": "toolu_1"},
            ],
        },
    )
    last = {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"},
            {"type": "text", "text": "words"},
            {"type": "text", "text": "2+2"},
        ],
    }
    assert anthropic_mismatch(match, {"messages": [last]}) is None
    last["content"] = last["content"][:2]
    assert anthropic_mismatch(match, {"messages": [last]}) == (
        'regex "^\\\\d\\\\+\\\\d$" not found in last message ["words"]'
    )
    string = anthropic_match(match_type="regex", message={"content": "^hi"})
    assert anthropic_mismatch(string, {"messages": [user("hi there")]}) is None


def test_header_regex() -> None:
    rule = (
        Config.from_dict(
            {
                "openai": [
                    {
                        "match": {
                            "match_type": "contains",
                            "message": {},
                            "headers": [
                                {"name": "X-Tenant-ID", "value": r"^tenant-\d+$", "match_type": "regex"}
                            ],
                        },
                        "response": {},
                    }
                ]
            }
        )
        .openai[0]
        .match.headers[0]
    )
    assert header_mismatch(rule, {"x-tenant-id": "tenant-42"}) is None
    assert header_mismatch(rule, {"x-tenant-id": "tenant-42b"}) == (
        'header X-Tenant-ID: wants regex "^tenant-\\\\d+$", got "tenant-42b"'
    )
    assert header_mismatch(rule, {}) is not None


# --- the index -----------------------------------------------------------------------------------


def _mocks(api: str, matches: list[JsonObject]) -> list[Any]:
    config = Config.from_dict(
        {api: [{"name": f"m{i}", "match": m, "response": {}} for i, m in enumerate(matches)]}
    )
    return config.mocks(api)  # type: ignore[arg-type]


def test_exact_mocks_from_the_index_still_check_the_request_wide_rules() -> None:
    question = {"role": "user", "content": "What's the weather?"}
    mocks = _mocks(
        "openai",
        [
            {"match_type": "exact", "message": question, "turn": 1},
            {"match_type": "exact", "message": question, "model": {"value": "gpt-5"}},
            {"match_type": "exact", "message": question, "tool_results": ["call_1"]},
            {"match_type": "exact", "message": question},
        ],
    )
    index = MockIndex(CHAT_RULES, mocks)
    assert index.find(chat(question), {}) == 3
    assert index.find(chat(question, model="gpt-5"), {}) == 1
    assert index.find(chat(assistant("hi"), question), {}) == 0
    assert index.find(chat(tool("call_1", "x"), question), {}) == 2


def test_regex_mocks_are_candidates_among_many_contains_mocks() -> None:
    matches: list[JsonObject] = [
        {"match_type": "contains", "message": {"content": f"needle-{i:03d}"}} for i in range(40)
    ]
    matches.insert(20, {"match_type": "regex", "message": {"content": r"order #\d+"}})
    mocks = _mocks("openai", matches)
    index = MockIndex(CHAT_RULES, mocks)
    assert index.find(chat(user("order #7")), {}) == 20
    assert index.find(chat(user("needle-030 and order #7")), {}) == 20
    assert index.find(chat(user("needle-010 and order #7")), {}) == 10
    assert index.find(chat(user("needle-")), {}) is None


def test_mocks_without_the_new_rules_never_run_them() -> None:
    """A mock without request-wide rules costs nothing for them: `find` never calls the
    request-wide check, and only the body check of scanned mocks."""
    calls: list[str] = []

    def counted(name: str, check: Any) -> Any:
        def run(match: Any, request: JsonObject) -> str | None:
            calls.append(name)
            return check(match, request)

        return run

    rules = dataclasses.replace(
        CHAT_RULES,
        mismatch=counted("all", CHAT_RULES.mismatch),
        request_mismatch=counted("wide", CHAT_RULES.request_mismatch),
        body_mismatch=counted("body", CHAT_RULES.body_mismatch),
    )
    plain = _mocks(
        "openai",
        [
            {"match_type": "exact", "message": user("a")},
            {"match_type": "contains", "message": {"content": "b"}},
        ],
    )
    index = MockIndex(rules, plain)
    assert index.find(chat(user("a")), {}) == 0
    assert index.find(chat(user("b")), {}) == 1
    assert calls == ["body"]
    calls.clear()
    ruled = _mocks(
        "openai",
        [
            {"match_type": "exact", "message": user("a"), "turn": 0},
            {"match_type": "contains", "message": {"content": "b"}, "turn": 0},
        ],
    )
    index = MockIndex(rules, ruled)
    assert index.find(chat(user("a")), {}) == 0
    assert index.find(chat(user("b")), {}) == 1
    assert calls == ["wide", "all"]


CHAT_WORDS = ["hi", "weather", "Paris", "call_1", "call_10", "order #12", "x"]


def _random_chat_match(rng: random.Random) -> JsonObject:
    kind = rng.choice(["exact", "contains", "contains", "regex"])
    text = rng.choice(CHAT_WORDS)
    match: JsonObject = {
        "match_type": kind,
        "message": {
            "role": "user",
            "content": r"order #\d+" if kind == "regex" and rng.random() < 0.5 else text,
        },
    }
    if rng.random() < 0.3:
        match["turn"] = rng.randint(0, 2)
    if rng.random() < 0.3:
        match["history_contains"] = rng.sample(CHAT_WORDS, rng.randint(1, 2))
    if rng.random() < 0.3:
        match["tool_results"] = rng.sample(["call_1", "call_10", "call_2"], rng.randint(1, 2))
    if rng.random() < 0.2:
        match["model"] = rng.choice(
            [
                {"value": "gpt-4o"},
                {"value": "mini", "match_type": "contains"},
                {"value": "^gpt", "match_type": "regex"},
            ]
        )
    if rng.random() < 0.2:
        match["system_contains"] = [rng.choice(["agent", "brief"])]
    if rng.random() < 0.1:
        match["headers"] = [
            {"name": "X-T", "value": rng.choice(["a", "^b"]), "match_type": rng.choice(["exact", "regex"])}
        ]
    return match


def _random_chat_request(rng: random.Random) -> JsonObject:
    messages: list[JsonObject] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": rng.choice(["agent", "brief agent", "none"])})
    for _ in range(rng.randint(0, 3)):
        ids = rng.sample(["call_1", "call_10", "call_2"], rng.randint(0, 2))
        messages.append(assistant(rng.choice(CHAT_WORDS), *ids))
        messages += [tool(i, rng.choice(CHAT_WORDS)) for i in ids]
    messages.append(user(" ".join(rng.sample(CHAT_WORDS, rng.randint(1, 2)))))
    return chat(*messages, model=rng.choice(["gpt-4o", "gpt-4o-mini", "o3"]))


def test_the_index_agrees_with_a_scan_when_the_new_rules_are_present() -> None:
    rng = random.Random(11)
    mocks = _mocks("openai", [_random_chat_match(rng) for _ in range(300)])
    index = MockIndex(CHAT_RULES, mocks)
    hits = 0
    for _ in range(1500):
        request = _random_chat_request(rng)
        headers = {"x-t": rng.choice(["a", "b"])} if rng.random() < 0.5 else {}
        expected = next(
            (
                i
                for i, mock in enumerate(mocks)
                if chat_mismatch(mock.match, request) is None
                and not headers_mismatch(mock.match.headers, headers)
            ),
            None,
        )
        assert index.find(request, headers) == expected, request
        hits += expected is not None
    assert hits > 300


def test_anthropic_index_checks_the_new_rules_of_exact_mocks() -> None:
    last = {"role": "user", "content": [{"type": "text", "text": "go"}]}
    mocks = _mocks(
        "anthropic",
        [
            {"match_type": "exact", "message": last, "turn": 1, "tool_results": ["toolu_1"]},
            {"match_type": "exact", "message": last},
        ],
    )
    index = MockIndex(ANTHROPIC_RULES, mocks)
    first = {"messages": [last]}
    later = {
        "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]},
            {"role": "assistant", "content": "ok"},
            last,
        ]
    }
    assert index.find(first, {}) == 1
    assert index.find(later, {}) == 0
    nearest = index.explain(first, {}, limit=2)
    assert nearest == [(1, []), (0, ["turn: wants 1, the request has 0 assistant turns"])]


# --- builder verbs --------------------------------------------------------------------------------


def _match_json(m: MockBuilder, api: str) -> JsonObject:
    config = m.build()
    assert Config.from_json(m.to_json()) == config
    dumped: JsonObject = config.mocks(api)[-1].match.model_dump(mode="json", exclude_defaults=True)  # type: ignore[arg-type]
    return dumped


def test_chat_verbs_write_the_keys_and_combine_with_a_body_rule() -> None:
    m = mock()
    base = m.openai_chat().when_model("gpt-4o").when_turn(1).when_history_contains("Paris", "rain")
    base.when_history_has_tool_results("call_1").when_history_has_tool_results("call_2").when_system_contains(
        "agent"
    ).when_tool_names("get_weather").when_last_message_contains("thanks").with_header(
        "X-Env", "^prod", match_type="regex"
    ).reply("ok")
    assert _match_json(m, "openai") == {
        "match_type": "contains",
        "message": {"role": "user", "content": "thanks"},
        "headers": [{"name": "X-Env", "value": "^prod", "match_type": "regex"}],
        "model": {"value": "gpt-4o"},
        "turn": 1,
        "history_contains": ["Paris", "rain"],
        "tool_results": ["call_1", "call_2"],
        "system_contains": ["agent"],
        "tool_names": ["get_weather"],
    }
    # Copy-on-write: the prefix is unchanged and starts another mock.
    base.when_turn(2).when_last_message_matches(r"\d+", role=None).reply("two")
    assert _match_json(m, "openai") == {
        "match_type": "regex",
        "message": {"content": r"\d+"},
        "model": {"value": "gpt-4o"},
        "turn": 2,
        "history_contains": ["Paris", "rain"],
    }
    base.reply("catch-all")
    assert _match_json(m, "openai")["turn"] == 1


def test_responses_verbs() -> None:
    m = mock()
    responses = m.openai_responses()
    responses.when_user_input_contains("Tokyo").reply_function_call(
        "clock", {"city": "Tokyo"}, call_id="call_1"
    )
    assert _match_json(m, "openai_response") == {
        "match_type": "contains",
        "input": "Tokyo",
        "input_item": "user",
    }
    responses.when_tool_output_contains("Tokyo").when_history_has_tool_results("call_1").reply("It is 14:05.")
    assert _match_json(m, "openai_response") == {
        "match_type": "contains",
        "input": "Tokyo",
        "input_item": "function_call_output",
        "tool_results": ["call_1"],
    }
    responses.when_input_item("user").when_input_matches("^plan").when_model(
        "gpt-5", match_type="contains"
    ).reply("x")
    assert _match_json(m, "openai_response") == {
        "match_type": "regex",
        "input": "^plan",
        "input_item": "user",
        "model": {"value": "gpt-5", "match_type": "contains"},
    }
    responses.when_input_item("function_call_output").reply("any tool output")
    assert _match_json(m, "openai_response") == {
        "match_type": "contains",
        "input": "",
        "input_item": "function_call_output",
    }


def test_embeddings_and_anthropic_verbs() -> None:
    m = mock()
    m.openai_embeddings().when_model("^text-", match_type="regex").when_input_matches("dark|light").reply(
        [1.0]
    )
    assert _match_json(m, "openai_embeddings") == {
        "match_type": "regex",
        "input": "dark|light",
        "model": {"value": "^text-", "match_type": "regex"},
    }
    m.anthropic_messages().when_turn(0).when_history_has_tool_results(
        "toolu_1", "toolu_2"
    ).when_last_message_matches(r"^\d").reply("x")
    assert _match_json(m, "anthropic") == {
        "match_type": "regex",
        "message": {"role": "user", "content": [{"type": "text", "text": r"^\d"}]},
        "turn": 0,
        "tool_results": ["toolu_1", "toolu_2"],
    }


@pytest.mark.parametrize(
    ("chain", "message"),
    [
        (lambda m: m.openai_chat().when_turn(-1), r"when_turn\(\) takes a whole number of at least 0"),
        (lambda m: m.openai_chat().when_turn(True), r"when_turn\(\) takes a whole number"),
        (lambda m: m.anthropic_messages().when_turn("1"), r"when_turn\(\) takes a whole number"),
        (lambda m: m.openai_chat().when_history_has_tool_results(), "needs at least one tool call id"),
        (
            lambda m: m.openai_chat().when_history_has_tool_results("call_1", ""),
            "each tool call id as a non-empty string",
        ),
        (lambda m: m.openai_responses().when_history_contains(), "needs at least one text"),
        (lambda m: m.openai_chat().when_history_contains(1), "each text as a string"),
        (lambda m: m.openai_chat().when_tool_names(), "needs at least one tool name"),
        (lambda m: m.openai_chat().when_model(4), "takes the model name as a string"),
        (
            lambda m: m.openai_chat().when_model("(", match_type="regex"),
            "when_model\\(\\): invalid regex '\\('",
        ),
        (
            lambda m: m.openai_chat().with_header("X", "[", match_type="regex"),
            "with_header\\(\\): invalid regex",
        ),
        (
            lambda m: m.openai_chat().when_last_message_matches("a)"),
            "when_last_message_matches\\(\\): invalid regex",
        ),
        (lambda m: m.anthropic_messages().when_last_message_matches(1), "takes a regex pattern string"),
        (lambda m: m.openai_responses().when_input_matches("*"), "when_input_matches\\(\\): invalid regex"),
        (lambda m: m.openai_embeddings().when_input_matches("x{2,1}"), "invalid regex"),
        (
            lambda m: m.openai_responses().when_input_item("assistant"),
            "takes one of 'user', 'function_call_output'",
        ),
        (
            lambda m: m.openai_responses().when_input_item("user").when_tool_output_contains("x"),
            "the last input item is of one kind",
        ),
        (
            lambda m: m.openai_responses().when_input_contains("x").when_user_input_contains("y"),
            "a mock has one body rule",
        ),
        (
            lambda m: m.openai_chat().when_last_message_matches("x").when_last_message_contains("y"),
            "a mock has one body rule",
        ),
    ],
)
def test_builder_verbs_refuse_bad_values_where_they_are_given(chain: Any, message: str) -> None:
    with pytest.raises(BuilderError, match=message):
        chain(mock())


def test_the_conversation_verbs_are_not_body_rules() -> None:
    m = mock()
    chain = (
        m.openai_chat()
        .when_turn(1)
        .when_last_message_contains("x")
        .when_model("gpt")
        .when_history_contains("y")
        .when_history_has_tool_results("call_1")
        .when_system_contains("s")
        .when_tool_names("t")
    )
    chain.reply("ok")
    m.openai_responses().when_tool_output_contains("x").when_turn(1).when_history_contains("x").reply("ok")
    m.anthropic_messages().when_tool_result("toolu_1").when_history_has_tool_results("toolu_2").when_turn(
        3
    ).reply("ok")
    assert m.build().counts() == {
        "openai": 1,
        "openai_response": 1,
        "openai_embeddings": 0,
        "anthropic": 1,
        "gemini": 0,
        "gemini_embeddings": 0,
        "ollama": 0,
        "ollama_embeddings": 0,
        "bedrock": 0,
    }
