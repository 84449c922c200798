"""Read models of the agri service, projected from its own events in the writer's transaction.

The report row's lifecycle columns (status, review level, approvals, case, accepted/confirmed
level) are the report aggregate's state, written with each of its events by `save_state`
(they also follow review events that raise no agri event); the projectors below write what
the events themselves carry.
"""
from __future__ import annotations

import functools
import uuid
from typing import Any

from gx_contracts.divisions import prefix_of
from gx_contracts.events.agri import (
    ReportAccepted,
    ReportDraftSaved,
    ReportReturned,
    ReportSubmitted,
    TaskPublished,
)
from gx_contracts.ids import report_id_for
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import ProjectionRegistry

from gx_agri.adapters import repo


@functools.cache
def projections(s: str) -> ProjectionRegistry:
    """The projectors of the agri read models in schema `s`."""
    registry = ProjectionRegistry()

    @registry.on(TaskPublished.EVENT_TYPE)
    async def task_published(conn, e: StoredEvent) -> None:
        d = e.data
        prefix = prefix_of(d["scope_division"])
        villages = await repo.villages_under(conn, s, prefix)
        task_id = e.data["task_id"]
        await repo.insert_task(conn, s, {
            "task_id": _uuid(task_id), "form_code": d["form_code"],
            "form_version": d["form_version"], "period": d["period"], "title": d["title"],
            "scope_division": d["scope_division"], "scope_prefix": prefix,
            "deadline": TaskPublished.model_validate(d).deadline,
            "published_by": d["published_by"], "village_count": len(villages),
            "version": e.version})
        await repo.copy_reports(conn, s, [
            (report_id_for(task_id, v["code"]), _uuid(task_id), v["code"], d["form_code"],
             d["form_version"], d["period"]) for v in villages])

    @registry.on(ReportDraftSaved.EVENT_TYPE)
    async def draft_saved(conn, e: StoredEvent) -> None:
        await repo.update_report(conn, s, _uuid(e.data["report_id"]), vals=e.data["values"],
                                 explanations=e.data["explanations"], version=e.version)

    @registry.on(ReportSubmitted.EVENT_TYPE)
    async def submitted(conn, e: StoredEvent) -> None:
        await repo.update_report(conn, s, _uuid(e.data["report_id"]),
                                 revision=e.data["revision"], version=e.version,
                                 submitted_at=e.recorded_at)

    @registry.on(ReportReturned.EVENT_TYPE)
    async def returned(conn, e: StoredEvent) -> None:
        d = e.data
        await repo.update_report(conn, s, _uuid(d["report_id"]), version=e.version,
                                 return_reason_code=d["reason_code"], return_reason=d["reason"],
                                 return_from_level=d["from_level"],
                                 field_notes=d.get("field_notes") or {})

    @registry.on(ReportAccepted.EVENT_TYPE)
    async def accepted(conn, e: StoredEvent) -> None:
        await repo.update_report(conn, s, _uuid(e.data["report_id"]), version=e.version)

    return registry


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
