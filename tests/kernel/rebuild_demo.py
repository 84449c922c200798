"""A small read model for the rebuild tests (also loaded by the CLI test as module:attr)."""
import os

from gx_kernel.projections import ProjectionRegistry

PROJECTIONS = ProjectionRegistry()


def schema() -> str:
    return os.environ["GX_DB_SCHEMA"]


@PROJECTIONS.reset
async def reset(conn):
    await conn.execute(f"TRUNCATE {schema()}.totals")


@PROJECTIONS.batch("thing.counted", "thing.uncounted")
async def totals(conn, events):
    rows: dict[str, int] = {}
    for e in events:
        sign = 1 if e.type == "thing.counted" else -1
        rows[e.stream_id] = rows.get(e.stream_id, 0) + sign * e.data["n"]
    await conn.executemany(
        f"INSERT INTO {schema()}.totals (stream_id, total) VALUES ($1, $2) "
        f"ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + excluded.total",
        list(rows.items()))
