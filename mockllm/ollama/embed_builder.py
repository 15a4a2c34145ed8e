"""Ollama embeddings mocks (``POST /api/embed`` and ``/api/embeddings``): ``mock().ollama_embeddings()``.

Verb → the fields it sets in the mock (``ollama_embeddings[i]``):

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
- ``when_input(value)`` → ``match.match_type``, ``match.input``
- ``reply(vector | dict)`` → ``response``
- ``reply_vectors(vectors)`` → ``response``
- ``reply_vectors_from_text(dimensions, seed=)`` → ``vectors_from_text.dimensions``,
  ``vectors_from_text.seed``
- ``reply_with(fn)``, ``reply_drawn(data, strategy)`` → ``reply_with`` (a Python function: no JSON
  holds it)
- ``reply_error(status, message=, type=, headers=, retry_after=)`` → ``error.status``,
  ``error.message``, ``error.type``, ``error.headers``

The input is ``/api/embed``'s ``input`` (a string or a list of them) or ``/api/embeddings``'
``prompt``. A mock with no ``when_*`` verb on the input matches every request. The answer holds one
embedding per input: a single vector answers every input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

from ..builders._base import MockHandle
from ..builders._embeddings import EmbeddingsBuilder, checked_vectors
from ..builders._values import json_copy
from .format import OllamaEmbeddingMock

__all__ = ["OllamaEmbeddingsBuilder"]


class OllamaEmbeddingsBuilder(EmbeddingsBuilder[OllamaEmbeddingMock]):
    """An Ollama embeddings mock: at most one ``when_*`` rule on the input, any number of headers,
    then a ``reply*`` verb."""

    _API = "ollama_embeddings"

    def when_input(self, value: str | Sequence[str]) -> Self:
        """The input equals ``value``: a string or a list of strings."""
        return self._when("when_input", "exact", json_copy(value, "input"))

    def reply(self, content: Sequence[float] | Mapping[str, Any], /) -> MockHandle[OllamaEmbeddingMock]:
        """Answer every input with the embedding ``content`` (a list of floats), or with a whole
        response as a dict."""
        if isinstance(content, Mapping):
            return self._register(json_copy(content, "the response"))
        return self.reply_vectors([content])

    def reply_vectors(self, vectors: Sequence[Sequence[float]]) -> MockHandle[OllamaEmbeddingMock]:
        """Answer with one embedding of ``vectors`` per input, in order; a request with more
        inputs than ``vectors`` gets them again in turn."""
        embeddings = checked_vectors(vectors)
        return self._register({"embeddings": embeddings})
