"""Who is acting: a principal signed by the gateway and verified by every service.

Services never trust a bare header: the gateway signs the principal with HMAC-SHA256 under
the shared internal secret and a short expiry; each service verifies it before acting.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass

from gx_kernel.errors import Unauthorized

PRINCIPAL_HEADER = "X-Gx-Principal"
NAME_MAX = 64  # a display name, not a document: bounded so the header stays small


def display_name(name: object) -> str | None:
    """The person's name as shown to people: text without NULs, trimmed, at most NAME_MAX."""
    if not isinstance(name, str):
        return None
    clean = name.replace("\x00", "").strip()[:NAME_MAX]
    return clean or None


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: str
    scope: str  # jurisdiction: the code whose prefix bounds what this principal may touch
    device_id: str | None = None
    name: str | None = None  # display name (the user's 姓名); optional, older tokens lack it

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", display_name(self.name))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_principal(p: Principal, secret: str, ttl_seconds: int = 60) -> str:
    claims = {k: v for k, v in asdict(p).items() if k != "name" or v is not None}
    body = _b64(json.dumps({**claims, "exp": int(time.time()) + ttl_seconds},
                           separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_principal(token: str | None, secret: str) -> Principal:
    if not token or "." not in token:
        raise Unauthorized("缺少身份凭据", code="principal_missing")
    body, mac = token.rsplit(".", 1)
    expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    try:
        valid = hmac.compare_digest(expected, _unb64(mac))
        data = json.loads(_unb64(body)) if valid else None
    except (ValueError, json.JSONDecodeError):
        valid, data = False, None
    if not valid or not isinstance(data, dict):
        raise Unauthorized("身份凭据无效", code="principal_invalid")
    if int(data.pop("exp", 0)) < time.time():
        raise Unauthorized("身份凭据已过期", code="principal_expired")
    try:
        return Principal(**data)
    except TypeError as exc:
        raise Unauthorized("身份凭据无效", code="principal_invalid") from exc
