"""Command line of the register: import a department file with a progress bar and a summary.

    python -m gx_registry.cli import --department 市场监管 FILE [--scope 450000000000]

Writes to the same schema as the service (DATABASE_URL, GX_DB_SCHEMA); the service's relay
publishes the events. The same file twice is a no-op (SHA-256 of the file).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gx_contracts.divisions import is_valid_code
from gx_kernel.eventstore import EventStore
from gx_kernel.migrations import run_migrations

from gx_registry.adapters import files
from gx_registry.application import importer
from gx_registry.domain import records
from gx_registry.settings import RegistrySettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
STAGES = {"reading": "读取并校验", "matching": "比对合并", "writing": "写入名录库"}
OUTCOMES = {"unchanged": "同一单位，无变化", "changed": "同一单位，有变更", "new": "新增单位",
            "ambiguous": "待县级人工判定"}


async def import_file(department: str, path: Path, scope: str, user: str,
                      database_url: str, schema: str, console: Console) -> int:
    mapping = records.mapping_for(department)
    if mapping is None:
        console.print(f"[red]没有“{department}”的列对照；可选：{'、'.join(records.departments())}")
        return 2
    sha = files.sha256_of(path)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    try:
        await run_migrations(pool, schema, [MIGRATIONS])
        store = EventStore(pool, schema)
        await store.setup()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{schema}.import.{sha}")
            earlier = await conn.fetchval(
                f"SELECT batch_id FROM {schema}.import_batches WHERE file_sha256 = $1 AND status IN "
                f"('queued', 'processing', 'done')", sha)
            if earlier is not None:
                console.print(f"同一文件（SHA-256 {sha[:12]}…）已导入过（批次 {earlier}），本次不重复导入。")
                return 0
            batch_id = uuid.uuid4()
            await conn.execute(
                f"INSERT INTO {schema}.import_batches (batch_id, department, mapping_version, "
                f"file_name, file_bytes, file_sha256, scope_division, imported_by, status) VALUES "
                f"($1,$2,$3,$4,$5,$6,$7,$8,'queued')", batch_id, department, mapping.version,
                path.name, path.stat().st_size, sha, scope, user)
        b = importer.Batch(batch_id, department, mapping, path.name, sha, path.stat().st_size,
                           scope, user, {"actor": user, "actor_name": user, "device": "cli"})
        await importer.start(store, b)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bar:
            tasks = {k: bar.add_task(v, total=None) for k, v in STAGES.items()}

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(tasks[stage], completed=done, total=total or None)
            result = await importer.run_import(store, b, path, progress)
    finally:
        await pool.close()
    _summary(console, result)
    return 0 if result.status == "done" else 1


def _summary(console: Console, r: importer.ImportResult) -> None:
    if r.status != "done":
        console.print(f"[red]导入失败：{r.failure}")
        return
    t = Table(title=f"导入完成（批次 {r.batch_id}，{r.seconds:.1f} 秒）")
    t.add_column("项目")
    t.add_column("行数", justify="right")
    t.add_row("文件数据行", f"{r.rows:,}")
    t.add_row("校验通过", f"{r.good_rows:,}")
    t.add_row("有错误（见错误清单）", f"{r.bad_rows:,}")
    for k, label in OUTCOMES.items():
        t.add_row(label, f"{r.outcomes.get(k, 0):,}")
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gx_registry.cli", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="导入部门资料（CSV：UTF-8 或 GB18030；XLSX）")
    imp.add_argument("--department", required=True, help="、".join(records.departments()))
    imp.add_argument("--scope", default="450000000000", help="导入单位的区划代码（默认自治区）")
    imp.add_argument("--user", default="cli", help="记入事件的操作人")
    imp.add_argument("--database-url")
    imp.add_argument("--schema")
    imp.add_argument("file", type=Path)
    a = ap.parse_args(argv)
    console = Console()
    if not a.file.is_file():
        console.print(f"[red]文件不存在：{a.file}")
        return 2
    if not is_valid_code(a.scope):
        console.print("[red]--scope 应为12位区划代码")
        return 2
    settings = RegistrySettings()
    return asyncio.run(import_file(a.department, a.file, a.scope, a.user,
                                   a.database_url or settings.database_url,
                                   a.schema or settings.schema, console))


if __name__ == "__main__":
    sys.exit(main())
