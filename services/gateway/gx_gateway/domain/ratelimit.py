"""Token buckets (令牌桶) in memory, one per key; the clock is injectable for tests."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from gx_kernel.errors import AppError


class RateLimited(AppError):
    """429 with the seconds to wait (sent as Retry-After)."""

    def __init__(self, retry_after: int, what: str, code: str = "rate_limited"):
        super().__init__(429, code, f"{what}请求过于频繁，请 {retry_after} 秒后重试",
                         extra={"retry_after": retry_after})
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """`take(key)` -> 0 when allowed, else the seconds to wait (for Retry-After)."""

    def __init__(self, rate_per_sec: float, burst: int,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.rate, self.burst, self.clock, self.max_keys = rate_per_sec, burst, clock, max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> int:
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._evict_full(now)
            b = self._buckets[key] = _Bucket(float(self.burst), now)
        b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.rate)
        b.stamp = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - b.tokens) / self.rate))

    def _evict_full(self, now: float) -> None:
        # Buckets that have refilled carry no state worth keeping; drop them to bound memory.
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for k in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[k]
