"""Stable unit vectors made from text, for ``vectors_from_text`` embeddings mocks.

A vector is drawn from a hash of the input (its text, or its token ids) and a seed, never from
Python's ``hash()`` or a ``random`` seeded by a string, which differ between runs: the same input
gives the same vector on every run, machine and Python version. Its numbers are the first
``dimensions`` of one stream, scaled to unit length, so a shorter vector of an input is the longer
one cut and scaled again, as the real API's ``dimensions`` does.
"""

from __future__ import annotations

import hashlib
import math
import struct
from array import array
from collections.abc import Sequence
from functools import lru_cache

import orjson

__all__ = ["input_digest", "packed_unit_vector", "text_vector"]

_SEED = struct.Struct("<Q")


def input_digest(value: str | Sequence[int], seed: int = 0) -> bytes:
    """What a vector is made from: a hash of the seed and of one input (a text or token ids)."""
    digest = hashlib.blake2b(_SEED.pack(seed), digest_size=32)
    if isinstance(value, str):
        digest.update(b"s")
        digest.update(value.encode("utf-8", "surrogatepass"))
    else:
        digest.update(b"t")
        digest.update(orjson.dumps(list(value)))
    return digest.digest()


@lru_cache(maxsize=1024)
def packed_unit_vector(digest: bytes, dimensions: int) -> bytes:
    """The vector of ``digest``, as little-endian float32 (what base64 embeddings carry). Kept for
    the inputs asked for most recently: a test embeds the same texts again and again."""
    numbers = struct.unpack(f"<{dimensions}i", hashlib.shake_256(digest).digest(4 * dimensions))
    norm = math.hypot(*numbers) or 1.0
    return struct.pack(f"<{dimensions}f", *[n / norm for n in numbers])


def text_vector(value: str | Sequence[int], dimensions: int, *, seed: int = 0) -> list[float]:
    """The vector a ``vectors_from_text`` mock answers ``value`` with (a text, or token ids)."""
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        raise ValueError(f"dimensions must be a whole number of at least 1, got {dimensions!r}")
    return array("f", packed_unit_vector(input_digest(value, seed), dimensions)).tolist()
