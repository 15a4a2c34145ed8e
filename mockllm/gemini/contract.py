"""What the contract guard reads of Gemini's requests and answers.

Function declarations carry ``parametersJsonSchema`` (JSON Schema) or ``parameters`` (Google's
OpenAPI subset: upper-case types, ``nullable``), turned into JSON Schema here.
``toolConfig.functionCallingConfig.mode`` is ``AUTO``, ``ANY`` (a call is required),
``NONE`` or ``VALIDATED``, with ``allowedFunctionNames``. ``generationConfig`` asks for JSON with
``responseMimeType: application/json``, of ``responseJsonSchema`` or ``responseSchema``. The API
takes snake_case keys as well as camelCase.
"""

from __future__ import annotations

from typing import Any

from ..contract.guard import AUTO, NONE, REQUIRED, Asked, Call, ContractTerms, OutputFormat, Said, Tool

__all__ = ["GENERATE_TERMS", "json_schema_of"]


def _get(value: Any, camel: str, snake: str) -> Any:
    if not isinstance(value, dict):
        return None
    found = value.get(camel)
    return value.get(snake) if found is None else found


_COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")
"""Integers that Google's JSON (protobuf's int64) may write as strings."""


def json_schema_of(schema: Any) -> Any:
    """Google's OpenAPI ``Schema`` as JSON Schema: types in lower case, ``nullable`` as a null type."""
    if isinstance(schema, list):
        return [json_schema_of(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            if value.upper() != "TYPE_UNSPECIFIED":
                out["type"] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: json_schema_of(item) for name, item in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = json_schema_of(value)
        elif key in _COUNTS and isinstance(value, str) and value.isdigit():
            out[key] = int(value)
        elif key not in ("nullable", "propertyOrdering", "property_ordering", "format", "example"):
            out[key] = value
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _asked(body: dict[str, Any]) -> Asked:
    tools = {
        declaration["name"]: declaration
        for tool in body.get("tools") or ()
        for declaration in _get(tool, "functionDeclarations", "function_declarations") or ()
        if isinstance(declaration, dict) and isinstance(declaration.get("name"), str)
    }
    choice, forced = AUTO, frozenset[str]()
    config = _get(_get(body, "toolConfig", "tool_config"), "functionCallingConfig", "function_calling_config")
    if isinstance(config, dict):
        mode = str(config.get("mode", "AUTO")).upper()
        allowed = _get(config, "allowedFunctionNames", "allowed_function_names") or ()
        names = frozenset(name for name in allowed if isinstance(name, str))
        choice = {"NONE": NONE, "ANY": REQUIRED}.get(mode, AUTO)
        forced = names if choice != NONE else frozenset()
    return Asked(tools=tools, choice=choice, forced=forced, output=_output(body))


def _tool(declaration: dict[str, Any]) -> Tool:
    schema = _get(declaration, "parametersJsonSchema", "parameters_json_schema")
    if schema is None:
        schema = json_schema_of(declaration.get("parameters"))
    return Tool(schema if isinstance(schema, dict) else None)


def _output(body: dict[str, Any]) -> OutputFormat | None:
    config = _get(body, "generationConfig", "generation_config")
    if _get(config, "responseMimeType", "response_mime_type") != "application/json":
        return None
    schema = _get(config, "responseJsonSchema", "response_json_schema")
    if schema is None:
        schema = json_schema_of(_get(config, "responseSchema", "response_schema"))
    return OutputFormat(schema if isinstance(schema, dict) else None)


def _said(response: dict[str, Any]) -> Said:
    calls: list[Call] = []
    texts: list[tuple[str, str]] = []
    for c, candidate in enumerate(response.get("candidates") or ()):
        content = candidate.get("content") if isinstance(candidate, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        text: list[str] = []
        for p, part in enumerate(parts if isinstance(parts, list) else ()):
            if not isinstance(part, dict):
                continue
            call = part.get("functionCall")
            if isinstance(call, dict) and isinstance(call.get("name"), str):
                path = f"$.candidates[{c}].content.parts[{p}].functionCall"
                calls.append(Call(path, call["name"], call.get("args", {}), f"{path}.args", call.get("id")))
            elif isinstance(part.get("text"), str) and not part.get("thought"):
                text.append(part["text"])
        if text:
            texts.append((f"$.candidates[{c}].content.parts", "".join(text)))
    return Said(tuple(calls), tuple(texts))


GENERATE_TERMS = ContractTerms(
    asked=_asked,
    tool=_tool,
    said=_said,
    reads=("tools", "toolConfig", "tool_config", "generationConfig", "generation_config"),
    demands=frozenset(("toolConfig", "tool_config", "generationConfig", "generation_config")),
)
