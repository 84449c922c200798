"""Login, token expiry and forgery, refresh rotation, revoked sessions (throttling of wrong
passwords: test_login_throttle.py)."""
from __future__ import annotations

import time
import uuid

import jwt

from gx_gateway.application.accounts import seed_users
from gx_gateway.application.state import state
from gx_gateway.application.tokens import issue_access

from .conftest import JWT_SECRET, auth, login


async def test_login_ok_returns_tokens_and_user(client, settings):
    body = await login(client, "tiantang_cun")
    assert body["token_type"] == "bearer" and body["expires_in"] == settings.access_ttl
    assert body["user"]["role"] == "village_coordinator"
    assert body["user"]["division"] == "450103103201"
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"],
                        issuer="gxstat-gateway")
    assert claims["exp"] - claims["iat"] == settings.access_ttl
    me = await client.get("/api/v1/me", headers=auth(body["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "tiantang_cun"
    assert "password_hash" not in me.json()


async def test_wrong_password_and_unknown_user_look_the_same(client):
    a = await client.post("/api/v1/auth/login", json={"username": "qu_tongji", "password": "x"})
    b = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert a.status_code == b.status_code == 401
    assert a.json()["code"] == b.json()["code"] == "invalid_credentials"
    assert a.headers["content-type"].startswith("application/problem+json")
    assert "密码" in a.json()["detail"]


async def test_login_body_errors_name_the_field(client):
    r = await client.post("/api/v1/auth/login", json={"username": "qu_tongji", "extra": 1})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"password", "extra"} <= fields


async def test_success_resets_failure_count(client, runtime, settings):
    """Below the free failures nothing is held back, and a success starts the count again."""
    name = f"reset_{uuid.uuid4().hex[:6]}"
    await seed_users(runtime.pool, settings.schema, [
        {"username": name, "name_zh": "计数测试", "role": "grid_worker",
         "division": "450103103202"}], "Right#pass1", 1024)
    for _ in range(4):
        await client.post("/api/v1/auth/login", json={"username": name, "password": "bad"})
    await login(client, name, "Right#pass1")
    for _ in range(4):
        r = await client.post("/api/v1/auth/login", json={"username": name, "password": "bad"})
        assert r.status_code == 401


def _user(role="region_statistician"):
    return {"user_id": str(uuid.uuid4()), "username": "x", "role": role,
            "division": "450000000000"}


async def test_missing_expired_forged_tokens_are_401(client):
    good = (await login(client, "tiantang_cun"))["access_token"]
    expired = issue_access(_user(), JWT_SECRET, 60, now=time.time() - 3600)
    wrong_secret = issue_access(_user(), "another-secret-another-secret-1234", 900)
    head, payload, sig = good.split(".")
    tampered_claims = jwt.decode(good, options={"verify_signature": False})
    tampered_claims["role"] = "region_statistician"
    tampered_claims["div"] = "450000000000"
    forged_payload = jwt.encode(tampered_claims, "x" * 32).split(".")[1]
    none_alg = jwt.encode(tampered_claims, None, algorithm="none")
    cases = {
        "token_missing": {},
        "token_expired": auth(expired),
        "token_invalid": auth(wrong_secret),
    }
    for code, headers in cases.items():
        for url in ("/api/v1/me", "/api/v1/agri/tasks"):
            r = await client.get(url, headers=headers)
            assert r.status_code == 401 and r.json()["code"] == code, (url, r.text)
    for token in (f"{head}.{forged_payload}.{sig}", none_alg, good[:-3] + "abc", "garbage"):
        r = await client.get("/api/v1/agri/tasks", headers=auth(token))
        assert r.status_code == 401 and r.json()["code"] == "token_invalid", token
    r = await client.get("/api/v1/me", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    first = await login(client, "changtang_zhen")
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/me", headers=auth(second["access_token"]))).status_code == 200
    # Replaying the spent token: refused, and the whole session family is revoked.
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "refresh_reused"
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "refresh_invalid"
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert r.status_code == 401
    # The family's access tokens stop at once too, on the gateway's routes and proxied ones.
    for token in (first["access_token"], second["access_token"]):
        for url in ("/api/v1/me", "/api/v1/agri/tasks"):
            r = await client.get(url, headers=auth(token))
            assert r.status_code == 401 and r.json()["code"] == "session_revoked", (url, r.text)
            assert "重新登录" in r.json()["detail"]
    # Another login session of the same user is untouched.
    other = await login(client, "changtang_zhen")
    assert (await client.get("/api/v1/me", headers=auth(other["access_token"]))).status_code == 200


async def test_revocation_by_another_gateway_instance_applies_after_reload(client, runtime,
                                                                           settings, seen):
    """Another instance revoked the family (only the database knows): refused once the
    briefly cached list is reloaded, here forced by a zero cache period."""
    tokens = await login(client, "liuxu_zhen")
    h = auth(tokens["access_token"])
    assert (await client.get("/api/v1/me", headers=h)).status_code == 200
    family = jwt.decode(tokens["access_token"], options={"verify_signature": False})["fam"]
    await runtime.pool.execute(f"UPDATE {settings.schema}.refresh_tokens SET revoked_at = now() "
                               f"WHERE family_id = $1", uuid.UUID(family))
    revoked = state(runtime).revoked
    saved, revoked.cache_seconds = revoked.cache_seconds, 0.0
    try:
        calls = len(seen)
        r = await client.post("/api/v1/agri/reports/r1/submit", json={}, headers=h)
    finally:
        revoked.cache_seconds = saved
    assert r.status_code == 401 and r.json()["code"] == "session_revoked"
    assert len(seen) == calls  # not forwarded


async def test_access_token_without_family_is_refused(client):
    user = {"user_id": str(uuid.uuid4()), "username": "x", "role": "region_statistician",
            "division": "450000000000"}
    claims = jwt.decode(issue_access(user, JWT_SECRET, 900), options={"verify_signature": False})
    del claims["fam"]
    r = await client.get("/api/v1/me", headers=auth(jwt.encode(claims, JWT_SECRET)))
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"


async def test_expired_refresh_token_is_refused(client, runtime, settings):
    tokens = await login(client, "liuxu_zhen")
    await runtime.pool.execute(f"UPDATE {settings.schema}.refresh_tokens SET expires_at = "
                               f"now() - interval '1 second'")
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "refresh_invalid"
