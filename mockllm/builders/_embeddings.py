"""The verbs every embeddings API's builder shares: the rules on the input, the check of a vector
list, and vectors made from each input's text. Each API's builder adds its ``reply`` verbs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Self

from ._base import MockHandle, MockT, RequestBuilder, check_pattern
from ._values import BuilderError

__all__ = ["EmbeddingsBuilder", "checked_vectors"]


class EmbeddingsBuilder(RequestBuilder[MockT]):
    """A builder of an API whose body rule is on the request's input."""

    _SUBJECT = "input"

    def _catch_all(self) -> str:
        return ""

    def when_input_contains(self, text: str) -> Self:
        """The input string, or one of the input strings, contains ``text``."""
        return self._when("when_input_contains", "contains", text)

    def when_input_matches(self, pattern: str) -> Self:
        """The Python regex ``pattern`` is found (``re.search``) in the input string, or in one of
        the input strings."""
        check_pattern("when_input_matches", pattern)
        return self._when("when_input_matches", "regex", pattern)

    def when_input_includes(self, texts: Sequence[str]) -> Self:
        """Each of ``texts`` is one of the input strings (the input may have more)."""
        if isinstance(texts, str) or not texts:
            raise BuilderError("mockllm: when_input_includes() takes a non-empty list of strings")
        return self._when("when_input_includes", "contains", list(texts))

    def reply_vectors_from_text(self, dimensions: int, *, seed: int = 0) -> MockHandle[MockT]:
        """Answer each input with a unit-length vector of ``dimensions`` numbers derived from its
        text (or token ids): equal inputs get equal vectors and different inputs different ones,
        on every run; another ``seed`` gives another family. `mockllm.text_vector` computes the
        vector of a text, to compare with what reached a vector store."""
        for name, value, low in (("dimensions", dimensions, 1), ("seed", seed, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise BuilderError(
                    f"mockllm: reply_vectors_from_text({name}=) takes a whole number of at least {low}, "
                    f"got {value!r}"
                )
        return self._register_answer({"vectors_from_text": {"dimensions": dimensions, "seed": seed}})


def checked_vectors(vectors: Sequence[Sequence[float]], verb: str = "reply_vectors") -> list[list[float]]:
    """``vectors`` as lists of floats; raises `BuilderError` for an empty list, a vector that is not
    a list of numbers, or NaN and infinity (JSON has neither: an exported config would say null)."""
    if isinstance(vectors, str) or not vectors:
        raise BuilderError(f"mockllm: {verb}() needs at least one vector")
    checked = []
    for index, vector in enumerate(vectors):
        if (
            isinstance(vector, str)
            or not isinstance(vector, Sequence)
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in vector)
        ):
            raise BuilderError(f"mockllm: embedding {index} is not a list of numbers: {vector!r:.60}")
        if not all(math.isfinite(x) for x in vector):
            raise BuilderError(f"mockllm: embedding {index} holds NaN or infinity: {vector!r:.60}")
        checked.append([float(x) for x in vector])
    return checked
