"""All SQL of the auth domain."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.models import ApiToken, AuditEntry, RefreshToken, RevokedAccessToken, User, utcnow


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(sa.select(User).where(col(User.email) == email))).scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    stmt = _USER_BY_ID_FOR_UPDATE if for_update else _USER_BY_ID
    return (await session.execute(stmt, {"user_id": user_id})).scalar_one_or_none()


# built once (`me` and every refresh read a user by id): no statement construction or cache key per call
_USER_BY_ID = sa.select(User).where(col(User.id) == sa.bindparam("user_id"))
_USER_BY_ID_FOR_UPDATE = _USER_BY_ID.with_for_update()


async def email_taken(session: AsyncSession, email: str) -> bool:
    return (await session.execute(sa.select(sa.exists().where(col(User.email) == email)))).scalar_one()


def _session_state() -> sa.Select[Any]:
    users, revoked, families = (User.__table__, RevokedAccessToken.__table__,  # type: ignore[attr-defined]
                                RefreshToken.__table__)  # type: ignore[attr-defined]
    return sa.select(
        users.c.id, users.c.email, users.c.base_currency, users.c.time_zone, users.c.token_version,
        sa.exists().where(revoked.c.jti == sa.bindparam("jti")).label("revoked"),
        sa.exists().where(families.c.family_id == sa.bindparam("family_id"),
                          families.c.user_id == sa.bindparam("user_id"),
                          families.c.revoked_at.is_not(None)).label("family_revoked"),
    ).where(users.c.id == sa.bindparam("user_id"))


# Every request checks its token: the statement is built once, on table columns, and takes its values as
# parameters, so SQLAlchemy neither rebuilds it nor recomputes its cache key (nor takes the ORM path).
_SESSION_STATE = _session_state()


async def session_state(session: AsyncSession, user_id: uuid.UUID, jti: uuid.UUID,
                        family_id: uuid.UUID) -> sa.Row[*tuple[Any, ...]] | None:
    """The user behind an access token and whether the token or its family was revoked: one statement."""
    params = {"user_id": user_id, "jti": jti, "family_id": family_id}
    return (await session.execute(_SESSION_STATE, params)).first()


async def api_token_state(session: AsyncSession, token_hash: str) -> sa.Row[*tuple[Any, ...]] | None:
    stmt = (
        sa.select(col(ApiToken.id), col(ApiToken.scope), col(ApiToken.expires_at), col(ApiToken.revoked_at),
                  sa.label("user_id", col(User.id)), col(User.email), col(User.base_currency), col(User.time_zone))
        .join(User, col(User.id) == ApiToken.user_id)
        .where(col(ApiToken.token_hash) == token_hash)
    )
    return (await session.execute(stmt)).first()


async def refresh_token_for_update(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    stmt = sa.select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def revoke_family(session: AsyncSession, user_id: uuid.UUID, family_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.family_id) == family_id,
               col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all_families(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_access_token(session: AsyncSession, user_id: uuid.UUID, jti: uuid.UUID,
                              expires_at: dt.datetime) -> None:
    stmt = sa.dialects.postgresql.insert(RevokedAccessToken).values(
        jti=jti, user_id=user_id, expires_at=expires_at).on_conflict_do_nothing()
    await session.execute(stmt)


async def api_token_by_id(session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken | None:
    stmt = sa.select(ApiToken).where(col(ApiToken.user_id) == user_id, col(ApiToken.id) == token_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def api_tokens_by_ids(session: AsyncSession, user_id: uuid.UUID,
                            ids: list[uuid.UUID]) -> list[ApiToken]:
    stmt = sa.select(ApiToken).where(col(ApiToken.user_id) == user_id, col(ApiToken.id).in_(ids))
    return list((await session.execute(stmt)).scalars())


def api_tokens_query(user_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(ApiToken).where(col(ApiToken.user_id) == user_id)


def audit_query(user_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(AuditEntry).where(col(AuditEntry.user_id) == user_id)


def add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
