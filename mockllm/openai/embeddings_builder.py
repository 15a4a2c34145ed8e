"""Embeddings mocks (``POST /v1/embeddings``): ``mock().openai_embeddings()``.

Verb → the fields it sets in the mock (``openai_embeddings[i]``):

- ``named(name)`` → ``name``
- ``times(n)``, ``once()``, ``in_sequence(steps)`` → ``times``; ``priority(n)`` → ``priority``
- ``in_scenario(scenario, required_state=, new_state=)`` → ``scenario``, ``required_state``,
  ``new_state``
- ``with_timing(ttft_ms=, chunk_interval_ms=, jitter_ms=, seed=)`` → ``timing.ttft_ms``,
  ``timing.chunk_interval_ms``, ``timing.jitter_ms``, ``timing.seed``
- ``with_fault(kind, after_events=)`` → ``fault.kind``, ``fault.after_events``
- ``allowing_unknown_fields()`` → ``allow_unknown_fields``
- ``with_header(name, value, match_type=)`` → ``match.headers[].name``, ``match.headers[].value``,
  ``match.headers[].match_type``
- ``when_model(value, match_type=)`` → ``match.model.value``, ``match.model.match_type``
- ``when_input_contains(text)`` → ``match.match_type``, ``match.input``
- ``when_input_matches(pattern)`` → ``match.match_type``, ``match.input``
- ``when_input_includes(texts)`` → ``match.match_type``, ``match.input``
- ``when_input(value)`` → ``match.match_type``, ``match.input``
- ``reply(vector | CreateEmbeddingResponse | dict)`` → ``response``
- ``reply_vectors(vectors)`` → ``response``
- ``reply_vectors_from_text(dimensions, seed=)`` → ``vectors_from_text.dimensions``,
  ``vectors_from_text.seed``
- ``reply_with(fn)``, ``reply_drawn(data, strategy)`` → ``reply_with`` (a Python function: no JSON
  holds it)
- ``reply_error(status, message=, type=, headers=, retry_after=)`` → ``error.status``,
  ``error.message``, ``error.type``, ``error.headers``

``when_model`` combines with the one rule on the input. A mock with no ``when_*`` verb matches every
request, token ids included. The answer holds one embedding per input: a single vector answers
every input. Vectors are served as floats, or as base64 float32 when the client asks (the SDK's
default), cut to ``dimensions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, overload

from ..builders._base import MockHandle
from ..builders._embeddings import EmbeddingsBuilder, checked_vectors
from ..builders._values import BuilderError, EmbeddingsUsage, JsonObject, json_copy, optional, sdk_object
from ..config import OpenAIEmbeddingMock

if TYPE_CHECKING:
    from openai.types import CreateEmbeddingResponse


__all__ = ["OpenAIEmbeddingsBuilder"]


class OpenAIEmbeddingsBuilder(EmbeddingsBuilder[OpenAIEmbeddingMock]):
    """An embeddings mock: at most one ``when_*`` rule on the request ``input``, any number of
    headers, then a ``reply*`` verb."""

    _API = "openai_embeddings"

    # --- the input ------------------------------------------------------------------------------------

    def when_input(self, value: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]]) -> Self:
        """The input equals ``value``: a string, a list of strings, token ids or token-id lists."""
        return self._when("when_input", "exact", json_copy(value, "input"))

    # --- replies ------------------------------------------------------------------------------------

    @overload
    def reply(
        self, vector: Sequence[float], /, *, model: str | None = None, usage: EmbeddingsUsage | None = None
    ) -> MockHandle[OpenAIEmbeddingMock]: ...

    @overload
    def reply(
        self, response: CreateEmbeddingResponse | Mapping[str, Any], /
    ) -> MockHandle[OpenAIEmbeddingMock]: ...

    def reply(
        self,
        content: Sequence[float] | CreateEmbeddingResponse | Mapping[str, Any],
        /,
        *,
        model: str | None = None,
        usage: EmbeddingsUsage | None = None,
    ) -> MockHandle[OpenAIEmbeddingMock]:
        """Answer every input with the embedding ``content`` (a list of floats), or with a whole
        response given as an ``openai.types.CreateEmbeddingResponse`` or a dict (served one item
        per input, as `reply_vectors`; it takes no other argument).

        With a vector: ``model`` (else the request's) and ``usage`` (else the inputs' estimate as
        ``prompt_tokens``) set the answer's fields."""
        if isinstance(content, Sequence) and not isinstance(content, str):
            return self.reply_vectors([content], model=model, usage=usage)
        if model is not None or usage is not None:
            raise BuilderError(
                "mockllm: reply() options apply to a vector reply; set them on the response object"
            )
        return self._register(sdk_object(content, sdk_type="CreateEmbeddingResponse", items="data"))

    def reply_vectors(
        self,
        vectors: Sequence[Sequence[float]],
        *,
        model: str | None = None,
        usage: EmbeddingsUsage | None = None,
    ) -> MockHandle[OpenAIEmbeddingMock]:
        """Answer with one embedding per input, in order (``data[i].index == i``); a request with
        more inputs than ``vectors`` gets them again in turn, one with fewer gets the first ones.
        ``model`` and ``usage`` are as for `reply`."""
        data = [
            {"object": "embedding", "index": index, "embedding": vector}
            for index, vector in enumerate(checked_vectors(vectors))
        ]
        response = {"object": "list", "data": data, **optional(model=model, usage=_usage(usage))}
        return self._register(response)


def _usage(usage: EmbeddingsUsage | None) -> JsonObject | None:
    if usage is None:
        return None
    out: JsonObject = json_copy(usage, "usage")
    out.setdefault("prompt_tokens", 0)
    out.setdefault("total_tokens", out["prompt_tokens"])
    return out
