"""Registry and population start on their own, own their schema and answer health checks."""
import asyncpg
import httpx
import pytest

from gx_population.main import create_app as population_app
from gx_population.settings import PopulationSettings
from gx_registry.main import create_app as registry_app
from gx_registry.settings import RegistrySettings

from ..harness import serving, unique_prefix


@pytest.mark.parametrize("factory,settings_cls,name", [
    (registry_app, RegistrySettings, "registry"),
    (population_app, PopulationSettings, "population")])
async def test_starts_owns_schema_and_is_ready(infra, factory, settings_cls, name):
    p = unique_prefix()
    settings = settings_cls(GX_DB_SCHEMA=f"{p}_{name}", GX_TOPIC_PREFIX=f"{p}.",
                            DATABASE_URL=infra.database_url,
                            KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap)
    async with serving(factory(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/health")).json()["service"] == name
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": True, "broker": True}
    conn = await asyncpg.connect(infra.database_url)
    try:
        tables = {r["table_name"] for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
            f"{p}_{name}")}
        await conn.execute(f"DROP SCHEMA {p}_{name} CASCADE")
    finally:
        await conn.close()
    assert {"events", "streams", "relay_checkpoints", "idempotency_keys"} <= tables
