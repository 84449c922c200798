"""Login throttling (defect 4 of issue 8): no user enumeration, no lock anyone can trigger.

Wrong passwords are counted per username and per client address with a progressive delay
(429, Retry-After); unknown and real names are answered alike; the user's own enrolled phone
still logs in while the name is held back; an administrator over the user can unlock."""
from __future__ import annotations

import uuid

import pytest

from gx_contracts.roles import DEMO_PASSWORD

from gx_gateway.adapters import throttle_repo as throttle
from gx_gateway.application.accounts import seed_users
from gx_gateway.domain.login_throttle import Policy, keys_for

from .conftest import auth, login
from .test_devices import Phone, enrol

LOGIN = "/api/v1/auth/login"
RIGHT = "Right#pass1"


@pytest.fixture
async def user(runtime, settings):
    name = f"thr_{uuid.uuid4().hex[:6]}"
    await seed_users(runtime.pool, settings.schema, [
        {"username": name, "name_zh": "限速测试", "role": "village_coordinator",
         "division": "450103103202"}], RIGHT, 1024)
    return name


def _addr() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


async def _fail(client, name: str, times: int) -> list:
    return [await client.post(LOGIN, json={"username": name, "password": "bad-pass"})
            for _ in range(times)]


def _shape(r) -> tuple:
    body = r.json()
    return r.status_code, body["code"], body["detail"], r.headers.get("Retry-After"), \
        sorted(body)


async def test_real_and_unknown_names_are_answered_alike(client_at, user, settings):
    real = await _fail(client_at(_addr()), user, settings.login_free_failures_user + 1)
    unknown = await _fail(client_at(_addr()), f"nobody_{uuid.uuid4().hex[:6]}",
                          settings.login_free_failures_user + 1)
    assert [_shape(r) for r in real] == [_shape(r) for r in unknown]
    assert [r.status_code for r in real] == [401] * settings.login_free_failures_user + [429]
    last = real[-1]
    assert last.json()["code"] == "login_throttled" and "秒后重试" in last.json()["detail"]
    assert int(last.headers["Retry-After"]) >= 1
    assert last.headers["content-type"].startswith("application/problem+json")
    assert "锁定" not in last.text and "locked" not in last.text


async def test_delay_grows_and_even_the_right_password_waits(client_at, user, runtime,
                                                             settings):
    c = client_at(_addr())
    await _fail(c, user, settings.login_free_failures_user)
    r = await c.post(LOGIN, json={"username": user, "password": RIGHT})
    assert r.status_code == 429  # held back: the password is not even checked
    delays = []
    for _ in range(3):
        await _expire(runtime, settings)
        await _fail(c, user, 1)
        delays.append(await runtime.pool.fetchval(
            f"SELECT extract(epoch FROM blocked_until - last_failure) FROM "
            f"{settings.schema}.login_throttle WHERE key = $1", f"user:{user}"))
    assert delays == [2, 4, 8]
    await _expire(runtime, settings)
    assert (await login(c, user, RIGHT))["user"]["username"] == user
    assert await runtime.pool.fetchval(f"SELECT count(*) FROM {settings.schema}.login_throttle "
                                       f"WHERE key = $1", f"user:{user}") == 0


async def _expire(runtime, settings) -> None:
    await runtime.pool.execute(f"UPDATE {settings.schema}.login_throttle SET blocked_until = "
                               f"now() - interval '1 second' WHERE blocked_until IS NOT NULL")


async def test_one_address_spraying_many_names_is_held_back(client_at, runtime, settings):
    saved = settings.login_free_failures_address
    settings.login_free_failures_address = 3
    try:
        c = client_at(_addr())
        rs = [await c.post(LOGIN, json={"username": f"spray_{i}_{uuid.uuid4().hex[:4]}",
                                        "password": "bad-pass"}) for i in range(4)]
        assert [r.status_code for r in rs] == [401, 401, 401, 429]
        # A real user at another address is not affected.
        assert (await login(client_at(_addr()), "dingxi_cun"))["user"]["username"] == "dingxi_cun"
    finally:
        settings.login_free_failures_address = saved


async def test_own_enrolled_phone_logs_in_while_the_name_is_held_back(client, client_at, user,
                                                                      settings):
    phone = Phone()
    await enrol(client, phone, username=user)
    attacker = client_at(_addr())
    await _fail(attacker, user, settings.login_free_failures_user + 2)
    body = f'{{"username": "{user}", "password": "{RIGHT}"}}'.encode()
    mine = client_at(_addr())
    plain = await mine.post(LOGIN, content=body, headers={"Content-Type": "application/json"})
    assert plain.status_code == 429
    r = await mine.post(LOGIN, content=body, headers=phone.sign("POST", LOGIN, body))
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == user
    # A forged signature is an ordinary login again: held back like any other.
    forged = {**phone.sign("POST", LOGIN, body), "X-Gx-Signature": "A" * 86}
    r = await mine.post(LOGIN, content=body, headers=forged)
    assert r.status_code == 200  # the phone's success had cleared the name's count
    await _fail(attacker, user, settings.login_free_failures_user + 1)
    r = await mine.post(LOGIN, content=body, headers=forged)
    assert r.status_code == 429


async def test_admin_over_the_user_unlocks_and_it_is_audited(client, client_at, user, runtime,
                                                             settings):
    c = client_at(_addr())
    await _fail(c, user, settings.login_free_failures_user)
    assert (await c.post(LOGIN, json={"username": user, "password": RIGHT})).status_code == 429
    url = f"/api/v1/admin/users/{user}/unlock"
    for who in ("tiantang_cun", "changtang_zhen"):  # not an administrator
        token = (await login(client, who, DEMO_PASSWORD))["access_token"]
        r = await client.post(url, headers=auth(token))
        assert r.status_code == 403 and r.json()["code"] == "unlock_forbidden"
    token = (await login(client, "qingxiu_qu", DEMO_PASSWORD))["access_token"]
    r = await client.post(url, headers=auth(token))
    assert r.status_code == 200 and r.json() == {"username": user, "was_held": True}
    assert (await login(c, user, RIGHT))["user"]["username"] == user
    row = await runtime.pool.fetchrow(f"SELECT user_id FROM {settings.schema}.users "
                                      f"WHERE username = $1", user)
    events = await runtime.store.read_stream(f"user-{row['user_id']}")
    assert [e.type for e in events] == ["gateway.user.created", "gateway.user.unlocked"]
    assert events[1].metadata["role"] == "county_statistician"
    r = await client.post("/api/v1/admin/users/nobody_here/unlock", headers=auth(token))
    assert r.status_code == 404


async def test_admin_of_another_county_cannot_unlock(client, user, runtime, settings):
    name = f"adm_{uuid.uuid4().hex[:6]}"
    await seed_users(runtime.pool, settings.schema, [
        {"username": name, "name_zh": "兴宁区统计局", "role": "county_statistician",
         "division": "450102000000"}], RIGHT, 1024)
    token = (await login(client, name, RIGHT))["access_token"]
    r = await client.post(f"/api/v1/admin/users/{user}/unlock", headers=auth(token))
    assert r.status_code == 403 and r.json()["code"] == "outside_jurisdiction"


def test_policy_delays_double_from_the_free_failures_and_are_capped():
    p = Policy(free_failures_user=3, free_failures_address=10, max_delay_seconds=60)
    assert [p.delay_after("user", n) for n in range(1, 11)] == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert p.delay_after("addr", 9) == 0 and p.delay_after("addr", 10) == 1
    assert p.delay_after("user", 10_000) == 60
    assert keys_for("Tiantang_Cun ", "1.2.3.4", None) == [("user:tiantang_cun", "user"),
                                                          ("addr:1.2.3.4", "addr")]
    assert keys_for("x", "1.2.3.4", "d1") == [("device:d1", "device")]


async def test_quiet_keys_are_forgotten_running_delays_kept(runtime, settings):
    s = settings.schema
    await runtime.pool.execute(
        f"INSERT INTO {s}.login_throttle (key, failures, last_failure, blocked_until) VALUES "
        f"('user:old_quiet', 9, now() - interval '2 hours', NULL), "
        f"('user:old_held', 30, now() - interval '2 hours', now() + interval '1 minute'), "
        f"('user:recent', 2, now(), NULL)")
    await throttle.forget_quiet(runtime.pool, s, settings.login_window_seconds)
    left = {r["key"] for r in await runtime.pool.fetch(
        f"SELECT key FROM {s}.login_throttle WHERE key = ANY($1::text[])",
        ["user:old_quiet", "user:old_held", "user:recent"])}
    assert left == {"user:old_held", "user:recent"}
