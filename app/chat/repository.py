"""All SQL of conversations and messages. Every statement is scoped to one user (except the start-up sweep of
replies cut off by a crash, which only marks them FAILED)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.chat.models import Conversation, Message, MessageState
from app.paging import Page, PageRequest, SortKey, counts, fetch_pages
from app.transactions.models import Deletion

C, M = Conversation, Message


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialize this user's `chatSend`s until the transaction ends (so the in-flight count is exact)."""
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7))"),
                          {"key": f"chat:{user_id}"})


async def insert_conversation(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert one conversation; False when its id is already taken (by anyone)."""
    stmt = insert(Conversation).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(col(C.id))
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def conversation(session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation | None:
    stmt = sa.select(Conversation).where(col(C.user_id) == user_id, col(C.id) == conversation_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def conversations_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                               ) -> list[Conversation]:
    if not ids:
        return []
    stmt = sa.select(Conversation).where(col(C.user_id) == user_id, col(C.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


def conversations_query(user_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(Conversation).where(col(C.user_id) == user_id)


async def touch_conversation(session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    await session.execute(sa.update(Conversation).where(col(C.user_id) == user_id, col(C.id) == conversation_id)
                          .values(updated_at=sa.func.now()))


async def delete_conversation(session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID) -> bool:
    """Delete it with its messages (cascade) and leave a tombstone; False when it is not the user's."""
    stmt = sa.delete(Conversation).where(col(C.user_id) == user_id, col(C.id) == conversation_id).returning(col(C.id))
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        return False
    session.add(Deletion(user_id=user_id, entity="Conversation", entity_id=conversation_id))
    return True


async def insert_messages(session: AsyncSession, rows: Sequence[Message]) -> None:
    session.add_all(rows)
    await session.flush()


async def messages_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Message]:
    if not ids:
        return []
    stmt = sa.select(Message).where(col(M.user_id) == user_id, col(M.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


def messages_query(user_id: uuid.UUID, conversation_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(Message).where(col(M.user_id) == user_id, col(M.conversation_id) == conversation_id)


async def message_pages(session: AsyncSession, user_id: uuid.UUID, conversation_ids: Sequence[uuid.UUID],
                        keys: Sequence[SortKey], request: PageRequest) -> dict[uuid.UUID, Page[Message]]:
    """The same page of messages of each of the user's conversations: one statement."""
    return await fetch_pages(session, Message, [col(M.user_id) == user_id], col(M.conversation_id),
                             conversation_ids, keys, request)


async def message_counts(session: AsyncSession, user_id: uuid.UUID,
                         conversation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many messages each of the user's conversations has: one statement."""
    return await counts(session, Message, [col(M.user_id) == user_id], col(M.conversation_id), conversation_ids)


async def history(session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, *, before: uuid.UUID,
                  limit: int) -> list[Message]:
    """The last `limit` messages of the conversation created before message `before`, oldest first."""
    anchor = sa.select(col(M.created_at)).where(col(M.id) == before).scalar_subquery()
    stmt = (sa.select(Message)
            .where(col(M.user_id) == user_id, col(M.conversation_id) == conversation_id, col(M.id) != before,
                   sa.tuple_(col(M.created_at), col(M.id)) < sa.tuple_(anchor, before))
            .order_by(col(M.created_at).desc(), col(M.id).desc()).limit(limit))
    return list(reversed(list((await session.execute(stmt)).scalars())))


async def streaming_ids(session: AsyncSession, user_id: uuid.UUID | None = None) -> list[tuple[uuid.UUID, uuid.UUID,
                                                                                                  uuid.UUID]]:
    """(message, conversation, user) of replies still STREAMING: the user's, or everyone's when None."""
    stmt = sa.select(col(M.id), col(M.conversation_id), col(M.user_id)).where(
        col(M.state) == MessageState.STREAMING.value)
    if user_id is not None:
        stmt = stmt.where(col(M.user_id) == user_id)
    return [(r[0], r[1], r[2]) for r in await session.execute(stmt)]


async def replayable(session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, since: dt.datetime
                     ) -> list[uuid.UUID]:
    """The conversation's replies still being written or finished after `since`, oldest first."""
    stmt = (sa.select(col(M.id))
            .where(col(M.user_id) == user_id, col(M.conversation_id) == conversation_id,
                   col(M.role) == "ASSISTANT",
                   sa.or_(col(M.state) == MessageState.STREAMING.value, col(M.completed_at) >= since))
            .order_by(col(M.created_at), col(M.id)))
    return list((await session.execute(stmt)).scalars())


async def finish(session: AsyncSession, message_id: uuid.UUID, values: dict[str, Any]) -> bool:
    """Set the final state of a reply still STREAMING; False when it is not (deleted, or already final)."""
    stmt = (sa.update(Message)
            .where(col(M.id) == message_id, col(M.state) == MessageState.STREAMING.value)
            .values(**values, completed_at=sa.func.now()).returning(col(M.id)))
    return (await session.execute(stmt)).scalar_one_or_none() is not None
