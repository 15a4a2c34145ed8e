"""What the contract guard reads of Anthropic's requests and answers (Claude on Bedrock too).

Client tools carry an ``input_schema`` (server tools, such as web search, have a versioned
``type`` and run on the provider's side); ``tool_choice`` is ``auto``, ``any``, ``tool`` (named)
or ``none``, with ``disable_parallel_tool_use``; structured output is asked for with
``output_config.format`` (``output_format`` in the beta that came first).
"""

from __future__ import annotations

from typing import Any

from ..contract.guard import AUTO, NONE, REQUIRED, Asked, Call, ContractTerms, OutputFormat, Said, Tool

__all__ = ["MESSAGES_TERMS"]


def _asked(body: dict[str, Any]) -> Asked:
    tools = {
        tool["name"]: tool
        for tool in body.get("tools") or ()
        if isinstance(tool, dict) and isinstance(tool.get("name"), str) and "input_schema" in tool
    }
    choice, forced, parallel = AUTO, frozenset[str](), True
    tool_choice = body.get("tool_choice")
    if isinstance(tool_choice, dict):
        kind = tool_choice.get("type")
        if kind == "none":
            choice = NONE
        elif kind == "any":
            choice = REQUIRED
        elif kind == "tool" and isinstance(tool_choice.get("name"), str):
            choice, forced = REQUIRED, frozenset((tool_choice["name"],))
        parallel = tool_choice.get("disable_parallel_tool_use") is not True
    return Asked(tools=tools, choice=choice, forced=forced, parallel=parallel, output=_output(body))


def _tool(tool: dict[str, Any]) -> Tool:
    schema = tool["input_schema"]
    return Tool(schema if isinstance(schema, dict) else None, tool.get("strict") is True)


def _output(body: dict[str, Any]) -> OutputFormat | None:
    config = body.get("output_config")
    spec = config.get("format") if isinstance(config, dict) else body.get("output_format")
    if isinstance(spec, dict) and spec.get("type") == "json_schema":
        schema = spec.get("schema")
        return OutputFormat(schema if isinstance(schema, dict) else None)
    return None


def _said(response: dict[str, Any]) -> Said:
    calls: list[Call] = []
    texts: list[str] = []
    for i, block in enumerate(response.get("content") or ()):
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_use" and isinstance(block.get("name"), str):
            path = f"$.content[{i}]"
            calls.append(Call(path, block["name"], block.get("input", {}), f"{path}.input", block.get("id")))
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
    return Said(tuple(calls), (("$.content", "".join(texts)),) if texts else ())


MESSAGES_TERMS = ContractTerms(
    asked=_asked,
    tool=_tool,
    said=_said,
    reads=("tools", "tool_choice", "output_config", "output_format"),
    demands=frozenset(("tool_choice", "output_config", "output_format")),
)
