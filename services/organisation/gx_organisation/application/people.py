"""Offices and people (机构与人员): record an office, appoint a person, end an appointment."""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.organisation import EndAppointment, RecordAppointment, RecordOffice
from gx_contracts.divisions import Level
from gx_contracts.events import organisation as ev
from gx_kernel.errors import AppError, NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_organisation.application.access import STATISTICIANS, jurisdiction, require_level, writer
from gx_organisation.application.unit import append, division_name, name_id, unit_of_work

_OFFICE_LEVEL = {ev.OfficeKind.county_management: Level.county,
                 ev.OfficeKind.township_office: Level.township}
_ROLE_LEVELS = {
    ev.PostRole.county_office_staff: {Level.county},
    ev.PostRole.township_statistician: {Level.township},
    ev.PostRole.village_coordinator: {Level.village},
    ev.PostRole.grid_worker: {Level.village},
    ev.PostRole.enterprise_statistician: {Level.township, Level.village},
}
# who records people: the county's office (and levels above) for everyone; a township for its
# villages' coordinators, grid workers and enterprise statisticians
_APPOINTERS = {"region_statistician", "city_statistician", "county_statistician"}
_TOWNSHIP_MAY = {ev.PostRole.village_coordinator, ev.PostRole.grid_worker,
                 ev.PostRole.enterprise_statistician}


async def record_office(rt: ServiceRuntime, p: Principal, cmd: RecordOffice,
                        key: str | None) -> tuple[int, dict[str, Any]]:
    lv = require_level(cmd.division_code, {_OFFICE_LEVEL[cmd.kind]}, "division_code",
                       "统计工作机构")
    roles = set(_APPOINTERS) | ({"township_statistician"} if lv is Level.township else set())
    writer(p, cmd.division_code, roles, "登记统计工作机构")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "office", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        await division_name(uow.conn, s, cmd.division_code, "division_code")
        office_id = name_id("office", cmd.division_code, cmd.kind.value)
        event = ev.OfficeRecorded(office_id=office_id, division_code=cmd.division_code,
                                  kind=cmd.kind, name=cmd.name,
                                  host_department=cmd.host_department,
                                  establishment=cmd.establishment)
        append(uow, "office", office_id, cmd.expected_version, event, p, key)
        stored = await uow.flush()
        status = 201 if cmd.expected_version == 0 else 200
        return uow.respond(status, {"office_id": str(office_id), "version": stored[-1].version})


def _check_appointment(p: Principal, cmd: RecordAppointment) -> None:
    require_level(cmd.division_code, _ROLE_LEVELS[cmd.role], "division_code", "该岗位任职")
    roles = set(_APPOINTERS) | ({"township_statistician"} if cmd.role in _TOWNSHIP_MAY else set())
    writer(p, cmd.division_code, roles, "登记该岗位人员")
    if cmd.role is ev.PostRole.enterprise_statistician and not cmd.unit_name:
        raise AppError(422, "unit_required", "企业统计人员须填写联网直报单位名称（unit_name）",
                       field="unit_name")
    if cmd.in_establishment and cmd.role is not ev.PostRole.county_office_staff:
        raise AppError(422, "not_in_establishment",
                       "只有管理办公室工作人员占用编制（in_establishment）", field="in_establishment")


async def record_appointment(rt: ServiceRuntime, p: Principal, cmd: RecordAppointment,
                             key: str | None, appointment_id: uuid.UUID | None = None
                             ) -> tuple[int, dict[str, Any]]:
    """New (appointment_id None: 201) or a correction of an existing one (200)."""
    _check_appointment(p, cmd)
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "appoint", "id": str(appointment_id),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        await division_name(uow.conn, s, cmd.division_code, "division_code")
        if appointment_id is not None:
            row = await uow.conn.fetchrow(
                f"SELECT division_code FROM {s}.appointments WHERE appointment_id = $1",
                appointment_id)
            if row is None or not _visible(p, row["division_code"]):
                raise NotFound("任用记录", str(appointment_id))
        aid = appointment_id or uuid.uuid4()
        payload = cmd.model_dump(exclude={"expected_version"})
        append(uow, "appointment", aid, cmd.expected_version if appointment_id else 0,
               ev.AppointmentRecorded(appointment_id=aid, **payload), p, key)
        stored = await uow.flush()
        return uow.respond(201 if appointment_id is None else 200,
                           {"appointment_id": str(aid), "version": stored[-1].version})


async def end_appointment(rt: ServiceRuntime, p: Principal, appointment_id: uuid.UUID,
                          cmd: EndAppointment, key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "end", "id": str(appointment_id),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        row = await uow.conn.fetchrow(f"SELECT * FROM {s}.appointments WHERE appointment_id = $1",
                                      appointment_id)
        if row is None or not _visible(p, row["division_code"]):
            raise NotFound("任用记录", str(appointment_id))
        writer(p, row["division_code"], set(_APPOINTERS) | {"township_statistician"},
               "结束任用")
        if cmd.end_date < row["start_date"]:
            raise AppError(422, "end_before_start", "结束日期（end_date）不能早于任职起始日期",
                           field="end_date")
        append(uow, "appointment", appointment_id, cmd.expected_version,
               ev.AppointmentEnded(appointment_id=appointment_id, end_date=cmd.end_date,
                                   reason=cmd.reason), p, key)
        stored = await uow.flush()
        return uow.respond(200, {"appointment_id": str(appointment_id),
                                 "version": stored[-1].version})


def _visible(p: Principal, division: str) -> bool:
    return p.role in STATISTICIANS and division.startswith(jurisdiction(p))

