"""Embeddings as agent frameworks send them: token ids (LangChain's default), one embedding per
input, and vectors made from each input's text (``vectors_from_text``), through the official SDK,
sync and async, from JSON configs and from the builder."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from mockllm import Config, MockServer, mock, text_vector
from mockllm.builders import BuilderError
from mockllm.cli import main
from mockllm.config import MAX_VECTOR_DIMENSIONS
from mockllm.openai.embeddings import MAX_INPUTS

from .conftest import ServeFn, async_openai_client, openai_client

CATCH_ALL = {"match_type": "contains", "input": ""}
TOKENS = [[23449, 3941]]  # what LangChain's OpenAIEmbeddings() sends for one document


def embed(server: MockServer, use_async: bool, **kwargs: Any) -> Any:
    """``client.embeddings.create(**kwargs)`` with the sync or the async client."""
    kwargs.setdefault("model", "text-embedding-3-small")
    if not use_async:
        return openai_client(server).embeddings.create(**kwargs)

    async def run() -> Any:
        async with async_openai_client(server) as client:
            return await client.embeddings.create(**kwargs)

    return asyncio.run(run())


def vectors(answer: Any) -> list[list[float]]:
    assert [item.index for item in answer.data] == list(range(len(answer.data)))
    return [item.embedding for item in answer.data]


def json_config(*mocks: dict[str, Any]) -> Config:
    return Config.from_json(json.dumps({"openai_embeddings": list(mocks)}))


def both_ways(serve: ServeFn, json_mock: dict[str, Any], build: Callable[[Any], object]) -> list[MockServer]:
    """A server from a JSON mock, and one from the builder chain that should be the same mock."""
    m = mock()
    build(m.openai_embeddings())
    assert m.build().openai_embeddings[0].match == json_config(json_mock).openai_embeddings[0].match
    return [serve(json_config(json_mock)), serve(m.build())]


# --- token ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("value", [TOKENS, [23449, 3941], [[1], [2, 3]], "text", ["a", "b"]])
def test_a_catch_all_answers_any_input_token_ids_included(
    serve: ServeFn, use_async: bool, value: Any
) -> None:
    json_mock = {"match": CATCH_ALL, "response": {"data": [{"embedding": [0.25, -0.5]}]}}
    for server in both_ways(serve, json_mock, lambda e: e.reply([0.25, -0.5])):
        answer = embed(server, use_async, input=value)  # base64, the SDK's default
        count = len(value) if isinstance(value, list) and not isinstance(value[0], int) else 1
        assert vectors(answer) == [[0.25, -0.5]] * count


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_exact_rules_compare_token_arrays(serve: ServeFn, use_async: bool) -> None:
    json_mock = {
        "match": {"match_type": "exact", "input": TOKENS},
        "response": {"data": [{"embedding": [1.0]}]},
    }
    for server in both_ways(serve, json_mock, lambda e: e.when_input(TOKENS).reply([1.0])):
        assert vectors(embed(server, use_async, input=TOKENS, encoding_format="float")) == [[1.0]]
        with pytest.raises(openai.NotFoundError, match=r"input \[\[23449,3942\]\] differs"):
            embed(server, use_async, input=[[23449, 3942]])


# --- one embedding per input --------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("encoding", ["base64", "float", None])
@pytest.mark.parametrize(
    ("configured", "texts", "served"),
    [
        ([[0.5]], ["a", "b", "c"], [[0.5], [0.5], [0.5]]),  # one vector answers every input
        ([[1.0], [2.0]], ["a", "b"], [[1.0], [2.0]]),  # one per input, in order
        ([[1.0], [2.0], [3.0]], ["a", "b"], [[1.0], [2.0]]),  # more vectors than inputs: the first
        ([[1.0], [2.0]], ["a", "b", "c"], [[1.0], [2.0], [1.0]]),  # fewer: taken again in turn
    ],
)
def test_one_embedding_per_input_with_its_index(
    serve: ServeFn,
    use_async: bool,
    encoding: str | None,
    configured: list[list[float]],
    texts: list[str],
    served: list[list[float]],
) -> None:
    data = [{"embedding": vector} for vector in configured]
    json_mock = {"match": CATCH_ALL, "response": {"object": "list", "data": data}}
    for server in both_ways(serve, json_mock, lambda e: e.reply_vectors(configured)):
        kwargs: Any = {} if encoding is None else {"encoding_format": encoding}
        answer = embed(server, use_async, input=texts, **kwargs)
        got = vectors(answer)
        if encoding == "base64":  # asked for explicitly, the SDK hands over the base64 text
            assert all(isinstance(vector, str) for vector in got)
            assert len(got) == len(served)
        else:
            assert got == served


def test_a_one_vector_answer_is_one_item_per_document_for_a_vector_store(serve: ServeFn) -> None:
    # What LangChain's embed_documents() does: one request for a batch, one vector per document.
    m = mock()
    m.openai_embeddings().reply([0.1, 0.2, 0.3])
    documents = [f"document {i}" for i in range(7)]
    answer = openai_client(serve(m.build())).embeddings.create(model="m", input=documents)
    assert len(answer.data) == len(documents)


# --- vectors_from_text --------------------------------------------------------------------------

VECTORS_MOCK = {"match": CATCH_ALL, "vectors_from_text": {"dimensions": 16, "seed": 3}}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_vectors_from_text_are_unit_length_equal_for_equal_inputs(serve: ServeFn, use_async: bool) -> None:
    for server in both_ways(serve, VECTORS_MOCK, lambda e: e.reply_vectors_from_text(16, seed=3)):
        texts = ["the cat sat", "a dog ran", "the cat sat", "The cat sat"]
        answer = embed(server, use_async, input=texts)  # base64, decoded by the SDK
        got = vectors(answer)
        assert all(len(vector) == 16 and math.isclose(math.hypot(*vector), 1, rel_tol=1e-6) for vector in got)
        assert got[0] == got[2]
        assert len({tuple(vector) for vector in got}) == 3
        assert got == [text_vector(text, 16, seed=3) for text in texts]
        floats = embed(server, use_async, input=texts, encoding_format="float")
        assert vectors(floats) == got  # the same numbers in either encoding
        assert answer.usage.prompt_tokens > 0


def test_vectors_from_text_are_the_same_on_every_run_and_machine(serve: ServeFn) -> None:
    # Pinned numbers: a vector must not depend on the process (hash randomisation) or the platform.
    assert text_vector("hello", 4) == [
        -0.2018231600522995,
        -0.6229124665260315,
        0.6411658525466919,
        -0.40019214153289795,
    ]
    assert text_vector([23449, 3941], 3, seed=7) == [
        -0.20696912705898285,
        0.9127030372619629,
        -0.35233068466186523,
    ]
    server = serve(json_config({"match": CATCH_ALL, "vectors_from_text": {"dimensions": 4}}))
    assert vectors(embed(server, False, input="hello")) == [text_vector("hello", 4)]


def test_vectors_from_text_of_token_ids_and_other_seeds(serve: ServeFn) -> None:
    plain = {"match": CATCH_ALL, "vectors_from_text": {"dimensions": 8}}
    other = {
        "match": {**CATCH_ALL, "model": {"value": "other"}},
        "vectors_from_text": {"dimensions": 8, "seed": 1},
    }
    server = serve(json_config(other, plain))
    got = vectors(embed(server, False, input=[[1, 2], [3], [1, 2]]))
    assert got[0] == got[2] != got[1]
    assert got[0] == text_vector([1, 2], 8)
    reseeded = vectors(embed(server, False, model="other", input=[[1, 2]]))
    assert reseeded == [text_vector([1, 2], 8, seed=1)] != [got[0]]
    answer = embed(server, False, input=[[1, 2], [3]])
    assert answer.usage.prompt_tokens == 3  # one per token id


def test_a_request_s_dimensions_give_the_shorter_vector_at_unit_length(serve: ServeFn) -> None:
    server = serve(json_config(VECTORS_MOCK))
    short = vectors(embed(server, False, input="hello", dimensions=5))[0]
    assert short == text_vector("hello", 5, seed=3)
    assert math.isclose(math.hypot(*short), 1, rel_tol=1e-6)
    longer = text_vector("hello", 16, seed=3)
    scale = math.hypot(*longer[:5])
    assert all(math.isclose(a, b / scale, rel_tol=1e-5) for a, b in zip(short, longer[:5], strict=True))


def test_vectors_from_text_with_timing(serve: ServeFn) -> None:
    server = serve(json_config({**VECTORS_MOCK, "timing": {"ttft_ms": 1}}))
    assert vectors(embed(server, False, input=["x", "y"])) == [text_vector(t, 16, seed=3) for t in "xy"]


def test_requests_the_real_api_refuses_get_a_400(serve: ServeFn) -> None:
    server = serve(json_config(VECTORS_MOCK))
    with pytest.raises(openai.BadRequestError, match="'dimensions' must be an integer from 1 to"):
        embed(server, False, input="x", dimensions=MAX_VECTOR_DIMENSIONS + 1)
    assert len(vectors(embed(server, False, input="x", dimensions=MAX_VECTOR_DIMENSIONS))[0]) == 8192
    with pytest.raises(openai.BadRequestError, match=f"the limit is {MAX_INPUTS}"):
        embed(server, False, input=["x"] * (MAX_INPUTS + 1))
    assert len(embed(server, False, input=["x"] * MAX_INPUTS).data) == MAX_INPUTS


@pytest.mark.parametrize(
    ("mock_json", "problem"),
    [
        (
            {"match": CATCH_ALL, "vectors_from_text": {"dimensions": 0}},
            "$.openai_embeddings[0].vectors_from_text.dimensions: Input should be greater than or equal to 1",
        ),
        (
            {"match": CATCH_ALL, "vectors_from_text": {"dimensions": 8193}},
            "$.openai_embeddings[0].vectors_from_text.dimensions: Input should be less than or equal to 8192",
        ),
        (
            {"match": CATCH_ALL, "vectors_from_text": {"dimensions": "8"}},
            "$.openai_embeddings[0].vectors_from_text.dimensions: Input should be a valid integer",
        ),
        (
            {"match": CATCH_ALL, "vectors_from_text": {"seed": 1}},
            '$.openai_embeddings[0].vectors_from_text.dimensions: missing required key "dimensions"',
        ),
        (
            {"match": CATCH_ALL, "vectors_from_text": {"dimensions": 8, "sed": 1}},
            '$.openai_embeddings[0].vectors_from_text.sed: unknown key "sed": did you mean "seed"?',
        ),
        (
            {"match": CATCH_ALL, "vectors_from_text": {"dimensions": 8}, "response": {"data": []}},
            '$.openai_embeddings[0]: both "response" and "vectors_from_text": a mock answers with one',
        ),
        (
            {"match": CATCH_ALL},
            '$.openai_embeddings[0]: missing required key "response" (or "error", to answer with an HTTP '
            'error, or "vectors_from_text"',
        ),
    ],
)
def test_validate_names_the_path_of_a_bad_vectors_from_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mock_json: dict[str, Any], problem: str
) -> None:
    path = tmp_path / "mocks.json"
    path.write_text(json.dumps({"openai_embeddings": [mock_json]}))
    assert main(["validate", str(path)]) == 1
    assert f"{path}: {problem}" in capsys.readouterr().err


@pytest.mark.parametrize(("dimensions", "seed"), [(0, 0), (8, -1), (True, 0), (8, 1.5)])
def test_the_builder_refuses_bad_numbers_where_they_are_given(dimensions: Any, seed: Any) -> None:
    with pytest.raises(BuilderError, match=r"reply_vectors_from_text\((dimensions|seed)=\)"):
        mock().openai_embeddings().reply_vectors_from_text(dimensions, seed=seed)


def test_vectors_from_text_round_trips_through_json() -> None:
    m = mock()
    m.openai_embeddings().when_input_contains("x").reply_vectors_from_text(32, seed=9)
    assert json.loads(m.to_json())["openai_embeddings"][0]["vectors_from_text"] == {
        "dimensions": 32,
        "seed": 9,
    }
    assert Config.from_json(m.to_json()) == m.build()
