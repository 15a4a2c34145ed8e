"""The contract guard at load: every mock's ``response`` against its provider's response type, as
captured from the official SDKs. A typo of a field or a value is an error with its did-you-mean, a
wrong type an error, anything else unknown a warning; every way in (a file, ``validate``, the
builder, the admin API, ``--watch``) reports it the same way."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jsonschema_rs
import pytest

from mockllm import Config, ConfigError, MockServer, mock
from mockllm.builders import MockBuilder
from mockllm.cli import main
from mockllm.server import CompiledConfig

from .conftest import CONFORMANCE, ROOT, TESTDATA, ServeFn, openai_client
from .test_watch import Served, chat_mock, eventually, write

ANY_MESSAGE = {"match_type": "contains", "message": {"content": ""}}
ANY_INPUT = {"match_type": "contains", "input": ""}
INPUT_APIS = {"openai_response", "openai_embeddings", "gemini_embeddings", "ollama_embeddings"}


MATCHES = {
    "gemini": {"match_type": "contains", "message": {"parts": [{"text": ""}]}},
    "bedrock": {"match_type": "contains", "message": {"content": [{"text": ""}]}},
}


def _config(key: str, response: dict[str, Any], **more: Any) -> Config:
    match = MATCHES.get(key, ANY_INPUT if key in INPUT_APIS else ANY_MESSAGE)
    return Config.model_validate({key: [{"match": match, "response": response, **more}]})


def _problems(key: str, response: dict[str, Any], **more: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        MockServer(_config(key, response, **more))
    return [f"{path}: {message}" for path, message in error.value.problems]


def _warnings(key: str, response: dict[str, Any], caplog: pytest.LogCaptureFixture, **more: Any) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mockllm"):
        MockServer(_config(key, response, **more))
    return [record.getMessage().removeprefix("<config>: ") for record in caplog.records]


# One typo of a field, one of a value and one wrong type per API, as a user writes them.
ERRORS = [
    (
        "openai",
        {"choices": [{"message": {"content": "hi"}, "finish_reson": "stop"}]},
        '$.openai[0].response.choices[0].finish_reson: unknown field; did you mean "finish_reason"?',
    ),
    (
        "openai",
        {"choices": [{"message": {"content": "hi", "tool_cals": []}}]},
        '$.openai[0].response.choices[0].message.tool_cals: unknown field; did you mean "tool_calls"?',
    ),
    (
        "openai",
        {"choices": [{"message": {"content": "hi"}, "finish_reason": "stopp"}]},
        '$.openai[0].response.choices[0].finish_reason: unknown value "stopp"; did you mean "stop"?',
    ),
    (
        "openai",
        {"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": "3"}},
        '$.openai[0].response.usage.prompt_tokens: expected an integer, got "3"',
    ),
    (
        "openai_response",
        {"output": [{"type": "mesage", "content": [{"type": "output_text", "text": "hi"}]}]},
        '$.openai_response[0].response.output[0].type: unknown value "mesage"; did you mean "message"?',
    ),
    (
        "openai_response",
        {"output": [{"type": "function_call", "name": "f", "arguments": "{}", "cal_id": "c"}]},
        '$.openai_response[0].response.output[0].cal_id: unknown field; did you mean "call_id"?',
    ),
    (
        "openai_embeddings",
        {"data": [{"embeding": [0.1]}]},
        '$.openai_embeddings[0].response.data[0].embeding: unknown field; did you mean "embedding"?',
    ),
    (
        "anthropic",
        {"content": [{"type": "text", "text": "hi"}], "stop_reson": "end_turn"},
        '$.anthropic[0].response.stop_reson: unknown field; did you mean "stop_reason"?',
    ),
    (
        "anthropic",
        {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}], "stop_reason": "tool_uses"},
        '$.anthropic[0].response.stop_reason: unknown value "tool_uses"; did you mean "tool_use"?',
    ),
    (
        "anthropic",
        {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}]},
        '$.anthropic[0].response.content[0].input: expected an object, got "{}"',
    ),
    (
        "gemini",
        {"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "stop"}]},
        '$.gemini[0].response.candidates[0].finishReason: unknown value "stop"; did you mean "STOP"?',
    ),
    (
        "gemini",
        {"candidates": [{"content": {"parts": [{"functionCal": {"name": "f"}}]}}]},
        "$.gemini[0].response.candidates[0].content.parts[0].functionCal: "
        'unknown field; did you mean "functionCall"?',
    ),
    (
        "gemini_embeddings",
        {"embedding": {"value": [0.1]}},
        '$.gemini_embeddings[0].response.embedding.value: unknown field; did you mean "values"?',
    ),
    (
        "ollama",
        {"message": {"role": "assistant", "content": "hi"}, "done_reson": "stop"},
        '$.ollama[0].response.done_reson: unknown field; did you mean "done_reason"?',
    ),
    (
        "ollama_embeddings",
        {"embedings": [[0.1]]},
        '$.ollama_embeddings[0].response.embedings: unknown field; did you mean "embeddings"?',
    ),
    (
        "bedrock",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
            "stopReason": "end_turns",
        },
        '$.bedrock[0].response.stopReason: unknown value "end_turns"; did you mean "end_turn"?',
    ),
    (
        "bedrock",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
            "usage": {"inputTokens": 1.5},
        },
        "$.bedrock[0].response.usage.inputTokens: expected an integer, got 1.5",
    ),
]


@pytest.mark.parametrize(("key", "response", "problem"), ERRORS)
def test_a_typo_or_a_wrong_type_fails_the_load_with_its_path(
    key: str, response: dict[str, Any], problem: str
) -> None:
    assert _problems(key, response) == [problem]


WARNINGS = [
    (
        "openai",
        {"choices": [{"role": "assistant", "message": {"content": "hi"}}]},
        "$.openai[0].response.choices[0].role: warning: unknown field; Choice has: finish_reason, index, "
        "logprobs, message",
    ),
    (
        "openai",
        {"object": "chat.completion.tool_message", "choices": [{"message": {"content": "hi"}}]},
        '$.openai[0].response.object: warning: unknown value "chat.completion.tool_message"; '
        'known values: "chat.completion"',
    ),
    (
        "anthropic",
        {"content": [{"type": "text", "text": "hi"}], "stop_reason": "finished"},
        '$.anthropic[0].response.stop_reason: warning: unknown value "finished"; known values: "end_turn", '
        '"max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"',
    ),
    (
        "bedrock",
        {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "latency": 5},
        "$.bedrock[0].response.latency: warning: unknown field; ConverseResponse has: "
        "additionalModelResponseFields, metrics, output, performanceConfig, serviceTier, stopReason, "
        "trace, usage",
    ),
]


@pytest.mark.parametrize(("key", "response", "warning"), WARNINGS)
def test_any_other_unknown_field_or_value_is_a_warning_naming_what_is_known(
    key: str, response: dict[str, Any], warning: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert _warnings(key, response, caplog) == [warning]


def test_allow_unknown_fields_lets_extras_and_typos_through_but_never_a_wrong_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    extras = {"choices": [{"role": "assistant", "message": {"content": "hi", "reasoning_contnt": "x"}}]}
    assert _warnings("openai", extras, caplog, allow_unknown_fields=True) == []
    wrong = {"choices": [{"message": {"content": 5, "extra": 1}}]}
    assert _problems("openai", wrong, allow_unknown_fields=True) == [
        "$.openai[0].response.choices[0].message.content: expected a string or null, got 5"
    ]


def test_an_empty_object_where_null_is_allowed_is_taken_as_null(caplog: pytest.LogCaptureFixture) -> None:
    response = {"output": [{"type": "message", "content": []}], "error": {}, "incomplete_details": {}}
    assert _warnings("openai_response", response, caplog) == []


def test_every_conformance_and_example_config_loads(caplog: pytest.LogCaptureFixture) -> None:
    paths = sorted(CONFORMANCE.rglob("*.json")) + sorted(TESTDATA.rglob("*.json"))
    paths.append(ROOT / "mockllm" / "examples" / "default.json")
    loaded = 0
    for path in paths:
        try:
            config = Config.from_json(path.read_bytes(), source=str(path))
        except ConfigError:
            continue  # not a config (a request body, an expectation): the conformance tests say which
        MockServer(config, config_name=str(path))  # raises for a response that does not fit its type
        loaded += 1
    assert loaded >= 10
    # kagent's configs carry fields the SDK types lack: warned about, served all the same.
    assert any("choices[0].role: warning: unknown field" in record.getMessage() for record in caplog.records)


def test_validate_prints_the_warnings_and_fails_on_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"openai": [chat_mock("tool", "x", "y") | {"response": WARNINGS[0][1]}]}))
    assert main(["validate", str(good)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{good}: ok (1 openai)\n"
    assert err == f"{good}: {WARNINGS[0][2]}\n"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"anthropic": [{"match": ANY_MESSAGE, "response": ERRORS[7][1]}]}))
    assert main(["validate", str(bad)]) == 1
    assert capsys.readouterr().err == f"{bad}: {ERRORS[7][2]}\n"


def test_the_builder_refuses_a_typo_at_the_reply_call(server: MockServer, m: MockBuilder) -> None:
    with pytest.raises(ConfigError, match=r'finish_reson: unknown field; did you mean "finish_reason"\?'):
        m.openai_chat().reply({"choices": [{"message": {"content": "hi"}, "finish_reson": "stop"}]})
    m.openai_chat().reply("fine")  # the refused mock is gone; the builder goes on
    reply = openai_client(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    assert reply.choices[0].message.content == "fine"


def test_the_admin_api_refuses_a_typo_and_returns_the_warnings(serve: ServeFn) -> None:
    server = serve(Config())
    admin = httpx.Client(base_url=f"{server.url}/__mockllm")
    typo = {"anthropic": [{"match": ANY_MESSAGE, "response": ERRORS[7][1]}]}
    refused = admin.post("/mocks", json=typo)
    assert refused.status_code == 400
    assert refused.json()["error"]["problems"] == [
        {
            "path": "$.anthropic[0].response.stop_reson",
            "message": 'unknown field; did you mean "stop_reason"?',
        }
    ]
    assert sum(server.config.counts().values()) == 0  # nothing changed

    extra = {"openai": [{"match": ANY_MESSAGE, "response": WARNINGS[0][1]}]}
    added = admin.post("/mocks", json=extra)
    assert added.status_code == 200
    path, _, message = WARNINGS[0][2].partition(": warning: ")
    assert added.json()["warnings"] == [{"path": path, "message": message}]


def test_watch_keeps_the_old_mocks_on_a_typo(tmp_path: Path) -> None:
    path = tmp_path / "mocks.json"
    write(path, {"openai": [chat_mock("greeting", "hi", "one")]})
    served = Served(path)
    try:
        typo = chat_mock("greeting", "hi", "two")
        typo["response"]["choices"][0]["finish_reson"] = "stop"
        write(path, {"openai": [typo]})
        eventually(
            lambda: (
                '$.openai[0].response.choices[0].finish_reson: unknown field; did you mean "finish_reason"?'
                in served.err
            ),
            "the typo is printed",
        )
        assert served.ask("hi") == "one"
    finally:
        served.stop()


def test_schema_describes_responses_at_full_depth(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    defs = schema["$defs"]
    assert defs["OpenAIMock"]["properties"]["response"] == {"$ref": "#/$defs/openai.response"}
    assert "stop" in defs["openai.response.Choice"]["properties"]["finish_reason"]["enum"]
    assert "STOP" in defs["gemini.response.FinishReason"]["enum"]
    # An editor validating with it flags in a real config only what the load check warns about
    # (kagent's "object": "chat.completion.tool_message"), and a response of a wrong type.
    validator = jsonschema_rs.validator_for(schema)
    checked = 0
    for path in [*CONFORMANCE.rglob("*.json"), ROOT / "mockllm" / "examples" / "default.json"]:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or "openai" not in data:
            continue
        flagged = {
            "$"
            + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.instance_path)
            for error in validator.iter_errors(data)
        }
        warned = {where for where, _ in CompiledConfig.of(Config.from_dict(data)).warnings}
        assert flagged <= warned, (path, flagged - warned)
        checked += 1
    assert checked >= 5
    wrong = {"openai": [{"match": ANY_MESSAGE, "response": {"choices": [{"message": {"content": 5}}]}}]}
    assert not validator.is_valid(wrong)


def test_the_shipped_schemas_match_the_installed_sdks() -> None:
    """Fails after an SDK upgrade until ``python scripts/capture_schemas.py`` captures it again."""
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "capture_schemas.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_serve_needs_no_sdk_to_check_responses() -> None:
    """The schemas are read from the package: a server process without the SDKs checks them."""
    code = (
        "import sys\n"
        "for name in ('openai', 'anthropic', 'google', 'ollama', 'botocore'):\n"
        "    sys.modules[name] = None  # importing them fails\n"
        "from mockllm import Config, MockServer, ConfigError\n"
        "config = Config.model_validate({'anthropic': [{'match': {'match_type': 'contains', "
        "'message': {'content': ''}}, 'response': {'content': [], 'stop_reson': 'end_turn'}}]})\n"
        "try:\n"
        "    MockServer(config)\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert 'stop_reson: unknown field; did you mean "stop_reason"?' in run.stdout, run.stderr


def test_allow_unknown_fields_from_the_builder_round_trips_and_a_bad_value_names_its_path() -> None:
    m = mock()
    m.openai_chat().allowing_unknown_fields().reply({"choices": [{"role": "assistant", "message": {}}]})
    config = m.build()
    assert config.mocks("openai")[0].allow_unknown_fields is True
    assert Config.from_json(config.to_json()) == config
    bad = {"openai": [{"match": ANY_MESSAGE, "response": {"choices": []}, "allow_unknown_fields": "yes"}]}
    with pytest.raises(ConfigError) as error:
        Config.from_json(json.dumps(bad))
    assert error.value.problems == [
        ("$.openai[0].allow_unknown_fields", 'Input should be a valid boolean, got "yes"')
    ]
