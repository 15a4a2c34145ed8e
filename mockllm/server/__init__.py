"""The HTTP side: the Sanic app, one module per API, and the `MockServer` lifecycle."""

from .app import create_app
from .compiled import CompiledConfig
from .journal import Journal, NearMiss, RecordedRequest
from .mock_server import ConfigSource, MockServer, SupportsBuild, SupportsChangeListener

__all__ = [
    "CompiledConfig",
    "ConfigSource",
    "Journal",
    "MockServer",
    "NearMiss",
    "RecordedRequest",
    "SupportsBuild",
    "SupportsChangeListener",
    "create_app",
]
