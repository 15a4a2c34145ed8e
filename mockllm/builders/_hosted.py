"""Typed output items of the tools a provider runs itself (web and file search, code, images, MCP)
and of custom tools, for the reply verbs: each becomes one Responses output item.

Ids left out are filled by the server (``ws_…``, ``mcp_…``, ``call_…``, …), stable per mock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._values import BuilderError, JsonObject, ToolCall, json_copy, optional

__all__ = [
    "CodeInterpreter",
    "CustomToolCall",
    "FileSearch",
    "ImageGeneration",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "WebResult",
    "WebSearch",
]


@dataclass(frozen=True)
class WebSearch:
    """A ``web_search_call`` item: a search for ``query`` that visited ``sources`` (URLs)."""

    query: str
    sources: Sequence[str] = ()
    id: str | None = field(default=None, kw_only=True)

    def output_item(self) -> JsonObject:
        action: JsonObject = {"type": "search", "query": self.query}
        if self.sources:
            action["sources"] = [{"type": "url", "url": url} for url in _strings(self.sources, "sources")]
        return {"type": "web_search_call", **optional(id=self.id), "status": "completed", "action": action}


@dataclass(frozen=True)
class FileSearch:
    """A ``file_search_call`` item: ``queries`` and the chunks found, each an object with
    ``file_id``, ``filename``, ``score``, ``text``, ``attributes`` (all optional)."""

    queries: Sequence[str]
    results: Sequence[Mapping[str, Any]] = ()
    id: str | None = field(default=None, kw_only=True)

    def output_item(self) -> JsonObject:
        queries = [self.queries] if isinstance(self.queries, str) else _strings(self.queries, "queries")
        return {
            "type": "file_search_call",
            **optional(id=self.id),
            "status": "completed",
            "queries": queries,
            "results": json_copy(list(self.results), "file search results"),
        }


@dataclass(frozen=True)
class CodeInterpreter:
    """A ``code_interpreter_call`` item: the ``code`` the model ran and the ``logs`` it printed."""

    code: str
    logs: str | None = None
    container_id: str | None = field(default=None, kw_only=True)
    id: str | None = field(default=None, kw_only=True)

    def output_item(self) -> JsonObject:
        outputs = None if self.logs is None else [{"type": "logs", "logs": self.logs}]
        return {
            "type": "code_interpreter_call",
            **optional(id=self.id),
            "status": "completed",
            "code": self.code,
            **optional(container_id=self.container_id),
            "outputs": outputs,
        }


@dataclass(frozen=True)
class ImageGeneration:
    """An ``image_generation_call`` item: ``result`` is the image, base64-encoded (streamed as its
    one partial image too)."""

    result: str
    revised_prompt: str | None = None
    id: str | None = field(default=None, kw_only=True)

    def output_item(self) -> JsonObject:
        return {
            "type": "image_generation_call",
            **optional(id=self.id),
            "status": "completed",
            "result": self.result,
            **optional(revised_prompt=self.revised_prompt),
        }


@dataclass(frozen=True)
class McpListTools:
    """An ``mcp_list_tools`` item: the tools MCP server ``server_label`` offers, each an object
    with ``name``, ``input_schema`` and an optional ``description``."""

    server_label: str
    tools: Sequence[Mapping[str, Any]]
    id: str | None = field(default=None, kw_only=True)

    def output_item(self) -> JsonObject:
        tools = json_copy(list(self.tools), "MCP tools")
        for tool in tools:
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                raise BuilderError(f"mockllm: an MCP tool is an object with a name, got {tool!r}")
            tool.setdefault("input_schema", {"type": "object", "properties": {}})
        return {
            "type": "mcp_list_tools",
            **optional(id=self.id),
            "server_label": self.server_label,
            "tools": tools,
        }


@dataclass(frozen=True)
class McpCall:
    """An ``mcp_call`` item: tool ``name`` of MCP server ``server_label`` called with ``arguments``
    (a dict or JSON text), which returned ``output`` or failed with ``error`` (a message, or the
    error object)."""

    server_label: str
    name: str
    arguments: Mapping[str, Any] | str = "{}"
    output: str | None = None
    error: str | Mapping[str, Any] | None = None
    approval_request_id: str | None = field(default=None, kw_only=True)
    id: str | None = field(default=None, kw_only=True)

    def output_item(self) -> JsonObject:
        if self.output is not None and self.error is not None:
            raise BuilderError("mockllm: an MCP call has output= or error=, not both")
        return {
            "type": "mcp_call",
            **optional(id=self.id),
            "server_label": self.server_label,
            "name": self.name,
            "arguments": ToolCall(self.name, self.arguments).arguments_text(),
            **optional(approval_request_id=self.approval_request_id),
            "output": self.output,
            "error": _mcp_error(self.error),
            "status": "completed" if self.error is None else "failed",
        }


@dataclass(frozen=True)
class McpApprovalRequest:
    """An ``mcp_approval_request`` item: the model asks to call tool ``name`` of MCP server
    ``server_label``; ``id`` is what the client's ``mcp_approval_response`` answers."""

    server_label: str
    name: str
    arguments: Mapping[str, Any] | str = "{}"
    id: str | None = field(default=None, kw_only=True)

    def output_item(self) -> JsonObject:
        return {
            "type": "mcp_approval_request",
            **optional(id=self.id),
            "server_label": self.server_label,
            "name": self.name,
            "arguments": ToolCall(self.name, self.arguments).arguments_text(),
        }


@dataclass(frozen=True)
class CustomToolCall:
    """A ``custom_tool_call`` item: custom tool ``name`` called with free-form ``input``; ``id``
    is its ``call_id``, which the ``custom_tool_call_output`` sent back refers to."""

    name: str
    input: str
    id: str | None = field(default=None, kw_only=True)

    def output_item(self) -> JsonObject:
        return {
            "type": "custom_tool_call",
            **optional(call_id=self.id),
            "name": self.name,
            "input": self.input,
        }


OutputItem = (
    WebSearch
    | FileSearch
    | CodeInterpreter
    | ImageGeneration
    | McpListTools
    | McpCall
    | McpApprovalRequest
    | CustomToolCall
)
_OUTPUT_ITEMS = (
    WebSearch,
    FileSearch,
    CodeInterpreter,
    ImageGeneration,
    McpListTools,
    McpCall,
    McpApprovalRequest,
    CustomToolCall,
)


def output_items(items: Sequence[OutputItem | ToolCall | Mapping[str, Any]], verb: str) -> list[JsonObject]:
    """The Responses output items of a reply: typed items, a `ToolCall` (a ``function_call``) or
    an output item written as a dict."""
    out: list[JsonObject] = []
    for item in items:
        if isinstance(item, _OUTPUT_ITEMS):
            out.append(item.output_item())
        elif isinstance(item, ToolCall):
            out.append(
                {
                    "type": "function_call",
                    **optional(call_id=item.id),
                    "name": item.name,
                    "arguments": item.arguments_text(),
                    "status": "completed",
                }
            )
        elif isinstance(item, Mapping) and isinstance(item.get("type"), str):
            out.append(json_copy(item, "an output item"))
        else:
            raise BuilderError(
                f"mockllm: {verb}() takes output items (WebSearch, McpCall, ToolCall, …, or a dict "
                f"with a type), got {item!r}"
            )
    return out


@dataclass(frozen=True)
class WebResult:
    """One page an Anthropic web search found (a ``web_search_result`` block)."""

    url: str
    title: str
    page_age: str | None = None
    encrypted_content: str = ""

    def block(self) -> JsonObject:
        return {
            "type": "web_search_result",
            "url": self.url,
            "title": self.title,
            "encrypted_content": self.encrypted_content,
            "page_age": self.page_age,
        }


def _strings(values: Sequence[str], what: str) -> list[str]:
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise BuilderError(f"mockllm: {what} is a list of strings, got {values!r}")
    return list(values)


def _mcp_error(error: str | Mapping[str, Any] | None) -> JsonObject | None:
    if error is None:
        return None
    if isinstance(error, str):  # what a tool that raised gives back
        return {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": error}]}
    value: JsonObject = json_copy(error, "the MCP error")
    return value
