"""What the contract guard reads of OpenAI's requests and answers: Chat Completions and Responses.

Both declare function tools with a JSON Schema (``parameters``, ``strict``) and custom tools of
free text; ``tool_choice`` is ``none``, ``auto``, ``required``, one named tool, or a set of
``allowed_tools``; ``parallel_tool_calls: false`` allows one call. Chat asks for structured output
with ``response_format``, Responses with ``text.format``.
"""

from __future__ import annotations

from typing import Any

from ..contract.guard import AUTO, NONE, REQUIRED, Asked, Call, ContractTerms, OutputFormat, Said, Tool

__all__ = ["CHAT_TERMS", "RESPONSES_TERMS"]


def _tools(declared: Any, *, nested: bool) -> dict[str, Any]:
    """Function and custom tools by name; ``nested``: a tool's fields are under its type's key
    (chat's ``{"type": "function", "function": {...}}``), else beside ``type`` (Responses')."""
    tools: dict[str, Any] = {}
    if not isinstance(declared, list):
        return tools
    for tool in declared:
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type", "function")
        spec = tool.get(kind) if nested else tool
        if kind not in ("function", "custom") or not isinstance(spec, dict):
            continue  # a hosted tool (web search, file search, …): its calls are not the agent's
        name = spec.get("name")
        if isinstance(name, str):
            tools[name] = spec
    return tools


def _chat_tool(spec: dict[str, Any]) -> Tool:
    """A function tool's ``parameters``; a custom tool has none (its input is free text)."""
    schema = spec.get("parameters")
    return Tool(schema if isinstance(schema, dict) else None, spec.get("strict") is True)


def _responses_tool(spec: dict[str, Any]) -> Tool:
    """As chat's, but strict unless it says ``strict: false``: Responses makes a function tool's
    schema strict when the request leaves ``strict`` out (Chat Completions keeps it as it is)."""
    return Tool(_chat_tool(spec).schema, spec.get("strict") is not False)


def _choice(choice: Any, *, nested: bool) -> tuple[str, frozenset[str]]:
    """``tool_choice`` as (choice, forced tools)."""
    if choice in (NONE, REQUIRED):
        return choice, frozenset()
    if not isinstance(choice, dict):
        return AUTO, frozenset()
    kind = choice.get("type")
    if kind in ("function", "custom"):
        spec = choice.get(kind) if nested else choice
        name = spec.get("name") if isinstance(spec, dict) else None
        return (REQUIRED, frozenset((name,))) if isinstance(name, str) else (AUTO, frozenset())
    if kind == "allowed_tools":
        allowed = choice.get("allowed_tools") if nested else choice
        if not isinstance(allowed, dict):
            return AUTO, frozenset()
        names = frozenset(
            name
            for tool in allowed.get("tools") or ()
            if isinstance(tool, dict)
            for spec in [tool.get(tool.get("type", "function")) if nested else tool]
            if isinstance(spec, dict) and isinstance(name := spec.get("name"), str)
        )
        return (REQUIRED if allowed.get("mode") == REQUIRED else AUTO), names
    return AUTO, frozenset()  # a hosted tool forced: not a call of the agent's tools


def _format(spec: Any, schema_of: Any) -> OutputFormat | None:
    if not isinstance(spec, dict):
        return None
    if spec.get("type") == "json_object":
        return OutputFormat()
    if spec.get("type") == "json_schema" and isinstance(schema_of, dict):
        schema = schema_of.get("schema")
        return OutputFormat(schema if isinstance(schema, dict) else None, schema_of.get("strict") is True)
    return None


# --- Chat Completions ------------------------------------------------------------------------------


def _asked(body: dict[str, Any], output: OutputFormat | None, *, nested: bool) -> Asked:
    choice, forced = _choice(body.get("tool_choice"), nested=nested)
    return Asked(
        tools=_tools(body.get("tools"), nested=nested),
        choice=choice,
        forced=forced,
        parallel=body.get("parallel_tool_calls") is not False,
        output=output,
    )


def _chat_asked(body: dict[str, Any]) -> Asked:
    response_format = body.get("response_format")
    json_schema = response_format.get("json_schema") if isinstance(response_format, dict) else None
    return _asked(body, _format(response_format, json_schema), nested=True)


def _chat_said(response: dict[str, Any]) -> Said:
    calls: list[Call] = []
    texts: list[tuple[str, str]] = []
    for i, choice in enumerate(response.get("choices") or ()):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        for j, call in enumerate(message.get("tool_calls") or ()):
            if not isinstance(call, dict):
                continue
            kind = call.get("type", "function")
            spec = call.get(kind)
            if isinstance(spec, dict) and isinstance(spec.get("name"), str):
                key = "arguments" if kind == "function" else "input"
                path = f"$.choices[{i}].message.tool_calls[{j}]"
                calls.append(Call(path, spec["name"], spec.get(key), f"{path}.{kind}.{key}", call.get("id")))
        if isinstance(message.get("content"), str):
            texts.append((f"$.choices[{i}].message.content", message["content"]))
    return Said(tuple(calls), tuple(texts))


CHAT_TERMS = ContractTerms(
    asked=_chat_asked,
    tool=_chat_tool,
    said=_chat_said,
    reads=("tools", "tool_choice", "parallel_tool_calls", "response_format"),
    demands=frozenset(("tool_choice", "response_format")),
)


# --- Responses -------------------------------------------------------------------------------------


def _responses_asked(body: dict[str, Any]) -> Asked:
    text = body.get("text")
    text_format = text.get("format") if isinstance(text, dict) else None
    return _asked(body, _format(text_format, text_format), nested=False)


def _responses_said(response: dict[str, Any]) -> Said:
    calls: list[Call] = []
    texts: list[tuple[str, str]] = []
    for k, item in enumerate(response.get("output") or ()):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind in ("function_call", "custom_tool_call") and isinstance(item.get("name"), str):
            key = "arguments" if kind == "function_call" else "input"
            path = f"$.output[{k}]"
            calls.append(Call(path, item["name"], item.get(key), f"{path}.{key}", item.get("call_id")))
        elif kind == "message":
            parts = [
                part["text"]
                for part in item.get("content") or ()
                if isinstance(part, dict)
                and part.get("type") == "output_text"
                and isinstance(part.get("text"), str)
            ]
            if parts:
                texts.append((f"$.output[{k}].content", "".join(parts)))
    return Said(tuple(calls), tuple(texts))


RESPONSES_TERMS = ContractTerms(
    asked=_responses_asked,
    tool=_responses_tool,
    said=_responses_said,
    reads=("tools", "tool_choice", "parallel_tool_calls", "text"),
    demands=frozenset(("tool_choice", "text")),
)
