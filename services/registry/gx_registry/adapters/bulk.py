"""The import's bulk reads and writes of units, through the kernel (no event table by hand).

Appending many streams at once is `gx_kernel.bulk_append` (the unit of work uses it when a
chunk collects many streams); here: the register rows a chunk changes, locked and loaded in
one statement, and the many-new-streams shorthand older callers use.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from gx_kernel.bulk_append import StreamAppend, append_many
from gx_kernel.eventstore import NewEvent, StoredEvent

from gx_registry.domain.unit import Unit


async def lock_units(conn: Any, s: str, unit_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Unit]:
    """The units (from the `units` read model, locked FOR UPDATE in id order, so two writers
    never deadlock), each at the stream version its row records."""
    if not unit_ids:
        return {}
    rows = await conn.fetch(f"SELECT * FROM {s}.units WHERE unit_id = ANY($1::uuid[]) "
                            f"ORDER BY unit_id FOR UPDATE", list(set(unit_ids)))
    return {r["unit_id"]: Unit.from_row(dict(r)) for r in rows}


async def append_new_streams(conn: Any, store: Any,
                             streams: Sequence[tuple[str, Sequence[NewEvent]]],
                             metadata: Mapping[str, Any]) -> list[StoredEvent]:
    """Versions 1..n of each new stream, in the caller's transaction (kernel bulk append)."""
    return await append_many(store, [StreamAppend(sid, 0, events, metadata)
                                     for sid, events in streams], conn=conn)
