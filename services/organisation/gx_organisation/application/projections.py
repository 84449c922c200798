"""Read models of the organisation service, projected from its own events in the writer's
transaction (one projector per event type); every table but the division tree is rebuilt
from the service's own stream (`python -m gx_kernel.projections`). A progress report's
lifecycle columns follow its submitted and review_followed events."""
from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from gx_contracts.events import organisation as ev
from gx_contracts.events.trusted import trusted_replay
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import ProjectionRegistry


def _d(v: Any) -> date | None:
    return None if v is None else date.fromisoformat(str(v))


@functools.cache
def projections(s: str) -> ProjectionRegistry:
    """The projectors of the organisation read models in schema `s`."""
    reg = ProjectionRegistry()
    reg.during_rebuild(trusted_replay)  # our own events: decoded without re-checking

    @reg.on(ev.OfficeRecorded.EVENT_TYPE)
    async def office(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.offices (office_id, division_code, kind, name, host_department, "
            f"establishment, version, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
            f"ON CONFLICT (office_id) DO UPDATE SET name=EXCLUDED.name, "
            f"host_department=EXCLUDED.host_department, establishment=EXCLUDED.establishment, "
            f"version=EXCLUDED.version, updated_at=EXCLUDED.updated_at",
            d["office_id"], d["division_code"], d["kind"], d["name"], d.get("host_department"),
            d["establishment"], e.version, e.recorded_at)

    async def appointment(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.appointments (appointment_id, person_name, role, division_code, "
            f"staffing_mode, start_date, end_date, account_username, unit_name, "
            f"in_establishment, version, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) "
            f"ON CONFLICT (appointment_id) DO UPDATE SET person_name=EXCLUDED.person_name, "
            f"role=EXCLUDED.role, division_code=EXCLUDED.division_code, "
            f"staffing_mode=EXCLUDED.staffing_mode, start_date=EXCLUDED.start_date, "
            f"end_date=EXCLUDED.end_date, account_username=EXCLUDED.account_username, "
            f"unit_name=EXCLUDED.unit_name, in_establishment=EXCLUDED.in_establishment, "
            f"ended_reason=NULL, version=EXCLUDED.version, updated_at=EXCLUDED.updated_at",
            d["appointment_id"], d["person_name"], d["role"], d["division_code"],
            d["staffing_mode"], _d(d["start_date"]), _d(d.get("end_date")),
            d.get("account_username"), d.get("unit_name"), d.get("in_establishment", False),
            e.version, e.recorded_at)

    async def ended(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(f"UPDATE {s}.appointments SET end_date=$2, ended_reason=$3, "
                           f"version=$4, updated_at=$5 WHERE appointment_id=$1",
                           d["appointment_id"], _d(d["end_date"]), d["reason"], e.version,
                           e.recorded_at)

    async def scoped(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.reforms (year, reform_id, title, document_no, phases, "
            f"report_due_dates, choosing_cities, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
            f"ON CONFLICT (year) DO UPDATE SET title=EXCLUDED.title, "
            f"document_no=EXCLUDED.document_no, phases=EXCLUDED.phases, "
            f"report_due_dates=EXCLUDED.report_due_dates, "
            f"choosing_cities=EXCLUDED.choosing_cities, version=EXCLUDED.version",
            d["year"], d["reform_id"], d["title"], d["document_no"], json.dumps(d["phases"]),
            json.dumps(d["report_due_dates"]), json.dumps(d.get("choosing_cities") or []),
            e.version)
        # the document's own list replaces the earlier one; cities' choices are kept
        await conn.execute(f"DELETE FROM {s}.reform_counties WHERE year=$1 AND "
                           f"basis <> 'city_choice'", d["year"])
        await conn.executemany(
            f"INSERT INTO {s}.reform_counties (year, county_code, basis, name_in_document) "
            f"VALUES ($1,$2,$3,$4) ON CONFLICT (year, county_code) DO UPDATE SET "
            f"basis=EXCLUDED.basis, name_in_document=EXCLUDED.name_in_document, chosen_by=NULL",
            [(d["year"], c["county_code"], c["basis"], c.get("name_in_document"))
             for c in d["counties"]])

    async def chosen(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.reform_counties (year, county_code, basis, chosen_by) "
            f"VALUES ($1,$2,'city_choice',$3) ON CONFLICT (year, county_code) DO NOTHING",
            d["year"], d["county_code"], d["city_code"])
        await conn.execute(f"UPDATE {s}.reforms SET version=$2 WHERE year=$1", d["year"],
                           e.version)

    @reg.on(ev.PlanFiled.EVENT_TYPE)
    async def plan(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.plans (plan_id, year, division_code, title, document_no, "
            f"approved_by, approved_on, filed_with, filed_on, version) "
            f"VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (plan_id) DO UPDATE SET "
            f"title=EXCLUDED.title, document_no=EXCLUDED.document_no, "
            f"approved_by=EXCLUDED.approved_by, approved_on=EXCLUDED.approved_on, "
            f"filed_with=EXCLUDED.filed_with, filed_on=EXCLUDED.filed_on, version=EXCLUDED.version",
            d["plan_id"], d["year"], d["division_code"], d["title"], d.get("document_no"),
            d["approved_by"], _d(d["approved_on"]), d["filed_with"], _d(d["filed_on"]), e.version)

    @reg.on(ev.LeadingGroupRecorded.EVENT_TYPE)
    async def group(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.leading_groups (group_id, year, division_code, name, members, "
            f"version) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (group_id) DO UPDATE SET "
            f"name=EXCLUDED.name, members=EXCLUDED.members, version=EXCLUDED.version",
            d["group_id"], d["year"], d["division_code"], d["name"], json.dumps(d["members"]),
            e.version)

    async def report_body(conn, e: StoredEvent) -> None:
        d = e.data
        submitted = e.type == ev.ProgressReportSubmitted.EVENT_TYPE
        await conn.execute(
            f"INSERT INTO {s}.progress_reports (report_id, year, due_date, county_code, "
            f"sections, figures, attachments, version, revision, submitted_at, late, updated_at) "
            f"VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT (report_id) DO UPDATE "
            f"SET sections=EXCLUDED.sections, figures=EXCLUDED.figures, "
            f"attachments=EXCLUDED.attachments, version=EXCLUDED.version, "
            f"revision=GREATEST(progress_reports.revision, EXCLUDED.revision), "
            f"submitted_at=COALESCE(EXCLUDED.submitted_at, progress_reports.submitted_at), "
            f"late=CASE WHEN EXCLUDED.submitted_at IS NULL THEN progress_reports.late "
            f"ELSE EXCLUDED.late END, updated_at=EXCLUDED.updated_at",
            d["report_id"], d["year"], _d(d["due_date"]), d["county_code"],
            json.dumps(d.get("sections") or {}), json.dumps(d.get("figures") or {}),
            json.dumps(d.get("attachments") or []), e.version,
            d.get("revision", 0) if submitted else 0, e.recorded_at if submitted else None,
            bool(d.get("late")) if submitted else False, e.recorded_at)
        if submitted:  # under review at the county again, earlier approvals gone
            await conn.execute(
                f"UPDATE {s}.progress_reports SET status='submitted', revision=$2, "
                f"review_level='county', approved_rank=0, accepted_level=NULL, "
                f"confirmed_level=NULL WHERE report_id=$1", d["report_id"], d["revision"])
        else:  # a returned report stays returned while it is corrected
            await conn.execute(
                f"UPDATE {s}.progress_reports SET status=CASE WHEN status='returned' "
                f"THEN 'returned' ELSE 'draft' END WHERE report_id=$1", d["report_id"])

    async def review_followed(conn, e: StoredEvent) -> None:
        d, r = e.data, e.data["review"]
        await conn.execute(
            f"INSERT INTO {s}.progress_review_log (event_id, report_id, type, data, metadata, at) "
            f"VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING", r["event_id"], d["report_id"],
            r["type"], json.dumps({"comment": r.get("comment"), "level": r.get("level")}),
            json.dumps({"actor_name": r.get("actor_name")}),
            datetime.fromisoformat(str(r["at"])))
        m = d.get("moved")
        await conn.execute(f"UPDATE {s}.progress_reports SET version=$2, updated_at=$3 "
                           f"WHERE report_id=$1", d["report_id"], e.version, e.recorded_at)
        if m is not None:
            await conn.execute(
                f"UPDATE {s}.progress_reports SET status=$2, revision=$3, review_level=$4, "
                f"approved_rank=$5, case_id=$6, accepted_level=$7, confirmed_level=$8, "
                f"returned_from=$9 WHERE report_id=$1", d["report_id"], m["status"],
                m["revision"], m.get("review_level"), m.get("approved_rank", 0), m.get("case_id"),
                m.get("accepted_level"), m.get("confirmed_level"), m.get("returned_from"))

    async def report_returned(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(f"UPDATE {s}.progress_reports SET return_reason_code=$2, "
                           f"return_reason=$3, version=$4, updated_at=$5 WHERE report_id=$1",
                           d["report_id"], d["reason_code"], d["reason"], e.version,
                           e.recorded_at)

    async def report_accepted(conn, e: StoredEvent) -> None:
        await conn.execute(f"UPDATE {s}.progress_reports SET version=$2, updated_at=$3 "
                           f"WHERE report_id=$1", e.data["report_id"], e.version, e.recorded_at)

    @reg.on(ev.SubsidyRatesSet.EVENT_TYPE)
    async def rates(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.subsidy_rates (year, division_code, rates, version) "
            f"VALUES ($1,$2,$3,$4) ON CONFLICT (year, division_code) DO UPDATE SET "
            f"rates=EXCLUDED.rates, version=EXCLUDED.version",
            d["year"], d["division_code"], json.dumps(d["rates"]), e.version)

    @reg.batch(ev.WorkloadRecorded.EVENT_TYPE)
    async def workload(conn, events: Sequence[StoredEvent]) -> None:
        # one pipelined statement per batch (a rebuild's batch holds thousands: one round
        # trip each was most of its time); rows in event order, the last of a month wins
        await conn.executemany(
            f"INSERT INTO {s}.workloads (appointment_id, period, units) VALUES ($1,$2,$3) "
            f"ON CONFLICT (appointment_id, period) DO UPDATE SET units=EXCLUDED.units",
            [(e.data["appointment_id"], e.data["period"], e.data["units"]) for e in events])

    @reg.on(ev.TrainingRecorded.EVENT_TYPE)
    async def training(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.trainings (session_id, year, division_code, level, title, held_on, "
            f"audience, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            d["session_id"], d["year"], d["division_code"], d["level"], d["title"],
            _d(d["held_on"]), json.dumps(d["audience"]), e.version)
        await conn.executemany(
            f"INSERT INTO {s}.training_attendance (session_id, appointment_id, completed) "
            f"VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
            [(d["session_id"], a["appointment_id"], a["completed"]) for a in d["attendance"]])

    @reg.on(ev.AssessmentScored.EVENT_TYPE)
    async def assessed(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.assessments (year, township_code, assessment_id, criteria_version, "
            f"scores, total, model_standard, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
            f"ON CONFLICT (year, township_code) DO UPDATE SET "
            f"criteria_version=EXCLUDED.criteria_version, scores=EXCLUDED.scores, "
            f"total=EXCLUDED.total, model_standard=EXCLUDED.model_standard, "
            f"version=EXCLUDED.version",
            d["year"], d["township_code"], d["assessment_id"], d["criteria_version"],
            json.dumps(d["scores"]), d["total"], d["model_standard"], e.version)

    # Projectors of one row run in one dispatcher, so a rebuild's batch (grouped per
    # projector by the registry) still applies that row's events in their order.
    by_type = {
        ev.AppointmentRecorded.EVENT_TYPE: appointment, ev.AppointmentEnded.EVENT_TYPE: ended,
        ev.ReformScoped.EVENT_TYPE: scoped, ev.ReformCountyChosen.EVENT_TYPE: chosen,
        ev.ProgressReportDraftSaved.EVENT_TYPE: report_body,
        ev.ProgressReportSubmitted.EVENT_TYPE: report_body,
        ev.ProgressReportReviewFollowed.EVENT_TYPE: review_followed,
        ev.ProgressReportReturned.EVENT_TYPE: report_returned,
        ev.ProgressReportAccepted.EVENT_TYPE: report_accepted}

    @reg.on(*by_type)
    async def in_order(conn, e: StoredEvent) -> None:
        await by_type[e.type](conn, e)

    @reg.reset
    async def empty(conn) -> None:
        await conn.execute(
            f"TRUNCATE {s}.offices, {s}.appointments, {s}.reforms, {s}.reform_counties, "
            f"{s}.plans, {s}.leading_groups, {s}.progress_reports, {s}.progress_review_log, "
            f"{s}.subsidy_rates, {s}.workloads, {s}.trainings, {s}.training_attendance, "
            f"{s}.assessments")

    return reg
