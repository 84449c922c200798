"""户主姓名底册 (household-head roster, 摸底) and its review with cadres and residents (复议).

Head names are personal data: sealed per roster line with its own data key (like a person's),
opened only for the village's coordinator and the area's enumerators, each read audited.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.population import RecordRosterReview, SaveRoster
from gx_contracts.events.base import event_fields
from gx_contracts.events.population import (
    PersonRecordAccessed,
    RosterEntry,
    RosterRemoval,
    RosterReviewed,
    RosterSaved,
)
from gx_contracts.ids import stream_id
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.eventstore import ConcurrencyError, NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_population.adapters import repo
from gx_population.application.access import (
    NS,
    cipher,
    jurisdiction,
    metadata,
    plain_unit_of_work,
    private_digest,
    unit_of_work,
)

COORDINATOR = "village_coordinator"


async def _area(conn: Any, s: str, p: Principal, area_id: uuid.UUID,
                lock: bool = False) -> dict[str, Any]:
    area = await repo.area(conn, s, area_id, lock=lock)
    if area is None or not area["village_code"].startswith(jurisdiction(p)):
        raise NotFound("调查小区", str(area_id))
    return area


def _may_open(p: Principal, area: dict[str, Any]) -> bool:
    return ((p.role == COORDINATOR and jurisdiction(p) == area["village_code"])
            or (p.role == "grid_worker" and p.username in (area.get("enumerators") or [])))


def _require_coordinator(p: Principal, area: dict[str, Any], what: str) -> None:
    if p.role != COORDINATOR or jurisdiction(p) != area["village_code"]:
        raise Forbidden(f"只有本村的村级统计协管员可以{what}", code="not_village_coordinator")


async def save_roster(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID, cmd: SaveRoster,
                      key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    digest = {"op": "roster", "a": str(area_id), "d": private_digest(rt, cmd.model_dump(mode="json"))}
    async with unit_of_work(rt, p, key, digest) as uow:
        if uow.replayed:
            return uow.replayed
        area = await _area(uow.conn, s, p, area_id, lock=True)
        _require_coordinator(p, area, "编制户主姓名底册")
        if area["version"] != cmd.expected_version:
            raise ConcurrencyError(stream_id("area", area_id), cmd.expected_version,
                                   area["version"])
        known = {e["entry_id"] for e in area.get("roster") or []}
        sealer = cipher(rt, uow.conn)
        entries = []
        for i, line in enumerate(cmd.entries):
            if line.entry_id is not None and str(line.entry_id) not in known:
                raise AppError(422, "unknown_entry", f"第{i + 1}行的底册行ID不属于本小区",
                               field=f"entries.{i}.entry_id")
            eid = line.entry_id or uuid.uuid4()
            sealed = await sealer.seal(str(eid), {"name": line.head_name})
            entries.append(RosterEntry(entry_id=eid, building_no=line.building_no,
                                       dwelling_no=line.dwelling_no, head_name=str(sealed["name"]),
                                       household_size=line.household_size,
                                       household_type=line.household_type))
        event = RosterSaved(area_id=area_id, entries=entries)
        # on the area's own stream: a rebuild takes the roster's area from it (ROSTER_READ)
        uow.collect(stream_id("area", area_id), area["version"],
                    [NewEvent(**event_fields(event))], metadata(p, key))
        stored = await uow.flush()
        return uow.respond(200, {"area_id": str(area_id), "version": stored[-1].version,
                                 "entry_ids": [str(e.entry_id) for e in entries]})


async def get_roster(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID) -> dict[str, Any]:
    s = rt.settings.schema
    async with plain_unit_of_work(rt) as uow:
        area = await _area(uow.conn, s, p, area_id)
        roster = area.get("roster") or []
        full = _may_open(p, area)
        names: dict[str, Any] = {}
        if full and roster:
            c = cipher(rt, uow.conn)
            keys = await c.store.get_many([e["entry_id"] for e in roster])
            names = c.open_loaded({e["entry_id"]: {"name": e["head_name"]} for e in roster
                                   if e["entry_id"] in keys and not keys[e["entry_id"]].destroyed},
                                  keys)
            event = PersonRecordAccessed(
                area_id=area_id, village_code=area["village_code"],
                person_ids=[e["entry_id"] for e in roster], purpose="view_roster",
                reader=p.user_id, reader_role=p.role, reader_division=p.scope, device=p.device_id)
            uow.collect(stream_id("access", uuid.uuid5(NS, f"access:{p.user_id}")), None,
                        [NewEvent(**event_fields(event))], metadata(p, None))
        lines = []
        for e in roster:
            line = {k: v for k, v in e.items() if k != "head_name"}
            if full:
                line["head_name"] = names.get(e["entry_id"], {}).get("name", "（已删除）")
            lines.append(line)
        return {"area_id": str(area_id), "version": area["version"], "view":
                "full" if full else "counts", "entries": lines,
                "households": len(roster), "persons": sum(e["household_size"] for e in roster),
                "reviews": area.get("roster_reviews") or []}


async def record_review(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID,
                        cmd: RecordRosterReview, key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "review", "a": str(area_id),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        area = await _area(uow.conn, s, p, area_id, lock=True)
        _require_coordinator(p, area, "记录底册复议")
        if area["version"] != cmd.expected_version:
            raise ConcurrencyError(stream_id("area", area_id), cmd.expected_version,
                                   area["version"])
        known = {e["entry_id"] for e in area.get("roster") or []}
        for i, eid in enumerate(cmd.added):
            if str(eid) not in known:
                raise AppError(422, "unknown_entry", "增补的户须先列入底册", field=f"added.{i}")
        event = RosterReviewed(area_id=area_id, held_on=cmd.held_on,
                               participants=cmd.participants, added=cmd.added,
                               removed=[RosterRemoval(entry_id=r.entry_id, reason=r.reason)
                                        for r in cmd.removed], note=cmd.note)
        uow.collect(stream_id("area", area_id), area["version"],
                    [NewEvent(**event_fields(event))], metadata(p, key))
        stored = await uow.flush()
        return uow.respond(200, {"area_id": str(area_id), "version": stored[-1].version})
