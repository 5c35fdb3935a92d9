"""Accounts: what a user holds or owes, in one currency each."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow

MONEY = sa.Numeric(19, 4)


class AccountKind(str, Enum):
    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"
    CREDIT_CARD = "CREDIT_CARD"
    LOAN = "LOAN"
    MORTGAGE = "MORTGAGE"
    INVESTMENT = "INVESTMENT"
    RETIREMENT = "RETIREMENT"
    CRYPTO = "CRYPTO"
    PROPERTY = "PROPERTY"
    VEHICLE = "VEHICLE"
    CASH = "CASH"
    OTHER_ASSET = "OTHER_ASSET"
    OTHER_LIABILITY = "OTHER_LIABILITY"


class Classification(str, Enum):
    ASSET = "ASSET"
    LIABILITY = "LIABILITY"


LIABILITY_KINDS = frozenset({AccountKind.CREDIT_CARD, AccountKind.LOAN, AccountKind.MORTGAGE,
                             AccountKind.OTHER_LIABILITY})


def classify(kind: AccountKind) -> Classification:
    return Classification.LIABILITY if kind in LIABILITY_KINDS else Classification.ASSET


class Account(SQLModel, table=True):
    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "id", name="uq_accounts_user_id_id"),
        sa.Index("ix_accounts_user_name", "user_id", "name", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    classification: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.CHAR(3), nullable=False))
    institution: str | None = Field(default=None, sa_column=sa.Column(sa.String(120), nullable=True))
    mask: str | None = Field(default=None, sa_column=sa.Column(sa.String(8), nullable=True))
    opening_balance: Decimal = Field(default=Decimal(0), sa_column=sa.Column(MONEY, nullable=False,
                                                                             server_default="0"))
    opening_date: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    current_balance: Decimal = Field(default=Decimal(0), sa_column=sa.Column(MONEY, nullable=False,
                                                                             server_default="0"))
    archived: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default="false"))
    connection_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    external_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
