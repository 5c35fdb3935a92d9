"""The persisted feed of alerts, milestones, sync failures and insights."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow


class NotificationKind(str, Enum):
    BUDGET_ALERT = "BUDGET_ALERT"
    GOAL_MILESTONE = "GOAL_MILESTONE"
    SYNC_FAILED = "SYNC_FAILED"
    INSIGHT = "INSIGHT"
    DATA_EXPORT_READY = "DATA_EXPORT_READY"


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_created", "user_id", sa.text("created_at DESC"), sa.text("id DESC")),
        sa.Index("ix_notifications_user_unread", "user_id", "id", postgresql_where=sa.text("read_at IS NULL")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    title: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    body: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONB, nullable=False,
                                                                          server_default="{}"))
    subject_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    read_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
