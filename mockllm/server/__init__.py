"""The HTTP side: the Sanic app, the per-API adapters and their providers, and the `MockServer`
lifecycle.

Names are imported on first use, so that an API's adapter (``mockllm/gemini/generate.py``, say)
can import the parts of the server it builds on (``mockllm.server.adapter``, …) without the whole
server, whose registry imports that adapter in turn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .chaos import Chaos
    from .compiled import CompiledConfig, Compiler
    from .journal import Delivery, Journal, NearMiss, RecordedRequest
    from .mock_server import MockServer
    from .recorder import Recording
    from .runtime import Runtime
    from .served import ConfigSource, SupportsBuild, SupportsChangeListener

__all__ = [
    "Chaos",
    "CompiledConfig",
    "Compiler",
    "ConfigSource",
    "Delivery",
    "Journal",
    "MockServer",
    "NearMiss",
    "RecordedRequest",
    "Recording",
    "Runtime",
    "SupportsBuild",
    "SupportsChangeListener",
    "create_app",
]

_HOME = {
    "create_app": "app",
    "Chaos": "chaos",
    "CompiledConfig": "compiled",
    "Compiler": "compiled",
    "Delivery": "journal",
    "Journal": "journal",
    "NearMiss": "journal",
    "RecordedRequest": "journal",
    "MockServer": "mock_server",
    "Recording": "recorder",
    "Runtime": "runtime",
    "ConfigSource": "served",
    "SupportsBuild": "served",
    "SupportsChangeListener": "served",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'mockllm.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
