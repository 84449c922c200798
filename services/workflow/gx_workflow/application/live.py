"""Live progress (进度实时推送): server-sent events per (task, division).

How a change reaches a browser, on any replica:
1. the transaction that changes a case row also sets `cases.changed_tx` and runs
   `pg_notify('<schema>_progress', task_id)` (projection.py);
2. each replica's PgListener hears it and `ProgressHub.notify(task_id)` wakes the streams of
   that task (a one-slot queue per stream: a burst becomes one wake-up);
3. the stream re-reads progress and the cases changed since its last look and pushes them.
LISTEN/NOTIFY is only a hint: a stream also re-checks every `poll_interval` seconds, and every
listener reconnect wakes all streams. Pushes are at most one per `min_push_interval`.
Streams watching the same (task, division) share one progress read (the region view costs
tens of ms; a hundred people watching it must not multiply that): a stream woken at time D
reuses a read that started at or after D, else starts one.

"Changed since the last look" is gap-free: a stream remembers the snapshot xmin taken before
its last read; a change committed after that read was made by a transaction with an id >= that
xmin. Rows seen twice (committed between the xmin and the read) are filtered by version.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg

from gx_workflow.application import queries

MAX_CASE_EVENTS = 50  # per push; the progress snapshot that follows is the full truth


@dataclass
class LiveTiming:
    min_push_interval: float = 0.2
    poll_interval: float = 5.0
    keepalive: float = 15.0


class ProgressHub:
    """In-process fan-out: task id -> the wake-up queues of the open streams."""

    def __init__(self, timing: LiveTiming):
        self.timing = timing
        self._subs: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._reads: dict[tuple[str, str], tuple[float, asyncio.Future]] = {}

    @contextlib.contextmanager
    def subscribe(self, task_id: str) -> Iterator[asyncio.Queue]:
        q: asyncio.Queue = asyncio.Queue(maxsize=1)
        self._subs[task_id].add(q)
        try:
            yield q
        finally:
            subs = self._subs.get(task_id)
            if subs is not None:
                subs.discard(q)
                if not subs:
                    del self._subs[task_id]
                    for key in [k for k in self._reads if k[0] == task_id]:
                        del self._reads[key]

    async def shared_read(self, key: tuple[str, str], not_before: float,
                          read: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The result of a read of `key` started at or after `not_before` (single flight)."""
        entry = self._reads.get(key)
        if entry is None or entry[0] < not_before or (entry[1].done() and (
                entry[1].cancelled() or entry[1].exception() is not None)):
            entry = (time.monotonic(), asyncio.ensure_future(read()))
            # its waiters may all be gone (clients left): never leave an error unretrieved
            entry[1].add_done_callback(lambda f: f.cancelled() or f.exception())
            self._reads[key] = entry
        return await asyncio.shield(entry[1])

    def notify(self, task_id: str) -> None:
        for q in self._subs.get(task_id, ()):
            _offer(q)

    def wake_all(self) -> None:
        for subs in self._subs.values():
            for q in subs:
                _offer(q)

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())


def _offer(q: asyncio.Queue) -> None:
    with contextlib.suppress(asyncio.QueueFull):  # already woken: coalesce
        q.put_nowait(True)


def sse(event: str | None, data: Any = None, event_id: int | None = None) -> bytes:
    lines = []
    if event:
        lines.append(f"event: {event}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if data is not None:
        lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


def case_change(r: asyncpg.Record) -> dict[str, Any]:
    """What changed, without personal data (no titles, names or values)."""
    return {"case_id": str(r["case_id"]), "version": r["version"], "status": r["status"],
            "level": r["level"], "late": r["late"], "division_code": r["division_code"],
            "subject_kind": r["subject_kind"], "last_action": r["last_action"]}


class ProgressFeed:
    """One client's stream. `start()` first (it may return None: unknown division), then
    iterate `events()`; leaving the iteration (client gone, cancelled) unsubscribes."""

    def __init__(self, pool: asyncpg.Pool, schema: str, hub: ProgressHub, task_id: str,
                 division: str):
        self.pool, self.schema, self.hub = pool, schema, hub
        self.task_id, self.division = task_id, division
        self._stack = contextlib.ExitStack()
        self._wake: asyncio.Queue | None = None
        self._since_tx = 0
        self._seen: dict[str, int] = {}  # case id -> version reported, for rows >= _since_tx
        self.snapshot: dict[str, Any] = {}
        self._pushes = 0

    async def start(self) -> dict[str, Any] | None:
        # Subscribe before the first read: a change racing the read still wakes us.
        self._wake = self._stack.enter_context(self.hub.subscribe(self.task_id))
        try:
            woken = time.monotonic()
            async with self.pool.acquire() as conn:
                self._since_tx = await queries.snapshot_xmin(conn)
                # Changes already visible now are part of the first snapshot: not news.
                rows = await queries.changed_cases(conn, self.schema, self.task_id,
                                                   self.division, self._since_tx)
                self._seen = {str(r["case_id"]): r["version"] for r in rows}
            self.snapshot = await self._progress(woken)
        except BaseException:
            self._stack.close()
            raise
        if not self.snapshot:
            self._stack.close()
            return None
        return self.snapshot

    async def events(self) -> AsyncIterator[bytes]:
        assert self._wake is not None, "start() first"
        timing = self.hub.timing
        try:
            yield b"retry: 3000\n\n" + sse("progress", self.snapshot, self._next_id())
            now = time.monotonic()
            last_push = last_check = last_sent = now
            while True:
                now = time.monotonic()
                due_poll = last_check + timing.poll_interval
                due_alive = last_sent + timing.keepalive
                woke = await _wait(self._wake, min(due_poll, due_alive) - now)
                now = time.monotonic()
                if woke or now >= due_poll:
                    if woke and now < last_push + timing.min_push_interval:
                        await asyncio.sleep(last_push + timing.min_push_interval - now)
                    _drain(self._wake)  # everything so far is covered by the read below
                    chunk = await self._check(time.monotonic())
                    last_check = time.monotonic()
                    if chunk:
                        yield chunk
                        last_push = last_sent = last_check
                if time.monotonic() >= last_sent + timing.keepalive:
                    yield b": keep-alive\n\n"
                    last_sent = time.monotonic()
        finally:
            self._stack.close()

    async def _progress(self, not_before: float) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            async with self.pool.acquire() as conn:
                return await queries.progress(conn, self.schema, self.task_id, self.division)
        return await self.hub.shared_read((self.task_id, self.division), not_before, read)

    async def _check(self, woken: float) -> bytes:
        """Re-read; the bytes to push (cases changed + fresh snapshot), or b"" if nothing."""
        async with self.pool.acquire() as conn:
            xmin = await queries.snapshot_xmin(conn)
            rows = await queries.changed_cases(conn, self.schema, self.task_id, self.division,
                                               self._since_tx)
        snapshot = await self._progress(woken)
        fresh = [r for r in rows if self._seen.get(str(r["case_id"])) != r["version"]]
        self._since_tx = xmin
        self._seen = {str(r["case_id"]): r["version"] for r in rows}
        if not fresh and snapshot == self.snapshot:
            return b""
        self.snapshot = snapshot
        out = [sse("case", case_change(r)) for r in fresh[:MAX_CASE_EVENTS]]
        if len(fresh) > MAX_CASE_EVENTS:
            out.append(sse("case_overflow", {"more": len(fresh) - MAX_CASE_EVENTS}))
        out.append(sse("progress", snapshot, self._next_id()))
        return b"".join(out)

    def _next_id(self) -> int:
        self._pushes += 1
        return self._pushes


async def _wait(q: asyncio.Queue, timeout: float) -> bool:
    if timeout <= 0:
        return not q.empty()
    try:
        await asyncio.wait_for(q.get(), timeout)
        return True
    except TimeoutError:
        return False


def _drain(q: asyncio.Queue) -> None:
    with contextlib.suppress(asyncio.QueueEmpty):
        q.get_nowait()
