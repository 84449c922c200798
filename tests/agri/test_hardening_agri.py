"""Issue 8, agri side: ranges, strict values, answered field notes, paging bounds, and the
附件3 review (township accepts early, the region confirms last). Each refusal: status, Chinese
message naming the field, nothing written."""
import csv
import io
import uuid

from agri_support import DINGXI, REGION, TIANTANG, TOWNSHIP, case_data
from openpyxl import load_workbook
from pypdf import PdfReader

from gx_contracts.ids import report_id_for

GOOD = {"crop_area": 4000, "grain_area": 2600, "early_rice_area": 1200,
        "early_rice_output": 468000, "late_rice_area": 1100, "maize_area": 300,
        "maize_output": 90000}


async def _task(agri, period: str, scope: str = TOWNSHIP) -> str:
    r = await agri.publish(scope, period=period)
    assert r.status_code == 201, r.text
    return r.json()["task_id"]


async def _draft(agri, rid: str, body: dict, version: int = 0, who: str = "tiantang"):
    return await agri.client.put(f"/api/v1/agri/reports/{rid}/draft", headers=agri.h(who),
                                 json={"expected_version": version, **body})


async def _submit(agri, rid: str, version: int, who: str = "tiantang"):
    return await agri.client.post(f"/api/v1/agri/reports/{rid}/submit", headers=agri.h(who),
                                  json={"expected_version": version})


async def _events(agri, rid: str) -> list:
    return await agri.rt.store.read_stream(f"report-{rid}")


async def _sql(agri, sql: str, *args):
    async with agri.rt.pool.acquire() as conn:
        return await conn.execute(sql.format(s=agri.settings.schema), *args)


def _field(r, i: int = 0) -> tuple[str, str]:
    e = r.json()["errors"][i]
    return e["field"], e["message"]


async def test_values_beyond_the_physical_range_are_refused(agri):
    rid = str(report_id_for(await _task(agri, "2020-EARLY"), TIANTANG))
    r = await _draft(agri, rid, {"values": {**GOOD, "crop_area": 1e30}})
    assert r.status_code == 422, r.text
    field, message = _field(r)
    assert field == "values.crop_area"
    assert "农作物总播种面积（亩）" in message and "0～10000000" in message and "crop_area" not in message
    r = await _draft(agri, rid, {"values": {**GOOD, "maize_output": 20_000_000_001}})
    assert r.status_code == 422 and _field(r)[0] == "values.maize_output"
    assert "玉米产量（公斤）" in _field(r)[1] and "20000000000" in _field(r)[1]
    r = await agri.client.post(f"/api/v1/agri/reports/{rid}/validate", headers=agri.h("tiantang"),
                               json={"values": {"crop_area": 10_000_000.1}, "expected_version": 0})
    assert r.status_code == 422 and _field(r)[0] == "values.crop_area"
    assert await _events(agri, rid) == []
    # the bound itself is fine
    assert (await _draft(agri, rid, {"values": {**GOOD, "crop_area": 10_000_000}})).status_code == 200

    # a value stored before the ranges existed: submit refuses it, naming the field and range
    await _sql(agri, "UPDATE {s}.reports SET vals = jsonb_set(vals, '{{crop_area}}', '1e30')"
                     " WHERE report_id = $1", uuid.UUID(rid))
    r = await _submit(agri, rid, 1)
    assert r.status_code == 422 and r.json()["code"] == "validation_blocked", r.text
    assert "农作物总播种面积（亩）超出取值范围 0～10000000" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "values.crop_area"
    assert [e.type for e in await _events(agri, rid)] == ["agri.report.draft_saved"]
    forms = (await agri.client.get("/api/v1/agri/forms", headers=agri.h("tiantang"))).json()
    for form in forms["items"]:
        for ind in form["indicators"]:
            assert ind["min"] == 0 and ind["max"] > 0 and ind["decimals"] >= 0, ind


async def test_absurd_stored_values_never_break_totals_exports_or_pdf(agri):
    task_id = await _task(agri, "2021-EARLY")
    tt, dx = str(report_id_for(task_id, TIANTANG)), str(report_id_for(task_id, DINGXI))
    assert (await _draft(agri, tt, {"values": GOOD})).status_code == 200
    assert (await _submit(agri, tt, 1)).status_code == 200
    rep = (await agri.client.get(f"/api/v1/agri/reports/{tt}", headers=agri.h("township"))).json()
    await agri.workflow_event("workflow.case.approved",
                              case_data(rep, from_level="township", to_level="county"))
    await agri.wait_report(tt, lambda b: b["approved_level"] == "township")
    # straight into the read model, as an old release could have stored them
    await _sql(agri, "UPDATE {s}.reports SET vals = jsonb_set(vals, '{{crop_area}}', '1e30')"
                     " WHERE report_id = $1", uuid.UUID(tt))
    await _sql(agri, "UPDATE {s}.reports SET status = 'submitted', revision = 1, approved_rank = 1,"
                     " vals = $2::jsonb WHERE report_id = $1", uuid.UUID(dx),
               '{"grain_area": 1e300, "maize_output": 1e400}')  # 1e400: beyond any float
    base = f"/api/v1/agri/tasks/{task_id}"
    for who, division in (("township", TOWNSHIP), ("county", "450103000000"), ("region", REGION)):
        for basis in ("submitted", "approved"):
            r = await agri.client.get(f"{base}/totals", headers=agri.h(who),
                                      params={"division": division, "basis": basis})
            assert r.status_code == 200, (who, basis, r.text)
        r = await agri.client.get(f"{base}/monitor", headers=agri.h(who),
                                  params={"division": division})
        assert r.status_code == 200, (who, r.text)
    tot = (await agri.client.get(f"{base}/totals", headers=agri.h("township"))).json()
    assert tot["totals"]["crop_area"] >= 1e30 and tot["totals"]["grain_area"] >= 1e300
    r = await agri.client.get(f"{base}/drilldown", headers=agri.h("township"))
    assert r.status_code == 200, r.text
    r = await agri.client.get(f"{base}/export", headers=agri.h("county"),
                              params={"division": TOWNSHIP})
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[-1][1] == "合计" and len(rows) == 4
    r = await agri.client.get(f"{base}/export", headers=agri.h("county"),
                              params={"division": TOWNSHIP, "format": "xlsx"})
    # title block (4 rows: title, 表号, 报告期, 口径), header, two villages, 合计
    assert r.status_code == 200 and load_workbook(io.BytesIO(r.content)).active.max_row == 8
    for rid in (tt, dx):
        assert (await agri.client.get(f"/api/v1/agri/reports/{rid}",
                                      headers=agri.h("township"))).status_code == 200
        r = await agri.client.get(f"/api/v1/agri/reports/{rid}/pdf", headers=agri.h("township"))
        assert r.status_code == 200, r.text
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert "1.000000E+300" in text
    r = await agri.client.get(f"{base}/summary.pdf", headers=agri.h("township"),
                              params={"division": TOWNSHIP})
    assert r.status_code == 200, r.text


async def test_values_are_strict_json_numbers(agri):
    rid = str(report_id_for(await _task(agri, "2022-EARLY"), TIANTANG))
    for bad in (True, "100", {"v": 1}, [100], "NaN"):
        r = await _draft(agri, rid, {"values": {"crop_area": bad}})
        assert r.status_code == 422, (bad, r.text)
        field, message = _field(r)
        assert field == "values.crop_area" and "农作物总播种面积" in message, (bad, message)
    for raw in ('{"values": {"crop_area": NaN}, "expected_version": 0}',
                '{"values": {"crop_area": Infinity}, "expected_version": 0}'):
        r = await agri.client.put(f"/api/v1/agri/reports/{rid}/draft", content=raw,
                                  headers={**agri.h("tiantang"), "content-type": "application/json"})
        assert r.status_code == 422 and _field(r)[0] == "values.crop_area", r.text
    r = await _draft(agri, rid, {"values": {"wheat_area": 1}})
    assert r.status_code == 422 and _field(r)[0] == "values.wheat_area" and "wheat_area" in _field(r)[1]
    r = await _draft(agri, rid, {"values": {f"x{i}": 1 for i in range(201)}})
    assert r.status_code == 422 and _field(r)[0] == "values"
    r = await _draft(agri, rid, {"values": GOOD, "explanations": {"maize_output": "说" * 501}})
    assert r.status_code == 422 and _field(r)[0] == "explanations.maize_output"
    assert "玉米产量" in _field(r)[1]
    r = await _draft(agri, rid, {"values": GOOD, "explanations": {"maize_output": "a\x00b"}})
    assert r.status_code == 422
    assert await _events(agri, rid) == []
    r = await _draft(agri, rid, {"values": {**GOOD, "crop_area": 4000.5}})
    assert r.status_code == 200
    assert (await _events(agri, rid))[0].data["values"]["crop_area"] == 4000.5


async def test_drilldown_paging_is_bounded(agri):
    task_id = await _task(agri, "2023-EARLY")
    for rid_code in (TIANTANG, DINGXI):
        rid = str(report_id_for(task_id, rid_code))
        who = "tiantang" if rid_code == TIANTANG else "dingxi"
        assert (await _draft(agri, rid, {"values": GOOD}, who=who)).status_code == 200
        assert (await _submit(agri, rid, 1, who=who)).status_code == 200
    url = f"/api/v1/agri/tasks/{task_id}/drilldown"
    for params, field in (({"offset": "100000000000000000000"}, "query.offset"),
                          ({"offset": 1_000_001}, "query.offset"), ({"offset": -1}, "query.offset"),
                          ({"limit": 0}, "query.limit"), ({"limit": 10 ** 30}, "query.limit"),
                          ({"after": "x' OR 1=1"}, "query.after")):
        r = await agri.client.get(url, params=params, headers=agri.h("township"))
        assert r.status_code == 422, (params, r.text)
        assert _field(r)[0] == field and "应为" in _field(r)[1], r.text
    first = (await agri.client.get(url, params={"limit": 1}, headers=agri.h("township"))).json()
    assert [i["village_code"] for i in first["items"]] == [TIANTANG]
    assert first["next_after"] == TIANTANG
    second = (await agri.client.get(url, params={"limit": 1, "after": first["next_after"]},
                                    headers=agri.h("township"))).json()
    assert [i["village_code"] for i in second["items"]] == [DINGXI]
    last = (await agri.client.get(url, params={"offset": 1_000_000},
                                  headers=agri.h("township"))).json()
    assert last["items"] == [] and last["next_after"] is None


async def _returned(agri, rid: str, rep: dict, notes: dict) -> dict:
    await agri.workflow_event("workflow.case.returned", case_data(
        rep, from_level="county", to_level="village", reason_code="R03",
        reason="请核实", field_notes=notes), actor="u-county", role="county_statistician")
    return await agri.wait_report(rid, lambda b: b["status"] == "returned", who="tiantang")


async def test_resubmission_answers_every_field_note(agri):
    rid = str(report_id_for(await _task(agri, "2024-AUTUMN"), TIANTANG))
    assert (await _draft(agri, rid, {"values": GOOD})).status_code == 200
    r = await _submit(agri, rid, 1)
    assert r.status_code == 200
    first = (await _events(agri, rid))[-1].data
    assert first["submission"]["field_labels"]["maize_output"] == "玉米产量"
    assert first["changed"] == [] and first["note_answers"] == {}
    rep = (await agri.client.get(f"/api/v1/agri/reports/{rid}", headers=agri.h("township"))).json()
    back = await _returned(agri, rid, rep, {"maize_output": "玉米单产偏低", "maize_area": "请核实面积"})
    n = len(await _events(agri, rid))
    r = await _submit(agri, rid, back["version"])  # unchanged, unexplained
    assert r.status_code == 422 and r.json()["code"] == "return_notes_unanswered", r.text
    assert "玉米产量" in r.json()["detail"] and "玉米播种面积" in r.json()["detail"]
    assert {e["field"] for e in r.json()["errors"]} == {"explanations.maize_output",
                                                        "explanations.maize_area"}
    assert len(await _events(agri, rid)) == n
    # change one, explain the other (核实无误的说明): accepted
    saved = await _draft(agri, rid, {"values": {**GOOD, "maize_output": 95000},
                                     "explanations": {"maize_area": "经核实，玉米面积无误"}},
                         version=back["version"])
    assert saved.status_code == 200
    r = await _submit(agri, rid, saved.json()["version"])
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    second = (await _events(agri, rid))[-1].data
    assert second["changed"] == ["maize_output"]
    assert second["note_answers"] == {"maize_area": "经核实，玉米面积无误"}
    hist = (await agri.client.get(f"/api/v1/agri/reports/{rid}/history",
                                  headers=agri.h("county"))).json()["steps"]
    last = [s for s in hist if s["what"] == "agri.report.submitted"][-1]
    assert last["note_answers"] == {"maize_area": "经核实，玉米面积无误"}
    # a second return on the same note: the old explanation does not answer it again
    rep = (await agri.client.get(f"/api/v1/agri/reports/{rid}", headers=agri.h("township"))).json()
    back = await _returned(agri, rid, rep, {"maize_area": "仍请核实"})
    r = await _submit(agri, rid, back["version"])
    assert r.status_code == 422 and "玉米播种面积" in r.json()["detail"]


async def test_township_accepts_early_and_the_region_confirms(agri):
    task_id = await _task(agri, "2030-EARLY")
    rid = str(report_id_for(task_id, TIANTANG))
    url = f"/api/v1/agri/reports/{rid}"
    assert (await _draft(agri, rid, {"values": GOOD})).status_code == 200
    assert (await _submit(agri, rid, 1)).status_code == 200
    rep = (await agri.client.get(url, headers=agri.h("township"))).json()
    await agri.workflow_event("workflow.case.accepted", case_data(
        rep, level="township", final=False, next_level="region", comment="数据验收"))
    acc = await agri.wait_report(rid, lambda b: b["status"] == "accepted", who="tiantang")
    assert acc["read_only"] and acc["accepted_level"] == "township"
    assert acc["status_zh"] == "已验收（乡镇）" and acc["review_level"] == "region"
    assert acc["approved_level"] == "township"
    r = await _draft(agri, rid, {"values": GOOD}, version=acc["version"])
    assert r.status_code == 409 and r.json()["code"] == "report_read_only"
    mon = (await agri.client.get(f"/api/v1/agri/tasks/{task_id}/monitor",
                                 headers=agri.h("township"))).json()
    assert mon["progress"]["accepted"] == 1 and mon["progress"]["accepted_by"]["township"] == 1
    assert mon["progress"]["waiting"]["region"] == 1
    assert mon["totals"]["approved"]["crop_area"] == 4000.0
    # the county watches and returns meanwhile: open again for the village
    back = await _returned(agri, rid, acc, {"maize_output": "请核实"})
    assert not back["read_only"] and back["accepted_level"] is None
    saved = await _draft(agri, rid, {"values": {**GOOD, "maize_output": 91000}},
                         version=back["version"])
    assert (await _submit(agri, rid, saved.json()["version"])).status_code == 200
    rep = (await agri.client.get(url, headers=agri.h("township"))).json()
    await agri.workflow_event("workflow.case.accepted", case_data(
        rep, level="township", final=False, next_level="region"))
    await agri.wait_report(rid, lambda b: b["status"] == "accepted")
    await agri.workflow_event("workflow.case.accepted", case_data(rep, level="region"),
                              actor="u-region", role="region_statistician")
    done = await agri.wait_report(rid, lambda b: b["status"] == "confirmed", who="tiantang")
    assert done["read_only"] and done["confirmed_level"] == "region"
    assert done["accepted_level"] == "township" and done["status_zh"] == "自治区已确认"
    accepted = [e.data for e in await _events(agri, rid) if e.type == "agri.report.accepted"]
    assert [(a["level"], a["final"]) for a in accepted] == [
        ("township", False), ("township", False), ("region", True)]
    assert accepted[-1]["accepted_level"] == "township" and accepted[-1]["revision"] == 2
    hist = (await agri.client.get(f"{url}/history", headers=agri.h("county"))).json()["steps"]
    whats = [(s["what_zh"], s["level"]) for s in hist if s["what"].endswith("accepted")]
    assert ("数据验收", "township") in whats and ("最终确认", "region") in whats
    mon = (await agri.client.get(f"/api/v1/agri/tasks/{task_id}/monitor",
                                 headers=agri.h("township"))).json()
    assert mon["progress"]["confirmed"] == 1 and mon["progress"]["confirmed_by"]["region"] == 1
    assert mon["progress"]["accepted_by"]["township"] == 1 and mon["progress"]["accepted"] == 0
    pdf = await agri.client.get(f"{url}/pdf", headers=agri.h("township"))
    assert pdf.status_code == 200
    assert "自治区已确认" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    summary = await agri.client.get(f"/api/v1/agri/tasks/{task_id}/summary.pdf",
                                    headers=agri.h("township"), params={"division": TOWNSHIP})
    text = PdfReader(io.BytesIO(summary.content)).pages[0].extract_text()
    assert "自治区已确认 1 份" in text and "91000" in text
    # its own 口径: what the numbers add up, and the progress counts on the console's basis
    flat = "".join(text.split())  # lines wrap anywhere in the PDF's text
    assert "汇总口径：本表数字为经乡镇审核通过（含以上）的村级报表（尚待乡镇审核的不计入）1份之和" in flat
    assert "应报8=未报7+退回0+审核中0+已验收0+已确认1；已报1=审核中+已验收+已确认" in flat, flat
