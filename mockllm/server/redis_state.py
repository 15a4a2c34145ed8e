"""`SharedState` on Redis, through the official client (asyncio).

Two hashes per namespace: ``NS:calls`` (a mock's key -> the requests it answered) and ``NS:states``
(a scenario -> its state; absent is ``"Started"``). A stateful request costs one round trip: a Lua
script, run atomically by Redis, walks the candidates, gates each (``times`` used up? scenario in
the required state?), counts the first that passes and moves its scenario — so a ``times: 1`` mock
answers once however many processes race for it, and a scenario moves by compare-and-set. The
script is sent once and then called by its digest; the client loads it again when the store
forgets it (a restart).

Stateless answers are counted in the process and sent in one pipelined batch a few milliseconds
later, off the request path. A store that restarts empty has forgotten every count and state: that
is a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..config import STARTED
from .state import Claimed, StateSnapshot, StoreDown, refusal, shared_keys

if TYPE_CHECKING:
    from .compiled import CompiledMocks

__all__ = ["BATCH_WINDOW_S", "RedisState"]

_log = logging.getLogger("mockllm")

BATCH_WINDOW_S = 0.02
"""How long the counts of stateless answers wait to be sent together: another replica sees them at
most this much (plus a round trip) later."""

_TIMEOUT_S = 1.0
"""How long a command may take before the store counts as down: a request never hangs on it."""

# ARGV holds five values per candidate: key, times (-1: none), scenario, required state, new state
# ("" for none). Returns the place of the chosen candidate (-1: none) and, for each candidate looked
# at, its calls and its scenario's state then.
_CLAIM = """
local seen = {}
for i = 0, #ARGV / 5 - 1 do
  local key, times = ARGV[i * 5 + 1], tonumber(ARGV[i * 5 + 2])
  local scenario, required, new = ARGV[i * 5 + 3], ARGV[i * 5 + 4], ARGV[i * 5 + 5]
  local calls = tonumber(redis.call('HGET', KEYS[1], key) or '0')
  local state = 'Started'
  if scenario ~= '' then state = redis.call('HGET', KEYS[2], scenario) or 'Started' end
  seen[#seen + 1] = calls
  seen[#seen + 1] = state
  if (times < 0 or calls < times) and (required == '' or state == required) then
    redis.call('HINCRBY', KEYS[1], key, 1)
    if new ~= '' then redis.call('HSET', KEYS[2], scenario, new) end
    table.insert(seen, 1, i)
    return seen
  end
end
table.insert(seen, 1, -1)
return seen
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
    """Counts, budgets and scenario states of every process serving one namespace, on Redis."""

    backend = "redis"

    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        self.name = _without_credentials(url)
        self.namespace = namespace
        self._calls_key = f"{namespace}:calls"
        self._states_key = f"{namespace}:states"
        self._client: redis.Redis | None = None
        self._claim: Any = None
        self._release: Any = None
        self._pending: dict[int, tuple[CompiledMocks, int, int]] = {}
        """id(mock) -> (its compiled mocks, its order, answers not yet sent)."""
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._down_logged = False

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        # Made here, on the loop that serves, so that each forked worker connects on its own. One
        # retry at once: a connection the store dropped when it restarted is replaced, and a store
        # that is gone answers a 503 within the timeout rather than after a backoff.
        self._client = redis.Redis.from_url(
            self._url,
            socket_timeout=_TIMEOUT_S,
            socket_connect_timeout=_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        self._claim = self._client.register_script(_CLAIM)
        self._release = self._client.register_script(_RELEASE)
        self._wake = asyncio.Event()
        self._flusher = asyncio.create_task(self._flush_forever())

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        with contextlib.suppress(StoreDown):
            await self._flush()
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._client.aclose()
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
        args: list[str | int] = []
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
        try:
            found = await self._claim(
                keys=[self._calls_key, self._states_key], args=args, client=self._store()
            )
        except (RedisError, OSError) as exc:
            raise self._down(exc) from None
        self._up()
        chosen = int(found[0])
        looked = [(int(found[1 + 2 * i]), str(found[2 + 2 * i])) for i in range((len(found) - 1) // 2)]
        refused = looked if chosen < 0 else looked[:chosen]
        refusals = tuple(
            refusal(listed[order], calls, state) or ""
            for order, (calls, state) in zip(candidates[: len(refused)], refused, strict=True)
        )
        return Claimed(
            None if chosen < 0 else chosen, refusals, looked[chosen][1] if chosen >= 0 else STARTED
        )

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
        self._wake.set()

    # --- the batch of stateless counts ----------------------------------------------------------------

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(BATCH_WINDOW_S)
            # Answers counted while the store was down are dropped, as the store would have lost them.
            with contextlib.suppress(StoreDown):
                await self._flush()

    async def _flush(self) -> None:
        self._wake.clear()
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        client = self._store()
        try:
            async with client.pipeline(transaction=False) as pipe:
                for mocks, order, count in pending.values():
                    pipe.hincrby(self._calls_key, shared_keys(mocks)[order], count)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._down(exc) from None
        self._up()

    # --- the admin API --------------------------------------------------------------------------------

    async def snapshot(self, mocks: Iterable[CompiledMocks]) -> StateSnapshot:
        await self._flush()
        keys = {
            id(mock): key
            for compiled in mocks
            for mock, key in zip(compiled.index.mocks, shared_keys(compiled), strict=True)
        }
        try:
            async with self._store().pipeline(transaction=True) as pipe:
                pipe.hgetall(self._calls_key)
                pipe.hgetall(self._states_key)
                calls, states = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._down(exc) from None
        self._up()
        return StateSnapshot({key: int(n) for key, n in calls.items()}, dict(states), keys)

    async def set_state(self, scenario: str, state: str) -> None:
        try:
            if state == STARTED:
                await self._store().hdel(self._states_key, scenario)
            else:
                await self._store().hset(self._states_key, scenario, state)
        except (RedisError, OSError) as exc:
            raise self._down(exc) from None

    async def reset(self) -> None:
        self._pending.clear()
        try:
            await self._store().delete(self._calls_key, self._states_key)
        except (RedisError, OSError) as exc:
            raise self._down(exc) from None

    async def healthy(self) -> bool:
        try:
            await self._store().ping()
        except (RedisError, OSError, StoreDown):
            return False
        self._up()
        return True
