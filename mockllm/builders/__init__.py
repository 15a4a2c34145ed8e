"""The fluent builder: describe mocks in typed Python, get the kagent-format JSON config.

    m = mock()
    m.openai_chat().when_last_message_contains("weather").reply_tool_call("get_weather", {"city": "London"})
    m.anthropic_messages().when_last_message_contains("2+2").with_header("X-Tenant-ID", "b").reply("4")
    config = m.build()        # a mockllm.Config
    text = m.to_json()        # the same config as JSON

Each API has its own builder (`OpenAIChatBuilder`, `OpenAIResponsesBuilder`,
`OpenAIEmbeddingsBuilder`, `AnthropicMessagesBuilder`); the docstring of its module maps each verb
to the fields it sets in a mock. The root sets the top-level fields:

- ``mock(listen_addr=)`` → ``listen_addr``
- ``openai_chat()`` → ``openai``
- ``openai_responses()`` → ``openai_response``
- ``openai_embeddings()`` → ``openai_embeddings``
- ``anthropic_messages()`` → ``anthropic``
- ``gemini()`` → ``gemini`` (its builder: `mockllm.gemini.builder`)
- ``gemini_embeddings()`` → ``gemini_embeddings`` (its builder: `mockllm.gemini.embed_builder`)
- ``ollama()`` → ``ollama`` (its builder: `mockllm.ollama.builder`)
- ``ollama_embeddings()`` → ``ollama_embeddings`` (its builder: `mockllm.ollama.embed_builder`)
- ``bedrock()`` → ``bedrock`` (its builder: `mockllm.bedrock.builder`)
"""

from ..anthropic.builder import AnthropicMessagesBuilder
from ..openai.chat_builder import OpenAIChatBuilder
from ..openai.embeddings_builder import OpenAIEmbeddingsBuilder
from ..openai.responses_builder import OpenAIResponsesBuilder
from ._base import MockHandle
from ._hosted import (
    CodeInterpreter,
    CustomToolCall,
    FileSearch,
    ImageGeneration,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    WebResult,
    WebSearch,
)
from ._root import MockBuilder, mock
from ._values import AnthropicUsage, BuilderError, ChatUsage, EmbeddingsUsage, ResponsesUsage, ToolCall

__all__ = [
    "AnthropicMessagesBuilder",
    "AnthropicUsage",
    "BuilderError",
    "ChatUsage",
    "CodeInterpreter",
    "CustomToolCall",
    "EmbeddingsUsage",
    "FileSearch",
    "ImageGeneration",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "MockBuilder",
    "MockHandle",
    "OpenAIChatBuilder",
    "OpenAIEmbeddingsBuilder",
    "OpenAIResponsesBuilder",
    "ResponsesUsage",
    "ToolCall",
    "WebResult",
    "WebSearch",
    "mock",
]
