"""The person's 姓名 travels with the principal (issue 13 §3): login token → signed principal →
the service; older tokens without it still verify, and the name is bounded and NUL-free."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from gx_contracts.roles import DEMO_USERS
from gx_kernel.errors import Unauthorized
from gx_kernel.identity import NAME_MAX, Principal, _b64, sign_principal, verify_principal

from gx_gateway.application import tokens

from .conftest import auth, login

PERSON_NAMES = {u["username"]: u["name_zh"] for u in DEMO_USERS}

SECRET = "unit-secret"


def _old_format_token(body: dict, secret: str = SECRET) -> str:
    """A principal signed as before the name existed (no `name` key)."""
    raw = _b64(json.dumps({**body, "exp": int(time.time()) + 60}).encode())
    return f"{raw}.{_b64(hmac.new(secret.encode(), raw.encode(), hashlib.sha256).digest())}"


def test_a_principal_carries_the_name_through_signing():
    p = Principal("u1", "tiantang_cun", "village_coordinator", "450103103201", "phone", "黄春兰")
    assert verify_principal(sign_principal(p, SECRET), SECRET).name == "黄春兰"


def test_a_principal_without_a_name_still_verifies():
    old = {"user_id": "u1", "username": "x", "role": "grid_worker", "scope": "45",
           "device_id": None}
    got = verify_principal(_old_format_token(old), SECRET)
    assert got.name is None and got.username == "x"
    # and one signed now without a name carries no name key at all
    bare = sign_principal(Principal("u1", "x", "grid_worker", "45"), SECRET)
    assert "name" not in json.loads(tokens_body(bare))


def tokens_body(token: str) -> str:
    body = token.rsplit(".", 1)[0]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_the_name_is_bounded_and_nul_free():
    p = Principal("u1", "x", "grid_worker", "45", None, " 韦\x00秀梅" + "长" * 200)
    assert p.name is not None and "\x00" not in p.name and len(p.name) == NAME_MAX
    assert p.name.startswith("韦秀梅")
    assert Principal("u1", "x", "grid_worker", "45", None, " \x00 ").name is None


def test_a_tampered_name_fails_verification():
    token = sign_principal(Principal("u1", "x", "grid_worker", "45", None, "韦秀梅"), SECRET)
    _, mac = token.rsplit(".", 1)
    data = {**json.loads(tokens_body(token)), "name": "黄志强"}
    forged = _b64(json.dumps(data, separators=(",", ":")).encode())
    with pytest.raises(Unauthorized):
        verify_principal(f"{forged}.{mac}", SECRET)


def test_access_token_carries_the_name_and_older_tokens_verify():
    user = {"user_id": "u1", "username": "qu_tongji", "name_zh": "韦秀梅",
            "role": "region_statistician", "division": "450000000000"}
    secret = "jwt-secret-0123456789abcdef0123456789abcdef"
    assert tokens.verify_access(tokens.issue_access(user, secret, 60), secret).name == "韦秀梅"
    now = int(time.time())
    old = jwt.encode({"sub": "u1", "usr": "qu_tongji", "role": "region_statistician",
                      "div": "450000000000", "typ": "access", "iss": tokens.ISSUER, "iat": now,
                      "exp": now + 60, "fam": "f1"}, secret, algorithm=tokens.ALGORITHM)
    claims = tokens.verify_access(old, secret)
    assert claims.name is None and claims.username == "qu_tongji"


async def test_the_service_receives_the_users_name(client, seen):
    token = (await login(client, "changtang_zhen"))["access_token"]
    r = await client.get("/api/v1/agri/tasks", headers=auth(token))
    assert r.status_code == 200, r.text
    got = r.json()["principal"]
    assert got["username"] == "changtang_zhen" and got["name"] == PERSON_NAMES["changtang_zhen"]
    me = (await login(client, "changtang_zhen"))["user"]
    assert me["name_zh"] == "陆建国"
