"""SQL of the workflow's read-model rebuild: COPY into the tables the rebuild emptied."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg


async def copy_rows(conn: asyncpg.Connection, schema: str, table: str,
                    columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.copy_records_to_table(table, schema_name=schema, columns=list(columns),
                                         records=rows)


async def current_xid(conn: asyncpg.Connection) -> int:
    """The id of this transaction (the `changed_tx` the live upsert writes)."""
    return int(await conn.fetchval("SELECT pg_current_xact_id()::text::bigint"))


async def notify_each(conn: asyncpg.Connection, channel: str, payloads: set[str]) -> None:
    """One NOTIFY per payload (as the live upsert sends per row; delivered at commit)."""
    if payloads:
        await conn.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", channel,
                           sorted(payloads))
