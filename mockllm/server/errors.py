"""A request the server refuses. Each provider renders it in its own error shape (see
`mockllm.server.provider`), so the SDKs raise their proper exception classes."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError"]


class ApiError(Exception):
    """A request the server refuses: rendered as the provider's error body with ``status``."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, near_misses: tuple[Any, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.near_misses = near_misses
        """For a 404: the nearest mocks (`NearMiss`), told to the client after the message."""

    @property
    def client_message(self) -> str:
        return " ".join([self.message, *map(str, self.near_misses)])
