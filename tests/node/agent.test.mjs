// mockllm serve, driven from another language: the official OpenAI and Anthropic SDKs for Node.js
// and the admin HTTP API. The server is started by the Python test that runs this file, with the
// config exported from agent_mocks.py; MOCKLLM_URL is its base URL.
import assert from "node:assert/strict";
import { test } from "node:test";

import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

const url = process.env.MOCKLLM_URL;
assert.ok(url, "MOCKLLM_URL must be the base URL of a running mockllm serve");

const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "sk-node-secret", maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: url, apiKey: "sk-ant-node-secret", maxRetries: 0 });

async function admin(method, path, body) {
  const response = await fetch(`${url}/__mockllm${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const succeeded = ({ status }) => status >= 200 && status < 300;

const greeting = {
  anthropic: [
    {
      name: "greeting",
      match: { match_type: "contains", message: { role: "user", content: "bonjour" } },
      response: {
        id: "msg_greeting",
        type: "message",
        role: "assistant",
        model: "claude-sonnet-5",
        content: [{ type: "text", text: "Bonjour ! Comment puis-je aider ?" }],
        stop_reason: "end_turn",
        usage: { input_tokens: 5, output_tokens: 7 },
      },
    },
  ],
};

test("a test suite in Node.js scripts, drives and verifies mockllm serve", async (t) => {
  assert.ok(succeeded(await admin("POST", "/reset")));

  await t.test("the exported config answers a chat tool loop", async () => {
    const messages = [{ role: "user", content: "What is the weather in Paris?" }];
    const tools = [
      {
        type: "function",
        function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
      },
    ];
    const first = await openai.chat.completions.create({ model: "gpt-4o", messages, tools });
    const call = first.choices[0].message.tool_calls[0];
    assert.equal(call.id, "call_paris");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" });

    messages.push(first.choices[0].message, { role: "tool", tool_call_id: call.id, content: "Sunny, 24°C" });
    const stream = await openai.chat.completions.create({ model: "gpt-4o", messages, tools, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    assert.equal(text, "It is sunny in Paris.");

    const haiku = await openai.responses.create({ model: "gpt-5", input: "Write a haiku about tests" });
    assert.equal(haiku.output_text, "Tests run at dawn");
  });

  await t.test("a mock added through the admin API answers the Anthropic SDK", async () => {
    const added = await admin("POST", "/mocks", greeting);
    assert.ok(succeeded(added), JSON.stringify(added.body));

    const message = await anthropic.messages.create({
      model: "claude-sonnet-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "bonjour !" }],
    });
    assert.equal(message.content[0].text, "Bonjour ! Comment puis-je aider ?");

    const stream = anthropic.messages.stream({
      model: "claude-sonnet-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "bonjour encore" }],
    });
    const final = await stream.finalMessage();
    assert.equal(final.content[0].text, "Bonjour ! Comment puis-je aider ?");
  });

  await t.test("a bad mock is refused with its JSON path, and changes nothing", async () => {
    const refused = await admin("POST", "/mocks", { openai: [{ match: {}, response: {} }] });
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.body), /openai\[0\]/);
    assert.equal((await admin("GET", "/mocks/greeting")).status, 200);
  });

  await t.test("an unmatched request is a 404 the SDK raises, and the journal says why", async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "tell me a joke" }] }),
      (error) => error instanceof OpenAI.NotFoundError && /No mock matched/.test(error.message),
    );
  });

  await t.test("the journal and the call counts verify what was asked", async () => {
    const all = (await admin("GET", "/requests")).body.requests;
    assert.deepEqual(
      all.map((entry) => [entry.api, entry.status, entry.mock]),
      [
        ["openai", 200, "weather-call"],
        ["openai", 200, "weather-answer"],
        ["openai_response", 200, "haiku"],
        ["anthropic", 200, "greeting"],
        ["anthropic", 200, "greeting"],
        ["openai", 404, null],
      ],
    );
    const [first] = all;
    assert.equal(first.body.messages[0].content, "What is the weather in Paris?");
    assert.equal(typeof first.time, "number");
    // Credentials are never kept: the journal shows that a key was sent, not the key.
    assert.ok(!JSON.stringify(all).includes("node-secret"), "an API key leaked into the journal");
    assert.ok(all.at(-1).near_misses.length > 0);

    const anthropicOnly = (await admin("GET", "/requests?api=anthropic")).body.requests;
    assert.equal(anthropicOnly.length, 2);
    const misses = (await admin("GET", "/requests?status=404")).body.requests;
    assert.equal(misses.length, 1);

    const toolCall = await admin("GET", "/mocks/weather-call");
    assert.equal(toolCall.body.calls, 1);
    assert.equal(toolCall.body.api, "openai");
    assert.equal((await admin("GET", "/mocks/greeting")).body.calls, 2);
  });

  await t.test("reset drops the added mock, the counts and the journal", async () => {
    assert.ok(succeeded(await admin("POST", "/reset")));
    assert.deepEqual((await admin("GET", "/requests")).body.requests, []);
    assert.equal((await admin("GET", "/mocks/greeting")).status, 404);
    assert.equal((await admin("GET", "/mocks/weather-call")).body.calls, 0);
    await assert.rejects(
      anthropic.messages.create({ model: "claude-sonnet-5", max_tokens: 10, messages: [{ role: "user", content: "bonjour" }] }),
      (error) => error instanceof Anthropic.NotFoundError,
    );
  });
});
