"""A config compiled for serving: per API, a matcher index and the prepared answers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..config import Config, ConfigError
from ..matching import MockIndex
from . import anthropic, chat, embeddings, responses
from .api import Endpoint, PreparedResponse

__all__ = ["ENDPOINTS", "ApiMocks", "MockState"]

ENDPOINTS: tuple[Endpoint, ...] = (
    chat.ENDPOINT,
    responses.ENDPOINT,
    embeddings.ENDPOINT,
    anthropic.ENDPOINT,
)


@dataclass(frozen=True)
class ApiMocks:
    endpoint: Endpoint
    index: MockIndex[Any]
    prepared: list[PreparedResponse]

    def label(self, position: int) -> str:
        name: str = self.index.mocks[position].name
        return name or f"{self.endpoint.name}[{position}]"


class MockState:
    """Immutable once built; a server swaps in a new one to change its mocks."""

    def __init__(self, config: Config, *, source: str = "<config>") -> None:
        self.config = config
        created = int(time.time())
        problems: list[tuple[str, str]] = []
        self.apis: dict[str, ApiMocks] = {}
        for endpoint in ENDPOINTS:
            mocks = getattr(config, endpoint.name)
            prepared = []
            for position, mock in enumerate(mocks):
                try:
                    filled = endpoint.fill(mock.response, position, created)
                    answer = PreparedResponse(filled, endpoint.render)
                    answer.render(None, endpoint.variant({}))  # fail at load, not on the first request
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    where, _, message = str(exc).partition(": ")
                    if not message:
                        where, message = "response", str(exc)
                    problems.append((f"$.{endpoint.name}[{position}].{where}", message))
                    continue
                prepared.append(answer)
            self.apis[endpoint.name] = ApiMocks(endpoint, MockIndex(endpoint.api, mocks), prepared)
        if problems:
            raise ConfigError(source, problems)

    def counts(self) -> dict[str, int]:
        return self.config.counts()
