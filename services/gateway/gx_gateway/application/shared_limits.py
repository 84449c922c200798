"""Request rate limits (请求限速) that hold across gateway replicas.

Each key (a user, a device) has one token bucket in the database. A replica leases a few
tokens at a time and spends them locally, so requests cost no database round trip: once half
a lease is spent, the next lease is fetched in the background while the rest is spent (a
request waits for the database only for a key's first request, after a lapse or a refusal,
or when a renewal has not come back by the time the held tokens are gone). With R replicas,
at most R × 1.5 × `lease` tokens are held unspent, on top of the shared bucket (the limit a
user sees across replicas stays within burst + R × 1.5 × lease, instead of R × burst with
per-process buckets); with `lease` 1 (small bursts) there is no renewal ahead and the
replicas share the bucket exactly. Unspent tokens lapse `lease_seconds` after their lease.
If the database does not answer, the replica falls back to its own in-process bucket (still
limited, never open).
"""
from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg

from gx_gateway.adapters import rate_repo
from gx_gateway.domain.ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass
class _Lease:
    tokens: int
    until: float
    renewing: asyncio.Task[None] | None = None  # the next lease, asked in the background


class SharedRateLimiter:
    """`await take(key)` -> 0 when allowed, else the seconds to wait (for Retry-After)."""

    def __init__(self, pool: asyncpg.Pool, schema: str, kind: str, rate_per_sec: float,
                 burst: int, lease: int | None = None, lease_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.pool, self.schema, self.kind = pool, schema, kind
        self.rate, self.burst = rate_per_sec, burst
        self.lease = lease if lease is not None else max(1, min(10, burst // 10))
        self.lease_seconds, self.clock, self.max_keys = lease_seconds, clock, max_keys
        self._leases: dict[str, _Lease] = {}
        self._chores: set[asyncio.Task[None]] = set()
        self.fallback = RateLimiter(rate_per_sec, burst, clock=clock)

    async def take(self, key: str) -> int:
        held = self._leases.get(key)
        if held is not None and held.renewing is not None and (
                held.tokens <= 0 or held.until <= self.clock()):
            await asyncio.shield(held.renewing)  # its tokens, rather than a second round trip
        now = self.clock()
        if held is not None and held.tokens > 0 and held.until > now:
            held.tokens -= 1
            if self.lease > 1 and held.renewing is None and held.tokens <= self.lease // 2:
                held.renewing = asyncio.create_task(self._renew(key, held))
            return 0
        try:
            granted, left = await self._ask(key)
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            log.warning("shared rate limit unavailable (%s); this replica limits alone", exc)
            return self.fallback.take(key)
        if random.random() < 0.001:  # now and then: drop buckets that have refilled
            self._chore(self._forget_full())
        if granted <= 0:
            if held is not None and held.renewing is None:
                self._leases.pop(key, None)
            return max(1, math.ceil((1.0 - left) / self.rate))
        if held is None:
            if len(self._leases) >= self.max_keys:
                self._leases = {k: v for k, v in self._leases.items()
                                if v.until > now or v.renewing is not None}
            held = self._leases[key] = _Lease(0, now)
        held.tokens, held.until = granted - 1, now + self.lease_seconds
        return 0

    async def _ask(self, key: str) -> tuple[int, float]:
        return await rate_repo.lease(self.pool, self.schema, f"{self.kind}:{key}", self.rate,
                                     self.burst, self.lease)

    async def _renew(self, key: str, held: _Lease) -> None:
        try:
            granted, _ = await self._ask(key)
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            # the held tokens are still spent; then a request asks again (or falls back)
            log.warning("shared rate limit: renewal failed (%s)", exc)
        else:
            if granted > 0:
                now = self.clock()
                if held.until <= now:
                    held.tokens = 0  # lapsed meanwhile
                held.tokens += granted
                held.until = now + self.lease_seconds
        finally:
            held.renewing = None

    async def _forget_full(self) -> None:
        try:
            await rate_repo.forget_full(self.pool, self.schema, self.rate, self.burst)
        except (asyncpg.PostgresError, OSError, TimeoutError):
            pass

    def _chore(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._chores.add(task)  # a reference until it ends (the loop keeps only weak ones)
        task.add_done_callback(self._chores.discard)
