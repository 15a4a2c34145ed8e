"""Azure OpenAI: ``openai.AzureOpenAI`` / ``AsyncAzureOpenAI`` and Azure's v1 API reach the OpenAI
mocks through Azure's routes, with a deployment standing for the model."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from typing import Any, Literal

import httpx2 as httpx
import openai
import pytest

from mockllm import Config, MockServer, mock
from mockllm.builders import MockBuilder
from mockllm.server.journal import RecordedRequest

API_VERSION = "2024-10-21"
QUESTION = [{"role": "user", "content": "What is the weather?"}]

CONFIG = Config.from_json(
    """
{
  "openai": [
    {
      "name": "prod-deployment",
      "match": {
        "match_type": "contains",
        "message": {"role": "user", "content": "weather"},
        "model": {"value": "prod-chat"}
      },
      "response": {"choices": [{"message": {"content": "Sunny, says prod."}}]}
    },
    {
      "name": "any-model",
      "match": {"match_type": "contains", "message": {"role": "user", "content": "weather"}},
      "response": {"choices": [{"message": {"content": "Sunny."}}]}
    }
  ],
  "openai_response": [
    {
      "match": {"match_type": "contains", "input": "weather"},
      "response": {
        "output": [
          {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Sunny."}]}
        ]
      }
    }
  ],
  "openai_embeddings": [
    {
      "match": {"match_type": "contains", "input": "weather"},
      "response": {"data": [{"embedding": [0.5, -0.25, 1.0]}]}
    }
  ]
}
"""
)

Style = Literal["deployment", "endpoint", "v1"]
STYLES: tuple[Style, ...] = ("deployment", "endpoint", "v1")


def client(server: MockServer, style: Style, **kwargs: Any) -> openai.OpenAI:
    """``deployment``: AzureOpenAI with ``azure_deployment``; ``endpoint``: without (the SDK puts the
    body's model in the path); ``v1``: Azure's v1 API through the plain OpenAI client."""
    if style == "v1":
        return openai.OpenAI(base_url=f"{server.azure_endpoint}/openai/v1/", api_key="key", max_retries=0)
    deployment = {"azure_deployment": "prod-chat"} if style == "deployment" else {}
    return openai.AzureOpenAI(
        azure_endpoint=server.azure_endpoint,
        api_version=API_VERSION,
        max_retries=0,
        **{"api_key": "azure-key", **deployment, **kwargs},
    )


def async_client(server: MockServer, style: Style) -> openai.AsyncOpenAI:
    if style == "v1":
        return openai.AsyncOpenAI(
            base_url=f"{server.azure_endpoint}/openai/v1/", api_key="key", max_retries=0
        )
    deployment = {"azure_deployment": "prod-chat"} if style == "deployment" else {}
    return openai.AsyncAzureOpenAI(
        azure_endpoint=server.azure_endpoint,
        api_version=API_VERSION,
        api_key="k",
        max_retries=0,
        **deployment,
    )


@pytest.fixture(scope="module")
def json_server() -> Iterator[MockServer]:
    with MockServer(CONFIG) as server:
        yield server


@pytest.fixture
def served(json_server: MockServer) -> MockServer:
    json_server.reset()
    return json_server


def last(server: MockServer) -> RecordedRequest:
    *_, request = server.journal
    return request


def floats(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


# --- what the SDK sends, and where it lands ----------------------------------------------------


def test_sdk_requests_land_on_azure_routes_as_the_openai_apis(served: MockServer) -> None:
    azure = client(served, "deployment")
    azure.chat.completions.create(model="gpt-4o", messages=QUESTION)
    azure.responses.create(model="gpt-4o", input="weather?")
    azure.embeddings.create(model="text-embedding-3-small", input="weather")
    client(served, "endpoint").embeddings.create(model="embed-prod", input="weather")
    v1 = client(served, "v1")
    v1.chat.completions.create(model="gpt-4o", messages=QUESTION)
    seen = [(r.path, r.api, r.status, r.body["model"], "api-key" in r.headers) for r in served.journal]
    assert seen == [
        ("/openai/deployments/prod-chat/chat/completions", "openai", 200, "prod-chat", True),
        ("/openai/responses", "openai_response", 200, "gpt-4o", True),
        # The body names another model: the deployment is the model Azure serves.
        ("/openai/deployments/prod-chat/embeddings", "openai_embeddings", 200, "prod-chat", True),
        ("/openai/deployments/embed-prod/embeddings", "openai_embeddings", 200, "embed-prod", True),
        ("/openai/v1/chat/completions", "openai", 200, "gpt-4o", False),
    ]
    assert last(served).headers["authorization"] == "Bearer key"


# --- JSON config, sync clients -----------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_chat(served: MockServer, style: Style) -> None:
    # On a deployment route the deployment is the model: it selects the mock and is echoed.
    text, model = ("Sunny, says prod.", "prod-chat") if style == "deployment" else ("Sunny.", "gpt-4o")
    azure = client(served, style)
    reply = azure.chat.completions.create(model="gpt-4o", messages=QUESTION)
    assert (reply.choices[0].message.content, reply.model) == (text, model)

    with azure.chat.completions.stream(
        model="gpt-4o", messages=QUESTION, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert (final.choices[0].message.content, final.model) == (text, model)
    assert final.usage is not None and final.usage.completion_tokens > 0

    chunks = list(azure.chat.completions.create(model="gpt-4o", messages=QUESTION, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert {c.model for c in chunks} == {model}


@pytest.mark.parametrize("style", STYLES)
def test_responses(served: MockServer, style: Style) -> None:
    # AzureOpenAI sends Responses to /openai/responses whatever the deployment: the body's model.
    azure = client(served, style)
    answer = azure.responses.create(model="gpt-4o", input="How is the weather?")
    assert (answer.output_text, answer.model) == ("Sunny.", "gpt-4o")
    with azure.responses.stream(model="gpt-4o", input="How is the weather?") as stream:
        events = [event.type for event in stream]
        final = stream.get_final_response()
    assert events[0] == "response.created" and events[-1] == "response.completed"
    assert (final.output_text, final.model) == ("Sunny.", "gpt-4o")


@pytest.mark.parametrize("style", STYLES)
def test_embeddings(served: MockServer, style: Style) -> None:
    model = "prod-chat" if style == "deployment" else "text-embedding-3-small"
    azure = client(served, style)
    vectors = azure.embeddings.create(model="text-embedding-3-small", input="weather")  # base64 on the wire
    assert (vectors.data[0].embedding, vectors.model) == ([0.5, -0.25, 1.0], model)
    assert last(served).body.get("encoding_format") == "base64"
    as_floats = azure.embeddings.create(model="m", input=["weather"], encoding_format="float")
    assert as_floats.data[0].embedding == [0.5, -0.25, 1.0]


def test_raw_base64_answer_on_a_deployment_route(served: MockServer) -> None:
    answer = httpx.post(
        f"{served.url}/openai/deployments/embed/embeddings?api-version={API_VERSION}",
        headers={"api-key": "k"},
        json={"input": "weather", "encoding_format": "base64"},
    )
    assert answer.status_code == 200
    assert answer.json()["model"] == "embed"
    assert floats(answer.json()["data"][0]["embedding"]) == [0.5, -0.25, 1.0]


def test_an_ad_token_is_sent_and_accepted_as_bearer(served: MockServer) -> None:
    azure = client(served, "endpoint", api_key=None, azure_ad_token="ad-token")
    reply = azure.chat.completions.create(model="prod-chat", messages=QUESTION)
    assert reply.choices[0].message.content == "Sunny, says prod."
    assert last(served).headers["authorization"] == "Bearer ad-token"
    assert "api-key" not in last(served).headers


def test_a_deployment_name_is_decoded(served: MockServer) -> None:
    azure = openai.AzureOpenAI(
        azure_endpoint=served.azure_endpoint, api_version=API_VERSION, api_key="k", max_retries=0
    )
    reply = azure.chat.completions.create(model="gpt 4o/mini", messages=QUESTION)
    assert reply.model == "gpt 4o/mini"
    assert last(served).path == "/openai/deployments/gpt%204o%2Fmini/chat/completions"


# --- errors in the OpenAI shape ----------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_missing_api_key_is_a_401(served: MockServer, style: Style) -> None:
    no_key = {"api-key": openai.Omit(), "Authorization": openai.Omit()}  # the SDK sends neither
    with pytest.raises(openai.AuthenticationError) as caught:
        client(served, style).chat.completions.create(model="gpt-4o", messages=QUESTION, extra_headers=no_key)
    assert caught.value.status_code == 401
    assert caught.value.type == "authentication_error"
    assert "'api-key' or 'Authorization: Bearer'" in caught.value.message
    assert last(served).status == 401 and last(served).api == "openai"


def test_the_plain_openai_route_still_wants_a_bearer(served: MockServer) -> None:
    answer = httpx.post(f"{served.url}/v1/chat/completions", headers={"api-key": "k"}, json={})
    assert answer.status_code == 401
    assert "'Authorization: Bearer <any key>'" in answer.json()["error"]["message"]


def test_an_unmatched_request_is_a_404_naming_the_azure_route(served: MockServer) -> None:
    azure = client(served, "deployment")
    with pytest.raises(openai.NotFoundError) as caught:
        azure.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hello"}])
    message = caught.value.message
    assert "No mock matched POST /openai/deployments/prod-chat/chat/completions" in message
    assert "prod-deployment" in message
    assert served.journal.unmatched[-1].api == "openai"


@pytest.mark.parametrize(
    ("route", "v1_route"),
    [
        ("deployments/d/chat/completions", "chat/completions"),
        ("responses", "responses"),
        ("embeddings", "embeddings"),
    ],
)
def test_a_missing_api_version_is_azures_404(served: MockServer, route: str, v1_route: str) -> None:
    answer = httpx.post(f"{served.url}/openai/{route}", headers={"api-key": "k"}, json={"model": "m"})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["type"] == "not_found_error" and error["param"] == "api-version"
    assert error["message"].startswith("Resource not found:")
    # The v1 API takes none.
    assert httpx.post(f"{served.url}/openai/v1/{v1_route}", json={}).status_code == 401


def test_bad_input_is_a_400_in_the_openai_shape(served: MockServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(served, "deployment").chat.completions.create(model="gpt-4o", messages=[])
    assert caught.value.param == "messages"
    too_long = httpx.post(
        f"{served.url}/openai/deployments/{'d' * 300}/chat/completions?api-version=1",
        headers={"api-key": "k"},
        json={"messages": QUESTION},
    )
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "model"


def test_unknown_routes_list_the_azure_routes(served: MockServer) -> None:
    answer = httpx.post(f"{served.url}/openai/deployments/d/completions?api-version=1", json={})
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    for route in (
        "/openai/deployments/{deployment}/chat/completions",
        "/openai/responses",
        "/openai/v1/embeddings",
    ):
        assert f"POST {route}" in message


# --- builder, async clients --------------------------------------------------------------------


def deployments() -> MockBuilder:
    m = mock()
    m.openai_chat().when_model("prod-chat").when_last_message_contains("weather").reply("Sunny, says prod.")
    m.openai_chat().when_model("gpt-4o").reply("gpt-4o answers")
    m.openai_responses().when_model("gpt-4o").when_input_contains("weather").reply(
        "Sunny.", reasoning="Look up."
    )
    m.openai_embeddings().when_model("prod-chat").reply([0.25, 0.5])
    m.openai_embeddings().reply([1.0, 2.0], model="text-embedding-3-small")
    return m


@pytest.mark.parametrize("style", STYLES)
async def test_async_clients_with_the_builder(style: Style) -> None:
    async with MockServer(deployments()) as server, async_client(server, style) as azure:
        on_deployment = style == "deployment"
        expected = "Sunny, says prod." if on_deployment else "gpt-4o answers"
        reply = await azure.chat.completions.create(model="gpt-4o", messages=QUESTION)
        assert reply.choices[0].message.content == expected
        async with azure.chat.completions.stream(model="gpt-4o", messages=QUESTION) as chat_stream:
            final = await chat_stream.get_final_completion()
        assert final.choices[0].message.content == expected
        assert final.model == ("prod-chat" if on_deployment else "gpt-4o")

        answer = await azure.responses.create(model="gpt-4o", input="weather?")
        assert answer.output_text == "Sunny."
        async with azure.responses.stream(model="gpt-4o", input="weather?") as response_stream:
            done = await response_stream.get_final_response()
        assert done.output_text == "Sunny." and done.output[0].type == "reasoning"

        vectors = await azure.embeddings.create(model="text-embedding-3-small", input="anything")
        expected_vector = [0.25, 0.5] if on_deployment else [1.0, 2.0]
        assert vectors.data[0].embedding == expected_vector
        assert [r.status for r in server.journal] == [200] * 5


async def test_async_unmatched_request_raises_not_found() -> None:
    async with (
        MockServer(deployments()) as server,
        openai.AsyncAzureOpenAI(
            azure_endpoint=server.azure_endpoint,
            azure_deployment="staging",
            api_version=API_VERSION,
            api_key="k",
            max_retries=0,
        ) as azure,
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            await azure.chat.completions.create(model="gpt-4o", messages=QUESTION)
        assert 'wants exact "prod-chat"' in caught.value.message
