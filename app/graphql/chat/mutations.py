"""Mutations: `chatSend` (the reply is written by a task of this process after the commit), `conversationDelete`."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.chat import service
from app.chat.service import Sent
from app.db import UnitOfWork
from app.graphql.chat.queries import load_conversations, load_messages
from app.graphql.chat.types import (
    ChatSendInput,
    ChatSendPayload,
    ConversationDeleteInput,
    ConversationDeletePayload,
)
from app.graphql.context import Info
from app.graphql.mutation import client_id, run_mutation
from app.graphql.node import decode_id, decode_optional_id, to_global_id


@strawberry.type
class ChatMutation:
    @strawberry.mutation(description="Ask the assistant. Returns at once with the question and the reply in state "
                                     "STREAMING; the reply is written in the background and streamed by `chatStream`. "
                                     "Every number in it comes from tools that read the caller's data.")
    async def chat_send(self, info: Info, input: ChatSendInput) -> ChatSendPayload:
        ctx = info.context
        sent: list[Sent] = []

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            conversation_id = decode_optional_id(input.conversation_id, "Conversation", "conversationId")
            new_conversation_id = client_id(input.id, "Conversation")
            result = await service.send(uow, principal, resources=ctx.resources, content=input.content,
                                        conversation_id=conversation_id, new_conversation_id=new_conversation_id)
            sent.append(result)
            return {"conversation": str(result.conversation_id), "user_message": str(result.user_message_id),
                    "reply": str(result.reply_id)}

        key, key_field = (input.id, "id") if input.id is not None else (input.idempotency_key, "idempotencyKey")
        data = {"content": input.content, "conversationId": input.conversation_id, "id": input.id}
        result, errors = await run_mutation(ctx, "chatSend", action, key=key, data=data, key_field=key_field)
        if errors or result is None:
            return ChatSendPayload(conversation=None, user_message=None, reply=None, errors=errors)
        conversation = (await load_conversations(ctx, [uuid.UUID(result["conversation"])]))[0]
        question, reply = await load_messages(ctx, [uuid.UUID(result["user_message"]), uuid.UUID(result["reply"])])
        if sent:  # not on an idempotent replay: that reply was started by the first call
            service.start_reply(ctx.resources, ctx.viewer(), sent[0])
        return ChatSendPayload(conversation=conversation, user_message=question, reply=reply, errors=[])

    @strawberry.mutation(description="Delete one of the caller's conversations with all its messages.")
    async def conversation_delete(self, info: Info, input: ConversationDeleteInput) -> ConversationDeletePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            deleted = await service.delete_conversation(uow, principal,
                                                        conversation_id=decode_id(input.id, "Conversation"))
            return {"deleted": str(deleted)}

        result, errors = await run_mutation(ctx, "conversationDelete", action, key=input.idempotency_key,
                                            data={"id": input.id})
        if errors or result is None:
            return ConversationDeletePayload(deleted_id=None, errors=errors)
        return ConversationDeletePayload(deleted_id=to_global_id("Conversation", uuid.UUID(result["deleted"])),
                                         errors=[])
