"""CSV and XLSX export of a task at a division level: totals, Chinese status words and file
names, numbers to each indicator's decimals, an XLSX title block."""
import csv
import io
from urllib.parse import quote

from agri_support import TIANTANG
from openpyxl import load_workbook

from gx_contracts.ids import report_id_for


async def test_export_csv_and_xlsx(agri):
    task_id = (await agri.publish("450103103000", period="2024")).json()["task_id"]
    rid = str(report_id_for(task_id, TIANTANG))
    url = f"/api/v1/agri/reports/{rid}"
    r = await agri.client.put(f"{url}/draft", headers=agri.h("tiantang"), json={
        "values": {"crop_area": 100, "grain_area": 80, "maize_area": 50.5,
                   "maize_output": 15000},
        "expected_version": 0})
    assert r.status_code == 200, r.text
    r = await agri.client.post(f"{url}/submit", headers=agri.h("tiantang"),
                               json={"expected_version": 1})
    assert r.status_code == 200, r.text
    base = f"/api/v1/agri/tasks/{task_id}/export"
    r = await agri.client.get(base, params={"division": "450103103000"}, headers=agri.h("township"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''" + quote("长塘镇_2024年年报农作物播种面积及产量_已报送.csv") in \
        r.headers["content-disposition"], r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert "报表ID" not in rows[0] and rid not in r.content.decode("utf-8-sig")
    col = rows[0].index("玉米产量（公斤）")
    area = rows[0].index("粮食作物播种面积（亩）")
    status = rows[0].index("状态")
    assert rows[1][0] == TIANTANG and rows[1][1] == "天堂村委会" and rows[1][col] == "15000"
    assert rows[1][status] == "已报送，审核中" and rows[1][area] == "80.0"  # 1 decimal for 亩
    assert rows[-1][1] == "合计" and rows[-1][col] == "15000" and rows[-1][area] == "80.0"
    assert rows[-1][status] == "1 份（口径：已报送）"  # every total says its basis
    assert not any(v.endswith(".0") for v in rows[1][col:col + 1] + rows[-1][col:col + 1])

    r = await agri.client.get(base, params={"format": "xlsx", "division": "450103000000"},
                              headers=agri.h("county"))
    assert r.status_code == 200
    assert quote("青秀区_2024年年报农作物播种面积及产量_已报送.xlsx") in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.title == "青秀区2024年年报汇总"
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "2024年年报农作物播种面积及产量"  # the title block
    assert "表号：A301表" in values[1][0] and "报告期：2024年年报" in values[2][0]
    assert values[3][0] == ("口径：已报送，即已报（审核中 + 已验收 + 已确认）的村级报表"
                            "（退回和草稿不计入）；合计为下列各村之和")
    head = next(i for i, row in enumerate(values) if row[0] == "区划代码")
    col = list(values[head]).index("玉米产量（公斤）")
    area = list(values[head]).index("粮食作物播种面积（亩）")
    first = values[head + 1]
    assert first[0] == TIANTANG and first[col] == 15000 and values[-1][col] == 15000
    assert first[3] == "已报送，审核中" and first[area] == 80
    cells = list(ws.iter_rows(min_row=head + 2, max_row=head + 2))[0]
    assert cells[col].number_format == "0" and cells[area].number_format == "0.0"
    assert ws.column_dimensions["B"].width >= 15 and ws.freeze_panes == f"C{head + 2}"
    r = await agri.client.get(base, params={"format": "pdf"}, headers=agri.h("county"))
    assert r.status_code == 422
