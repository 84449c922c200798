"""Bulk append: the events of many streams, new or existing, in a few statements.

    from gx_kernel.bulk_append import StreamAppend, append_many
    stored = await append_many(store, [StreamAppend(stream_id, expected_version, events,
                                                    metadata), ...], conn=conn)

`EventStore.append` costs one round trip per stream; an import that writes 100,000 streams
spends minutes on them. `append_many` keeps every rule of `append`, for all streams at once:

- **Optimistic versions.** Each stream's `expected_version` as in `append` (0 = must not exist,
  n = must be at n, None = at its end, created if absent). All streams are claimed first, in
  one statement, before any event row or sequence number: one stale stream fails the whole
  call with `ConcurrencyError` (naming that stream), nothing of the call is written and no
  position is taken. In the caller's transaction the call runs under a savepoint, so the
  transaction stays usable after a conflict, as after a failed `append`.
- **Gap-free reading.** The events are written by the caller's transaction (its `tx_id`), in
  the given order (stream by stream, each stream's events in order): `read_all`'s xmin guard
  and (tx_id, position) order see them exactly as appended one by one; a stream's row records
  the writer's transaction id, so an older transaction never appends behind a newer one.
- **Size and metadata.** Every event passes `check_event_size` before any statement runs
  (`EventTooLarge`, nothing written); metadata is enriched as `append` does it.
- **COPY.** From `COPY_FROM` events on, the events go in by binary COPY (~4x faster than the
  INSERT), with what the column defaults give: positions from the table's sequence in the
  events' order, the transaction's id, its start time.
- **Relay.** With `conn=None` the call commits on its own connection and wakes the relay;
  inside a unit of work the unit of work wakes it after its commit (`UnitOfWork.flush` uses
  this for many streams at once).

Existing stream rows are locked in stream-id order, so two bulk writers sharing streams wait
for each other instead of deadlocking. A stream may appear once per call. The in-memory store
implements the same (`InMemoryEventStore.append_many`); `tests/kernel/
test_bulk_append_contract.py` holds both to it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gx_kernel import telemetry
from gx_kernel.eventstore import ConcurrencyError, EventStore, NewEvent, StoredEvent
from gx_kernel.kafka import _EXPONENT, _ROUGH_ENVELOPE, check_event_size

try:
    import orjson
except ImportError:  # pragma: no cover - the standard library does the same, ~5x slower
    orjson = None  # type: ignore[assignment]

_XID = "pg_current_xact_id()::text::bigint"
# A number in exponent form in compact JSON (a number follows ":", "," or "["; a uuid inside
# a string does not match). Text in a string that looks so only costs an exact sizing.
_DIGIT_EXPONENT = re.compile(r"[:,\[]-?\d+(?:\.\d+)?[eE]")


@dataclass(frozen=True)
class StreamAppend:
    """One stream's part of a bulk append (arguments as in `EventStore.append`)."""

    stream_id: str
    expected_version: int | None
    events: Sequence[NewEvent]
    metadata: Mapping[str, Any] | None = None


def supports(store: Any) -> bool:
    """Whether `store` takes bulk appends (the PostgreSQL and in-memory stores do)."""
    return isinstance(store, EventStore) or callable(getattr(store, "append_many", None))


async def append_many(store: Any, appends: Sequence[StreamAppend],
                      conn: Any = None) -> list[StoredEvent]:
    """Append every stream's events at once; returns them in the order given."""
    appends = [a for a in appends if a.events]
    if not appends:
        return []
    if not isinstance(store, EventStore):
        result: list[StoredEvent] = await store.append_many(appends, conn=conn)
        return result
    require_distinct(appends)
    prepared = prepare(appends, store.max_event_bytes)
    attributes: dict[str, Any] = {"db.system": "postgresql", "gx.stream_count": len(appends),
                  "gx.event_count": len(prepared.events)}
    with telemetry.span("eventstore.append_many", **attributes):
        if conn is not None:
            async with conn.transaction():  # a savepoint: a conflict leaves `conn` usable
                return await _append_pg(conn, store.schema, prepared)
        async with store.pool.acquire() as own, own.transaction():
            stored = await _append_pg(own, store.schema, prepared)
        store.notify_committed()
        return stored


def require_distinct(appends: Sequence[StreamAppend]) -> None:
    seen: set[str] = set()
    for a in appends:
        if a.stream_id in seen:
            raise ValueError(f"stream {a.stream_id!r} appears twice in one bulk append")
        seen.add(a.stream_id)


# -- what both stores do before writing ---------------------------------------------------
@dataclass
class Prepared:
    """A bulk append checked and encoded: per event its stream, data text and metadata."""

    appends: Sequence[StreamAppend]
    events: list[tuple[int, NewEvent, str]]  # (index of its append, event, data as JSON)
    metas: list[dict[str, Any]]  # enriched metadata, one per distinct metadata given
    meta_json: list[str]
    meta_of: list[int]  # per append: its index in `metas`


def _dumps(value: Any) -> str:
    if orjson is not None:
        try:
            return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS
                                | orjson.OPT_PASSTHROUGH_DATETIME
                                | orjson.OPT_PASSTHROUGH_DATACLASS).decode()
        except TypeError:  # e.g. an integer beyond 64 bits: as the store writes it
            pass
    return json.dumps(value, ensure_ascii=False, default=str)


def prepare(appends: Sequence[StreamAppend], max_event_bytes: int) -> Prepared:
    """Enrich metadata, encode data and refuse (EventTooLarge) any event over the limit.

    Data is encoded once (orjson when installed: the same JSON values `append` stores). The
    size check takes the cheap bound of `check_event_size` on the compact text at twice its
    length (the store's own encoding adds at most one space per separator); an event near
    the limit, or with a number in exponent form, is sized exactly as `append` sizes it."""
    metas: list[dict[str, Any]] = []
    meta_json: list[str] = []
    index: dict[int, int] = {}
    meta_of: list[int] = []
    meta_exp: list[bool] = []  # metadata with an exponent: every event sized exactly
    events: list[tuple[int, NewEvent, str]] = []
    for i, a in enumerate(appends):
        key = id(a.metadata)
        if key not in index:
            index[key] = len(metas)
            metas.append(telemetry.enrich_metadata(dict(a.metadata or {})))
            meta_json.append(json.dumps(metas[-1], ensure_ascii=False, default=str))
            # a number in exponent form (not any "e-": a uuid's hex has them, and each one
            # sent every event of the append to the exact sizing)
            meta_exp.append(_EXPONENT.search(meta_json[-1]) is not None)
        m = index[key]
        meta_of.append(m)
        fixed = len(meta_json[m]) + 3 * len(a.stream_id)
        for e in a.events:
            text = _dumps(e.data)
            rough = 4 * (2 * len(text) + fixed + 2 * len(e.type)) + _ROUGH_ENVELOPE
            if rough > max_event_bytes or meta_exp[m] or _DIGIT_EXPONENT.search(text):
                check_event_size(a.stream_id, [e], metas[m], max_event_bytes)
            events.append((i, e, text))
    return Prepared(appends, events, metas, meta_json, meta_of)


# -- PostgreSQL ---------------------------------------------------------------------------
def _claim_sql(s: str) -> str:
    """Claim every stream: insert the new ones, move the existing ones on (locked in id
    order). Returns each claimed stream with the version its events start after."""
    return (
        f"WITH req AS (SELECT * FROM unnest($1::text[], $2::int[], $3::int[]) "
        f"AS r(sid, n, expected)), "
        f"fresh AS (INSERT INTO {s}.streams (stream_id, version, last_tx_id) "
        f"SELECT sid, n, {_XID} FROM req WHERE expected = 0 ORDER BY sid "
        f"ON CONFLICT (stream_id) DO NOTHING RETURNING stream_id, 0 AS base), "
        f"locked AS (SELECT st.stream_id FROM {s}.streams st WHERE st.stream_id IN "
        f"(SELECT sid FROM req WHERE expected IS DISTINCT FROM 0) ORDER BY st.stream_id "
        f"FOR UPDATE), "
        f"moved AS (UPDATE {s}.streams st SET version = st.version + r.n, last_tx_id = {_XID} "
        f"FROM req r JOIN locked l ON l.stream_id = r.sid WHERE st.stream_id = r.sid "
        f"AND (r.expected IS NULL OR st.version = r.expected) "
        # an older transaction must not append behind the stream's newer writer
        f"AND st.last_tx_id <= {_XID} RETURNING st.stream_id, st.version - r.n AS base) "
        f"SELECT stream_id, base FROM fresh UNION ALL SELECT stream_id, base FROM moved")


def _create_sql(s: str) -> str:
    """Streams appended at their end (None) that did not exist: created now."""
    return (f"INSERT INTO {s}.streams (stream_id, version, last_tx_id) "
            f"SELECT sid, n, {_XID} FROM unnest($1::text[], $2::int[]) AS r(sid, n) "
            f"ORDER BY sid ON CONFLICT (stream_id) DO NOTHING RETURNING stream_id, 0 AS base")


def _insert_sql(s: str) -> str:
    return (f"INSERT INTO {s}.events (id, stream_id, version, type, schema_version, data, "
            f"metadata) SELECT e.id, e.sid, e.v, e.type, e.sv, e.data, ($7::jsonb[])[e.m] "
            f"FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], "
            f"$6::jsonb[], $8::int[]) WITH ORDINALITY AS e(id, sid, v, type, sv, data, m, ord) "
            f"ORDER BY e.ord RETURNING id, position, tx_id, recorded_at")


async def _append_pg(conn: Any, s: str, p: Prepared) -> list[StoredEvent]:
    appends = p.appends
    sids = [a.stream_id for a in appends]
    counts = [len(a.events) for a in appends]
    expected = [a.expected_version for a in appends]
    base = {r["stream_id"]: r["base"] for r in await conn.fetch(_claim_sql(s), sids, counts,
                                                                 expected)}
    if len(base) < len(appends):
        absent = [(a.stream_id, len(a.events)) for a in appends
                  if a.stream_id not in base and a.expected_version is None]
        if absent:
            rows = await conn.fetch(_create_sql(s), [x for x, _ in absent],
                                    [n for _, n in absent])
            base.update((r["stream_id"], r["base"]) for r in rows)
    if len(base) < len(appends):
        stale = next(a for a in appends if a.stream_id not in base)
        current = await conn.fetchval(f"SELECT version FROM {s}.streams WHERE stream_id = $1",
                                      stale.stream_id)
        raise ConcurrencyError(stale.stream_id, stale.expected_version, current)
    next_version = {a.stream_id: base[a.stream_id] for a in appends}
    versions = []
    for i, _, _ in p.events:
        sid = appends[i].stream_id
        next_version[sid] += 1
        versions.append(next_version[sid])
    if len(p.events) >= COPY_FROM:
        return await _copy_events(conn, s, p, versions)
    rows = await conn.fetch(_insert_sql(s), [e.id for _, e, _ in p.events],
                            [appends[i].stream_id for i, _, _ in p.events], versions,
                            [e.type for _, e, _ in p.events],
                            [e.schema_version for _, e, _ in p.events],
                            [text for _, _, text in p.events], p.meta_json,
                            [p.meta_of[i] + 1 for i, _, _ in p.events])  # arrays count from 1
    out = []
    for (i, e, _), r, v in zip(p.events, rows, versions, strict=True):
        if r["id"] != e.id:  # RETURNING follows the insert order; never trust it blindly
            raise RuntimeError("bulk append: rows returned out of order")
        out.append(StoredEvent(e.id, appends[i].stream_id, v, r["position"], r["tx_id"],
                               e.type, e.schema_version, e.data,
                               dict(p.metas[p.meta_of[i]]), r["recorded_at"]))
    return out


# From this many events on, COPY: ~4x faster than the INSERT … FROM unnest (measured 10,000
# events of ~1 KB: 225 ms against 860 ms), for two more round trips (positions, tx id).
COPY_FROM = 200
_EVENT_COLUMNS = ("position", "tx_id", "id", "stream_id", "version", "type", "schema_version",
                  "data", "metadata", "recorded_at")


async def _copy_events(conn: Any, s: str, p: Prepared, versions: list[int]
                       ) -> list[StoredEvent]:
    """The events by binary COPY, with what the column defaults would have given them: the
    positions drawn from the table's sequence (in the events' order), this transaction's id,
    its start time (`now()`, as the default)."""
    n = len(p.events)
    got = await conn.fetchrow(
        f"SELECT array(SELECT nextval(pg_get_serial_sequence('{s}.events', 'position'))"
        f" FROM generate_series(1, $1::int)) AS positions, {_XID} AS tx_id, now() AS at", n)
    positions, tx_id, at = sorted(got["positions"]), got["tx_id"], got["at"]
    appends = p.appends
    records = [(pos, tx_id, e.id, appends[i].stream_id, v, e.type, e.schema_version, text,
                p.meta_json[p.meta_of[i]], at)
               for (i, e, text), v, pos in zip(p.events, versions, positions, strict=True)]
    await conn.copy_records_to_table("events", schema_name=s, columns=_EVENT_COLUMNS,
                                     records=records)
    return [StoredEvent(e.id, appends[i].stream_id, v, pos, tx_id, e.type, e.schema_version,
                        e.data, dict(p.metas[p.meta_of[i]]), at)
            for (i, e, _), v, pos in zip(p.events, versions, positions, strict=True)]
