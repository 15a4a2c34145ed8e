"""Typical builder chains with the type of every stage pinned.

Checked by ``mypy --strict`` (``.ci/run`` runs it), so an IDE completes each step with the
verbs of that API only. The lines marked ``type: ignore[...]`` are misuse that mypy must reject:
with ``--strict`` an ignore that is not needed is itself an error.
"""

from __future__ import annotations

from typing import assert_type

from anthropic.types import Message
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from mockllm import replies
from mockllm.builders import (
    AnthropicMessagesBuilder,
    CodeInterpreter,
    McpCall,
    MockBuilder,
    MockHandle,
    OpenAIChatBuilder,
    OpenAIEmbeddingsBuilder,
    OpenAIResponsesBuilder,
    ToolCall,
    WebResult,
    mock,
)
from mockllm.config import AnthropicMock, Config, OpenAIEmbeddingMock, OpenAIMock, OpenAIResponseMock
from mockllm.server.programmed import ProgrammedRequest

m = mock(listen_addr="127.0.0.1:0")
assert_type(m, MockBuilder)

# --- chat ----------------------------------------------------------------------------------------
chat = m.openai_chat()
assert_type(chat, OpenAIChatBuilder)
tenant = chat.with_header("X-Tenant-ID", "a").with_header("X-Env", "prod", match_type="contains")
assert_type(tenant, OpenAIChatBuilder)
assert_type(tenant.named("weather"), OpenAIChatBuilder)
asked = tenant.named("weather").when_last_message_contains("weather", role="user")
assert_type(asked, OpenAIChatBuilder)
chat_call = asked.reply_tool_call("get_weather", {"city": "London"}, id="call_1")
assert_type(chat_call, MockHandle[OpenAIMock])
assert_type(chat_call.mock, OpenAIMock)
assert_type(chat_call.position, int)
assert_type(chat_call.tool_call_ids, tuple[str, ...])
assert_type(
    chat.when_tool_result("call_1", contains="Rainy").reply("It is rainy.", usage={"prompt_tokens": 3}),
    MockHandle[OpenAIMock],
)
assert_type(
    chat.when_last_message(role="tool", tool_call_id="call_1", contains="Rainy").reply_tool_calls(
        [ToolCall("a", "{}"), ToolCall("b", {"x": 1}, id="call_b")], finish_reason="tool_calls"
    ),
    MockHandle[OpenAIMock],
)
assert_type(chat.reply(ChatCompletion.model_construct(choices=[])), MockHandle[OpenAIMock])
assert_type(chat.reply({"choices": []}), MockHandle[OpenAIMock])
first_step, later_steps = chat.once().priority(1).in_scenario("s", new_state="b").in_sequence(2)
assert_type(first_step, OpenAIChatBuilder)
assert_type(later_steps.reply_tool_call("f", {}), MockHandle[OpenAIMock])

# --- responses -------------------------------------------------------------------------------------
responses = m.openai_responses()
assert_type(responses, OpenAIResponsesBuilder)
assert_type(responses.when_input_contains("haiku"), OpenAIResponsesBuilder)
assert_type(responses.when_tool_result("call_1", contains="Rainy"), OpenAIResponsesBuilder)
assert_type(responses.when_system_contains("terse").when_tool_names("get_weather"), OpenAIResponsesBuilder)
assert_type(responses.reply_tool_call("get_weather", {"city": "Paris"}), MockHandle[OpenAIResponseMock])
assert_type(
    responses.when_input([{"type": "message", "role": "user", "content": "hi"}]), OpenAIResponsesBuilder
)
assert_type(responses.when_input_ends_with([{"type": "function_call_output"}]), OpenAIResponsesBuilder)
assert_type(responses.reply("Agents wake", reasoning="short"), MockHandle[OpenAIResponseMock])
assert_type(responses.reply_function_call("calc", "{}", call_id="c1"), MockHandle[OpenAIResponseMock])
assert_type(responses.reply_function_call("calc", "{}", id="c1"), MockHandle[OpenAIResponseMock])
assert_type(ToolCall("calc", call_id="c1"), ToolCall)
assert_type(responses.reply(Response.model_construct(output=[])), MockHandle[OpenAIResponseMock])

# --- embeddings ------------------------------------------------------------------------------------
embeddings = m.openai_embeddings()
assert_type(embeddings, OpenAIEmbeddingsBuilder)
assert_type(embeddings.when_input_contains("dark mode"), OpenAIEmbeddingsBuilder)
assert_type(embeddings.when_input_includes(["a", "b"]), OpenAIEmbeddingsBuilder)
assert_type(embeddings.when_input([1, 2, 3]), OpenAIEmbeddingsBuilder)
assert_type(embeddings.reply([0.1, 0.2], model="text-embedding-3-small"), MockHandle[OpenAIEmbeddingMock])
assert_type(embeddings.reply_vectors([[0.1], [0.2]]), MockHandle[OpenAIEmbeddingMock])
assert_type(embeddings.reply_vectors_from_text(8, seed=1), MockHandle[OpenAIEmbeddingMock])
assert_type(
    embeddings.reply(CreateEmbeddingResponse.model_construct(data=[])), MockHandle[OpenAIEmbeddingMock]
)

# --- anthropic -------------------------------------------------------------------------------------
claude = m.anthropic_messages()
assert_type(claude, AnthropicMessagesBuilder)
ruled = claude.when_system_contains("helpful").when_tool_names("get_weather", "search")
assert_type(ruled, AnthropicMessagesBuilder)
assert_type(ruled.when_last_message_contains("2+2"), AnthropicMessagesBuilder)
assert_type(claude.when_tool_result("toolu_1"), AnthropicMessagesBuilder)
assert_type(claude.when_tool_result("toolu_1", contains="Rainy"), AnthropicMessagesBuilder)
claude_call = claude.reply_tool_call("get_weather", {"city": "Paris"})
assert_type(claude_call, MockHandle[AnthropicMock])
assert_type(claude_call.tool_call_ids, tuple[str, ...])
assert_type(claude.reply_tool_calls([ToolCall("a", {})]), MockHandle[AnthropicMock])
assert_type(
    claude.when_last_message(role="user", contains=[{"type": "tool_result", "tool_use_id": "toolu_1"}]),
    AnthropicMessagesBuilder,
)
assert_type(
    ruled.reply("4", thinking="2+2 is 4", stop_reason="end_turn", usage={"input_tokens": 1}),
    MockHandle[AnthropicMock],
)
assert_type(claude.reply_tool_use("get_weather", {"city": "Paris"}, id="toolu_1"), MockHandle[AnthropicMock])
assert_type(claude.reply_tool_use("get_weather", call_id="toolu_1"), MockHandle[AnthropicMock])
assert_type(claude.reply(Message.model_construct(content=[])), MockHandle[AnthropicMock])

# --- hosted tools, MCP and server tools --------------------------------------------------------------
assert_type(responses.reply_web_search("weather", then_text="Sunny"), MockHandle[OpenAIResponseMock])
assert_type(
    responses.when_input_item("mcp_approval_response").reply_items(
        CodeInterpreter("print(1)", "1"), McpCall("wiki", "ask", output="42"), ToolCall("f"), then_text="Done"
    ),
    MockHandle[OpenAIResponseMock],
)
assert_type(
    claude.reply_web_search("weather", results=[WebResult("https://e.example", "E")], then_text="Sunny"),
    MockHandle[AnthropicMock],
)
assert_type(claude.reply_mcp_tool_use("wiki", "ask", {"q": 1}, result="42"), MockHandle[AnthropicMock])

# --- rules on the whole conversation ------------------------------------------------------------
assert_type(
    chat.when_model("gpt-4o")
    .when_turn(1)
    .when_history_contains("London")
    .when_history_has_tool_results("call_1"),
    OpenAIChatBuilder,
)
assert_type(
    chat.when_system_contains("helpful").when_tool_names("get_weather").when_last_message_matches(r"\d+"),
    OpenAIChatBuilder,
)
assert_type(chat.with_header("X-Env", "^prod", match_type="regex"), OpenAIChatBuilder)
assert_type(responses.when_model("gpt-5", match_type="regex").when_turn(0), OpenAIResponsesBuilder)
assert_type(responses.when_user_input_contains("Tokyo"), OpenAIResponsesBuilder)
assert_type(responses.when_tool_output_contains("Tokyo"), OpenAIResponsesBuilder)
assert_type(
    responses.when_input_item("function_call_output").when_input_matches("Tok"), OpenAIResponsesBuilder
)
assert_type(
    embeddings.when_model("text-embedding-3-small").when_input_matches("dark"), OpenAIEmbeddingsBuilder
)
assert_type(claude.when_turn(2).when_history_has_tool_results("toolu_1", "toolu_2"), AnthropicMessagesBuilder)
assert_type(claude.when_last_message_matches("2\\+2", role=None), AnthropicMessagesBuilder)

# --- error replies ---------------------------------------------------------------------------------
assert_type(chat.once().reply_error(429, headers={"retry-after-ms": "5"}), MockHandle[OpenAIMock])
assert_type(responses.reply_error(500, message="down", retry_after=0.5), MockHandle[OpenAIResponseMock])
assert_type(embeddings.reply_error(503, type="server_error"), MockHandle[OpenAIEmbeddingMock])
assert_type(claude.times(2).reply_error(529), MockHandle[AnthropicMock])

# --- timing -----------------------------------------------------------------------------------------
assert_type(chat.with_timing(ttft_ms=5, chunk_interval_ms=0.5), OpenAIChatBuilder)
assert_type(responses.with_timing(jitter_ms=1, seed=7).once(), OpenAIResponsesBuilder)
assert_type(embeddings.with_timing(ttft_ms=1), OpenAIEmbeddingsBuilder)
assert_type(claude.with_timing(), AnthropicMessagesBuilder)

# --- the whole config ------------------------------------------------------------------------------
assert_type(m.build(), Config)
assert_type(m.to_json(), str)


# --- programmable replies ---------------------------------------------------------------------------


def answer_of(request: ProgrammedRequest) -> replies.Reply:
    return (
        replies.tool_call(request.tool_names[0], {"city": request.history[-1]})
        if request.turns == 0
        else replies.text("")
    )


async def answer_later(request: ProgrammedRequest) -> str:
    return request.system


assert_type(m.openai_chat().once().reply_with(answer_of), MockHandle[OpenAIMock])
assert_type(m.anthropic_messages().reply_with(answer_later), MockHandle[AnthropicMock])
assert_type(m.openai_responses().reply_with(lambda request: {"output": []}), MockHandle[OpenAIResponseMock])


def misuse_that_mypy_rejects(m: MockBuilder) -> None:
    """Never called: each line is an error mypy must report."""
    m.openai_chat().with_header("X-Tenant-ID", "a", match_type="glob")  # type: ignore[arg-type]
    m.openai_chat().when_input_contains("x")  # type: ignore[attr-defined]
    m.openai_responses().when_last_message_contains("x")  # type: ignore[attr-defined]
    m.openai_chat().when_last_mesage_contains("x")  # type: ignore[attr-defined]
    m.openai_chta()  # type: ignore[attr-defined]
    m.anthropic_messages().when_tool_result("toolu_1", contains=3)  # type: ignore[arg-type]
    m.openai_embeddings().when_turn(1)  # type: ignore[attr-defined]
    m.openai_chat().when_input_item("user")  # type: ignore[attr-defined]
    m.openai_responses().when_input_item("assistant")  # type: ignore[arg-type]
    m.openai_chat().when_model("gpt-4o", match_type="glob")  # type: ignore[arg-type]
    m.openai_chat().when_last_message_contains("x", role="robot")  # type: ignore[arg-type]
    m.openai_chat().reply("x", finish_reason="done")  # type: ignore[call-overload]
    m.anthropic_messages().reply_error(529, headers={"retry-after": 1})  # type: ignore[dict-item]
    m.openai_chat().reply(ChatCompletion.model_construct(), model="gpt-4o")  # type: ignore[call-overload]
    m.anthropic_messages().reply("x", stop_reason="stop")  # type: ignore[call-overload]
    m.anthropic_messages().reply(ChatCompletion.model_construct())  # type: ignore[call-overload]
    m.openai_embeddings().reply("not a vector")  # type: ignore[arg-type]
    m.openai_responses().reply_items("web search")  # type: ignore[arg-type]
    m.anthropic_messages().reply_web_search("q", results=[{"url": "u"}])  # type: ignore[list-item]
    m.anthropic_messages().reply_mcp_tool_use("wiki", "ask", result=42)  # type: ignore[arg-type]
    m.openai_chat().reply_with("Sunny.")  # type: ignore[arg-type]
    m.openai_chat().reply_with(str.upper)  # type: ignore[arg-type]
    m.openai_chat().reply_drawn(None, replies.text("x"))  # type: ignore[arg-type]
