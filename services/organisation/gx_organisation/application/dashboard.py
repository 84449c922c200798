"""改革工作总览 (dashboard): per child division of the one viewed — in the reform or not, phase,
staffing by mode against establishment, training completion, progress reports, assessment —
with CSV/XLSX export and a printable summary."""
from __future__ import annotations

import csv
import html
import io
from typing import Any

from gx_contracts.divisions import Level, level_of, prefix_of
from gx_kernel.errors import AppError
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_organisation.adapters import dashboard_sql as sql
from gx_organisation.application.access import division_in_view
from gx_organisation.application.progress import today_cst
from gx_organisation.domain import reform as domain
from gx_organisation.domain.progress_report import STATUS_ZH

COLUMNS = [("code", "区划代码"), ("name", "区划名称"), ("in_reform", "纳入改革"),
           ("plans", "已备案方案"), ("establishment", "管理办公室编制"), ("staff", "在岗人员"),
           ("dispatched", "派驻"), ("full_time", "专职"), ("purchased_service", "购买服务"),
           ("part_time", "兼职"), ("in_establishment", "占编人员"),
           ("township_offices", "乡镇统计工作办公室"), ("townships", "乡镇（街道）数"),
           ("villages_with_coordinator", "有协管员的村"), ("villages", "村（社区）数"),
           ("grid_workers", "网格员"), ("trained", "完成培训人数"), ("training_rate", "培训完成率%"),
           ("reports_due", "应报推进情况报告"), ("reports_submitted", "已报推进情况报告"),
           ("reports_missing", "逾期未报"), ("reports_confirmed", "自治区已验收"),
           ("reports_returned", "退回"), ("reports_late", "逾期报送"),
           ("assessed", "已考核乡镇"), ("avg_score", "平均得分"), ("model", "达示范标准乡镇")]


def _pct(a: int, b: int) -> float | None:
    return round(100 * a / b, 1) if b else None


async def dashboard(rt: ServiceRuntime, p: Principal, division: str | None,
                    year: int | None) -> dict[str, Any]:
    code = division_in_view(p, division)
    lv = level_of(code)
    if lv is Level.village:
        raise AppError(422, "wrong_level", "总览最细到乡镇（街道）", field="division")
    s = rt.settings.schema
    today = today_cst()
    async with rt.pool.acquire() as conn:
        reform = await sql.reform_row(conn, s, year)
        y = year or (reform["year"] if reform else today.year)
        kids = await sql.children(conn, s, code)
        n = _child_prefix(lv)
        f = await sql.figures(conn, s, prefix_of(code), n, y, today)
        reports = await sql.report_statuses(conn, s, prefix_of(code), y)
        name = await conn.fetchval(f"SELECT name FROM {s}.divisions WHERE code = $1", code)
        basis = await conn.fetchval(f"SELECT basis FROM {s}.reform_counties WHERE year = $1 "
                                    f"AND county_code = $2", y, code)
    dues = reform["report_due_dates"] if reform and reform["year"] == y else []
    passed = sum(1 for d in dues if d <= today.isoformat())  # 截止日已到的期数
    rows = [_row(k, f, n, reports, passed) for k in kids]
    choosing = set(reform["choosing_cities"]) if reform and reform["year"] == y else set()
    for r in rows:  # 52号 三(三): these cities are to choose one county or more
        if r["code"] in choosing and r["in_reform"] == "否":
            r["in_reform"] = "待市选取"
    own = code[:n]  # the division's own office and staff (e.g. the county's management office)
    if any(own in part for part in f.values()):
        rows.insert(0, {**_row({"code": code, "name": f"{name}本级", "level": lv.csv_level},
                               f, n, {}, 0), "in_reform": "", "own": True})
    total = _total(rows)
    if lv is Level.county:  # the county itself is in the reform or not
        total["in_reform"] = domain.BASIS_ZH.get(basis, basis) if basis else "否"
    phases = reform["phases"] if reform else []
    return {"division": code, "name": name, "level": lv.value, "year": y,
            "reform": None if reform is None else {
                "title": reform["title"], "document_no": reform["document_no"],
                "phases": phases, "report_due_dates": reform["report_due_dates"],
                "phase_today": domain.phase_label(phases, today)},
            "columns": [{"key": k, "label": v} for k, v in COLUMNS], "rows": rows,
            "total": total, "as_of": today.isoformat()}


def _child_prefix(lv: Level) -> int:
    return {Level.region: 4, Level.city: 6, Level.county: 9, Level.township: 12}[lv]


def _row(kid: dict[str, Any], f: dict[str, dict[str, dict[str, Any]]], n: int,
         reports: dict[str, list[dict[str, Any]]], passed: int) -> dict[str, Any]:
    k = kid["code"][:n]
    g = lambda part, col: int((f[part].get(k) or {}).get(col) or 0)  # noqa: E731
    ref = f["reform"].get(k)
    bases = (ref or {}).get("bases") or ""
    kid_level = Level.from_csv_level(kid["level"])
    if kid_level is Level.county:
        in_reform = domain.BASIS_ZH.get(bases, bases) if ref else "否"
    elif kid_level is Level.city:
        in_reform = f"{g('reform', 'counties')} 个县" if ref else "否"
    else:
        in_reform = ""  # townships: the county's reform
    staff, trained = g("staff", "staff"), g("training", "trained")
    avg = (f["assessment"].get(k) or {}).get("avg_total")
    row = {"code": kid["code"], "name": kid["name"], "in_reform": in_reform,
           "in_reform_counties": g("reform", "counties"), "plans": g("plans", "plans"),
           "establishment": g("offices", "establishment"), "staff": staff,
           **{m: g("staff", m) for m in ("dispatched", "full_time", "purchased_service",
                                         "part_time", "in_establishment",
                                         "villages_with_coordinator", "grid_workers")},
           "township_offices": g("offices", "township_offices"),
           "townships": g("units", "townships"), "villages": g("units", "villages"),
           "trained": trained, "training_rate": _pct(trained, staff),
           "reports_due": passed * g("reform", "counties"),
           "reports_submitted": g("reports", "submitted"),
           "reports_missing": max(passed * g("reform", "counties") - g("reports", "due_submitted"),
                                  0),
           "reports_confirmed": g("reports", "confirmed"),
           "reports_returned": g("reports", "returned"), "reports_late": g("reports", "late"),
           "assessed": g("assessment", "scored"),
           "avg_score": float(avg) if avg is not None else None,
           "model": g("assessment", "model")}
    mine = reports.get(kid["code"])
    if mine is not None:
        row["reports"] = [{"due_date": r["due_date"].isoformat(), "status": r["status"],
                           "status_zh": STATUS_ZH.get(r["status"], r["status"]),
                           "review_level": r["review_level"], "late": r["late"]} for r in mine]
    return row


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in COLUMNS[3:] if k not in ("training_rate", "avg_score")]
    t: dict[str, Any] = {"code": "", "name": "合计", "in_reform":
                         f"{sum(r['in_reform_counties'] for r in rows)} 个县"}
    for k in keys:
        t[k] = sum(int(r[k] or 0) for r in rows)
    t["training_rate"] = _pct(t["trained"], t["staff"])
    scored = [(r["avg_score"], r["assessed"]) for r in rows if r["avg_score"] is not None]
    n = sum(c for _, c in scored)
    t["avg_score"] = round(sum(a * c for a, c in scored) / n, 2) if n else None
    return t


def _cells(r: dict[str, Any]) -> list[Any]:
    return ["" if r.get(k) is None else r.get(k) for k, _ in COLUMNS]


def to_csv(d: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([label for _, label in COLUMNS])
    for r in d["rows"] + [d["total"]]:
        w.writerow(_cells(r))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def to_xlsx(d: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "改革工作总览"
    ws.append([f"{d['name']} {d['year']}年统计管理体制改革工作总览（截至 {d['as_of']}）"])
    ws.append([label for _, label in COLUMNS])
    for r in d["rows"] + [d["total"]]:
        ws.append(_cells(r))
    for i, (_, label) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = max(8, len(label) * 2)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def file_name(d: dict[str, Any]) -> str:
    return f"{d['name']}{d['year']}年改革工作总览"


def printable(d: dict[str, Any]) -> str:
    """A printable page (A4 landscape) in the standard table layout."""
    e = html.escape
    ref = d["reform"]
    head = "".join(f"<th>{e(label)}</th>" for _, label in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in _cells(r)) + "</tr>"
                   for r in d["rows"] + [d["total"]])
    line = (f"{e(ref['document_no'])} {e(ref['title'])}；当前阶段：{e(ref['phase_today'])}"
            if ref else "尚未登记改革范围")
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>{e(file_name(d))}</title><style>@page{{size:A4 landscape;margin:12mm}}"
            f"body{{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;font-size:10pt}}"
            f"table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #000;"
            f"padding:2px 4px;text-align:center}}h1{{font-size:14pt;text-align:center}}</style>"
            f"</head><body><h1>{e(d['name'])}{d['year']}年统计管理体制改革工作总览</h1>"
            f"<p>{line}</p><p>截至 {e(d['as_of'])}</p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table><p>制表单位：{e(d['name'])}统计局　　"
            f"填表人：　　　　审核人：　　　　</p></body></html>")
