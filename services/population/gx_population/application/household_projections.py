"""The household read model as a function of the household's own events.

Each household event is folded into the aggregate loaded from the row before it
(`Household.from_row`, then `Household.apply` — the lifecycle state comes from the events,
as `gx_contracts.lifecycle` decided it when they were raised: `review_followed` carries it),
and the whole row is written back: stage, status, revision, review level, case, approvals,
read-back, return reason. Nothing is written beside the events, so a rebuild
(`python -m gx_kernel.projections … gx_population.application.projections:projections`) gives
the same rows. `register(registry, schema)` adds these projectors to a registry.
"""
from __future__ import annotations

import contextvars
import uuid
from collections.abc import Sequence
from typing import Any

from gx_contracts.events import decode
from gx_contracts.events.population import (
    IDENTIFYING_FIELDS,
    HouseholdAccepted,
    HouseholdDraftSaved,
    HouseholdHandedIn,
    HouseholdHistoryAdopted,
    HouseholdReadBackConfirmed,
    HouseholdRecheckReturned,
    HouseholdReturned,
    HouseholdReviewFollowed,
    HouseholdSubmitted,
    PersonErased,
)
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import ProjectionRegistry

from gx_population.adapters import repo
from gx_population.application import area_rebuild
from gx_population.domain.household import Household

HOUSEHOLD_EVENTS = tuple(m.EVENT_TYPE for m in (  # type: ignore[attr-defined]
    HouseholdDraftSaved, HouseholdReadBackConfirmed, HouseholdHandedIn,
    HouseholdRecheckReturned, HouseholdSubmitted, HouseholdReviewFollowed, HouseholdReturned,
    HouseholdAccepted, PersonErased, HouseholdHistoryAdopted))


# The row a command has just read (locked) in its transaction, so the projection of its events
# folds onto it without reading it again: (connection, {household id: row}). Only ever used on
# the same connection and for the row's next version; anything else reads the row.
_known: contextvars.ContextVar[tuple[Any, dict[uuid.UUID, dict[str, Any]]] | None] = \
    contextvars.ContextVar("gx_population_known_households", default=None)


def remember(conn: Any, row: dict[str, Any]) -> None:
    """The household row as this transaction read it under its lock."""
    known = _known.get()
    if known is None or known[0] is not conn:
        known = (conn, {})
        _known.set(known)
    known[1][row["household_id"]] = row


async def _row_before(conn: Any, s: str, hid: uuid.UUID, version: int) -> dict[str, Any] | None:
    """The row just before event `version`: remembered by this transaction, else read."""
    return _known_row(conn, hid, version) or await repo.household(conn, s, hid)


def _lv(level: Any) -> str | None:
    return level.value if level is not None else None


def columns(hh: Household) -> dict[str, Any]:
    """The row's lifecycle columns from the aggregate."""
    st = hh.state
    return {"stage": hh.stage, "status": hh.status, "revision": st.revision,
            "review_level": _lv(st.review_level), "approved_rank": st.approved_rank,
            "case_id": st.case_id, "accepted_level": _lv(st.accepted_level),
            "confirmed_level": _lv(st.confirmed_level), "version": hh.version,
            "draft_version": hh.draft_version, "readback_version": hh.readback_version,
            "person_count": hh.person_count}


async def project_household(conn: Any, s: str, e: StoredEvent) -> None:
    payload = decode(e.type, e.schema_version, e.data)
    hid = uuid.UUID(str(e.data["household_id"]))
    extra: dict[str, Any] = {}
    if isinstance(payload, HouseholdHistoryAdopted):  # the row whole, as the event carries it
        await _adopt(conn, s, payload, e)
        return
    if isinstance(payload, HouseholdDraftSaved):
        # the row after the upsert already holds this draft's version: fold from the one before
        row = await repo.upsert_household(conn, s, e.data, e.version,
                                          (e.metadata or {}).get("findings") or [])
        hh = Household.from_row(row)
        hh.apply(payload, e.version)  # type: ignore[arg-type]
        hh.version = e.version
        await _write(conn, s, hh, row, {})
        return
    if isinstance(payload, HouseholdReadBackConfirmed):
        extra["readback"] = {k: e.data.get(k) for k in (
            "draft_version", "confirmed_at", "enumerator", "device", "respondent",
            "received_at", "readback_digest")}
    elif isinstance(payload, HouseholdRecheckReturned):
        extra.update(return_reason=payload.reason, return_from_level="village",
                     field_notes=dict(payload.field_notes))
    elif isinstance(payload, PersonErased):
        await repo.mark_erased(conn, s, payload.person_id, payload.reason_code,
                               IDENTIFYING_FIELDS)
    elif isinstance(payload, HouseholdReturned):
        extra.update(return_reason=payload.reason, return_from_level=payload.from_level.value,
                     field_notes=dict(payload.field_notes))
    row = await _row_before(conn, s, hid, e.version)
    if row is None:  # a stream that does not start with a draft: nothing to project onto
        return
    hh = Household.from_row(row)
    hh.apply(payload, e.version)  # type: ignore[arg-type]
    hh.version = e.version
    await _write(conn, s, hh, row, extra)


async def _adopt(conn: Any, s: str, a: HouseholdHistoryAdopted, e: StoredEvent) -> None:
    """The row (and its person rows) exactly as the adoption event carries it: also for a
    household whose older events never reached the read model."""
    d = a.model_dump(mode="json")
    persons = sorted(d["persons"], key=lambda p: p["position"])
    row = await repo.upsert_household(conn, s, {**d, "persons": persons}, e.version,
                                      d["findings"])
    for p in a.persons:
        if p.erased:
            await repo.mark_erased(conn, s, p.person_id, p.erasure_reason or "E99",
                                   IDENTIFYING_FIELDS)
    hh = Household.from_row(row)
    hh.apply(a, e.version)
    hh.version = e.version
    await _write(conn, s, hh, row, {
        "household": d["household"], "readback": d["readback"], "return_reason": a.return_reason,
        "return_from_level": d["return_from_level"], "field_notes": d["field_notes"]})


def _known_row(conn: Any, hid: uuid.UUID, version: int) -> dict[str, Any] | None:
    known = _known.get()
    row = known[1].get(hid) if known is not None and known[0] is conn else None
    return row if row is not None and row["version"] == version - 1 else None


async def _write(conn: Any, s: str, hh: Household, row: dict[str, Any],
                 extra: dict[str, Any]) -> None:
    """Write the folded columns (only those that differ from the row) and remember the row
    as it now is, for the next event of the same transaction."""
    cols = {**columns(hh), **extra}
    changed = {k: v for k, v in cols.items() if row.get(k) != v}
    if changed:
        await repo.update_household(conn, s, hh.household_id, **changed)
    known = _known.get()
    if known is not None and known[0] is conn:
        known[1][hh.household_id] = {**row, **cols}


def register(registry: ProjectionRegistry, s: str) -> ProjectionRegistry:
    @registry.batch(*HOUSEHOLD_EVENTS)
    async def households(conn: Any, events: Sequence[StoredEvent]) -> None:
        areas = area_rebuild.kept_areas(s)
        if areas is not None and areas.kept:  # a rebuild: the rows households reference
            await area_rebuild.flush(conn, s, areas)
        for e in events:
            await project_household(conn, s, e)
    return registry
