"""Config loading: kagent's format, and errors that name the file, the JSON path and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockllm import Config, ConfigError, MockServer, load_config
from mockllm.cli import main

MOCK = {
    "name": "m",
    "match": {"match_type": "contains", "message": {"role": "user", "content": "hi"}},
    "response": {"choices": []},
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ({"openai": [{**MOCK, "mtach": {}}]}, "$.openai[0].mtach", 'did you mean "match"?'),
        ({"opena1": []}, "$.opena1", 'did you mean "openai"?'),
        (
            {"openai": [{**MOCK, "match": {"message": {"role": "user", "content": "hi"}}}]},
            "$.openai[0].match.match_type",
            'add "match_type": "exact" or "contains"',
        ),
        (
            {"openai": [{**MOCK, "match": {"match_type": "regex", "message": {}}}]},
            "$.openai[0].match.match_type",
            "'exact' or 'contains', got \"regex\"",
        ),
        (
            {
                "openai": [
                    {**MOCK, "match": {"match_type": "exact", "message": {"role": "user", "contnet": "x"}}}
                ]
            },
            "$.openai[0].match.message.contnet",
            'did you mean "content"?',
        ),
        (
            {"openai_embeddings": [{"match": {"match_type": "exact", "input": {"a": 1}}, "response": {}}]},
            "$.openai_embeddings[0].match.input",
            "expected a string, a list of strings",
        ),
        (
            {"anthropic": [{"match": {"match_type": "exact", "message": {"role": "bot"}}, "response": {}}]},
            "$.anthropic[0].match.message.role",
            'got "bot"',
        ),
        (
            {"openai": [{**MOCK, "match": {**MOCK["match"], "headers": [{"name": "X", "value": 1}]}}]},  # type: ignore[dict-item]
            "$.openai[0].match.headers[0].value",
            "valid string",
        ),
        ([], "$", "expected a JSON object"),
        ('{"openai": [', "$", "invalid JSON at line 1"),
    ],
)
def test_load_errors_name_file_path_and_fix(tmp_path: Path, data: object, path: str, reason: str) -> None:
    file = write(tmp_path, data)
    with pytest.raises(ConfigError) as error:
        load_config(file)
    message = str(error.value)
    assert f"{file}: {path}: " in message
    assert reason in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_config(tmp_path / "nope.json")


def test_response_that_cannot_be_served_is_refused_at_start() -> None:
    config = Config.model_validate({"openai": [{**MOCK, "response": {"choices": "nope"}}]})
    with pytest.raises(ConfigError, match=r"\$\.openai\[0\]\.response\.choices: expected a list"):
        MockServer(config)


def test_validate_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"openai": [MOCK]}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"openai": [{**MOCK, "match": {"message": {}}}]}))
    assert main(["validate", str(good)]) == 0
    assert "good.json: ok (1 openai)" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert "bad.json: $.openai[0].match.match_type" in captured.err


def test_schema_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert set(schema["properties"]) == {
        "openai",
        "openai_response",
        "openai_embeddings",
        "anthropic",
        "listen_addr",
    }
    assert schema["$defs"]["OpenAIRequestMatch"]["required"] == ["match_type", "message"]


def test_round_trip_keeps_only_what_was_written() -> None:
    text = json.dumps({"openai": [MOCK], "listen_addr": "127.0.0.1:0"})
    config = Config.from_json(text)
    assert json.loads(config.to_json()) == json.loads(text)
    assert Config.from_json(config.to_json()) == config
