"""Account creation rules: region creates anyone; a county only below itself, inside itself."""
from __future__ import annotations

import uuid

import pytest

from .conftest import auth, login


def new_user(role: str, division: str, **over) -> dict:
    return {"username": f"u_{uuid.uuid4().hex[:8]}", "name_zh": "测试账号", "role": role,
            "division": division, "password": "Start#2026", **over}


@pytest.fixture
async def tokens(client) -> dict[str, str]:
    names = ("qu_tongji", "qingxiu_qu", "changtang_zhen", "tiantang_cun")
    return {n: (await login(client, n))["access_token"] for n in names}


async def test_region_creates_any_role(client, tokens):
    for role, div in [("city_statistician", "450200000000"), ("county_statistician", "450103000000"),
                      ("subscriber", "450000000000"), ("village_coordinator", "450103103201")]:
        r = await client.post("/api/v1/admin/users", json=new_user(role, div),
                              headers=auth(tokens["qu_tongji"]))
        assert r.status_code == 201, r.text
        assert r.json()["role"] == role and "password" not in r.json()
    # The new account can log in.
    body = new_user("township_statistician", "450103100000")
    assert (await client.post("/api/v1/admin/users", json=body,
                              headers=auth(tokens["qu_tongji"]))).status_code == 201
    assert (await login(client, body["username"], body["password"]))["user"]["role"] == \
        "township_statistician"


@pytest.mark.parametrize("role,division", [
    ("township_statistician", "450103103000"),
    ("village_coordinator", "450103103201"),
    ("grid_worker", "450103100201"),
])
async def test_county_creates_lower_levels_inside(client, tokens, role, division):
    r = await client.post("/api/v1/admin/users", json=new_user(role, division),
                          headers=auth(tokens["qingxiu_qu"]))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("role,division,code", [
    ("county_statistician", "450103000000", "role_above_creator"),
    ("city_statistician", "450100000000", "role_above_creator"),
    ("region_statistician", "450000000000", "role_above_creator"),
    ("subscriber", "450000000000", "role_above_creator"),
    ("township_statistician", "450102001000", "outside_jurisdiction"),  # other county
    ("village_coordinator", "450203001001", "outside_jurisdiction"),  # other city
])
async def test_county_cannot_create_above_or_outside(client, tokens, role, division, code):
    r = await client.post("/api/v1/admin/users", json=new_user(role, division),
                          headers=auth(tokens["qingxiu_qu"]))
    assert r.status_code == 403, r.text
    assert r.json()["code"] == code


@pytest.mark.parametrize("who", ["changtang_zhen", "tiantang_cun"])
async def test_others_cannot_create_users(client, tokens, who):
    r = await client.post("/api/v1/admin/users",
                          json=new_user("village_coordinator", "450103103201"),
                          headers=auth(tokens[who]))
    assert r.status_code == 403 and r.json()["code"] == "user_create_forbidden"


async def test_bad_input_names_the_field(client, tokens):
    h = auth(tokens["qu_tongji"])
    r = await client.post("/api/v1/admin/users", json=new_user("mayor", "450103103201"), headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"
    r = await client.post("/api/v1/admin/users", json=new_user("village_coordinator", "4501"),
                          headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "division"
    # A village account must sit on a village code.
    r = await client.post("/api/v1/admin/users",
                          json=new_user("village_coordinator", "450103000000"), headers=h)
    assert r.status_code == 422 and r.json()["code"] == "division_level_mismatch"
    r = await client.post("/api/v1/admin/users",
                          json=new_user("grid_worker", "450103103201", password="abcdefghij"),
                          headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    r = await client.post("/api/v1/admin/users",
                          json=new_user("grid_worker", "450103103201", username="qingxiu_qu"),
                          headers=h)
    assert r.status_code == 409 and r.json()["code"] == "username_taken"


async def test_county_lists_only_its_accounts(client, tokens):
    r = await client.get("/api/v1/admin/users", headers=auth(tokens["qingxiu_qu"]))
    assert r.status_code == 200
    assert all(u["division"].startswith("450103") for u in r.json()["items"])
    assert "qu_tongji" not in {u["username"] for u in r.json()["items"]}


async def test_user_creation_is_recorded_as_an_event(client, tokens, runtime):
    body = new_user("grid_worker", "450103103202")
    r = await client.post("/api/v1/admin/users", json=body, headers=auth(tokens["qingxiu_qu"]))
    events = await runtime.store.read_stream(f"user-{r.json()['user_id']}")
    assert [e.type for e in events] == ["gateway.user.created"]
    assert events[0].metadata["role"] == "county_statistician"
    assert "password" not in str(events[0].data) and "name_zh" not in events[0].data
