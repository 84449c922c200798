"""归档 PDF: a village report in two copies and a township summary; text read back with pypdf."""
import io
import re
from urllib.parse import quote

from agri_support import COUNTY, DINGXI, REGION, TIANTANG, TOWNSHIP, case_data
from pypdf import PdfReader

from gx_contracts.ids import report_id_for

from gx_agri.adapters import cjk_font

TIANTANG_VALUES = {"crop_area": 3100, "grain_area": 2600, "early_rice_area": 1200,
                   "early_rice_output": 900000, "maize_area": 300, "maize_output": 90000}
DINGXI_VALUES = {"crop_area": 800, "grain_area": 500, "early_rice_area": 400,
                 "early_rice_output": 160000}


def _pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def _fonts(content: bytes) -> list[tuple[str, bool]]:
    """(BaseFont, embedded as TrueType FontFile2) of every font the pages use."""
    out = []
    for page in PdfReader(io.BytesIO(content)).pages:
        for f in page["/Resources"]["/Font"].values():
            f = f.get_object()
            desc = f.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in f:
                desc = f["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            out.append((str(f["/BaseFont"]), bool(desc) and "/FontFile2" in desc.get_object()))
    return out


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
    for label in ("A301表", "报告期：2026年早稻", "填报单位：天堂村委会（450103103201）",
                  "制定机关：广西壮族自治区统计局", "批准机关", "批准文号：桂统制〔2025〕31号",
                  "有效期至：2028年12月", "指标名称", "计量单位", "代码", "本期数值",
                  "单位负责人", "审核人", "填报人", "盖章", "报出日期", "第1次报送",
                  "审核记录", "提交", "tiantang_cun（村级统计协管员 · 天堂村委会）"):
        assert label in text, label
    # the standard row numbering, never internal codes or ids
    assert "甲" in pages[0] and "乙" in pages[0] and "丙" in pages[0]
    assert "指标代码" not in text and "crop_area" not in text and "early_rice" not in text
    assert rid not in text and "u-tt" not in text
    assert re.search(r"早稻播种面积\s+亩\s+3\s+1200\.0", pages[0]), pages[0]  # 行次 3
    # the Chinese name travels in filename* (RFC 5987)
    assert quote("天堂村委会_2026年早稻农作物播种面积及产量_已报送，审核中.pdf") in \
        r.headers["content-disposition"]
    if cjk_font.font_name() == cjk_font.EMBEDDED:  # a TrueType CJK font is installed (CI has one)
        fonts = _fonts(r.content)  # (reportlab's page setup also lists Helvetica, unused)
        assert any(emb for _, emb in fonts), fonts
        assert not any("STSong" in name for name, _ in fonts), fonts
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
    flat = "".join(text.split())  # lines wrap anywhere in the PDF's text
    assert "本表数字为经乡镇审核通过（含以上）的村级报表（尚待乡镇审核的不计入）1份之和" in flat
    assert "进度（与网页进度同一口径）：应报" in flat and "已报2=审核中+已验收+已确认" in flat
    assert "468000" in text and "1200.0" in text and "2600.0" in text
    assert "160000" not in text  # 定西 is not approved yet
    for label in ("单位负责人", "审核人", "填报人", "盖章", "报出日期"):
        assert label in text
    # one row per indicator
    assert pages[0].count("早稻产量") == 1 and "园林水果产量" in pages[0]

    # the approval trail on the village's paper: who approved at the township, when
    village = "\n".join(_pages((await agri.client.get(f"/api/v1/agri/reports/{tt}/pdf",
                                                      headers=agri.h("township"))).content))
    assert "审核通过" in village and "（乡镇统计员 · 长塘镇）" in village

    r = await agri.client.get(url, params={"division": TOWNSHIP}, headers=agri.h("county"))
    assert r.status_code == 200
    r = await agri.client.get(url, params={"division": TIANTANG}, headers=agri.h("county"))
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


async def test_summary_pdf_at_county_city_and_region(agri):
    """打印版 at every level above the township: totals over what that level approved."""
    task_id = (await agri.publish(TOWNSHIP, period="2023-EARLY")).json()["task_id"]
    url = f"/api/v1/agri/tasks/{task_id}/summary.pdf"
    for division, who, place, kind, copies in (
            (COUNTY, "county", "青秀区", "县汇总", ("县级存档", "市级存档")),
            ("450100000000", "region", "南宁市", "市汇总", ("市级存档", "自治区存档")),
            (REGION, "region", "广西壮族自治区", "自治区汇总", ("自治区存档",))):
        r = await agri.client.get(url, params={"division": division}, headers=agri.h(who))
        assert r.status_code == 200, (division, r.text)
        pages = _pages(r.content)
        text = "\n".join(pages)
        assert f"2023年早稻农作物播种面积及产量（{kind}）" in text, text
        assert f"填报单位：{place}（{division}）" in text and "0 份" in text
        assert [c for c in copies if c in pages[0]] == [copies[0]] and copies[-1] in pages[-1]
        assert quote(f"{place}_2023年早稻农作物播种面积及产量_{kind}.pdf") in \
            r.headers["content-disposition"]
    r = await agri.client.get(url, params={"division": REGION}, headers=agri.h("county"))
    assert r.status_code == 403
