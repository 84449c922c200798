"""argon2id password hashing, off the event loop (hashing is deliberately slow)."""
from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@lru_cache(maxsize=4)
def hasher(memory_kib: int = 65536) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib)


async def hash_password(password: str, memory_kib: int = 65536) -> str:
    return await asyncio.to_thread(hasher(memory_kib).hash, password)


async def verify_password(password_hash: str, password: str, memory_kib: int = 65536) -> bool:
    def check() -> bool:
        try:
            return hasher(memory_kib).verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    return await asyncio.to_thread(check)


@lru_cache(maxsize=4)
def dummy_hash(memory_kib: int = 65536) -> str:
    """Verified against for unknown usernames, so timing does not reveal which names exist."""
    return hasher(memory_kib).hash("gx-no-such-user")
