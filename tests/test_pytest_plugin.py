"""The pytest plugin, exercised the way users meet it: pytest runs of small test files (pytester).

Each run is a subprocess: pytest-asyncio's loops and Sanic's app registry belong to one process, and
the plugin must load from its entry point alone, with no conftest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openai
import pytest
import pytest_asyncio

from mockllm.pytest_plugin import MockLLM, _loop_scope_mismatch

from .conftest import ROOT, code_blocks, doc_section

pytest_plugins = ["pytester"]

# Warnings are errors, so that a socket or loop the plugin leaves open fails the run; strict markers
# check that the plugin registers its own. Without the loop scope pytest-asyncio warns on every run
# (the value is its documented default); the hypothesis plugin is not needed and costs more
# start-up than some of these runs take.
INNER_ARGS = (
    "-W",
    "error",
    "--strict-markers",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
    "-p",
    "no:hypothesispytest",
)


def chat_config(text: str, answer: str) -> str:
    mock = {
        "name": f"{text}-mock",
        "match": {"match_type": "contains", "message": {"role": "user", "content": text}},
        "response": {
            "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}],
        },
    }
    return json.dumps({"openai": [mock]})


# One SSL context for all the clients of a run: each would load the CA bundle (50-100 ms) into its own.
CLIENTS = """
import ssl

import openai
import pytest

SSL_CONTEXT = ssl.create_default_context()


def chat(mockllm, text):
    with openai.OpenAI(
        base_url=mockllm.openai_base_url,
        api_key="k",
        max_retries=0,
        timeout=10,
        http_client=openai.DefaultHttpxClient(verify=SSL_CONTEXT),
    ) as client:
        return client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": text}]
        ).choices[0].message.content
"""


def test_this_suite_gets_the_fixture_from_the_entry_point(mockllm: MockLLM) -> None:
    mockllm.openai_chat().when_last_message_contains("ping").reply("pong")
    client = openai.OpenAI(base_url=mockllm.openai_base_url, api_key="k", max_retries=0, timeout=10)
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    assert answer.choices[0].message.content == "pong"
    assert [r.mock for r in mockllm.requests] == [mockllm.config.openai[0].name or "openai[0]"]


def test_sync_tests_share_one_server_and_start_clean(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        CLIENTS
        + """
servers = []
leftover = []


def test_registers_a_mock(mockllm):
    servers.append(mockllm.server)
    mockllm.openai_chat().when_last_message_contains("hi").reply("hello")
    leftover.append(mockllm.openai_chat().when_last_message_contains("late"))
    assert chat(mockllm, "hi there") == "hello"
    assert [(r.path, r.status) for r in mockllm.requests] == [("/v1/chat/completions", 200)]
    assert mockllm.openai_base_url == mockllm.url + "/v1"
    assert mockllm.anthropic_base_url == mockllm.url


def test_next_test_sees_no_mocks_and_no_requests(mockllm):
    servers.append(mockllm.server)
    assert mockllm.requests == []
    assert mockllm.config.counts() == {
        "openai": 0, "openai_response": 0, "openai_embeddings": 0, "anthropic": 0,
        "gemini": 0, "gemini_embeddings": 0, "ollama": 0, "ollama_embeddings": 0, "bedrock": 0,
    }
    with pytest.raises(openai.NotFoundError):
        chat(mockllm, "hi there")
    # A builder kept from an earlier test no longer drives the server.
    leftover[0].reply("stale")
    with pytest.raises(openai.NotFoundError):
        chat(mockllm, "late")
    assert len(mockllm.unmatched) == 2


def test_reset_mid_test(mockllm):
    servers.append(mockllm.server)
    mockllm.openai_chat().when_last_message_contains("2+2").reply("4")
    assert chat(mockllm, "what is 2+2?") == "4"
    mockllm.reset()
    assert mockllm.requests == []
    with pytest.raises(openai.NotFoundError):
        chat(mockllm, "what is 2+2?")


def test_one_server_for_the_session():
    assert len(servers) == 3
    assert servers[0] is servers[1] is servers[2]
    assert servers[0].running
"""
    )
    result = pytester.runpytest_subprocess(*INNER_ARGS)
    result.assert_outcomes(passed=4)


def test_every_test_starts_with_no_counts_and_every_scenario_at_started(pytester: pytest.Pytester) -> None:
    once = {"match_type": "contains", "message": {"role": "user", "content": "once"}}
    login = {"match_type": "contains", "message": {"role": "user", "content": "login"}}
    status = {"match_type": "contains", "message": {"role": "user", "content": "status"}}
    pytester.makefile(
        ".json",
        mocks=json.dumps(
            {
                "openai": [
                    {"times": 1, "match": once, "response": {"choices": [{"message": {"content": "first"}}]}},
                    {
                        "scenario": "auth",
                        "new_state": "in",
                        "match": login,
                        "response": {"choices": [{"message": {"content": "welcome"}}]},
                    },
                    {
                        "scenario": "auth",
                        "required_state": "in",
                        "match": status,
                        "response": {"choices": [{"message": {"content": "logged in"}}]},
                    },
                ]
            }
        ),
    )
    pytester.makepyfile(
        CLIENTS
        + """
pytestmark = pytest.mark.mockllm(config="mocks.json")


@pytest.mark.parametrize("run", [1, 2])
def test_uses_up_the_mock_and_moves_the_scenario(mockllm, run):
    assert mockllm.scenarios == {}
    with pytest.raises(openai.NotFoundError):
        chat(mockllm, "status?")
    assert chat(mockllm, "once") == "first"
    with pytest.raises(openai.NotFoundError, match="used up after 1 of 1 call"):
        chat(mockllm, "once")
    assert chat(mockllm, "login") == "welcome"
    assert chat(mockllm, "status?") == "logged in"
    assert mockllm.scenarios == {"auth": "in"}
"""
    )
    result = pytester.runpytest_subprocess(*INNER_ARGS)
    result.assert_outcomes(passed=2)


ASYNC_TESTS = """
import asyncio

import openai
import pytest

MARK


async def test_async_fixture_serves_from_the_running_loop(mockllm_async):
    mockllm_async.openai_chat().when_last_message_contains("hi").reply("hello")
    async with openai.AsyncOpenAI(
        base_url=mockllm_async.openai_base_url, api_key="k", max_retries=0, timeout=10
    ) as client:
        answer = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert answer.choices[0].message.content == "hello"
    assert [r.status for r in mockllm_async.requests] == [200]


async def test_async_fixture_starts_clean(mockllm_async):
    assert mockllm_async.requests == []
    assert mockllm_async.config.counts()["openai"] == 0


async def test_threaded_fixture_from_an_async_test(mockllm):
    mockllm.openai_chat().when_last_message_contains("hi").reply("threaded")
    async with openai.AsyncOpenAI(
        base_url=mockllm.openai_base_url, api_key="k", max_retries=0, timeout=10
    ) as client:
        answers = await asyncio.gather(*[
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            for _ in range(3)
        ])
    assert [a.choices[0].message.content for a in answers] == ["threaded"] * 3


def test_async_fixture_refuses_a_sync_test(mockllm_async):
    pass
"""

# In a module of its own: pytest-asyncio before 1.0 refuses this test itself, at collection, which
# takes the whole module down (and, without --continue-on-collection-errors, the run).
OTHER_LOOP_TEST = """
import pytest


@pytest.mark.asyncio(loop_scope="module")
async def test_async_fixture_refuses_another_loop(mockllm_async):
    pass
"""

PYTEST_ASYNCIO_BEFORE_1 = int(pytest_asyncio.__version__.split(".")[0]) < 1


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_async_fixtures_under_each_asyncio_mode(pytester: pytest.Pytester, mode: str) -> None:
    # Strict mode runs only marked tests; auto mode must also take them unmarked.
    mark = "pytestmark = pytest.mark.asyncio" if mode == "strict" else ""
    pytester.makepyfile(test_async=ASYNC_TESTS.replace("MARK", mark), test_other_loop=OTHER_LOOP_TEST)
    result = pytester.runpytest_subprocess(
        "-o", f"asyncio_mode={mode}", "--continue-on-collection-errors", *INNER_ARGS
    )
    result.assert_outcomes(passed=3, errors=2)
    if PYTEST_ASYNCIO_BEFORE_1:
        # Its event_loop fixture makes every function-scoped async fixture ask for the function's
        # loop, and it refuses a test that also asks for another: an error, not a hang, either way.
        refused_another_loop = [
            "*ERROR collecting test_other_loop.py*",
            "*MultipleEventLoopsRequestedError: Multiple asyncio event loops*",
            "*by test_other_loop.py::test_async_fixture_refuses_another_loop.*",
        ]
    else:
        refused_another_loop = [
            "*ERROR at setup of test_async_fixture_refuses_another_loop*",
            "mockllm_async runs on the function-scoped event loop but this test runs on the module-scoped*",
        ]
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_async_fixture_refuses_a_sync_test*",
            "mockllm_async serves from the test's event loop, so the test must be async (use mockllm)",
        ]
    )
    result.stdout.fnmatch_lines(refused_another_loop)


def _request_without_test_loop_scope_ini(marker: SimpleNamespace | None) -> Any:
    """A fixture request whose pytest knows no ``asyncio_default_test_loop_scope`` (pytest-asyncio
    before 0.26), with the fixture loop scope unset."""

    async def test() -> None:
        pass

    def getini(name: str) -> Any:
        if name == "asyncio_default_fixture_loop_scope":
            return None
        raise ValueError(f"unknown configuration value: {name!r}")

    node = SimpleNamespace(function=test, get_closest_marker=lambda name: marker)
    return SimpleNamespace(node=node, config=SimpleNamespace(getini=getini))


def test_loop_scope_check_without_the_test_loop_scope_ini() -> None:
    """Unmarked tests run on the function-scoped loop there, like the fixture."""
    assert _loop_scope_mismatch(_request_without_test_loop_scope_ini(None)) is None
    plain_mark = SimpleNamespace(kwargs={})
    assert _loop_scope_mismatch(_request_without_test_loop_scope_ini(plain_mark)) is None
    module_mark = SimpleNamespace(kwargs={"loop_scope": "module"})
    problem = _loop_scope_mismatch(_request_without_test_loop_scope_ini(module_mark))
    assert problem is not None and "this test runs on the module-scoped one" in problem


MARKED_TESTS = """
from pathlib import Path

import pytest

from mockllm import load_config

DATA = Path(__file__).parent / "data"


def test_session_default(mockllm):
    assert chat(mockllm, "ping") == "pong from the default"


@pytest.mark.mockllm(config="data/marked.json")
def test_marker_path_beside_the_test_file(mockllm):
    assert chat(mockllm, "ping") == "pong from the marker"


@pytest.mark.mockllm(config="data/marked.json")
def test_the_tests_own_mocks_come_first(mockllm):
    mockllm.openai_chat().when_last_message_contains("ping").reply("pong from the test")
    assert chat(mockllm, "ping") == "pong from the test"
    mockllm.reset()
    assert chat(mockllm, "ping") == "pong from the marker"


@pytest.mark.mockllm(config=load_config(DATA / "marked.json"))
def test_marker_takes_a_config_object(mockllm):
    assert chat(mockllm, "ping") == "pong from the marker"


@pytest.mark.mockllm(config=None)
def test_marker_none_serves_nothing(mockllm):
    assert mockllm.config.counts()["openai"] == 0


@pytest.mark.mockllm(config="data/missing.json")
def test_missing_file_is_a_clear_error(mockllm):
    pass


@pytest.mark.mockllm("data/marked.json")
def test_positional_marker_argument_is_refused(mockllm):
    pass


@pytest.mark.asyncio
@pytest.mark.mockllm(config="data/marked.json")
async def test_marker_applies_to_the_async_fixture(mockllm_async):
    assert mockllm_async.config.counts()["openai"] == 1
"""

MODULE_MARKED_TESTS = """
import pytest

pytestmark = pytest.mark.mockllm(config="data/marked.json")


def test_module_marker(mockllm):
    assert chat(mockllm, "ping") == "pong from the marker"


class TestClassMarkerWins:
    pytestmark = pytest.mark.mockllm(config="data/other.json")

    def test_closest_marker(self, mockllm):
        assert chat(mockllm, "ping") == "pong from the class"
"""


@pytest.mark.parametrize("how", ["option", "ini"])
def test_marker_and_default_config(pytester: pytest.Pytester, how: str) -> None:
    suite = pytester.mkdir("suite")
    (suite / "data").mkdir()
    (suite / "data" / "marked.json").write_text(chat_config("ping", "pong from the marker"))
    (suite / "data" / "other.json").write_text(chat_config("ping", "pong from the class"))
    (suite / "test_marked.py").write_text(CLIENTS + MARKED_TESTS)
    (suite / "test_module_marked.py").write_text(CLIENTS + MODULE_MARKED_TESTS)
    default = chat_config("ping", "pong from the default")
    if how == "option":
        # Relative to the directory pytest was started in.
        (pytester.path / "default.json").write_text(default)
        args = ["--mockllm-config", "default.json"]
    else:
        # Relative to the ini file, not to the directory pytest was started in.
        (suite / "default.json").write_text(default)
        (suite / "pytest.ini").write_text("[pytest]\nmockllm_config = default.json\n")
        args = ["-c", "suite/pytest.ini"]
    result = pytester.runpytest_subprocess(*args, *INNER_ARGS, "-o", "asyncio_mode=strict", "suite")
    result.assert_outcomes(passed=8, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_missing_file_is_a_clear_error*",
            "@pytest.mark.mockllm: config file 'data/missing.json' not found (tried *suite*missing.json, *)",
            "*ERROR at setup of test_positional_marker_argument_is_refused*",
            "@pytest.mark.mockllm takes the keyword arguments config=<path, Config or builder>,"
            " strict=<True, False or 'all'> and cassette=<path>; got args=*",
        ]
    )


def test_default_config_errors_name_the_problem(pytester: pytest.Pytester) -> None:
    (pytester.path / "bad.json").write_text('{"openai": [{"match": {"message": {}}, "respnse": {}}]}')
    pytester.makepyfile("def test_uses_it(mockllm):\n    pass\n\ndef test_does_not(): pass\n")
    result = pytester.runpytest_subprocess("--mockllm-config", "bad.json", *INNER_ARGS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*bad.json*respnse*"])


ENV_NAMES = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
    "GEMINI_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "OLLAMA_HOST",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def test_env_helper_points_sdk_clients_at_the_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "a key the test's environment had")
    pytester.makepyfile(
        """
import os

import anthropic
import boto3
import ollama
import openai
from google import genai

NAMES = ENV_NAMES_REPR


def test_clients_built_without_arguments(mockllm_env):
    mockllm_env.openai_chat().when_last_message_contains("hi").reply("from openai")
    mockllm_env.anthropic_messages().when_last_message_contains("hi").reply("from anthropic")
    mockllm_env.gemini().when_last_message_contains("hi").reply("from gemini")
    assert os.environ["OPENAI_BASE_URL"] == mockllm_env.openai_base_url
    assert "GOOGLE_API_KEY" not in os.environ  # the SDK would prefer it to GEMINI_API_KEY
    client = genai.Client()
    gemini = client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert gemini.text == "from gemini"
    mockllm_env.ollama().when_last_message_contains("hi").reply("from ollama")
    with ollama.Client() as local:
        answer = local.chat(model="llama3", messages=[{"role": "user", "content": "hi"}])
    assert answer.message.content == "from ollama"
    mockllm_env.bedrock().reply("from bedrock")
    converse = boto3.client("bedrock-runtime").converse(
        modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    assert converse["output"]["message"]["content"][0]["text"] == "from bedrock"
    claude = anthropic.AnthropicBedrock(max_retries=0).messages.create(
        model="anthropic.claude-v2", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    assert claude.content[0].text == "from anthropic"
    chat = openai.OpenAI(max_retries=0, timeout=10).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    message = anthropic.Anthropic(max_retries=0, timeout=10).messages.create(
        model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    azure = openai.AzureOpenAI(max_retries=0, timeout=10).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    assert chat.choices[0].message.content == "from openai"
    assert message.content[0].text == "from anthropic"
    assert azure.choices[0].message.content == "from openai"
    assert mockllm_env.requests[-1].path == "/openai/deployments/m/chat/completions"
    assert mockllm_env.azure_endpoint == mockllm_env.url
    assert sorted(mockllm_env.env) == sorted(NAMES)
    assert mockllm_env.env == {name: os.environ[name] for name in mockllm_env.env}


def test_variables_are_gone_after_the_test():
    assert not set(NAMES) & set(os.environ)
""".replace("ENV_NAMES_REPR", repr(ENV_NAMES))
    )
    result = pytester.runpytest_subprocess(*INNER_ARGS)
    result.assert_outcomes(passed=2)


def test_failure_report_lists_requests_and_why_they_missed(pytester: pytest.Pytester) -> None:
    (pytester.path / "greet.json").write_text(chat_config("hello", "hi").replace("hello-mock", "greeting"))
    pytester.makepyfile(
        CLIENTS
        + """
@pytest.mark.mockllm(config="greet.json")
def test_fails_after_two_requests(mockllm):
    chat(mockllm, "hello there")
    with pytest.raises(openai.NotFoundError):
        chat(mockllm, "goodbye")
    assert False, "the agent misbehaved"


def test_fails_without_requests(mockllm):
    assert False


def test_passes_after_an_unmatched_request(mockllm):
    with pytest.raises(openai.NotFoundError):
        chat(mockllm, "nobody listens")
"""
    )
    result = pytester.runpytest_subprocess(*INNER_ARGS)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_fails_after_two_requests _*",
            "*- mockllm requests -*",
            "the mock server at http://127.0.0.1:* received 2 request(s):",
            '1. POST /v1/chat/completions -> 200, mock "greeting"',
            '   last message {"role":"user","content":"hello there"}',
            "2. POST /v1/chat/completions -> 404, no mock",
            "   No mock matched POST /v1/chat/completions*goodbye*",
            '   Nearest mock "greeting": text "hello" not found*',
            "*_ test_fails_without_requests _*",
            "*- mockllm requests -*",
            "the mock server at http://127.0.0.1:* received no requests",
        ]
    )
    assert "nobody listens" not in result.stdout.str()


def test_xdist_workers_each_run_their_own_server(pytester: pytest.Pytester) -> None:
    ports = pytester.mkdir("ports")
    pytester.makepyfile(
        CLIENTS
        + f"""
import os
import time


@pytest.mark.parametrize("n", range(8))
def test_worker(mockllm, n):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    with open(os.path.join({str(ports)!r}, worker), "a") as f:
        f.write(f"{{mockllm.server.port}}\\n")
    mockllm.openai_chat().when_last_message_contains("n=").reply(f"answer {{n}}")
    time.sleep(0.05)  # overlap with the other worker
    assert chat(mockllm, f"n={{n}}") == f"answer {{n}}"
    assert len(mockllm.requests) == 1
"""
    )
    result = pytester.runpytest_subprocess("-n", "2", *INNER_ARGS)
    result.assert_outcomes(passed=8)
    seen = {path.name: set(path.read_text().split()) for path in Path(ports).iterdir()}
    assert sorted(seen) == ["gw0", "gw1"]
    assert all(len(worker_ports) == 1 for worker_ports in seen.values())
    assert seen["gw0"] != seen["gw1"]


# The examples of the pytest fixtures page, each a test module of its own.
FIXTURES_PAGE = code_blocks(doc_section("docs/pytest.md", "# pytest fixtures"), "python")


def test_docs_pytest_example_passes_without_a_warning(pytester: pytest.Pytester) -> None:
    """A user's project set up as the docs say (the pytest page's test file, the troubleshooting
    page's pyproject.toml lines for pytest-asyncio) runs with warnings as errors, and shows none."""
    pytester.makepyfile(test_agent=FIXTURES_PAGE[0])
    (pytester.path / "agent_mocks.json").write_bytes((ROOT / "mockllm/examples/default.json").read_bytes())
    # Without those lines pytest-asyncio warns (and the page says why mockllm leaves it).
    (pytester.path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    unset = pytester.runpytest_subprocess("-p", "no:hypothesispytest", "-k", "not async")
    unset.stderr.fnmatch_lines(['*"asyncio_default_fixture_loop_scope" is unset*'])
    [settings] = code_blocks(
        doc_section("docs/troubleshooting.md", "## pytest-asyncio: the loop scope"), "toml"
    )
    (pytester.path / "pyproject.toml").write_text(settings)
    result = pytester.runpytest_subprocess("-W", "error", "--strict-markers", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=4)
    shown = result.stdout.str() + result.stderr.str()
    assert "Warning:" not in shown and "warnings summary" not in shown


# --- strict mode ------------------------------------------------------------------------------------

STRICT_TESTS = (
    CLIENTS
    + """
from collections.abc import Hashable

from mockllm.server.adapter import PreparedResponse


def swallow(call):
    # Code under test that catches the SDK's error and carries on, as agents often do.
    try:
        return call()
    except openai.APIError:
        return None


@pytest.mark.mockllm(strict=True)
def test_unmatched_request_swallowed(mockllm):
    mockllm.openai_chat().when_last_message_contains("hello").reply("hi")
    assert chat(mockllm, "hello") == "hi"
    assert swallow(lambda: chat(mockllm, "goodbye")) is None


@pytest.mark.mockllm(strict=True)
def test_server_error_swallowed(mockllm, monkeypatch):
    mockllm.openai_chat().reply("never sent")

    def broken(self, model, variant):
        raise RuntimeError("render broke")

    monkeypatch.setattr(PreparedResponse, "render", broken)
    assert swallow(lambda: chat(mockllm, "hello")) is None


@pytest.mark.mockllm(strict=True)
def test_all_answered(mockllm):
    mockllm.openai_chat().reply("fine")
    mockllm.openai_chat().named("spare").when_last_message_contains("never").reply("-")
    assert chat(mockllm, "x") == "fine"


@pytest.mark.mockllm(strict="all")
def test_a_mock_never_called(mockllm):
    mockllm.openai_chat().reply("fine")
    mockllm.openai_chat().named("spare").when_last_message_contains("never").reply("-")
    assert chat(mockllm, "x") == "fine"


@pytest.mark.mockllm(strict=True)
def test_a_tool_the_request_does_not_declare(mockllm):
    mockllm.openai_chat().named("weather").reply_tool_call("get_weather", {"city": "Paris"})
    assert chat(mockllm, "weather?") is None  # the agent would not know the tool


@pytest.mark.mockllm(strict=True)
def test_failed_already(mockllm):
    swallow(lambda: chat(mockllm, "nobody"))
    assert False, "the test's own failure"


def test_not_strict(mockllm):
    swallow(lambda: chat(mockllm, "nobody"))


@pytest.mark.mockllm(strict=False)
def test_opted_out(mockllm):
    swallow(lambda: chat(mockllm, "nobody"))


@pytest.mark.mockllm(strict=True)
async def test_async_fixture_strict(mockllm_async):
    client = openai.AsyncOpenAI(base_url=mockllm_async.openai_base_url, api_key="sk-hidden", max_retries=0)
    try:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "lost"}])
    except openai.NotFoundError:
        pass
    finally:
        await client.close()
"""
)


def test_strict_mode_fails_a_test_whose_code_swallowed_the_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_strict=STRICT_TESTS)
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto", *INNER_ARGS)
    result.assert_outcomes(passed=8, failed=1, errors=5)
    outcomes = {
        report.split(" ")[1].split("::")[1]: report.split(" ")[0]
        for report in result.stdout.lines
        if report.startswith(("ERROR test_strict.py", "FAILED test_strict.py"))
    }
    assert outcomes == {
        "test_unmatched_request_swallowed": "ERROR",
        "test_server_error_swallowed": "ERROR",
        "test_a_mock_never_called": "ERROR",
        "test_a_tool_the_request_does_not_declare": "ERROR",
        "test_failed_already": "FAILED",  # reported once, by its own assertion
        "test_async_fixture_strict": "ERROR",
    }
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unmatched_request_swallowed*",
            "mockllm strict mode: 1 request(s) reached no mock.",
            "the mock server at http://127.0.0.1:* received 2 request(s):",
            '1. POST /v1/chat/completions -> 200, mock "openai[0]"',
            "2. POST /v1/chat/completions -> 404, no mock",
            '   Nearest mock "openai[[]0]": text "hello" not found*',
            "   headers: authorization: Bearer <redacted, 1 character>",
            "*ERROR at teardown of test_server_error_swallowed*",
            "mockllm strict mode: 1 request(s) reached no mock (1 a server error).",
            "1. POST /v1/chat/completions -> 500, server error",
            "   mockllm internal error: RuntimeError: render broke",
            "*ERROR at teardown of test_a_mock_never_called*",
            'mockllm strict mode: mock(s) never called: "spare".',
            "*ERROR at teardown of test_a_tool_the_request_does_not_declare*",
            "mockllm strict mode: 1 answer(s) did not fit their request (the contract guard).",
            '1. POST /v1/chat/completions -> 200, mock "weather"',
            '   last message {"role":"user","content":"weather?"}',
            "   contract: unknown_tool at $.choices[0].message.tool_calls[0]: "
            'the answer calls "get_weather"; the request declares no tools',
            "*ERROR at teardown of test_async_fixture_strict*",
            "mockllm strict mode: 1 request(s) reached no mock.",
        ]
    )
    text = result.stdout.str()
    assert "sk-hidden" not in text
    # The report is in the failure message; no second copy in a section. (Under CI, pytest repeats
    # whole failure messages in its short summary: count before it.)
    assert text.partition("short test summary info")[0].count("received 2 request(s)") == 1


def test_strict_for_the_whole_suite_from_the_ini_or_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_suite=CLIENTS
        + """
def swallow(mockllm):
    try:
        chat(mockllm, "nobody")
    except openai.NotFoundError:
        pass


def test_suite_strict(mockllm):
    swallow(mockllm)


@pytest.mark.mockllm(strict=False)
def test_opted_out(mockllm):
    swallow(mockllm)
"""
    )
    by_flag = pytester.runpytest_subprocess("--mockllm-strict", *INNER_ARGS)
    by_flag.assert_outcomes(passed=2, errors=1)
    by_flag.stdout.fnmatch_lines(["*ERROR at teardown of test_suite_strict*"])
    by_ini = pytester.runpytest_subprocess("-o", "mockllm_strict=true", *INNER_ARGS)
    by_ini.assert_outcomes(passed=2, errors=1)
    off = pytester.runpytest_subprocess(*INNER_ARGS)
    off.assert_outcomes(passed=2)
    bad = pytester.runpytest_subprocess("-o", "mockllm_strict=sometimes", *INNER_ARGS)
    bad.assert_outcomes(passed=1, errors=1)
    bad.stdout.fnmatch_lines(["*ini option mockllm_strict takes true, false or all, got 'sometimes'*"])


def test_docs_verification_and_strict_examples_pass(pytester: pytest.Pytester) -> None:
    examples = FIXTURES_PAGE[1:]
    names = [re.match(r"# (test_\w+)\.py\n", example) for example in examples]
    assert [name.group(1) if name else None for name in names] == ["test_verify", "test_strict"]
    pytester.makepyfile(
        **{name.group(1): example for name, example in zip(names, examples, strict=True) if name}
    )
    result = pytester.runpytest_subprocess(*INNER_ARGS)
    result.assert_outcomes(passed=2)
    # The strict example is strict indeed: a request nobody answers fails it.
    strict = examples[1].replace('"content": "hello"}]', '"content": "goodbye"}]')
    assert strict != examples[1]
    pytester.makepyfile(test_strict=strict)
    failing = pytester.runpytest_subprocess("test_strict.py", *INNER_ARGS)
    failing.assert_outcomes(passed=1, errors=1)
    failing.stdout.fnmatch_lines(["mockllm strict mode: 1 request(s) reached no mock."])


def test_a_failed_assertion_on_a_request_prints_no_credential(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest's assertion rewriting shows every value an assertion read, the journal entry and its
    headers among them, in the CI log: none shows the key (read from the environment, so that the
    test's own source, which the log shows too, does not hold it)."""
    secret = "sk-live-SECRET-0123456789"
    monkeypatch.setenv("AGENT_API_KEY", secret)
    pytester.makepyfile(
        CLIENTS
        + """
import os


def ask(mockllm):
    with openai.OpenAI(
        base_url=mockllm.openai_base_url,
        api_key=os.environ["AGENT_API_KEY"],
        max_retries=0,
        timeout=10,
        http_client=openai.DefaultHttpxClient(verify=SSL_CONTEXT),
    ) as client:
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])


def test_status(mockllm):
    ask(mockllm)
    assert mockllm.requests[0].status == 200


def test_header(mockllm):
    ask(mockllm)
    assert mockllm.requests[0].headers.get("x-tenant") == "acme"
"""
    )
    result = pytester.runpytest_subprocess(*INNER_ARGS, "-vv")
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    assert secret not in output
    assert "RecordedRequest(" in output and "RequestHeaders(" in output
    assert f"Bearer <redacted, {len(secret)} characters>" in output
