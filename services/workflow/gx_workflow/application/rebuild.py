"""Rebuild the projections from the event store: the kernel's rebuild of `projections_for`.

    python -m gx_workflow.application.rebuild --database-url URL [--schema workflow]

(The kernel's `python -m gx_kernel.projections` takes a module-level registry; the workflow's
projectors are bound to their schema, so this entry point builds the registry for --schema.)
"""
from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence

import asyncpg

from gx_kernel.eventstore import EventStore
from gx_kernel.projections import Progress, RebuildResult, rebuild

from gx_workflow.application.projection import projections_for


async def rebuild_projections(pool: asyncpg.Pool, schema: str, batch_size: int = 5000,
                              progress: Progress | None = None) -> int:
    """Replace `cases` and `case_steps` with a replay of all case events; returns cases rebuilt.

    One transaction (the kernel's default): readers see the old projections until the new
    ones commit.
    """
    await replay(pool, schema, batch_size, progress)
    async with pool.acquire() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {schema}.cases")


async def replay(pool: asyncpg.Pool, schema: str, batch_size: int = 5000,
                 progress: Progress | None = None) -> RebuildResult:
    return await rebuild(EventStore(pool, schema), projections_for(schema),
                         batch_size=batch_size, progress=progress)


async def _main(args: argparse.Namespace) -> tuple[RebuildResult, int]:
    from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    pool = await asyncpg.create_pool(args.database_url, min_size=2, max_size=3)
    try:
        with Bar("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                 TimeRemainingColumn()) as bar:
            task = bar.add_task(f"rebuild {args.schema}", total=None)
            result = await replay(pool, args.schema, args.batch_size,
                                  lambda done, total: bar.update(task, completed=done,
                                                                 total=total))
        async with pool.acquire() as conn:
            return result, await conn.fetchval(f"SELECT count(*) FROM {args.schema}.cases")
    finally:
        await pool.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gx_workflow.application.rebuild",
                                     description="Rebuild the workflow read models.")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--schema", default=os.environ.get("GX_DB_SCHEMA", "workflow"))
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    result, cases = asyncio.run(_main(args))
    print(f"{result.events} events replayed into {cases} cases in {result.seconds:.1f} s "
          f"({result.per_second:,.0f} events/s)")


if __name__ == "__main__":
    main()
