"""Stage 1 of an import: every row checked, placed and classified, good rows to a CSV for the
matching stage, bad rows to the error list.

The stage is pure CPU (the address parser and the division matcher most of it), so a large file
is checked in worker processes, a chunk of rows at a time, while this process reads the file
and writes what comes back in row order; a small one is checked here (a pool's start costs more
than it saves). Both run the same `check_chunk`.
"""
from __future__ import annotations

import asyncio
import csv
import io
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import orjson

from gx_registry.domain import records
from gx_registry.domain.classify import classify
from gx_registry.domain.placement import place

log = logging.getLogger(__name__)
READ_CHUNK = 5000
POOL_MIN_BYTES = 8 * 1024 * 1024  # ≈ 40,000 rows: smaller files are checked in this process
WORKERS = max(1, min(4, os.cpu_count() or 1))
BATCH_COLS = ("row_no", "uscc", "name", "county", "address", "legal_rep", "status", "reg_no",
              "phone", "industry_code", "division", "placement", "classification", "flags")


@dataclass
class Checked:
    """One chunk's outcome: the good rows as CSV text, the bad rows' errors."""
    lines: str = ""
    errors: list[tuple[int, str, str, str, str | None]] = field(default_factory=list)
    rows: int = 0  # rows that are not blank
    good: int = 0
    bad: int = 0


def dumps(v: Any) -> str:
    """Compact JSON text (the batch CSV's JSON columns, the import's progress row)."""
    return orjson.dumps(v).decode()


def check_chunk(mapping: records.Mapping_, columns: Any, first_row_no: int,
                chunk: Sequence[Sequence[Any]]) -> Checked:
    """Rows `first_row_no`, `first_row_no + 1`, … checked, placed and classified."""
    out, buf = Checked(), io.StringIO()
    w = csv.writer(buf)
    for j, cells in enumerate(chunk):
        if not any(c not in (None, "") for c in cells):
            continue  # a blank row is not a row
        out.rows += 1
        checked = records.check_row(mapping, columns, first_row_no + j, cells)
        if checked.errors:
            out.bad += 1
            out.errors += [(e.row_no, e.field, e.code, e.reason, e.value) for e in checked.errors]
            continue
        out.good += 1
        r = checked.record
        pl = place(r.get("address"), r.get("division_code"))
        c = classify(r["name"] or "", r.get("uscc"))
        w.writerow((first_row_no + j, r.get("uscc") or "", r["name"], pl.code[:6],
                    r.get("address") or "", r.get("legal_rep") or "", r.get("status") or "",
                    r.get("reg_no") or "", r.get("phone") or "", r.get("industry_code") or "",
                    pl.code, dumps(pl.as_dict()), dumps(c.as_dict()), dumps(checked.flags)))
    out.lines = buf.getvalue()
    return out


def _warm() -> None:
    place("广西壮族自治区南宁市青秀区", None)  # the address parser's tables, once per worker


def _chunks(rows: Iterator[Sequence[Any]], first_row_no: int
            ) -> Iterator[tuple[int, list[Sequence[Any]]]]:
    chunk: list[Sequence[Any]] = []
    start = first_row_no
    for cells in rows:
        chunk.append(cells)
        if len(chunk) == READ_CHUNK:
            yield start, chunk
            start, chunk = start + READ_CHUNK, []
    if chunk:
        yield start, chunk


async def check_rows(mapping: records.Mapping_, columns: Any, rows: Iterator[Sequence[Any]],
                     first_row_no: int, take: Callable[[Checked], Awaitable[None]], *,
                     pooled: bool) -> None:
    """Every row of `rows` checked; `take` gets each chunk's outcome in row order."""
    if not pooled:
        for start, chunk in _chunks(rows, first_row_no):
            await take(check_chunk(mapping, columns, start, chunk))
            await asyncio.sleep(0)  # the event loop breathes between chunks
        return
    loop = asyncio.get_running_loop()
    ctx = multiprocessing.get_context("spawn")  # never fork a process with threads and a loop
    with ProcessPoolExecutor(WORKERS, mp_context=ctx, initializer=_warm) as pool:
        flight: deque[tuple[asyncio.Future[Checked], int, list[Sequence[Any]]]] = deque()
        broken = False

        def lost(start: int) -> None:  # a worker died (killed, out of memory): go on here
            nonlocal broken
            if not broken:
                log.warning("import read stage: worker processes lost, rows checked in this "
                            "process from row %d", start)
            broken = True

        async def settle() -> None:
            fut, start, chunk = flight.popleft()
            try:
                checked = await fut
            except BrokenProcessPool:
                lost(start)
                checked = check_chunk(mapping, columns, start, chunk)
            await take(checked)

        try:
            for start, chunk in _chunks(rows, first_row_no):
                if not broken:
                    try:
                        flight.append((loop.run_in_executor(
                            pool, check_chunk, mapping, columns, start, chunk), start, chunk))
                    except BrokenProcessPool:  # found broken when handed the chunk
                        lost(start)
                if broken:  # this chunk is not in flight: the ones before first, then it here
                    while flight:
                        await settle()
                    await take(check_chunk(mapping, columns, start, chunk))
                    continue
                if len(flight) >= 2 * WORKERS:  # bounded: a few chunks in memory at a time
                    await settle()
            while flight:
                await settle()
        finally:
            for f, _, _ in flight:
                f.cancel()
