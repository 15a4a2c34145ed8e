""" "Mock this": for a request no mock matched, a mock that matches it, as builder code and as the
config's JSON, ready to paste into a test or a config file (the trace viewer shows them).

The match is the one the recorder writes for a request it forwards (the last message or the input,
exactly, and the turn), so a suggestion and a recording of the same request agree. The builder code
is not only text: it is run here, and the JSON is what it builds, so the two cannot differ.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import orjson

from .apis import API_BY_KEY
from .builders import mock
from .builders._values import BuilderError

__all__ = ["MockSuggestion", "suggest_mock"]

PLACEHOLDER_TEXT = "The answer the agent should get."
PLACEHOLDER_VECTOR = (1.0, 0.0, 0.0)


@dataclass(frozen=True)
class MockSuggestion:
    builder: str
    """Python code that registers the mock on ``mocks`` (a `mock()` builder, or the fixture)."""
    config: dict[str, Any]
    """The config document holding the mock, in the config's own JSON format."""

    def as_json(self) -> dict[str, Any]:
        return {"builder": self.builder, "config": self.config}


Step = tuple[str, tuple[Any, ...], dict[str, Any]]


def suggest_mock(api: str, body: Any) -> MockSuggestion:
    """A mock of API ``api`` (its config key) that matches the request ``body`` (parsed JSON).

    Raises ValueError when there is none to suggest: an unknown API, a body that is not a JSON
    object, or one the builder cannot describe."""
    if api not in API_BY_KEY:
        raise ValueError(f"unknown api {api!r}")
    if not isinstance(body, dict):
        raise ValueError("the request has no JSON object body to match")
    from .server.registry import ADAPTERS

    adapter = ADAPTERS[API_BY_KEY[api].key]
    match = adapter.recorded_match(body, "exact")
    verb = API_BY_KEY[api].module
    # An API whose answers are vectors (the embeddings APIs) is answered with a vector.
    answer: Any = list(PLACEHOLDER_VECTOR) if adapter.vectors is not None else PLACEHOLDER_TEXT
    steps = _steps(verb, match, answer)
    builder = mock()
    try:
        chain: Any = getattr(builder, verb)()
        for method, args, kwargs in steps:
            chain = getattr(chain, method)(*args, **kwargs)
    except (BuilderError, TypeError) as exc:
        raise ValueError(f"the builder cannot describe this request: {exc}") from None
    config = orjson.loads(builder.to_json(indent=False))
    return MockSuggestion(_code(verb, steps), config)


def _steps(verb: str, match: dict[str, Any], answer: Any) -> list[Step]:
    steps: list[Step] = []
    message = match.get("message")
    if isinstance(message, dict):
        known = _keywords(getattr(mock(), verb)().when_last_message)
        unknown = sorted(set(message) - known)
        if unknown:
            raise ValueError(f"the builder's when_last_message() takes no {', '.join(unknown)}")
        steps.append(("when_last_message", (), dict(message)))
    if "input" in match and match["input"] is not None:
        steps.append(("when_input", (match["input"],), {}))
    if isinstance(match.get("turn"), int):
        steps.append(("when_turn", (match["turn"],), {}))
    steps.append(("reply", (answer,), {}))
    return steps


def _keywords(method: Any) -> set[str]:
    return {
        name
        for name, parameter in inspect.signature(method).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "contains"
    }


def _code(verb: str, steps: list[Step]) -> str:
    lines = [
        "from mockllm import mock",
        "",
        "mocks = mock()  # or the mockllm fixture",
        "(",
        f"    mocks.{verb}()",
    ]
    for method, args, kwargs in steps:
        shown = [repr(arg) for arg in args] + [f"{name}={value!r}" for name, value in kwargs.items()]
        lines.append(f"    .{method}({', '.join(shown)})")
    lines.append(")")
    return "\n".join(lines) + "\n"
