"""CSV and XLSX export of a task at a division level match the totals."""
import csv
import io

from openpyxl import load_workbook

from agri_support import TIANTANG
from gx_contracts.ids import report_id_for


async def test_export_csv_and_xlsx(agri):
    task_id = (await agri.publish("450103103000", period="2024")).json()["task_id"]
    rid = str(report_id_for(task_id, TIANTANG))
    url = f"/api/v1/agri/reports/{rid}"
    await agri.client.put(f"{url}/draft", headers=agri.h("tiantang"), json={
        "values": {"crop_area": 100, "grain_area": 80, "maize_area": 50, "maize_output": 15000},
        "expected_version": 0})
    assert (await agri.client.post(f"{url}/submit", headers=agri.h("tiantang"),
                                   json={"expected_version": 1})).status_code == 200
    base = f"/api/v1/agri/tasks/{task_id}/export"
    r = await agri.client.get(base, params={"division": "450103103000"}, headers=agri.h("township"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    col = rows[0].index("玉米产量（公斤）")
    assert rows[1][0] == TIANTANG and rows[1][1] == "天堂村委会" and rows[1][col] == "15000"
    assert rows[-1][1] == "合计" and rows[-1][col] == "15000"
    r = await agri.client.get(base, params={"format": "xlsx"}, headers=agri.h("county"))
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.iter_rows(values_only=True))
    col = list(values[0]).index("玉米产量（公斤）")
    assert values[1][0] == TIANTANG and values[1][col] == 15000 and values[-1][col] == 15000
    r = await agri.client.get(base, params={"format": "pdf"}, headers=agri.h("county"))
    assert r.status_code == 422
