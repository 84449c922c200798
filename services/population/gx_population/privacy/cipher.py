"""Identifying fields sealed with the person's data key (AES-GCM, 96-bit random nonce).

A sealed value is text, safe for JSON events: `gxp1:<base64 of nonce + ciphertext>`.
The associated data is the person id and the field name, so a ciphertext moved to another
person or another field does not decrypt.
"""
from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gx_kernel.errors import AppError

from gx_population.privacy.keys import (
    KEY_BYTES,
    NONCE_BYTES,
    KeyStore,
    MasterKeys,
    PersonErased,
    StoredKey,
)

PREFIX = "gxp1"
# The person-form fields that identify someone (the form file marks the same ones).
IDENTIFYING_FIELDS = ("name", "id_number", "birth_date", "birth_year_month",
                      "registered_address", "phone")


class DecryptionFailed(AppError):
    """The ciphertext does not belong to this person and field, or was altered."""

    def __init__(self, field: str) -> None:
        super().__init__(500, "person_field_undecryptable",
                         f"字段 {field} 的密文与该人员不符或已被篡改", field=field)


def _aad(person_id: str, field: str) -> bytes:
    return f"{person_id}\x1f{field}".encode()


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


def seal(data_key: bytes | AESGCM, person_id: str, field: str, plaintext: str) -> str:
    aead = data_key if isinstance(data_key, AESGCM) else AESGCM(data_key)
    nonce = os.urandom(NONCE_BYTES)
    ct = aead.encrypt(nonce, plaintext.encode(), _aad(person_id, field))
    return f"{PREFIX}:{base64.b64encode(nonce + ct).decode()}"


def unseal(data_key: bytes, person_id: str, field: str, token: str) -> str:
    if not is_sealed(token):
        raise DecryptionFailed(field)
    try:
        blob = base64.b64decode(token[len(PREFIX) + 1:], validate=True)
        return AESGCM(data_key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                        _aad(person_id, field)).decode()
    except (InvalidTag, ValueError):
        raise DecryptionFailed(field) from None


def seal_fields(data_key: bytes, person_id: str, record: Mapping[str, object],
                fields: Iterable[str] = IDENTIFYING_FIELDS) -> dict[str, object]:
    """The record with its identifying fields sealed (others and empty values as they are)."""
    out = dict(record)
    aead = AESGCM(data_key)  # one key schedule per record, not per field
    for f in fields:
        v = out.get(f)
        if v is not None and v != "" and not is_sealed(v):
            out[f] = seal(aead, person_id, f, str(v))
    return out


def unseal_fields(data_key: bytes, person_id: str, record: Mapping[str, object]) -> dict:
    return {f: unseal(data_key, person_id, f, v) if is_sealed(v) else v
            for f, v in record.items()}


class PersonCipher:
    """Seals and opens person records through the key store (one data key per person)."""

    def __init__(self, store: KeyStore, master: MasterKeys,
                 fields: Sequence[str] = IDENTIFYING_FIELDS):
        self.store, self.master, self.fields = store, master, tuple(fields)

    async def data_key(self, person_id: str) -> bytes:
        """The person's data key, created on first use; PersonErased once destroyed."""
        stored = await self.store.get(person_id)
        if stored is None:
            fresh = os.urandom(KEY_BYTES)
            wrapped, version = self.master.wrap(person_id, fresh)
            stored = await self.store.put(StoredKey(person_id, wrapped, version))
        return self.master.unwrap(stored)

    async def seal(self, person_id: str, record: Mapping[str, object]) -> dict[str, object]:
        return seal_fields(await self.data_key(person_id), person_id, record, self.fields)

    async def seal_many(self, records: Mapping[str, Mapping[str, object]]
                        ) -> dict[str, dict[str, object]]:
        """person id -> sealed record, each with its own data key; the keys of persons who
        have none yet are created together (one key-store round trip for a household)."""
        fresh = {pid: os.urandom(KEY_BYTES) for pid in records}
        offered = []
        for pid, key in fresh.items():
            wrapped, version = self.master.wrap(pid, key)
            offered.append(StoredKey(pid, wrapped, version))
        stored = await self.store.put_many(offered)
        out = {}
        for want, pid in zip(offered, records, strict=True):
            row = stored.get(pid)
            if row is None or row.destroyed:
                raise PersonErased()
            # our own fresh key when ours was stored; else the person's existing key
            key = fresh[pid] if row.wrapped_key == want.wrapped_key else self.master.unwrap(row)
            out[pid] = seal_fields(key, pid, records[pid], self.fields)
        return out

    async def open(self, person_id: str, record: Mapping[str, object]) -> dict[str, object]:
        stored = await self.store.get(person_id)
        if stored is None or stored.destroyed:
            raise PersonErased()
        return unseal_fields(self.master.unwrap(stored), person_id, record)

    async def open_many(self, records: Mapping[str, Mapping[str, object]]) -> dict[str, dict]:
        """person id -> opened record, with one key-store read for all (a household)."""
        return self.open_loaded(records, await self.store.get_many(list(records)))

    def open_loaded(self, records: Mapping[str, Mapping[str, object]],
                    keys: Mapping[str, StoredKey]) -> dict[str, dict]:
        """As open_many, with the key rows already read (e.g. joined to the records' query,
        one round trip for a household)."""
        out = {}
        for pid, rec in records.items():
            stored = keys.get(pid)
            if stored is None or stored.destroyed:
                raise PersonErased()
            out[pid] = unseal_fields(self.master.unwrap(stored), pid, rec)
        return out

    async def erase(self, person_id: str) -> bool:
        return await self.store.destroy(person_id)
