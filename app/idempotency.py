"""Idempotent mutations: a client `id` on creates, an `idempotencyKey` elsewhere.

The same key with the same input returns the first result and writes nothing; with a different input it
is `CONFLICT`. The key row is inserted first in the mutation's own transaction, so a concurrent retry waits
on the unique key until the first attempt commits (then replays) or rolls back (then runs itself).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.models import IdempotencyKey
from app.errors import Conflict, DomainError, ErrorCode

MAX_KEY_LENGTH = 200


def fingerprint(operation: str, data: Any) -> str:
    """A stable hash of an operation's input."""
    body = json.dumps({"op": operation, "input": data}, sort_keys=True, default=_plain, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, uuid.UUID | dt.date | dt.datetime):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


@dataclass(frozen=True)
class Replay:
    result: dict[str, Any]


async def claim(session: AsyncSession, *, user_id: uuid.UUID, key: str, request_hash: str,
                field: str = "idempotencyKey") -> Replay | None:
    """Claim `key` for this request. Returns a Replay of the stored result when it ran before.

    `field` is the input field that carried the key (`id` on creates), named in a CONFLICT."""
    if len(key) > MAX_KEY_LENGTH:
        raise DomainError(ErrorCode.TOO_LONG, "Idempotency key is too long", field)
    inserted = await session.execute(
        insert(IdempotencyKey)
        .values(user_id=user_id, key=key, request_hash=request_hash)
        .on_conflict_do_nothing()
        .returning(col(IdempotencyKey.key))
    )
    if inserted.first() is not None:
        return None
    row = (await session.execute(
        sa.select(col(IdempotencyKey.request_hash), col(IdempotencyKey.result))
        .where(col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key)
    )).first()
    if row is None:  # pragma: no cover - the conflicting row vanished between the two statements
        raise Conflict(message="Request is already being processed; retry", field=field)
    if row.request_hash != request_hash:
        raise Conflict(message="This key was already used with a different input", field=field)
    return Replay(row.result or {})


async def store(session: AsyncSession, *, user_id: uuid.UUID, key: str, result: dict[str, Any]) -> None:
    await session.execute(
        sa.update(IdempotencyKey)
        .where(col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key)
        .values(result=json.loads(json.dumps(result, default=_plain)))
    )
