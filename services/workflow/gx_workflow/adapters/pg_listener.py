"""A dedicated LISTEN connection (not pooled: a pooled listener vanishes when the connection
goes back to the pool, asyncpg #283). Reconnects when the connection drops.

Notifications sent while the connection is down are lost, so every (re)connect calls
`on_connect`, whose job is to make every subscriber re-check (the stream's poll fallback covers
what remains).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)
_DROPPED = (OSError, ConnectionError, asyncio.TimeoutError, asyncpg.PostgresError,
            asyncpg.InterfaceError)


class PgListener:
    """LISTEN on one channel; call `on_notify(payload)` per notification."""

    def __init__(self, dsn: str, channel: str, on_notify: Callable[[str], None],
                 on_connect: Callable[[], None], check_interval: float = 5.0,
                 max_backoff: float = 5.0):
        self.dsn, self.channel = dsn, channel
        self.on_notify, self.on_connect = on_notify, on_connect
        self.check_interval, self.max_backoff = check_interval, max_backoff
        self.connects = 0               # successful (re)connects so far
        self.server_pid: int | None = None  # backend pid of the live connection (tests kill it)

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
            except _DROPPED as exc:
                log.warning("progress listener cannot connect (%s); retry in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            try:
                await self._listen(conn)
                backoff = 0.2
            except _DROPPED as exc:
                log.warning("progress listener connection lost (%s); reconnecting", exc)
            finally:
                self.server_pid = None
                with contextlib.suppress(Exception):
                    conn.terminate()
            await asyncio.sleep(backoff)

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(self.channel, lambda _c, _pid, _ch, payload:
                                self.on_notify(payload))
        self.server_pid = conn.get_server_pid()
        self.connects += 1
        self.on_connect()  # whatever was notified while we were away is lost: re-check all
        while not lost.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(lost.wait(), self.check_interval)
            if not lost.is_set():
                # A half-open TCP connection never reports itself: ask the server.
                await conn.fetchval("SELECT 1", timeout=self.check_interval)
        raise ConnectionError("listener connection closed")
