"""The usage every answer reports for its prompt is the request's token estimate — what the
token-counting endpoints answer for the same prompt — streamed or not, on every API; a usage the
mock writes is served as written. Through the official SDKs."""

from __future__ import annotations

from typing import Any

import ollama
import pytest
from google import genai

from mockllm import MockBuilder, MockServer

from .conftest import (
    anthropic_bedrock_client,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    bedrock_runtime,
    openai_client,
)

LONG = "Which of the three routes is the shortest in the afternoon?"  # 59 bytes
TOOLS: Any = [{"name": "route", "description": "Plan a route", "input_schema": {"type": "object"}}]


def estimate(*texts: str) -> int:
    """The documented estimate: about four UTF-8 bytes a token, rounded up."""
    return (sum(len(text.encode()) for text in texts) + 3) // 4


def test_anthropic_usage_is_what_count_tokens_says_streamed_or_not(
    m: MockBuilder, server: MockServer
) -> None:
    m.anthropic_messages().reply("The northern one.")
    client = anthropic_client(server)
    ask: Any = {
        "model": "claude",
        "system": "You plan routes.",
        "tools": TOOLS,
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi, where to?"},
            {"role": "user", "content": [{"type": "text", "text": LONG}]},
        ],
    }
    counted = client.messages.count_tokens(**ask).input_tokens
    assert counted > estimate(LONG)  # the system prompt, the history and the tools count too

    plain = client.messages.create(max_tokens=64, **ask)
    assert plain.usage.input_tokens == counted
    assert plain.usage.output_tokens == estimate("The northern one.")
    with client.messages.stream(max_tokens=64, **ask) as stream:
        events = list(stream)
        final = stream.get_final_message()
    start = next(event for event in events if event.type == "message_start")
    assert start.message.usage.input_tokens == counted  # what a client reads before any text
    assert final.usage.input_tokens == counted

    shorter = client.messages.create(
        max_tokens=64, model="claude", messages=[{"role": "user", "content": "Hi"}]
    )
    assert (
        shorter.usage.input_tokens
        == client.messages.count_tokens(
            model="claude", messages=[{"role": "user", "content": "Hi"}]
        ).input_tokens
    )


async def test_anthropic_async_and_on_bedrock(m: MockBuilder, server: MockServer) -> None:
    m.anthropic_messages().reply("Fine.")
    ask: Any = [{"role": "user", "content": LONG}]
    client = async_anthropic_client(server)
    counted = (await client.messages.count_tokens(model="claude", messages=ask)).input_tokens
    assert counted == estimate(LONG)
    assert (
        await client.messages.create(model="claude", max_tokens=9, messages=ask)
    ).usage.input_tokens == counted

    bedrock = anthropic_bedrock_client(server)
    model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert bedrock.messages.create(model=model, max_tokens=9, messages=ask).usage.input_tokens == counted
    with bedrock.messages.stream(model=model, max_tokens=9, messages=ask) as stream:
        assert stream.get_final_message().usage.input_tokens == counted


def test_a_usage_the_mock_writes_wins(m: MockBuilder, server: MockServer) -> None:
    m.anthropic_messages().reply("Set.", usage={"input_tokens": 1234, "output_tokens": 5})
    m.openai_chat().reply("Set.", usage={"prompt_tokens": 77, "completion_tokens": 3})
    client = anthropic_client(server)
    ask: Any = [{"role": "user", "content": LONG}]
    assert client.messages.create(model="c", max_tokens=9, messages=ask).usage.input_tokens == 1234
    with client.messages.stream(model="c", max_tokens=9, messages=ask) as stream:
        assert stream.get_final_message().usage.input_tokens == 1234
    chat = openai_client(server).chat.completions.create(
        model="g", messages=[{"role": "user", "content": LONG}]
    )
    assert chat.usage is not None
    assert (chat.usage.prompt_tokens, chat.usage.total_tokens) == (77, 80)


async def test_chat_and_responses_report_the_estimate(m: MockBuilder, server: MockServer) -> None:
    m.openai_chat().when_last_message_contains("percent").reply("100% sure, not %d or %s.")
    m.openai_chat().reply("Take the northern one.")
    m.openai_responses().reply("Take the northern one.")
    client = async_openai_client(server)
    messages: Any = [{"role": "system", "content": "You plan routes."}, {"role": "user", "content": LONG}]
    prompt = estimate("You plan routes.", LONG)
    completion = estimate("Take the northern one.")

    plain = await client.chat.completions.create(model="g", messages=messages)
    assert plain.usage is not None
    assert (plain.usage.prompt_tokens, plain.usage.total_tokens) == (prompt, prompt + completion)
    stream = await client.chat.completions.create(
        model="g", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    usages = [chunk.usage async for chunk in stream if chunk.usage is not None]
    assert [(u.prompt_tokens, u.completion_tokens, u.total_tokens) for u in usages] == [
        (prompt, completion, prompt + completion)
    ]

    # The count is written into the cached answer: the answer's own text stays as it was.
    sure = await client.chat.completions.create(model="g", messages=[{"role": "user", "content": "percent?"}])
    assert sure.choices[0].message.content == "100% sure, not %d or %s."
    assert sure.usage is not None and sure.usage.prompt_tokens == estimate("percent?")

    answer = await client.responses.create(model="g", instructions="You plan routes.", input=LONG)
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.total_tokens) == (prompt, prompt + completion)
    async with client.responses.stream(model="g", instructions="You plan routes.", input=LONG) as events:
        final = await events.get_final_response()
    assert final.usage is not None and final.usage.input_tokens == prompt


def test_gemini_usage_is_what_count_tokens_says(m: MockBuilder, server: MockServer) -> None:
    m.gemini().reply("The northern one.")
    client = genai.Client(api_key="test-key", http_options={"base_url": server.gemini_base_url})
    counted = client.models.count_tokens(model="gemini-2.5-flash", contents=LONG).total_tokens
    assert counted == estimate(LONG)
    plain = client.models.generate_content(model="gemini-2.5-flash", contents=LONG).usage_metadata
    assert plain is not None
    assert (plain.prompt_token_count, plain.total_token_count) == (
        counted,
        counted + estimate("The northern one."),
    )
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents=LONG))
    streamed = chunks[-1].usage_metadata
    assert streamed is not None and streamed.prompt_token_count == counted


def test_bedrock_converse_usage_streamed_or_not(m: MockBuilder, server: MockServer) -> None:
    m.bedrock().reply("The northern one.")
    client = bedrock_runtime(server)
    messages = [{"role": "user", "content": [{"text": LONG}]}]
    system = [{"text": "You plan routes."}]
    prompt, completion = estimate("You plan routes.", LONG), estimate("The northern one.")
    usage = client.converse(modelId="amazon.nova-lite-v1:0", messages=messages, system=system)["usage"]
    assert (usage["inputTokens"], usage["totalTokens"]) == (prompt, prompt + completion)
    events = client.converse_stream(modelId="amazon.nova-lite-v1:0", messages=messages, system=system)[
        "stream"
    ]
    metadata = [event["metadata"] for event in events if "metadata" in event]
    assert [meta["usage"]["inputTokens"] for meta in metadata] == [prompt]
    assert metadata[0]["usage"]["totalTokens"] == prompt + completion


async def test_ollama_prompt_eval_count(m: MockBuilder, server: MockServer) -> None:
    m.ollama().reply("The northern one.")
    m.ollama_embeddings().reply([0.1, 0.2])
    client = ollama.Client(host=server.ollama_host)
    messages = [{"role": "user", "content": LONG}]
    assert client.chat(model="llama3", messages=messages, stream=False).prompt_eval_count == estimate(LONG)
    last = list(client.chat(model="llama3", messages=messages, stream=True))[-1]
    assert last.prompt_eval_count == estimate(LONG)
    generated = await ollama.AsyncClient(host=server.ollama_host).generate(
        model="llama3", system="You plan routes.", prompt=LONG
    )
    assert generated.prompt_eval_count == estimate("You plan routes.", LONG)
    assert client.embed(model="nomic", input=[LONG, "Hi"]).prompt_eval_count == estimate(LONG) + estimate(
        "Hi"
    )


@pytest.mark.parametrize("inputs", [LONG, [LONG, "Hi"]])
def test_openai_embeddings_prompt_tokens(m: MockBuilder, server: MockServer, inputs: str | list[str]) -> None:
    m.openai_embeddings().reply([0.1, 0.2])
    answer = openai_client(server).embeddings.create(model="e", input=inputs, encoding_format="float")
    texts = [inputs] if isinstance(inputs, str) else inputs
    tokens = sum(estimate(text) for text in texts)
    assert (answer.usage.prompt_tokens, answer.usage.total_tokens) == (tokens, tokens)


def test_paced_streams_report_it_too(m: MockBuilder, server: MockServer) -> None:
    """A mock with ``timing`` writes its stream event by event: the usage is written in there as
    well, in SSE events and in Bedrock's binary frames (whose lengths and checksums change)."""
    m.openai_chat().with_timing(chunk_interval_ms=1).reply("One two three.")
    m.bedrock().with_timing(chunk_interval_ms=1).reply("One two three.")
    stream = openai_client(server).chat.completions.create(
        model="g",
        messages=[{"role": "user", "content": LONG}],
        stream=True,
        stream_options={"include_usage": True},
    )
    assert [chunk.usage.prompt_tokens for chunk in stream if chunk.usage is not None] == [estimate(LONG)]
    client = bedrock_runtime(server)
    for text in ("Hi", LONG):
        events = client.converse_stream(modelId="m", messages=[{"role": "user", "content": [{"text": text}]}])
        metadata = [
            event["metadata"]["usage"]["inputTokens"] for event in events["stream"] if "metadata" in event
        ]
        assert metadata == [estimate(text)]


def test_a_reply_function_answer_reports_the_prompt_estimate_too(m: MockBuilder, server: MockServer) -> None:
    """An answer prepared per request from a reply function is rendered as a static one is."""
    m.anthropic_messages().reply_with(lambda request: "The northern one.")
    client = anthropic_client(server)
    ask: Any = {
        "model": "claude",
        "system": "You plan routes.",
        "messages": [{"role": "user", "content": LONG}],
    }
    counted = client.messages.count_tokens(**ask).input_tokens
    assert client.messages.create(max_tokens=64, **ask).usage.input_tokens == counted
    with client.messages.stream(max_tokens=64, **ask) as stream:
        assert stream.get_final_message().usage.input_tokens == counted
