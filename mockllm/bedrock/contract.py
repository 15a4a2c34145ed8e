"""What the contract guard reads of Bedrock Converse requests and answers.

Tools are ``toolConfig.tools[].toolSpec`` with ``inputSchema.json`` (and ``strict``);
``toolConfig.toolChoice`` is ``{"auto": {}}``, ``{"any": {}}`` or ``{"tool": {"name": …}}`` (there
is no "none": a request that wants no call declares no tools). Structured output is
``outputConfig.textFormat`` of type ``json_schema``, its schema a JSON string.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..contract.guard import AUTO, REQUIRED, Asked, Call, ContractTerms, OutputFormat, Said, Tool

__all__ = ["CONVERSE_TERMS"]


def _asked(body: dict[str, Any]) -> Asked:
    config = body.get("toolConfig")
    config = config if isinstance(config, dict) else {}
    tools = {
        spec["name"]: spec
        for tool in config.get("tools") or ()
        for spec in [tool.get("toolSpec") if isinstance(tool, dict) else None]
        if isinstance(spec, dict) and isinstance(spec.get("name"), str)
    }
    choice, forced = AUTO, frozenset[str]()
    tool_choice = config.get("toolChoice")
    if isinstance(tool_choice, dict):
        if "any" in tool_choice:
            choice = REQUIRED
        elif isinstance(tool_choice.get("tool"), dict) and isinstance(tool_choice["tool"].get("name"), str):
            choice, forced = REQUIRED, frozenset((tool_choice["tool"]["name"],))
    return Asked(tools=tools, choice=choice, forced=forced, output=_output(body))


def _tool(spec: dict[str, Any]) -> Tool:
    schema = spec.get("inputSchema")
    schema = schema.get("json") if isinstance(schema, dict) else None
    return Tool(schema if isinstance(schema, dict) else None, spec.get("strict") is True)


def _output(body: dict[str, Any]) -> OutputFormat | None:
    config = body.get("outputConfig")
    text_format = config.get("textFormat") if isinstance(config, dict) else None
    if not isinstance(text_format, dict) or text_format.get("type") != "json_schema":
        return None
    structure = text_format.get("structure")
    definition = structure.get("jsonSchema") if isinstance(structure, dict) else None
    schema = definition.get("schema") if isinstance(definition, dict) else None
    try:
        parsed = orjson.loads(schema) if isinstance(schema, str) else None
    except orjson.JSONDecodeError:
        parsed = None
    return OutputFormat(parsed if isinstance(parsed, dict) else None)


def _said(response: dict[str, Any]) -> Said:
    output = response.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    calls: list[Call] = []
    texts: list[str] = []
    for i, block in enumerate(content if isinstance(content, list) else ()):
        if not isinstance(block, dict):
            continue
        use = block.get("toolUse")
        if isinstance(use, dict) and isinstance(use.get("name"), str):
            path = f"$.output.message.content[{i}].toolUse"
            calls.append(Call(path, use["name"], use.get("input", {}), f"{path}.input", use.get("toolUseId")))
        elif isinstance(block.get("text"), str):
            texts.append(block["text"])
    return Said(tuple(calls), (("$.output.message.content", "".join(texts)),) if texts else ())


CONVERSE_TERMS = ContractTerms(
    asked=_asked,
    tool=_tool,
    said=_said,
    reads=("toolConfig", "outputConfig"),
    demands=frozenset(("toolConfig", "outputConfig")),
)
