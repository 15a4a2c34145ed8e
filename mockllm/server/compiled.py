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
                    answer = _prepare(handler, mock.response, position, created)
                except ValueError as exc:
                    where, _, message = str(exc).partition(": ")
                    problems.append((f"$.{key}[{position}].{where}", message))
                    continue
                prepared.append(answer)
            self.apis[key] = CompiledMocks(handler, MockIndex(handler.rules, mocks), prepared)
        if problems:
            raise ConfigError(source, problems)

    def counts(self) -> dict[ApiKey, int]:
        return self.config.counts()


def _prepare(handler: ApiHandler, response: dict[str, Any], position: int, created: int) -> PreparedResponse:
    """A mock's answer, filled and rendered in every variant a request can ask for, so that a
    response that cannot be served fails here, at load, rather than on a request.

    Raises ``ValueError("response[.path]: problem")``.
    """
    try:
        answer = PreparedResponse(handler.fill(response, position, created), handler.render)
    except ValueError as exc:
        if str(exc).startswith("response"):  # fill's own "response.<path>: <problem>"
            raise
        raise ValueError(f"response: {exc}") from None
    except Exception as exc:  # a value fill did not foresee: still an error of this response
        raise ValueError(f"response: {type(exc).__name__}: {exc}") from None
    for i, (variant, name) in enumerate(handler.variants.items()):
        # The first variant, the plain answer, is kept for requests that name no model; the others
        # are only checked.
        render = answer.render if i == 0 else answer.render_uncached
        try:
            render(None, variant)
        except Exception as exc:  # whatever fails here is a response that cannot be served
            raise ValueError(f"response: cannot be served as {name} ({type(exc).__name__}: {exc})") from None
    return answer
