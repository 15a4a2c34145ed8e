"""The HTTP side: the Sanic app, one module per API, and the `MockServer` lifecycle."""

from .app import create_app
from .journal import Journal, NearMiss, RecordedRequest
from .mock_server import ConfigSource, MockServer, SupportsBuild, SupportsChangeListener
from .state import MockState

__all__ = [
    "ConfigSource",
    "Journal",
    "MockServer",
    "MockState",
    "NearMiss",
    "RecordedRequest",
    "SupportsBuild",
    "SupportsChangeListener",
    "create_app",
]
