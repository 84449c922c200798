"""Reads of the register, every one inside the caller's jurisdiction."""
from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from gx_contracts.divisions import prefix_of
from gx_kernel.errors import NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_registry.application.access import READERS, jurisdiction, require_inside, require_role
from gx_registry.application.uploads import _own_batch, status_of
from gx_registry.domain.records import FIELD_ZH
from gx_registry.domain.tasks import KIND_ZH

ERROR_HEADER = ("行号", "字段", "错误代码", "原因", "原值")


def _j(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


async def list_imports(rt: ServiceRuntime, p: Principal, limit: int, offset: int) -> dict:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT * FROM {s}.import_batches WHERE left(scope_division, $1) = $2 "
            f"ORDER BY created_at DESC LIMIT $3 OFFSET $4", len(jurisdiction(p)), jurisdiction(p),
            limit, offset)
        return {"items": [await status_of(conn, s, r) for r in rows]}


async def get_import(rt: ServiceRuntime, p: Principal, batch_id: uuid.UUID) -> dict:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        return await status_of(conn, s, await _own_batch(conn, s, p, batch_id))


async def import_errors(rt: ServiceRuntime, p: Principal, batch_id: uuid.UUID,
                        limit: int = 100_000) -> list[tuple]:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        await _own_batch(conn, s, p, batch_id)
        rows = await conn.fetch(f"SELECT row_no, field, code, reason, value FROM "
                                f"{s}.import_errors WHERE batch_id = $1 ORDER BY row_no, field "
                                f"LIMIT $2", batch_id, limit)
    return [(r["row_no"], FIELD_ZH.get(r["field"], r["field"]), r["code"], r["reason"],
             r["value"] or "") for r in rows]


def errors_csv(rows: list[tuple]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(ERROR_HEADER)
    w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def table_xlsx(title: str, header: tuple[str, ...], rows: list[tuple]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _unit(r) -> dict[str, Any]:
    return {"unit_id": str(r["unit_id"]), "uscc": r["uscc"], "name": r["name"],
            "address": r["address"], "legal_rep": r["legal_rep"], "status": r["status"],
            "division_code": r["division_code"], "placed_level": r["placed_level"],
            "unit_kind": r["unit_kind"], "unit_type": r["unit_type"],
            "classification": _j(r["classification"]), "placement": _j(r["placement"]),
            "flags": _j(r["flags"]), "closed": r["closed"], "version": r["version"],
            "last_source": _j(r["last_source"])}


async def list_units(rt: ServiceRuntime, p: Principal, division: str | None, q: str | None,
                     limit: int, offset: int) -> dict:
    require_role(p, READERS, "查看名录库")
    s, scope = rt.settings.schema, jurisdiction(p)
    prefix = scope
    if division:
        require_inside(p, division, "区划", division)
        prefix = prefix_of(division)
    args: list[Any] = [prefix + "%"]
    where = "division_code LIKE $1"
    if q:
        args.append(f"%{q}%")
        where += f" AND (name LIKE ${len(args)} OR uscc = ${len(args)})"
    n = len(args)
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM {s}.units WHERE {where} ORDER BY division_code, "
                                f"name LIMIT ${n + 1} OFFSET ${n + 2}", *args, limit, offset)
        total = await conn.fetchval(f"SELECT count(*) FROM {s}.units WHERE {where}", *args)
    return {"items": [_unit(r) for r in rows], "total": total}


async def get_unit(rt: ServiceRuntime, p: Principal, unit_id: uuid.UUID) -> dict:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        r = await conn.fetchrow(f"SELECT * FROM {s}.units WHERE unit_id = $1", unit_id)
    if r is None:
        raise NotFound("单位", str(unit_id))
    require_inside(p, r["division_code"], "单位", str(unit_id))
    history = await rt.store.read_stream(f"unit-{unit_id}")
    return {**_unit(r), "history": [
        {"version": e.version, "type": e.type, "at": e.recorded_at.isoformat(),
         "by": e.metadata.get("actor_name"), "source": e.data.get("source"),
         "changes": e.data.get("changes"), "explanation": e.data.get("explanation"),
         **({"status": e.data.get("status"), "reason": e.data.get("reason")}
            if e.type == "registry.unit.closed" else {})}
        for e in history]}


async def list_reviews(rt: ServiceRuntime, p: Principal, status: str, limit: int,
                       offset: int) -> dict:
    require_role(p, READERS - {"grid_worker", "village_coordinator"}, "查看人工判定列表")
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT * FROM {s}.reviews WHERE division_code LIKE $1 AND status = $2 "
            f"ORDER BY batch_id, row_no LIMIT $3 OFFSET $4", jurisdiction(p) + "%", status,
            limit, offset)
        out = []
        for r in rows:
            cands = await conn.fetch(f"SELECT * FROM {s}.units WHERE unit_id = ANY($1)",
                                     r["candidates"])
            out.append({"review_id": str(r["review_id"]), "batch_id": str(r["batch_id"]),
                        "row_no": r["row_no"], "division_code": r["division_code"],
                        "record": _j(r["record"]), "explanation": _j(r["explanation"]),
                        "candidates": [_unit(c) for c in cands], "status": r["status"],
                        "decision": r["decision"], "version": r["version"]})
    return {"items": out}


def _task(r) -> dict[str, Any]:
    return {"task_id": str(r["task_id"]), "kind": r["kind"], "kind_zh": KIND_ZH[r["kind"]],
            "unit_id": str(r["unit_id"]), "name": r["name"], "uscc": r["uscc"],
            "address": r["address"], "placed_code": r["placed_code"],
            "holder_code": r["holder_code"], "holder_level": r["holder_level"],
            "grid_id": str(r["grid_id"]) if r["grid_id"] else None, "status": r["status"],
            "reasons": _j(r["reasons"]), "last_move": _j(r["last_move"]),
            "version": r["version"]}


async def list_tasks(rt: ServiceRuntime, p: Principal, kind: str | None, holder: str | None,
                     grid: uuid.UUID | None, limit: int, offset: int) -> dict:
    """The caller's own list (tasks held at their division), or below it with `holder`."""
    require_role(p, READERS, "查看任务底册")
    s = rt.settings.schema
    code = holder or p.scope
    require_inside(p, code, "区划", code)
    args: list[Any] = [code]
    where = "t.holder_code = $1"
    if holder and holder != p.scope:
        args[0] = prefix_of(holder) + "%"
        where = "t.holder_code LIKE $1"
    where += " AND t.status <> 'closed'"  # a closed unit's tasks leave the lists
    if kind:
        args.append(kind)
        where += f" AND t.kind = ${len(args)}"
    if grid:
        args.append(grid)
        where += f" AND t.grid_id = ${len(args)}"
    if p.role == "grid_worker":  # a grid worker sees the grids handed to them
        args.append(p.username)
        where += (f" AND t.grid_id IN (SELECT grid_id FROM {s}.grids WHERE worker = "
                  f"${len(args)})")
    n = len(args)
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT t.*, u.name, u.uscc, u.address FROM {s}.tasks t JOIN {s}.units u "
            f"USING (unit_id) WHERE {where} ORDER BY t.placed_code, u.name "
            f"LIMIT ${n + 1} OFFSET ${n + 2}", *args, limit, offset)
        total = await conn.fetchval(f"SELECT count(*) FROM {s}.tasks t WHERE {where}", *args)
    return {"items": [_task(r) for r in rows], "total": total}


EXPORT_MAX = 200_000
TASK_HEADER = ("任务种类", "统一社会信用代码", "单位详细名称", "详细地址", "定位区划", "所在任务底册",
               "网格", "状态", "原因")
UNIT_HEADER = ("统一社会信用代码", "单位详细名称", "法定代表人（单位负责人）", "详细地址", "区划代码",
               "单位类别", "单位类型", "运营状态", "已关闭")
KIND_OF_UNIT_ZH = {"legal_person": "法人单位", "activity_unit": "产业活动单位", "individual": "个体经营户"}
TASK_STATUS_ZH = {"open": "待调查", "surveyed": "已调查", "done": "已完成", "closed": "单位已关闭"}


def csv_bytes(header: tuple[str, ...], rows: list[tuple]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


async def export_tasks(rt: ServiceRuntime, p: Principal, kind: str | None, holder: str | None
                       ) -> list[tuple]:
    """The task list (own, or a division below) as rows people read (at most 200,000)."""
    got = await list_tasks(rt, p, kind, holder, None, EXPORT_MAX, 0)
    grids: dict[str, str] = {}
    async with rt.pool.acquire() as conn:
        for g in await conn.fetch(f"SELECT grid_id, grid_code FROM {rt.settings.schema}.grids "
                                  f"WHERE village_code LIKE $1", jurisdiction(p) + "%"):
            grids[str(g["grid_id"])] = g["grid_code"]
    return [(t["kind_zh"], t["uscc"] or "", t["name"], t["address"] or "", t["placed_code"],
             t["holder_code"], grids.get(t["grid_id"] or "", ""), TASK_STATUS_ZH.get(t["status"], t["status"]),
             "；".join(r["text"] for r in t["reasons"])) for t in got["items"]]


async def export_units(rt: ServiceRuntime, p: Principal, division: str | None) -> list[tuple]:
    from gx_registry.domain.unit import STATUS_ZH

    got = await list_units(rt, p, division, None, EXPORT_MAX, 0)
    return [(u["uscc"] or "", u["name"], u["legal_rep"] or "", u["address"] or "",
             u["division_code"], KIND_OF_UNIT_ZH.get(u["unit_kind"], u["unit_kind"]),
             u["unit_type"] or "", STATUS_ZH.get(u["status"] or "", u["status"] or ""),
             "是" if u["closed"] else "否") for u in got["items"]]


async def list_grids(rt: ServiceRuntime, p: Principal) -> dict:
    """The grids of the caller's village (or of the villages below a township/county)."""
    require_role(p, READERS, "查看网格")
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM {rt.settings.schema}.grids WHERE village_code "
                                f"LIKE $1 ORDER BY grid_code LIMIT 5000", jurisdiction(p) + "%")
    return {"items": [{"grid_id": str(r["grid_id"]), "grid_code": r["grid_code"],
                       "village_code": r["village_code"], "name": r["name"],
                       "worker": r["worker"]} for r in rows]}
