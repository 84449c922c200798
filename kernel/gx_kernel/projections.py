"""Projections: read-model updaters keyed by event type, and their rebuild from the store.

A projector receives the connection (or in-memory transaction) and the events it registered
for, in (tx_id, position) order, as a batch: the unit of work calls it with one commit's
events, the rebuild with thousands at a time (so a projector can COPY or executemany).
Projectors of one registry are independent read models: each sees its own events in order.

    python -m gx_kernel.projections --database-url URL --schema S my_pkg.read_models:REGISTRY
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import dataclasses
import gc
import importlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from gx_kernel.eventstore import Checkpoint, EventStore, StoredEvent

_loads: Callable[[str | bytes], Any]
try:
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - the standard library is ~5x slower at it
    _loads = json.loads

Projector = Callable[[Any, Sequence[StoredEvent]], Awaitable[None]]
EventProjector = Callable[[Any, StoredEvent], Awaitable[None]]
Reset = Callable[[Any], Awaitable[None]]
Progress = Callable[[int, int], None]  # (events replayed so far, events in all)


class ProjectionRegistry:
    """The projectors of a service, and how to empty its read models before a rebuild."""

    def __init__(self) -> None:
        self._entries: list[tuple[Projector, frozenset[str]]] = []
        self._resets: list[Reset] = []
        self._finishes: list[Reset] = []
        self._contexts: list[Callable[[], contextlib.AbstractContextManager[Any]]] = []
        self.rebuild_reads: dict[str, str] = {}
        self._routed: tuple[list[Any], dict[str, tuple[int, ...]]] | None = None

    def batch(self, *event_types: str) -> Callable[[Projector], Projector]:
        """Register `fn(conn, events)` for these event types."""
        def register(fn: Projector) -> Projector:
            self._entries.append((fn, frozenset(event_types)))
            return fn
        return register

    def on(self, *event_types: str) -> Callable[[EventProjector], EventProjector]:
        """Register `fn(conn, event)`, called once per event."""
        def register(fn: EventProjector) -> EventProjector:
            async def each(conn: Any, events: Sequence[StoredEvent]) -> None:
                for event in events:
                    await fn(conn, event)
            self._entries.append((each, frozenset(event_types)))
            return fn
        return register

    def reset(self, fn: Reset) -> Reset:
        """Register `fn(conn)` that empties read models (e.g. TRUNCATE) before a rebuild."""
        self._resets.append(fn)
        return fn

    def finish(self, fn: Reset) -> Reset:
        """Register `fn(conn)` that a rebuild calls once the events are all projected (and
        after each batch under per-batch transactions), before it commits: where a projector
        that kept rows in `rebuild_scratch` writes them (e.g. one COPY per read-model row
        instead of an upsert per batch). Live units of work never call it."""
        self._finishes.append(fn)
        return fn

    def during_rebuild(self, factory: Callable[[], contextlib.AbstractContextManager[Any]]
                       ) -> Callable[[], contextlib.AbstractContextManager[Any]]:
        """Enter `factory()` around a rebuild of this registry (never around live units of
        work): e.g. the contracts' `trusted_replay`, decoding the store's own events without
        validating them again."""
        self._contexts.append(factory)
        return factory

    def read_during_rebuild(self, event_type: str, data_sql: str) -> None:
        """A rebuild from PostgreSQL reads this type's `data` as the SQL expression `data_sql`
        (of the stored `data`), e.g. without a part no projector of this registry reads in a
        rebuild: less JSON sent, parsed and freed. Live units of work get the whole event.
        The rebuild tests (the same rows as the live projection) are what keep it right."""
        if not _TYPE.fullmatch(event_type):
            raise ValueError(f"not an event type: {event_type!r}")
        self.rebuild_reads[event_type] = data_sql

    def rebuilding(self) -> contextlib.ExitStack:
        """The registered `during_rebuild` contexts, entered together."""
        stack = contextlib.ExitStack()
        try:
            for factory in self._contexts:
                stack.enter_context(factory())
        except BaseException:
            stack.close()
            raise
        return stack

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset().union(*(types for _, types in self._entries))

    async def apply(self, conn: Any, events: Iterable[StoredEvent]) -> None:
        if len(self._entries) == 1:  # one projector: no sorting out
            projector, types = self._entries[0]
            mine = [e for e in events if e.type in types]
            if mine:
                await projector(conn, mine)
            return
        routes = self._routes
        buckets: list[list[StoredEvent]] = [[] for _ in self._entries]
        for e in events:  # one pass: each event to the projectors of its type
            for i in routes.get(e.type, ()):
                buckets[i].append(e)
        for (projector, _), mine in zip(self._entries, buckets, strict=True):
            if mine:
                await projector(conn, mine)

    @property
    def _routes(self) -> dict[str, tuple[int, ...]]:
        """Event type -> the indexes of its projectors (registration order)."""
        if self._routed is None or len(self._routed[0]) != len(self._entries):
            found: dict[str, list[int]] = {}
            for i, (_, types) in enumerate(self._entries):
                for t in types:
                    found.setdefault(t, []).append(i)
            self._routed = (list(self._entries), {t: tuple(v) for t, v in found.items()})
        return self._routed[1]

    async def reset_all(self, conn: Any) -> None:
        for fn in self._resets:
            await fn(conn)

    async def finish_all(self, conn: Any) -> None:
        for fn in self._finishes:
            await fn(conn)


@dataclass(frozen=True)
class RebuildResult:
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else float("inf")


async def rebuild(store: Any, registry: ProjectionRegistry, *, batch_size: int = 5000,
                  one_transaction: bool = True, progress: Progress | None = None,
                  conn: Any = None) -> RebuildResult:
    """Empty the read models and replay every event they project, in (tx_id, position) order.

    PostgreSQL: `one_transaction` (default) resets, replays and commits at once: the models
    are never seen half-built (readers of tables emptied by TRUNCATE wait for the commit;
    with DELETE they read the old rows meanwhile), and projection writers of newer commits
    wait on the reset's locks and apply after it. Otherwise each batch commits on its own
    (short locks; readers see the models fill up), read from one snapshot: run it with the
    service's writers stopped (events committed between the reset and that snapshot would be
    projected twice). Other stores (in memory) are paged through `read_all`, with `conn`
    passed to the projectors.
    """
    started = time.perf_counter()
    token = _SCRATCH.set({})
    try:
        with _no_cyclic_gc(), registry.rebuilding():
            if isinstance(store, EventStore):
                n = await _rebuild_pg(store, registry, batch_size, one_transaction, progress)
            else:
                n = await _rebuild_paged(store, registry, batch_size, progress, conn)
    finally:
        _SCRATCH.reset(token)
    return RebuildResult(n, time.perf_counter() - started)


_SCRATCH: contextvars.ContextVar[dict[str, dict[Any, Any]] | None] = contextvars.ContextVar(
    "gx_projection_scratch", default=None)


def rebuild_scratch(name: str) -> dict[Any, Any] | None:
    """During a rebuild, the dict `name`, kept across its batches; None otherwise.

    A projector may keep there what it folded so far (e.g. each stream's aggregate state) and
    fold the next batch onto it instead of reading the streams again: a rebuild passes every
    event of the registry's types once, in order, from one snapshot. Live units of work get
    None: state kept between their transactions could be one that rolled back. Bound what
    you keep (clear the dict past a size); a miss must fall back to reading the store."""
    scratch = _SCRATCH.get()
    return None if scratch is None else scratch.setdefault(name, {})


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Replayed events are acyclic (reference counting frees them); the cycle collector,
    set off by their sheer number, took about half of the replay's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _rebuild_paged(store: Any, registry: ProjectionRegistry, batch_size: int,
                         progress: Progress | None, conn: Any) -> int:
    await registry.reset_all(conn)
    n, after = 0, Checkpoint.START  # type: ignore[attr-defined]
    while True:
        batch = await store.read_all(after, batch_size)
        if not batch:
            await registry.finish_all(conn)
            return n
        after = batch[-1].checkpoint
        await registry.apply(conn, batch)
        n += len(batch)
        if progress:
            progress(n, n)


_FIELDS = ("id", "stream_id", "version", "position", "tx_id", "type", "schema_version", "data",
           "metadata", "recorded_at")


_TYPE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")


def _select(schema: str, reads: dict[str, str] | None = None) -> str:
    fields = list(_FIELDS)
    if reads:  # the types' own expressions of `data` (types checked by _TYPE: no quotes)
        fields[_FIELDS.index("data")] = (
            "CASE type " + " ".join(f"WHEN '{t}' THEN ({sql})" for t, sql in sorted(reads.items()))
            + " ELSE data END AS data")
    return (f"SELECT {', '.join(fields)} FROM {schema}.events "
            f"WHERE type = ANY($1::text[]) ORDER BY tx_id, position")


EVENT_COLUMNS = ", ".join(_FIELDS)
"""The `events` columns, in the order `event_from_row` reads them."""


def event_from_row(r: Any) -> StoredEvent:
    """A StoredEvent from a row of `SELECT {EVENT_COLUMNS} FROM <schema>.events` (jsonb read
    as text: decoded with orjson)."""
    return _decode(r)


def _decode(r: Any) -> StoredEvent:
    try:  # orjson: the JSON decoding is most of a replay's CPU time
        data, meta = _loads(r[7]), _loads(r[8])
    except ValueError:  # e.g. an integer beyond 64 bits
        data, meta = json.loads(r[7]), json.loads(r[8])
    return _event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], data, meta, r[9])


def _filled(id: Any, stream_id: Any, version: Any, position: Any, tx_id: Any, type: Any,
            schema_version: Any, data: Any, metadata: Any, recorded_at: Any) -> StoredEvent:
    """A StoredEvent without the frozen dataclass's per-field setattr (3x faster)."""
    event = object.__new__(StoredEvent)
    event.__dict__.update(id=id, stream_id=stream_id, version=version, position=position,
                          tx_id=tx_id, type=type, schema_version=schema_version, data=data,
                          metadata=metadata, recorded_at=recorded_at)
    return event


_event = (StoredEvent if hasattr(StoredEvent, "__slots__")
          or [f.name for f in dataclasses.fields(StoredEvent)] != list(_FIELDS) else _filled)


async def _rebuild_pg(store: EventStore, registry: ProjectionRegistry, batch_size: int,
                      one_transaction: bool, progress: Progress | None) -> int:
    types = sorted(registry.event_types)
    async with store.pool.acquire() as writer, store.pool.acquire() as reader:
        if one_transaction:
            async with writer.transaction():
                await registry.reset_all(writer)  # locks taken before the replay's snapshot
                return await _replay(reader, writer, store.schema, types, registry,
                                     batch_size, progress, per_batch=False)
        async with writer.transaction():
            await registry.reset_all(writer)
        return await _replay(reader, writer, store.schema, types, registry, batch_size,
                             progress, per_batch=True)


async def _replay(reader: Any, writer: Any, schema: str, types: list[str],
                  registry: ProjectionRegistry, batch_size: int, progress: Progress | None,
                  per_batch: bool) -> int:
    """Read (server-side cursor, one snapshot) on one connection, project on the other:
    the database prepares the next batch while this process projects the last one."""
    async with reader.transaction(isolation="repeatable_read", readonly=True):
        total = await reader.fetchval(
            f"SELECT count(*) FROM {schema}.events WHERE type = ANY($1::text[])", types)
        cursor = await reader.cursor(_select(schema, registry.rebuild_reads), types)
        batches: asyncio.Queue[list[StoredEvent] | BaseException] = asyncio.Queue(maxsize=2)

        async def read() -> None:
            try:
                while True:
                    rows = await cursor.fetch(batch_size)
                    await batches.put([_decode(r) for r in rows])
                    if not rows:
                        return
            except Exception as exc:  # noqa: BLE001 - handed to the projecting side
                await batches.put(exc)

        reading = asyncio.create_task(read())
        n = 0
        try:
            while True:
                events = await batches.get()
                if isinstance(events, BaseException):
                    raise events
                if not events:
                    if not per_batch:
                        await registry.finish_all(writer)
                    return n
                if per_batch:
                    async with writer.transaction():
                        await registry.apply(writer, events)
                        await registry.finish_all(writer)
                else:
                    await registry.apply(writer, events)
                n += len(events)
                if progress:
                    progress(n, total)
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)


def _load(spec: str, schema: str) -> ProjectionRegistry:
    """`module:attribute`: a registry, or a function of the schema returning one (projectors
    bound to their schema, e.g. `gx_agri.application.projections:projections`)."""
    module, _, attr = spec.partition(":")
    found = getattr(importlib.import_module(module), attr or "PROJECTIONS")
    # Under `python -m` this file is __main__: check against the importable module's class.
    kind = importlib.import_module("gx_kernel.projections").ProjectionRegistry
    registry = found if isinstance(found, kind) or not callable(found) else found(schema)
    if not isinstance(registry, kind):
        raise SystemExit(f"{spec} is not a ProjectionRegistry (nor a function of the schema "
                         f"returning one)")
    return cast(ProjectionRegistry, registry)


async def _main(args: argparse.Namespace) -> RebuildResult:
    import asyncpg
    from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    registry = _load(args.registry, args.schema)
    pool = await asyncpg.create_pool(args.database_url, min_size=1, max_size=2)
    try:
        with Bar("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                 TimeRemainingColumn()) as bar:
            task = bar.add_task(f"rebuild {args.schema}", total=None)
            return await rebuild(EventStore(pool, args.schema), registry,
                                 batch_size=args.batch_size,
                                 one_transaction=not args.per_batch_transactions,
                                 progress=lambda done, total: bar.update(task, completed=done,
                                                                         total=total))
    finally:
        await pool.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gx_kernel.projections",
                                     description="Rebuild read models from the event store.")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--per-batch-transactions", action="store_true",
                        help="commit each batch (default: one transaction for the whole rebuild)")
    parser.add_argument("registry", help="module:attribute of a ProjectionRegistry, or of a "
                                         "function(schema) returning one")
    result = asyncio.run(_main(parser.parse_args(argv)))
    print(f"{result.events} events replayed in {result.seconds:.1f} s "
          f"({result.per_second:,.0f} events/s)")


if __name__ == "__main__":
    # as the importable module: projectors ask *its* rebuild_scratch (this copy's context
    # would stay unset, and a rebuild would run their live path)
    importlib.import_module("gx_kernel.projections").main()
