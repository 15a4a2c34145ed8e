"""The verbs that start a mock of each API, shared by everything that registers mocks: the root
builder, and the pytest fixture that wraps one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..anthropic.builder import AnthropicMessagesBuilder
from ..openai.chat_builder import OpenAIChatBuilder
from ..openai.embeddings_builder import OpenAIEmbeddingsBuilder
from ..openai.responses_builder import OpenAIResponsesBuilder
from ._base import MockRegistry, SuggestsVerbs

if TYPE_CHECKING:
    from ..bedrock.builder import BedrockBuilder
    from ..gemini.builder import GeminiBuilder
    from ..gemini.embed_builder import GeminiEmbeddingsBuilder
    from ..ollama.builder import OllamaBuilder
    from ..ollama.embed_builder import OllamaEmbeddingsBuilder


class ApiEntryPoints(SuggestsVerbs):
    """One verb per API (named after its module in `mockllm.apis`); each returns that API's builder,
    bound to `_mock_registry`."""

    def _mock_registry(self) -> MockRegistry:
        raise NotImplementedError

    def openai_chat(self) -> OpenAIChatBuilder:
        """A mock for ``POST /v1/chat/completions`` (config key ``openai``)."""
        return OpenAIChatBuilder(self._mock_registry())

    def openai_responses(self) -> OpenAIResponsesBuilder:
        """A mock for ``POST /v1/responses`` (config key ``openai_response``)."""
        return OpenAIResponsesBuilder(self._mock_registry())

    def openai_embeddings(self) -> OpenAIEmbeddingsBuilder:
        """A mock for ``POST /v1/embeddings`` (config key ``openai_embeddings``)."""
        return OpenAIEmbeddingsBuilder(self._mock_registry())

    def anthropic_messages(self) -> AnthropicMessagesBuilder:
        """A mock for ``POST /v1/messages`` (config key ``anthropic``)."""
        return AnthropicMessagesBuilder(self._mock_registry())

    # An API's builder in its own folder builds on this package: imported when first used.

    def gemini(self) -> GeminiBuilder:
        """A mock for ``POST …/models/{model}:generateContent`` and ``:streamGenerateContent``
        (config key ``gemini``)."""
        from ..gemini.builder import GeminiBuilder

        return GeminiBuilder(self._mock_registry())

    def gemini_embeddings(self) -> GeminiEmbeddingsBuilder:
        """A mock for ``POST …/models/{model}:batchEmbedContents`` and ``:embedContent`` (config key
        ``gemini_embeddings``)."""
        from ..gemini.embed_builder import GeminiEmbeddingsBuilder

        return GeminiEmbeddingsBuilder(self._mock_registry())

    def ollama(self) -> OllamaBuilder:
        """A mock for ``POST /api/chat`` and ``/api/generate`` (config key ``ollama``)."""
        from ..ollama.builder import OllamaBuilder

        return OllamaBuilder(self._mock_registry())

    def ollama_embeddings(self) -> OllamaEmbeddingsBuilder:
        """A mock for ``POST /api/embed`` and ``/api/embeddings`` (config key ``ollama_embeddings``)."""
        from ..ollama.embed_builder import OllamaEmbeddingsBuilder

        return OllamaEmbeddingsBuilder(self._mock_registry())

    def bedrock(self) -> BedrockBuilder:
        """A mock for ``POST /model/{modelId}/converse`` and ``/converse-stream`` (config key
        ``bedrock``)."""
        from ..bedrock.builder import BedrockBuilder

        return BedrockBuilder(self._mock_registry())
