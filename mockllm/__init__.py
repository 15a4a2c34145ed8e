"""mockllm: a mock LLM server for end-to-end tests, speaking the OpenAI and Anthropic APIs.

Names are imported on first use: the pytest plugin is loaded in every pytest run of a project that
installs mockllm, and Sanic and pydantic should cost nothing to runs that never use them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .builders import (
        BuilderError,
        CodeInterpreter,
        CustomToolCall,
        FileSearch,
        ImageGeneration,
        McpApprovalRequest,
        McpCall,
        McpListTools,
        MockBuilder,
        MockHandle,
        ToolCall,
        WebResult,
        WebSearch,
        mock,
    )
    from .config import Config, ConfigError, MatchType, load_config
    from .server import Chaos, MockServer, RecordedRequest, Recording
    from .text_vectors import text_vector

__all__ = [
    "BuilderError",
    "Chaos",
    "CodeInterpreter",
    "Config",
    "ConfigError",
    "CustomToolCall",
    "FileSearch",
    "ImageGeneration",
    "MatchType",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "MockBuilder",
    "MockHandle",
    "MockServer",
    "RecordedRequest",
    "Recording",
    "ToolCall",
    "WebResult",
    "WebSearch",
    "load_config",
    "mock",
    "text_vector",
]
__version__ = "0.1.0"

_HOME = {
    "BuilderError": "builders",
    "MockBuilder": "builders",
    "MockHandle": "builders",
    "ToolCall": "builders",
    "CodeInterpreter": "builders",
    "CustomToolCall": "builders",
    "FileSearch": "builders",
    "ImageGeneration": "builders",
    "McpApprovalRequest": "builders",
    "McpCall": "builders",
    "McpListTools": "builders",
    "WebResult": "builders",
    "WebSearch": "builders",
    "mock": "builders",
    "Config": "config",
    "ConfigError": "config",
    "MatchType": "config",
    "load_config": "config",
    "Chaos": "server",
    "MockServer": "server",
    "RecordedRequest": "server",
    "Recording": "server",
    "text_vector": "text_vectors",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'mockllm' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
