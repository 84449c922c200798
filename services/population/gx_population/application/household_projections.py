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

import uuid
from typing import Any

from gx_contracts.events import decode
from gx_contracts.events.population import (
    IDENTIFYING_FIELDS,
    HouseholdAccepted,
    HouseholdDraftSaved,
    HouseholdHandedIn,
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
from gx_population.domain.household import Household

HOUSEHOLD_EVENTS = tuple(m.EVENT_TYPE for m in (  # type: ignore[attr-defined]
    HouseholdDraftSaved, HouseholdReadBackConfirmed, HouseholdHandedIn,
    HouseholdRecheckReturned, HouseholdSubmitted, HouseholdReviewFollowed, HouseholdReturned,
    HouseholdAccepted, PersonErased))


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
    if isinstance(payload, HouseholdDraftSaved):
        await repo.upsert_household(conn, s, e.data, e.version,
                                    (e.metadata or {}).get("findings") or [])
        await repo.replace_persons(conn, s, hid, e.data["persons"])
    elif isinstance(payload, HouseholdReadBackConfirmed):
        extra["readback"] = {k: e.data.get(k) for k in (
            "draft_version", "confirmed_at", "enumerator", "device", "respondent")}
    elif isinstance(payload, HouseholdRecheckReturned):
        extra.update(return_reason=payload.reason, return_from_level="village",
                     field_notes=dict(payload.field_notes))
    elif isinstance(payload, PersonErased):
        await repo.mark_erased(conn, s, payload.person_id, payload.reason_code,
                               IDENTIFYING_FIELDS)
    elif isinstance(payload, HouseholdReturned):
        extra.update(return_reason=payload.reason, return_from_level=payload.from_level.value,
                     field_notes=dict(payload.field_notes))
    row = await repo.household(conn, s, hid)
    if row is None:  # a stream that does not start with a draft: nothing to project onto
        return
    hh = Household.from_row(row)
    hh.apply(payload, e.version)  # type: ignore[arg-type]
    hh.version = e.version
    await repo.update_household(conn, s, hid, **columns(hh), **extra)


def register(registry: ProjectionRegistry, s: str) -> ProjectionRegistry:
    @registry.on(*HOUSEHOLD_EVENTS)
    async def household(conn: Any, e: StoredEvent) -> None:
        await project_household(conn, s, e)
    return registry
