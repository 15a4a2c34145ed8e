"""`SharedState` on Redis, through the official client (asyncio).

Keys of a namespace ``NS``:

- ``NS:calls``: a hash, a mock's key -> the requests it answered;
- ``NS:states``: a hash, a scenario -> its state (absent is ``"Started"``);
- ``NS:journal``: a list of journal entries (JSON), trimmed to the journal's size;
- ``NS:changes``: the list of changes made to the mocks at run time (the admin API), in order, and
  ``NS:epoch``, which a reset renews; ``NS:changed`` is the channel that says the list grew.

A stateful request costs one round trip: a Lua script, run atomically by Redis, walks the
candidates, gates each (``times`` used up? scenario in the required state?), counts the first that
passes and moves its scenario, so a ``times: 1`` mock answers once however many processes race for
it, and a scenario moves by compare-and-set. The script is sent once and then called by its
digest; the client loads it again when the store forgot it (a restart).

Stateless answers are counted in the process, and journal entries kept there; every
`BATCH_WINDOW_S` what is new of both is sent in one pipelined call, off the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..config import STARTED
from .runtime import refusal
from .state import Claimed, StateSnapshot, StoreDown, shared_keys

if TYPE_CHECKING:
    from .compiled import CompiledMocks
    from .journal import Journal

__all__ = ["BATCH_WINDOW_S", "RedisState"]

_log = logging.getLogger("mockllm")

BATCH_WINDOW_S = 0.02
"""How often the counts of stateless answers and the journal's new entries are sent: another
replica sees them at most this much (plus a round trip) later."""

_TIMEOUT_S = 1.0
"""How long a command may take before the store counts as down: a request never hangs on it."""

_CONNECTIONS = 32
"""Connections to the store per process, at most (one is taken by the subscription to changes)."""

_RECONNECT_S = 0.2
"""The pause before listening again for changes after the store went away."""

# The claims of the requests that came while the previous call ran, taken in order. ARGV: for each
# claim, its number of candidates, then five values per candidate: key, times (-1: none), scenario,
# required state, new state ("" for none). Returns, for each claim, the place of the chosen
# candidate (-1: none), how many candidates it looked at, and each one's calls and scenario state.
_CLAIM = """
local answer, at = {}, 1
while at <= #ARGV do
  local count, chosen, looked = tonumber(ARGV[at]), -1, {}
  for i = 0, count - 1 do
    local base = at + 1 + i * 5
    local key, times = ARGV[base], tonumber(ARGV[base + 1])
    local scenario, required, new = ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
    local calls = tonumber(redis.call('HGET', KEYS[1], key) or '0')
    local state = 'Started'
    if scenario ~= '' then state = redis.call('HGET', KEYS[2], scenario) or 'Started' end
    looked[#looked + 1] = calls
    looked[#looked + 1] = state
    if (times < 0 or calls < times) and (required == '' or state == required) then
      redis.call('HINCRBY', KEYS[1], key, 1)
      if new ~= '' then redis.call('HSET', KEYS[2], scenario, new) end
      chosen = i
      break
    end
  end
  answer[#answer + 1] = chosen
  answer[#answer + 1] = #looked / 2
  for _, value in ipairs(looked) do answer[#answer + 1] = value end
  at = at + 1 + count * 5
end
return answer
"""

# ARGV: key, scenario, the state before the claim, the state the claim moved it to ("" for none).
_RELEASE = """
if tonumber(redis.call('HINCRBY', KEYS[1], ARGV[1], -1)) < 0 then redis.call('HSET', KEYS[1], ARGV[1], 0) end
if ARGV[4] ~= '' and (redis.call('HGET', KEYS[2], ARGV[2]) or 'Started') == ARGV[4] then
  if ARGV[3] == 'Started' then redis.call('HDEL', KEYS[2], ARGV[2])
  else redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
end
return 0
"""


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class RedisState:
    """Counts, budgets, scenario states, run-time changes and the journal of every process serving
    one namespace, on Redis."""

    backend = "redis"

    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        self.name = _without_credentials(url)
        self.namespace = namespace
        self._calls_key = f"{namespace}:calls"
        self._states_key = f"{namespace}:states"
        self._journal_key = f"{namespace}:journal"
        self._changes_key = f"{namespace}:changes"
        self._epoch_key = f"{namespace}:epoch"
        self._channel = f"{namespace}:changed"
        self._client: redis.Redis | None = None
        self._claim: Any = None
        self._release: Any = None
        self._pending: dict[int, tuple[CompiledMocks, int, int]] = {}
        """id(mock) -> (its compiled mocks, its order, answers not yet sent)."""
        self._journal: Journal | None = None
        self._journal_mark: object | None = None
        """The newest journal entry sent (see `Journal.newer_than`)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._claims: list[tuple[list[str | int], asyncio.Future[tuple[int, list[tuple[int, str]]]]]] = []
        """The claims waiting for the next script call, each with its request's answer."""
        self._claiming: asyncio.Task[None] | None = None
        self._down_logged = False
        self._closing = False

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self, journal: Journal | None, changed: Callable[[], Awaitable[None]]) -> None:
        # Made here, on the loop that serves, so that each forked worker connects on its own. One
        # retry at once: a connection the store dropped when it restarted is replaced, and a store
        # that is gone answers a 503 within the timeout rather than after a back-off.
        # A bounded pool that makes a request wait for a free connection: a burst of requests
        # must not open a connection each (the store refuses beyond its limit).
        pool = redis.BlockingConnectionPool.from_url(
            self._url,
            max_connections=_CONNECTIONS,
            timeout=_TIMEOUT_S,
            socket_timeout=_TIMEOUT_S,
            socket_connect_timeout=_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        self._client = redis.Redis(connection_pool=pool)
        self._closing = False
        self._claim = self._client.register_script(_CLAIM)
        self._release = self._client.register_script(_RELEASE)
        self._journal = journal if journal is not None and journal.enabled else None
        if self._journal is not None:
            self._journal_mark = self._journal.newer_than(None)[1]  # what came before is not shared
        self._tasks = [
            asyncio.create_task(self._send_forever()),
            asyncio.create_task(self._listen_forever(changed)),
        ]

    async def close(self) -> None:
        self._closing = True
        tasks = [*self._tasks, *([self._claiming] if self._claiming is not None else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: the client may turn a cancellation inside a read into an error of its own.
            await asyncio.wait(tasks, timeout=_TIMEOUT_S)
        self._tasks = []
        with contextlib.suppress(StoreDown):
            await self._send()
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await asyncio.wait_for(self._client.aclose(close_connection_pool=True), _TIMEOUT_S)
            self._client = None

    def _store(self) -> redis.Redis:
        if self._client is None:
            raise StoreDown(self.name, "the server has not connected to it yet")
        return self._client

    def _down(self, exc: BaseException) -> StoreDown:
        if not self._down_logged:
            self._down_logged = True
            _log.warning("the state store %s does not answer: %s", self.name, exc)
        return StoreDown(self.name, str(exc) or type(exc).__name__)

    def _up(self) -> None:
        if self._down_logged:
            self._down_logged = False
            _log.warning("the state store %s answers again", self.name)

    # --- the request path ---------------------------------------------------------------------------

    async def claim(self, mocks: CompiledMocks, candidates: Sequence[int]) -> Claimed:
        keys = shared_keys(mocks)
        listed = mocks.index.mocks
        args: list[str | int] = [len(candidates)]
        for order in candidates:
            mock = listed[order]
            times = mock.times
            args += (
                keys[order],
                -1 if times is None else times,
                mock.scenario or "",
                mock.required_state or "",
                mock.new_state or "",
            )
        # The claims of concurrent requests go to the store together, one script call for all
        # those that came while the previous call ran: one round trip for a burst. The script takes
        # them in order, so each is as atomic as alone.
        answer: asyncio.Future[tuple[int, list[tuple[int, str]]]] = asyncio.get_running_loop().create_future()
        self._claims.append((args, answer))
        if self._claiming is None:
            self._claiming = asyncio.create_task(self._send_claims())
        chosen, looked = await answer
        refused = looked if chosen < 0 else looked[:chosen]
        refusals = tuple(
            refusal(listed[order], calls, state) or ""
            for order, (calls, state) in zip(candidates[: len(refused)], refused, strict=True)
        )
        if chosen < 0:
            return Claimed(None, refusals)
        return Claimed(chosen, refusals, looked[chosen][1])

    async def _send_claims(self) -> None:
        """Send the waiting claims until none waits; each request gets its answer, or `StoreDown`."""
        try:
            while self._claims:
                claims, self._claims = self._claims, []
                answers: list[tuple[int, list[tuple[int, str]]] | BaseException]
                try:
                    found = await self._claim(
                        keys=[self._calls_key, self._states_key],
                        args=[arg for args, _ in claims for arg in args],
                        client=self._store(),
                    )
                    self._up()
                    answers = list(_claim_answers(found, len(claims)))
                except (RedisError, OSError, StoreDown) as exc:
                    down = exc if isinstance(exc, StoreDown) else self._down(exc)
                    answers = [StoreDown(down.store, down.reason)] * len(claims)
                except Exception as exc:  # a bug of ours: each request fails with it, none waits for ever
                    answers = [exc] * len(claims)
                for (_, answer), given in zip(claims, answers, strict=True):
                    if answer.done():  # its request went (the client left)
                        continue
                    if isinstance(given, BaseException):
                        answer.set_exception(given)
                    else:
                        answer.set_result(given)
        finally:
            self._claiming = None

    async def release(self, mocks: CompiledMocks, order: int, before: str) -> None:
        mock = mocks.index.mocks[order]
        args = [shared_keys(mocks)[order], mock.scenario or "", before, mock.new_state or ""]
        try:
            await self._release(keys=[self._calls_key, self._states_key], args=args, client=self._store())
        except (RedisError, OSError) as exc:
            raise self._down(exc) from None

    def counted(self, mocks: CompiledMocks, order: int) -> None:
        mock_id = id(mocks.index.mocks[order])
        pending = self._pending.get(mock_id)
        self._pending[mock_id] = (mocks, order, 1 if pending is None else pending[2] + 1)

    # --- what is sent in batches ----------------------------------------------------------------------

    async def _send_forever(self) -> None:
        while not self._closing:
            await asyncio.sleep(BATCH_WINDOW_S)
            # What was counted or journaled while the store was down is dropped, as the store would
            # have lost it.
            with contextlib.suppress(StoreDown):
                await self._send()

    async def _send(self) -> None:
        """Send the counts of stateless answers and the new journal entries, in one pipelined call."""
        pending, self._pending = self._pending, {}
        entries: list[bytes] = []
        journal = self._journal
        if journal is not None:
            entries, self._journal_mark = journal.newer_than(self._journal_mark)
        if not pending and not entries:
            return

        def queue(pipe: Any) -> None:
            for mocks, order, count in pending.values():
                pipe.hincrby(self._calls_key, shared_keys(mocks)[order], count)
            if entries and journal is not None:
                pipe.rpush(self._journal_key, *entries)
                pipe.ltrim(self._journal_key, -journal.maxlen, -1)

        await self._pipelined(queue, transaction=False)

    async def _pipelined(self, queue: Callable[[Any], object], *, transaction: bool = True) -> list[Any]:
        """The answers to the commands ``queue`` puts on a pipeline, sent in one round trip (run
        atomically with ``transaction``). Raises `StoreDown`."""
        try:
            async with self._store().pipeline(transaction=transaction) as pipe:
                queue(pipe)
                answers: list[Any] = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._down(exc) from None
        self._up()
        return answers

    # --- the admin API --------------------------------------------------------------------------------

    async def snapshot(self, mocks: Iterable[CompiledMocks]) -> StateSnapshot:
        await self._send()
        keys = {
            id(mock): key
            for compiled in mocks
            for mock, key in zip(compiled.index.mocks, shared_keys(compiled), strict=True)
        }
        calls, states = await self._pipelined(
            lambda pipe: (pipe.hgetall(self._calls_key), pipe.hgetall(self._states_key))
        )
        return StateSnapshot({key: int(n) for key, n in calls.items()}, dict(states), keys)

    async def set_state(self, scenario: str, state: str) -> None:
        def queue(pipe: Any) -> None:
            if state == STARTED:
                pipe.hdel(self._states_key, scenario)
            else:
                pipe.hset(self._states_key, scenario, state)

        await self._pipelined(queue, transaction=False)

    async def journal(self) -> list[dict[str, Any]]:
        await self._send()
        (found,) = await self._pipelined(
            lambda pipe: pipe.lrange(self._journal_key, 0, -1), transaction=False
        )
        entries = [_entry(text) for text in found]
        entries.sort(key=lambda entry: entry["time"])  # each replica sends its own in batches
        return entries

    async def clear_journal(self) -> int:
        await self._send()
        removed, _ = await self._pipelined(
            lambda pipe: (pipe.llen(self._journal_key), pipe.delete(self._journal_key))
        )
        return int(removed)

    async def reset(self) -> str:
        self._pending.clear()
        if self._journal is not None:
            self._journal_mark = self._journal.newer_than(None)[1]
        keys = (self._calls_key, self._states_key, self._journal_key, self._changes_key)
        epoch = uuid.uuid4().hex
        await self._pipelined(
            lambda pipe: (
                pipe.delete(*keys),
                pipe.set(self._epoch_key, epoch),
                pipe.publish(self._channel, "reset"),
            )
        )
        return epoch

    async def healthy(self) -> bool:
        try:
            await self._store().ping()
        except (RedisError, OSError, StoreDown):
            return False
        self._up()
        return True

    # --- mocks changed at run time ----------------------------------------------------------------------

    async def push_change(self, change: bytes) -> None:
        await self._pipelined(
            lambda pipe: (
                pipe.set(self._epoch_key, uuid.uuid4().hex, nx=True),  # a store that came back empty
                pipe.rpush(self._changes_key, change),
                pipe.publish(self._channel, "change"),
            )
        )

    async def changes(self) -> tuple[str | None, list[bytes]]:
        epoch, changes = await self._pipelined(
            lambda pipe: (pipe.get(self._epoch_key), pipe.lrange(self._changes_key, 0, -1))
        )
        return epoch, [change.encode() for change in changes]

    async def _listen_forever(self, changed: Callable[[], Awaitable[None]]) -> None:
        """Catch up with the changes other processes made, whenever the channel says so, and each
        time the subscription starts again (a message sent while the store was away is lost)."""
        while not self._closing:
            try:
                async with self._store().pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    await changed()
                    while not self._closing:
                        # Waits here, on the subscribed connection, with no command sent.
                        if await pubsub.get_message(timeout=_TIMEOUT_S) is not None:
                            await changed()
            except (RedisError, OSError, StoreDown):
                await asyncio.sleep(_RECONNECT_S)
            except Exception:  # a bug of ours: said, and the server goes on listening
                _log.exception("making the changes of another process failed")
                await asyncio.sleep(_RECONNECT_S)


def _entry(text: str) -> dict[str, Any]:
    """A journal entry read back (see `Journal.newer_than`)."""
    fields, _, body = text.partition("\n")
    entry: dict[str, Any] = orjson.loads(fields)
    entry["body"] = orjson.loads(body)
    return entry


def _claim_answers(found: list[Any], claims: int) -> list[tuple[int, list[tuple[int, str]]]]:
    """Each claim's answer in what the claim script returned: the place of the chosen candidate
    (-1: none), and the calls and scenario state of each candidate it looked at."""
    answers = []
    at = 0
    for _ in range(claims):
        chosen, count = int(found[at]), int(found[at + 1])
        pairs = found[at + 2 : at + 2 + 2 * count]
        answers.append((chosen, [(int(pairs[2 * i]), str(pairs[2 * i + 1])) for i in range(count)]))
        at += 2 + 2 * count
    return answers
