"""End-of-day balances, manual valuations and exchange rates."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow

MONEY = sa.Numeric(19, 4)
RATE = sa.Numeric(20, 10)


class RateSource(str, Enum):
    MANUAL = "MANUAL"
    ECB = "ECB"


class Balance(SQLModel, table=True):
    """One end-of-day balance per account and day, recomputed only from the earliest changed day."""

    __tablename__ = "balances"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "account_id"], ["accounts.user_id", "accounts.id"],
                                name="fk_balances_user_account", ondelete="CASCADE"),
        sa.Index("ix_balances_user_day", "user_id", "day"),
    )

    account_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    day: dt.date = Field(sa_column=sa.Column(sa.Date, primary_key=True))
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    balance: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    computed_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))


class Valuation(SQLModel, table=True):
    """The value of an asset without transactions (a house, a car) from `day` on."""

    __tablename__ = "valuations"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "account_id"], ["accounts.user_id", "accounts.id"],
                                name="fk_valuations_user_account", ondelete="CASCADE"),
        sa.UniqueConstraint("account_id", "day", name="uq_valuations_account_day"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    account_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    day: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    value: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))


class ExchangeRate(SQLModel, table=True):
    """1 `base` = `rate` `quote` on `day`. Reference rates (ECB) have no owner; manual rates belong to a user."""

    __tablename__ = "exchange_rates"
    __table_args__ = (
        sa.Index("uq_exchange_rates_reference", "base", "quote", "day", "source", unique=True,
                 postgresql_where=sa.text("user_id IS NULL")),
        sa.Index("uq_exchange_rates_manual", "user_id", "base", "quote", "day", unique=True,
                 postgresql_where=sa.text("user_id IS NOT NULL")),
        sa.Index("ix_exchange_rates_pair_day", "base", "quote", "day"),
        sa.CheckConstraint("rate > 0", name="positive"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True))
    base: str = Field(sa_column=sa.Column(sa.CHAR(3), nullable=False))
    quote: str = Field(sa_column=sa.Column(sa.CHAR(3), nullable=False))
    day: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    rate: Decimal = Field(sa_column=sa.Column(RATE, nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
