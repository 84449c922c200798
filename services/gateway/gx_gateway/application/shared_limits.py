"""Request rate limits (请求限速) that hold across gateway replicas.

Each key (a user, a device) has one token bucket in the database. A replica leases a few
tokens at a time and spends them locally, so most requests cost no database round trip: with
R replicas, at most R × `lease` tokens are held unspent, on top of the shared bucket (the
limit a user sees across replicas stays within burst + R × lease, instead of R × burst with
per-process buckets). Unspent leases lapse after `lease_seconds`. If the database does not
answer, the replica falls back to its own in-process bucket (still limited, never open).
"""
from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from gx_gateway.adapters import rate_repo
from gx_gateway.domain.ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass
class _Lease:
    tokens: int
    until: float


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
        self.fallback = RateLimiter(rate_per_sec, burst, clock=clock)

    async def take(self, key: str) -> int:
        now = self.clock()
        held = self._leases.get(key)
        if held is not None and held.tokens > 0 and held.until > now:
            held.tokens -= 1
            return 0
        try:
            granted, left = await rate_repo.lease(self.pool, self.schema, f"{self.kind}:{key}",
                                                  self.rate, self.burst, self.lease)
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            log.warning("shared rate limit unavailable (%s); this replica limits alone", exc)
            return self.fallback.take(key)
        if random.random() < 0.001:  # now and then: drop buckets that have refilled
            try:
                await rate_repo.forget_full(self.pool, self.schema, self.rate, self.burst)
            except (asyncpg.PostgresError, OSError):
                pass
        if granted <= 0:
            self._leases.pop(key, None)
            return max(1, math.ceil((1.0 - left) / self.rate))
        if len(self._leases) >= self.max_keys:
            self._leases = {k: v for k, v in self._leases.items() if v.until > now}
        self._leases[key] = _Lease(granted - 1, now + self.lease_seconds)
        return 0
