"""Unit of work: one transaction that appends what a command decided and projects it.

    async with UnitOfWork(store, projections=PROJECTIONS,
                          idempotency=IdempotencyKey(owner, key, payload)) as uow:
        if uow.replayed:                       # this key already ran: same answer again
            return uow.replayed
        ...read with uow.conn, decide...
        uow.collect(stream_id, expected_version, [NewEvent(...)], metadata)   # or uow.add(agg)
        return uow.respond(201, body)

On leaving without an exception: the collected events are appended through the store inside
the transaction, the registered projectors run on them (same transaction), the response is
stored under the idempotency key, the transaction commits, and only then the relay is woken
(`store.notify_committed()`). On an exception everything rolls back and nobody is woken.

Inbound-event handlers already run in the consumer's transaction (with its tracking row):
`UnitOfWork.for_connection(conn, store)` appends and projects there and wakes the relay after
the consumer commits (the consumer opens an `AfterCommit` scope around its transaction).
"""
from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from gx_kernel import bulk_append
from gx_kernel.errors import AppError
from gx_kernel.eventstore import NewEvent, StoredEvent
from gx_kernel.idempotency import request_hash
from gx_kernel.projections import ProjectionRegistry


class CommitOutcome(Exception):
    """The COMMIT's reply was lost and the transaction is not known to have committed:
    'aborted' (safe to retry) or unknown (None / 'in progress': retry only with the key)."""

    def __init__(self, status: str | None):
        super().__init__(f"commit outcome: {status or 'unknown'}")
        self.status = status


@dataclass(frozen=True)
class IdempotencyKey:
    """A command's retry identity: who sent it, their key (None: no key), what it asked."""

    owner: str
    key: str | None
    payload: Any


class EventSourced(Protocol):
    """An aggregate that raises events: `uow.add(aggregate)` appends its pending events."""

    stream_id: str
    version: int  # the stream version it was loaded at: the expected version of the append
    pending_events: list[NewEvent]


class AfterCommit:
    """Calls to make once an outer transaction has committed (the consumer's)."""

    _current: contextvars.ContextVar[AfterCommit | None] = contextvars.ContextVar(
        "gx_after_commit", default=None)

    def __init__(self) -> None:
        self._calls: list[Callable[[], None]] = []

    def add(self, call: Callable[[], None]) -> None:
        if call not in self._calls:
            self._calls.append(call)

    @contextlib.contextmanager
    def active(self) -> Iterator[AfterCommit]:
        token = AfterCommit._current.set(self)
        try:
            yield self
        finally:
            AfterCommit._current.reset(token)

    def run(self) -> None:
        calls, self._calls = self._calls, []
        for call in calls:
            call()

    @classmethod
    def current(cls) -> AfterCommit | None:
        return cls._current.get()


@dataclass
class _Pending:
    stream_id: str
    expected_version: int | None
    events: list[NewEvent]
    metadata: Mapping[str, Any] | None
    aggregate: Any = None


class UnitOfWork:
    """Transaction, idempotency record, collected events, projections, relay wake-up."""

    def __init__(self, store: Any, *, projections: ProjectionRegistry | None = None,
                 idempotency: IdempotencyKey | None = None, pool: Any = None):
        self.store, self.projections, self.idempotency = store, projections, idempotency
        self._pool: Any = pool if pool is not None else getattr(store, "pool", None)
        self._outer_conn: Any = None
        self._after_commit: AfterCommit | None = None
        self.conn: Any = None
        self.replayed: tuple[int, Any] | None = None  # stored (status, body) for a retry
        self.stored: list[StoredEvent] = []  # events appended by this unit of work
        self._pending: list[_Pending] = []
        self._response: tuple[int, Any] | None = None
        self._claimed = False  # this unit of work holds its key's row (written on commit)
        self._cm: Any = None

    @classmethod
    def for_connection(cls, conn: Any, store: Any, *,
                       projections: ProjectionRegistry | None = None,
                       idempotency: IdempotencyKey | None = None,
                       after_commit: AfterCommit | None = None) -> UnitOfWork:
        """Work inside a transaction someone else opened and commits (e.g. the consumer).

        The relay wake-up is handed to `after_commit` (default: the consumer's current
        `AfterCommit` scope), which the owner of the transaction runs after committing."""
        uow = cls(store, projections=projections, idempotency=idempotency)
        uow._outer_conn = conn
        uow._after_commit = after_commit
        return uow

    # -- what handlers call --------------------------------------------------------------
    def collect(self, stream_id: str, expected_version: int | None,
                events: Sequence[NewEvent], metadata: Mapping[str, Any] | None = None) -> None:
        """Append these events on commit (`expected_version` as in `EventStore.append`)."""
        self._check_open()
        self._pending.append(_Pending(stream_id, expected_version, list(events), metadata))

    def add(self, aggregate: EventSourced, metadata: Mapping[str, Any] | None = None) -> None:
        """Append the aggregate's pending events on commit, expecting its loaded version."""
        self._check_open()
        self._pending.append(_Pending(aggregate.stream_id, aggregate.version,
                                      list(aggregate.pending_events), metadata, aggregate))

    def respond(self, status: int, body: Any) -> tuple[int, Any]:
        """The command's answer, stored under the idempotency key with the effects."""
        self._response = (status, body)
        return status, body

    async def flush(self) -> list[StoredEvent]:
        """Append and project what was collected so far (still inside the transaction)."""
        self._check_open()
        pending, self._pending = self._pending, []
        if pending and self.replayed is not None:
            raise RuntimeError("a replayed command must not raise events again")
        stored: list[StoredEvent] = []
        if _bulk(self.store, pending):  # many streams: a few statements for all of them
            stored = await bulk_append.append_many(self.store, [bulk_append.StreamAppend(
                p.stream_id, p.expected_version, p.events, p.metadata) for p in pending],
                conn=self.conn)
            last = {e.stream_id: e.version for e in stored}
            for p in pending:
                if p.aggregate is not None and p.stream_id in last:
                    _mark_committed(p.aggregate, last[p.stream_id])
            pending = []
        for p in pending:
            appended = await self.store.append(p.stream_id, p.expected_version, p.events,
                                               p.metadata, conn=self.conn)
            stored += appended
            if p.aggregate is not None and appended:
                _mark_committed(p.aggregate, appended[-1].version)
        if stored and self.projections is not None:
            await self.projections.apply(self.conn, stored)
        self.stored += stored
        return stored

    # -- the transaction -----------------------------------------------------------------
    async def __aenter__(self) -> UnitOfWork:
        if self._outer_conn is not None:
            self.conn = self._outer_conn
        else:
            await self._begin()
        try:
            await self._load_replay()
        except BaseException:
            await self._end(committed=False)
            raise
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            await self._end(committed=False)
            return
        try:
            await self.flush()
            if self.replayed is None:
                if self._response is not None:
                    await self._save_response(*self._response)
                else:
                    await self._drop_claim()  # no answer to keep: a retry runs again
        except BaseException:
            await self._end(committed=False)
            raise
        await self._end(committed=True)

    async def _end(self, committed: bool) -> None:
        conn, self.conn = self.conn, None
        if self._outer_conn is not None:
            if committed and self.stored:
                hooks = self._after_commit or AfterCommit.current()
                if hooks is None:
                    raise RuntimeError("UnitOfWork.for_connection needs an AfterCommit scope "
                                       "(or after_commit=) to wake the relay after the commit")
                hooks.add(self.store.notify_committed)
            return
        await self._finish(conn, committed)
        if committed and self.stored:
            self.store.notify_committed()  # only now: the relay can see the events

    def _check_open(self) -> None:
        if self.conn is None:
            raise RuntimeError("the unit of work is not open (use `async with uow:`)")

    # -- backends (PostgreSQL here; FakeUnitOfWork keeps them in memory) -----------------
    async def _begin(self) -> None:
        self._cm = self._pool.acquire()
        self.conn = await self._cm.__aenter__()
        self._tx = self.conn.transaction()
        try:
            await self._tx.start()
        except BaseException:
            await self._cm.__aexit__(None, None, None)
            raise

    async def _finish(self, conn: Any, committed: bool) -> None:
        try:
            if not committed:
                await self._tx.rollback()
                return
            # COMMIT's reply can be lost after PostgreSQL committed (connection cut, sync
            # replica wait interrupted): ask a fresh connection what became of this xid
            # instead of reporting "did not run" (503) and inviting a second effect.
            xid = await conn.fetchval("SELECT pg_current_xact_id()::text")
            try:
                await self._tx.commit()
            except (asyncpg.PostgresConnectionError, ConnectionError, OSError) as exc:
                status = await self._outcome_of(xid)
                if status != "committed":
                    raise CommitOutcome(status) from exc
        finally:
            await self._cm.__aexit__(None, None, None)

    async def _outcome_of(self, xid: str) -> str | None:
        """'committed', 'aborted', 'in progress', or None if PostgreSQL cannot be asked."""
        with contextlib.suppress(Exception):
            async with self._pool.acquire() as fresh:
                status: str | None = await fresh.fetchval(
                    "SELECT pg_xact_status($1::text::xid8)", xid)
                return status
        return None

    async def _load_replay(self) -> None:
        """Claim the key by inserting its row (answer still empty), or read the stored answer:
        one statement. A concurrent first try of the same key holds the row's unique-index
        entry until it ends, so this waits for it; then finds its answer (it committed) or
        claims the key itself (it rolled back). The claim is only ever seen committed with its
        answer (`_save_response`) or not at all (`_drop_claim`, or a rollback)."""
        idem = self.idempotency
        if idem is None or not idem.key:
            return
        # ON CONFLICT DO UPDATE (a no-op change) returns the committed row; xmax = 0 only on
        # a row this statement inserted.
        row = await self.conn.fetchrow(
            f"INSERT INTO {self.store.schema}.idempotency_keys AS k (owner, key, request_hash, "
            f"status, response) VALUES ($1, $2, $3, 0, 'null') ON CONFLICT (owner, key) "
            f"DO UPDATE SET owner = k.owner RETURNING k.request_hash, k.status, k.response, "
            f"k.xmax = 0 AS claimed", idem.owner, idem.key, request_hash(idem.payload))
        if row["claimed"]:
            self._claimed = True
        else:
            self.replayed = _replay(row["request_hash"], idem,
                                    (row["status"], json.loads(row["response"])))

    async def _save_response(self, status: int, body: Any) -> None:
        if not self._claimed:
            return
        idem = self.idempotency
        assert idem is not None
        await self.conn.execute(
            f"UPDATE {self.store.schema}.idempotency_keys SET status = $3, response = $4 "
            f"WHERE owner = $1 AND key = $2", idem.owner, idem.key, status,
            json.dumps(body, default=str, ensure_ascii=False))

    async def _drop_claim(self) -> None:
        if self._claimed and self.idempotency is not None:
            await self.conn.execute(
                f"DELETE FROM {self.store.schema}.idempotency_keys WHERE owner = $1 AND key = $2",
                self.idempotency.owner, self.idempotency.key)


def _replay(stored_hash: str, idem: IdempotencyKey, response: tuple[int, Any]) -> tuple[int, Any]:
    if stored_hash != request_hash(idem.payload):
        raise AppError(422, "idempotency_key_reused",
                       "同一幂等键（Idempotency-Key）已用于不同的请求内容", field="Idempotency-Key")
    return response


BULK_MIN_STREAMS = 16
"""A flush of at least this many distinct streams goes through `gx_kernel.bulk_append`."""


def _bulk(store: Any, pending: Sequence[_Pending]) -> bool:
    return (len(pending) >= BULK_MIN_STREAMS and bulk_append.supports(store)
            and len({p.stream_id for p in pending}) == len(pending))


def _mark_committed(aggregate: Any, version: int) -> None:
    hook = getattr(aggregate, "mark_committed", None)
    if hook is not None:
        hook(version)
        return
    aggregate.pending_events.clear()
    with contextlib.suppress(AttributeError):  # frozen aggregates keep their loaded version
        aggregate.version = version


class FakeUnitOfWork(UnitOfWork):
    """The same unit of work on an `InMemoryEventStore`, for handler tests without a database.

    `conn` is the store's in-memory transaction (projectors get it too); idempotency records
    live in `responses` (share one dict between units of work to test retries)."""

    def __init__(self, store: Any = None, *, projections: ProjectionRegistry | None = None,
                 idempotency: IdempotencyKey | None = None,
                 responses: dict[tuple[str, str], tuple[str, int, Any]] | None = None):
        from gx_kernel.memstore import InMemoryEventStore

        super().__init__(store if store is not None else InMemoryEventStore(),
                         projections=projections, idempotency=idempotency)
        self.responses = responses if responses is not None else {}
        self.committed = self.rolled_back = False

    async def _begin(self) -> None:
        self.conn = self.store.begin()

    async def _finish(self, conn: Any, committed: bool) -> None:
        if committed:
            conn.commit()
        else:
            conn.rollback()
        self.committed, self.rolled_back = committed, not committed

    async def _load_replay(self) -> None:
        idem = self.idempotency
        if idem is not None and idem.key and (idem.owner, idem.key) in self.responses:
            digest, status, body = self.responses[idem.owner, idem.key]
            self.replayed = _replay(digest, idem, (status, json.loads(json.dumps(body,
                                                                                 default=str))))

    async def _save_response(self, status: int, body: Any) -> None:
        idem = self.idempotency
        if idem is not None and idem.key:
            self.responses[idem.owner, idem.key] = (request_hash(idem.payload), status, body)

    async def _drop_claim(self) -> None:
        """Nothing claimed here: `responses` only ever holds answers."""
