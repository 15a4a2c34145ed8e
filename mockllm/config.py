"""The JSON config, as pydantic models: kagent mockllm's format, plus strict load errors.

A config maps each API to an ordered list of mocks; each mock is ``{"name", "match", "response"}``.
``response`` is the provider's own response object and passes through untouched (the server only
fills in fields the SDKs need when they are absent); ``error`` in its place answers with an HTTP
error in the provider's shape. Everything else is checked at load: an unknown
key is an error, because a typo would otherwise make a mock silently never match.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Union

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import is_typeddict  # pydantic needs these on Python < 3.12

from .anthropic.format import AnthropicMessage, AnthropicMock, AnthropicRequestMatch
from .apis import API_BY_KEY, APIS, ApiKey
from .bedrock.format import BedrockMessage, BedrockMock, BedrockRequestMatch
from .bulk import collector_paused
from .config_parts import (
    DEFAULT_PRIORITY,
    MAX_DELAY_MS,
    MAX_VECTOR_DIMENSIONS,
    MID_STREAM_FAULTS,
    STARTED,
    ConfigError,
    ConfigModel,
    ErrorReply,
    Fault,
    FaultKind,
    HeaderMatch,
    MatchType,
    MockBase,
    ModelMatch,
    ReplyFunction,
    Timing,
    VectorsFromText,
)
from .gemini.format import (
    GeminiContent,
    GeminiEmbeddingMock,
    GeminiEmbeddingRequestMatch,
    GeminiMock,
    GeminiRequestMatch,
)
from .ollama.format import (
    OllamaEmbeddingMock,
    OllamaEmbeddingRequestMatch,
    OllamaMessage,
    OllamaMock,
    OllamaRequestMatch,
)
from .openai.format import (
    ChatMessage,
    InputItemKind,
    OpenAIEmbeddingMock,
    OpenAIEmbeddingRequestMatch,
    OpenAIMock,
    OpenAIRequestMatch,
    OpenAIResponseMock,
    OpenAIResponseRequestMatch,
    is_embeddings_input,
)

__all__ = [
    "DEFAULT_PRIORITY",
    "MAX_DELAY_MS",
    "MAX_VECTOR_DIMENSIONS",
    "MID_STREAM_FAULTS",
    "STARTED",
    "AnthropicMessage",
    "AnthropicMock",
    "AnthropicRequestMatch",
    "BedrockMessage",
    "BedrockMock",
    "BedrockRequestMatch",
    "ChatMessage",
    "Config",
    "ConfigError",
    "ErrorReply",
    "Fault",
    "FaultKind",
    "GeminiContent",
    "GeminiEmbeddingMock",
    "GeminiEmbeddingRequestMatch",
    "GeminiMock",
    "GeminiRequestMatch",
    "HeaderMatch",
    "InputItemKind",
    "MatchType",
    "MockBase",
    "ModelMatch",
    "OllamaEmbeddingMock",
    "OllamaEmbeddingRequestMatch",
    "OllamaMessage",
    "OllamaMock",
    "OllamaRequestMatch",
    "OpenAIEmbeddingMock",
    "OpenAIEmbeddingRequestMatch",
    "OpenAIMock",
    "OpenAIRequestMatch",
    "OpenAIResponseMock",
    "OpenAIResponseRequestMatch",
    "ReplyFunction",
    "Timing",
    "VectorsFromText",
    "closest_name",
    "is_embeddings_input",
    "load_config",
]

# --- listen_addr ---------------------------------------------------------------------------------

_LISTEN_ADDR_FORMS = (
    'expected "host:port" with a port from 0 to 65535, such as "127.0.0.1:8787", ":8787" or "[::1]:8787"'
)


def _split_listen_addr(addr: str) -> tuple[str, int]:
    """``host:port`` as kagent's server (Go's ``net.Listen``) reads it: the host may be empty
    (``:8090``) and an IPv6 host is in brackets (``[::1]:0``)."""
    host, _, port = addr.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(_LISTEN_ADDR_FORMS)  # an IPv6 address without brackets
    if "[" in host or "]" in host or not re.fullmatch("[0-9]{1,5}", port) or int(port) > 65535:
        raise ValueError(_LISTEN_ADDR_FORMS)
    return host, int(port)


def _listen_addr(value: str | None) -> str | None:
    if value:  # "" is unset, as in kagent
        _split_listen_addr(value)
    return value


# --- nesting depth -------------------------------------------------------------------------------

MAX_DEPTH = 100
"""How deeply arrays and objects may nest in a config, counting the top-level object as 1.

Messages and responses come nowhere near it; without a limit a deep value would overflow the
recursion of the matcher and of the JSON encoder (orjson refuses to dump more than 254 levels)."""

_TOO_DEEP = "nested too deeply: arrays and objects may nest at most {limit} levels"


def _too_deep(value: dict[Any, Any] | list[Any], level: int = 1) -> list[int | str] | None:
    """The path (innermost key first) to an array or object below `MAX_DEPTH` levels, if any."""
    if level > MAX_DEPTH:
        return []
    # This visits every value of a config (type() is cheaper than isinstance() here, and orjson and
    # pydantic make no subclasses): keys are looked up only on the way back from a find.
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is dict or kind is list:
            path = _too_deep(item, level + 1)
            if path is not None:
                keys = value.items() if isinstance(value, dict) else enumerate(value)
                path.append(next(key for key, child in keys if child is item))
                return path
    return None


def _too_deep_problem(path: list[int | str]) -> tuple[str, str]:
    """The problem of a value too deep, at ``path`` given innermost key first."""
    steps = tuple(reversed(path))
    # A path as long as the limit is unreadable; its first steps are enough to find the value.
    return _json_path(steps[:10]) + ("..." if len(steps) > 10 else ""), _TOO_DEEP.format(limit=MAX_DEPTH)


def default_timing(value: Timing | Mapping[str, Any] | None, source: str = "default timing") -> Timing | None:
    """A server-wide default ``timing`` (for the mocks without their own) as a `Timing`; raises
    `ConfigError` naming each bad value."""
    if value is None or isinstance(value, Timing):
        return value
    try:
        return Timing.model_validate(value)
    except ValidationError as exc:
        problems = _problems(exc, prefix=("timing",))  # one per error, in order
        allowed = list(Timing.model_fields)
        for i, error in enumerate(exc.errors(include_url=False)):
            if error["type"] == "extra_forbidden":  # _problems knows the keys of a config's objects
                key = str(error["loc"][-1])
                close = closest_name(key, allowed)
                hint = f': did you mean "{close}"?' if close else f"; allowed keys: {', '.join(allowed)}"
                problems[i] = (problems[i][0], f'unknown key "{key}"{hint}')
        raise ConfigError(source, problems) from None


class Config(ConfigModel):
    """The whole config: an ordered list of mocks per API (the first matching mock wins)."""

    openai: list[OpenAIMock] = Field(default_factory=list)
    openai_response: list[OpenAIResponseMock] = Field(default_factory=list)
    openai_embeddings: list[OpenAIEmbeddingMock] = Field(default_factory=list)
    anthropic: list[AnthropicMock] = Field(default_factory=list)
    gemini: list[GeminiMock] = Field(default_factory=list)
    gemini_embeddings: list[GeminiEmbeddingMock] = Field(default_factory=list)
    ollama: list[OllamaMock] = Field(default_factory=list)
    ollama_embeddings: list[OllamaEmbeddingMock] = Field(default_factory=list)
    bedrock: list[BedrockMock] = Field(default_factory=list)
    listen_addr: Annotated[str | None, AfterValidator(_listen_addr)] = None
    """``host:port`` for ``mockllm serve`` (kagent's key); ``--host``/``--port`` override it."""

    @model_validator(mode="before")
    @classmethod
    def _check_depth(cls, data: Any) -> Any:
        # Before the fields, whose error messages would quote the deep value.
        path = _too_deep(data) if isinstance(data, dict) else None
        if path is not None:
            shown, _ = _too_deep_problem(path)
            context = {"path": shown, "limit": MAX_DEPTH}
            raise PydanticCustomError("nested_too_deeply", "at {path}: " + _TOO_DEEP, context)
        return data

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "<config>") -> Config:
        """Parse and validate JSON text; raises `ConfigError` naming each bad JSON path. A UTF-8
        byte order mark before the JSON (some Windows editors write one) is skipped."""
        if isinstance(text, bytes) and text.startswith(b"\xef\xbb\xbf"):
            text = text[3:]
        elif isinstance(text, str) and text.startswith("\ufeff"):
            text = text[1:]
        try:
            with collector_paused():
                data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            if exc.msg == "depth limit exceeded":  # orjson stops at 1024 levels
                message = _TOO_DEEP.format(limit=MAX_DEPTH) + f" (at {where})"
            elif isinstance(text, bytes) and (bad := _non_utf8_offset(text)) is not None:
                message = f"not UTF-8 text (byte {bad}): a JSON config is UTF-8"
            else:
                message = f"invalid JSON at {where}: {exc.msg}"
            raise ConfigError(source, [("$", message)]) from None
        return cls._from_parsed(data, source=source)

    @classmethod
    def _from_parsed(cls, data: Any, *, source: str) -> Config:
        """`from_dict` for parsed JSON that nothing else holds: each mock's JSON is let go as soon
        as its model is built, so a large config never holds both in full (a third less memory
        for 100,000 mocks)."""
        if not isinstance(data, dict):
            return cls.from_dict(data, source=source)
        lists: dict[str, list[Any]] = {}
        for spec in APIS:
            items = data.get(spec.key)
            if isinstance(items, list):
                lists[spec.key], data[spec.key] = items, []
        problems: list[tuple[str, str]] = []
        try:
            with collector_paused():
                rest = cls.model_validate(data)
        except ValidationError as exc:
            problems += _problems(exc)
        models: dict[str, list[Any]] = {}
        with collector_paused():
            for key, items in lists.items():
                mock_type = _MOCK_TYPES[key]
                valid = models[key] = []
                for i, item in enumerate(items):
                    items[i] = None
                    deep = _too_deep(item, level=3) if type(item) is dict else None
                    if deep is not None:
                        problems.append(_too_deep_problem([*deep, i, key]))
                        continue
                    try:
                        valid.append(mock_type.model_validate(item))
                    except ValidationError as exc:
                        problems += _problems(exc, prefix=(key, i))
        if problems:
            raise ConfigError(source, problems)
        lists_and_address: dict[str, Any] = {**models, "listen_addr": rest.listen_addr}
        return cls.model_construct(**lists_and_address)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<config>") -> Config:
        if not isinstance(data, dict):
            kinds = ", ".join(f'"{spec.key}"' for spec in APIS)
            raise ConfigError(source, [("$", f"expected a JSON object with keys {kinds}")])
        try:
            with collector_paused():
                return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(source, _problems(exc)) from None

    @classmethod
    def of(cls, mocks: Mapping[ApiKey, Sequence[Any]], *, listen_addr: str | None = None) -> Config:
        """A config of mock lists that were validated already (a builder's, another config's):
        they are not validated again, which makes layering thousands of mocks cheap."""
        lists: dict[str, Any] = {spec.key: list(mocks.get(spec.key, ())) for spec in APIS}
        return cls.model_construct(**lists, listen_addr=listen_addr)

    def mocks(self, api: ApiKey) -> list[Any]:
        """The mocks of one API, in order (the list under its config key)."""
        mocks: list[Any] = getattr(self, api)
        return mocks

    def listen_address(self) -> tuple[str, int] | None:
        """``listen_addr`` as ``(host, port)``, host ``""`` when it names none; None when unset."""
        return _split_listen_addr(self.listen_addr) if self.listen_addr else None

    def counts(self) -> dict[ApiKey, int]:
        """How many mocks each API has."""
        return {spec.key: len(self.mocks(spec.key)) for spec in APIS}

    def to_json(self, *, indent: bool = True) -> str:
        """kagent-format JSON; keys left at their defaults are omitted. Raises `ConfigError` for
        a config holding a reply function (``reply_with``), which JSON cannot hold."""
        python_only = [
            (
                f"$.{spec.key}[{position}]",
                f'mock "{mock.name or f"{spec.key}[{position}]"}" replies with the Python function '
                f"{mock.reply_with.name} (reply_with), which a JSON config cannot hold: give it a "
                "response, or keep the config in Python",
            )
            for spec in APIS
            for position, mock in enumerate(self.mocks(spec.key))
            if mock.reply_with is not None
        ]
        if python_only:
            raise ConfigError("<config>", python_only)
        data = self.model_dump(mode="json", exclude_defaults=True)
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(data, option=option).decode()


_MOCK_TYPES: dict[str, type[BaseModel]] = {
    name: typing.get_args(info.annotation)[0]
    for name, info in Config.model_fields.items()
    if typing.get_origin(info.annotation) is list
}
if set(API_BY_KEY) != set(_MOCK_TYPES):  # pragma: no cover - a broken registry fails at import
    raise RuntimeError("mockllm.config: the Config mock lists and mockllm.apis.APIS disagree")


def _non_utf8_offset(data: bytes) -> int | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def load_config(path: str | Path) -> Config:
    """Read a JSON config file; raises `ConfigError` (file, JSON path, reason) when it is bad."""
    source = str(path)
    return Config.from_json(_read_config_file(path, source), source=source)


_FILE_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _read_config_file(path: str | Path, source: str) -> bytes:
    """The bytes of a regular file; anything else is refused before a byte is read (a named pipe
    would block until something writes to it, a device might never end)."""
    try:
        # Non-blocking, so that opening a named pipe does not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                kind = _FILE_KINDS.get(stat.S_IFMT(mode), "a special file")
                raise ConfigError(source, [("$", f"not a regular file ({kind}): give a JSON config file")])
            with open(fd, "rb", closefd=False) as file:
                return file.read()
        finally:
            os.close(fd)
    except OSError as exc:
        raise ConfigError(source, [("$", f"cannot read file: {exc.strerror}")]) from None


# --- error reporting -------------------------------------------------------------------------


def _json_path(loc: tuple[int | str, ...]) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _problems(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[tuple[str, str]]:
    """Each error of ``exc`` as ``(json_path, message)``; ``prefix`` is where the validated value
    stands in the config."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = prefix + tuple(error["loc"])
        message = error["msg"]
        if error["type"] == "nested_too_deeply":
            problems.append((error["ctx"]["path"], _TOO_DEEP.format(limit=MAX_DEPTH)))
            continue
        if error["type"] == "extra_forbidden":
            message = _unknown_key_message(loc)
        elif error["type"] == "missing":
            message = f'missing required key "{loc[-1]}"'
            if loc[-1] == "match_type":
                message += ': add "match_type": "exact", "contains" or "regex"'
        elif error["type"] == "response_or_error":
            pass
        elif error["type"] in ("tuple_type", "list_type"):  # "tuple" is Python's word, not JSON's
            message = f"expected an array, got {_preview(error['input'])}"
        else:
            message = message.removeprefix("Value error, ")
            message += f", got {_preview(error['input'])}"
        problems.append((_json_path(loc), message))
    return problems


def _preview(value: Any) -> str:
    text = orjson.dumps(value, default=repr).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key_message(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1])
    allowed = _keys_at(loc[:-1])
    message = f'unknown key "{key}"'
    close = closest_name(key, allowed)
    if close:
        return f'{message}: did you mean "{close}"?'
    return f"{message}; allowed keys: {', '.join(allowed)}"


def closest_name(name: str, names: Sequence[str]) -> str | None:
    """The one of ``names`` that ``name`` is most likely a misspelling of, if any is close: the
    did-you-mean of an unknown config key, and of a builder verb."""
    close = difflib.get_close_matches(name, names, n=1)
    return close[0] if close else None


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed in the object at ``loc``, found by walking the model types."""
    tp: Any = Config
    for part in loc:
        tp = _item_type(tp, part)
    if typing.get_origin(tp) in (Union, types.UnionType):  # an optional object: ``error``, ``model``
        tp = next((arg for arg in typing.get_args(tp) if arg is not type(None)), None)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    if is_typeddict(tp):
        return list(typing.get_type_hints(tp))
    return []


def _item_type(tp: Any, part: int | str) -> Any:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _item_type(typing.get_args(tp)[0], part)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            found = _item_type(arg, part)
            if found is not None:
                return found
        return None
    if isinstance(part, int):
        return typing.get_args(tp)[0] if origin is list else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(part)
        return field.annotation if field else None
    if is_typeddict(tp):
        return typing.get_type_hints(tp).get(part)
    return None
