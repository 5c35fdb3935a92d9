"""Chat threads with the assistant and their messages (with every tool call and its result)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db import new_id, utcnow


class MessageRole(str, Enum):
    USER = "USER"
    ASSISTANT = "ASSISTANT"


class MessageState(str, Enum):
    STREAMING = "STREAMING"
    """An assistant reply still being written by a task of some API process."""
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        sa.Index("ix_conversations_user_updated", "user_id", sa.text("updated_at DESC"), sa.text("id DESC")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False))
    title: str = Field(default="", sa_column=sa.Column(sa.String(120), nullable=False, server_default=""))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))


class Message(SQLModel, table=True):
    """A user's question or an assistant's reply.

    `tool_calls` of a reply lists every tool the model called, in order: `{"name", "args", "result",
    "summary"}` (the result as the tool returned it, so every number of the answer can be traced).
    """

    __tablename__ = "messages"
    __table_args__ = (
        sa.Index("ix_messages_conversation_created", "conversation_id", "created_at", "id"),
        sa.Index("ix_messages_streaming", "user_id", postgresql_where=sa.text("state = 'STREAMING'")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    conversation_id: uuid.UUID = Field(sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False))
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=False, index=True))
    role: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    content: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    tool_calls: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(
        JSONB, nullable=False, server_default="[]"))
    state: str = Field(default=MessageState.COMPLETE.value, sa_column=sa.Column(
        sa.String(12), nullable=False, server_default=MessageState.COMPLETE.value))
    model: str | None = Field(default=None, sa_column=sa.Column(sa.String(80), nullable=True))
    input_tokens: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    output_tokens: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), nullable=True))
    """The code of a FAILED reply (RATE_LIMITED, TIMEOUT, UNAVAILABLE, INVALID_RESPONSE, INTERRUPTED, INTERNAL)."""
    error_message: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=sa.Column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    completed_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True),
                                                                               nullable=True))
