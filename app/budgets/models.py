"""Budgets, their category lines, and the alerts fired once per (line, period, threshold)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow

MONEY = sa.Numeric(19, 4)
DEFAULT_THRESHOLDS = (50, 80, 100)


class BudgetPeriod(str, Enum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


class Rollover(str, Enum):
    NONE = "NONE"
    SURPLUS = "SURPLUS"
    SURPLUS_AND_DEFICIT = "SURPLUS_AND_DEFICIT"


class Budget(SQLModel, table=True):
    __tablename__ = "budgets"
    __table_args__ = (sa.UniqueConstraint("user_id", "id", name="uq_budgets_user_id_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.CHAR(3), nullable=False))
    period: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    # MONTHLY: day of month 1..28 a period starts on; WEEKLY: ISO weekday 1..7; YEARLY: month 1..12
    start_day: int = Field(default=1, sa_column=sa.Column(sa.SmallInteger, nullable=False, server_default="1"))
    # the first period is the one containing this day; rollover counts from there
    starts_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    rollover: str = Field(default=Rollover.NONE.value, sa_column=sa.Column(
        sa.String(24), nullable=False, server_default=Rollover.NONE.value))
    thresholds: list[int] = Field(default_factory=lambda: list(DEFAULT_THRESHOLDS), sa_column=sa.Column(
        ARRAY(sa.SmallInteger), nullable=False, server_default="{50,80,100}"))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))


class BudgetLine(SQLModel, table=True):
    __tablename__ = "budget_lines"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "budget_id"], ["budgets.user_id", "budgets.id"],
                                name="fk_budget_lines_user_budget", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id", "category_id"], ["categories.user_id", "categories.id"],
                                name="fk_budget_lines_user_category", ondelete="CASCADE"),
        sa.UniqueConstraint("budget_id", "category_id", name="uq_budget_lines_budget_category"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    budget_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    category_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    limit: Decimal = Field(sa_column=sa.Column("limit_amount", MONEY, nullable=False))
    position: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))


class BudgetAlert(SQLModel, table=True):
    """A fired alert; the unique (line, period start, threshold) makes each fire exactly once."""

    __tablename__ = "budget_alerts"
    __table_args__ = (
        sa.UniqueConstraint("line_id", "period_start", "threshold", name="uq_budget_alerts_line_period_threshold"),
        sa.Index("ix_budget_alerts_user_fired", "user_id", "fired_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    budget_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("budgets.id", ondelete="CASCADE"),
                                                     nullable=False, index=True))
    line_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("budget_lines.id", ondelete="CASCADE"),
                                                   nullable=False))
    period_start: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    threshold: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    spent: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    limit: Decimal = Field(sa_column=sa.Column("limit_amount", MONEY, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.CHAR(3), nullable=False))
    fired_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
