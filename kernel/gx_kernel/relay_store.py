"""The relay's own tables in the service schema: checkpoint, alarm, parked events.

Shared by the relay, `/ready` and the operator command (gx_kernel.relay_admin), so every
replica and the operator see the same state.
"""
from __future__ import annotations

import json
import uuid
from typing import Any, NamedTuple

import asyncpg

from gx_kernel.eventstore import _SCHEMA_RE, Checkpoint, StoredEvent

LAG_CAP = 100_000  # /ready and the gauge count at most this far (a count is a scan)


class RelayPosition(NamedTuple):
    checkpoint: Checkpoint
    offsets: dict[int, int]  # per partition, the highest offset the broker acknowledged
    cluster_id: str | None


def _ddl(s: str) -> str:
    return f"""
    CREATE TABLE IF NOT EXISTS {s}.relay_checkpoints (
        name text PRIMARY KEY, tx_id bigint NOT NULL, position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now());
    ALTER TABLE {s}.relay_checkpoints ADD COLUMN IF NOT EXISTS cluster_id text;
    ALTER TABLE {s}.relay_checkpoints
        ADD COLUMN IF NOT EXISTS offsets jsonb NOT NULL DEFAULT '{{}}';
    CREATE TABLE IF NOT EXISTS {s}.relay_stuck (
        name text PRIMARY KEY, event_id uuid NOT NULL, tx_id bigint NOT NULL,
        position bigint NOT NULL, stream_id text NOT NULL, version integer NOT NULL,
        event_type text NOT NULL, error text NOT NULL, attempts integer NOT NULL,
        since timestamptz NOT NULL DEFAULT now(), retry_requested_at timestamptz);
    CREATE TABLE IF NOT EXISTS {s}.relay_parked (
        name text NOT NULL, event_id uuid NOT NULL, tx_id bigint NOT NULL,
        position bigint NOT NULL, stream_id text NOT NULL, version integer NOT NULL,
        reason text NOT NULL, parked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, event_id));
    """


class RelayTables:
    def __init__(self, pool: asyncpg.Pool, schema: str, name: str = "relay"):
        if not _SCHEMA_RE.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        self.pool, self.schema, self.name = pool, schema, name

    async def setup(self) -> None:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                   f"{self.schema}.relay_tables")
                await conn.execute(_ddl(self.schema))

    # -- checkpoint ----------------------------------------------------------------------
    async def load(self) -> RelayPosition:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT tx_id, position, offsets, cluster_id FROM {self.schema}.relay_checkpoints "
                f"WHERE name = $1", self.name)
        if row is None:
            return RelayPosition(Checkpoint.START, {}, None)  # type: ignore[attr-defined]
        offsets = {int(p): int(o) for p, o in json.loads(row["offsets"]).items()}
        return RelayPosition(Checkpoint(row["tx_id"], row["position"]), offsets,
                             row["cluster_id"])

    async def save(self, pos: RelayPosition) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                f"INSERT INTO {self.schema}.relay_checkpoints "
                f"(name, tx_id, position, offsets, cluster_id) VALUES ($1, $2, $3, $4, $5) "
                f"ON CONFLICT (name) DO UPDATE SET tx_id = $2, position = $3, offsets = $4, "
                f"cluster_id = $5, updated_at = now()", self.name, pos.checkpoint.tx_id,
                pos.checkpoint.position, json.dumps(pos.offsets), pos.cluster_id)

    async def lag(self, after: Checkpoint) -> int:
        """Events in the store not yet published (at most LAG_CAP)."""
        async with self.pool.acquire() as conn:
            count: int = await conn.fetchval(
                f"SELECT count(*) FROM (SELECT 1 FROM {self.schema}.events "
                f"WHERE (tx_id, position) > ($1, $2) LIMIT {LAG_CAP}) AS unpublished",
                after.tx_id, after.position)
        return count

    # -- the alarm ------------------------------------------------------------------------
    async def raise_alarm(self, event: StoredEvent, error: str, attempts: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                f"INSERT INTO {self.schema}.relay_stuck (name, event_id, tx_id, position, "
                f"stream_id, version, event_type, error, attempts) "
                f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO UPDATE SET "
                f"error = $8, attempts = $9, since = CASE WHEN relay_stuck.event_id = $2 "
                f"THEN relay_stuck.since ELSE now() END, event_id = $2, tx_id = $3, "
                f"position = $4, stream_id = $5, version = $6, event_type = $7",
                self.name, event.id, event.tx_id, event.position, event.stream_id,
                event.version, event.type, error[:2000], attempts)

    async def clear_alarm(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(f"DELETE FROM {self.schema}.relay_stuck WHERE name = $1",
                               self.name)

    async def stuck(self) -> dict[str, Any] | None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT event_id, tx_id, position, stream_id, version, event_type, error, "
                f"attempts, since, retry_requested_at FROM {self.schema}.relay_stuck "
                f"WHERE name = $1", self.name)
        if row is None:
            return None
        out = dict(row)
        out["event_id"] = str(out["event_id"])
        for key in ("since", "retry_requested_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out

    async def take_retry_request(self) -> bool:
        async with self.pool.acquire() as conn:
            return bool(await conn.fetchval(
                f"UPDATE {self.schema}.relay_stuck SET retry_requested_at = NULL "
                f"WHERE name = $1 AND retry_requested_at IS NOT NULL RETURNING 1", self.name))

    # -- operator actions -----------------------------------------------------------------
    async def request_retry(self, event_id: uuid.UUID) -> bool:
        """Ask the relay to try the stuck event again now; False if it is not the stuck one."""
        async with self.pool.acquire() as conn:
            return bool(await conn.fetchval(
                f"UPDATE {self.schema}.relay_stuck SET retry_requested_at = now() "
                f"WHERE name = $1 AND event_id = $2 RETURNING 1", self.name, event_id))

    async def published(self, event_id: uuid.UUID) -> bool:
        """Whether the event is at or before the checkpoint (the broker acknowledged it)."""
        async with self.pool.acquire() as conn:
            return bool(await conn.fetchval(
                f"SELECT 1 FROM {self.schema}.events e JOIN {self.schema}.relay_checkpoints c "
                f"ON c.name = $1 AND (e.tx_id, e.position) <= (c.tx_id, c.position) "
                f"WHERE e.id = $2", self.name, event_id))

    async def park(self, event_id: uuid.UUID, reason: str) -> bool:
        """Record that the stuck event goes out as a stub; False if it is not the stuck one."""
        async with self.pool.acquire() as conn:
            return bool(await conn.fetchval(
                f"INSERT INTO {self.schema}.relay_parked (name, event_id, tx_id, position, "
                f"stream_id, version, reason) SELECT name, event_id, tx_id, position, "
                f"stream_id, version, $3 FROM {self.schema}.relay_stuck "
                f"WHERE name = $1 AND event_id = $2 ON CONFLICT DO NOTHING RETURNING 1",
                self.name, event_id, reason))

    async def parked(self) -> dict[uuid.UUID, str]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT event_id, reason FROM {self.schema}.relay_parked WHERE name = $1",
                self.name)
        return {r["event_id"]: r["reason"] for r in rows}

    async def parked_list(self) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT event_id, position, stream_id, version, reason, parked_at "
                f"FROM {self.schema}.relay_parked WHERE name = $1 ORDER BY tx_id, position",
                self.name)
        return [{**dict(r), "event_id": str(r["event_id"]),
                 "parked_at": r["parked_at"].isoformat()} for r in rows]

    async def status(self) -> dict[str, Any]:
        pos = await self.load()
        return {"relay": self.name, "checkpoint": {"tx_id": pos.checkpoint.tx_id,
                                                   "position": pos.checkpoint.position},
                "lag": await self.lag(pos.checkpoint), "stuck": await self.stuck(),
                "parked": await self.parked_list(), "cluster_id": pos.cluster_id}
