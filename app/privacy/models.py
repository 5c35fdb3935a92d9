"""Data exports: a user's data as a zip, prepared by the `export_data` job and downloadable once."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow


class ExportState(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"
    DOWNLOADED = "DOWNLOADED"
    EXPIRED = "EXPIRED"


IN_FLIGHT = (ExportState.QUEUED.value, ExportState.RUNNING.value)


class ExportFormat(str, Enum):
    JSON = "JSON"
    CSV = "CSV"


def _ts(nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


class DataExport(SQLModel, table=True):
    """One export request. `content` (the zip) is kept only from READY until it is downloaded or expires;
    `token_hash` is the SHA-256 of the download token (the token itself is never stored)."""

    __tablename__ = "data_exports"
    __table_args__ = (
        sa.Index("ix_data_exports_user_created", "user_id", sa.text("created_at DESC"), sa.text("id DESC")),
        sa.Index("ix_data_exports_ready_expires", "expires_at", postgresql_where=sa.text("state = 'READY'")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    state: str = Field(default=ExportState.QUEUED.value, sa_column=sa.Column(
        sa.String(12), nullable=False, server_default=ExportState.QUEUED.value))
    formats: list[str] = Field(default_factory=lambda: [f.value for f in ExportFormat], sa_column=sa.Column(
        ARRAY(sa.String(8)), nullable=False, server_default="{JSON,CSV}"))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    started_at: dt.datetime | None = Field(default=None, sa_column=_ts())
    ready_at: dt.datetime | None = Field(default=None, sa_column=_ts())
    expires_at: dt.datetime | None = Field(default=None, sa_column=_ts())
    downloaded_at: dt.datetime | None = Field(default=None, sa_column=_ts())
    size: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    sha256: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(64), nullable=True))
    token_hash: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(64), nullable=True))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    content: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
