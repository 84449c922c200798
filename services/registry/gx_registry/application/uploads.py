"""Department files over HTTP: start, send in parts (each below the gateway's body limit),
finish; the import then runs in the service (progress in `import_batches`).

Parts live in PostgreSQL (`import_parts`) until the import is done, so any replica can finish
an upload and a restarted service resumes an import that was running.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
import uuid
from pathlib import Path
from typing import Any

from gx_contracts.commands.registry import MAX_PART_BYTES, StartImport
from gx_kernel.errors import AppError, Conflict, NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import IdempotencyKey, UnitOfWork

from gx_registry.application import importer
from gx_registry.application.access import jurisdiction, may_import, metadata, require_role
from gx_registry.application.state import state
from gx_registry.domain import records

log = logging.getLogger(__name__)
MIN_PART_BYTES = 1024
IMPORTERS = {"region_statistician", "city_statistician", "county_statistician"}


def _mapping(department: str, version: int | None) -> records.Mapping_:
    m = records.mapping_for(department, version)
    if m is None:
        known = "、".join(records.departments())
        raise AppError(422, "unknown_department",
                       f"没有“{department}”{'' if version is None else f'第{version}版'}的列对照；可选部门：{known}",
                       field="department" if version is None else "mapping_version")
    return m


async def create(rt: ServiceRuntime, p: Principal, cmd: StartImport, key: str | None
                 ) -> tuple[int, dict[str, Any]]:
    require_role(p, IMPORTERS, "导入部门资料")
    may_import(p, cmd.department)
    mapping = _mapping(cmd.department, cmd.mapping_version)
    if not cmd.file_name.lower().endswith((".csv", ".xlsx")):
        raise AppError(422, "file_type", "只接受 CSV（UTF-8 或 GB18030）或 XLSX 文件", field="file_name")
    s = rt.settings.schema
    async with UnitOfWork(rt.store, idempotency=IdempotencyKey(
            p.user_id, key, {"op": "import", **cmd.model_dump(mode="json")})) as uow:
        if uow.replayed:
            return uow.replayed
        batch_id = uuid.uuid4()
        await uow.conn.execute(
            f"INSERT INTO {s}.import_batches (batch_id, department, mapping_version, file_name, "
            f"file_bytes, scope_division, imported_by, status) VALUES ($1,$2,$3,$4,$5,$6,$7,"
            f"'uploading')", batch_id, cmd.department, mapping.version, cmd.file_name,
            cmd.file_bytes, p.scope, p.user_id)
        parts = -(-cmd.file_bytes // MAX_PART_BYTES)
        return uow.respond(201, {"batch_id": str(batch_id), "status": "uploading",
                                 "part_bytes": MAX_PART_BYTES, "parts": parts,
                                 "mapping_version": mapping.version})


async def _own_batch(conn, s: str, p: Principal, batch_id: uuid.UUID, lock: bool = False):
    row = await conn.fetchrow(f"SELECT * FROM {s}.import_batches WHERE batch_id = $1"
                              f"{' FOR UPDATE' if lock else ''}", batch_id)
    if row is None or not (row["imported_by"] == p.user_id
                           or row["scope_division"].startswith(jurisdiction(p))):
        raise NotFound("导入批次", str(batch_id))
    return row


async def put_part(rt: ServiceRuntime, p: Principal, batch_id: uuid.UUID, part_no: int,
                   data: bytes) -> dict[str, Any]:
    require_role(p, IMPORTERS, "上传部门资料")
    if not data:
        raise AppError(422, "part_empty", "分片为空", field="body")
    if len(data) > MAX_PART_BYTES:
        raise AppError(413, "part_too_large", f"分片过大（每片至多 {MAX_PART_BYTES // 1024} KB）",
                       field="body")
    s = rt.settings.schema
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _own_batch(conn, s, p, batch_id, lock=True)
        if row["status"] != "uploading":
            raise Conflict("该批次已完成上传，不能再上传分片", code="upload_closed")
        if part_no >= -(-row["file_bytes"] // MIN_PART_BYTES):  # parts of ≥ 1 KiB but the last
            raise AppError(422, "part_no", "分片序号超出范围（从0开始；除最后一片外每片至少 1 KB）",
                           field="part_no")
        await conn.execute(f"INSERT INTO {s}.import_parts (batch_id, part_no, data) VALUES "
                           f"($1,$2,$3) ON CONFLICT (batch_id, part_no) DO UPDATE SET data = "
                           f"EXCLUDED.data", batch_id, part_no, data)
        received = await conn.fetchval(f"SELECT coalesce(sum(length(data)), 0) FROM "
                                       f"{s}.import_parts WHERE batch_id = $1", batch_id)
        if received > row["file_bytes"]:
            raise AppError(413, "upload_too_large", f"已上传 {received} 字节，超过声明的文件大小"
                           f" {row['file_bytes']} 字节", field="body")
        await conn.execute(f"UPDATE {s}.import_batches SET received_bytes = $2 WHERE batch_id = $1",
                           batch_id, received)
    return {"batch_id": str(batch_id), "part_no": part_no, "received_bytes": received,
            "file_bytes": row["file_bytes"]}


async def _assemble(conn, s: str, batch_id: uuid.UUID, path: Path) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    with path.open("wb") as out:
        nos = await conn.fetch(f"SELECT part_no FROM {s}.import_parts WHERE batch_id = $1 "
                               f"ORDER BY part_no", batch_id)
        for r in nos:  # one part at a time in memory
            data = await conn.fetchval(f"SELECT data FROM {s}.import_parts WHERE batch_id = $1 "
                                       f"AND part_no = $2", batch_id, r["part_no"])
            h.update(data)
            out.write(data)
            n += len(data)
    return h.hexdigest(), n


async def finish(rt: ServiceRuntime, p: Principal, batch_id: uuid.UUID) -> tuple[int, dict]:
    """Check the upload is whole; a file imported before is a no-op; else start the import."""
    require_role(p, IMPORTERS, "导入部门资料")
    s = rt.settings.schema
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _own_batch(conn, s, p, batch_id, lock=True)
        tmp = _temp_path(row["file_name"])
        if row["status"] != "uploading":
            return 200, await status_of(conn, s, row)
        sha, n = await _assemble(conn, s, batch_id, tmp)
        if n != row["file_bytes"]:
            tmp.unlink(missing_ok=True)
            raise AppError(422, "upload_incomplete", f"文件未上传完整：已收到 {n} 字节，应为 "
                           f"{row['file_bytes']} 字节", field="parts")
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{s}.import.{sha}")
        earlier = await conn.fetchrow(
            f"SELECT batch_id FROM {s}.import_batches WHERE file_sha256 = $1 AND status IN "
            f"('queued', 'processing', 'done')", sha)
        if earlier is not None:
            tmp.unlink(missing_ok=True)
            await conn.execute(f"UPDATE {s}.import_batches SET status = 'duplicate', "
                               f"file_sha256 = $2, duplicate_of = $3, finished_at = now() "
                               f"WHERE batch_id = $1", batch_id, sha, earlier["batch_id"])
            await conn.execute(f"DELETE FROM {s}.import_parts WHERE batch_id = $1", batch_id)
            return 200, {"batch_id": str(batch_id), "status": "duplicate",
                         "duplicate_of": str(earlier["batch_id"]),
                         "detail": "同一文件（SHA-256 相同）已导入过，本次不重复导入"}
        await conn.execute(f"UPDATE {s}.import_batches SET status = 'queued', file_sha256 = $2 "
                           f"WHERE batch_id = $1", batch_id, sha)
    b = batch_of(dict(row), sha, metadata(p, None))
    await importer.start(rt.store, b)
    launch(rt, b, tmp)
    return 202, {"batch_id": str(batch_id), "status": "processing", "file_sha256": sha}


def _temp_path(file_name: str) -> Path:
    """Where the assembled file waits (its suffix kept: openpyxl goes by it)."""
    return Path(tempfile.mkdtemp(prefix="gx-upload-")) / ("file" + Path(file_name).suffix.lower())


def batch_of(row: dict, sha: str, meta: dict) -> importer.Batch:
    return importer.Batch(row["batch_id"], row["department"],
                          _mapping(row["department"], row["mapping_version"]), row["file_name"],
                          sha, row["file_bytes"], row["scope_division"], row["imported_by"], meta)


def launch(rt: ServiceRuntime, b: importer.Batch, path: Path) -> None:
    """Run the import in the background; the batch row shows its progress."""
    running = state(rt).imports

    async def run() -> None:
        try:
            await importer.run_import(rt.store, b, path)
            async with rt.pool.acquire() as conn:
                await conn.execute(f"DELETE FROM {rt.settings.schema}.import_parts "
                                   f"WHERE batch_id = $1", b.batch_id)
        except Exception as exc:  # the batch says so; the service keeps running
            log.exception("import %s failed", b.batch_id)
            async with rt.pool.acquire() as conn:
                await conn.execute(f"UPDATE {rt.settings.schema}.import_batches SET status = "
                                   f"'failed', failure = $2 WHERE batch_id = $1", b.batch_id,
                                   f"导入中断：{type(exc).__name__}")
        finally:
            path.unlink(missing_ok=True)
            running.pop(b.batch_id, None)

    running[b.batch_id] = asyncio.create_task(run())


async def resume(rt: ServiceRuntime) -> None:
    """At start: imports left running by a stopped service go on where they were."""
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM {s}.import_batches WHERE status IN "
                                f"('queued', 'processing') AND EXISTS (SELECT 1 FROM "
                                f"{s}.import_parts p WHERE p.batch_id = import_batches.batch_id)")
        for row in rows:
            tmp = _temp_path(row["file_name"])
            sha, _ = await _assemble(conn, s, row["batch_id"], tmp)
            launch(rt, batch_of(dict(row), sha, {"actor": row["imported_by"],
                                                 "causation_id": "resume"}), tmp)


async def status_of(conn, s: str, row) -> dict[str, Any]:
    return {"batch_id": str(row["batch_id"]), "department": row["department"],
            "mapping_version": row["mapping_version"], "file_name": row["file_name"],
            "file_bytes": row["file_bytes"], "file_sha256": row["file_sha256"],
            "status": row["status"], "stage": row["stage"],
            "received_bytes": row["received_bytes"], "rows_total": row["rows_total"],
            "rows_done": row["rows_done"], "good_rows": row["good_rows"],
            "bad_rows": row["bad_rows"], "outcomes": _json(row["outcomes"]),
            "failure": row["failure"],
            "duplicate_of": str(row["duplicate_of"]) if row["duplicate_of"] else None,
            "created_at": row["created_at"].isoformat(),
            "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None}


def _json(v: Any) -> Any:
    import json
    return json.loads(v) if isinstance(v, str) else v
