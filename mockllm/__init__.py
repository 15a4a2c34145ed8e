"""mockllm: a mock LLM server for end-to-end tests, speaking the OpenAI and Anthropic APIs."""

from .builders import BuilderError, MockBuilder, MockHandle, ToolCall, mock
from .config import Config, ConfigError, MatchType, load_config
from .server import MockServer, RecordedRequest

__all__ = [
    "BuilderError",
    "Config",
    "ConfigError",
    "MatchType",
    "MockBuilder",
    "MockHandle",
    "MockServer",
    "RecordedRequest",
    "ToolCall",
    "load_config",
    "mock",
]
__version__ = "0.1.0"
