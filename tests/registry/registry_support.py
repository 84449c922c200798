"""Helpers of the registry's end-to-end tests (department files, upload through the gateway)."""
from __future__ import annotations

import asyncio
import csv
import io

import openpyxl

from gx_registry.domain.codes import make_uscc

TIANTANG, DINGXI = "450103103201", "450103103202"
ADDR = "广西南宁市青秀区长塘镇天堂村民族大道{}号"


def uscc(n: int) -> str:
    return make_uscc("91", "450103", f"MA5K{n:04d}")


HEADER = ["统一社会信用代码", "企业名称", "住所", "法定代表人", "登记状态"]


def gb18030_csv(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADER, *rows])
    return buf.getvalue().encode("gb18030")


def xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()



async def upload(client, h, data: bytes, name: str, department="市场监管", part=None):
    r = await client.post("/api/v1/registry/imports", headers=h, json={
        "department": department, "file_name": name, "file_bytes": len(data)})
    assert r.status_code == 201, r.text
    body = r.json()
    size = part or body["part_bytes"]
    for i in range(0, len(data), size):
        r = await client.put(f"/api/v1/registry/imports/{body['batch_id']}/parts/{i // size}",
                             headers={**h, "Content-Type": "application/octet-stream"},
                             content=data[i:i + size])
        assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/registry/imports/{body['batch_id']}/finish", headers=h)
    assert r.status_code in (200, 202), r.text
    return body["batch_id"], r.json()


async def wait_done(client, h, batch_id):
    for _ in range(600):
        r = await client.get(f"/api/v1/registry/imports/{batch_id}", headers=h)
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("done", "failed"):
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError("import did not finish")


