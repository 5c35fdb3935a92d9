"""Categories: a two-level tree per user (the built-in set is copied to each user at registration)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow


class CategoryKind(str, Enum):
    EXPENSE = "EXPENSE"
    INCOME = "INCOME"
    TRANSFER = "TRANSFER"


class Category(SQLModel, table=True):
    __tablename__ = "categories"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "id", name="uq_categories_user_id_id"),
        sa.Index("uq_categories_user_parent_name", "user_id", "parent_id", sa.text("lower(name)"), unique=True,
                 postgresql_nulls_not_distinct=True),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    parent_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("categories.id", ondelete="CASCADE"), nullable=True, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(80), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    icon: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), nullable=True))
    color: str | None = Field(default=None, sa_column=sa.Column(sa.String(9), nullable=True))
    position: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
