"""What the contract guard reads of Ollama's chat requests and answers.

Tools are OpenAI-shaped (``{"type": "function", "function": {"name", "parameters"}}``) and a call's
``arguments`` an object; Ollama has no tool choice. ``format`` asks for JSON (``"json"``) or JSON
of a schema (the schema itself).
"""

from __future__ import annotations

from typing import Any

from ..contract.guard import Asked, Call, ContractTerms, OutputFormat, Said, Tool

__all__ = ["CHAT_TERMS"]


def _asked(body: dict[str, Any]) -> Asked:
    tools = {
        function["name"]: function
        for tool in body.get("tools") or ()
        for function in [tool.get("function") if isinstance(tool, dict) else None]
        if isinstance(function, dict) and isinstance(function.get("name"), str)
    }
    requested = body.get("format")
    output = None
    if requested == "json":
        output = OutputFormat()
    elif isinstance(requested, dict):
        output = OutputFormat(requested)
    return Asked(tools=tools, output=output)


def _tool(function: dict[str, Any]) -> Tool:
    schema = function.get("parameters")
    return Tool(schema if isinstance(schema, dict) else None)


def _said(response: dict[str, Any]) -> Said:
    message = response.get("message")
    if not isinstance(message, dict):
        return Said()
    calls = tuple(
        Call(
            f"$.message.tool_calls[{j}]",
            function["name"],
            function.get("arguments", {}),
            f"$.message.tool_calls[{j}].function.arguments",
            function["name"],
        )
        for j, call in enumerate(message.get("tool_calls") or ())
        if isinstance(call, dict)
        for function in [call.get("function")]
        if isinstance(function, dict) and isinstance(function.get("name"), str)
    )
    content = message.get("content")
    return Said(calls, (("$.message.content", content),) if isinstance(content, str) else ())


CHAT_TERMS = ContractTerms(
    asked=_asked, tool=_tool, said=_said, reads=("tools", "format"), demands=frozenset(("format",))
)
