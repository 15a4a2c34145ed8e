"""Hypothesis strategies of the values a JSON Schema accepts: the schemas agents declare their tools
with, as the SDKs send them — pydantic's (``$defs`` and ``$ref``, ``anyOf`` for optional fields),
OpenAI's ``strict`` ones (every key required, no other key), Gemini's OpenAPI subset (upper-case
types, ``nullable``).

``hypothesis-jsonschema`` would be the library of the field, but its last release (0.23, 2024)
draws through hypothesis internals that hypothesis has since changed, and fails on any object
schema under today's hypothesis. This covers the keywords tool schemas use; every value drawn is
checked against the schema by the contract guard's validator, so a keyword drawn loosely (a
``multipleOf``, a ``format``) costs a rejected draw, never an invalid value.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

__all__ = ["normalized", "schema_values"]

MAX_ITEMS = 4
"""The most items an array without ``maxItems`` is drawn with (tool arguments stay small)."""
MAX_DEPTH = 4
"""How deep a recursive ``$ref`` is followed before only its smallest values are drawn."""

SAFE_INTEGER = 2**53
"""The bound of an integer drawn without one: JSON's safe integers, which every SDK reads back."""

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-SAFE_INTEGER, SAFE_INTEGER) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=6), inner, max_size=2),
    max_leaves=4,
)


def normalized(schema: Any) -> Any:
    """``schema`` in plain JSON Schema: Gemini's upper-case types lower-cased, OpenAPI's
    ``nullable: true`` as a null type."""
    if isinstance(schema, list):
        return [normalized(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: value if key in ("enum", "const", "default", "example") else normalized(value)
        for key, value in schema.items()
    }
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = kind.lower()
    elif isinstance(kind, list):
        out["type"] = [k.lower() if isinstance(k, str) else k for k in kind]
    if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def schema_values(schema: dict[str, Any]) -> SearchStrategy[Any]:
    """The values ``schema`` accepts (``schema`` as `normalized` gives it)."""
    drawn = _values(schema, schema, 0)
    try:
        validator = jsonschema_rs.validator_for(schema)
    except Exception:  # a schema the validator cannot read: what is drawn is all there is
        return drawn
    return drawn.filter(validator.is_valid)


def _values(schema: Any, root: dict[str, Any], depth: int) -> SearchStrategy[Any]:
    if schema is True or schema == {}:
        return _JSON
    if not isinstance(schema, dict):
        return st.nothing()
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _values(_resolve(ref, root), root, depth + 1)
    if "const" in schema:
        return st.just(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            rest = {k: v for k, v in schema.items() if k != key}
            return st.one_of([_values({**rest, **option}, root, depth) for option in options])
    every = schema.get("allOf")
    if isinstance(every, list) and every:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in every:
            if isinstance(part, dict):
                merged = {**merged, **part}
        return _values(merged, root, depth)
    kind = schema.get("type", _kind_of(schema))
    if isinstance(kind, list):
        return st.one_of([_values({**schema, "type": k}, root, depth) for k in kind])
    return _of_kind(kind, schema, root, depth)


def _kind_of(schema: dict[str, Any]) -> str | None:
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _of_kind(kind: Any, schema: dict[str, Any], root: dict[str, Any], depth: int) -> SearchStrategy[Any]:
    if kind == "object":
        return _object(schema, root, depth)
    if kind == "array":
        return _array(schema, root, depth)
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        low, high = _bounds(schema)
        return st.integers(
            -SAFE_INTEGER if low is None else int(-(-low // 1)),
            SAFE_INTEGER if high is None else int(high // 1),
        )
    if kind == "number":
        low, high = _bounds(schema)
        return st.floats(
            -1e15 if low is None else low,
            1e15 if high is None else high,
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return _JSON


def _bounds(schema: dict[str, Any]) -> tuple[float | None, float | None]:
    low, high = schema.get("minimum"), schema.get("maximum")
    low = schema.get("exclusiveMinimum", low) if low is None else low
    high = schema.get("exclusiveMaximum", high) if high is None else high
    return (
        low if isinstance(low, int | float) and not isinstance(low, bool) else None,
        high if isinstance(high, int | float) and not isinstance(high, bool) else None,
    )


_FORMATS: dict[str, SearchStrategy[str]] = {
    "date-time": st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    "date": st.dates().map(str),
    "time": st.times().map(lambda moment: moment.isoformat() + "Z"),
    "uuid": st.uuids().map(str),
    "email": st.emails(),
    "uri": st.sampled_from(["https://example.com/", "https://example.org/a?b=c"]),
}


def _string(schema: dict[str, Any]) -> SearchStrategy[str]:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and _compiles(pattern):
        return st.from_regex(pattern).filter(
            lambda text: low <= len(text) <= (high if high is not None else len(text))
        )
    form = _FORMATS.get(schema.get("format", ""))
    if form is not None:
        return form
    return st.text(min_size=low, max_size=high if high is not None else max(low, 20))


def _compiles(pattern: str) -> bool:
    """Whether Python reads ``pattern`` (JSON Schema's are ECMA-262's: most, not all, are the
    same); one it does not is left to the validator's filter."""
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _array(schema: dict[str, Any], root: dict[str, Any], depth: int) -> SearchStrategy[Any]:
    low = schema.get("minItems", 0)
    high = schema.get("maxItems", max(low, MAX_ITEMS))
    first = schema.get("prefixItems")
    items = schema.get("items", True)
    if isinstance(first, list):
        return st.tuples(*(_values(item, root, depth + 1) for item in first)).map(list)
    if depth >= MAX_DEPTH:  # a recursive schema, deep enough
        return st.just([]) if low == 0 else st.nothing()
    element = _values(items, root, depth + 1)
    return st.lists(
        element, min_size=low, max_size=high, unique_by=_key if schema.get("uniqueItems") else None
    )


def _key(value: Any) -> str:
    return repr(value)


def _object(schema: dict[str, Any], root: dict[str, Any], depth: int) -> SearchStrategy[Any]:
    properties = schema.get("properties") or {}
    required = [name for name in schema.get("required") or () if isinstance(name, str)]
    if depth >= MAX_DEPTH:  # a recursive schema, deep enough: its required keys alone
        properties = {name: properties.get(name, True) for name in required}
    must = {name: _values(properties.get(name, True), root, depth + 1) for name in required}
    may = {name: _values(value, root, depth + 1) for name, value in properties.items() if name not in must}
    fixed = st.fixed_dictionaries(must, optional=may)
    extra = schema.get("additionalProperties")
    if not isinstance(extra, dict) or depth >= MAX_DEPTH:
        return fixed
    names = st.text(min_size=1, max_size=8).filter(lambda name: name not in properties)
    others = st.dictionaries(names, _values(extra, root, depth + 1), max_size=2)
    return st.builds(lambda known, more: {**more, **known}, fixed, others)


def _resolve(ref: str, root: dict[str, Any]) -> Any:
    """A local ``$ref`` (``#/$defs/Name``, ``#/definitions/Name``, ``#``); another is any value."""
    if not ref.startswith("#"):
        return True
    target: Any = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            return True
        target = target[part]
    return target
