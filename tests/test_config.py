"""Config loading: kagent's format, and errors that name the file, the JSON path and the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from mockllm import Config, ConfigError, MockServer, load_config
from mockllm.cli import main
from mockllm.config import MAX_DEPTH
from mockllm.server import CompiledConfig

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
            'add "match_type": "exact", "contains" or "regex"',
        ),
        (
            {"openai": [{**MOCK, "match": {"match_type": "fuzzy", "message": {}}}]},
            "$.openai[0].match.match_type",
            "'exact', 'contains' or 'regex', got \"fuzzy\"",
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
        (
            {"listen_addr": "127.0.0.1:70000"},
            "$.listen_addr",
            'expected "host:port" with a port from 0 to 65535',
        ),
        ({"listen_addr": "::::"}, "$.listen_addr", 'expected "host:port"'),
        ({"listen_addr": "host:abc"}, "$.listen_addr", 'got "host:abc"'),
        ({"listen_addr": "::1:8080"}, "$.listen_addr", '"[::1]:8787"'),
        ({"listen_addr": "[::1:8080"}, "$.listen_addr", 'expected "host:port"'),
        ({"listen_addr": "localhost"}, "$.listen_addr", 'expected "host:port"'),
        ({"listen_addr": "localhost:"}, "$.listen_addr", 'expected "host:port"'),
        ({"listen_addr": "localhost:+80"}, "$.listen_addr", 'expected "host:port"'),
        ({"listen_addr": "localhost:" + "9" * 5000}, "$.listen_addr", 'expected "host:port"'),
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


@pytest.mark.parametrize(
    ("listen_addr", "address"),
    [
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("0.0.0.0:8090", ("0.0.0.0", 8090)),
        (":8090", ("", 8090)),
        ("[::1]:65535", ("::1", 65535)),
        ("localhost:8787", ("localhost", 8787)),
        ("", None),
        (None, None),
    ],
)
def test_listen_addr_in_the_forms_kagent_accepts(
    listen_addr: str | None, address: tuple[str, int] | None
) -> None:
    assert Config.model_validate({"listen_addr": listen_addr}).listen_address() == address


def nested(levels: int, leaf: object = "x") -> object:
    """`levels` of objects and arrays in turn, from an object outermost: ``{"a": [{"a": ...}]}``."""
    for level in range(levels, 0, -1):
        leaf = {"a": leaf} if level % 2 else [leaf]
    return leaf


def deep_config_text(levels: int) -> str:
    """A config that nests `levels` deep in all, through an exact mock's message content (the
    top-level object, "openai", the mock, "match", "message", "content" and its part are 7)."""
    value = "[" * (levels - 7) + "1" + "]" * (levels - 7)
    return (
        '{"openai": [{"match": {"match_type": "exact", "message": {"role": "user", "content": '
        f'[{{"type": "text", "x": {value}}}]}}}}, "response": {{"choices": []}}}}]}}'
    )


def test_nesting_up_to_the_limit_loads_and_serves(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, deep_config_text(MAX_DEPTH)))
    CompiledConfig.of(config)
    assert Config.from_json(config.to_json()) == config


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1000, 2000])
def test_nesting_deeper_than_the_limit_is_a_load_error(tmp_path: Path, levels: int) -> None:
    file = write(tmp_path, deep_config_text(levels))
    with pytest.raises(ConfigError) as error:
        load_config(file)
    message = str(error.value)
    assert "\n" not in message
    assert f"nested too deeply: arrays and objects may nest at most {MAX_DEPTH} levels" in message
    if levels < 1024:
        assert message.startswith(f"{file}: $.openai[0].match.message.content[0].x[0][0][0]...: ")
    else:  # orjson gives up before a JSON path is known
        assert message.startswith(f"{file}: $: ")
        assert "line 1 column" in message


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("content", "$.openai[0].match.message.content.a[0].a"),  # an error about it would quote it
        ("response", "$.openai[0].response.a[0].a"),
    ],
)
def test_nesting_too_deep_anywhere_names_the_path(where: str, path: str) -> None:
    message = {"role": "user", "content": nested(300) if where == "content" else "x"}
    data = {
        "openai": [
            {
                "match": {"match_type": "exact", "message": message},
                "response": nested(300) if where == "response" else {"choices": []},
            }
        ]
    }
    with pytest.raises(ConfigError, match=r"nested too deeply") as error:
        Config.from_dict(data, source="deep.json")
    assert str(error.value).startswith(f"deep.json: {path}")
    with pytest.raises(ValidationError, match="nested too deeply"):
        Config.model_validate(data)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty document"),
        (b'{"openai": []}\xff', "not UTF-8 text (byte 14)"),
        (bytes(range(256)), "not UTF-8 text (byte 128)"),
    ],
)
def test_a_file_that_is_not_json_text(tmp_path: Path, content: bytes, reason: str) -> None:
    file = tmp_path / "config.json"
    file.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(reason)):
        load_config(file)


def test_a_byte_order_mark_before_the_json_is_skipped(tmp_path: Path) -> None:
    # Some Windows editors write one; the server accepts one before a request body too.
    text = json.dumps({"openai": [MOCK]})
    file = tmp_path / "config.json"
    file.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_config(file) == Config.from_json(text) == Config.from_json("\ufeff" + text)


def test_response_that_cannot_be_served_is_refused_at_start() -> None:
    config = Config.model_validate({"openai": [{**MOCK, "response": {"choices": "nope"}}]})
    with pytest.raises(ConfigError, match=r"\$\.openai\[0\]\.response\.choices: expected an array"):
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
        "gemini",
        "gemini_embeddings",
        "ollama",
        "ollama_embeddings",
        "bedrock",
        "listen_addr",
    }
    assert schema["$defs"]["OpenAIRequestMatch"]["required"] == ["match_type", "message"]


def test_round_trip_keeps_only_what_was_written() -> None:
    text = json.dumps({"openai": [MOCK], "listen_addr": "127.0.0.1:0"})
    config = Config.from_json(text)
    assert json.loads(config.to_json()) == json.loads(text)
    assert Config.from_json(config.to_json()) == config


def test_mocks_share_the_set_of_keys_they_set_yet_change_alone() -> None:
    # Loaded mocks and matches share one set of the keys that were set per combination of keys
    # (one set each would cost 43 MB at 100,000 mocks); changing one mock must not change another.
    config = Config.from_json(json.dumps({"openai": [MOCK, MOCK]}))
    first, second = config.openai
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    assert first.match.__pydantic_fields_set__ is second.match.__pydantic_fields_set__

    first.times = 2
    copied = second.model_copy(update={"priority": 1})
    assert first.model_fields_set == {"name", "match", "response", "times"}
    assert copied.model_fields_set == {"name", "match", "response", "priority"}
    assert second.model_fields_set == {"name", "match", "response"}
    assert second.model_dump(mode="json", exclude_unset=True) == MOCK
    assert json.loads(config.to_json())["openai"] == [{**MOCK, "times": 2}, MOCK]
