"""Replicas on one store answer as one server would: for random mocks with ``times`` and scenarios
and random interleavings of requests over three replicas (each its own runtime, sharing a real
redis-server), the answers are those the single-process runtime gives for some serial order.

Requests sent one after another, whichever replica gets each, must get exactly the single-process
answers in that order. Requests sent at once are all the same request, so every serial order of
them gives the same answers, and the replicas' answers must be those as a multiset."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockllm import Config, MockServer

from ..redis_store import RedisStore
from .support import openai_client, server_settings

REPLICAS = 3
STATES = ("Started", "a", "b")


@st.composite
def stateful_mocks(draw: st.DrawFn) -> dict[str, Any]:
    """Up to four mocks on one question, each with a ``times`` or a step of one scenario (or both),
    then a stateless catch-all."""
    mocks = []
    for i in range(draw(st.integers(1, 4))):
        mock: dict[str, Any] = {
            "name": f"mock-{i}",
            "match": {"match_type": "contains", "message": {"content": "q"}},
            "response": {"choices": [{"message": {"content": f"mock-{i}"}}]},
        }
        times = draw(st.none() | st.integers(1, 3))
        if times is not None:
            mock["times"] = times
        if times is None or draw(st.booleans()):
            mock["scenario"] = "s"
            required, new = draw(st.none() | st.sampled_from(STATES)), draw(st.sampled_from(STATES))
            if required is not None:
                mock["required_state"] = required
            mock["new_state"] = new
        mocks.append(mock)
    fallback = {"name": "fallback", "match": {"match_type": "contains", "message": {"content": "q"}}}
    mocks.append({**fallback, "response": {"choices": [{"message": {"content": "fallback"}}]}})
    return {"openai": mocks}


@pytest.fixture
def servers(redis_store: RedisStore) -> Iterator[tuple[list[MockServer], MockServer]]:
    """Three replicas on the store and a reference server with the runtime in its process."""
    replicas = [MockServer(state=redis_store.url).start_in_thread() for _ in range(REPLICAS)]
    reference = MockServer().start_in_thread()
    try:
        yield replicas, reference
    finally:
        for server in [*replicas, reference]:
            server.stop_thread()


def ask(client: openai.OpenAI) -> str:
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "q"}])
    return reply.choices[0].message.content or ""


@server_settings(share=3)
@given(
    config=stateful_mocks(),
    route=st.lists(st.integers(0, REPLICAS - 1), min_size=1, max_size=8),
    together=st.integers(2, 8),
)
def test_replicas_answer_as_one_process_would_in_some_serial_order(
    servers: tuple[list[MockServer], MockServer], config: dict[str, Any], route: list[int], together: int
) -> None:
    replicas, reference = servers
    served = Config.model_validate(config)
    for server in [*replicas, reference]:
        server.set_config(served)
    replicas[0].reset()  # the store's counts and states, for every replica
    reference.reset()
    clients = [openai_client(server) for server in replicas]
    expected = openai_client(reference)

    # One after another: exactly the single-process answers, whichever replica answers.
    assert [ask(clients[i]) for i in route] == [ask(expected) for _ in route]

    # At once, spread over the replicas: the answers of the next requests, in some order.
    with ThreadPoolExecutor(together) as pool:
        answers = list(pool.map(lambda i: ask(clients[i % REPLICAS]), range(together)))
    assert Counter(answers) == Counter(ask(expected) for _ in range(together))
