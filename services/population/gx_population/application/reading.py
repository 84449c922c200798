"""Reading person records under least access, every read of identifying fields audited.

A read that opens identifying fields appends `population.person_record.accessed` (who, when,
why, from which device) in the same transaction as it decrypts: no audit row, no answer.
ID numbers are masked (4501**********1234) unless revealed with a reason. Decrypted answers
are never stored (no idempotency record), and carry `Cache-Control: no-store` at the route.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.divisions import contains
from gx_contracts.events.base import event_fields
from gx_contracts.events.population import IDENTIFYING_FIELDS, PersonRecordAccessed
from gx_contracts.ids import stream_id
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_population.adapters import repo
from gx_population.application.access import (
    NS,
    cipher,
    jurisdiction,
    metadata,
    plain_unit_of_work,
    require_role,
)
from gx_population.domain import forms, idnumber
from gx_population.domain.access import View, view_of
from gx_population.domain.household import STATUS_ZH
from gx_population.privacy.keys import StoredKey

ERASED_ZH = "（个人信息已依法删除）"


def _view(p: Principal, row: dict[str, Any]) -> View:
    return view_of(p.role, jurisdiction(p), p.user_id, village_code=row["village_code"],
                   enumerator=row["enumerator"], status=row["status"],
                   review_level=row.get("review_level"))


def audit(uow: UnitOfWork, p: Principal, row: dict[str, Any], person_ids: list[Any],
          purpose: str, reason_code: str | None = None) -> None:
    event = PersonRecordAccessed(
        household_id=row["household_id"], village_code=row["village_code"],
        person_ids=person_ids, purpose=purpose, reason_code=reason_code,  # type: ignore[arg-type]
        reader=p.user_id, reader_role=p.role, reader_division=p.scope, device=p.device_id)
    uow.collect(stream_id("access", uuid.uuid5(NS, f"access:{p.user_id}")), None,
                [NewEvent(**event_fields(event))], metadata(p, None))


def _household_view(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("household_id", "area_id", "area_code", "village_code", "survey_year",
            "household_no", "form_version", "stage", "status", "version", "revision",
            "person_count", "review_level", "case_id", "return_reason", "return_from_level",
            "field_notes", "household", "findings", "readback", "draft_version",
            "readback_version")
    out = {k: row.get(k) for k in keep}
    out["status_zh"] = STATUS_ZH.get(row["stage"] if row["stage"] == "handed_in"
                                     else row["status"], row["status"])
    out["read_back_current"] = (row.get("readback_version") is not None
                                and row["readback_version"] == row["draft_version"])
    for k in ("household_id", "area_id", "case_id"):
        out[k] = str(out[k]) if out[k] is not None else None
    return out


def _open(rt: ServiceRuntime, conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    c = cipher(rt, conn)
    records, keys = {}, {}
    for r in rows:
        pid = str(r["person_id"])
        if r["erased_at"] is None and r["wrapped_key"] is not None:
            records[pid] = r["fields"]
            keys[pid] = StoredKey(pid, r["wrapped_key"], r["key_version"], r["destroyed_at"])
    opened = c.open_loaded(records, keys)
    return [opened.get(str(r["person_id"]), r["fields"]) for r in rows]


def _person(r: dict[str, Any], fields: dict[str, Any], full: bool,
            reveal: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"person_id": str(r["person_id"]), "position": r["position"],
                           "age_band": r["age_band"], "erased": r["erased_at"] is not None}
    for k, v in fields.items():
        if k in IDENTIFYING_FIELDS:
            if not full or out["erased"]:
                continue
            if k == "id_number" and v and not reveal:
                v = idnumber.mask(v)
        out[k] = v
    if out["erased"] and full:
        out["name"] = ERASED_ZH
    return out


async def get_household(rt: ServiceRuntime, p: Principal,
                        household_id: uuid.UUID) -> dict[str, Any]:
    s = rt.settings.schema
    async with plain_unit_of_work(rt) as uow:
        row = await repo.household(uow.conn, s, household_id)
        view = _view(p, row) if row else View.none
        if row is None or view is View.none:
            raise NotFound("住户", str(household_id))
        people = await repo.persons_with_keys(uow.conn, s, household_id)
        full = view is View.full
        fields = _open(rt, uow.conn, people) if full else [r["fields"] for r in people]
        if full:
            audit(uow, p, row, [r["person_id"] for r in people if r["erased_at"] is None], "view")
        return {**_household_view(row), "view": view.value,
                "persons": [_person(r, f, full) for r, f in zip(people, fields)]}


async def readback_text(rt: ServiceRuntime, p: Principal, household_id: uuid.UUID) -> dict:
    """The read-back screen: everything entered, in plain words, for the enumerator to read."""
    s = rt.settings.schema
    async with plain_unit_of_work(rt) as uow:
        row = await repo.household(uow.conn, s, household_id)
        if row is None or _view(p, row) is View.none:
            raise NotFound("住户", str(household_id))
        if p.role != "grid_worker" or row["enumerator"] != p.user_id:
            raise Forbidden("只有登记该户的调查员可以回读", code="not_household_enumerator")
        people = await repo.persons_with_keys(uow.conn, s, household_id)
        persons = _open(rt, uow.conn, people)
        audit(uow, p, row, [r["person_id"] for r in people if r["erased_at"] is None], "view")
        form = forms.load_form(row["form_version"])
        return {"household_id": str(household_id), "version": row["version"],
                "draft_version": row["draft_version"],
                "text": forms.readback(form, row["household"], persons)}


async def reveal_id_number(rt: ServiceRuntime, p: Principal, household_id: uuid.UUID,
                           person_id: uuid.UUID, reason_code: str) -> dict[str, Any]:
    s = rt.settings.schema
    async with plain_unit_of_work(rt) as uow:
        row = await repo.household(uow.conn, s, household_id)
        view = _view(p, row) if row else View.none
        if row is None or view is View.none:
            raise NotFound("住户", str(household_id))
        if view is not View.full:
            raise Forbidden("您当前无权查看该户的个人信息（案卷不在本级审核时只能查看汇总数）",
                            code="person_record_forbidden")
        people = [r for r in await repo.persons_with_keys(uow.conn, s, household_id)
                  if r["person_id"] == person_id]
        if not people:
            raise NotFound("人员", str(person_id))
        if people[0]["erased_at"] is not None:
            raise AppError(410, "person_erased", "该人员的个人信息已依法删除，无法读取")
        fields = _open(rt, uow.conn, people)[0]
        audit(uow, p, row, [person_id], "reveal_id_number", reason_code)
        return {"person_id": str(person_id), "id_number": fields.get("id_number")}


async def list_households(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID | None,
                          limit: int, offset: int) -> dict[str, Any]:
    """Households as counts and statuses (no identifying field): the enumerator sees their own."""
    s = rt.settings.schema
    if p.role == "subscriber":
        raise Forbidden("订阅系统不能读取住户数据", code="role_forbidden")
    mine = p.user_id if p.role == "grid_worker" else None
    async with rt.pool.acquire() as conn:
        rows = await repo.households_under(conn, s, jurisdiction(p), enumerator=mine,
                                           area_id=area_id, limit=limit, offset=offset)
    return {"items": [{**{k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in r.items()},
                       "status_zh": STATUS_ZH.get(r["stage"] if r["stage"] == "handed_in"
                                                  else r["status"], r["status"])}
                      for r in rows]}


async def access_log(rt: ServiceRuntime, p: Principal, household_id: uuid.UUID | None,
                     limit: int, offset: int) -> dict[str, Any]:
    """个人信息访问记录: listable by the region (its whole jurisdiction)."""
    require_role(p, {"region_statistician"}, "查看个人信息访问审计记录")
    async with rt.pool.acquire() as conn:
        rows = await repo.access_log(conn, rt.settings.schema, jurisdiction(p), limit, offset,
                                     household_id)
    return {"items": [{**r, "event_id": str(r["event_id"]), "household_id": str(r["household_id"]),
                       "at": r["at"].isoformat()} for r in rows]}


def _inside(p: Principal, code: str) -> bool:
    return contains(jurisdiction(p), code)
