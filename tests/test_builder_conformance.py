"""Each real kagent config, written as a builder chain: the chain builds the same mocks, and the
server answers the official SDKs the same from either."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockllm import Config, MockServer, load_config
from mockllm.builders import MockBuilder, mock
from mockllm.server import CompiledConfig

from .conftest import anthropic_client, conformance_data, openai_client

CONFIGS = {path.stem: path for path in sorted(conformance_data("kagent-e2e").glob("*.json"))}

CHAINS: dict[str, Callable[[], MockBuilder]] = {}


def chain(name: str) -> Callable[[Callable[[], MockBuilder]], Callable[[], MockBuilder]]:
    def register(build: Callable[[], MockBuilder]) -> Callable[[], MockBuilder]:
        CHAINS[name] = build
        return build

    return register


GPT = "gpt-4.1-mini"
T0 = 1677652288


@chain("invoke_crewai_agent")
def crewai() -> MockBuilder:
    m = mock()
    chat = m.openai_chat()
    chat.named("continue_poem_request").when_last_message_contains("Continue this poem").reply(
        "In harmony with the code, it flows so smooth.\nBuilding AI agents, it's the truth.\n"
        "CrewAI rocks, day by day.\nMaking development a joyful play.",
        response_id="chatcmpl-poem-2",
        created=T0 + 1,
        model=GPT,
    )
    chat.named("generate_poem_request").when_last_message_contains(
        "Write a poem about how CrewAI is awesome."
    ).reply(
        "CrewAI is awesome, it makes coding fun.\nWith agents and tools, the work is done.\n"
        "Building AI flows, it's a breeze.\nIn the world of code, it brings ease.",
        response_id="chatcmpl-poem-1",
        created=T0,
        model=GPT,
    )
    return m


@chain("invoke_golang_adk_agent")
def golang_adk() -> MockBuilder:
    m = mock()
    m.openai_chat().named("simple_request").when_last_message_contains("What is 2+2?").reply(
        "The answer is 4.",
        response_id="chatcmpl-golang-adk-1",
        created=T0,
        model=GPT,
        usage={"prompt_tokens": 10, "completion_tokens": 5},
    )
    return m


@chain("invoke_golang_hitl_ask_user")
def golang_hitl() -> MockBuilder:
    m = mock()
    chat = m.openai_chat()
    question = {"question": "Which database should we use?", "choices": ["PostgreSQL", "MySQL"]}
    chat.named("ask_user_request").when_last_message_contains(
        "Which database should we use for storage?"
    ).reply_tool_call(
        "ask_user",
        {"questions": [question]},
        id="call_ask_1",
        response_id="chatcmpl-hitl-ask-1",
        created=T0,
        model=GPT,
    )
    chat.named("ask_user_answered").when_last_message_contains("PostgreSQL", role="tool").reply(
        "Using PostgreSQL for storage.", response_id="chatcmpl-hitl-ask-2", created=T0 + 1, model=GPT
    )
    return m


@chain("invoke_inline_agent")
def inline() -> MockBuilder:
    m = mock()
    chat = m.openai_chat()
    chat.named("initial_request").when_last_message_contains("List all nodes in the cluster").reply_tool_call(
        "k8s_get_resources",
        '{"resource_type": "node", "all_namespaces": true}',
        id="call_1",
        content="",
        response_id="chatcmpl-1",
        created=T0,
        model=GPT,
    )
    chat.named("k8s_get_resources_response").when_tool_result(
        "call_1", contains="kagent-control-plane"
    ).reply(
        "I have listed all nodes in the cluster. They include kagent-control-plane",
        response_id="call_1",
        created=T0,
        model=GPT,
    )
    return m


@chain("invoke_langgraph_agent")
def langgraph() -> MockBuilder:
    m = mock()
    chat = m.openai_chat()
    chat.named("make_kebab_tool_call").when_last_message_contains("make me a kebab").reply_tool_call(
        "make_kebab",
        '{"style": "mixed"}',
        id="call_lg001",
        response_id="chatcmpl-langgraph-1",
        created=T0,
        model="gpt-4o-mini",
    )
    chat.named("make_kebab_after_tool").when_last_message_contains("fake_e2e", role="tool").reply(
        "Your kebab is ready.", response_id="chatcmpl-langgraph-2", created=T0 + 1, model="gpt-4o-mini"
    )
    return m


def add_numbers(tool: str, a: int, b: int) -> MockBuilder:
    m = mock()
    chat = m.openai_chat()
    chat.named("initial_request").when_last_message_contains(f"add {a} and {b}").reply_tool_call(
        tool,
        f'{{"a": {a}, "b": {b}}}',
        id="call_1",
        content="",
        response_id="chatcmpl-1",
        created=T0,
        model=GPT,
    )
    chat.named("add_response").when_tool_result("call_1", contains=str(a + b)).reply(
        f"I have added {a} and {b}. The result is {a + b}.", response_id="call_1", created=T0, model=GPT
    )
    return m


chain("invoke_mcp_agent")(lambda: add_numbers("get-sum", 3, 5))
chain("invoke_remotemcpserver_tls_agent")(lambda: add_numbers("add_numbers", 2, 3))


@chain("invoke_memory_agent")
def memory() -> MockBuilder:
    m = mock()
    chat = m.openai_chat()
    chat.named("save_memory_request").when_last_message_contains(
        "Remember that I prefer dark mode and Go over Python"
    ).reply_tool_call(
        "save_memory",
        '{"content": "User prefers dark mode and Go over Python"}',
        id="call_save_1",
        content="",
        response_id="chatcmpl-mem-1",
        created=T0,
        model=GPT,
    )
    chat.named("save_memory_result").when_tool_result(
        "call_save_1", contains="Successfully saved information to long-term memory"
    ).reply(
        "I have saved your preferences to memory: you prefer dark mode and Go over Python.",
        response_id="chatcmpl-mem-2",
        created=T0,
        model=GPT,
    )
    chat.named("load_memory_request").when_last_message_contains("What are my preferences").reply_tool_call(
        "load_memory",
        '{"query": "user preferences"}',
        id="call_load_1",
        content="",
        response_id="chatcmpl-mem-3",
        created=T0,
        model=GPT,
    )
    chat.named("load_memory_result").when_tool_result("call_load_1", contains="dark mode").reply(
        "Based on your memory, you prefer dark mode and Go over Python.",
        response_id="chatcmpl-mem-4",
        created=T0,
        model=GPT,
    )
    # Real 768-float vectors: taken from the file rather than pasted here.
    raw = json.loads(CONFIGS["invoke_memory_agent"].read_text())
    vectors = [item["response"]["data"][0]["embedding"] for item in raw["openai_embeddings"]]
    embeddings = m.openai_embeddings()
    for name, text, vector in (
        ("generate_embedding_request", "dark mode", vectors[0]),
        ("generate_embedding_request2", "preferences", vectors[1]),
    ):
        embeddings.named(name).when_input_contains(text).reply(
            vector, model="text-embedding-3-small", usage={"prompt_tokens": 10}
        )
    return m


@chain("invoke_openai_agent")
def openai_agent() -> MockBuilder:
    m = mock()
    chat = m.openai_chat()
    chat.named("calculate_request").when_last_message_contains("What is 2+2?").reply_tool_call(
        "calculate",
        '{"expression": "2+2"}',
        id="call_abc123",
        response_id="chatcmpl-calc",
        created=T0,
        model=GPT,
    )
    chat.named("calculate_result").when_tool_result("call_abc123", contains="4").reply(
        "The result of 2+2 is 4", response_id="chatcmpl-calc-result", created=T0, model=GPT
    )
    chat.named("weather_request").when_last_message_contains(
        "What is the weather in London?"
    ).reply_tool_call(
        "get_weather",
        '{"location": "London"}',
        id="call_def456",
        response_id="chatcmpl-weather",
        created=T0 + 1,
        model=GPT,
    )
    chat.named("weather_result").when_tool_result("call_def456", contains="Rainy, 52°F").reply(
        "The weather in London is Rainy, 52°F",
        response_id="chatcmpl-weather-result",
        created=T0 + 1,
        model=GPT,
    )
    return m


@chain("invoke_passthrough_agent")
def passthrough() -> MockBuilder:
    m = mock()
    m.openai_chat().named("passthrough_request").when_last_message_contains(
        "Hello from passthrough"
    ).with_header("Authorization", "Bearer passthrough-test-token-12345").reply(
        "Token received successfully via passthrough.",
        response_id="chatcmpl-passthrough-1",
        created=T0,
        model=GPT,
    )
    return m


@chain("invoke_skill")
def skill() -> MockBuilder:
    m = mock()
    chat = m.openai_chat()
    chat.named("initial_request").when_last_message_contains("make me a kebab").reply_tool_call(
        "skills",
        '{"command": "kebab-maker"}',
        id="call_1",
        content="",
        response_id="chatcmpl-1",
        created=T0,
        model=GPT,
    )
    chat.named("skills_response").when_tool_result(
        "call_1", contains="To make a delicious kebab,"
    ).reply_tool_call(
        "bash",
        '{"command": "cd skills/kebab-maker && python scripts/make_kebab.py"}',
        id="call_2",
        content="",
        response_id="call_2",
        created=T0,
        model=GPT,
    )
    chat.named("execute_script_response").when_last_message(
        role="tool", tool_call_id="call_2", content="Kebab is ready... Pick it up from around the corner."
    ).reply(
        "I have made a kebab. Pick it up from around the corner",
        response_id="chatcmpl-2",
        created=T0,
        model=GPT,
    )
    return m


@chain("invoke_skill_network")
def skill_network() -> MockBuilder:
    script = (
        "python -c \"print('PY_OK')\" && node -e \"console.log('NODE_OK')\" && python - <<'PY'\n"
        "import os\nimport urllib.request\nurl = os.environ['KAGENT_URL'] + '/health'\ntry:\n"
        "    urllib.request.urlopen(url, timeout=5).read()\n    print('NETWORK_ALLOWED')\n"
        "except Exception:\n    print('NETWORK_DENIED')\nPY"
    )
    m = mock()
    chat = m.openai_chat()
    chat.named("initial_request").when_last_message_contains(
        "check the controller health with bash"
    ).reply_tool_call(
        "bash",
        json.dumps({"command": script}),
        id="call_1",
        content="",
        response_id="chatcmpl-1",
        created=T0,
        model=GPT,
    )
    for name, outcome, text, response_id in (
        ("bash_response_denied", "NETWORK_DENIED", "network denied", "chatcmpl-2"),
        ("bash_response_allowed", "NETWORK_ALLOWED", "controller health is ok", "chatcmpl-3"),
    ):
        chat.named(name).when_tool_result("call_1", contains=f"PY_OK\nNODE_OK\n{outcome}").reply(
            f"python and node are available; {text}", response_id=response_id, created=T0, model=GPT
        )
    return m


@chain("mock_anthropic")
def mock_anthropic() -> MockBuilder:
    m = mock()
    m.anthropic_messages().named("catch_all").when_last_message_contains("2+2").reply(
        "The answer is 4.",
        response_id="msg-mock-1",
        model="claude-sonnet-4-20250514",
        usage={"input_tokens": 10, "output_tokens": 5},
    )
    return m


@chain("mock_openai")
def mock_openai() -> MockBuilder:
    m = mock()
    m.openai_chat().named("catch_all").when_last_message_contains("2+2").reply(
        "The answer is 4.",
        response_id="chatcmpl-mock-1",
        created=1700000000,
        model="mock-model",
        usage={"prompt_tokens": 10, "completion_tokens": 5},
    )
    return m


# --- comparing -------------------------------------------------------------------------------------


def without_quirks(response: dict[str, Any]) -> dict[str, Any]:
    """Drop what real kagent configs write that is not in the OpenAI format, and so has no verb:
    ``"role"`` beside ``"message"`` in a choice, and ``"object": "chat.completion.tool_message"``."""
    out = dict(response)
    if out.get("object") == "chat.completion.tool_message":
        out["object"] = "chat.completion"
    if isinstance(out.get("choices"), list):
        out["choices"] = [{k: v for k, v in choice.items() if k != "role"} for choice in out["choices"]]
    return out


def as_served(config: Config) -> dict[str, list[tuple[str, Any, dict[str, Any]]]]:
    """Per API: each mock's name, match, and the response the server serves for it."""
    state = CompiledConfig.of(config)
    return {
        api: [
            (mock.name, mock.match, without_quirks(answer.response))
            for mock, answer in zip(
                mocks.index.mocks, map(mocks.answer, range(len(mocks.prepared))), strict=True
            )
        ]
        for api, mocks in state.apis.items()
    }


def test_every_conformance_config_has_a_chain() -> None:
    assert set(CHAINS) == set(CONFIGS)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_chain_builds_the_config(name: str) -> None:
    builder = CHAINS[name]()
    built = builder.build()
    assert Config.from_json(builder.to_json()) == built
    assert as_served(built) == as_served(load_config(CONFIGS[name]))


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


def ask_everything(server: MockServer, config: Config) -> list[Any]:
    """Send, for each mock, a request built from its own match; return the parsed answers."""
    server.set_config(config)
    chat, claude = openai_client(server), anthropic_client(server)
    answers: list[Any] = []
    for chat_mock in config.openai:
        headers = {rule.name: rule.value for rule in chat_mock.match.headers}
        messages: Any = [chat_mock.match.message]
        reply = chat.chat.completions.create(model="m", messages=messages, extra_headers=headers)
        answers.append(without_quirks(reply.model_dump()))
    for embeddings_mock in config.openai_embeddings:
        answers.append(chat.embeddings.create(model="m", input=embeddings_mock.match.input).model_dump())
    for anthropic_mock in config.anthropic:
        messages = [anthropic_mock.match.message]
        answers.append(claude.messages.create(model="m", max_tokens=64, messages=messages).model_dump())
    return answers


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_server_answers_the_same(server: MockServer, name: str) -> None:
    original = load_config(CONFIGS[name])
    expected = ask_everything(server, original)
    assert ask_everything(server, CHAINS[name]().build()) == expected
    assert len(expected) == sum(original.counts().values())
