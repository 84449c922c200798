"""Read models of the population service, projected from its own events in the writer's
transaction (and by `python -m gx_kernel.projections` on a rebuild).

The household row's lifecycle columns (stage, status, review level, case …) are the household
aggregate's state, written with each of its events by `repo.save_state`; the projectors write
what the events carry. Person rows keep the events' sealed fields: never plaintext.
"""
from __future__ import annotations

import functools
import uuid
from typing import Any

from gx_contracts.events.population import (
    IDENTIFYING_FIELDS,
    AreaAssigned,
    AreaImported,
    AreaVerified,
    EnumeratorTested,
    ExamPublished,
    HouseholdDraftSaved,
    HouseholdReadBackConfirmed,
    HouseholdRecheckReturned,
    HouseholdReturned,
    PersonErased,
    PersonRecordAccessed,
    RosterReviewed,
    RosterSaved,
)
from gx_contracts.events.trusted import trusted_replay
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import ProjectionRegistry

from gx_population.adapters import repo
from gx_population.adapters import survey_sql as sq


@functools.cache
def projections(s: str) -> ProjectionRegistry:
    registry = ProjectionRegistry()
    registry.during_rebuild(trusted_replay)  # our own events: decoded without re-checking

    @registry.on(ExamPublished.EVENT_TYPE)
    async def exam(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.upsert_exam(conn, s, d["survey_year"], d["pass_mark"], d["questions"],
                               e.version)

    @registry.on(EnumeratorTested.EVENT_TYPE)
    async def tested(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.record_test(conn, s, d["user_id"], d["username"], d["survey_year"],
                               d["score"], d["passed"])

    @registry.on(AreaImported.EVENT_TYPE)
    async def area(conn: Any, e: StoredEvent) -> None:
        await repo.insert_area(conn, s, e.data, e.version)

    @registry.on(AreaAssigned.EVENT_TYPE)
    async def assigned(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.set_assignment(conn, s, _uuid(d["area_id"]), d["username"], d["assigned"])
        await repo.update_area(conn, s, _uuid(d["area_id"]), version=e.version)

    @registry.on(AreaVerified.EVENT_TYPE)
    async def verified(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.update_area(conn, s, _uuid(d["area_id"]), verified=True,
                               boundary=d["boundary"], buildings=d["buildings"],
                               verified_name=d["name"],
                               verified_urban_rural_code=d["urban_rural_code"],
                               corrected=d["corrected"], version=e.version)

    @registry.on(RosterSaved.EVENT_TYPE)
    async def roster(conn: Any, e: StoredEvent) -> None:
        await repo.update_area(conn, s, _uuid(e.data["area_id"]), roster=e.data["entries"],
                               version=e.version)

    @registry.on(RosterReviewed.EVENT_TYPE)
    async def roster_reviewed(conn: Any, e: StoredEvent) -> None:
        meta = e.metadata or {}
        review = {**{k: v for k, v in e.data.items() if k != "area_id"},
                  "recorded_by": meta.get("actor_name"), "recorded_at": e.recorded_at}
        await repo.add_roster_review(conn, s, _uuid(e.data["area_id"]), review, e.version)

    @registry.on(HouseholdDraftSaved.EVENT_TYPE)
    async def draft(conn: Any, e: StoredEvent) -> None:
        d = e.data
        findings = (e.metadata or {}).get("findings") or []
        await repo.upsert_household(conn, s, d, e.version, findings)
        await repo.replace_persons(conn, s, _uuid(d["household_id"]), d["persons"])

    @registry.on(HouseholdReadBackConfirmed.EVENT_TYPE)
    async def readback(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.update_household(conn, s, _uuid(d["household_id"]), version=e.version,
                                    readback={k: d.get(k) for k in (
                                        "draft_version", "confirmed_at", "enumerator", "device",
                                        "respondent")})

    @registry.on("population.household.handed_in", "population.household.submitted",
                 "population.household.accepted")
    async def moved(conn: Any, e: StoredEvent) -> None:
        await repo.update_household(conn, s, _uuid(e.data["household_id"]), version=e.version)

    @registry.on(HouseholdRecheckReturned.EVENT_TYPE)
    async def recheck_returned(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.update_household(conn, s, _uuid(d["household_id"]), version=e.version,
                                    return_reason=d["reason"], return_from_level="village",
                                    field_notes=d.get("field_notes") or {})

    @registry.on(HouseholdReturned.EVENT_TYPE)
    async def returned(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.update_household(conn, s, _uuid(d["household_id"]), version=e.version,
                                    return_reason=d["reason"], return_from_level=d["from_level"],
                                    field_notes=d.get("field_notes") or {})

    @registry.on(PersonErased.EVENT_TYPE)
    async def erased(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.mark_erased(conn, s, _uuid(d["person_id"]), d["reason_code"],
                               IDENTIFYING_FIELDS)
        await repo.update_household(conn, s, _uuid(d["household_id"]), version=e.version)

    @registry.on(PersonRecordAccessed.EVENT_TYPE)
    async def accessed(conn: Any, e: StoredEvent) -> None:
        meta = e.metadata or {}
        await repo.insert_access(conn, s, e.id, e.recorded_at, e.data, meta.get("actor_name"),
                                 e.data["village_code"])

    @registry.on("population.change.reported")
    async def change(conn: Any, e: StoredEvent) -> None:
        await sq.insert_change(conn, s, e.data, (e.metadata or {}).get("actor_name"),
                               e.recorded_at)

    @registry.on("population.ledger.adjusted")
    async def adjusted(conn: Any, e: StoredEvent) -> None:
        await sq.insert_adjustment(conn, s, e.data, (e.metadata or {}).get("actor_name"),
                                   e.recorded_at)

    @registry.on("population.admin_figures.recorded")
    async def admin(conn: Any, e: StoredEvent) -> None:
        await sq.upsert_admin(conn, s, e.data, e.recorded_at)

    @registry.on("population.discrepancy.explained")
    async def explained(conn: Any, e: StoredEvent) -> None:
        await sq.upsert_note(conn, s, e.data, (e.metadata or {}).get("actor_name"),
                             e.recorded_at)

    @registry.on("population.pes.sample_drawn")
    async def sample(conn: Any, e: StoredEvent) -> None:
        await sq.insert_sample(conn, s, e.data, e.recorded_at)

    @registry.on("population.pes.team_assigned")
    async def team(conn: Any, e: StoredEvent) -> None:
        await sq.set_team(conn, s, e.data)

    @registry.on("population.pes.check_recorded")
    async def checked(conn: Any, e: StoredEvent) -> None:
        await sq.insert_checks(conn, s, e.data)

    @registry.on("population.pes.matched")
    async def matched(conn: Any, e: StoredEvent) -> None:
        await sq.upsert_result(conn, s, e.data, e.recorded_at)

    return registry


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
