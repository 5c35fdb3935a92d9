"""Rules of the chat: send a question, write the reply in the background, read and delete conversations.

`send` stores the question and an empty reply in state STREAMING inside the caller's unit of work; after the
commit, `start_reply` runs the reply as an asyncio task of this API process (`app.chat.reply.generate`), which
streams its chunks (`app.chat.stream`) and finally stores the reply as COMPLETE or FAILED. A user has at most
MAX_IN_FLIGHT replies being written at once, across every API process (counted in Postgres under a per-user
lock); beyond that `chatSend` is refused with RATE_LIMITED.

Replies cut off by a crash: a running reply holds a lease in Redis (30 s, refreshed every 5 s). At the start of
every API process (`app/main.py`, and once more after the leases of a process that just died expired), at each
`chatSend` of the user and when the user subscribes to `chatStream`, the STREAMING replies without a lease are
marked FAILED with the code INTERRUPTED, and an ERROR chunk tells anyone still following them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.chat import repository as repo
from app.chat import stream
from app.chat.models import Conversation, Message, MessageRole, MessageState
from app.db import UnitOfWork, new_id, unit_of_work, utcnow
from app.errors import Collector, Conflict, DomainError, ErrorCode, NotFound

if TYPE_CHECKING:
    from app.ai.model import ChatModel
    from app.resources import Resources

log = logging.getLogger("florin.chat")

MAX_IN_FLIGHT = 3
MAX_CONTENT = 4000
MAX_TITLE = 80
INTERRUPTED = "INTERRUPTED"


def chat_model(resources: Resources) -> ChatModel:
    """The process's model (built once from the settings; tests may set `resources.chat_model`)."""
    if resources.chat_model is None:
        from app.ai.factory import build_chat_model

        resources.chat_model = build_chat_model(resources.settings)
    model: ChatModel = resources.chat_model
    return model


@dataclass(frozen=True)
class Sent:
    conversation_id: uuid.UUID
    user_message_id: uuid.UUID
    reply_id: uuid.UUID


def _title(content: str) -> str:
    line = " ".join(content.split())
    return line if len(line) <= MAX_TITLE else line[:MAX_TITLE - 1].rstrip() + "…"


async def send(uow: UnitOfWork, principal: Principal, *, resources: Resources, content: str | None,
               conversation_id: uuid.UUID | None = None, new_conversation_id: uuid.UUID | None = None) -> Sent:
    """Store the question and a STREAMING reply; the caller starts the reply after the commit."""
    errors = Collector()
    text = (content or "").strip()
    if not text:
        errors.add(ErrorCode.REQUIRED, "Ask something.", "content")
    elif len(text) > MAX_CONTENT:
        errors.add(ErrorCode.TOO_LONG, f"A message has at most {MAX_CONTENT} characters.", "content")
    if conversation_id is not None and new_conversation_id is not None:
        errors.add(ErrorCode.INVALID, "`id` names a new conversation; leave it out to continue one.", "id")
    errors.raise_if_any()
    session, user_id = uow.session, principal.user_id
    await repo.lock_user(session, user_id)
    await fail_abandoned(resources, session, user_id)
    in_flight = await repo.streaming_ids(session, user_id)
    if len(in_flight) >= MAX_IN_FLIGHT:
        raise DomainError(ErrorCode.RATE_LIMITED, f"{MAX_IN_FLIGHT} replies are already being written; wait for "
                                                  "one to finish.")
    if conversation_id is not None:
        if await repo.conversation(session, user_id, conversation_id) is None:
            raise NotFound(message="No Conversation with this id", field="conversationId")
        await repo.touch_conversation(session, user_id, conversation_id)
    else:
        conversation_id = new_conversation_id or new_id()
        if not await repo.insert_conversation(session, {"id": conversation_id, "user_id": user_id,
                                                        "title": _title(text)}):
            raise Conflict(message="This id is already taken", field="id")
    now = utcnow()
    question = Message(id=new_id(), conversation_id=conversation_id, user_id=user_id, role=MessageRole.USER.value,
                       content=text, state=MessageState.COMPLETE.value, created_at=now, completed_at=now)
    reply = Message(id=new_id(), conversation_id=conversation_id, user_id=user_id,
                    role=MessageRole.ASSISTANT.value, state=MessageState.STREAMING.value,
                    model=chat_model(resources).name, created_at=now + dt.timedelta(microseconds=1))
    await repo.insert_messages(session, [question, reply])
    # held before the row is visible, so no sweep can take the new reply for an abandoned one
    await stream.take_lease(resources.redis, reply.id)
    return Sent(conversation_id, question.id, reply.id)


def start_reply(resources: Resources, principal: Principal, sent: Sent) -> asyncio.Task[None]:
    """Write the reply in a task of this process (after the commit of `send`)."""
    from app.chat.reply import generate

    task = asyncio.create_task(generate(resources, principal, sent.conversation_id, sent.reply_id),
                               name=f"chat-reply-{sent.reply_id}")
    resources.chat_tasks.add(task)
    task.add_done_callback(resources.chat_tasks.discard)
    return task


async def fail_abandoned(resources: Resources, session: AsyncSession, user_id: uuid.UUID | None = None) -> int:
    """Mark FAILED (INTERRUPTED) the STREAMING replies (of the user, or of everyone) whose task is gone."""
    streaming = await repo.streaming_ids(session, user_id)
    if not streaming:
        return 0
    alive = await stream.leased(resources.redis, [m for m, _, _ in streaming])
    failed = 0
    for message_id, conversation_id, owner in streaming:
        if message_id in alive:
            continue
        if await repo.finish(session, message_id, {"state": MessageState.FAILED.value, "error": INTERRUPTED,
                                                   "error_message": "The reply was cut off (the server stopped)."}):
            failed += 1
            writer = stream.ReplyStream(resources.redis, resources.hub, owner, conversation_id, message_id)
            writer.seq = 1_000_000  # after any chunk the lost task may have written
            await writer.emit(stream.ERROR, code=INTERRUPTED, message="The reply was cut off (the server stopped).")
    return failed


async def recover(resources: Resources, *, again: bool = True) -> int:
    """At the start of an API process: every reply cut off by a crash becomes FAILED. A process that died a
    moment ago may still hold leases, so the sweep runs once more (in the background) after they expired."""
    async with unit_of_work(resources) as uow:
        count = await fail_abandoned(resources, uow.session)
    if count:
        log.warning("%d chat replies were cut off by a stop and are marked FAILED", count)
    if again:
        async def later() -> None:
            await asyncio.sleep(stream.LEASE_SECONDS + 1)
            try:
                await recover(resources, again=False)
            except Exception:  # noqa: BLE001 - the next chatSend or chatStream of the user sweeps again
                log.exception("could not mark interrupted chat replies as failed")

        task = asyncio.create_task(later(), name="chat-recover")
        resources.chat_tasks.add(task)
        task.add_done_callback(resources.chat_tasks.discard)
    return count


async def delete_conversation(uow: UnitOfWork, principal: Principal, *, conversation_id: uuid.UUID) -> uuid.UUID:
    if not await repo.delete_conversation(uow.session, principal.user_id, conversation_id):
        raise NotFound(message="No Conversation with this id", field="id")
    return conversation_id


async def conversations_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: list[uuid.UUID]
                               ) -> list[Conversation]:
    return await repo.conversations_by_ids(session, user_id, ids)


async def messages_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: list[uuid.UUID]) -> list[Message]:
    return await repo.messages_by_ids(session, user_id, ids)


def follow(resources: Resources, principal: Principal, conversation_id: uuid.UUID) -> Any:
    """The chunks of the conversation's replies: those still in flight (or just finished) first, then live."""
    async def replayable() -> list[uuid.UUID]:
        async with resources.sessionmaker() as session:
            abandoned = await repo.streaming_ids(session, principal.user_id)
        if abandoned and len(await stream.leased(resources.redis, [m for m, _, _ in abandoned])) < len(abandoned):
            async with unit_of_work(resources) as uow:  # a reply whose process died: its follower hears it now
                await fail_abandoned(resources, uow.session, principal.user_id)
        since = utcnow() - dt.timedelta(seconds=stream.STREAM_TTL_SECONDS)
        async with resources.sessionmaker() as session:
            return await repo.replayable(session, principal.user_id, conversation_id, since)

    return stream.follow(resources.hub, resources.redis, principal.user_id, conversation_id, replayable)
