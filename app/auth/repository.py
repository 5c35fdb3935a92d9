"""All SQL of the auth domain."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiToken, AuditEntry, RefreshToken, RevokedAccessToken, User, utcnow


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(sa.select(User).where(User.email == email))).scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    stmt = sa.select(User).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def email_taken(session: AsyncSession, email: str) -> bool:
    return (await session.execute(sa.select(sa.exists().where(User.email == email)))).scalar_one()


async def session_state(session: AsyncSession, user_id: uuid.UUID, jti: uuid.UUID,
                        family_id: uuid.UUID) -> sa.Row[Any] | None:
    """The user behind an access token and whether the token or its family was revoked: one statement."""
    revoked = sa.exists().where(RevokedAccessToken.jti == jti)
    family_revoked = sa.exists().where(
        RefreshToken.family_id == family_id, RefreshToken.user_id == user_id,
        RefreshToken.revoked_at.is_not(None),  # type: ignore[union-attr]
    )
    stmt = sa.select(User.id, User.email, User.base_currency, User.time_zone, User.token_version,
                     revoked.label("revoked"), family_revoked.label("family_revoked")).where(User.id == user_id)
    return (await session.execute(stmt)).first()


async def api_token_state(session: AsyncSession, token_hash: str) -> sa.Row[Any] | None:
    stmt = (
        sa.select(ApiToken.id, ApiToken.scope, ApiToken.expires_at, ApiToken.revoked_at,
                  User.id.label("user_id"), User.email, User.base_currency, User.time_zone)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash)
    )
    return (await session.execute(stmt)).first()


async def refresh_token_for_update(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    stmt = sa.select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def revoke_family(session: AsyncSession, user_id: uuid.UUID, family_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.family_id == family_id,
               RefreshToken.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=utcnow())
    )


async def revoke_all_families(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=utcnow())
    )


async def revoke_access_token(session: AsyncSession, user_id: uuid.UUID, jti: uuid.UUID,
                              expires_at: dt.datetime) -> None:
    stmt = sa.dialects.postgresql.insert(RevokedAccessToken).values(
        jti=jti, user_id=user_id, expires_at=expires_at).on_conflict_do_nothing()
    await session.execute(stmt)


async def api_token_by_id(session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken | None:
    stmt = sa.select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.id == token_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def api_tokens_by_ids(session: AsyncSession, user_id: uuid.UUID,
                            ids: list[uuid.UUID]) -> list[ApiToken]:
    stmt = sa.select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.id.in_(ids))  # type: ignore[attr-defined]
    return list((await session.execute(stmt)).scalars())


def api_tokens_query(user_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(ApiToken).where(ApiToken.user_id == user_id)


def audit_query(user_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(AuditEntry).where(AuditEntry.user_id == user_id)


def add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
