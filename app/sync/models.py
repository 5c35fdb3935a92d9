"""Connections to providers, statement imports, CSV mapping presets, and the runs that apply them."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow


def _ts(nullable: bool = False) -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


class Provider(str, Enum):
    FI_MCP = "FI_MCP"


class ConnectionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    NEEDS_LOGIN = "NEEDS_LOGIN"
    ERROR = "ERROR"
    DISABLED = "DISABLED"


class RunKind(str, Enum):
    IMPORT = "IMPORT"
    SYNC = "SYNC"


class RunState(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Connection(SQLModel, table=True):
    """A link to a network provider; credentials and session ids are encrypted at rest (AES-GCM)."""

    __tablename__ = "connections"
    __table_args__ = (sa.UniqueConstraint("user_id", "id", name="uq_connections_user_id_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False, index=True))
    provider: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    name: str = Field(default="", sa_column=sa.Column(sa.String(120), nullable=False, server_default=""))
    url: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    status: str = Field(default=ConnectionStatus.ACTIVE.value, sa_column=sa.Column(
        sa.String(16), nullable=False, server_default=ConnectionStatus.ACTIVE.value))
    credentials: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    """Encrypted JSON (nonce + AES-GCM ciphertext): provider session ids, tokens."""
    login_url: str | None = Field(default=None, sa_column=sa.Column(sa.String(1000), nullable=True))
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONB, nullable=False,
                                                                            server_default="{}"))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    last_synced_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class StatementImport(SQLModel, table=True):
    """An uploaded statement: stored whole (so the job re-parses exactly what was validated), with its hash."""

    __tablename__ = "imports"
    __table_args__ = (sa.Index("ix_imports_user_created", "user_id", "created_at"),
                      sa.Index("ix_imports_user_sha256", "user_id", "sha256"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    name: str = Field(default="", sa_column=sa.Column(sa.String(255), nullable=False, server_default=""))
    format: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    sha256: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))
    size: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    content: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    account_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True))
    options: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONB, nullable=False,
                                                                             server_default="{}"))
    """How to read and map it: csv mapping, date order, currency, createMissingAccounts, account mapping."""
    preview: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONB, nullable=False,
                                                                             server_default="{}"))
    """What parsing found: accounts with counts, period, warnings, unmatched accounts."""
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class CsvMappingPreset(SQLModel, table=True):
    """A saved CSV mapping for a bank's export."""

    __tablename__ = "csv_mapping_presets"
    __table_args__ = (sa.Index("uq_csv_mapping_presets_user_name", "user_id", sa.text("lower(name)"), unique=True),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    mapping: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONB, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class SyncRun(SQLModel, table=True):
    """Every import and every sync: QUEUED -> RUNNING -> SUCCEEDED | FAILED, with counts."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        sa.Index("ix_sync_runs_user_created", "user_id", sa.text("created_at DESC"), sa.text("id DESC")),
        sa.Index("ix_sync_runs_connection_state", "connection_id", "state"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    state: str = Field(default=RunState.QUEUED.value, sa_column=sa.Column(
        sa.String(10), nullable=False, server_default=RunState.QUEUED.value))
    connection_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=True))
    import_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("imports.id", ondelete="CASCADE"), nullable=True, index=True))
    window_start: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    window_end: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    added: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    updated: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    duplicates: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    errors: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    phase: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), nullable=True))
    done: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    total: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    started_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    finished_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
