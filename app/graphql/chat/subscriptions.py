"""Subscriptions: `chatStream(conversationId)`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from app.chat import service
from app.graphql.chat.types import ChatStreamEvent, chunk_to_graphql
from app.graphql.context import Info
from app.graphql.errors import BadUserInput
from app.graphql.node import from_global_id


@strawberry.type
class ChatSubscription:
    @strawberry.subscription(
        description="The replies of one of the caller's conversations as they are written: text chunks, tool calls, "
                    "then done or error. On subscribe it first replays every chunk of a reply still being written "
                    "(or finished in the last 10 minutes), then goes live, so a fast reply is never lost; a chunk is "
                    "never sent twice (`seq` orders the chunks of one reply). A conversation id chosen by the "
                    "client for `chatSend` may be followed before the conversation exists; another user's "
                    "conversation yields nothing.")
    async def chat_stream(self, info: Info, conversation_id: Annotated[strawberry.ID, strawberry.argument(
            description="The global id of the Conversation.")]) -> AsyncGenerator[ChatStreamEvent, None]:
        ctx = info.context
        principal = ctx.viewer()
        decoded = from_global_id(conversation_id)
        if decoded is None or decoded[0] != "Conversation":
            raise BadUserInput("`conversationId` is not a Conversation id")
        async for chunk in service.follow(ctx.resources, principal, decoded[1]):
            event = chunk_to_graphql(chunk)
            if event is not None:
                yield event
