"""Savings and payoff goals: contributions or linked accounts, and 25/50/75/100 % milestones."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow

MONEY = sa.Numeric(19, 4)
MILESTONES = (25, 50, 75, 100)


class GoalKind(str, Enum):
    EMERGENCY_FUND = "EMERGENCY_FUND"
    VACATION = "VACATION"
    HOME = "HOME"
    EDUCATION = "EDUCATION"
    DEBT_PAYOFF = "DEBT_PAYOFF"
    RETIREMENT = "RETIREMENT"
    CUSTOM = "CUSTOM"


class GoalStatus(str, Enum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    ARCHIVED = "ARCHIVED"


class Goal(SQLModel, table=True):
    __tablename__ = "goals"
    __table_args__ = (sa.UniqueConstraint("user_id", "id", name="uq_goals_user_id_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    target_amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.CHAR(3), nullable=False))
    target_date: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    priority: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    status: str = Field(default=GoalStatus.ACTIVE.value, sa_column=sa.Column(
        sa.String(12), nullable=False, server_default=GoalStatus.ACTIVE.value))
    completed_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True),
                                                                               nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))


class GoalAccount(SQLModel, table=True):
    """An account whose balance counts as the goal's progress."""

    __tablename__ = "goal_accounts"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "goal_id"], ["goals.user_id", "goals.id"],
                                name="fk_goal_accounts_user_goal", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id", "account_id"], ["accounts.user_id", "accounts.id"],
                                name="fk_goal_accounts_user_account", ondelete="CASCADE"),
        sa.Index("ix_goal_accounts_account", "account_id"),
    )

    goal_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    account_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))


class GoalContribution(SQLModel, table=True):
    __tablename__ = "goal_contributions"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "goal_id"], ["goals.user_id", "goals.id"],
                                name="fk_goal_contributions_user_goal", ondelete="CASCADE"),
        sa.Index("ix_goal_contributions_goal_day", "goal_id", "day"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    goal_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    day: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))


class GoalMilestone(SQLModel, table=True):
    """25/50/75/100 % of the target, recorded once with the time it was reached."""

    __tablename__ = "goal_milestones"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "goal_id"], ["goals.user_id", "goals.id"],
                                name="fk_goal_milestones_user_goal", ondelete="CASCADE"),
        sa.UniqueConstraint("goal_id", "percent", name="uq_goal_milestones_goal_percent"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    goal_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    percent: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    reached_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
