"""Crypto-shredding without a database: round trip, bound associated data, erasure, rotation."""
import base64
import datetime as dt

import pytest

from gx_population.domain.forms import age_at
from gx_population.privacy import cipher as c
from gx_population.privacy.deidentify import age_band, deidentify
from gx_population.privacy.keys import (
    InMemoryKeyStore,
    KeyUnavailable,
    MasterKeyError,
    MasterKeys,
    PersonErased,
    rotate,
)

KEY1, KEY2 = MasterKeys.generate_key_text(), MasterKeys.generate_key_text()
PERSON = {"person_id": "p1", "household_id": "h1", "area_code": "450103001001",
          "name": "韦小宝", "id_number": "450103199001011238", "birth_year_month": "1990-01",
          "sex": "1", "relationship": "0", "ethnicity": "02", "education": "6"}


def master(version="1", key=KEY1, old=""):
    env = {"GX_POPULATION_MASTER_KEY": key, "GX_POPULATION_MASTER_KEY_VERSION": version}
    if old:
        env["GX_POPULATION_OLD_MASTER_KEYS"] = old
    return MasterKeys.from_env(env)


@pytest.fixture
def pc():
    return c.PersonCipher(InMemoryKeyStore(), master())


async def test_round_trip_seals_only_identifying_fields(pc):
    sealed = await pc.seal("p1", PERSON)
    for f in ("name", "id_number", "birth_year_month"):
        assert c.is_sealed(sealed[f]) and PERSON[f] not in sealed[f]
    assert sealed["sex"] == "1" and sealed["area_code"] == PERSON["area_code"]
    assert await pc.open("p1", sealed) == PERSON
    # a second seal of the same value differs (fresh nonce), the same key is reused
    again = await pc.seal("p1", PERSON)
    assert again["name"] != sealed["name"]
    assert await pc.open("p1", again) == PERSON


async def test_wrong_associated_data_fails(pc):
    sealed = await pc.seal("p1", PERSON)
    key = await pc.data_key("p1")
    with pytest.raises(c.DecryptionFailed) as e:  # moved to another field
        c.unseal(key, "p1", "id_number", sealed["name"])
    assert e.value.code == "person_field_undecryptable" and "韦" not in e.value.message
    with pytest.raises(c.DecryptionFailed):  # moved to another person with the same key
        c.unseal(key, "p2", "name", sealed["name"])
    await pc.data_key("p2")
    with pytest.raises(c.DecryptionFailed):  # another person's record
        await pc.open("p2", {"name": sealed["name"]})
    blob = bytearray(base64.b64decode(sealed["name"][5:]))
    blob[-1] ^= 1
    with pytest.raises(c.DecryptionFailed):  # altered
        c.unseal(key, "p1", "name", "gxp1:" + base64.b64encode(bytes(blob)).decode())


async def test_erasure_makes_ciphertext_unreadable(pc):
    sealed = await pc.seal("p1", PERSON)
    other = await pc.seal("p2", {**PERSON, "person_id": "p2"})
    assert await pc.erase("p1") is True
    assert await pc.erase("p1") is False
    with pytest.raises(PersonErased) as e:
        await pc.open("p1", sealed)
    assert e.value.status == 410 and e.value.code == "person_erased"
    with pytest.raises(PersonErased):
        await pc.open_many({"p1": sealed, "p2": other})
    with pytest.raises(PersonErased):  # no fresh key for an erased person
        await pc.seal("p1", PERSON)
    assert (await pc.open_many({"p2": other}))["p2"]["name"] == "韦小宝"


async def test_wrapped_key_is_bound_to_its_person():
    store, m = InMemoryKeyStore(), master()
    pc = c.PersonCipher(store, m)
    await pc.data_key("p1")
    row = await store.get("p1")
    with pytest.raises(KeyUnavailable):
        m.unwrap(type(row)("p2", row.wrapped_key, row.key_version))


async def test_master_key_rotation():
    store = InMemoryKeyStore()
    old = c.PersonCipher(store, master("1", KEY1))
    sealed = await old.seal("p1", PERSON)
    new_master = master("2", KEY2, old=f"1:{KEY1}")
    assert await c.PersonCipher(store, new_master).open("p1", sealed) == PERSON
    assert await rotate(store, new_master, ["p1"]) == 1
    assert (await store.get("p1")).key_version == "2"
    # the old master key is no longer needed
    assert await c.PersonCipher(store, master("2", KEY2)).open("p1", sealed) == PERSON
    with pytest.raises(KeyUnavailable):
        await c.PersonCipher(store, master("1", KEY1)).open("p1", sealed)


@pytest.mark.parametrize("env, what", [
    ({}, "not set"),
    ({"GX_POPULATION_MASTER_KEY": "not base64!"}, "base64"),
    ({"GX_POPULATION_MASTER_KEY": base64.b64encode(b"short").decode()}, "32 bytes"),
    ({"GX_POPULATION_MASTER_KEY": KEY1, "GX_POPULATION_OLD_MASTER_KEYS": "nocolon"}, "version"),
])
def test_master_key_settings_refused(env, what):
    with pytest.raises(MasterKeyError) as e:
        MasterKeys.from_env(env)
    assert what in str(e.value)


def test_deidentified_view():
    view = deidentify(PERSON, dt.date(2026, 11, 1))
    assert "name" not in view and "id_number" not in view and "birth_year_month" not in view
    assert view["area_code"] == "450103001001" and view["age_band"] == "35-39岁"
    assert not any("韦小宝" in str(v) or "4501031990" in str(v) for v in view.values())
    assert deidentify({**PERSON, "nickname": "x"}, dt.date(2026, 11, 1)).get("nickname") is None


@pytest.mark.parametrize("born, age", [("1990-11", 36), ("1990-12", 35), ("2026-10", 0)])
def test_age_at_reference_time(born, age):
    assert age_at(born, dt.date(2026, 11, 1)) == age


def test_age_bands():
    assert [age_band(a) for a in (0, 4, 5, 84, 85, 101)] == [
        "0-4岁", "0-4岁", "5-9岁", "80-84岁", "85岁及以上", "85岁及以上"]
