"""Many new streams in one statement: the import's bulk path for new units and reviews.

`EventStore.append` writes one stream per statement (~0.8 ms each here): 300,000 new units
would spend minutes on round trips. This appends the first events of many new streams at once
with the kernel's own rules — the stream row is claimed first (a stream that already exists
claims nothing and the whole batch fails with ConcurrencyError, nothing written), every event
passes the size check, metadata is enriched the same way, and events land in the same tables
in the given order. Generic: a candidate for `gx_kernel.eventstore` (EventStore.append_new).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from gx_kernel import telemetry
from gx_kernel.eventstore import ConcurrencyError, NewEvent, StoredEvent
from gx_kernel.kafka import check_event_size

_XID = "pg_current_xact_id()::text::bigint"


async def append_new_streams(conn: Any, store: Any,
                             streams: Sequence[tuple[str, Sequence[NewEvent]]],
                             metadata: Mapping[str, Any]) -> list[StoredEvent]:
    """Append `events` as versions 1..n of each new stream (inside the caller's transaction)."""
    if not streams:
        return []
    s = store.schema
    meta = telemetry.enrich_metadata(dict(metadata))
    meta_json = orjson.dumps(meta, default=str).decode()
    ids, sids, versions, types, svs, datas = [], [], [], [], [], []
    # The size check on the largest event of each (type, stream id length) — the record's
    # other parts are the same for all of them — and on every event with an exponent in it.
    largest: dict[tuple[str, int], tuple[int, str, NewEvent, str]] = {}
    for stream_id, events in streams:
        encoded = [orjson.dumps(e.data, default=str).decode() for e in events]
        for e, d in zip(events, encoded, strict=True):
            n = len(d.encode())
            k = (e.type, len(stream_id))
            if k not in largest or n > largest[k][0]:
                largest[k] = (n, stream_id, e, d)
            if "e+" in d or "e-" in d:
                check_event_size(stream_id, [e], meta, store.max_event_bytes)
        for v, (e, d) in enumerate(zip(events, encoded, strict=True), start=1):
            ids.append(e.id)
            sids.append(stream_id)
            versions.append(v)
            types.append(e.type)
            svs.append(e.schema_version)
            datas.append(d)
    for _, stream_id, e, _d in largest.values():  # sized as the kernel encodes it
        check_event_size(stream_id, [e], meta, store.max_event_bytes)
    counts = {}
    for sid, v in zip(sids, versions, strict=True):
        counts[sid] = v
    claimed = await conn.fetchval(
        f"WITH c AS (INSERT INTO {s}.streams (stream_id, version, last_tx_id) "
        f"SELECT sid, n, {_XID} FROM unnest($1::text[], $2::int[]) AS t(sid, n) "
        f"ON CONFLICT (stream_id) DO NOTHING RETURNING 1) SELECT count(*) FROM c",
        list(counts), list(counts.values()))
    if claimed != len(counts):
        raise ConcurrencyError(next(iter(counts)), 0, None)  # rolled back by the caller
    rows = await conn.fetch(
        f"INSERT INTO {s}.events (id, stream_id, version, type, schema_version, data, metadata) "
        f"SELECT e.id, e.sid, e.v, e.type, e.sv, e.data, $7::jsonb FROM unnest($1::uuid[], "
        f"$2::text[], $3::int[], $4::text[], $5::int[], $6::jsonb[]) WITH ORDINALITY AS "
        f"e(id, sid, v, type, sv, data, ord) ORDER BY e.ord "
        f"RETURNING id, position, tx_id, recorded_at", ids, sids, versions, types, svs, datas,
        meta_json)
    by_id = {r["id"]: r for r in rows}
    out = []
    for stream_id, events in streams:
        for v, e in enumerate(events, start=1):
            r = by_id[e.id]
            out.append(StoredEvent(e.id, stream_id, v, r["position"], r["tx_id"], e.type,
                                   e.schema_version, e.data, dict(meta), r["recorded_at"]))
    out.sort(key=lambda x: x.position)
    return out
