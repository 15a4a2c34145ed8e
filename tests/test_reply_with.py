"""Programmable replies (``reply_with``), through each API's official SDK: the function reads the
request, its answer is served as a static mock's is (JSON and streams, times), a function is
Python only, and one that raises answers a 500 in the provider's shape and fails the test."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from mockllm import Config, ConfigError, MockServer, mock, replies
from mockllm.builders import ToolCall
from mockllm.server.programmed import ProgrammedRequest, failed_replies

from .sdk_calls import ASK, ASK_ASYNC, ASYNC_APIS, CHAT_APIS, TOOL, builder_of
from .test_pytest_plugin import INNER_ARGS

pytest_plugins = ["pytester"]


def call_of_the_request(request: ProgrammedRequest) -> replies.Reply:
    """A tool call of the request's one tool, naming what the function read of the request."""
    (name,) = request.tool_names
    assert request.tool_schemas[name] is not None
    assert request.history[-1] == "Weather in Paris?" and request.turns == 0
    return replies.tool_call(name, {"city": f"{request.api} {request.model}"})


async def call_of_the_request_later(request: ProgrammedRequest) -> replies.Reply:
    await asyncio.sleep(0)
    return call_of_the_request(request)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("function", [call_of_the_request, call_of_the_request_later], ids=["sync", "async"])
@pytest.mark.parametrize("api", CHAT_APIS)
def test_a_function_answers_every_api_through_its_sdk(api: str, function: Any, stream: bool) -> None:
    m = mock()
    handle = builder_of(m, api).reply_with(function)
    with MockServer(m) as server:
        answer = ASK[api](server, stream)
        ((name, arguments),) = answer.calls
        assert name == TOOL
        assert arguments["city"].startswith(f"{api} ")
        assert handle.call_count == 1
        ((status, reply),) = [(record.status, record.reply) for record in server.journal]
        assert status == 200 and reply == f'tool_calls({TOOL}({{"city":"{arguments["city"]}"}}))'


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("api", ASYNC_APIS)
async def test_a_function_answers_the_async_sdks(api: str, stream: bool) -> None:
    m = mock()
    builder_of(m, api).reply_with(call_of_the_request_later)
    async with MockServer(m) as server:
        answer = await ASK_ASYNC[api](server, stream)
    assert [name for name, _ in answer.calls] == [TOOL]


STOPS = {
    "openai": ("stop", "length", "stop"),
    "openai_response": ("completed", "incomplete", "completed"),
    "anthropic": ("end_turn", "max_tokens", "refusal"),
    "gemini": ("STOP", "MAX_TOKENS", "SAFETY"),
    "bedrock": ("end_turn", "max_tokens", "content_filtered"),
    "ollama": ("stop", "length", "stop"),
}


@pytest.mark.parametrize("api", CHAT_APIS)
def test_texts_truncations_refusals_and_parallel_calls_in_each_api_s_shape(api: str) -> None:
    answers = iter(
        [
            replies.text("Sunny."),
            replies.text("Sun", truncated=True),
            replies.refusal("No."),
            replies.tool_calls(ToolCall(TOOL, {"city": "a"}), ToolCall(TOOL, {"city": "b"}), text="Two."),
        ]
    )
    m = mock()
    builder_of(m, api).reply_with(lambda request: next(answers))
    with MockServer(m) as server:
        said = [ASK[api](server, stream) for stream in (False, True, False, True)]
    assert [answer.stop for answer in said[:3]] == list(STOPS[api])
    assert [answer.text for answer in said[:3]] == ["Sunny.", "Sun", "No."]
    assert said[3].calls == [(TOOL, {"city": "a"}), (TOOL, {"city": "b"})]


def test_a_response_dict_an_sdk_object_and_an_error_are_answers_too() -> None:
    from openai.types.chat import ChatCompletion

    completion = ChatCompletion.model_validate(
        {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "obj"}}
            ],
        }
    )
    answers = iter(
        [
            {"choices": [{"message": {"role": "assistant", "content": "dict"}}]},
            completion,
            replies.error(429, message="slow down", retry_after=0),
        ]
    )
    m = mock()
    m.openai_chat().reply_with(lambda request: next(answers))
    with MockServer(m) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        ask: Any = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        assert client.chat.completions.create(**ask).choices[0].message.content == "dict"
        assert client.chat.completions.create(**ask).choices[0].message.content == "obj"
        with pytest.raises(openai.RateLimitError, match="slow down") as error:
            client.chat.completions.create(**ask)
        assert error.value.response.headers["retry-after"] == "0"


def test_an_embeddings_function_returns_the_response() -> None:
    m = mock()
    m.openai_embeddings().reply_with(
        lambda request: {"data": [{"embedding": [float(len(request.body["input"]))]}]}
    )
    with MockServer(m) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        assert client.embeddings.create(model="e", input="four").data[0].embedding == [4.0]


def test_times_scenarios_timing_and_faults_apply_to_a_function() -> None:
    m = mock()
    chat = m.openai_chat()
    chat.once().in_scenario("s", new_state="second").reply_with(lambda request: "first")
    chat.in_scenario("s", required_state="second").with_fault("truncate").reply_with(lambda request: "cut")
    with MockServer(m) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        ask: Any = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        assert client.chat.completions.create(**ask).choices[0].message.content == "first"
        chunks = list(client.chat.completions.create(**ask, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "cut"
        assert server.scenarios == {"s": "second"}
        delivery = list(server.journal)[-1].delivery
        assert delivery is not None and delivery.fault == "truncate"
        assert delivery.events_sent == delivery.events_total - 1  # all but [DONE]


def test_a_reply_s_own_fault_and_timing_win_over_the_mock_s() -> None:
    m = mock()
    m.openai_chat().reply_with(lambda request: replies.text("slow").with_timing(ttft_ms=150))
    with MockServer(m) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        (record,) = server.journal
        assert record.delivery is not None and record.delivery.ttfb_ms is not None
        assert record.delivery.ttfb_ms >= 140


# --- Python only -------------------------------------------------------------------------------


def test_a_config_with_a_function_is_not_exported_and_says_which_mock() -> None:
    m = mock()
    m.openai_chat().reply("static")
    m.anthropic_messages().named("planner").reply_with(lambda request: "Plan.")
    with pytest.raises(ConfigError) as error:
        m.to_json()
    ((where, message),) = error.value.problems
    assert where == "$.anthropic[0]"
    assert 'mock "planner" replies with the Python function' in message and "<lambda>" in message


def test_mockllm_export_refuses_a_function(tmp_path: Path) -> None:
    (tmp_path / "mocks.py").write_text(
        textwrap.dedent(
            """
            from mockllm import mock
            m = mock()
            m.openai_chat().named("weather").reply_with(lambda request: "Sunny.")
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "mockllm", "export", "mocks:m"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert 'mocks:m: $.openai[0]: mock "weather" replies with the Python function' in done.stderr


def test_a_json_config_cannot_hold_a_function_and_says_how_to_fix_it() -> None:
    text = json.dumps(
        {"openai": [{"match": {"match_type": "contains", "message": {"content": ""}}, "reply_with": "f"}]}
    )
    with pytest.raises(ConfigError) as error:
        Config.from_json(text, source="mocks.json")
    ((where, message),) = error.value.problems
    assert where == "$.openai[0].reply_with"
    assert "Python only" in message and ".reply_with(fn)" in message
    assert str(error.value).startswith("mocks.json: $.openai[0].reply_with: ")


# --- when the function fails -----------------------------------------------------------------


def broken(request: ProgrammedRequest) -> str:
    raise LookupError("no forecast for " + str(request.model))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_exception_is_a_500_in_the_provider_s_shape_journaled_with_its_traceback(stream: bool) -> None:
    m = mock()
    m.openai_chat().reply_with(broken)
    m.anthropic_messages().reply_with(broken)
    with MockServer(m) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        with pytest.raises(openai.InternalServerError, match="LookupError: no forecast for gpt-4o"):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=stream
            )
        claude = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)
        with pytest.raises(anthropic.InternalServerError) as error:
            claude.messages.create(
                model="claude", max_tokens=9, messages=[{"role": "user", "content": "hi"}], stream=stream
            )
        assert error.value.body["error"]["type"] == "api_error"  # type: ignore[index]
        failed = failed_replies(server.journal)
        assert [record.api for record in failed] == ["openai", "anthropic"]
        for record in failed:
            assert record.error is not None
            assert (
                "Traceback (most recent call last)" in record.error
                and 'raise LookupError("no forecast' in record.error
            )


def test_a_value_the_api_cannot_answer_is_a_500_naming_it() -> None:
    m = mock()
    m.anthropic_messages().reply_with(lambda request: replies.tool_call("f", "[1, 2]"))
    with MockServer(m) as server:
        claude = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)
        with pytest.raises(anthropic.InternalServerError, match="must be a JSON object"):
            claude.messages.create(model="claude", max_tokens=9, messages=[{"role": "user", "content": "hi"}])
        assert len(failed_replies(server.journal)) == 1


def test_the_fixture_fails_a_test_whose_function_raised_even_when_the_code_swallowed_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import openai

        def test_swallows(mockllm):
            def broken(request):
                raise RuntimeError("bug in the reply")
            mockllm.openai_chat().reply_with(broken)
            client = openai.OpenAI(base_url=mockllm.openai_base_url, api_key="k", max_retries=0)
            try:
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            except openai.InternalServerError:
                pass
        """
    )
    result = pytester.runpytest_inprocess(*INNER_ARGS, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*mockllm: 1 reply function call(s) failed*", "*RuntimeError: bug in the reply*"]
    )


def test_chaos_fails_a_function_s_answer_as_any_other() -> None:
    m = mock()
    m.openai_chat().reply_with(lambda request: "Sunny in Paris, all day long.")
    with MockServer(m) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        ask: Any = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with pytest.raises(openai.APIConnectionError):
            list(
                client.chat.completions.create(**ask, extra_headers={"x-mockllm-chaos": "disconnect-rate=1"})
            )
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(**ask, extra_headers={"x-mockllm-chaos": "error-rate=1"})
        assert [record.delivery.fault for record in server.journal if record.delivery] == [
            "chaos_disconnect",
            "chaos_error",
        ]
