"""Device security certificate (手机安全证书): proof that a request comes from an enrolled phone.

The phone holds an Ed25519 private key it generated itself; the gateway stores only the public
key. Each data-collection request carries the device id, a timestamp and a signature over
`canonical_message(...)`. Pure functions, no I/O.
"""
from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DEVICE_ID_HEADER = "X-Gx-Device-Id"
TIMESTAMP_HEADER = "X-Gx-Timestamp"
SIGNATURE_HEADER = "X-Gx-Signature"


def b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parse_public_key(text: str) -> bytes:
    """32 raw bytes of an Ed25519 public key given in base64; ValueError if it is not one."""
    try:
        raw = b64decode(text)
        Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error) as exc:
        raise ValueError("public_key") from exc
    return raw


def canonical_message(device_id: str, method: str, path_and_query: str, timestamp: str,
                      body: bytes) -> bytes:
    """What the device signs: one field per line, the body as its SHA-256 hex digest."""
    return "\n".join(["GX1", device_id, method.upper(), path_and_query, timestamp,
                      hashlib.sha256(body).hexdigest()]).encode()


def verify_signature(public_key: bytes, signature_b64: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(b64decode(signature_b64), message)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def timestamp_fresh(timestamp: str, now: float, skew_seconds: int) -> bool:
    try:
        return abs(now - int(timestamp)) <= skew_seconds
    except ValueError:
        return False
