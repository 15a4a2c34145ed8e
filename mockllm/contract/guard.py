"""The request half of the contract guard: an answer against the request it answers.

An agent declares its tools (and may ask for structured output) in each request; a mock answers
with tool calls and texts written when the test was. The guard checks that they still fit:

- ``unknown_tool``: a tool call's name is among the request's declared tools;
- ``tool_arguments``: its arguments validate against that tool's JSON Schema;
- ``structured_output``: an answer to a request for structured output is JSON of its schema;
- ``tools_forbidden``: no tool call when the request forbids them;
- ``forced_tool``: the tool the request forces (or any tool, when it requires one) is called;
- ``parallel_calls``: one call at most when the request turns parallel calls off.

Each API reads its own request and answer into `Asked` and `Said` (its `ContractTerms`, in the
adapter); the rules here are the same for all. Validators are compiled once per schema (with
``jsonschema-rs``), the verdict on an answer is kept for the next request that declares the same
(an agent's next turn), and an answer without tool calls, to a request that asks nothing of its
shape, costs one look at the request's keys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jsonschema_rs
import orjson

from .shapes import each_object

__all__ = [
    "AUTO",
    "NONE",
    "NOTHING_SAID",
    "REQUIRED",
    "Asked",
    "Call",
    "ContractMode",
    "ContractProblem",
    "ContractTerms",
    "Guard",
    "OutputFormat",
    "Said",
    "Tool",
    "closed",
]

_log = logging.getLogger("mockllm")


class ContractMode(StrEnum):
    OFF = "off"
    """Nothing is checked."""
    WARN = "warn"
    """Problems are journaled and logged once per mock and rule; the answer goes out."""
    ERROR = "error"
    """A request with problems is answered with a 400 in the provider's shape listing them."""


@dataclass(frozen=True, slots=True)
class ContractProblem:
    """One way an answer does not fit its request."""

    rule: str
    """``unknown_tool``, ``tool_arguments``, ``structured_output``, ``tools_forbidden``,
    ``forced_tool`` or ``parallel_calls``."""
    path: str
    """A JSON path into the answer: ``$.choices[0].message.tool_calls[0]``."""
    message: str

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.rule} at {self.path}: {self.message}"


@dataclass(slots=True)
class Tool:
    """A tool the request declares."""

    schema: Any = None
    """The JSON Schema of its arguments; None for a tool whose input is free text."""
    strict: bool = False
    """Declared ``strict``: every property required and no other allowed, as the provider
    enforces when it generates the call."""


@dataclass(slots=True)
class OutputFormat:
    """Structured output the request asks for."""

    schema: Any = None
    """The JSON Schema of the answer's text; None when any JSON will do (JSON mode)."""
    strict: bool = False


AUTO = "auto"
NONE = "none"
REQUIRED = "required"


@dataclass(slots=True)
class Asked:
    """What a request says of the answer it wants."""

    tools: Mapping[str, Any] = field(default_factory=dict)
    """The tools it declares, by name: each as the request declares it (the terms' ``tool`` reads
    the one a call names, so the others cost nothing)."""
    choice: str = AUTO
    """``auto``, ``none`` (no tool call) or ``required`` (at least one)."""
    forced: frozenset[str] = frozenset()
    """With ``required``: the tools the calls may be of (empty: any declared tool)."""
    parallel: bool = True
    """Whether several calls in one answer are allowed."""
    output: OutputFormat | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """A tool call of an answer."""

    path: str
    name: str
    arguments: Any
    """The arguments as the answer holds them: an object, or a string of JSON (OpenAI's)."""
    arguments_path: str = ""
    """The JSON path of the arguments (each API keeps them under its own key); empty:
    ``{path}.arguments``."""
    id: str | None = None
    """What the tool's result refers to the call by: its id (Ollama's results name the tool)."""


@dataclass(frozen=True, slots=True)
class Said:
    """What an answer holds that a request's terms apply to."""

    calls: tuple[Call, ...] = ()
    texts: tuple[tuple[str, str], ...] = ()
    """``(path, text)``: the text a structured-output request wants to be JSON, per message."""


NOTHING_SAID = Said()


@dataclass(frozen=True)
class ContractTerms:
    """How an API's requests and answers are read for the guard (a field of its adapter)."""

    asked: Callable[[dict[str, Any]], Asked]
    tool: Callable[[Any], Tool]
    """Reads one of ``Asked.tools``: its arguments' schema, and whether it is strict."""
    said: Callable[[dict[str, Any]], Said]
    """Reads a response as served (filled in)."""
    reads: tuple[str, ...]
    """Every request key ``asked`` reads: the same values of them, to the same answer, get the same
    verdict (an agent sends the same tools on every turn), which the guard keeps."""
    demands: frozenset[str]
    """The request keys that can ask something of an answer without tool calls (a forced tool,
    structured output): a request with none of them is not read for such an answer."""


class Guard:
    """The server's contract guard: its mode, the validators it compiled, the verdicts it reached,
    and the problems it logged already (each once per mock and rule)."""

    def __init__(self, mode: ContractMode | str = ContractMode.WARN) -> None:
        self.mode = ContractMode(mode)
        self._validators: dict[bytes, jsonschema_rs.Validator | None] = {}
        self._verdicts: dict[tuple[int, bytes], tuple[Said, tuple[ContractProblem, ...]]] = {}
        """The problems found, by the answer (its identity: each is held with its verdict, so no
        other takes its id) and what the request's terms read."""
        self._logged: dict[tuple[int, str], Any] = {}
        """The mocks logged, by identity and rule (each held, so that no other takes its id)."""
        self._lock = threading.Lock()

    def check(self, terms: ContractTerms, body: dict[str, Any], said: Said) -> tuple[ContractProblem, ...]:
        """The problems of an answer that says ``said`` to the request ``body``."""
        if not said.calls and terms.demands.isdisjoint(body):
            return ()
        try:
            key: tuple[int, bytes] | None = (id(said), orjson.dumps([body.get(name) for name in terms.reads]))
        except orjson.JSONEncodeError:  # nested too deeply to write: checked, not kept
            key = None
        if key is not None:
            known = self._verdicts.get(key)
            if known is not None and known[0] is said:
                return known[1]
        problems = self._verdict(terms, body, said)
        if key is not None:
            if len(self._verdicts) >= _MAX_VERDICTS:
                self._verdicts.clear()
            self._verdicts[key] = (said, problems)
        return problems

    def _verdict(self, terms: ContractTerms, body: dict[str, Any], said: Said) -> tuple[ContractProblem, ...]:
        asked = terms.asked(body)
        problems: list[ContractProblem] = []
        if said.calls:
            self._check_calls(terms, asked, said.calls, problems)
        elif asked.choice != AUTO and asked.choice != NONE:
            which = f'the tool "{next(iter(asked.forced))}"' if len(asked.forced) == 1 else "a tool"
            problems.append(
                ContractProblem(
                    "forced_tool", "$", f"the request forces a call of {which}; the answer has none"
                )
            )
        if asked.output is not None and not said.calls:
            for path, text in said.texts:
                self._check_output(asked.output, path, text, problems)
        return tuple(problems)

    def log_once(self, mock: Any, label: str, problems: tuple[ContractProblem, ...]) -> None:
        """Log each problem of ``mock`` once per rule: an agent loop repeats them on every turn."""
        for problem in problems:
            key = (id(mock), problem.rule)
            if key in self._logged:
                continue
            if len(self._logged) >= _MAX_VERDICTS:  # mocks come and go at run time: bounded
                self._logged.clear()
            self._logged[key] = mock
            _log.warning("contract: mock %s: %s (logged once per mock and rule)", label, problem)

    def _check_calls(
        self, terms: ContractTerms, asked: Asked, calls: tuple[Call, ...], problems: list[ContractProblem]
    ) -> None:
        declared = asked.tools
        if asked.choice == NONE:
            problems.append(
                ContractProblem(
                    "tools_forbidden", calls[0].path, "the request forbids tool calls (tool choice none)"
                )
            )
        if asked.forced:
            wanted = " or ".join(f'"{name}"' for name in sorted(asked.forced))
            asks = f"forces a call of {wanted}" if asked.choice == REQUIRED else f"allows only {wanted}"
            for call in calls:
                if call.name not in asked.forced:
                    message = f'the request {asks}; the answer calls "{call.name}"'
                    problems.append(ContractProblem("forced_tool", call.path, message))
        if not asked.parallel and len(calls) > 1:
            message = f"the request turns parallel tool calls off; the answer makes {len(calls)} calls"
            problems.append(ContractProblem("parallel_calls", calls[1].path, message))
        for call in calls:
            declaration = declared.get(call.name)
            if declaration is None:
                if declared:
                    known = ", ".join(f'"{name}"' for name in declared)
                    message = f'the answer calls "{call.name}"; the request declares {known}'
                else:
                    message = f'the answer calls "{call.name}"; the request declares no tools'
                problems.append(ContractProblem("unknown_tool", call.path, message))
                continue
            tool = terms.tool(declaration)
            if tool.schema is not None:
                self._check_arguments(call, tool, problems)

    def _check_arguments(self, call: Call, tool: Tool, problems: list[ContractProblem]) -> None:
        arguments = call.arguments
        path = call.arguments_path or f"{call.path}.arguments"
        if isinstance(arguments, str):
            try:
                arguments = orjson.loads(arguments) if arguments else {}
            except orjson.JSONDecodeError as exc:
                problems.append(ContractProblem("tool_arguments", path, f"not JSON: {exc}"))
                return
        for message in self._invalid(tool.schema, tool.strict, arguments):
            problems.append(ContractProblem("tool_arguments", path, f'{message} (tool "{call.name}")'))

    def _check_output(
        self, output: OutputFormat, path: str, text: str, problems: list[ContractProblem]
    ) -> None:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            shown = text if len(text) <= 40 else text[:37] + "..."
            problems.append(
                ContractProblem(
                    "structured_output", path, f"the request asks for JSON; the answer is {shown!r}"
                )
            )
            return
        if output.schema is not None:
            for message in self._invalid(output.schema, output.strict, value):
                problems.append(ContractProblem("structured_output", path, message))

    def _invalid(self, schema: Any, strict: bool, value: Any) -> list[str]:
        """Why ``value`` does not fit ``schema``: each error with where in the value it is."""
        validator = self._validator(schema, strict)
        if validator is None or validator.is_valid(value):
            return []
        messages = []
        for error in validator.iter_errors(value):
            where = "".join(
                f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.instance_path
            )
            messages.append(f"{'$' + where if where else 'the value'}: {error.message}")
        return messages

    def _validator(self, schema: Any, strict: bool) -> jsonschema_rs.Validator | None:
        """The validator of ``schema``, compiled on first use; None for a schema that is not one
        (the request's own problem, which the real API would refuse: not the mock's)."""
        try:
            # As sent: an agent sends its schemas the same way each time.
            key = orjson.dumps(schema) + (b"!" if strict else b"")
        except (TypeError, orjson.JSONEncodeError):
            return None
        if key in self._validators:
            return self._validators[key]
        with self._lock:
            try:
                made: jsonschema_rs.Validator | None = jsonschema_rs.validator_for(
                    closed(schema) if strict else schema, retriever=_no_remote_schemas
                )
            except (ValueError, TypeError, OverflowError, RecursionError):
                made = None
            if len(self._validators) > _MAX_VALIDATORS:
                self._validators.clear()
            self._validators[key] = made
        return made


_MAX_VALIDATORS = 4096
"""A request may declare any schemas: the cache starts over beyond this many."""
_MAX_VERDICTS = 4096
"""The same for the verdicts kept, and for the mocks whose problems were logged."""


def _no_remote_schemas(uri: str) -> Any:
    raise ValueError(f"remote schema {uri} not fetched: the mock server never reaches the network")


def closed(schema: Any) -> Any:
    """A strict schema as the provider enforces it: every object's properties all required and
    no others allowed."""

    def close(out: dict[str, Any], properties: dict[str, Any]) -> None:
        out.setdefault("additionalProperties", False)
        out.setdefault("required", list(properties))

    return each_object(schema, close)
