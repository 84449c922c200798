"""In-memory event store with the PostgreSQL store's semantics, for fast tests.

It keeps the same guarantees the contract suite checks on `EventStore`: optimistic appends by
expected version (a loser takes no position), one writer per stream until its transaction
ends, `read_all` in (tx_id, position) order below the oldest open transaction (the in-memory
"xmin"), and data read back as JSON (a UUID written is a string read, as from jsonb).
A transaction is `store.transaction()` (or `begin()`), passed to `append(..., conn=tx)`.
"""
from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gx_kernel import telemetry
from gx_kernel.eventstore import (
    AppendSignal,
    Checkpoint,
    ConcurrencyError,
    NewEvent,
    StoredEvent,
)

# The PostgreSQL store's event size limit (the Kafka record an event becomes), same check.
from gx_kernel.kafka import DEFAULT_MAX_EVENT_BYTES, check_event_size


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class _Row:
    """An event as stored: payloads kept as JSON text, decoded afresh on every read."""

    event: StoredEvent  # data/metadata of this copy are not handed out
    data: str
    metadata: str

    def read(self) -> StoredEvent:
        e = self.event
        return StoredEvent(e.id, e.stream_id, e.version, e.position, e.tx_id, e.type,
                           e.schema_version, json.loads(self.data), json.loads(self.metadata),
                           e.recorded_at)


class MemoryTransaction:
    """One writer's transaction: its events become visible together on commit."""

    def __init__(self, store: InMemoryEventStore, tx_id: int):
        self.store, self.tx_id = store, tx_id
        self.rows: list[_Row] = []
        self.versions: dict[str, tuple[int, int]] = {}  # stream -> (version, last tx id)
        self._locks: dict[str, asyncio.Lock] = {}
        self.closed = False

    async def append(self, stream_id: str, expected: int | None, events: Sequence[NewEvent],
                     meta: dict[str, Any], datas: Sequence[str]) -> list[StoredEvent]:
        if self.closed:
            raise RuntimeError("transaction already ended")
        fresh_lock = stream_id not in self._locks
        if fresh_lock:  # like the stream row's lock in PostgreSQL: held until the end
            lock = self.store._lock(stream_id)
            await lock.acquire()
            self._locks[stream_id] = lock
        try:
            base = self._claim(stream_id, expected, len(events))
        except ConcurrencyError:
            if fresh_lock:
                self._locks.pop(stream_id).release()
            raise
        now = datetime.now(UTC)
        meta_json = _json(meta)
        stored = []
        for i, e in enumerate(events, start=1):
            s = StoredEvent(e.id, stream_id, base + i, self.store._take_position(), self.tx_id,
                            e.type, e.schema_version, e.data, dict(meta), now)
            self.rows.append(_Row(s, datas[i - 1], meta_json))
            stored.append(s)
        return stored

    async def append_many(self, appends: Sequence[Any], prepared: Any) -> list[StoredEvent]:
        """All streams claimed (locked in stream-id order) before any position is taken;
        one stale stream: nothing of the call written, its new locks released."""
        if self.closed:
            raise RuntimeError("transaction already ended")
        versions, fresh = dict(self.versions), []
        try:
            for a in sorted(appends, key=lambda a: a.stream_id):
                if a.stream_id not in self._locks:
                    lock = self.store._lock(a.stream_id)
                    await lock.acquire()
                    self._locks[a.stream_id] = lock
                    fresh.append(a.stream_id)
            bases = {a.stream_id: self._claim(a.stream_id, a.expected_version, len(a.events))
                     for a in appends}
        except BaseException:
            self.versions = versions
            for sid in fresh:
                self._locks.pop(sid).release()
            raise
        now, stored = datetime.now(UTC), []
        for i, e, _text in prepared.events:
            sid, m = appends[i].stream_id, prepared.meta_of[i]
            bases[sid] += 1
            s = StoredEvent(e.id, sid, bases[sid], self.store._take_position(), self.tx_id,
                            e.type, e.schema_version, e.data, dict(prepared.metas[m]), now)
            self.rows.append(_Row(s, _json(e.data), prepared.meta_json[m]))
            stored.append(s)
        return stored

    def _claim(self, stream_id: str, expected: int | None, count: int) -> int:
        current = self.version_of(stream_id)
        if current is None:
            if expected not in (0, None):
                raise ConcurrencyError(stream_id, expected, None)
            base = 0
        else:
            version, last_tx = current
            if expected == 0 or (expected is not None and expected != version) \
                    or last_tx > self.tx_id:  # never append behind a newer writer
                raise ConcurrencyError(stream_id, expected, version)
            base = version
        self.versions[stream_id] = (base + count, self.tx_id)
        return base

    def version_of(self, stream_id: str) -> tuple[int, int] | None:
        return self.versions.get(stream_id) or self.store._versions.get(stream_id)

    def commit(self) -> None:
        self.store._commit(self)
        self._end()

    def rollback(self) -> None:
        self._end()

    def _end(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.store._open.discard(self.tx_id)
        for lock in self._locks.values():
            lock.release()
        self._locks.clear()


class InMemoryEventStore(AppendSignal):
    """Same public API as `EventStore`; `conn` arguments take a `MemoryTransaction`."""

    def __init__(self, schema: str = "memory", max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES):
        self.schema, self.max_event_bytes = schema, max_event_bytes
        self._rows: list[_Row] = []  # committed, sorted by (tx_id, position)
        self._keys: list[tuple[int, int]] = []
        self._by_stream: dict[str, list[_Row]] = {}
        self._versions: dict[str, tuple[int, int]] = {}
        self._stream_locks: dict[str, asyncio.Lock] = {}
        self._open: set[int] = set()
        self._next_tx, self._next_position = 1, 1
        self._appended = asyncio.Event()

    async def setup(self) -> None:
        return None

    # -- transactions --------------------------------------------------------------------
    def begin(self) -> MemoryTransaction:
        tx = MemoryTransaction(self, self._next_tx)
        self._next_tx += 1
        self._open.add(tx.tx_id)
        return tx

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryTransaction]:
        """Commit on leaving, roll back on an exception (as `conn.transaction()`)."""
        tx = self.begin()
        try:
            yield tx
        except BaseException:
            tx.rollback()
            raise
        tx.commit()

    def _lock(self, stream_id: str) -> asyncio.Lock:
        return self._stream_locks.setdefault(stream_id, asyncio.Lock())

    def _take_position(self) -> int:
        self._next_position += 1
        return self._next_position - 1

    def _commit(self, tx: MemoryTransaction) -> None:
        for row in tx.rows:
            key = (row.event.tx_id, row.event.position)
            i = bisect.bisect_right(self._keys, key)
            self._keys.insert(i, key)
            self._rows.insert(i, row)
            self._by_stream.setdefault(row.event.stream_id, []).append(row)
        self._versions.update(tx.versions)

    # -- writing -------------------------------------------------------------------------
    async def append(self, stream_id: str, expected_version: int | None,
                     events: Sequence[NewEvent], metadata: Mapping[str, Any] | None = None,
                     conn: MemoryTransaction | None = None) -> list[StoredEvent]:
        if not events:
            return []
        meta = telemetry.enrich_metadata(dict(metadata or {}))
        datas = [_json(e.data) for e in events]
        check_event_size(stream_id, events, meta, self.max_event_bytes, datas)
        if conn is not None:
            return await conn.append(stream_id, expected_version, events, meta, datas)
        tx = self.begin()
        try:
            stored = await tx.append(stream_id, expected_version, events, meta, datas)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        self.notify_committed()
        return stored

    async def append_many(self, appends: Sequence[Any], conn: MemoryTransaction | None = None
                          ) -> list[StoredEvent]:
        """`gx_kernel.bulk_append.append_many` in memory (same rules; see that module)."""
        from gx_kernel import bulk_append

        appends = [a for a in appends if a.events]
        if not appends:
            return []
        bulk_append.require_distinct(appends)
        prepared = bulk_append.prepare(appends, self.max_event_bytes)
        if conn is not None:
            return await conn.append_many(appends, prepared)
        tx = self.begin()
        try:
            stored = await tx.append_many(appends, prepared)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        self.notify_committed()
        return stored

    # -- reading -------------------------------------------------------------------------
    def committed(self) -> list[StoredEvent]:
        """Every committed event in (tx_id, position) order (for test assertions)."""
        return [r.read() for r in self._rows]

    @property
    def open_transactions(self) -> int:
        return len(self._open)

    async def stream_version(self, stream_id: str, conn: MemoryTransaction | None = None) -> int:
        current = conn.version_of(stream_id) if conn else self._versions.get(stream_id)
        return current[0] if current else 0

    async def read_stream(self, stream_id: str, after_version: int = 0,
                          conn: MemoryTransaction | None = None) -> list[StoredEvent]:
        rows = list(self._by_stream.get(stream_id, ()))
        if conn is not None:  # a transaction sees its own writes
            rows += [r for r in conn.rows if r.event.stream_id == stream_id]
        return [r.read() for r in rows if r.event.version > after_version]

    async def read_all(self, after: Checkpoint = Checkpoint.START,  # type: ignore[attr-defined]
                       limit: int = 500) -> list[StoredEvent]:
        """Committed events after `after`, none from or behind a still-open transaction."""
        xmin = min(self._open) if self._open else self._next_tx
        i = bisect.bisect_right(self._keys, (after[0], after[1]))
        out: list[StoredEvent] = []
        while i < len(self._rows) and len(out) < limit and self._keys[i][0] < xmin:
            out.append(self._rows[i].read())
            i += 1
        return out
