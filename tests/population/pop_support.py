"""Helpers of the population suite: the whole stack with a master key, people, a household."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid

import httpx

from gx_population.domain import idnumber
from gx_population.privacy.keys import MasterKeys

MASTER_KEY = MasterKeys.generate_key_text()
YEAR = 2026
TIANTANG, DINGXI = "450103103201", "450103103202"
AREA1, AREA2 = TIANTANG + "001", DINGXI + "001"
HEAD_NAME, CHILD_NAME = "韦测试甲", "韦测试乙"  # names found nowhere else in the system
HEAD_ID = idnumber.build("450103", dt.date(1981, 3, 5), 351)   # odd: male
CHILD_ID = idnumber.build("450103", dt.date(2012, 7, 9), 482)  # even: female
QUESTIONS = [{"id": f"q{i}", "text": f"第{i}题：调查标准时点是？", "options": ["11月1日零时", "10月1日"],
              "answer": 0} for i in range(1, 6)]


@contextlib.asynccontextmanager
async def population_stack(infra, gateway_overrides: dict | None = None):
    """The e2e stack, with the population service's master key in its environment
    (`gateway_overrides` as running_stack's, e.g. {"GX_DEVICE_REQUIRED": True})."""
    import tempfile

    from tests.e2e.stack import running_stack

    names = ("GX_POPULATION_MASTER_KEY", "GX_WORKFLOW_CHAINS_FILE")
    saved = {n: os.environ.get(n) for n in names}
    os.environ["GX_POPULATION_MASTER_KEY"] = MASTER_KEY
    with tempfile.TemporaryDirectory() as tmp:
        chains = chains_file(tmp)
        if chains:
            os.environ["GX_WORKFLOW_CHAINS_FILE"] = chains
        try:
            async with running_stack(infra, gateway_overrides) as s:
                yield s
        finally:
            for n, v in saved.items():
                if v is None:
                    os.environ.pop(n, None)
                else:
                    os.environ[n] = v


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def person(name: str, rel: str, sex: str, birth: str, idn: str | None, **kw) -> dict:
    return {"name": name, "relationship": rel, "sex": sex, "birth_year_month": birth,
            "ethnicity": "08", "id_number": idn, "registration_place": "1",
            "left_registration_time": "1", "education": kw.pop("education", "4"), **kw}


def household(no: str = "001", persons: int = 2) -> dict:
    return {"household_no": no, "household_type": "1", "persons_at_reference": persons,
            "births_male": 0, "births_female": 0, "deaths_male": 0, "deaths_female": 0}


GOOD_PERSONS = [person(HEAD_NAME, "0", "1", "1981-03", HEAD_ID),
                person(CHILD_NAME, "2", "2", "2012-07", CHILD_ID, education="3")]


async def post(c: httpx.AsyncClient, url: str, auth: dict, body: dict) -> httpx.Response:
    return await c.post(url, headers={**auth, **key()}, json=body)


async def setup_year(c: httpx.AsyncClient, region: dict) -> dict[str, str]:
    """The region publishes the year's test and imports two areas; their ids by code."""
    r = await c.put(f"/api/v1/population/exams/{YEAR}", headers={**region, **key()},
                    json={"pass_mark": 80, "questions": QUESTIONS})
    assert r.status_code == 200, r.text
    r = await post(c, "/api/v1/population/areas/import", region, {"survey_year": YEAR, "items": [
        {"area_code": AREA1, "name": "天堂村第一调查小区", "urban_rural_code": "220"},
        {"area_code": AREA2, "name": "定西村第一调查小区", "urban_rural_code": "220"}]})
    assert r.status_code == 200, r.text
    r = await c.get("/api/v1/population/areas", headers=region)
    return {a["area_code"]: a["area_id"] for a in r.json()["items"]}


async def certify(c: httpx.AsyncClient, auth: dict) -> dict:
    r = await post(c, f"/api/v1/population/exams/{YEAR}/attempts", auth,
                   {"answers": {q["id"]: q["answer"] for q in QUESTIONS}})
    assert r.status_code == 200 and r.json()["passed"], r.text
    return r.json()


async def register(c: httpx.AsyncClient, auth: dict, area_id: str, no: str = "001",
                   persons: list | None = None) -> dict:
    """Save, read back, confirm and hand in one household; its last answer."""
    persons = GOOD_PERSONS if persons is None else persons
    r = await post(c, f"/api/v1/population/areas/{area_id}/households", auth,
                   {"household": household(no, len(persons)), "persons": persons,
                    "expected_version": 0})
    assert r.status_code == 201, r.text
    hid, v = r.json()["household_id"], r.json()["version"]
    rb = await c.get(f"/api/v1/population/households/{hid}/readback", headers=auth)
    assert rb.status_code == 200, rb.text
    r = await post(c, f"/api/v1/population/households/{hid}/readback", auth,
                   {"expected_version": v, "respondent": "head", "confirmed": True})
    assert r.status_code == 200, r.text
    r = await post(c, f"/api/v1/population/households/{hid}/hand-in", auth,
                   {"expected_version": r.json()["version"]})
    assert r.status_code == 200, r.text
    return {**r.json(), "household_id": hid}


AREA_CORRECTION_CHAINS = [
    {"subject_kind": "population.area_correction", "version": 1,
     "title_zh": "调查小区核实更正（村级上报，乡镇审核，县级审批）",
     "levels": ["township", "county"], "final_level": "county", "early_accept_levels": [],
     "deadline_seconds": {"township": 259200, "county": 432000}},
    {"subject_kind": "population.area_correction", "version": 2, "profile": "strict",
     "title_zh": "调查小区核实更正（严格逐级：乡镇→县→自治区审批）",
     "levels": ["township", "county", "region"], "final_level": "region",
     "early_accept_levels": [], "watch_levels": [],
     "deadline_seconds": {"township": 259200, "county": 259200, "region": 432000}}]


def chains_file(tmp_dir) -> str | None:
    """workflow's chains.json with the area correction's chain, while the packaged file lacks
    it (notes/patches/popfunc-2.diff adds it there); None when it already has it."""
    import json
    from pathlib import Path

    from gx_workflow.domain.chains import DEFAULT_CHAINS_FILE
    raw = json.loads(DEFAULT_CHAINS_FILE.read_text(encoding="utf-8"))
    if any(c["subject_kind"] == "population.area_correction" for c in raw["chains"]):
        return None
    raw["chains"] += AREA_CORRECTION_CHAINS
    path = Path(tmp_dir) / "chains.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return str(path)
