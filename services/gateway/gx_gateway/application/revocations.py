"""Revoked login sessions (撤销的登录会话): once a refresh-token family is revoked (a spent
refresh token came back), its access tokens stop working on the next request.

The list holds families revoked within the access-token lifetime (older ones have no live
access token left) and is reloaded from the database every `cache_seconds` at most (ahead of
time, in the background, once half of it has passed), so another gateway instance's
revocation takes effect within that time; this instance's own at once.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg

from gx_gateway.adapters import users_repo as users

log = logging.getLogger(__name__)


class RevokedFamilies:
    def __init__(self, pool: asyncpg.Pool, schema: str, access_ttl: int, cache_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self.pool, self.schema, self.access_ttl = pool, schema, access_ttl
        self.cache_seconds, self.clock = cache_seconds, clock
        self._ids: frozenset[str] = frozenset()
        self._added: set[str] = set()  # added here while a reload may be reading
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._ahead: asyncio.Task[None] | None = None

    async def is_revoked(self, family_id: str) -> bool:
        age = self.clock() - self._loaded_at
        if age >= self.cache_seconds:
            async with self._lock:  # one reload at a time; the others use its result
                if self.clock() - self._loaded_at >= self.cache_seconds:
                    await self._reload()
        elif age >= self.cache_seconds / 2 and self._ahead is None:
            # reloaded ahead, in the background: with steady traffic no request waits for it
            self._ahead = asyncio.create_task(self._reload_ahead())
        return family_id in self._ids

    async def _reload_ahead(self) -> None:
        try:
            async with self._lock:
                if self.clock() - self._loaded_at >= self.cache_seconds / 2:
                    await self._reload()
        finally:
            self._ahead = None

    def add(self, family_id: str) -> None:
        """Revoked by this instance: effective here without waiting for a reload."""
        self._ids = self._ids | {str(family_id)}
        self._added.add(str(family_id))

    async def _reload(self) -> None:
        self._added = set()
        try:
            fresh = await users.revoked_families(self.pool, self.schema, self.access_ttl)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            # Keep enforcing what is known; try again after the cache period, not per request.
            log.warning("revoked sessions: reload failed; keeping %d known", len(self._ids))
        else:
            self._ids = frozenset(fresh) | self._added
        self._loaded_at = self.clock()
