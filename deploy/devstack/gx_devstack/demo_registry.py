"""Demo data of the basic-unit register (附件2): a small stock for 青秀区, imported through the
gateway like a department file, its task list pushed down to 天堂村 for the demo coordinator.

Deterministic (same file every run): a second `make run` finds the file imported (its hash)
and leaves the register as it is.
"""
from __future__ import annotations

import csv
import io
import random
from typing import Any

from gx_contracts.divisions import Level, load_divisions

COUNTY = "450103000000"  # 青秀区
TOWNSHIP = "450103103000"  # 长塘镇
UNITS = 1200
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BRANDS = "宏达鑫源恒通华盛永安金瑞泰丰隆昌兴福祥嘉和利德信诚明辉耀光远志博文创新桂邕荔凤龙"
TRADES = ("科技", "贸易", "商贸", "建筑工程", "物流", "餐饮管理", "农业开发", "信息技术", "文化传媒",
          "装饰工程", "劳务", "物业服务", "水产养殖", "糖业", "茶业")
PEOPLE = "王李张刘陈黄韦覃蒙莫陆黎农蓝廖卢梁谢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华红"


def _uscc(at: str, division6: str, serial: int) -> str:
    """GB 32100-2015 with its GB 11714 organisation code (both check characters)."""
    n = (serial * 7_919_111 + 13) % 31 ** 6
    org8 = "MA" + "".join(_ALPHABET[(n // 31 ** i) % 31] for i in range(6))
    c = 11 - sum(_ORG.index(ch) * w for ch, w in zip(org8, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
    org = org8 + ("X" if c == 10 else "0" if c == 11 else str(c))
    body = at + division6 + org
    s = sum(_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(body))
    return body + _ALPHABET[(31 - s % 31) % 31]


def stock_csv() -> bytes:
    """A 市场监管-style file of 青秀区 units (UTF-8 with BOM, the headers 市场监管 uses)."""
    r = random.Random(2026)
    divs = load_divisions()
    towns = [d for d in divs.values() if d.parent_code == COUNTY]
    villages = {t.code: [d for d in divs.values() if d.parent_code == t.code] for t in towns}
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["统一社会信用代码", "企业名称", "住所", "法定代表人", "登记状态"])
    taken: set[str] = set()
    for i in range(UNITS):
        # a third in 长塘镇, so the demo township and 天堂村 have units to work on
        town = next(t for t in towns if t.code == TOWNSHIP) if i % 3 == 0 else r.choice(towns)
        vil = r.choice(villages[town.code] or [town])
        while (name := f"南宁{r.choice(BRANDS)}{r.choice(BRANDS)}{r.choice(TRADES)}有限公司") in taken:
            pass
        taken.add(name)
        place = vil.name.removesuffix("村委会").removesuffix("居委会") if vil is not town else ""
        w.writerow([_uscc("91", "450103", i + 1), name,
                    f"南宁市青秀区{town.name}{place}民族大道{r.randrange(1, 300)}号",
                    r.choice(PEOPLE) + r.choice(GIVEN) + r.choice(GIVEN), "存续"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def load_registry(api: Any) -> dict[str, Any]:
    """Import the stock (a no-op when imported before) and push its task list down."""
    data = stock_csv()
    start = api.call("POST", "/registry/imports", "qu_tongji", key="demo-registry-stock",
                     json={"department": "市场监管", "file_name": "青秀区名录库存量（演示）.csv",
                           "file_bytes": len(data)}).json()
    size, bid = start["part_bytes"], start["batch_id"]
    if start["status"] == "uploading":
        for n, i in enumerate(range(0, len(data), size)):  # raw bytes, not JSON
            r = api.client.put(f"{api.base}/registry/imports/{bid}/parts/{n}",
                               content=data[i:i + size],
                               headers={**api.headers("qu_tongji"),
                                        "Content-Type": "application/octet-stream"})
            if r.status_code not in (200, 409):
                raise ValueError(f"upload part {n}: {r.status_code} {r.text[:200]}")
        api.call("POST", f"/registry/imports/{bid}/finish", "qu_tongji", ok=(200, 202))

    def done():
        b = api.call("GET", f"/registry/imports/{bid}", "qu_tongji").json()
        return b if b["status"] in ("done", "duplicate", "failed") else None
    batch = api.wait("registry demo import", done, 120)
    pushed = {}
    for who, level in (("qu_tongji", Level.county), ("qingxiu_qu", Level.township),
                       ("changtang_zhen", Level.village)):
        r = api.call("POST", "/registry/tasks/push-down", who, json={"to_level": level.value})
        pushed[level.value] = r.json()["pushed"]
    return {"status": batch["status"], "units": batch.get("outcomes", {}).get("new", 0),
            "pushed": pushed}
