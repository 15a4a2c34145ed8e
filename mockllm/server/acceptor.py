"""Accepting connections: every one waiting at each wake-up, not one per turn of the loop.

uvloop (libuv) accepts a single connection each time its loop polls the listening socket. A turn
of a loop busy with a thousand paced streams lasts milliseconds, so a burst of new connections
waited in the kernel's queue, 100 ms and more for the last of 1,000 opened within half a second,
before the server read a byte of them: time a client counts as the model's time to first token.
asyncio's own loop accepts many per wake-up; this does the same on any loop that can watch a
socket, and hands each connection to the loop as ``connect_accepted_socket``, which is what
asyncio does with the connections it accepts.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

__all__ = ["Acceptor"]

logger = logging.getLogger("mockllm")

ACCEPT_BATCH = 64
"""Connections accepted at most per wake-up: enough for a burst on a busy loop, and few enough
that processes sharing the socket (``serve --workers``) still share a burst between them."""

RETRY_S = 0.5
"""The pause before accepting again when the process is out of file descriptors or memory: the
connections wait in the kernel's queue meanwhile, as they would for a server that stopped reading."""

_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Acceptor:
    """Accepts the connections of a listening, non-blocking ``sock`` for the running loop, giving
    each a protocol from ``factory``."""

    def __init__(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol]) -> None:
        self._sock, self._factory = sock, factory
        self._loop = asyncio.get_running_loop()
        self._connecting: set[asyncio.Task[object]] = set()
        self._retry: asyncio.TimerHandle | None = None
        self._watching = False

    def start(self) -> bool:
        """Watch the socket; False on a loop that cannot watch one (Windows' proactor loop), for
        the caller to let the loop accept instead."""
        try:
            self._loop.add_reader(self._sock.fileno(), self._accept)
        except NotImplementedError:
            return False
        self._watching = True
        return True

    def stop(self) -> None:
        """Accept no more connections; the ones accepted already are served."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._watching:
            self._watching = False
            self._loop.remove_reader(self._sock.fileno())

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:  # the client gave up while it waited in the queue
                continue
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise
                logger.warning("mockllm: cannot accept connections (%s); trying again in %g s", exc, RETRY_S)
                self.stop()
                self._retry = self._loop.call_later(RETRY_S, self._resume)
                return
            conn.setblocking(False)
            task = self._loop.create_task(self._loop.connect_accepted_socket(self._factory, conn))
            self._connecting.add(task)
            task.add_done_callback(self._connected)

    def _resume(self) -> None:
        self._retry = None
        self.start()

    def _connected(self, task: asyncio.Task[object]) -> None:
        self._connecting.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.warning("mockllm: an accepted connection could not be served: %r", exc)
