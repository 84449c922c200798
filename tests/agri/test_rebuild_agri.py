"""Agri's read models rebuild from agri's own events alone (real PostgreSQL and broker).

State is built through the real flows (HTTP commands, workflow events on the topic, including
moves that raise no returned/accepted event: approve, return to a level, reopen, overdue);
the read-model tables are emptied; `python -m gx_kernel.projections` replays agri's stream;
every row of tasks, reports and review_log is as it was. A schema from before migration 0002
(lifecycle state and review history only in the read models) keeps both through a rebuild.
"""
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from agri_support import DINGXI, TIANTANG, TOWNSHIP, case_data

from gx_contracts.divisions import Level
from gx_contracts.events.agri import ReportDraftSaved, ReportSubmitted, TaskPublished
from gx_contracts.events.base import event_fields
from gx_contracts.ids import report_id_for, stream_id
from gx_kernel.eventstore import EventStore, NewEvent
from gx_kernel.migrations import run_migrations
from gx_kernel.projections import rebuild

from gx_agri.adapters import schema as agri_schema
from gx_agri.application.projections import READ_MODELS, projections
from tests.migration_support import pool, schemas  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
GOOD = {"crop_area": 4000, "grain_area": 2600, "early_rice_area": 1200, "early_rice_output": 468000,
        "late_rice_area": 1100, "maize_area": 300, "maize_output": 90000}
ORDER = {"tasks": "task_id", "reports": "report_id", "review_log": "event_id"}


async def read_models(conn, s: str) -> dict[str, list[dict]]:
    return {t: [dict(r) for r in await conn.fetch(f"SELECT * FROM {s}.{t} ORDER BY {ORDER[t]}")]
            for t in READ_MODELS}


async def _flows(agri, period: str = "2026-AUTUMN") -> tuple[str, str]:
    """A task of the township; one report through return, resubmission, early acceptance,
    overdue, reopening and an approval; another one a draft."""
    r = await agri.publish(TOWNSHIP, period=period)
    assert r.status_code == 201, r.text
    task_id = r.json()["task_id"]
    tt, dx = str(report_id_for(task_id, TIANTANG)), str(report_id_for(task_id, DINGXI))
    url = f"/api/v1/agri/reports/{tt}"
    h = agri.h("tiantang")
    assert (await agri.client.put(f"{url}/draft", headers=h, json={
        "values": GOOD, "expected_version": 0})).status_code == 200
    assert (await agri.client.post(f"{url}/submit", headers=h,
                                   json={"expected_version": 1})).status_code == 200
    assert (await agri.client.put(f"/api/v1/agri/reports/{dx}/draft", headers=agri.h("dingxi"),
                                  json={"values": GOOD, "expected_version": 0})).status_code == 200
    rep = (await agri.client.get(url, headers=agri.h("township"))).json()
    ref = case_data(rep)
    sub = {k: ref[k] for k in ("subject_kind", "subject_id", "division_code", "revision")}
    await agri.workflow_event("workflow.case.opened", {
        **ref, "submission": {**sub, "task_id": task_id, "title": "t"},
        "chain": ["township", "county", "region"], "level": "township"})
    await agri.workflow_event("workflow.case.approved", case_data(
        rep, from_level="township", to_level="county", comment="无误"))
    await agri.workflow_event("workflow.case.returned", case_data(
        rep, from_level="county", to_level="township", reason_code="R01", reason="请乡镇复核"),
        actor="u-county", role="county_statistician")
    await agri.workflow_event("workflow.case.returned", case_data(
        rep, from_level="township", to_level="village", reason_code="R03", reason="请核实",
        field_notes={"maize_output": "请核实玉米产量"}))
    back = await agri.wait_report(tt, lambda b: b["status"] == "returned", who="tiantang")
    r = await agri.client.put(f"{url}/draft", headers=h, json={
        "values": {**GOOD, "maize_output": 95000}, "expected_version": back["version"]})
    assert r.status_code == 200, r.text
    r = await agri.client.post(f"{url}/submit", headers=h,
                               json={"expected_version": r.json()["version"]})
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    rep2 = (await agri.client.get(url, headers=agri.h("township"))).json()
    await agri.workflow_event("workflow.case.resubmitted", case_data(rep2, level="township"))
    await agri.workflow_event("workflow.case.accepted", case_data(
        rep2, level="township", final=False, next_level="region"))
    await agri.workflow_event("workflow.case.overdue", {
        k: v for k, v in case_data(rep2, level="region",
                                   deadline="2026-09-01T18:00:00+08:00").items()
        if k != "revision"})
    await agri.workflow_event("workflow.case.reopened", case_data(
        rep2, level="county", reason="复核"), actor="u-region", role="region_statistician")
    await agri.workflow_event("workflow.case.approved", case_data(
        rep2, from_level="county", to_level="region"), actor="u-county",
        role="county_statistician")
    # 15 events on its stream: 4 commands, 9 followed review events, a return, an acceptance
    await agri.wait_report(tt, lambda b: b["version"] == 15)
    return tt, dx


async def test_truncated_read_models_rebuild_from_agris_events_to_the_same_rows(agri):
    tt, dx = await _flows(agri)
    s = agri.settings.schema
    async with agri.rt.pool.acquire() as conn:
        before = await read_models(conn, s)
        row = next(r for r in before["reports"] if str(r["report_id"]) == tt)
        assert (row["status"], row["review_level"], row["approved_rank"], row["revision"]) == (
            "submitted", "region", Level.county.rank, 2)  # reopened at the county, approved
        assert row["case_id"] is not None and row["return_reason_code"] == "R03"
        assert len([r for r in before["review_log"] if str(r["report_id"]) == tt]) == 9
        await conn.execute("TRUNCATE " + ", ".join(f"{s}.{t}" for t in READ_MODELS))
    history = (await agri.client.get(f"/api/v1/agri/reports/{dx}/history",
                                     headers=agri.h("township")))
    assert history.status_code == 404  # emptied indeed
    out = subprocess.run(
        [sys.executable, "-m", "gx_kernel.projections", "--database-url",
         agri.settings.database_url, "--schema", s, "--batch-size", "7",
         "gx_agri.application.projections:projections"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    assert "events/s" in out.stdout
    async with agri.rt.pool.acquire() as conn:
        assert await read_models(conn, s) == before
    steps = (await agri.client.get(f"/api/v1/agri/reports/{tt}/history",
                                   headers=agri.h("township"))).json()["steps"]
    assert [x["what"] for x in steps].count("workflow.case.approved") == 2


async def test_a_row_behind_its_stream_is_folded_again_from_the_whole_stream(agri):
    tt, _ = await _flows(agri, period="2026-EARLY")
    s = agri.settings.schema
    async with agri.rt.pool.acquire() as conn:
        good = await conn.fetchrow(f"SELECT * FROM {s}.reports WHERE report_id = $1",
                                   uuid.UUID(tt))
        await conn.execute(f"UPDATE {s}.reports SET version = 3, status = 'draft',"
                           f" approved_rank = 0, vals = '{{}}' WHERE report_id = $1",
                           uuid.UUID(tt))
    rep = (await agri.client.get(f"/api/v1/agri/reports/{tt}",
                                 headers=agri.h("township"))).json()
    await agri.workflow_event("workflow.case.overdue", {
        k: v for k, v in case_data(rep, level="region",
                                   deadline="2026-09-02T18:00:00+08:00").items()
        if k != "revision"})
    await agri.wait_report(tt, lambda b: b["version"] == 16)
    async with agri.rt.pool.acquire() as conn:
        healed = await conn.fetchrow(f"SELECT * FROM {s}.reports WHERE report_id = $1",
                                     uuid.UUID(tt))
    before, after = dict(good), dict(healed)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"version", "updated_at"}, changed


async def test_a_schema_from_before_0002_keeps_its_state_and_history_through_a_rebuild(
        pool, schemas, tmp_path):
    s = schemas()
    before_0002 = tmp_path / "gx_agri" / "migrations"
    before_0002.mkdir(parents=True)
    shutil.copy(agri_schema.MIGRATIONS / "0001_initial.sql", before_0002)
    await run_migrations(pool, s, [before_0002])  # the kernel's tables and agri's 0001
    store = EventStore(pool, s)
    task_id = uuid.uuid4()
    rid = report_id_for(task_id, TIANTANG)
    case = uuid.uuid4()
    task = TaskPublished(task_id=task_id, form_code="A301", form_version=1, period="2026-EARLY",
                         title="早稻", scope_division=TIANTANG,
                         deadline="2026-08-15T18:00:00+08:00", published_by="u-region")
    (published,) = await store.append(stream_id("task", task_id), 0,
                                      [NewEvent(**event_fields(task))])
    draft = ReportDraftSaved(report_id=rid, task_id=task_id, village_code=TIANTANG,
                             values=GOOD, revision=1)
    submission = {"subject_kind": "agri.report", "subject_id": str(rid),
                  "division_code": TIANTANG, "task_id": task_id, "revision": 1, "title": "t"}
    sub = ReportSubmitted(report_id=rid, task_id=task_id, form_code="A301", form_version=1,
                          period="2026-EARLY", village_code=TIANTANG, values=GOOD, revision=1,
                          submission=submission)
    _, submitted = await store.append(stream_id("report", rid), 0, [
        NewEvent(**event_fields(draft)), NewEvent(**event_fields(sub))])
    async with pool.acquire() as conn:  # the read models as the release before wrote them
        await conn.execute(
            f"INSERT INTO {s}.tasks VALUES ($1, 'A301', 1, '2026-EARLY', '早稻', $2, $2,"
            f" '2026-08-15T10:00:00Z', 'u-region', $3, 1, 1)", task_id, TIANTANG,
            published.recorded_at)
        await conn.execute(
            f"INSERT INTO {s}.reports (report_id, task_id, village_code, form_code,"
            f" form_version, period, status, version, revision, vals, case_id, approved_rank,"
            f" review_level, submitted_at, updated_at) VALUES ($1, $2, $3, 'A301', 1,"
            f" '2026-EARLY', 'submitted', 2, 1, $4, $5, 2, 'county', $6, now())",
            rid, task_id, TIANTANG, json.dumps(GOOD), case, submitted.recorded_at)
        for i, (kind, data) in enumerate((
                ("opened", {"case_id": str(case), "submission": {**submission,
                                                                 "task_id": str(task_id)},
                            "chain": ["township", "county", "region"], "level": "township"}),
                ("approved", {"case_id": str(case), "subject_kind": "agri.report",
                              "subject_id": str(rid), "division_code": TIANTANG,
                              "revision": 1, "from_level": "township",
                              "to_level": "county"}))):
            await conn.execute(
                f"INSERT INTO {s}.review_log VALUES ($1, $2, $3, $4, $5,"
                f" now() + make_interval(secs => $6))", uuid.uuid4(), rid,
                f"workflow.case.{kind}", json.dumps(data),
                json.dumps({"actor": "u-town", "role": "township_statistician"}), i)
    await agri_schema.setup(pool, s)  # 0002 (and the division tree, for the task's villages)
    async with pool.acquire() as conn:
        adopted = await conn.fetch(f"SELECT * FROM {s}.events WHERE type = $1",
                                   "agri.report.history_adopted")
        assert [(r["stream_id"], r["version"]) for r in adopted] == [(f"report-{rid}", 3)]
        data = json.loads(adopted[0]["data"])
        assert data["standing"]["review_level"] == "county"
        assert [x["type"] for x in data["review"]] == ["workflow.case.opened",
                                                       "workflow.case.approved"]
        before = await read_models(conn, s)
        assert before["reports"][0]["version"] == 3
    result = await rebuild(store, projections(s))
    assert result.events == 4
    async with pool.acquire() as conn:
        assert await read_models(conn, s) == before


@pytest.mark.parametrize("one_transaction", [True, False])
async def test_a_rebuild_past_its_memory_bound_or_per_batch_gives_the_same_rows(
        agri, monkeypatch, one_transaction):
    """Kept report rows written mid-rebuild (bound of 1, batches of 7 splitting the streams;
    or each batch committed) are read back and updated as the live projection does."""
    from gx_agri.application import projections_rebuild

    await _flows(agri, period="2026-SPRING")
    s = agri.settings.schema
    async with agri.rt.pool.acquire() as conn:
        before = await read_models(conn, s)
    monkeypatch.setattr(projections_rebuild, "KEEP_REPORTS", 1)
    store = EventStore(agri.rt.pool, s)
    for batch_size in (7, 3):
        result = await rebuild(store, projections(s), batch_size=batch_size,
                               one_transaction=one_transaction)
        assert result.events > 15
        async with agri.rt.pool.acquire() as conn:
            assert await read_models(conn, s) == before
