"""What the benchmarks measure: the request every server gets, the workloads, and the
mocks each server is configured with for them (mockllm's config, aimock's fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

PATH = "/v1/chat/completions"
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer test"}
MODEL = "gpt-mock"
MANY_MOCKS = 10_000
# The streamed reply: 500 five-character words ("w000 " ... "w499 "). Each word is
# one "token"; aimock and the bare ceiling are told to emit one word per event.
STREAM_WORDS = 500
STREAM_CHUNK_CHARS = 5
STREAM_REPLY = "".join(f"w{i:03d} " for i in range(STREAM_WORDS))

MatchType = Literal["exact", "contains"]


@dataclass(frozen=True)
class Mock:
    """One configured answer: the text it matches on and the reply it gives."""

    needle: str
    reply: str


def chat_request(user_text: str, stream: bool = False) -> bytes:
    """The body of a chat completion request with one user message."""
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": user_text}],
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    match_type: MatchType
    mocks: tuple[Mock, ...]
    user_text: str
    stream: bool = False
    mock_keys: tuple[tuple[str, Any], ...] = ()
    """Keys added to each of mockllm's mocks (aimock has no counterpart and gets the plain mocks)."""

    @property
    def expected_reply(self) -> str:
        # Every workload is built so that only the last mock matches the request.
        return self.mocks[-1].reply

    def request_body(self) -> bytes:
        return chat_request(self.user_text, self.stream)


def build_workloads() -> list[Workload]:
    # Zero-padded numbers keep every "hello NNNN" the same length, so none is a
    # substring of another; aimock's userMessage is a substring match and would
    # otherwise answer "hello 9999" with the mock for "hello 9".
    exact_many = tuple(Mock(f"hello {i:04d}", f"reply {i:04d}") for i in range(MANY_MOCKS))
    # Needles are fenced by "needle-" and "-x" so that only the last one occurs
    # in the request text.
    contains_many = tuple(Mock(f"needle-{i:04d}-x", f"reply {i:04d}") for i in range(MANY_MOCKS))
    last = MANY_MOCKS - 1
    workloads = [
        Workload("one", "1 mock, non-streaming", "exact", (Mock("hello 9999", "Hi there"),), "hello 9999"),
        Workload(
            "exact10k", f"{MANY_MOCKS:,} mocks, exact, last matches", "exact", exact_many, f"hello {last:04d}"
        ),
        Workload(
            "contains10k",
            f"{MANY_MOCKS:,} mocks, contains, last matches",
            "contains",
            contains_many,
            f"please find needle-{last:04d}-x in here",
        ),
        Workload(
            "stateful",
            "1 mock with times, priority and a scenario",
            "exact",
            (Mock("hello 9999", "Hi there"),),
            "hello 9999",
            # Every request counts a call and checks the state: the runtime's whole cost.
            mock_keys=(
                ("times", 1_000_000_000),
                ("priority", 1),
                ("scenario", "bench"),
                ("required_state", "Started"),
            ),
        ),
        Workload(
            "stream",
            f"streaming, ~{STREAM_WORDS} tokens",
            "exact",
            (Mock("hello 9999", STREAM_REPLY),),
            "hello 9999",
            stream=True,
        ),
    ]
    for workload in workloads:
        # Under either server's rules (equality, or aimock's substring test) the
        # last mock must be the only one that matches, or the rows measure nothing.
        hits = [m for m in workload.mocks if m.needle in workload.user_text]
        if hits != [workload.mocks[-1]]:
            raise RuntimeError(f"workload {workload.key}: {len(hits)} mocks match its request")
    return workloads


def mockllm_mock(
    index: int, match_type: MatchType, mock: Mock, keys: tuple[tuple[str, Any], ...] = ()
) -> dict[str, Any]:
    """One mock of mockllm's kagent-compatible JSON config, answering with a chat.completion."""
    return {
        "name": f"m{index}",
        **dict(keys),
        "match": {
            "match_type": match_type,
            "message": {"role": "user", "content": mock.needle},
        },
        "response": {
            "id": f"chatcmpl-{index}",
            "object": "chat.completion",
            "created": 1700000000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": mock.reply},
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        },
    }


def mockllm_config(workload: Workload) -> dict[str, Any]:
    """The kagent-compatible JSON config for mockllm."""
    mocks = [
        mockllm_mock(i, workload.match_type, mock, workload.mock_keys)
        for i, mock in enumerate(workload.mocks)
    ]
    return {"openai": mocks}


def aimock_fixtures(workload: Workload) -> dict[str, Any]:
    """aimock's fixture file. ``userMessage`` is always a substring test on the
    text of the last user message; aimock has no exact mode for file fixtures."""
    return {
        "fixtures": [
            {"match": {"userMessage": mock.needle}, "response": {"content": mock.reply}}
            for mock in workload.mocks
        ]
    }
