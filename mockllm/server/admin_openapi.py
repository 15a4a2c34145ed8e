"""The OpenAPI 3.1 document of the admin API (`mockllm.server.admin`), served at
``GET /__mockllm/openapi.json``. Written by hand; the config's schema is the one
``mockllm schema`` prints, moved under ``components``."""

from __future__ import annotations

import functools
from typing import Any

import orjson

from .. import __version__
from ..apis import API_BY_KEY
from ..config import Config

__all__ = ["openapi_document", "openapi_paths"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """A request's required JSON body."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _json_object(properties: dict[str, Any], description: str) -> dict[str, Any]:
    """An answer that is a JSON object with these keys, all of them always there."""
    return _json({"type": "object", "properties": properties, "required": list(properties)}, description)


_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "409": {"$ref": "#/components/responses/Conflict"},
    "503": {"$ref": "#/components/responses/StoreUnavailable"},
}
_BAD = {"400": {"$ref": "#/components/responses/BadRequest"}}
_BAD_BODY = {**_BAD, "415": {"$ref": "#/components/responses/UnsupportedMediaType"}}
_MISSING = {"404": {"$ref": "#/components/responses/NotFound"}}
_COUNTS = _json(
    {"type": "object", "properties": {"mocks": _ref("MockCounts")}, "required": ["mocks"]},
    "The change was made; the number of mocks each API serves now.",
)
_CHANGED = _json(
    {
        "type": "object",
        "properties": {
            "mocks": _ref("MockCounts"),
            "warnings": {
                "type": "array",
                "items": _ref("Problem"),
                "description": "Fields and values of the responses that their provider's type does not know.",
            },
        },
        "required": ["mocks", "warnings"],
    },
    "The change was made; the number of mocks each API serves now, and the warnings about the new mocks.",
)
_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The mock's label: its name, else `api[index]` such as `openai[0]` (URL-encoded).",
    "schema": {"type": "string"},
}
_CONFIG_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _ref("Config")}},
    "description": "A config document, in the format of a config file (`listen_addr` is ignored).",
}


def _operation(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, **extra, "responses": {**responses, **_ERRORS}}


def openapi_paths() -> dict[str, dict[str, Any]]:
    """Every admin route, by path and then lower-case method."""
    return {
        "/__mockllm/mocks": {
            "get": _operation(
                "The config served now, valid to PUT back; with calls=true, every mock with its call count.",
                {
                    "200": _json(
                        {"oneOf": [_ref("Config"), _ref("MockList")]},
                        'The config (without `calls`), or `{"mocks": [MockEntry, …]}` (with `calls=true`).',
                    ),
                    **_BAD,
                },
                parameters=[
                    {
                        "name": "calls",
                        "in": "query",
                        "required": False,
                        "description": "`true`: every mock with its label, call count and scenario state.",
                        "schema": {"type": "string", "enum": ["true", "false", "1", "0"]},
                    }
                ],
            ),
            "post": _operation(
                "Append the mocks of a config document, each after the mocks of its API.",
                {"200": _CHANGED, **_BAD_BODY},
                requestBody=_CONFIG_BODY,
            ),
            "put": _operation(
                "Replace every mock with those of a config document; unchanged mocks keep their call counts.",
                {"200": _CHANGED, **_BAD_BODY},
                requestBody=_CONFIG_BODY,
            ),
            "delete": _operation(
                "Remove every mock (POST /__mockllm/reset brings back the startup mocks).", {"200": _COUNTS}
            ),
        },
        "/__mockllm/mocks/{name}": {
            "get": _operation(
                "One mock with its call count (the first, if several share the name).",
                {"200": _json(_ref("MockEntry"), "The mock."), **_MISSING},
                parameters=[_NAME],
            ),
            "delete": _operation(
                "Remove every mock with this label.",
                {
                    "200": _json_object(
                        {"removed": {"type": "integer"}, "mocks": _ref("MockCounts")},
                        "How many mocks were removed, and how many each API serves now.",
                    ),
                    **_MISSING,
                },
                parameters=[_NAME],
            ),
        },
        "/__mockllm/requests": {
            "get": _operation(
                "The journal: the requests received, oldest first.",
                {
                    "200": _json_object(
                        {"requests": {"type": "array", "items": _ref("JournalEntry")}},
                        "The matching requests.",
                    ),
                    **_BAD,
                },
                parameters=[
                    {
                        "name": "api",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(API_BY_KEY)},
                        "description": "Only requests to this API (its config key).",
                    },
                    {
                        "name": "mock",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "Only requests answered by the mock with this label.",
                    },
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer"},
                        "description": "Only requests answered with this HTTP status (404: unmatched).",
                    },
                ],
            ),
            "delete": _operation(
                "Empty the journal.",
                {"200": _json_object({"removed": {"type": "integer"}}, "How many entries were dropped.")},
            ),
        },
        "/__mockllm/scenarios": {
            "get": _operation(
                "Every scenario a mock names, with its state.",
                {
                    "200": _json(
                        {"type": "object", "additionalProperties": {"type": "string"}},
                        '`{scenario: state}`; a scenario that has not moved is `"Started"`.',
                    )
                },
            ),
        },
        "/__mockllm/scenarios/{name}": {
            "put": _operation(
                "Move a scenario to a state.",
                {
                    "200": _json(
                        {"type": "object", "additionalProperties": {"type": "string"}}, "`{scenario: state}`."
                    ),
                    **_BAD_BODY,
                    **_MISSING,
                },
                parameters=[
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                requestBody=_json_body(
                    {
                        "type": "object",
                        "properties": {"state": {"type": "string", "minLength": 1}},
                        "required": ["state"],
                        "additionalProperties": False,
                    }
                ),
            ),
        },
        "/__mockllm/reset": {
            "post": _operation(
                "Back to the startup mocks; forget call counts, scenario states and the journal; start the "
                "chaos draws again from their seed.",
                {"200": _COUNTS},
            ),
        },
        "/__mockllm/openapi.json": {
            "get": _operation("This document.", {"200": _json({"type": "object"}, "OpenAPI 3.1.")}),
        },
        "/__mockllm/ui": {
            "get": _operation(
                "The trace viewer: the journal as a live timeline, for a browser.",
                {
                    "200": {
                        "description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            ),
        },
        "/__mockllm/events": {
            "get": _operation(
                "The journal as server-sent events: each event's `data:` is one journal entry, as "
                "`GET /__mockllm/requests` gives it, sent as its request is recorded.",
                {
                    "200": {
                        "description": "An endless event stream (comment lines keep an idle one open).",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    }
                },
            ),
        },
        "/__mockllm/mock-this": {
            "post": _operation(
                'A mock that matches a request (the trace viewer\'s "Mock this"): builder code, and the '
                "config document it builds.",
                {
                    "200": _json_object(
                        {"builder": {"type": "string"}, "config": _ref("Config")}, "The suggestion."
                    ),
                    "422": {"$ref": "#/components/responses/BadRequest"},
                    **_BAD_BODY,
                },
                requestBody=_json_body(
                    {
                        "type": "object",
                        "properties": {
                            "api": {"type": "string", "enum": list(API_BY_KEY)},
                            "body": {"type": "object", "description": "The request's JSON body."},
                        },
                        "required": ["api", "body"],
                    }
                ),
            ),
        },
    }


def _schemas() -> dict[str, Any]:
    config = Config.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = config.pop("$defs", {})
    schemas["Config"] = config
    schemas["MockCounts"] = {
        "type": "object",
        "properties": {key: {"type": "integer"} for key in API_BY_KEY},
        "description": "How many mocks each API serves.",
    }
    schemas["MockEntry"] = {
        "type": "object",
        "properties": {
            "api": {"type": "string", "enum": list(API_BY_KEY)},
            "name": {"type": "string", "description": "The mock's label: its name, else `api[index]`."},
            "calls": {"type": "integer", "description": "Requests it answered since the last reset."},
            "scenario": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "state": {"type": "string"}},
                        "required": ["name", "state"],
                    },
                ],
                "description": "The mock's scenario and that scenario's state now, or null.",
            },
            "mock": {"type": "object", "description": "The mock, as in a config file."},
        },
        "required": ["api", "name", "calls", "scenario", "mock"],
    }
    schemas["MockList"] = {
        "type": "object",
        "properties": {"mocks": {"type": "array", "items": _ref("MockEntry")}},
        "required": ["mocks"],
    }
    nullable_number = {"type": ["number", "null"]}
    schemas["JournalEntry"] = {
        "type": "object",
        "properties": {
            "api": {"type": ["string", "null"]},
            "method": {"type": "string"},
            "path": {"type": "string"},
            "status": {"type": "integer"},
            "mock": {
                "type": ["string", "null"],
                "description": "The label of the mock that answered, or null.",
            },
            "error": {
                "type": ["string", "null"],
                "description": "Why the request was refused, or the error mock's message.",
            },
            "body": {
                "description": "The parsed JSON body (null if it was not JSON). A body larger than the "
                'journal keeps is `{"truncated": true, "bytes": size, "head": "first bytes as text"}`.'
            },
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Lower-case names; credentials (authorization, x-api-key, …) redacted.",
            },
            "near_misses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "mock": {"type": "string"},
                        "reasons": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "time": {"type": "number", "description": "Unix seconds."},
            "contract": {
                "type": "array",
                "description": "How the answer did not fit the request, by the contract guard's rules.",
                "items": {
                    "type": "object",
                    "properties": {
                        "rule": {
                            "type": "string",
                            "enum": [
                                "unknown_tool",
                                "tool_arguments",
                                "structured_output",
                                "tools_forbidden",
                                "forced_tool",
                                "parallel_calls",
                            ],
                        },
                        "path": {"type": "string", "description": "JSON path into the answer."},
                        "message": {"type": "string"},
                    },
                    "required": ["rule", "path", "message"],
                },
            },
            "events_sent": {"type": ["integer", "null"]},
            "events_total": {"type": ["integer", "null"]},
            "fault": {"type": ["string", "null"]},
            "ttfb_ms": nullable_number,
            "duration_ms": nullable_number,
            "client_left": {"type": "boolean"},
        },
        "required": [
            "api",
            "method",
            "path",
            "status",
            "mock",
            "body",
            "headers",
            "near_misses",
            "time",
            "contract",
        ],
        "description": "Delivery fields (events_sent … client_left): only for timing or fault mocks.",
    }
    schemas["Problem"] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "JSON path, such as $.openai[0].match"},
            "message": {"type": "string"},
        },
        "required": ["path", "message"],
    }
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "problems": {"type": "array", "items": _ref("Problem")},
                },
                "required": ["message"],
            }
        },
        "required": ["error"],
    }
    return schemas


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


@functools.cache
def openapi_document() -> bytes:
    """The document as JSON bytes (made on first use)."""
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "mockllm admin API",
            "version": __version__,
            "description": "Control a running mockllm server from a test suite in any language. Without "
            "--admin-token only loopback clients may use it; with one, send `Authorization: Bearer <token>`.",
        },
        "paths": openapi_paths(),
        "components": {
            "schemas": _schemas(),
            "responses": {
                "BadRequest": _error("Bad input, with the JSON path of each problem; nothing was changed."),
                "Unauthorized": _error("--admin-token is set and the request did not send it."),
                "Forbidden": _error(
                    "A page of another site sent it (its Origin is not this server's), or no --admin-token"
                    " is set and the client is not on loopback or named another host than this machine."
                ),
                "UnsupportedMediaType": _error("The body was not sent as application/json."),
                "NotFound": _error("No mock or scenario has that name."),
                "Conflict": _error(
                    "The server runs several worker processes without a shared store (--state), or keeps"
                    " no journal."
                ),
                "StoreUnavailable": _error("The shared state store (--state) does not answer; try again."),
            },
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"adminToken": []}],
    }
    return orjson.dumps(document)
