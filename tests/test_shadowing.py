"""Mocks that can never answer are reported by `mockllm validate` and when a server loads them."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from mockllm import Config, MockServer
from mockllm.cli import main
from mockllm.server import CompiledConfig
from mockllm.shadowing import unreachable_mocks

REPLY = {"choices": [{"message": {"content": "x"}}]}


def chat(match: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {**keys, "match": {"match_type": "contains", **match}, "response": REPLY}


def paths(*mocks: dict[str, Any]) -> list[str]:
    config = Config.from_dict({"openai": list(mocks)})
    return [where for where, _ in unreachable_mocks(CompiledConfig.of(config))]


def test_a_catch_all_hides_everything_after_it() -> None:
    assert paths(chat({"message": {}}, name="any"), chat({"message": {"content": "a"}})) == ["$.openai[1]"]


def test_a_broader_text_hides_a_narrower_one() -> None:
    weather = chat({"message": {"role": "user", "content": "weather"}})
    paris = chat({"message": {"role": "user", "content": "weather in Paris"}})
    assert paths(weather, paris) == ["$.openai[1]"]
    assert paths(paris, weather) == []


def test_equal_exact_messages() -> None:
    exact = {"match_type": "exact", "message": {"role": "user", "content": "hi"}}
    first = {"match": exact, "response": REPLY}
    assert paths(first, {"name": "dup", "match": exact, "response": REPLY}) == ["$.openai[1]"]


@pytest.mark.parametrize(
    "earlier",
    [
        chat({"message": {}}, times=1),
        chat({"message": {}}, scenario="s", required_state="x"),
        chat({"message": {}, "headers": [{"name": "X-T", "value": "a"}]}),
        chat({"message": {"role": "tool", "content": ""}}),
        chat({"message": {"content": "weather", "tool_call_id": "c"}}),
    ],
    ids=["times", "scenario", "header", "other-role", "tool-call-id"],
)
def test_no_report_when_the_earlier_mock_does_not_always_answer(earlier: dict[str, Any]) -> None:
    assert paths(earlier, chat({"message": {"role": "user", "content": "weather"}})) == []


def test_priority_decides_which_comes_first() -> None:
    catch_all = chat({"message": {}}, priority=9)
    specific = chat({"message": {"content": "refund"}})
    assert paths(catch_all, specific) == []
    assert paths(chat({"message": {}}), chat({"message": {"content": "refund"}}, priority=5)) == [
        "$.openai[1]"
    ]


def test_validate_warns_and_still_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps({"openai": [chat({"message": {}}, name="any"), chat({"message": {"content": "a"}})]})
    )
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert err == (
        f'{path}: $.openai[1]: warning: mock openai[1] can never answer: mock "any" matches every request'
        " it matches and comes first\n"
    )


def test_validate_warns_about_mocks_that_share_a_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The admin API names mocks by name across the APIs (DESIGN.md §12a: validate warns)."""
    anthropic = {
        "name": "x",
        "match": {"match_type": "contains", "message": {"content": "a"}},
        "response": {"content": []},
    }
    config = {
        "openai": [
            chat({"message": {"content": "a"}}, name="x"),
            chat({"message": {"content": "b"}}, name="y"),
        ],
        "anthropic": [anthropic],
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().err == (
        f"{path}: $.anthropic[0]: warning: the name 'x' is also the name of $.openai[0]: "
        "GET /__mockllm/mocks/{name} shows the first, DELETE removes all of them; rename one\n"
    )


def test_a_server_logs_it_when_it_loads(caplog: pytest.LogCaptureFixture) -> None:
    config = Config.from_dict(
        {"openai": [chat({"message": {}}), chat({"message": {"content": "a"}}, name="late")]}
    )
    with caplog.at_level(logging.WARNING, logger="mockllm"):
        MockServer(config)
    assert [record.getMessage() for record in caplog.records] == [
        '<config>: $.openai[1]: mock "late" can never answer: mock openai[0] matches every request it matches'
        " and comes first"
    ]
