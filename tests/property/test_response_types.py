"""The load check of the contract guard, against responses generated from the shipped schemas.

The generator here reads the JSON Schemas on its own (``$ref``, ``anyOf``/``oneOf``, ``enum``,
``const``, ``type``, ``properties``, ``additionalProperties``, ``items``), independently of the
checkers the guard compiles from them. Two properties, for every API:

- a response that fits its type never trips the check (no error, no warning);
- a one-character typo of any field name (a letter dropped, added, changed, or two swapped)
  always fails it, with the did-you-mean naming the field.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockllm.apis import APIS
from mockllm.contract.shapes import check_response, json_path, written_schema
from mockllm.server.registry import ADAPTERS

MAX_DEPTH = 5
"""Below this, objects are drawn empty and arrays short: the types contain themselves (Gemini's
``Schema``), and no field is required."""

Site = tuple[tuple[str | int, ...], str, frozenset[str]]
"""A field of a generated response: the path of its object, its name, the names its type knows."""


class Generator:
    def __init__(self, api: str) -> None:
        self.kind = ADAPTERS[api].response_type  # type: ignore[index]
        self.root = written_schema(self.kind)  # the schema as a config may write it
        self.defs: dict[str, Any] = self.root.get("$defs", {})

    def response(self, data: st.DataObject) -> tuple[dict[str, Any], list[Site]]:
        sites: list[Site] = []
        value = self.value(data, self.root, (), 0, sites)
        assert isinstance(value, dict)
        return value, sites

    def value(
        self, data: st.DataObject, schema: Any, path: tuple[str | int, ...], depth: int, sites: list[Site]
    ) -> Any:
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            return self.value(data, self.defs[schema["$ref"].rsplit("/", 1)[1]], path, depth, sites)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branch = data.draw(st.sampled_from(schema[key]))
                return self.value(data, branch, path, depth, sites)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return data.draw(st.sampled_from(schema["enum"]))
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = data.draw(st.sampled_from(kind))
        if kind == "object" or "properties" in schema:
            properties: dict[str, Any] = schema.get("properties", {})
            out: dict[str, Any] = {}
            if properties:
                if depth >= MAX_DEPTH:
                    return out
                # The response itself has a field at least: a site for the typo.
                fields = st.lists(
                    st.sampled_from(sorted(properties)), min_size=depth == 0, max_size=4, unique=True
                )
                names = data.draw(fields)
                for name in names:
                    out[name] = self.value(data, properties[name], (*path, name), depth + 1, sites)
                    sites.append((path, name, frozenset(properties)))
                return out
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and depth < MAX_DEPTH:
                for key in data.draw(
                    st.lists(st.text(string.ascii_letters, min_size=1, max_size=6), max_size=2)
                ):
                    out[key] = self.value(data, extra, (*path, key), depth + 1, sites)
            return out
        if kind == "array":
            if depth >= MAX_DEPTH or not isinstance(schema.get("items"), dict):
                return []
            count = data.draw(st.integers(0, 2))
            return [self.value(data, schema["items"], (*path, i), depth + 1, sites) for i in range(count)]
        if kind == "string":
            return data.draw(st.text(max_size=8))
        if kind == "integer":
            return data.draw(st.integers(-(2**31), 2**31))
        if kind == "number":
            return data.draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
        if kind == "boolean":
            return data.draw(st.booleans())
        if kind == "null":
            return None
        return data.draw(st.one_of(st.none(), st.integers(), st.text(max_size=4)))  # any value


GENERATORS = {spec.key: Generator(spec.key) for spec in APIS}


def _typos(name: str) -> st.SearchStrategy[str]:
    """``name`` with one edit: a letter dropped, added, changed, or two neighbours swapped."""
    letters = string.ascii_lowercase + "_"
    at = st.integers(0, len(name) - 1)
    dropped = at.map(lambda i: name[:i] + name[i + 1 :])
    added = st.tuples(st.integers(0, len(name)), st.sampled_from(letters)).map(
        lambda t: name[: t[0]] + t[1] + name[t[0] :]
    )
    changed = st.tuples(at, st.sampled_from(letters)).map(lambda t: name[: t[0]] + t[1] + name[t[0] + 1 :])
    edits = [dropped, added, changed]
    if len(name) > 1:
        edits.append(
            st.integers(0, len(name) - 2).map(lambda i: name[:i] + name[i + 1] + name[i] + name[i + 2 :])
        )
    return st.one_of(edits)


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@pytest.mark.parametrize("api", [spec.key for spec in APIS])
@given(data=st.data())
def test_a_response_that_fits_its_type_never_trips_the_check(api: str, data: st.DataObject) -> None:
    generator = GENERATORS[api]
    response, _ = generator.response(data)
    assert check_response(generator.kind, response) == []


@pytest.mark.parametrize("api", [spec.key for spec in APIS])
@given(data=st.data())
def test_a_one_character_typo_of_any_field_always_fails_the_load(api: str, data: st.DataObject) -> None:
    generator = GENERATORS[api]
    response, sites = generator.response(data)
    path, name, known = data.draw(st.sampled_from(sites))
    typo = data.draw(_typos(name).filter(lambda t: t and t not in known))
    holder = _at(response, path)
    holder[typo] = holder.pop(name)
    findings = [f for f in check_response(generator.kind, response) if f.path == (*path, typo)]
    assert findings, f"no finding at {json_path((*path, typo))}"
    assert findings[0].error, findings[0].message
    assert "did you mean" in findings[0].message
