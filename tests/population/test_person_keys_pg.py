"""The PostgreSQL key store on the real embedded database: keys, erasure, races, rotation."""
import asyncio

import pytest

from gx_population.adapters import schema
from gx_population.privacy.cipher import PersonCipher
from gx_population.privacy.keys import MasterKeys, PersonErased, StoredKey, rotate
from gx_population.privacy.pg_keys import PostgresKeyStore

KEY = MasterKeys.generate_key_text()
M = MasterKeys.from_env({"GX_POPULATION_MASTER_KEY": KEY})
RECORD = {"name": "黄月英", "id_number": "450103199002021246", "sex": "2"}


@pytest.fixture
async def store(pg_pool, pg_schema):
    await schema.setup(pg_pool, pg_schema)  # migration 0001 creates person_keys
    return PostgresKeyStore(pg_pool, f"{pg_schema}.person_keys")


async def test_round_trip_and_erasure_in_postgres(store, pg_pool, pg_schema):
    pc = PersonCipher(store, M)
    sealed = await pc.seal("p-1", RECORD)
    assert await PersonCipher(store, M).open("p-1", sealed) == RECORD  # fresh cipher, from db
    row = await pg_pool.fetchrow(f"SELECT * FROM {pg_schema}.person_keys WHERE person_id='p-1'")
    assert row["key_version"] == "1" and len(row["wrapped_key"]) == 12 + 32 + 16
    assert row["destroyed_at"] is None

    assert await pc.erase("p-1") is True
    row = await pg_pool.fetchrow(f"SELECT * FROM {pg_schema}.person_keys WHERE person_id='p-1'")
    assert row["wrapped_key"] is None and row["destroyed_at"] is not None
    with pytest.raises(PersonErased):
        await pc.open("p-1", sealed)
    with pytest.raises(PersonErased):
        await pc.seal("p-1", RECORD)  # the destroyed row blocks a fresh key
    assert await pc.erase("p-1") is False
    await store.vacuum()


async def test_concurrent_first_use_keeps_one_key(store):
    pcs = [PersonCipher(store, M) for _ in range(6)]
    keys = await asyncio.gather(*(p.data_key("p-2") for p in pcs))
    assert len(set(keys)) == 1
    sealed = await pcs[0].seal("p-2", RECORD)
    assert await pcs[5].open("p-2", sealed) == RECORD


async def test_get_many_and_rotation(store):
    pc = PersonCipher(store, M)
    sealed = {pid: await pc.seal(pid, RECORD) for pid in ("a", "b", "c")}
    await pc.erase("c")
    got = await store.get_many(["a", "b", "c", "missing"])
    assert set(got) == {"a", "b", "c"} and got["c"].destroyed
    new = MasterKeys.from_env({"GX_POPULATION_MASTER_KEY": MasterKeys.generate_key_text(),
                               "GX_POPULATION_MASTER_KEY_VERSION": "2",
                               "GX_POPULATION_OLD_MASTER_KEYS": f"1:{KEY}"})
    assert await rotate(store, new, ["a", "b", "c"]) == 2
    assert (await store.get("a")).key_version == "2"
    opened = await PersonCipher(store, new).open_many({"a": sealed["a"], "b": sealed["b"]})
    assert opened["b"] == RECORD
    # put never overwrites an existing row
    kept = await store.put(StoredKey("a", b"x" * 60, "9"))
    assert kept.key_version == "2"


async def test_many_racing_first_uses(store):
    # enough writers at once that some insert loses to another's uncommitted row
    for n in range(5):
        pcs = [PersonCipher(store, M) for _ in range(8)]
        keys = await asyncio.gather(*(p.data_key(f"race-{n}") for p in pcs))
        assert len(set(keys)) == 1
