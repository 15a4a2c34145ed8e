"""A config compiled for serving: per API, a matcher index and the prepared answers."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Any

from ..apis import APIS, ApiKey
from ..config import Config, ConfigError
from ..matching import MockIndex
from .handler import ApiHandler, PreparedResponse

__all__ = ["HANDLERS", "CompiledConfig", "CompiledMocks"]


def _load_handlers() -> dict[ApiKey, ApiHandler]:
    # Each API's server module is named after the API (see mockllm.apis) and exports HANDLER.
    handlers: dict[ApiKey, ApiHandler] = {}
    for spec in APIS:
        handler = importlib.import_module(f"{__package__}.{spec.module}").HANDLER
        if not isinstance(handler, ApiHandler) or handler.spec is not spec:
            raise RuntimeError(f"mockllm.server.{spec.module}.HANDLER is not the handler of {spec.key}")
        handlers[spec.key] = handler
    return handlers


HANDLERS = _load_handlers()
"""The handler of every API, by config key, in the order of `mockllm.apis.APIS`."""


@dataclass(frozen=True)
class CompiledMocks:
    """The mocks of one API, ready to serve: the matcher index and each mock's prepared answer."""

    handler: ApiHandler
    index: MockIndex[Any]
    prepared: list[PreparedResponse]

    def label(self, position: int) -> str:
        """How a mock is named in the journal and in near misses: its name, else ``key[position]``."""
        name: str = self.index.mocks[position].name
        return name or f"{self.handler.spec.key}[{position}]"


class CompiledConfig:
    """A config compiled for serving. Immutable once built; a server swaps in a new one to change
    its mocks."""

    def __init__(self, config: Config, *, source: str = "<config>") -> None:
        self.config = config
        created = int(time.time())
        problems: list[tuple[str, str]] = []
        self.apis: dict[ApiKey, CompiledMocks] = {}
        for key, handler in HANDLERS.items():
            mocks = config.mocks(key)
            prepared = []
            for position, mock in enumerate(mocks):
                try:
                    filled = handler.fill(mock.response, position, created)
                    answer = PreparedResponse(filled, handler.render)
                    answer.render(None, handler.variant({}))  # fail at load, not on the first request
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    where, _, message = str(exc).partition(": ")
                    if not message:
                        where, message = "response", str(exc)
                    problems.append((f"$.{key}[{position}].{where}", message))
                    continue
                prepared.append(answer)
            self.apis[key] = CompiledMocks(handler, MockIndex(handler.rules, mocks), prepared)
        if problems:
            raise ConfigError(source, problems)

    def counts(self) -> dict[ApiKey, int]:
        return self.config.counts()
