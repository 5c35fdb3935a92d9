"""Password hashing with argon2 (run in a thread: hashing is deliberately slow)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@lru_cache(maxsize=4)
def hasher(time_cost: int = 3, memory_kib: int = 65536) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    return hasher(time_cost, memory_kib).hash("florin-dummy-password-for-timing")


async def hash_password(password: str, time_cost: int, memory_kib: int) -> str:
    return await asyncio.to_thread(hasher(time_cost, memory_kib).hash, password)


async def verify_password(stored_hash: str | None, password: str, time_cost: int, memory_kib: int) -> bool:
    """True when it matches; also spends the same time when the user does not exist."""
    target = stored_hash or _dummy_hash(time_cost, memory_kib)

    def check() -> bool:
        try:
            return hasher(time_cost, memory_kib).verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    ok = await asyncio.to_thread(check)
    return ok and stored_hash is not None
