"""Import a department file: read and check rows, place and classify, match against the stock,
write the outcomes as unit events (and ambiguous ones to the county's review list).

Stages, each streamed: (1) rows -> checks (reading.py: in worker processes for a large file);
bad rows to `import_errors`, good rows (placed and classified) to a temporary CSV; (2) the
stock (PostgreSQL COPY) and the good rows go into DuckDB, where the matching engine decides;
(3) decisions are read back in chunks and each chunk is written in one unit of work (events +
projections + progress). The CLI and the HTTP upload both call `run_import`.
"""
from __future__ import annotations

import csv
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson

from gx_contracts.divisions import REGION_CODE
from gx_contracts.events.base import event_fields
from gx_contracts.events.registry import (
    ImportCompleted,
    ImportFailed,
    ImportStarted,
    ReviewOpened,
    Source,
)
from gx_contracts.ids import stream_id
from gx_kernel.eventstore import NewEvent
from gx_kernel.heap import bulk_work
from gx_kernel.ordered import Turn, in_order
from gx_kernel.uow import UnitOfWork

from gx_registry.adapters import bulk, files
from gx_registry.application import reading
from gx_registry.application.projections import projections
from gx_registry.domain import records
from gx_registry.domain.unit import CLOSED_STATUSES, STATUS_ZH, Unit
from gx_registry.matching import duplicates, engine

log = logging.getLogger(__name__)
CHUNK = 5000
ERROR_CHUNK = 5000
_CSV = "auto_detect = false, delim = ',', quote = '\"', escape = '\"'"
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class ImportResult:
    batch_id: uuid.UUID
    rows: int = 0
    good_rows: int = 0
    bad_rows: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    status: str = "done"
    failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": str(self.batch_id), "rows": self.rows, "good_rows": self.good_rows,
                "bad_rows": self.bad_rows, "outcomes": self.outcomes,
                "seconds": round(self.seconds, 2), "status": self.status,
                "failure": self.failure}


@dataclass
class Batch:
    batch_id: uuid.UUID
    department: str
    mapping: records.Mapping_
    file_name: str
    file_sha256: str
    file_bytes: int
    scope_division: str
    imported_by: str
    metadata: dict[str, Any]


def _source(b: Batch, row_no: int) -> Source:
    return Source(kind="department_file", batch_id=b.batch_id, department=b.department,
                  file_name=b.file_name, file_sha256=b.file_sha256, row_no=row_no)


async def start(store: Any, b: Batch) -> None:
    """The batch's first event (status processing)."""
    event = ImportStarted(batch_id=b.batch_id, department=b.department,
                          mapping_version=b.mapping.version, file_name=b.file_name,
                          file_sha256=b.file_sha256, file_bytes=b.file_bytes,
                          scope_division=b.scope_division, imported_by=b.imported_by)
    async with UnitOfWork(store, projections=projections(store.schema)) as uow:
        uow.collect(stream_id("import", b.batch_id), None, [NewEvent(**event_fields(event))],
                    b.metadata)


async def _stage(pool: Any, s: str, batch_id: uuid.UUID, stage: str, **cols: Any) -> None:
    # a resumed import keeps stage 'writing' (its rows_done say where to go on)
    sets = ", ".join(["stage = CASE WHEN stage = 'writing' THEN stage ELSE $2 END"]
                     + [f"{k} = ${i + 3}" for i, k in enumerate(cols)])
    async with pool.acquire() as conn:
        await conn.execute(f"UPDATE {s}.import_batches SET {sets} WHERE batch_id = $1",
                           batch_id, stage, *cols.values())


async def run_import(store: Any, b: Batch, path: Path, progress: Progress | None = None
                     ) -> ImportResult:
    """The whole import of one file already on disk (its ImportStarted event written)."""
    with bulk_work():  # the collector's full passes over the process: 10% of an import
        return await _run_import(store, b, path, progress)


async def _run_import(store: Any, b: Batch, path: Path, progress: Progress | None
                      ) -> ImportResult:
    pool, s = store.pool, store.schema
    started = time.perf_counter()
    result = ImportResult(b.batch_id)
    progress = progress or (lambda *_: None)
    with tempfile.TemporaryDirectory(prefix="gx-import-") as tmp:
        good_csv = Path(tmp) / "batch.csv"
        try:
            await _read(pool, s, b, path, good_csv, result, progress)
        except files.FileProblem as exc:
            return await _fail(store, b, result, exc.code, str(exc))
        await _stage(pool, s, b.batch_id, "matching", rows_total=result.rows,
                     good_rows=result.good_rows, bad_rows=result.bad_rows)
        progress("matching", 0, result.good_rows)
        con = duckdb.connect()
        try:
            con.execute("SET threads = 2; SET memory_limit = '4GB'")
            await _load_stock(pool, s, con, Path(tmp) / "stock.csv")
            con.execute(f"CREATE TABLE batch AS SELECT * FROM read_csv('{good_csv}', "
                        f"header = true, {_CSV}, "
                        f"columns = {{{', '.join(repr(c) + ': VARCHAR' for c in reading.BATCH_COLS)}}})")
            con.execute("ALTER TABLE batch ALTER row_no TYPE INTEGER")
            engine.match(con, "stock", "batch")
            if duplicates.mark(con):  # one unit twice in this batch: reported, not two units
                await _save_errors(pool, s, duplicates.report(con, b.batch_id))
            # a branch's parent legal person, when the register has it (normalised name)
            con.execute("CREATE TABLE parents AS SELECT b.row_no, min(s.unit_id) AS parent_id "
                        "FROM batch b JOIN s ON s.norm = json_extract_string(b.classification, "
                        "'$.parent_name') GROUP BY b.row_no")
            progress("matching", result.good_rows, result.good_rows)
            await _write(store, b, con, result, progress)
        finally:
            con.close()
    result.seconds = time.perf_counter() - started
    done = ImportCompleted(batch_id=b.batch_id, rows=result.rows, good_rows=result.good_rows,
                           bad_rows=result.bad_rows, outcomes=result.outcomes,
                           seconds=round(result.seconds, 2))
    async with UnitOfWork(store, projections=projections(s)) as uow:
        uow.collect(stream_id("import", b.batch_id), None, [NewEvent(**event_fields(done))],
                    b.metadata)
    return result


async def _fail(store: Any, b: Batch, result: ImportResult, code: str, reason: str
                ) -> ImportResult:
    async with UnitOfWork(store, projections=projections(store.schema)) as uow:
        uow.collect(stream_id("import", b.batch_id), None, [NewEvent(**event_fields(
            ImportFailed(batch_id=b.batch_id, code=code, reason=reason)))], b.metadata)
    result.status, result.failure = "failed", reason
    return result


async def _read(pool: Any, s: str, b: Batch, path: Path, good_csv: Path, result: ImportResult,
                progress: Progress) -> None:
    errors: list[tuple] = []
    async with pool.acquire() as conn:  # a resumed import checks its rows again
        await conn.execute(f"DELETE FROM {s}.import_errors WHERE batch_id = $1", b.batch_id)
    it = files.rows(path)
    header = next(it, None)
    if header is None:
        raise files.FileProblem("file.empty", "文件为空")
    columns, missing = records.resolve_headers(b.mapping, [str(h or "") for h in header])
    if missing:
        names = "、".join(f"{records.FIELD_ZH[f]}（可用表头：{'、'.join(b.mapping.columns[f][:3])}）"
                         for f in missing)
        raise files.FileProblem("file.missing_columns", f"缺少必需的列：{names}")
    with good_csv.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerow(reading.BATCH_COLS)

        async def take(c: reading.Checked) -> None:
            nonlocal errors
            out.write(c.lines)
            result.rows, result.good_rows, result.bad_rows = (
                result.rows + c.rows, result.good_rows + c.good, result.bad_rows + c.bad)
            errors += [(b.batch_id, *e) for e in c.errors]
            if len(errors) >= ERROR_CHUNK:
                await _save_errors(pool, s, errors)
                errors = []
            progress("reading", result.rows, 0)

        await reading.check_rows(b.mapping, columns, it, 2, take,
                                 pooled=path.stat().st_size >= reading.POOL_MIN_BYTES)
    if errors:
        await _save_errors(pool, s, errors)
    progress("reading", result.rows, result.rows)


async def _save_errors(pool: Any, s: str, rows: list[tuple]) -> None:
    async with pool.acquire() as conn:
        await conn.copy_records_to_table("import_errors", schema_name=s, records=rows,
                                         columns=["batch_id", "row_no", "field", "code", "reason",
                                                  "value"])


async def _load_stock(pool: Any, s: str, con: duckdb.DuckDBPyConnection, path: Path) -> None:
    async with pool.acquire() as conn:
        await conn.copy_from_query(
            f"SELECT unit_id::text, coalesce(uscc, ''), name, county_code, coalesce(address, ''),"
            f" coalesce(legal_rep, ''), status, closed FROM {s}.units",
            output=str(path), format="csv", header=False)
    # closed units too: a file naming a closed unit must not make it a new one
    con.execute(f"CREATE TABLE stock AS SELECT * FROM read_csv('{path}', header = false, {_CSV}, "
                f"columns = {{'unit_id': 'VARCHAR', 'uscc': 'VARCHAR', "
                f"'name': 'VARCHAR', 'county': 'VARCHAR', 'address': 'VARCHAR', "
                f"'legal_rep': 'VARCHAR', 'status': 'VARCHAR', 'closed': 'BOOLEAN'}})")


async def _write(store: Any, b: Batch, con: duckdb.DuckDBPyConnection, result: ImportResult,
                 progress: Progress) -> None:
    s = store.schema
    closing = ", ".join(f"'{c}'" for c in sorted(CLOSED_STATUSES))
    # the file says 注销/吊销… of a unit the register has open, even with that status: closes it
    cur = con.execute("SELECT d.* REPLACE (CASE WHEN d.outcome = 'unchanged' AND NOT st.closed "
                      f"AND b.status IN ({closing}) THEN 'changed' ELSE d.outcome END AS outcome), "
                      "b.uscc AS b_uscc, b.name AS b_name, b.address AS b_address, "
                      "b.legal_rep AS b_legal_rep, b.status AS b_status, b.reg_no AS b_reg_no, "
                      "b.phone AS b_phone, b.industry_code AS b_industry_code, b.division, "
                      "b.placement, b.classification, b.flags, pa.parent_id "
                      "FROM decisions d JOIN batch b USING (row_no) "
                      "LEFT JOIN parents pa USING (row_no) "
                      "LEFT JOIN stock st ON st.unit_id = d.unit_id ORDER BY row_no")
    cols = [d[0] for d in cur.description]
    async with store.pool.acquire() as conn:  # resumed: the rows written before stay written
        row = await conn.fetchrow(f"SELECT rows_done, outcomes FROM {s}.import_batches "
                                  f"WHERE batch_id = $1 AND stage = 'writing'", b.batch_id)
    done = row["rows_done"] if row else 0
    if done:
        cur.fetchmany(done)
    outcomes = {"unchanged": 0, "changed": 0, "new": 0, "ambiguous": 0}
    if row and done:
        outcomes.update(orjson.loads(row["outcomes"]) if isinstance(row["outcomes"], str)
                        else row["outcomes"])
    outcome_at = cols.index("outcome")

    def chunks():
        while chunk := cur.fetchmany(CHUNK):
            yield chunk

    async def write(chunk: list[tuple], turn: Turn) -> None:
        nonlocal done
        rows = [dict(zip(cols, v, strict=True)) for v in chunk if v[outcome_at] != "unchanged"]
        outcomes["unchanged"] += len(chunk) - len(rows)
        async with UnitOfWork(store, projections=projections(s)) as uow:
            # the chunk's changed units, locked and loaded in one statement
            stock = await bulk.lock_units(uow.conn, s, [uuid.UUID(r["unit_id"]) for r in rows
                                                         if r["outcome"] == "changed"])
            changed: dict[uuid.UUID, Unit] = {}  # a unit two rows change: one stream append
            for r in rows:
                unit = _decide(uow, b, r, stock, outcomes)
                if unit is not None:
                    changed[unit.unit_id] = unit
            for unit in changed.values():
                uow.add(unit, b.metadata)
            done += len(chunk)
            at, counted = done, reading.dumps(outcomes)  # this chunk's prefix, before the next's
            turn.release_next()  # the next chunk is built while this one is written
            await uow.flush()  # every stream of the chunk in one bulk append, then projected
            # committed in order (a crash leaves a prefix written); the batch row locked only
            # then: the chunk before still updates it
            await turn.predecessor()
            await uow.conn.execute(f"UPDATE {s}.import_batches SET stage = 'writing', "
                                   f"rows_done = $2, outcomes = $3::jsonb WHERE batch_id = $1",
                                   b.batch_id, at, counted)
        progress("writing", at, result.good_rows)

    await in_order(chunks(), write)
    result.outcomes = outcomes


def _decide(uow: UnitOfWork, b: Batch, r: dict[str, Any], stock: dict[uuid.UUID, Unit],
            outcomes: dict[str, int]) -> Unit | None:
    """One matched row's outcome as events collected in the chunk's unit of work (a changed
    stock unit is returned instead, for the caller to add once)."""
    from gx_registry.domain.classify import Classification

    rec = {k: (r[f"b_{k}"] or None) for k in ("uscc", "name", "address", "legal_rep", "status",
                                              "reg_no", "phone", "industry_code")}
    outcome, expl = r["outcome"], engine.explain(r)
    outcomes[outcome] = outcomes.get(outcome, 0) + 1  # duplicate: only if any
    src = _source(b, r["row_no"])
    if outcome == "new":
        cl = Classification(**{**orjson.loads(r["classification"]), "parent_id": r["parent_id"]})
        unit = Unit.register(uuid.uuid5(b.batch_id, str(r["row_no"])), rec, r["division"], cl,
                             src, placement=orjson.loads(r["placement"]),
                             flags=orjson.loads(r["flags"]), explanation=expl)
        if rec["status"] in CLOSED_STATUSES:  # known to the department as gone: kept, closed
            unit.close(rec["status"], STATUS_ZH[rec["status"]], src)
        uow.add(unit, b.metadata)
    elif outcome == "changed":
        unit = stock[uuid.UUID(r["unit_id"])]
        fields = {*(r["changed_fields"] or ()), "status"}  # status: a closing one closes
        if unit.change({k: rec[k] for k in fields}, src, expl):
            return unit
    elif outcome == "ambiguous":
        review_id = uuid.uuid5(b.batch_id, f"review:{r['row_no']}")
        cands = [c for c in (r.get("best_unit"), r.get("second_unit"), r.get("unit_id")) if c]
        ev = ReviewOpened(review_id=review_id, batch_id=b.batch_id, row_no=r["row_no"],
                          division_code=r["division"], record={
                              **rec, "placement": orjson.loads(r["placement"]),
                              "classification": orjson.loads(r["classification"])},
                          candidates=list(dict.fromkeys(uuid.UUID(c) for c in cands)),
                          explanation=expl)
        uow.collect(stream_id("review", review_id), 0, [NewEvent(**event_fields(ev))],
                    b.metadata)
    return None


__all__ = ["Batch", "ImportResult", "run_import", "start", "REGION_CODE"]
