"""Per-person data keys, wrapped by a versioned master key; the key-store port.

Crypto-shredding: every person's identifying fields are encrypted with that person's own
random 256-bit data key. The data key is stored only wrapped (AES-GCM under the master key
from the environment), so destroying the stored wrapped key makes every copy of the
ciphertext — event log, Kafka topics, backups — unreadable for good.

Environment: GX_POPULATION_MASTER_KEY (base64 of 32 bytes), GX_POPULATION_MASTER_KEY_VERSION
(default "1"), and for rotation GX_POPULATION_OLD_MASTER_KEYS="version:base64,..." (keys that
still unwrap older rows until `rewrap` has moved them to the current version).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gx_kernel.errors import AppError

NONCE_BYTES = 12  # 96-bit nonce, as GCM is meant to be used
KEY_BYTES = 32


class PersonErased(AppError):
    """The person's data key was destroyed: their identifying fields can never be read again."""

    def __init__(self) -> None:
        super().__init__(410, "person_erased", "该人员的个人信息已依法删除，无法读取")


class KeyUnavailable(AppError):
    """A wrapped key cannot be opened (unknown master-key version or tampered row)."""

    def __init__(self, reason: str) -> None:
        super().__init__(500, "person_key_unavailable", f"人员数据密钥无法读取：{reason}")


class MasterKeyError(ValueError):
    """The master-key settings are missing or malformed (the message never holds key bytes)."""


@dataclass(frozen=True)
class StoredKey:
    person_id: str
    wrapped_key: bytes | None  # None once destroyed
    key_version: str
    destroyed_at: dt.datetime | None = None

    @property
    def destroyed(self) -> bool:
        return self.destroyed_at is not None or self.wrapped_key is None


def _decode_key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"{what} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{what} must be {KEY_BYTES} bytes, got {len(key)}")
    return key


class MasterKeys:
    """The current master key (wraps new data keys) and older versions (unwrap only)."""

    def __init__(self, current_version: str, keys: Mapping[str, bytes]):
        if current_version not in keys:
            raise MasterKeyError(f"no master key for the current version {current_version!r}")
        self.current_version = current_version
        self._aead = {v: AESGCM(k) for v, k in keys.items()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MasterKeys:
        env = os.environ if environ is None else environ
        raw = env.get("GX_POPULATION_MASTER_KEY")
        if not raw:
            raise MasterKeyError("GX_POPULATION_MASTER_KEY is not set")
        version = env.get("GX_POPULATION_MASTER_KEY_VERSION", "1")
        keys = {version: _decode_key(raw, "GX_POPULATION_MASTER_KEY")}
        for item in filter(None, (env.get("GX_POPULATION_OLD_MASTER_KEYS") or "").split(",")):
            old_version, sep, old_raw = item.partition(":")
            if not sep:
                raise MasterKeyError("GX_POPULATION_OLD_MASTER_KEYS items are version:base64")
            keys[old_version.strip()] = _decode_key(old_raw, f"old master key {old_version}")
        return cls(version, keys)

    @staticmethod
    def generate_key_text() -> str:
        return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()

    @property
    def versions(self) -> frozenset[str]:
        return frozenset(self._aead)

    @staticmethod
    def _aad(person_id: str, version: str) -> bytes:
        # binds a wrapped key to its person: a row copied onto another person fails to open
        return f"gx-population/person-key/{version}/{person_id}".encode()

    def wrap(self, person_id: str, data_key: bytes) -> tuple[bytes, str]:
        nonce = os.urandom(NONCE_BYTES)
        v = self.current_version
        return nonce + self._aead[v].encrypt(nonce, data_key, self._aad(person_id, v)), v

    def unwrap(self, stored: StoredKey) -> bytes:
        if stored.destroyed:
            raise PersonErased()
        aead = self._aead.get(stored.key_version)
        if aead is None:
            raise KeyUnavailable(f"主密钥版本 {stored.key_version} 未配置")
        blob = stored.wrapped_key
        try:
            return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                self._aad(stored.person_id, stored.key_version))
        except InvalidTag:
            raise KeyUnavailable("密钥校验失败") from None

    def rewrap(self, stored: StoredKey) -> StoredKey:
        """The same data key wrapped under the current master key (rotation)."""
        wrapped, version = self.wrap(stored.person_id, self.unwrap(stored))
        return replace(stored, wrapped_key=wrapped, key_version=version)


class KeyStore(Protocol):
    """Where wrapped data keys live. `put` never replaces an existing (or destroyed) key."""

    async def get(self, person_id: str) -> StoredKey | None: ...

    async def get_many(self, person_ids: Sequence[str]) -> dict[str, StoredKey]: ...

    async def put(self, key: StoredKey) -> StoredKey:
        """Store it unless the person already has a row; return the row that is stored."""
        ...

    async def put_many(self, keys: Sequence[StoredKey]) -> dict[str, StoredKey]:
        """`put` for many persons at once (a household: one round trip); person id -> the row
        that is stored (the existing one where the person had a key already)."""
        ...

    async def replace_wrapped(self, key: StoredKey) -> None:
        """Rotation: the same data key under a newer master key (no-op once destroyed)."""
        ...

    async def destroy(self, person_id: str) -> bool:
        """Delete the key bytes and set destroyed_at; False when there was no live key."""
        ...


class InMemoryKeyStore:
    """The key store for unit tests and the in-process demo."""

    def __init__(self) -> None:
        self._rows: dict[str, StoredKey] = {}

    async def get(self, person_id: str) -> StoredKey | None:
        return self._rows.get(person_id)

    async def get_many(self, person_ids: Sequence[str]) -> dict[str, StoredKey]:
        return {p: self._rows[p] for p in person_ids if p in self._rows}

    async def put(self, key: StoredKey) -> StoredKey:
        return self._rows.setdefault(key.person_id, key)

    async def put_many(self, keys: Sequence[StoredKey]) -> dict[str, StoredKey]:
        return {k.person_id: self._rows.setdefault(k.person_id, k) for k in keys}

    async def replace_wrapped(self, key: StoredKey) -> None:
        old = self._rows.get(key.person_id)
        if old is not None and not old.destroyed:
            self._rows[key.person_id] = key

    async def destroy(self, person_id: str) -> bool:
        old = self._rows.get(person_id)
        if old is None or old.destroyed:
            return False
        self._rows[person_id] = StoredKey(person_id, None, old.key_version,
                                          dt.datetime.now(dt.UTC))
        return True


async def rotate(store: KeyStore, master: MasterKeys, person_ids: Sequence[str]) -> int:
    """Rewrap these persons' live keys under the current master key; how many were moved."""
    moved = 0
    for stored in (await store.get_many(person_ids)).values():
        if not stored.destroyed and stored.key_version != master.current_version:
            await store.replace_wrapped(master.rewrap(stored))
            moved += 1
    return moved
