"""The models a config's responses name, which every provider's model list shows (in its own
shape: see `mockllm.server.provider`).

The mock answers every model a request names, so retrieving any id succeeds; the list holds the
names the config gives, and ``mock-model``.
"""

from __future__ import annotations

import weakref

from ..apis import APIS
from .adapter import DEFAULT_MODEL
from .compiled import CompiledConfig

__all__ = ["model_names"]

_NAMES: weakref.WeakKeyDictionary[CompiledConfig, list[str]] = weakref.WeakKeyDictionary()
"""The names of each config served, made on the first request that asks."""


def model_names(compiled: CompiledConfig) -> list[str]:
    """The models the config's responses name, in order of appearance, then ``mock-model``."""
    names = _NAMES.get(compiled)
    if names is None:
        found: dict[str, None] = {}
        for spec in APIS:
            for mock in compiled.config.mocks(spec.key):
                response = mock.response
                if isinstance(response, dict) and isinstance(response.get("model"), str):
                    found[response["model"]] = None
        found[DEFAULT_MODEL] = None
        names = _NAMES[compiled] = list(found)
    return names
