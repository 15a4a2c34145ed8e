"""The HTTP side: the Sanic app, one module per API, and the `MockServer` lifecycle."""

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
