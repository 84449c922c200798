"""The organisation schema from its numbered migrations on the real PostgreSQL: applied once,
a second start changes nothing, the division tree is loaded once (integration)."""
from __future__ import annotations

from gx_organisation.adapters import schema as org_schema
from tests.migration_support import pool, schemas, shape  # noqa: F401 - fixtures


async def test_setup_twice_is_a_no_op_and_loads_the_tree_once(pool, schemas):  # noqa: F811
    s = schemas()
    await org_schema.setup(pool, s)
    async with pool.acquire() as conn:
        first = await shape(conn, s)
        n = await conn.fetchval(f"SELECT count(*) FROM {s}.divisions")
        applied = await conn.fetch(f"SELECT * FROM {s}.schema_migrations")
    await org_schema.setup(pool, s)
    async with pool.acquire() as conn:
        assert await shape(conn, s) == first
        assert await conn.fetchval(f"SELECT count(*) FROM {s}.divisions") == n
        assert len(await conn.fetch(f"SELECT * FROM {s}.schema_migrations")) == len(applied)
        assert await conn.fetchval(
            f"SELECT name FROM {s}.divisions WHERE code = '451003000000'") == "田阳区"
    tables = {t for t, *_ in first[0]}
    assert {"offices", "appointments", "reforms", "reform_counties", "plans", "leading_groups",
            "progress_reports", "subsidy_rates", "trainings", "assessments"} <= tables
