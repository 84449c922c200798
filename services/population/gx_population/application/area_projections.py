"""Read models of an area's correction (its lifecycle folded from the area's events), its map,
and the erasure of personal records beside the person forms (roster lines, change reports,
PES check persons). `register(registry, schema, area_row)` adds them, with the other
projectors of the area row, to a registry as one in-order dispatcher.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.events import decode
from gx_contracts.events.population import (
    IDENTIFYING_FIELDS,
    AreaCorrectionAccepted,
    AreaCorrectionReturned,
    AreaCorrectionReviewFollowed,
    AreaCorrectionSubmitted,
    AreaMapUploaded,
    PersonalRecordErased,
)
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import EventProjector, ProjectionRegistry

from gx_population.adapters import repo
from gx_population.application import area_rebuild
from gx_population.domain.area_correction import AreaCorrection
from gx_population.domain.household import snapshot

CORRECTION_EVENTS = tuple(m.EVENT_TYPE for m in (  # type: ignore[attr-defined]
    AreaCorrectionSubmitted, AreaCorrectionReviewFollowed, AreaCorrectionReturned,
    AreaCorrectionAccepted))


async def project_correction(conn: Any, s: str, e: StoredEvent) -> None:
    payload = decode(e.type, e.schema_version, e.data)
    area_id = uuid.UUID(str(e.data["area_id"]))
    row = await repo.area(conn, s, area_id)
    if row is None:
        return
    ac = AreaCorrection.from_row(row)
    ac.apply(payload)
    old = row.get("correction") or {}
    new_correction = (isinstance(payload, AreaCorrectionSubmitted)
                      and str(old.get("correction_id")) != str(payload.correction_id))
    history = [] if new_correction else list(old.get("history") or [])
    entry: dict[str, Any] = {"type": e.type, "at": e.recorded_at.isoformat(),
                             "by": (e.metadata or {}).get("actor_name")}
    c: dict[str, Any] = {**old, "correction_id": str(ac.correction_id),
                         "state": snapshot(ac.state).model_dump(mode="json")}
    cols: dict[str, Any] = {"version": e.version, "correction_id": ac.correction_id}
    if isinstance(payload, AreaCorrectionSubmitted):
        c.update(proposal=payload.proposal.model_dump(mode="json"), changed=payload.changed,
                 return_reason=None, field_notes={})
        entry.update(revision=payload.revision, changed=payload.changed)
    elif isinstance(payload, AreaCorrectionReviewFollowed):
        entry.update(review=payload.review.model_dump(mode="json"))
    elif isinstance(payload, AreaCorrectionReturned):
        c.update(return_reason=payload.reason, field_notes=dict(payload.field_notes))
        entry.update(from_level=payload.from_level.value, reason=payload.reason)
    elif isinstance(payload, AreaCorrectionAccepted):
        entry.update(level=payload.level.value, final=payload.final)
        if payload.final and payload.applied is not None:
            a = payload.applied
            cols.update(verified=True, boundary=a.boundary, buildings=list(a.buildings),
                        verified_name=a.name, verified_urban_rural_code=a.urban_rural_code,
                        verified_area_code=a.area_code, corrected=True)
    c["history"] = [*history, entry][-200:]
    cols["correction"] = c
    await repo.update_area(conn, s, area_id, **cols)


async def project_map(conn: Any, s: str, e: StoredEvent) -> None:
    d = e.data
    await repo.update_area(conn, s, uuid.UUID(str(d["area_id"])), version=e.version, map={
        "map_id": str(d["map_id"]), "sha256": d["sha256"], "content_type": d["content_type"],
        "size": d["size"], "width": d.get("width"), "height": d.get("height"),
        "uploaded_at": e.recorded_at.isoformat(),
        "uploaded_by": (e.metadata or {}).get("actor_name")})


async def project_record_erased(conn: Any, s: str, e: StoredEvent) -> None:
    """Drop the sealed identifying fields from the read model too (the key is gone already)."""
    d = e.data
    rid = uuid.UUID(str(d["record_id"]))
    kind = d["record_kind"]
    if kind == "roster_entry" and d.get("area_id"):
        area_id = uuid.UUID(str(d["area_id"]))
        await conn.execute(
            f"UPDATE {s}.areas SET roster = (SELECT coalesce(jsonb_agg(CASE WHEN x->>'entry_id'"
            f" = $2 THEN (x - 'head_name') || jsonb_build_object('erased', true) ELSE x END"
            f" ORDER BY o), '[]'::jsonb) FROM jsonb_array_elements(roster) WITH ORDINALITY"
            f" AS t(x, o)), version = CASE WHEN $3 THEN $4 ELSE version END"
            f" WHERE area_id = $1", area_id, str(rid), e.stream_id.startswith("area-"),
            e.version)
    elif kind == "change_report":
        await conn.execute(
            f"UPDATE {s}.ledger_changes SET person = jsonb_set(person, '{{fields}}',"
            f" (person->'fields') - $2::text[]) WHERE change_id = $1", rid,
            list(IDENTIFYING_FIELDS))
    elif kind == "pes_check":
        await conn.execute(f"UPDATE {s}.pes_checks SET fields = fields - $2::text[]"
                           f" WHERE check_id = $1", rid, list(IDENTIFYING_FIELDS))


def register(registry: ProjectionRegistry, s: str,
             area_row: dict[str, EventProjector] | None = None) -> ProjectionRegistry:
    """One in-order dispatcher for every event that writes an `areas` row (`area_row`: the
    caller's, by type, plus the corrections, maps and erasures here): the registry groups a
    batch's events per projector, so separate projectors would apply one area's events out of
    order and leave an older version or state."""
    async def correction(conn: Any, e: StoredEvent) -> None:
        await project_correction(conn, s, e)

    async def area_map(conn: Any, e: StoredEvent) -> None:
        await project_map(conn, s, e)

    async def record_erased(conn: Any, e: StoredEvent) -> None:
        await project_record_erased(conn, s, e)

    by_type: dict[str, EventProjector] = {
        **(area_row or {}), **dict.fromkeys(CORRECTION_EVENTS, correction),
        AreaMapUploaded.EVENT_TYPE: area_map,
        PersonalRecordErased.EVENT_TYPE: record_erased}

    @registry.on(*by_type)
    async def in_order(conn: Any, e: StoredEvent) -> None:
        areas = area_rebuild.kept_areas(s)
        if areas is not None:  # a rebuild: the common events folded in memory
            area_id = area_rebuild.area_id_of(e)
            if area_id is not None:
                if area_rebuild.fold(areas, area_id, e):
                    if len(areas.kept) > area_rebuild.KEEP_AREAS:
                        await area_rebuild.flush(conn, s, areas)
                    return
                await area_rebuild.flush(conn, s, areas, only=area_id)
        await by_type[e.type](conn, e)

    @registry.finish
    async def write_kept(conn: Any) -> None:
        areas = area_rebuild.kept_areas(s)
        if areas is not None:
            await area_rebuild.flush(conn, s, areas)
    return registry
