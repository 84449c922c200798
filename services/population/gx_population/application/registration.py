"""Registration with read-back (登记与回读确认), hand-in, and the village re-check (村级复核).

Only a certified enumerator assigned to the area registers its households. Identifying fields
are sealed with each person's data key before the household aggregate sees them; the answer
and the idempotency record hold no personal data (the request is kept as a keyed digest).
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from gx_contracts.commands.population import ConfirmReadBack, HandIn, Recheck, SaveHousehold
from gx_contracts.divisions import contains
from gx_contracts.events.population import IDENTIFYING_FIELDS, PersonEntry
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.eventstore import ConcurrencyError
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_population.adapters import repo
from gx_population.application import household_projections
from gx_population.application.access import (
    NS,
    cipher,
    jurisdiction,
    keyed_digest,
    metadata,
    private_digest,
    require_role,
    unit_of_work,
)
from gx_population.domain import forms, readback
from gx_population.domain.household import Household, HouseholdRuleError
from gx_population.privacy.deidentify import age_band
from gx_population.privacy.keys import StoredKey

ENUMERATOR, COORDINATOR = "grid_worker", "village_coordinator"


def household_id_for(area_id: uuid.UUID, household_no: str) -> uuid.UUID:
    return uuid.uuid5(NS, f"household:{area_id}:{household_no}")


def rule_error(e: HouseholdRuleError) -> AppError:
    return AppError(e.status, e.code, e.message)


async def area_for(conn: Any, s: str, p: Principal, area_id: uuid.UUID,
                   with_certification: bool = False) -> dict[str, Any]:
    area = await repo.area(conn, s, area_id,
                           certified_user=p.user_id if with_certification else None)
    if area is None or not contains(jurisdiction(p), area["village_code"]):
        raise NotFound("调查小区", str(area_id))
    return area


async def require_enumerator(conn: Any, s: str, p: Principal, area: dict[str, Any]) -> None:
    """认证与分配: certified for the area's survey year and assigned to the area (403 else)."""
    require_role(p, {ENUMERATOR}, "登记住户（须为经培训考试合格的网格员调查员）")
    year = area["survey_year"]
    if "certified" in area:  # read with the area (area_for(..., with_certification=True))
        passed = bool(area["certified"])
    else:
        cert = await repo.certification(conn, s, p.user_id, year)
        passed = cert is not None and cert["passed"]
    if not passed:
        raise Forbidden(f"您尚未取得{year}年度调查员资格（培训考试未通过或未参加），不能登记住户",
                        code="enumerator_not_certified")
    if p.username not in (area.get("enumerators") or []):
        raise Forbidden(f"您未被分配到调查小区“{area['name']}”，不能登记该小区的住户",
                        code="enumerator_not_assigned")


def _plain(cmd: SaveHousehold) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    household = cmd.household.model_dump(mode="json")
    persons = [{k: v for k, v in pf.model_dump(mode="json").items() if k != "person_id"}
               for pf in cmd.persons]
    return household, persons


def _keep_omitted(sealer: Any, cmd: SaveHousehold, persons: list[dict[str, Any]],
                  stored: dict[str, dict[str, Any]]) -> None:
    """An identifying field left out of an existing person's form (not sent at all, e.g. the
    phone shows the ID number masked) keeps its registered value."""
    for pf, record in zip(cmd.persons, persons, strict=True):
        row = stored.get(str(pf.person_id)) if pf.person_id else None
        omitted = [f for f in IDENTIFYING_FIELDS if f not in pf.model_fields_set]
        if row is None or not omitted or row["wrapped_key"] is None:
            continue
        key = StoredKey(str(pf.person_id), row["wrapped_key"], row["key_version"],
                        row["destroyed_at"])
        opened = sealer.open_loaded({str(pf.person_id): row["fields"]},
                                    {str(pf.person_id): key})[str(pf.person_id)]
        for f in omitted:
            if opened.get(f) not in (None, ""):
                record[f] = opened[f]


def _public_findings(findings: list[forms.Finding]) -> list[dict[str, Any]]:
    # field paths as the workflow's notes want them (persons.2.sex); messages name no one
    return [{"rule_id": f.rule_id, "severity": f.severity,
             "field": f.field.replace("[", ".").replace("]", ""), "message": f.message}
            for f in findings]


async def save_household(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID,
                         cmd: SaveHousehold, key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    digest = {"op": "save", "area": str(area_id), "d": private_digest(
        rt, cmd.model_dump(mode="json"))}
    async with unit_of_work(rt, p, key, digest) as uow:
        if uow.replayed:
            return uow.replayed
        area = await area_for(uow.conn, s, p, area_id, with_certification=True)
        await require_enumerator(uow.conn, s, p, area)
        hid = household_id_for(area_id, cmd.household.household_no)
        row = await repo.household(uow.conn, s, hid, lock=True)
        if row is not None:
            household_projections.remember(uow.conn, row)
        if row is None:
            hh = Household(hid, area_id, area["area_code"], area["village_code"],
                           area["survey_year"], cmd.household.household_no, p.user_id)
        else:
            hh = Household.from_row(row)
            if hh.enumerator != p.user_id:
                raise Forbidden("该户由其他调查员登记，您不能修改", code="not_household_enumerator")
        if hh.version != cmd.expected_version:
            raise ConcurrencyError(hh.stream_id, cmd.expected_version, hh.version)
        form = forms.load_form()
        household, persons = _plain(cmd)
        stored = {str(r["person_id"]): r for r in
                  await repo.persons_with_keys(uow.conn, s, hid)} if row else {}
        known = set(stored)
        sealer = cipher(rt, uow.conn)
        _keep_omitted(sealer, cmd, persons, stored)
        findings = forms.validate(form, household, persons)
        records: dict[str, dict[str, Any]] = {}
        bands: list[str | None] = []
        for i, (pf, record) in enumerate(zip(cmd.persons, persons)):
            if pf.person_id is not None and str(pf.person_id) not in known:
                raise AppError(422, "unknown_person", f"第{i + 1}人的人员ID不属于本户",
                               field=f"persons.{i}.person_id")
            birth = record.get("birth_year_month")
            bands.append(age_band(max(0, forms.age_at(birth, form.reference)))
                         if isinstance(birth, str) and forms._YM.match(birth) else None)
            pid = str(pf.person_id or uuid.uuid4())
            if pid in records:
                raise AppError(422, "duplicate_person", f"第{i + 1}人的人员ID与前面的人员重复",
                               field=f"persons.{i}.person_id")
            records[pid] = {k: v for k, v in record.items() if v is not None}
        # every person's own data key, the new ones created together: one round trip
        sealed = await sealer.seal_many(records)
        entries = [PersonEntry(person_id=uuid.UUID(pid), fields=sealed[pid], age_band=band)
                   for pid, band in zip(records, bands, strict=True)]
        try:
            hh.save(form_version=form.version, household=household, persons=entries,
                    blocking=len(forms.blocking(findings)))
        except HouseholdRuleError as e:
            raise rule_error(e) from None
        public = _public_findings(findings)
        # the findings travel in the event's metadata: the projection writes them with the row
        await _commit(uow, s, hh, p, key, {**metadata(p, key), "findings": public})
        return uow.respond(200 if row else 201, {
            "household_id": str(hid), "version": hh.version, "status": hh.status,
            "person_ids": [str(e.person_id) for e in entries], "findings": public,
            "read_back_required": True})


async def _commit(uow: UnitOfWork, s: str, hh: Household, p: Principal | None,
                  key: str | None, meta: dict[str, Any] | None = None) -> None:
    uow.add(hh, meta if meta is not None else metadata(p, key))  # type: ignore[arg-type]
    await uow.flush()  # the household projection writes the row's lifecycle from the events


async def _load(uow: UnitOfWork, s: str, p: Principal, household_id: uuid.UUID,
                expected_version: int) -> tuple[Household, dict[str, Any]]:
    """The household locked for this command, and its row (with its area's name)."""
    row = await repo.household(uow.conn, s, household_id, lock=True, with_area_name=True)
    if row is None or not contains(jurisdiction(p), row["village_code"]):
        raise NotFound("住户", str(household_id))
    household_projections.remember(uow.conn, row)  # its projection folds onto this row
    hh = Household.from_row(row)
    if hh.version != expected_version:
        raise ConcurrencyError(hh.stream_id, expected_version, hh.version)
    return hh, row


def _require_own(p: Principal, hh: Household) -> None:
    require_role(p, {ENUMERATOR}, "回读确认或交表（须为登记该户的调查员）")
    if hh.enumerator != p.user_id:
        raise Forbidden("该户由其他调查员登记，您不能回读确认或交表", code="not_household_enumerator")


async def confirm_readback(rt: ServiceRuntime, p: Principal, household_id: uuid.UUID,
                           cmd: ConfirmReadBack,
                           key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    # the phone's digest is of personal data: the idempotency record keeps a keyed digest
    async with unit_of_work(rt, p, key, {"op": "readback", "h": str(household_id),
                                         "d": private_digest(rt, cmd.model_dump(mode="json"))}
                            ) as uow:
        if uow.replayed:
            return uow.replayed
        hh, row = await _load(uow, s, p, household_id, cmd.expected_version)
        _require_own(p, hh)
        received = dt.datetime.now(dt.UTC)
        at = cmd.confirmed_at.astimezone(dt.UTC) if cmd.confirmed_at else received
        try:
            if cmd.confirmed_at is not None or cmd.readback_sha256 is not None:
                await _check_phone_confirmation(rt, uow, s, row, cmd, at, received)
            kept = (keyed_digest(rt, "readback", cmd.readback_sha256.encode())
                    if cmd.readback_sha256 else None)
            hh.confirm_readback(at=at, enumerator=p.user_id, device=p.device_id,
                                respondent=cmd.respondent, received_at=received,
                                readback_digest=kept)
        except HouseholdRuleError as e:
            raise rule_error(e) from None
        except readback.ReadBackRefused as e:
            raise AppError(422, e.code, e.message, field=e.field) from None
        await _commit(uow, s, hh, p, key)
        return uow.respond(200, {"household_id": str(household_id), "version": hh.version,
                                 "read_back": {"draft_version": hh.readback_version,
                                               "confirmed_at": at.isoformat(),
                                               "received_at": received.isoformat(),
                                               "readback_digest": kept,
                                               "enumerator": p.user_id, "device": p.device_id,
                                               "respondent": cmd.respondent}})


async def _check_phone_confirmation(rt: ServiceRuntime, uow: UnitOfWork, s: str,
                                    row: dict[str, Any], cmd: ConfirmReadBack,
                                    at: dt.datetime, received: dt.datetime) -> None:
    """The phone's time within bounds, and its digest that of the saved draft's read-back
    text (opened here to compare, never answered nor kept)."""
    if cmd.confirmed_at is None or cmd.readback_sha256 is None:
        missing = "confirmed_at" if cmd.confirmed_at is None else "readback_sha256"
        raise readback.ReadBackRefused(
            "readback_incomplete", missing,
            "手机回读确认须同时提供确认时间（confirmed_at）与回读内容摘要（readback_sha256）")
    form = forms.load_form(row["form_version"])
    readback.check_time(at, received, rt.settings.readback_clock_skew, form)
    people = [r for r in await repo.persons_with_keys(uow.conn, s, row["household_id"])
              if r["erased_at"] is None]
    keys = {str(r["person_id"]): StoredKey(str(r["person_id"]), r["wrapped_key"],
                                           r["key_version"], r["destroyed_at"]) for r in people}
    opened = cipher(rt, uow.conn).open_loaded({str(r["person_id"]): r["fields"] for r in people},
                                              keys)
    readback.check_digest(cmd.readback_sha256, form, row["household"],
                          [opened[str(r["person_id"])] for r in people])


async def hand_in(rt: ServiceRuntime, p: Principal, household_id: uuid.UUID, cmd: HandIn,
                  key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "hand_in", "h": str(household_id),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        hh, _ = await _load(uow, s, p, household_id, cmd.expected_version)
        _require_own(p, hh)
        try:
            hh.hand_in()
        except HouseholdRuleError as e:
            raise rule_error(e) from None
        await _commit(uow, s, hh, p, key)
        return uow.respond(200, {"household_id": str(household_id), "version": hh.version,
                                 "status": hh.status})


def _labels(form: forms.Form, person_count: int) -> dict[str, str]:
    labels = {f"household.{f.code}": f.label for f in form.household}
    for i in range(person_count):
        labels.update({f"persons.{i}.{f.code}": f"第{i + 1}人{f.label}" for f in form.person})
    return labels


async def recheck(rt: ServiceRuntime, p: Principal, household_id: uuid.UUID, cmd: Recheck,
                  key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "recheck", "h": str(household_id),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        hh, row = await _load(uow, s, p, household_id, cmd.expected_version)
        area_name = row["area_name"]
        require_role(p, {COORDINATOR}, "村级复核")
        if jurisdiction(p) != hh.village_code:
            raise Forbidden("只有本村的村级统计协管员可以复核本村住户表", code="not_village_coordinator")
        try:
            if cmd.decision == "return":
                if not (cmd.reason or "").strip():
                    raise AppError(422, "reason_required", "退回时须填写退回原因", field="reason")
                hh.recheck_return(cmd.reason or "", cmd.field_notes)
            else:
                title = (f"{hh.survey_year}年人口变动调查住户表 - {area_name or hh.area_code}"
                         f" 第{hh.household_no}户")
                hh.recheck_pass(title=title, field_labels=_labels(forms.load_form(),
                                                                  hh.person_count),
                                rechecked_by=p.user_id)
        except HouseholdRuleError as e:
            raise rule_error(e) from None
        await _commit(uow, s, hh, p, key)
        return uow.respond(200, {"household_id": str(household_id), "version": hh.version,
                                 "status": hh.status, "revision": hh.state.revision})
