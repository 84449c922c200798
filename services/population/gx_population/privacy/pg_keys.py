"""PostgreSQL adapter of the key store: table person_keys (created by migration 0001).

Erasure sets wrapped_key to NULL and stamps destroyed_at in place; the row stays so the
person can never get a fresh key that would make old ciphertext look valid again
(a new key could not decrypt it anyway). Dead tuple versions keep the old wrapped bytes
until VACUUM; they are useless without the master key, and `vacuum()` clears them.
"""
from __future__ import annotations

from collections.abc import Sequence

from gx_population.privacy.keys import StoredKey

_COLS = "person_id, wrapped_key, key_version, destroyed_at"


def _row(r) -> StoredKey:
    return StoredKey(r["person_id"], r["wrapped_key"], r["key_version"], r["destroyed_at"])


class PostgresKeyStore:
    """asyncpg pool (or anything with fetchrow/fetch/execute); `table` may be schema-qualified."""

    def __init__(self, pool, table: str = "person_keys"):
        self._pool, self._t = pool, table

    async def get(self, person_id: str) -> StoredKey | None:
        r = await self._pool.fetchrow(f"SELECT {_COLS} FROM {self._t} WHERE person_id = $1",
                                      person_id)
        return _row(r) if r else None

    async def get_many(self, person_ids: Sequence[str]) -> dict[str, StoredKey]:
        rows = await self._pool.fetch(
            f"SELECT {_COLS} FROM {self._t} WHERE person_id = ANY($1::text[])", list(person_ids))
        return {r["person_id"]: _row(r) for r in rows}

    async def put(self, key: StoredKey) -> StoredKey:
        # ON CONFLICT DO NOTHING + read back: two writers racing keep one key, both use it
        r = await self._pool.fetchrow(
            f"""WITH ins AS (
                    INSERT INTO {self._t} (person_id, wrapped_key, key_version)
                    VALUES ($1, $2, $3) ON CONFLICT (person_id) DO NOTHING
                    RETURNING {_COLS})
                SELECT {_COLS} FROM ins
                UNION ALL SELECT {_COLS} FROM {self._t} WHERE person_id = $1
                LIMIT 1""",
            key.person_id, key.wrapped_key, key.key_version)
        if r is None:
            # a concurrent insert won: this statement's snapshot predates its commit, so it
            # saw neither its own row nor that one; a new statement sees the winner's row
            return await self.get(key.person_id)
        return _row(r)

    async def put_many(self, keys: Sequence[StoredKey]) -> dict[str, StoredKey]:
        """All of a household's keys in one statement: the rows inserted, and the existing
        rows of persons who had a key already (one snapshot sees each exactly once)."""
        if not keys:
            return {}
        ids = [k.person_id for k in keys]
        rows = await self._pool.fetch(
            f"""WITH ins AS (
                    INSERT INTO {self._t} (person_id, wrapped_key, key_version)
                    SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[])
                    ON CONFLICT (person_id) DO NOTHING
                    RETURNING {_COLS})
                SELECT {_COLS} FROM ins
                UNION ALL SELECT {_COLS} FROM {self._t} WHERE person_id = ANY($1::text[])""",
            ids, [k.wrapped_key for k in keys], [k.key_version for k in keys])
        found = {r["person_id"]: _row(r) for r in rows}
        for pid in ids:
            if pid not in found:  # a concurrent insert won (see put): read the winner's row
                winner = await self.get(pid)
                if winner is not None:
                    found[pid] = winner
        return found

    async def replace_wrapped(self, key: StoredKey) -> None:
        await self._pool.execute(
            f"""UPDATE {self._t} SET wrapped_key = $2, key_version = $3
                WHERE person_id = $1 AND destroyed_at IS NULL""",
            key.person_id, key.wrapped_key, key.key_version)

    async def destroy(self, person_id: str) -> bool:
        status = await self._pool.execute(
            f"""UPDATE {self._t} SET wrapped_key = NULL, destroyed_at = now()
                WHERE person_id = $1 AND destroyed_at IS NULL""", person_id)
        return status.endswith(" 1")

    async def vacuum(self) -> None:
        """Drop dead row versions that still hold destroyed wrapped keys (outside a transaction)."""
        await self._pool.execute(f"VACUUM {self._t}")
