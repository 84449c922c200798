"""调查小区核实更正的逐级审批: the coordinator's correction of an area is a submission.

It climbs the review chain through the workflow service (subject kind
``population.area_correction``: village → township → county, or → region as workflow's
chain configuration says); the area's verified data changes only when the final level
accepts it (`population.area_correction.accepted`, final). A return makes it editable again;
the coordinator resubmits through the same route.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.events.population import AreaProposal
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.eventstore import ConcurrencyError
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_population.adapters import repo
from gx_population.api.area_models import CorrectArea
from gx_population.application.access import jurisdiction, metadata, unit_of_work
from gx_population.domain.area_correction import (
    FIELD_ZH,
    STATUS_ZH,
    AreaCorrection,
    CorrectionError,
    changed_fields,
)

__all__ = ["changed_fields", "coordinator_area", "correct", "current", "submit", "submit_in",
           "view"]


def current(area: dict[str, Any]) -> dict[str, Any]:
    """The area's data as it stands: verified where verified, else as imported."""
    return {"boundary": area.get("boundary"), "buildings": area.get("buildings") or [],
            "name": area.get("verified_name") or area["name"],
            "area_code": area.get("verified_area_code") or area["area_code"],
            "urban_rural_code": area.get("verified_urban_rural_code")
            or area["urban_rural_code"]}


def view(area: dict[str, Any]) -> dict[str, Any] | None:
    """The open or last correction as the console shows it."""
    c = area.get("correction")
    if not c:
        return None
    status = (c.get("state") or {}).get("status", "not_started")
    return {"correction_id": c.get("correction_id"), "status": status,
            "status_zh": STATUS_ZH.get(status, status), "state": c.get("state"),
            "proposal": c.get("proposal"), "changed": c.get("changed") or [],
            "changed_zh": [FIELD_ZH.get(f, f) for f in c.get("changed") or []],
            "return_reason": c.get("return_reason"), "field_notes": c.get("field_notes") or {},
            "history": c.get("history") or []}


async def submit(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID, proposal: AreaProposal,
                 expected_version: int | None, key: str | None,
                 digest: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, digest) as uow:
        if uow.replayed:
            return uow.replayed
        area = await coordinator_area(uow.conn, s, p, area_id, "更正调查小区")
        if expected_version is not None and area["version"] != expected_version:
            raise ConcurrencyError(f"area-{area_id}", expected_version, area["version"])
        fresh = await submit_in(uow, s, p, key, area, proposal)
        return uow.respond(202, {"area_id": str(area_id), "corrected": True,
                                 "status": "submitted", "version": fresh["version"],
                                 "correction": view(fresh)})


async def coordinator_area(conn: Any, s: str, p: Principal, area_id: uuid.UUID,
                           what: str) -> dict[str, Any]:
    area = await repo.area(conn, s, area_id, lock=True)
    if area is None or not area["village_code"].startswith(jurisdiction(p)):
        raise NotFound("调查小区", str(area_id))
    if p.role != "village_coordinator" or jurisdiction(p) != area["village_code"]:
        raise Forbidden(f"只有本村的村级统计协管员可以{what}", code="not_village_coordinator")
    return area


async def submit_in(uow: Any, s: str, p: Principal, key: str | None, area: dict[str, Any],
                    proposal: AreaProposal) -> dict[str, Any]:
    """Submit the correction inside the caller's unit of work; the area row after it."""
    area_id = area["area_id"]
    if proposal.area_code[:12] != area["village_code"]:
        raise AppError(422, "area_code_outside_village", "调查小区代码的前12位须为本村的区划代码",
                       field="area_code")
    if proposal.area_code != current(area)["area_code"]:
        taken = await uow.conn.fetchval(
            f"SELECT count(*) FROM {s}.areas WHERE survey_year = $1 AND area_id <> $2 AND"
            f" (area_code = $3 OR verified_area_code = $3)", area["survey_year"], area_id,
            proposal.area_code)
        if taken:
            raise AppError(422, "duplicate_area", "该调查小区代码已被本年度其他调查小区使用",
                           field="area_code")
    ac = AreaCorrection.from_row(area)
    try:
        ac.submit(proposal, changed_fields(current(area), proposal),
                  title=f"调查小区更正 {area['area_code']} {area['name']}"[:200],
                  new_id=uuid.uuid4())
    except CorrectionError as e:
        raise AppError(e.status, e.code, e.message) from None
    uow.add(ac, metadata(p, key))
    await uow.flush()
    fresh = await repo.area(uow.conn, s, area_id)
    assert fresh is not None
    return fresh


async def correct(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID, cmd: CorrectArea,
                  key: str | None) -> tuple[int, dict[str, Any]]:
    body = cmd.model_dump(mode="json")
    proposal = AreaProposal.model_validate({k: v for k, v in body.items()
                                            if k != "expected_version"})
    return await submit(rt, p, area_id, proposal, cmd.expected_version, key,
                        {"op": "correct", "a": str(area_id), **body})
