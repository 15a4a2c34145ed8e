"""mockllm: a mock LLM server for end-to-end tests, speaking the OpenAI and Anthropic APIs."""

from .config import Config, ConfigError, MatchType, load_config
from .server import MockServer, RecordedRequest

__all__ = ["Config", "ConfigError", "MatchType", "MockServer", "RecordedRequest", "load_config"]
__version__ = "0.1.0"
