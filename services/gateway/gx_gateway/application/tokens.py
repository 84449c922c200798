"""Access tokens (JWT HS256, short-lived) and opaque refresh tokens (stored hashed)."""
from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from gx_kernel.errors import Unauthorized
from gx_kernel.identity import display_name

ALGORITHM = "HS256"
ISSUER = "gxstat-gateway"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    username: str
    role: str
    division: str
    family_id: str  # the login session (refresh-token family) this token belongs to
    name: str | None = None  # the user's 姓名 (name_zh); tokens issued before it lack it


def issue_access(user: dict, secret: str, ttl: int, now: float | None = None,
                 family_id: uuid.UUID | str | None = None) -> str:
    now = int(now if now is not None else time.time())
    claims = {"sub": str(user["user_id"]), "usr": user["username"], "role": user["role"],
              "div": user["division"], "typ": "access", "iss": ISSUER, "iat": now,
              "exp": now + ttl, "jti": uuid.uuid4().hex,
              "fam": str(family_id or uuid.uuid4())}
    name = display_name(user.get("name_zh"))
    if name:
        claims["nam"] = name
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


_VERIFIED: dict[tuple[str, str], tuple[AccessClaims, float]] = {}
_VERIFIED_MAX = 10_000


def verify_access(token: str | None, secret: str) -> AccessClaims:
    """Claims of a valid access token. A token already verified is answered from memory
    until its expiry (verifying costs ~0.2 ms, a large part of the gateway's own time)."""
    hit = _VERIFIED.get((token or "", secret))
    if hit is not None and hit[1] > time.time():
        return hit[0]
    claims, exp = _verify(token, secret)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[(token, secret)] = (claims, exp)
    return claims


def _verify(token: str | None, secret: str) -> tuple[AccessClaims, float]:
    if not token:
        raise Unauthorized("缺少访问令牌（Authorization: Bearer …）", code="token_missing")
    try:
        data = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                          options={"require": ["exp", "iat", "sub", "iss"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("访问令牌已过期，请刷新或重新登录", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("访问令牌无效", code="token_invalid") from None
    if data.get("typ") != "access" or not all(isinstance(data.get(k), str)
                                               for k in ("usr", "role", "div", "fam")):
        raise Unauthorized("访问令牌无效", code="token_invalid")
    return (AccessClaims(data["sub"], data["usr"], data["role"], data["div"], data["fam"],
                         display_name(data.get("nam"))),
            float(data["exp"]))


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def new_refresh_token() -> tuple[str, str]:
    """(token for the client, its SHA-256 for the database). 256 random bits: no salt needed."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh(token)


def hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
