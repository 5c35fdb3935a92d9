"""Queries: `conversations` (most recently active first), `conversation(id)`, the Conversation and Message nodes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry

from app.chat import repository as repo
from app.chat import service
from app.chat.models import Conversation as ConversationRow
from app.chat.models import Message as MessageRow
from app.graphql.chat.types import Conversation, Message
from app.graphql.context import Context, Info
from app.graphql.loaders import in_key_order
from app.graphql.node import from_global_id, register_node
from app.graphql.pagination import Connection, build_connection, page_request
from app.paging import Page, SortKey, count, fetch_page

C, M = ConversationRow, MessageRow
RECENT_FIRST = [SortKey(C.updated_at, True, dt.datetime.fromisoformat), SortKey(C.id, True, uuid.UUID)]
OLDEST_FIRST = [SortKey(M.created_at, False, dt.datetime.fromisoformat), SortKey(M.id, False, uuid.UUID)]


async def load_conversations(ctx: Context, ids: list[uuid.UUID]) -> list[Conversation | None]:
    """The caller's conversations for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await service.conversations_by_ids(session, principal.user_id, ids)
    return [Conversation.from_row(r) if r is not None else None for r in in_key_order(rows, ids)]


async def load_messages(ctx: Context, ids: list[uuid.UUID]) -> list[Message | None]:
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await service.messages_by_ids(session, principal.user_id, ids)
    return [Message.from_row(r) if r is not None else None for r in in_key_order(rows, ids)]


register_node("Conversation")(load_conversations)
register_node("Message")(load_messages)


async def message_connection(ctx: Context, conversation_id: uuid.UUID, *, first: int | None, after: str | None,
                             last: int | None, before: str | None) -> Connection[Message]:
    """A conversation's page of messages. The pages of every conversation on a `conversations` page that ask
    for the same arguments are fetched together (one statement, and one more for `totalCount`)."""
    principal = ctx.viewer()
    request = page_request("messages", OLDEST_FIRST, first=first, after=after, last=last, before=before)
    shape = (first, after, last, before)

    async def pages(keys: list[tuple[uuid.UUID, tuple[Any, ...]]]) -> list[Page[MessageRow]]:
        ids = list(dict.fromkeys(key[0] for key in keys))
        async with ctx.resources.sessionmaker() as session:
            found = await repo.message_pages(session, principal.user_id, ids, OLDEST_FIRST, request)
        return [found[key[0]] for key in keys]

    async def totals(ids: list[uuid.UUID]) -> list[int]:
        async with ctx.resources.sessionmaker() as session:
            found = await repo.message_counts(session, principal.user_id, ids)
        return [found[i] for i in ids]

    page = await ctx.loaders.get(f"messages:{shape!r}", pages).load((conversation_id, shape))  # type: ignore[arg-type]

    async def total() -> int:
        return int(await ctx.loaders.get("message_counts", totals).load(conversation_id))  # type: ignore[arg-type]

    return build_connection(page, tag="messages", key_of=lambda r: (r.created_at.isoformat(), r.id),
                            to_node=Message.from_row, count_fn=total)


@strawberry.type
class ChatQuery:
    @strawberry.field(description="The caller's conversations with the assistant, most recently active first, in "
                                  "keyset pages of at most 100.")
    async def conversations(self, info: Info, first: int | None = None, after: str | None = None,
                            last: int | None = None, before: str | None = None) -> Connection[Conversation]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("conversations", RECENT_FIRST, first=first, after=after, last=last, before=before)
        stmt = repo.conversations_query(principal.user_id)
        async with ctx.resources.sessionmaker() as session:
            page = await fetch_page(session, stmt, RECENT_FIRST, request)

        async def total() -> int:
            async with ctx.resources.sessionmaker() as session:
                return await count(session, stmt)

        return build_connection(page, tag="conversations", key_of=lambda r: (r.updated_at.isoformat(), r.id),
                                to_node=Conversation.from_row, count_fn=total)

    @strawberry.field(description="One of the caller's conversations; null when missing, another user's or not a "
                                  "Conversation id.")
    async def conversation(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="The global id of the Conversation.")]) -> Conversation | None:
        decoded = from_global_id(id)
        info.context.viewer()
        if decoded is None or decoded[0] != "Conversation":
            return None
        return (await load_conversations(info.context, [decoded[1]]))[0]
