"""Insights found by the generators; one per user and dedupe key, so re-runs do not repeat them."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow


class InsightKind(str, Enum):
    SPENDING_ANOMALY = "SPENDING_ANOMALY"
    BUDGET_AT_RISK = "BUDGET_AT_RISK"
    SUBSCRIPTION_AUDIT = "SUBSCRIPTION_AUDIT"
    CASH_FLOW_WARNING = "CASH_FLOW_WARNING"
    NET_WORTH_MILESTONE = "NET_WORTH_MILESTONE"
    SAVINGS_RATE_CHANGE = "SAVINGS_RATE_CHANGE"
    LARGE_TRANSACTION = "LARGE_TRANSACTION"


class InsightSeverity(str, Enum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class InsightState(str, Enum):
    NEW = "NEW"
    SEEN = "SEEN"
    DISMISSED = "DISMISSED"


class Insight(SQLModel, table=True):
    __tablename__ = "insights"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_insights_user_dedupe_key"),
        sa.Index("ix_insights_user_created", "user_id", sa.text("created_at DESC"), sa.text("id DESC")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    title: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    body: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    severity: str = Field(default=InsightSeverity.INFO.value, sa_column=sa.Column(
        sa.String(10), nullable=False, server_default=InsightSeverity.INFO.value))
    numbers: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONB, nullable=False,
                                                                             server_default="{}"))
    dedupe_key: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    period: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    state: str = Field(default=InsightState.NEW.value, sa_column=sa.Column(
        sa.String(10), nullable=False, server_default=InsightState.NEW.value))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
