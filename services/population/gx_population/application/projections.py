"""Read models of the population service, projected from its own events in the writer's
transaction (and by `python -m gx_kernel.projections` on a rebuild).

The household row (lifecycle columns included) is the household aggregate folded over its own
events (application/household_projections.py); area corrections, maps and the erasure of
linked records are application/area_projections.py's. Person rows keep the events' sealed
fields: never plaintext.
"""
from __future__ import annotations

import functools
import uuid
from typing import Any

from gx_contracts.events.population import (
    AreaAssigned,
    AreaImported,
    AreaVerified,
    EnumeratorTested,
    ExamPublished,
    PersonRecordAccessed,
    RosterReviewed,
    RosterSaved,
)
from gx_contracts.events.trusted import trusted_replay
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import ProjectionRegistry

from gx_population.adapters import repo
from gx_population.adapters import survey_sql as sq
from gx_population.application import area_projections, area_rebuild, household_projections

# Every table written by a projector below (and only by one): emptied before a rebuild.
# Not person_keys (the per-person data keys: destroying them is an erasure) nor
# area_map_images (written with the upload's command, named by the events).
READ_MODELS = ("exams", "certifications", "areas", "area_enumerators", "households",
               "persons", "access_log", "ledger_changes", "ledger_adjustments",
               "admin_figures", "discrepancy_notes", "pes_samples", "pes_teams", "pes_checks",
               "pes_results")


@functools.cache
def projections(s: str) -> ProjectionRegistry:
    registry = ProjectionRegistry()
    registry.during_rebuild(trusted_replay)  # our own events: decoded without re-checking

    @registry.reset
    async def reset(conn: Any) -> None:
        await conn.execute("TRUNCATE " + ", ".join(f"{s}.{t}" for t in READ_MODELS))

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

    # the area row's own events: dispatched in order with area_projections' (below)
    async def area(conn: Any, e: StoredEvent) -> None:
        await repo.insert_area(conn, s, e.data, e.version)

    async def assigned(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.set_assignment(conn, s, _uuid(d["area_id"]), d["username"], d["assigned"])
        await repo.update_area(conn, s, _uuid(d["area_id"]), version=e.version)

    async def verified(conn: Any, e: StoredEvent) -> None:
        d = e.data
        await repo.update_area(conn, s, _uuid(d["area_id"]), verified=True,
                               boundary=d["boundary"], buildings=d["buildings"],
                               verified_name=d["name"],
                               verified_urban_rural_code=d["urban_rural_code"],
                               corrected=d["corrected"], version=e.version)

    registry.read_during_rebuild(RosterSaved.EVENT_TYPE, area_rebuild.ROSTER_READ)

    async def roster(conn: Any, e: StoredEvent) -> None:
        if area_rebuild.ROSTER_OF in e.data:  # a rebuild's read: the lines stay in the database
            await repo.copy_roster(conn, s, _uuid(e.data["area_id"]),
                                   _uuid(e.data[area_rebuild.ROSTER_OF]), e.version)
            return
        await repo.update_area(conn, s, _uuid(e.data["area_id"]), roster=e.data["entries"],
                               version=e.version)

    async def roster_reviewed(conn: Any, e: StoredEvent) -> None:
        meta = e.metadata or {}
        review = {**{k: v for k, v in e.data.items() if k != "area_id"},
                  "recorded_by": meta.get("actor_name"), "recorded_at": e.recorded_at}
        await repo.add_roster_review(conn, s, _uuid(e.data["area_id"]), review, e.version)

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

    # The area row's projectors, in one dispatcher (area_projections), ahead of the household
    # rows that reference the area; after the change and PES rows an erasure may strip.
    area_projections.register(registry, s, {
        AreaImported.EVENT_TYPE: area, AreaAssigned.EVENT_TYPE: assigned,
        AreaVerified.EVENT_TYPE: verified, RosterSaved.EVENT_TYPE: roster,
        RosterReviewed.EVENT_TYPE: roster_reviewed})
    household_projections.register(registry, s)  # the household row, folded from its events
    return registry


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
