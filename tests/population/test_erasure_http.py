"""Erasure (依法删除) through the gateway: the region erases a person, then the rest of the
household; the keys are destroyed — theirs and those of every other record naming them (their
roster line, change reports, PES check persons); a full database dump, every topic of the run,
the captured logs and the spans hold no name or ID number in plaintext, and the counts stay
right."""
import json
import logging
import shutil
import subprocess
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from pop_support import (
    AREA1,
    CHILD_ID,
    CHILD_NAME,
    HEAD_ID,
    HEAD_NAME,
    MASTER_KEY,
    TIANTANG,
    YEAR,
    certify,
    post,
    register,
    setup_year,
)

from gx_contracts.roles import DEMO_PASSWORD

from gx_population.privacy.cipher import PersonCipher
from gx_population.privacy.keys import MasterKeys, PersonErased
from gx_population.privacy.pg_keys import PostgresKeyStore
from tests.harness import wait_for

pytestmark = pytest.mark.integration
P = "/api/v1/population"
SECRETS = (HEAD_NAME, CHILD_NAME, HEAD_ID, CHILD_ID)


def _pg_dump() -> str | None:
    try:
        from gx_devstack.infra import _pg_bin
        candidate = Path(_pg_bin()) / "pg_dump"
        if candidate.exists():
            return str(candidate)
    except Exception:  # noqa: BLE001 - fall back to the system's
        pass
    return shutil.which("pg_dump")


async def dump_database(url: str) -> str:
    """The whole database as text: pg_dump if there is one, else every text-like column."""
    exe = _pg_dump()
    if exe:
        out = subprocess.run([exe, "--no-owner", "--data-only", "-d", url], capture_output=True,
                             timeout=120, check=True)
        return out.stdout.decode("utf-8", "replace")
    conn = await asyncpg.connect(url)
    try:
        parts = []
        for t in await conn.fetch("SELECT table_schema, table_name FROM information_schema.tables"
                                  " WHERE table_schema NOT IN ('pg_catalog','information_schema')"):
            parts.append(str(await conn.fetch(
                f'SELECT * FROM "{t["table_schema"]}"."{t["table_name"]}"')))
        return "\n".join(parts)
    finally:
        await conn.close()


async def read_all_topics(bootstrap: str, prefix: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.startswith(prefix))
        consumer.subscribe(topics)
        blobs: list[bytes] = []
        idle = 0
        while idle < 10:
            batch = await consumer.getmany(timeout_ms=300)
            got = [r for recs in batch.values() for r in recs]
            idle = 0 if got else idle + 1
            for r in got:
                blobs.append((r.key or b"") + b"\n" + (r.value or b"") + b"\n"
                             + b"".join(k.encode() + b"=" + (v or b"") for k, v in r.headers))
        return blobs
    finally:
        await consumer.stop()


OTHER_HEAD = "韦无关者"


async def _records_naming_them(c, pop, region, coord, grid, area_id) -> dict:
    """Their roster line, change reports and PES check persons (and unrelated ones beside);
    the record ids: all, and those that name the household's persons."""
    areas = (await c.get(f"{P}/areas", headers=coord)).json()["items"]
    version = next(a for a in areas if a["area_id"] == area_id)["version"]
    r = await c.put(f"{P}/areas/{area_id}/roster", headers={**coord, "Idempotency-Key": "er-ro"},
                    json={"expected_version": version, "entries": [
                        {"building_no": "001", "dwelling_no": "101", "head_name": HEAD_NAME,
                         "household_size": 2, "household_type": "1"},
                        {"building_no": "001", "dwelling_no": "102", "head_name": OTHER_HEAD,
                         "household_size": 3, "household_type": "1"}]})
    assert r.status_code == 200, r.text
    head_line, other_line = r.json()["entry_ids"]
    changes = []
    for kind, date, who in (("birth", "2026-03-05", {"name": CHILD_NAME, "sex": "2",
                                                     "id_number": CHILD_ID}),
                            ("move_in", "2026-03-09", {"name": HEAD_NAME, "sex": "1"}),
                            ("death", "2026-03-11", {"name": "黄无关", "sex": "1"})):
        r = await post(c, f"{P}/ledger/changes", grid, {"kind": kind, "date": date,
                                                        "person": who})
        assert r.status_code == 201, r.text
        changes.append(r.json()["change_id"])
    r = await post(c, f"{P}/pes/samples", region, {"survey_year": YEAR, "size": 2, "seed": "er"})
    assert r.status_code == 201, r.text
    sid = r.json()["sample_id"]
    name = f"pes_{uuid.uuid4().hex[:6]}"
    r = await post(c, "/api/v1/admin/users", region, {
        "username": name, "name_zh": "复查员", "role": "grid_worker", "division": TIANTANG,
        "password": DEMO_PASSWORD})
    assert r.status_code == 201, r.text
    checker = await pop.login(c, name)
    await certify(c, checker)
    r = await post(c, f"{P}/pes/samples/{sid}/areas/{area_id}/team", region,
                   {"usernames": [name]})
    assert r.status_code == 200, r.text
    r = await post(c, f"{P}/pes/samples/{sid}/areas/{area_id}/records", checker, {"persons": [
        {"name": HEAD_NAME, "sex": "1", "birth_year_month": "1981-03", "id_number": HEAD_ID},
        {"name": CHILD_NAME, "sex": "2", "birth_year_month": "2012-07"},
        {"name": "黄无关丙", "sex": "1", "birth_year_month": "1990-01"}]})
    assert r.status_code == 201, r.text
    schema = pop.schema("population")
    conn = await asyncpg.connect(pop.database_url)
    try:
        data = await conn.fetchval(f"SELECT data FROM {schema}.events WHERE type ="
                                   f" 'population.pes.check_recorded' AND stream_id = $1",
                                   f"pes-{sid}")
    finally:
        await conn.close()
    data = json.loads(data) if isinstance(data, str) else data
    pes_ids = [p["person_id"] for p in data["persons"]]
    theirs = [head_line, changes[0], changes[1], pes_ids[0], pes_ids[1]]
    return {"theirs": theirs, "all": theirs + [other_line, changes[2], pes_ids[2]]}


def _found(text: str) -> list[str]:
    """Secrets in the text, as they are or JSON-escaped (\\uXXXX, as ASCII-only JSON writes)."""
    return [s for s in SECRETS if s in text or json.dumps(s)[1:-1] in text
            or json.dumps(s)[1:-1].lower() in text.lower()]


def _readable(blob: bytes) -> str:
    """A record as text with JSON unescaped (plus the raw bytes, headers included)."""
    raw = blob.decode("utf-8", "replace")
    out = [raw]
    for part in raw.split("\n"):
        try:
            out.append(json.dumps(json.loads(part), ensure_ascii=False))
        except ValueError:
            pass
    return "\n".join(out)


async def test_erasure_leaves_no_plaintext_anywhere(pop, caplog, capfd, spans):
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        grid = await pop.login(c, "tiantang_wangge")
        town = await pop.login(c, "changtang_zhen")
        areas = await setup_year(c, region)
        await certify(c, grid)
        r = await post(c, f"{P}/areas/{areas[AREA1]}/assignments", coord,
                       {"username": "tiantang_wangge"})
        assert r.status_code == 200, r.text
        done = await register(c, grid, areas[AREA1])
        hid = done["household_id"]
        r = await post(c, f"{P}/households/{hid}/recheck", coord,
                       {"expected_version": done["version"], "decision": "pass"})
        assert r.status_code == 200, r.text

        async def at_township():
            h = (await c.get(f"{P}/households/{hid}", headers=town)).json()
            return h if h.get("review_level") == "township" else None
        hh = await wait_for(at_township, 30)
        head, child = hh["persons"]
        assert head["name"] == HEAD_NAME  # plaintext went through HTTP answers, as it must
        r = await post(c, f"{P}/households/{hid}/persons/{head['person_id']}/reveal", town,
                       {"reason_code": "V01"})
        assert r.json()["id_number"] == HEAD_ID
        linked = await _records_naming_them(c, pop, region, coord, grid, areas[AREA1])

        # only the region erases, with a reason from the list
        url = f"{P}/households/{hid}/persons/{head['person_id']}/erase"
        assert (await post(c, url, town, {"reason_code": "E01"})).status_code == 403
        assert (await post(c, url, region, {"reason_code": "E77"})).status_code == 422
        r = await post(c, url, region, {"reason_code": "E01"})
        assert r.status_code == 200 and r.json()["erased"] == [head["person_id"]], r.text
        # the head's roster line, the change report naming him, his PES check record
        assert r.json()["linked_records_erased"] == 3, r.text
        roster = (await c.get(f"{P}/areas/{areas[AREA1]}/roster", headers=coord)).json()
        assert [e["head_name"] for e in roster["entries"]] == ["（已删除）", OTHER_HEAD]
        assert roster["households"] == 2 and roster["persons"] == 5  # counts stay
        assert (await post(c, url, region, {"reason_code": "E01"})).status_code == 409
        r = await post(c, f"{P}/households/{hid}/persons/{head['person_id']}/reveal", town,
                       {"reason_code": "V01"})
        assert r.status_code == 410 and r.json()["code"] == "person_erased"
        # counts stay; the erased person's codes stay, their identity is gone
        hh = (await c.get(f"{P}/households/{hid}", headers=coord)).json()
        assert hh["person_count"] == 2 and len(hh["persons"]) == 2
        gone = hh["persons"][0]
        assert gone["erased"] and gone["sex"] == "1" and gone["age_band"] == "45-49岁"
        assert "id_number" not in gone and HEAD_NAME not in str(hh)
        assert hh["persons"][1]["name"] == CHILD_NAME
        # then the whole household
        r = await post(c, f"{P}/households/{hid}/erase", region, {"reason_code": "E04"})
        assert r.status_code == 200 and r.json()["erased"] == [child["person_id"]], r.text
        assert r.json()["linked_records_erased"] == 2, r.text  # her birth report, PES record
        led = (await c.get(f"{P}/ledger", params={"month": "2026-03", "division": TIANTANG},
                           headers=coord)).json()
        assert led["months"][-1]["births"] == 1 and len(led["changes"]) == 3  # counts stay
        assert HEAD_NAME not in str(led) and CHILD_NAME not in str(led)
        hh = (await c.get(f"{P}/households/{hid}", headers=coord)).json()
        assert hh["person_count"] == 2 and all(p["erased"] for p in hh["persons"])
        listed = (await c.get(f"{P}/households", headers=coord)).json()["items"]
        assert next(i for i in listed if i["household_id"] == hid)["person_count"] == 2

    schema = pop.schema("population")
    conn = await asyncpg.connect(pop.database_url)
    try:
        keys = await conn.fetch(f"SELECT * FROM {schema}.person_keys WHERE person_id = ANY($1)",
                                [head["person_id"], child["person_id"]])
        assert len(keys) == 2 and all(k["wrapped_key"] is None and k["destroyed_at"] for k in keys)
        # the event log still holds the ciphertext, which no key opens any more
        ev = await conn.fetchrow(f"SELECT data FROM {schema}.events WHERE type ="
                                 f" 'population.household.draft_saved' AND stream_id = $1"
                                 f" ORDER BY version DESC LIMIT 1", f"household-{hid}")
        data = json.loads(ev["data"]) if isinstance(ev["data"], str) else ev["data"]
        sealed = data["persons"][0]["fields"]
        assert sealed["name"].startswith("gxp1:") and sealed["id_number"].startswith("gxp1:")
        cipher = PersonCipher(PostgresKeyStore(conn, f"{schema}.person_keys"),
                              MasterKeys.from_env({"GX_POPULATION_MASTER_KEY": MASTER_KEY}))
        with pytest.raises(PersonErased):
            await cipher.open(head["person_id"], sealed)
        erased = await conn.fetchval(f"SELECT count(*) FROM {schema}.events WHERE type ="
                                     f" 'population.person.erased'")
        assert erased == 2
        kinds = [r["data"] for r in await conn.fetch(
            f"SELECT data FROM {schema}.events WHERE type = 'population.personal_record.erased'")]
        kinds = sorted((json.loads(d) if isinstance(d, str) else d)["record_kind"] for d in kinds)
        assert kinds == ["change_report", "change_report", "pes_check", "pes_check",
                         "roster_entry"]
        # the linked records' keys are gone; the unrelated ones (another head, 黄无关) stay
        keys = await conn.fetch(f"SELECT person_id, destroyed_at FROM {schema}.person_keys"
                                f" WHERE person_id = ANY($1)", linked["all"])
        gone = {k["person_id"] for k in keys if k["destroyed_at"] is not None}
        assert gone == set(linked["theirs"]), (gone, linked)
    finally:
        await conn.close()

    dump = await dump_database(pop.database_url)
    assert "population.person.erased" in dump and "gxp1:" in dump  # it is the real dump
    assert _found(dump) == [], "plaintext personal data in the database"

    async def erasures_published():
        blobs = await read_all_topics(pop.kafka_bootstrap, pop.prefix + ".")
        return blobs if sum(b"population.person.erased" in b for b in blobs) >= 2 else None
    blobs = await wait_for(erasures_published, 30, 0.5)
    topic_text = "\n".join(_readable(b) for b in blobs)
    assert "population.household.draft_saved" in topic_text and "gxp1:" in topic_text
    # what a subscriber of population.events reads: codes and age bands, identity sealed
    i = topic_text.find("age_band")
    assert '"age_band":"45-49岁"' in topic_text.replace(" ", ""), topic_text[i - 300:i + 100]
    assert '"sex":"1"' in topic_text.replace(" ", "")
    assert _found(topic_text) == [], "plaintext personal data on the broker"

    logs = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    out, err = capfd.readouterr()
    assert _found(logs + out + err) == [], "plaintext personal data in the logs"
    finished = spans.get_finished_spans()
    span_text = "\n".join(f"{s.name} {dict(s.attributes or {})} {[e.attributes for e in s.events]}"
                          for s in finished)
    assert _found(span_text) == [], "plaintext personal data in the spans"
