"""The load half of the contract guard: a mock's ``response`` against its provider's response type.

The types are JSON Schemas captured from the official SDKs (``schemas/<api>.json``, written by
``scripts/capture_schemas.py``). Each is compiled once into a tree of checkers that walks a
response at full depth. Fields are never required (the server fills in what a response leaves
out); what is checked is what is there:

- a value of the wrong JSON type is an error;
- an unknown field, or an unknown value of a field with fixed values (``finish_reason``,
  ``stop_reason``, roles, item types), is an error when it is a typo of a known one (one edit away,
  two for long names, or the same but for case), with the did-you-mean; any other is a warning
  naming what is allowed, since real configs carry fields the SDK types do not know;
- an empty object where the type allows null is taken as null.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs
import orjson

__all__ = [
    "Finding",
    "ResponseType",
    "check_response",
    "closest",
    "each_object",
    "json_path",
    "response_schema",
    "schema_defs",
    "written_schema",
]

Path = tuple[str | int, ...]
Trail = tuple[Any, ...]
"""Where the walk is, built as it goes down: ``(parent trail, key)``, ``()`` at the top; made into
a `Path` only for a finding (a tuple of two is the cheapest thing to make at every field)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with a response: where (below ``response``), what, and how bad."""

    trail: Trail
    message: str
    error: bool
    """An error fails the load; a warning is reported and the mock served."""
    unknown: bool
    """About a field or value the type does not know (what ``allow_unknown_fields`` lets through),
    rather than a wrong type (which nothing lets through)."""

    @property
    def path(self) -> Path:
        """The keys and indexes from the response down to the value at fault."""
        steps: list[str | int] = []
        trail = self.trail
        while trail:
            trail, step = trail
            steps.append(step)
        return tuple(reversed(steps))


@dataclass(frozen=True)
class ResponseType:
    """What an API's ``response`` is: a shipped schema, and what a config may write beyond it."""

    schema: str
    """The schema's name under ``schemas/`` (the API's config key)."""
    lenient: tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...] = ()
    """``(type, field, schema)``: the field of that ``$defs`` type may also be written as
    ``schema`` (given as key-value pairs), because the server turns it into what the wire has
    (chat's tool-call ``arguments`` as an object, which is sent as a JSON string)."""


def check_response(kind: ResponseType, response: Any) -> list[Finding]:
    """Everything wrong with ``response`` as a response of ``kind``; [] when it fits.

    Most responses fit: ``jsonschema-rs`` says so first, in about a sixth of the time the checkers
    take (0.1 s less for a config of 100,000 mocks than 0.5 s); only a response it refuses is walked
    to find what is wrong, and how badly."""
    try:
        if _fits_wholly(kind).is_valid(response):
            return []
    except (ValueError, TypeError, OverflowError, RecursionError):  # a value JSON has no word for
        pass
    found: list[Finding] = []
    _checker(kind).check(response, (), found)
    return found


@cache
def _fits_wholly(kind: ResponseType) -> jsonschema_rs.Validator:
    """A validator that takes exactly the responses the checkers find nothing in: no field
    required (the server fills them in), and none but the known ones allowed."""

    def close(out: dict[str, Any], properties: dict[str, Any]) -> None:
        out.pop("required", None)
        out["additionalProperties"] = False

    return jsonschema_rs.validator_for(each_object(written_schema(kind), close))


_SCHEMA_MAPS = frozenset(("properties", "patternProperties", "dependentSchemas", "$defs", "definitions"))
"""The keywords whose value maps names to schemas."""


def each_object(schema: Any, change: Callable[[dict[str, Any], dict[str, Any]], None]) -> Any:
    """A copy of the JSON Schema ``schema`` in which ``change(copy, properties)`` was made to each
    schema of an object with ``properties``. A map of names to schemas is no schema: its names (a
    property called "properties") are not keywords."""
    if isinstance(schema, list):
        return [each_object(item, change) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: {name: each_object(item, change) for name, item in value.items()}
        if key in _SCHEMA_MAPS and isinstance(value, dict)
        else each_object(value, change)
        for key, value in schema.items()
    }
    properties = schema.get("properties")
    if isinstance(properties, dict):
        change(out, properties)
    return out


def json_path(path: Path) -> str:
    """``path`` as the rest of a JSON path: ``.choices[0].finish_reason``."""
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)


@cache
def response_schema(api: str) -> dict[str, Any]:
    """The JSON Schema of ``api``'s response, as shipped."""
    schema: dict[str, Any] = orjson.loads(files(__package__).joinpath("schemas", f"{api}.json").read_bytes())
    return schema


# --- how close a name is to a known one ----------------------------------------------------------


def _distance(a: str, b: str, limit: int) -> int:
    """The optimal-string-alignment distance of ``a`` and ``b`` (an edit is an insertion, a deletion,
    a substitution or a swap of neighbours), or ``limit + 1`` once it is sure to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], before[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        before, previous = previous, row
    return previous[-1]


def closest(name: str, known: list[str]) -> str | None:
    """The known name ``name`` is a typo of, if any: the same but for case, one edit away, or two
    for names of eight characters or more."""
    folded = name.casefold()
    best: tuple[int, str] | None = None
    for candidate in known:
        if candidate.casefold() == folded:
            return candidate
        limit = 2 if min(len(candidate), len(name)) >= 8 else 1
        distance = _distance(name, candidate, limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


def _listed(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --- the checkers ----------------------------------------------------------------------------------

_PYTHON_TYPES = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "null": (type(None),),
}
_KINDS = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
_SHOWN = {"object": "an object", "array": "an array", "string": "a string", "boolean": "true or false"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kind = _KINDS.get(type(value))
    if kind is None:  # a subclass (pydantic and orjson make none; a builder's caller might)
        kind = next((k for t, k in _KINDS.items() if isinstance(value, t)), "object")
    return kind


def _fits(kind: str, allowed: frozenset[str], value: Any) -> bool:
    if kind in allowed:
        return True
    if kind == "integer":
        return "number" in allowed
    # JSON does not tell 1 from 1.0: a whole number written with a point is an integer too.
    return kind == "number" and "integer" in allowed and float(value).is_integer()


def _expected(allowed: frozenset[str]) -> str:
    names = sorted(
        _SHOWN.get(kind, f"a{'n' if kind[0] in 'aeiou' else ''} {kind}") for kind in allowed - {"null"}
    )
    return " or ".join(names + ["null"] * ("null" in allowed))


class _Checker:
    kinds: frozenset[str] = frozenset()
    """The JSON types the checker accepts (empty: any)."""
    accepts: frozenset[type] = frozenset()
    """The Python types of the values it takes without a look (a string where any string will
    do): the walk does not call it for those, which halves the time a large config takes."""

    def check(self, value: Any, path: Trail, found: list[Finding]) -> None:
        raise NotImplementedError


class _Any(_Checker):
    accepts = frozenset((dict, list, str, bool, int, float, type(None)))

    def check(self, value: Any, path: Trail, found: list[Finding]) -> None:
        return


class _Scalar(_Checker):
    def __init__(self, kinds: frozenset[str], values: tuple[Any, ...] | None) -> None:
        self.kinds = kinds
        self.types = frozenset(t for kind in kinds for t in _PYTHON_TYPES.get(kind, ()))
        """The Python types that fit for sure (the quick test of the values of a large config)."""
        self.accepts = self.types if values is None else frozenset()
        self.values = frozenset(values) if values is not None else None
        self.names = [v for v in values if isinstance(v, str)] if values is not None else []

    def check(self, value: Any, path: Trail, found: list[Finding]) -> None:
        if type(value) not in self.types and not _fits(_kind(value), self.kinds, value):
            found.append(Finding(path, f"expected {_expected(self.kinds)}, got {_shown(value)}", True, False))
        elif self.values is not None and value not in self.values:
            found.append(_unknown_value(value, self.names, path))


class _Array(_Checker):
    kinds = frozenset({"array"})

    def __init__(self) -> None:
        self.items: _Checker = _Any()

    def check(self, value: Any, path: Trail, found: list[Finding]) -> None:
        if type(value) is not list:
            found.append(Finding(path, f"expected an array, got {_shown(value)}", True, False))
            return
        items = self.items
        accepts = items.accepts
        for i, item in enumerate(value):
            if type(item) not in accepts:
                items.check(item, (path, i), found)


class _Map(_Checker):
    """An object of any keys (``metadata``, a tool call's arguments), its values of one type."""

    kinds = frozenset({"object"})

    def __init__(self) -> None:
        self.values: _Checker = _Any()

    def check(self, value: Any, path: Trail, found: list[Finding]) -> None:
        if type(value) is not dict:
            found.append(Finding(path, f"expected an object, got {_shown(value)}", True, False))
            return
        values = self.values
        accepts = values.accepts
        for key, item in value.items():
            if type(item) not in accepts:
                values.check(item, (path, key), found)


class _Record(_Checker):
    """An object of known fields."""

    kinds = frozenset({"object"})

    def __init__(self, name: str) -> None:
        self.name = name
        self.fields: dict[str, _Checker] = {}
        self.accepted: dict[str, frozenset[type]] = {}
        """Each field's ``accepts``, read once the whole schema is built (`seal`)."""

    def seal(self) -> None:
        self.accepted = {key: checker.accepts for key, checker in self.fields.items()}

    def check(self, value: Any, path: Trail, found: list[Finding]) -> None:
        if type(value) is not dict:
            found.append(Finding(path, f"expected an object, got {_shown(value)}", True, False))
            return
        accepted = self.accepted
        for key, item in value.items():
            accepts = accepted.get(key)
            if accepts is None:
                found.append(self._unknown_field(key, (path, key)))
            elif type(item) not in accepts:
                self.fields[key].check(item, (path, key), found)

    def _unknown_field(self, key: str, path: Trail) -> Finding:
        known = list(self.fields)
        typo = closest(key, known)
        if typo is not None:
            return Finding(path, f'unknown field; did you mean "{typo}"?', True, True)
        return Finding(path, f"unknown field; {self.name} has: {_listed(known)}", False, True)


class _Union(_Checker):
    """One of several types (``anyOf``, ``oneOf``): chosen by the value's JSON type, then among
    objects by a field every branch fixes (``type``), else by the fields they know; last, by the
    fewest problems."""

    def __init__(self, branches: list[_Checker]) -> None:
        self.branches = branches
        self.kinds = frozenset()
        self.tag: str | None = None
        self.by_tag: dict[Any, _Checker] = {}
        self.only: dict[type, _Checker] = {}
        """The one branch a value of a Python type can be, where there is one (most unions are a
        type or null): the quick way through."""

    def settle(self) -> None:
        """Read the branches once they are built (a branch may be a type still being compiled)."""
        if any(not branch.kinds for branch in self.branches):
            self.kinds = frozenset()  # a branch takes anything
            return
        self.kinds = frozenset().union(*(branch.kinds for branch in self.branches))
        for python_type in (dict, list, str, bool, int, float, type(None)):
            fitting = [b for b in self.branches if python_type in _types_of(b)]
            if len(fitting) == 1:
                self.only[python_type] = fitting[0]
        self.accepts = frozenset(t for t, branch in self.only.items() if t in branch.accepts)
        records = [b for b in self.branches if isinstance(b, _Record)]
        if len(records) < 2:
            return
        for name in records[0].fields:
            tags = [_fixed_value(record.fields.get(name)) for record in records]
            if all(tag is not None for tag in tags) and len(set(tags)) == len(tags):
                self.tag = name
                self.by_tag = dict(zip(tags, records, strict=True))
                return

    def check(self, value: Any, path: Trail, found: list[Finding]) -> None:
        only = self.only.get(type(value))
        if only is not None:
            only.check(value, path, found)
            return
        if not self.kinds:
            return
        kind = _kind(value)
        fitting = [b for b in self.branches if not b.kinds or _fits(kind, b.kinds, value)]
        if not fitting:
            if value == {} and "null" in self.kinds:  # an empty object where null is allowed
                return
            found.append(Finding(path, f"expected {_expected(self.kinds)}, got {_shown(value)}", True, False))
            return
        if len(fitting) == 1:
            fitting[0].check(value, path, found)
            return
        if kind == "object" and self.tag is not None and self.tag in value:
            tag = value[self.tag]
            branch = self.by_tag.get(tag) if isinstance(tag, str | int) else None
            if branch is None:
                names = [t for t in self.by_tag if isinstance(t, str)]
                found.append(_unknown_value(tag, names, (path, self.tag)))
                return
            branch.check(value, path, found)
            return
        if kind == "object":  # the branches that know most of the value's fields
            overlap = [
                sum(key in b.fields for key in value) if isinstance(b, _Record) else 0 for b in fitting
            ]
            fitting = [b for b, count in zip(fitting, overlap, strict=True) if count == max(overlap)]
        best: list[Finding] | None = None
        for branch in fitting:
            tried: list[Finding] = []
            branch.check(value, path, tried)
            if best is None or _weight(tried) < _weight(best):
                best = tried
            if not tried:
                break
        found += best or ()


def _types_of(checker: _Checker) -> frozenset[type]:
    if isinstance(checker, _Scalar):
        return checker.types
    return frozenset(t for kind in checker.kinds for t in _PYTHON_TYPES[kind])


def _weight(found: list[Finding]) -> tuple[int, int, int]:
    """How badly a branch of a union fits, least first: wrong types, then fields it does not know,
    then typos of fields it knows (a branch whose field the value misspells is the one meant)."""
    wrong = sum(not f.unknown for f in found)
    typos = sum(f.unknown and f.error for f in found)
    return wrong, len(found) - wrong - typos, typos


def _fixed_value(checker: _Checker | None) -> Any:
    if isinstance(checker, _Scalar) and checker.values is not None and len(checker.values) == 1:
        return next(iter(checker.values))
    return None


def _unknown_value(value: Any, names: list[str], path: Trail) -> Finding:
    shown = ", ".join(f'"{name}"' for name in names[:20]) + (" …" if len(names) > 20 else "")
    typo = closest(value, names) if isinstance(value, str) else None
    if typo is not None:
        return Finding(path, f'unknown value {_shown(value)}; did you mean "{typo}"?', True, True)
    return Finding(path, f"unknown value {_shown(value)}; known values: {shown}", False, True)


def _shown(value: Any) -> str:
    text = orjson.dumps(value, default=repr).decode()
    return text if len(text) <= 60 else text[:57] + "..."


# --- compiling a schema ----------------------------------------------------------------------------


@cache
def _checker(kind: ResponseType) -> _Checker:
    schema = written_schema(kind)
    return _Compiler(schema).checker(schema, schema.get("title", "the response"))


def written_schema(kind: ResponseType) -> dict[str, Any]:
    """The schema of a response as a config may write it: the provider's, with ``lenient``."""
    schema = response_schema(kind.schema)
    if not kind.lenient:
        return schema
    defs = dict(schema["$defs"])
    for name, field, extra in kind.lenient:
        properties = {**defs[name]["properties"]}
        properties[field] = {"anyOf": [properties[field], dict(extra)]}
        defs[name] = {**defs[name], "properties": properties}
    return {**schema, "$defs": defs}


def schema_defs(kind: ResponseType, name: str) -> dict[str, Any]:
    """The schema of ``kind`` as ``$defs`` entries of another schema (``mockllm schema``'s): ``name``
    for the response itself, ``name.Type`` for each of its types."""
    schema = written_schema(kind)

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: f"#/$defs/{name}.{item.rsplit('/', 1)[1]}" if key == "$ref" else moved(item)
                for key, item in value.items()
                if key != "required" or not isinstance(item, list)  # the server fills them in
            }
        return [moved(item) for item in value] if isinstance(value, list) else value

    root = {key: value for key, value in schema.items() if key not in ("$defs", "$schema", "$comment")}
    defs = {f"{name}.{key}": moved(value) for key, value in schema.get("$defs", {}).items()}
    return {name: moved(root), **defs}


class _Compiler:
    """A JSON Schema of the subset the captured types use (``$ref`` into ``$defs``, ``anyOf``,
    ``oneOf``, ``allOf`` of one, ``type``, ``enum``, ``const``, ``properties``,
    ``additionalProperties``, ``items``) made into checkers, each ``$defs`` entry once."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = root.get("$defs", {})
        self.built: dict[str, _Checker] = {}
        self.unions: list[_Union] = []
        self.records: list[_Record] = []

    def checker(self, schema: dict[str, Any], name: str = "the response") -> _Checker:
        made = self._make(schema, name)
        for union in self.unions:  # inner unions first (made first): an outer one reads their kinds
            union.settle()
        for record in self.records:
            record.seal()
        return made

    def _make(self, schema: dict[str, Any], name: str) -> _Checker:
        ref = schema.get("$ref")
        if ref is not None:
            target = ref.rsplit("/", 1)[1]
            if target not in self.built:
                self._define(target)
            return self.built[target]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                union = _Union([self._make(branch, name) for branch in schema[key]])
                self.unions.append(union)
                return union
        if len(schema.get("allOf", ())) == 1:
            return self._make(schema["allOf"][0], name)
        kind = schema.get("type")
        if kind == "object" or (kind is None and "properties" in schema):
            if "properties" in schema:
                return self._record(name, schema)
            mapping = _Map()
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                mapping.values = self._make(extra, name)
            return mapping
        if kind == "array":
            array = _Array()
            if isinstance(schema.get("items"), dict):
                array.items = self._make(schema["items"], name)
            return array
        if "const" in schema:
            values: tuple[Any, ...] | None = (schema["const"],)
        else:
            values = tuple(schema["enum"]) if "enum" in schema else None
        if kind is None:
            if values is None:
                return _Any()
            kinds = frozenset(_kind(value) for value in values)
        else:
            kinds = frozenset(kind) if isinstance(kind, list) else frozenset((kind,))
        return _Scalar(kinds, values)

    def _record(self, name: str, schema: dict[str, Any]) -> _Record:
        record = _Record(name)
        if name in self.defs:
            self.built[name] = record  # before its fields, for the types that contain themselves
        self.records.append(record)
        record.fields = {key: self._make(value, key) for key, value in schema["properties"].items()}
        return record

    def _define(self, name: str) -> None:
        """Build a ``$defs`` entry; a record is registered before its fields, for the types that
        contain themselves."""
        schema = self.defs[name]
        if "properties" in schema and "$ref" not in schema:
            self._record(name, schema)
            return
        self.built[name] = _Any()  # a placeholder, in case the entry refers to itself
        self.built[name] = self._make(schema, name)
