"""The task that writes one reply: the tool loop with the user's tools, streamed chunk by chunk, then stored."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from app.ai.loop import LoopDone, ToolCalled, run
from app.ai.model import MAX_ROUNDS, ChatError, FunctionCall, TextDelta, Turn
from app.auth.principal import Principal
from app.budgets.periods import today_in
from app.chat import repository as repo
from app.chat import stream
from app.chat.models import MessageRole, MessageState
from app.chat.prompt import system_text
from app.chat.service import chat_model
from app.chat.tools import load_toolbox
from app.db import unit_of_work

if TYPE_CHECKING:
    from app.resources import Resources

log = logging.getLogger("florin.chat")

HISTORY_MESSAGES = 20
"""How many earlier messages of the conversation the model sees."""


def _turns(messages: list[Any]) -> list[Turn]:
    turns = []
    for m in messages:
        if m.role == MessageRole.USER.value:
            turns.append(Turn(role="user", text=m.content))
        elif m.state == MessageState.COMPLETE.value and m.content:
            turns.append(Turn(role="model", text=m.content))
    return turns


async def generate(resources: Resources, principal: Principal, conversation_id: uuid.UUID,
                   message_id: uuid.UUID) -> None:
    """Write reply `message_id`; never raises (except cancellation, after recording it)."""
    writer = stream.ReplyStream(resources.redis, resources.hub, principal.user_id, conversation_id, message_id)
    lease = asyncio.create_task(stream.keep_lease(resources.redis, message_id))
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    try:
        today = today_in(principal.time_zone)
        async with resources.sessionmaker() as session:
            earlier = await repo.history(session, principal.user_id, conversation_id, before=message_id,
                                         limit=HISTORY_MESSAGES)
            toolbox = await load_toolbox(session, principal, today)

        async def execute(call: FunctionCall) -> dict[str, Any]:
            async with resources.sessionmaker() as session:
                return await toolbox.run(session, call)

        done: LoopDone | None = None
        model = chat_model(resources)
        async for event in run(model, system=system_text(principal, today), history=_turns(earlier),
                               tools=toolbox.declarations, execute=execute, max_rounds=MAX_ROUNDS):
            if isinstance(event, TextDelta):
                text.append(event.text)
                await writer.emit(stream.TEXT, text=event.text)
            elif isinstance(event, ToolCalled):
                summary = toolbox.summary(event.call.name, event.result)
                calls.append({"name": event.call.name, "args": event.call.args, "result": event.result,
                              "summary": summary, "error": event.error})
                await writer.emit(stream.TOOL_CALL, name=event.call.name, arguments=event.call.args,
                                  result_summary=summary)
            elif isinstance(event, LoopDone):
                done = event
        assert done is not None
        await _store(resources, message_id, {
            "state": MessageState.COMPLETE.value, "content": done.text, "tool_calls": calls,
            "input_tokens": done.usage.input_tokens, "output_tokens": done.usage.output_tokens})
        await writer.emit(stream.DONE, input_tokens=done.usage.input_tokens, output_tokens=done.usage.output_tokens)
    except ChatError as exc:
        await _fail(resources, writer, text, calls, exc.code, exc.message)
    except asyncio.CancelledError:
        with suppress(Exception):
            await _fail(resources, writer, text, calls, "INTERRUPTED", "The server stopped while writing this reply.")
        raise
    except Exception:
        log.exception("chat reply %s failed", message_id)
        with suppress(Exception):
            await _fail(resources, writer, text, calls, "INTERNAL", "The reply could not be written.")
    finally:
        lease.cancel()
        with suppress(asyncio.CancelledError):
            await lease
        await stream.release_lease(resources.redis, message_id)


async def _store(resources: Resources, message_id: uuid.UUID, values: dict[str, Any]) -> bool:
    async with unit_of_work(resources) as uow:
        return await repo.finish(uow.session, message_id, values)


async def _fail(resources: Resources, writer: stream.ReplyStream, text: list[str], calls: list[dict[str, Any]],
                code: str, message: str) -> None:
    await _store(resources, writer.message_id, {"state": MessageState.FAILED.value, "content": "".join(text),
                                                "tool_calls": calls, "error": code, "error_message": message})
    await writer.emit(stream.ERROR, code=code, message=message)
