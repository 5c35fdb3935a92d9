"""Transactions, their split lines, and deletion tombstones for offline clients."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow

MONEY = sa.Numeric(19, 4)


class TransactionStatus(str, Enum):
    PENDING = "PENDING"
    POSTED = "POSTED"


class CategorySource(str, Enum):
    USER = "USER"
    RULE = "RULE"
    MEMORY = "MEMORY"
    MODEL = "MODEL"
    AI = "AI"
    PROVIDER = "PROVIDER"


class Transaction(SQLModel, table=True):
    __tablename__ = "transactions"
    __table_args__ = (
        # the account must belong to the same user: enforced by the database, not only by the service
        sa.ForeignKeyConstraint(["user_id", "account_id"], ["accounts.user_id", "accounts.id"],
                                name="fk_transactions_user_account", ondelete="CASCADE"),
        sa.Index("ix_transactions_user_booked", "user_id", sa.text("booked_on DESC"), sa.text("id DESC")),
        sa.Index("ix_transactions_account_booked", "account_id", "booked_on", "id"),
        sa.Index("ix_transactions_user_amount", "user_id", "amount", "id"),
        sa.Index("ix_transactions_user_updated", "user_id", "updated_at"),
        sa.Index("ix_transactions_user_category", "user_id", "category_id"),
        sa.Index("ix_transactions_search", "search", postgresql_using="gin"),
        sa.Index("ix_transactions_tags", "tags", postgresql_using="gin"),
        sa.Index("uq_transactions_account_external", "account_id", "external_id", unique=True,
                 postgresql_where=sa.text("external_id IS NOT NULL")),
        sa.Index("uq_transactions_account_fingerprint", "account_id", "fingerprint", unique=True,
                 postgresql_where=sa.text("fingerprint IS NOT NULL")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    account_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    booked_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.CHAR(3), nullable=False))
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    merchant: str = Field(default="", sa_column=sa.Column(sa.String(200), nullable=False, server_default=""))
    category_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("categories.id", ondelete="SET NULL"), nullable=True))
    category_source: str | None = Field(default=None, sa_column=sa.Column(sa.String(12), nullable=True))
    category_confidence: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(5, 4), nullable=True))
    # a guess below the confidence threshold: recorded, not applied (no FK: readers join by (user_id, id))
    suggested_category_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    suggested_source: str | None = Field(default=None, sa_column=sa.Column(sa.String(12), nullable=True))
    suggested_confidence: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(5, 4), nullable=True))
    notes: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    tags: list[str] = Field(default_factory=list, sa_column=sa.Column(
        ARRAY(sa.String(40)), nullable=False, server_default="{}"))
    status: str = Field(default=TransactionStatus.POSTED.value, sa_column=sa.Column(
        sa.String(10), nullable=False, server_default=TransactionStatus.POSTED.value))
    transfer_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("transactions.id", ondelete="SET NULL"), nullable=True, index=True))
    external_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    fingerprint: str | None = Field(default=None, sa_column=sa.Column(sa.String(128), nullable=True))
    sync_run_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    has_splits: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default="false"))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    search: str | None = Field(default=None, sa_column=sa.Column(
        TSVECTOR, sa.Computed("to_tsvector('simple'::regconfig, description || ' ' || merchant)", persisted=True),
        nullable=True))


class TransactionSplit(SQLModel, table=True):
    """A category line of one transaction; the lines of a transaction sum exactly to its amount."""

    __tablename__ = "transaction_splits"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    transaction_id: uuid.UUID = Field(sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False, index=True))
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False, index=True))
    category_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("categories.id", ondelete="SET NULL"), nullable=True))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    notes: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    position: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))


class Deletion(SQLModel, table=True):
    """A tombstone so offline clients can sync deltas: `deletions(since)`."""

    __tablename__ = "deletions"
    __table_args__ = (sa.Index("ix_deletions_user_deleted", "user_id", "deleted_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    entity: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    entity_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    deleted_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
