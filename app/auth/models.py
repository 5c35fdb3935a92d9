"""Tables of users and their credentials, plus the audit log and idempotency keys."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow


def _ts(nullable: bool = False, default: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


class Scope(str, Enum):
    READ = "READ"
    READ_WRITE = "READ_WRITE"


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lower"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(sa_column=sa.Column(sa.String(254), nullable=False, unique=True))
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    name: str = Field(default="", sa_column=sa.Column(sa.String(120), nullable=False, server_default=""))
    base_currency: str = Field(default="EUR", sa_column=sa.Column(sa.CHAR(3), nullable=False))
    time_zone: str = Field(default="UTC", sa_column=sa.Column(sa.String(64), nullable=False))
    token_version: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False, index=True))
    family_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    token_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: dt.datetime = Field(sa_column=_ts(default=False))
    used_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True, default=False))
    revoked_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True, default=False))


class RevokedAccessToken(SQLModel, table=True):
    """Access tokens (JWT ids) revoked before they expire, e.g. by `authLogout`."""

    __tablename__ = "revoked_access_tokens"

    jti: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False, index=True))
    expires_at: dt.datetime = Field(sa_column=_ts(default=False))


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    token_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
    prefix: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    scope: Scope = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True, default=False))
    last_used_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True, default=False))
    revoked_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True, default=False))


class AuditEntry(SQLModel, table=True):
    """Who did what to which entity, when, from where. Kept after a user is erased (no foreign key)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_user_at", "user_id", "at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    action: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    entity: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    entity_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    ip: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    user_agent: str | None = Field(default=None, sa_column=sa.Column(sa.String(300), nullable=True))
    details: dict | None = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))  # type: ignore[type-arg]
    at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class IdempotencyKey(SQLModel, table=True):
    """(user, key) -> hash of the input and the stored result of a mutation."""

    __tablename__ = "idempotency_keys"

    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   primary_key=True))
    key: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    request_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))
    result: dict | None = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))  # type: ignore[type-arg]
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
