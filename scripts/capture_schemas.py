"""Capture the response types of the official SDKs as the JSON Schemas mockllm ships.

    python scripts/capture_schemas.py          # rewrite mockllm/contract/schemas/*.json
    python scripts/capture_schemas.py --check  # exit 1 if they differ from the installed SDKs

The contract guard checks every mock's ``response`` against these schemas, so a misspelled field
fails at load instead of being ignored by the SDK. They come from the SDKs' own types (pydantic
models for openai, anthropic, google-genai and ollama; botocore's service model for Bedrock), so
an SDK upgrade that adds a field is this one command; ``tests/test_response_schemas.py`` fails
until it is run. ``mockllm serve`` reads the shipped files and needs no SDK installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent.parent / "mockllm" / "contract" / "schemas"

JsonSchema = dict[str, Any]

# Fields the google-genai SDK adds to its response objects on the client side: never on the wire.
_GENAI_CLIENT_FIELDS = ("sdkHttpResponse", "automaticFunctionCallingHistory", "parsed")


def _pydantic(model: Any, *, drop: tuple[str, ...] = ()) -> JsonSchema:
    schema: JsonSchema = model.model_json_schema(by_alias=True, mode="serialization")
    for name in drop:
        schema["properties"].pop(name, None)
    return schema


def _openai(name: str) -> Callable[[], JsonSchema]:
    def capture() -> JsonSchema:
        import openai.types
        import openai.types.chat
        import openai.types.responses

        for module in (openai.types.chat, openai.types.responses, openai.types):
            if hasattr(module, name):
                return _pydantic(getattr(module, name))
        raise LookupError(name)  # pragma: no cover - an SDK that renamed its type

    return capture


def _anthropic() -> JsonSchema:
    from anthropic.types import Message

    return _pydantic(Message)


def _gemini(name: str) -> Callable[[], JsonSchema]:
    def capture() -> JsonSchema:
        from google.genai import types

        return _pydantic(getattr(types, name), drop=_GENAI_CLIENT_FIELDS)

    return capture


def _gemini_embedding() -> JsonSchema:
    """The SDK's ``EmbedContentResponse`` has the list of ``embeddings`` that
    ``:batchEmbedContents`` answers; ``:embedContent`` answers one ``embedding``: both are on the
    wire, and a mock may write either."""
    schema = _gemini("EmbedContentResponse")()
    embeddings = schema["properties"]["embeddings"]
    branch = next(b for b in embeddings["anyOf"] if b.get("type") == "array")
    schema["properties"]["embedding"] = {**branch["items"], "description": "The embedding of one content."}
    return schema


def _ollama(name: str) -> Callable[[], JsonSchema]:
    def capture() -> JsonSchema:
        import ollama

        schema = _pydantic(getattr(ollama, name))
        # The client's Image model serialises to a plain string (base64 or a path): so does the wire.
        if "Image" in schema.get("$defs", {}):
            schema["$defs"]["Image"] = {"type": "string", "description": "A base64-encoded image."}
        return schema

    return capture


def _bedrock() -> JsonSchema:
    """``ConverseResponse`` from botocore's service model, turned into a JSON Schema."""
    import botocore.session

    service = botocore.session.get_session().get_service_model("bedrock-runtime")
    defs: dict[str, JsonSchema] = {}

    def convert(shape: Any) -> JsonSchema:
        kind = shape.type_name
        described: JsonSchema = {}
        if shape.documentation:
            described["description"] = _html_text(shape.documentation)
        if kind == "structure":
            if getattr(shape, "is_document_type", False):
                return described  # any JSON value
            if shape.name not in defs:
                defs[shape.name] = {}  # a recursive shape refers to itself
                body: JsonSchema = {
                    **described,
                    "type": "object",
                    "properties": {name: convert(member) for name, member in shape.members.items()},
                }
                if shape.metadata.get("union"):
                    body["maxProperties"] = 1  # a union: exactly one member is set
                elif shape.required_members:
                    body["required"] = list(shape.required_members)
                defs[shape.name] = body
            return {"$ref": f"#/$defs/{shape.name}"}
        if kind == "list":
            return {**described, "type": "array", "items": convert(shape.member)}
        if kind == "map":
            return {**described, "type": "object", "additionalProperties": convert(shape.value)}
        if kind == "string":
            return {**described, "type": "string", **({"enum": list(shape.enum)} if shape.enum else {})}
        if kind in ("integer", "long"):
            return {**described, "type": "integer"}
        if kind in ("float", "double"):
            return {**described, "type": "number"}
        if kind == "boolean":
            return {**described, "type": "boolean"}
        if kind == "timestamp":
            return {**described, "type": "string", "format": "date-time"}
        if kind == "blob":
            return {**described, "type": "string", "contentEncoding": "base64"}
        raise ValueError(f"botocore shape type {kind!r} of {shape.name}")  # pragma: no cover

    root = convert(service.operation_model("Converse").output_shape)
    name = root["$ref"].rsplit("/", 1)[1]
    return {**defs.pop(name), "$defs": defs}


def _html_text(documentation: str) -> str:
    """botocore's documentation is HTML: its text, on one line."""
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", documentation).split())


# What each API's ``response`` is: the SDK type, the distribution it comes from.
TYPES: dict[str, tuple[str, str, Callable[[], JsonSchema]]] = {
    "openai": ("openai", "ChatCompletion", _openai("ChatCompletion")),
    "openai_response": ("openai", "Response", _openai("Response")),
    "openai_embeddings": ("openai", "CreateEmbeddingResponse", _openai("CreateEmbeddingResponse")),
    "anthropic": ("anthropic", "Message", _anthropic),
    "gemini": ("google-genai", "GenerateContentResponse", _gemini("GenerateContentResponse")),
    "gemini_embeddings": ("google-genai", "EmbedContentResponse", _gemini_embedding),
    "ollama": ("ollama", "ChatResponse", _ollama("ChatResponse")),
    "ollama_embeddings": ("ollama", "EmbedResponse", _ollama("EmbedResponse")),
    "bedrock": ("botocore", "ConverseResponse", _bedrock),
}


def _tidy(value: Any) -> Any:
    """Titles dropped (pydantic's, made of the field names) and descriptions cut to their first
    paragraph: what an editor shows beside a field, without the SDK's long notes."""
    if isinstance(value, list):
        return [_tidy(item) for item in value]
    if not isinstance(value, dict):
        return value
    tidy: JsonSchema = {}
    for key, item in value.items():
        if key == "title" and isinstance(item, str):
            continue
        if key == "description" and isinstance(item, str):
            first = " ".join(item.strip().split("\n\n")[0].split())
            tidy[key] = first if len(first) <= 300 else first[:297] + "..."
            continue
        # "properties" and "$defs" map names to schemas: a field may be called "title".
        if key in ("properties", "$defs") and isinstance(item, dict):
            tidy[key] = {name: _tidy(schema) for name, schema in item.items()}
        else:
            tidy[key] = _tidy(item)
    return tidy


def capture(api: str) -> JsonSchema:
    """The JSON Schema of ``api``'s response, from the installed SDK."""
    distribution, type_name, read = TYPES[api]
    schema = _tidy(read())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"{type_name} of {distribution} {version(distribution)}, by scripts/capture_schemas.py",
        **schema,
        "title": type_name,
    }


def rendered(schema: JsonSchema) -> str:
    return json.dumps(schema, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift instead of writing")
    args = parser.parse_args(argv)
    drifted = []
    for api in TYPES:
        text = rendered(capture(api))
        path = SCHEMAS / f"{api}.json"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                drifted.append(path.name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if drifted:
        print(f"out of date with the installed SDKs: {', '.join(drifted)}; run scripts/capture_schemas.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
