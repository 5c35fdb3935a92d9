"""Categorization rules and the merchant memory."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow


class Rule(SQLModel, table=True):
    """Conditions (description/merchant contains or matches, amount range, account) -> actions (category, tags)."""

    __tablename__ = "rules"
    __table_args__ = (sa.UniqueConstraint("user_id", "id", name="uq_rules_user_id_id"),
                      sa.Index("ix_rules_user_priority", "user_id", "priority", "id"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    priority: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    enabled: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default="true"))
    conditions: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONB, nullable=False,
                                                                                server_default="{}"))
    actions: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONB, nullable=False,
                                                                             server_default="{}"))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))


class MerchantMemory(SQLModel, table=True):
    """Per user: a normalized merchant -> the category the user chose for it, with how often."""

    __tablename__ = "merchant_memory"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "category_id"], ["categories.user_id", "categories.id"],
                                name="fk_merchant_memory_user_category", ondelete="CASCADE"),
    )

    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   primary_key=True))
    merchant: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    category_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    count: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))


class CategoryModelRow(SQLModel, table=True):
    """A user's trained local categorizer (app/ai/categorizer.py): signed bytes, one row per user."""

    __tablename__ = "category_models"

    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   primary_key=True))
    trained_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    label_count: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    """The user's labelled transactions when it was trained (the retraining rule compares with this)."""
    classes: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONB, nullable=False,
                                                                        server_default="[]"))
    """The category ids it can predict."""
    model: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    signature: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    """HMAC-SHA256 of `model` under a key derived from the secret key; a row that does not match is never loaded."""
