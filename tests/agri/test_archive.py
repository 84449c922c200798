"""归档 PDF: a village report in two copies and a township summary; text read back with pypdf."""
import io

from pypdf import PdfReader

from agri_support import DINGXI, TIANTANG, TOWNSHIP, case_data
from gx_contracts.ids import report_id_for

TIANTANG_VALUES = {"crop_area": 3100, "grain_area": 2600, "early_rice_area": 1200,
                   "early_rice_output": 900000, "maize_area": 300, "maize_output": 90000}
DINGXI_VALUES = {"crop_area": 800, "grain_area": 500, "early_rice_area": 400,
                 "early_rice_output": 160000}


def _pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


async def _fill(agri, rid: str, who: str, values: dict, explanations: dict | None = None) -> dict:
    url = f"/api/v1/agri/reports/{rid}"
    r = await agri.client.put(f"{url}/draft", headers=agri.h(who), json={
        "values": values, "explanations": explanations or {}, "expected_version": 0})
    assert r.status_code == 200, r.text
    return r.json()


async def _submit(agri, rid: str, who: str, version: int) -> None:
    r = await agri.client.post(f"/api/v1/agri/reports/{rid}/submit", headers=agri.h(who),
                               json={"expected_version": version})
    assert r.status_code == 200, r.text


async def test_village_report_pdf_two_copies(agri):
    task_id = (await agri.publish(TOWNSHIP, period="2026-EARLY")).json()["task_id"]
    rid = str(report_id_for(task_id, TIANTANG))
    url = f"/api/v1/agri/reports/{rid}/pdf"
    saved = await _fill(agri, rid, "tiantang", TIANTANG_VALUES,
                        {"early_rice_output": "今年推广超级稻，单产提高"})
    r = await agri.client.get(url, headers=agri.h("tiantang"))
    assert r.status_code == 409 and r.json()["code"] == "report_not_submitted"  # a draft
    await _submit(agri, rid, "tiantang", saved["version"])

    r = await agri.client.get(url, headers=agri.h("tiantang"))  # the coordinator prints it
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    pages = _pages(r.content)
    text = "\n".join(pages)
    assert "村存档" in pages[0] and "乡镇存档" in pages[-1] and len(pages) >= 2
    for page_copy in (pages[0], pages[-1]):
        assert "2026年早稻农作物播种面积及产量" in page_copy
    for label in ("表号：A301表", "报告期：2026年早稻", "填报单位：天堂村委会（450103103201）",
                  "指标代码", "指标名称", "计量单位", "本期数值",
                  "单位负责人", "审核人", "填报人", "盖章", "报出日期", "第1次报送"):
        assert label in text, label
    for name, value in (("早稻播种面积", "1200.0"), ("早稻产量", "900000"), ("玉米产量", "90000"),
                        ("粮食作物播种面积", "2600.0"), ("农作物总播种面积", "3100.0")):
        assert name in text and value in text, (name, value)
    assert "公斤" in text and "亩" in text
    assert "今年推广超级稻，单产提高" in text  # the explained warning travels with the paper
    assert text.count("早稻产量") >= 2  # both copies carry the table

    # reviewers above may print it; other villages and outsiders may not see it
    assert (await agri.client.get(url, headers=agri.h("township"))).status_code == 200
    assert (await agri.client.get(url, headers=agri.h("county"))).status_code == 200
    assert (await agri.client.get(url, headers=agri.h("dingxi"))).status_code == 404
    assert (await agri.client.get(url, headers=agri.h("other_county"))).status_code == 404
    assert (await agri.client.get(url)).status_code == 401


async def test_township_summary_pdf_over_approved_reports(agri):
    task_id = (await agri.publish(TOWNSHIP, period="2025-EARLY")).json()["task_id"]
    tt, dx = str(report_id_for(task_id, TIANTANG)), str(report_id_for(task_id, DINGXI))
    await _submit(agri, tt, "tiantang", (await _fill(agri, tt, "tiantang", {
        **TIANTANG_VALUES, "early_rice_output": 468000}))["version"])
    await _submit(agri, dx, "dingxi", (await _fill(agri, dx, "dingxi", DINGXI_VALUES))["version"])
    # the township approves 天堂 only: the summary (approved basis) holds 天堂's values alone
    rep = (await agri.client.get(f"/api/v1/agri/reports/{tt}", headers=agri.h("township"))).json()
    await agri.workflow_event("workflow.case.approved",
                              case_data(rep, from_level="township", to_level="county"))
    await agri.wait_report(tt, lambda b: b["approved_level"] == "township")

    url = f"/api/v1/agri/tasks/{task_id}/summary.pdf"
    r = await agri.client.get(url, params={"division": TOWNSHIP}, headers=agri.h("township"))
    assert r.status_code == 200, r.text
    pages = _pages(r.content)
    text = "\n".join(pages)
    assert "乡镇存档" in pages[0] and "县级存档" in pages[-1]
    assert "2025年早稻农作物播种面积及产量（乡镇汇总）" in text
    assert "填报单位：长塘镇（450103103000）" in text
    assert "经乡镇审核通过（含以上）的村级报表 1 份" in text
    assert "468000" in text and "1200.0" in text and "2600.0" in text
    assert "160000" not in text  # 定西 is not approved yet
    for label in ("单位负责人", "审核人", "填报人", "盖章", "报出日期"):
        assert label in text
    # one row per indicator
    assert pages[0].count("早稻产量") == 1 and "园林水果产量" in pages[0]

    r = await agri.client.get(url, params={"division": TOWNSHIP}, headers=agri.h("county"))
    assert r.status_code == 200
    r = await agri.client.get(url, params={"division": "450103000000"}, headers=agri.h("county"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "division"
    r = await agri.client.get(url, params={"division": TOWNSHIP}, headers=agri.h("dingxi"))
    assert r.status_code == 403
    r = await agri.client.get(url, headers=agri.h("township"))
    assert r.status_code == 422


async def test_history_shows_usernames(agri):
    task_id = (await agri.publish(TOWNSHIP, period="2024-EARLY")).json()["task_id"]
    rid = str(report_id_for(task_id, TIANTANG))
    await _submit(agri, rid, "tiantang", (await _fill(agri, rid, "tiantang", {
        **TIANTANG_VALUES, "early_rice_output": 468000}))["version"])
    steps = (await agri.client.get(f"/api/v1/agri/reports/{rid}/history",
                                   headers=agri.h("township"))).json()["steps"]
    assert [s["who_name"] for s in steps] == ["tiantang_cun", "tiantang_cun"]
    assert steps[-1]["who"] == "u-tt"
    events = await agri.rt.store.read_stream(f"report-{rid}")
    assert events[-1].metadata["actor_name"] == "tiantang_cun"
