"""The workflow's read models during a rebuild: `case_steps` by COPY, each case row written
once.

The live projection upserts a case's row for every commit (executemany, a NOTIFY per row).
A rebuild folds the cases across its batches anyway (`rebuild_scratch`); here the rows wait
there too and `flush` writes them at the end — by COPY those the rebuild has not written yet
(the table was truncated), by the live upsert those it wrote at an earlier flush — with the
`changed_tx` and NOTIFYs the live upsert gives. The steps of a batch are COPYed as they
come (`step_row`, shared with the live projection). Past `KEEP_CASES` waiting rows they are
written at once.
"""
from __future__ import annotations

import asyncpg

from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import rebuild_scratch

from gx_workflow.adapters import rebuild_sql
from gx_workflow.adapters.schema import progress_channel
from gx_workflow.domain.case import ReviewCase

KEEP_CASES = 100_000


def waiting(schema: str) -> dict[str, tuple[ReviewCase, bool]] | None:
    """Stream -> (its case after this rebuild's events so far, not written yet by any flush);
    None outside a rebuild."""
    return rebuild_scratch(f"gx_workflow.unwritten:{schema}")


async def keep(conn: asyncpg.Connection, schema: str, rows: dict[str, tuple[ReviewCase, bool]],
               folded: dict[str, ReviewCase], by_stream: dict[str, list[StoredEvent]]) -> None:
    """A batch: its steps COPYed, its cases' rows kept for `flush`."""
    from gx_workflow.application.projection import STEP_COLUMNS, step_row

    await rebuild_sql.copy_rows(conn, schema, "case_steps", STEP_COLUMNS,
                                [step_row(e) for mine in by_stream.values() for e in mine])
    for stream, mine in by_stream.items():
        prior = rows.get(stream)
        # a stream first seen at version 1 since the last flush has no row: COPY
        rows[stream] = (folded[stream], prior[1] if prior else mine[0].version == 1)
    if len(rows) > KEEP_CASES:
        await flush(conn, schema, rows)


async def flush(conn: asyncpg.Connection, schema: str,
                rows: dict[str, tuple[ReviewCase, bool]]) -> None:
    """Write the waiting rows (see the module) and forget them."""
    from gx_workflow.application.projection import CASE_COLUMNS, case_row, upsert_cases

    new = [case for case, unwritten in rows.values() if unwritten]
    if new:
        xid = await rebuild_sql.current_xid(conn)
        await rebuild_sql.copy_rows(conn, schema, "cases", (*CASE_COLUMNS, "changed_tx"),
                                    [(*case_row(case), xid) for case in new])
        await rebuild_sql.notify_each(conn, progress_channel(schema),
                                      {case.task_id or "" for case in new})
    old = [case for case, unwritten in rows.values() if not unwritten]
    if old:
        await upsert_cases(conn, schema, old)
    rows.clear()
