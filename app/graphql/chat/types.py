"""GraphQL types of the assistant: conversations, messages, and the chunks of a streamed reply."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from app.chat.models import Conversation as ConversationRow
from app.chat.models import Message as MessageRow
from app.chat.models import MessageRole as DomainMessageRole
from app.chat.models import MessageState as DomainMessageState
from app.chat.stream import DONE, ERROR, TEXT, TOOL_CALL, ChatChunk
from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.graphql.pagination import Connection

MessageRole = strawberry.enum(DomainMessageRole, name="MessageRole",
                              description="Who wrote a message: USER (a question) or ASSISTANT (a reply).")
MessageState = strawberry.enum(
    DomainMessageState, name="MessageState",
    description="STREAMING: the reply is still being written (follow it with `chatStream`); COMPLETE; FAILED (see "
                "`errorCode`).")


@strawberry.type(description="Tokens a reply used, summed over its model rounds (the local model counts words).")
class ChatUsage:
    input_tokens: int = strawberry.field(description="Tokens the model read.")
    output_tokens: int = strawberry.field(description="Tokens the model wrote.")


@strawberry.type(description="A tool the assistant called while writing a reply, with what it returned: every "
                             "number of the reply comes from these results.")
class ChatToolCallRecord:
    name: str = strawberry.field(description="The tool, e.g. `spending_summary`.")
    arguments: JSON = strawberry.field(description="The arguments the model chose, as a JSON object.")  # type: ignore[valid-type]
    result: JSON = strawberry.field(  # type: ignore[valid-type]
        description="What the tool returned, as a JSON object (money as {amount, currency} strings).")
    summary: str = strawberry.field(description="A one-line summary of the result.")
    error: str | None = strawberry.field(description="Why the call failed (the model was told); null on success.")


def _json(value: Any) -> JSON:  # type: ignore[valid-type]
    return value if isinstance(value, dict) else {}  # type: ignore[return-value]


@strawberry.type(description="A question of the user or a reply of the assistant in a conversation.")
class Message(Node):
    role: MessageRole = strawberry.field(description="Who wrote it.")  # type: ignore[valid-type]
    content: str = strawberry.field(description="The text; a STREAMING reply is empty until it completes (follow "
                                                "`chatStream` for its text as it is written).")
    state: MessageState = strawberry.field(description="Whether a reply is still being written.")  # type: ignore[valid-type]
    tool_calls: list[ChatToolCallRecord] = strawberry.field(
        description="The tools the assistant called for this reply, in order, with their results; empty for a "
                    "question.")
    model: str | None = strawberry.field(description="The model that wrote the reply (\"local\" or a Gemini model); "
                                                     "null for a question.")
    usage: ChatUsage | None = strawberry.field(description="Tokens used; null until the reply completes.")
    error_code: str | None = strawberry.field(
        description="Why a FAILED reply failed: RATE_LIMITED, TIMEOUT, UNAVAILABLE or INVALID_RESPONSE (the model), "
                    "INTERRUPTED (the server stopped) or INTERNAL; null otherwise.")
    error_message: str | None = strawberry.field(description="A human-readable explanation of `errorCode`.")
    created_at: dt.datetime = strawberry.field(description="When the message was stored.")
    completed_at: dt.datetime | None = strawberry.field(description="When the reply completed or failed; null "
                                                                    "while STREAMING.")
    conversation_id: strawberry.ID = strawberry.field(description="The global id of its Conversation.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: MessageRow) -> Message:
        usage = None
        if row.input_tokens is not None or row.output_tokens is not None:
            usage = ChatUsage(input_tokens=row.input_tokens or 0, output_tokens=row.output_tokens or 0)
        calls = [ChatToolCallRecord(name=str(c.get("name", "")), arguments=_json(c.get("args")),
                                    result=_json(c.get("result")), summary=str(c.get("summary") or ""),
                                    error=c.get("error")) for c in row.tool_calls or []]
        return cls(id=to_global_id("Message", row.id), role=DomainMessageRole(row.role), content=row.content,
                   state=DomainMessageState(row.state), tool_calls=calls, model=row.model, usage=usage,
                   error_code=row.error, error_message=row.error_message, created_at=row.created_at,
                   completed_at=row.completed_at, conversation_id=to_global_id("Conversation", row.conversation_id),
                   db_id=row.id)


@strawberry.type(description="A conversation with the assistant.")
class Conversation(Node):
    title: str = strawberry.field(description="The start of its first question.")
    created_at: dt.datetime = strawberry.field(description="When it was started.")
    updated_at: dt.datetime = strawberry.field(description="When the last question was asked.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: ConversationRow) -> Conversation:
        return cls(id=to_global_id("Conversation", row.id), title=row.title, created_at=row.created_at,
                   updated_at=row.updated_at, db_id=row.id)

    @strawberry.field(description="Its messages, oldest first, in keyset pages of at most 100 (`last: 20` gives "
                                  "the latest).")
    async def messages(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                       before: str | None = None) -> Connection[Message]:
        from app.graphql.chat.queries import message_connection

        return await message_connection(info.context, self.db_id, first=first, after=after, last=last,
                                        before=before)


@strawberry.type(description="A piece of a reply's text, in order.")
class ChatTextChunk:
    message_id: strawberry.ID = strawberry.field(description="The reply (a Message).")
    seq: int = strawberry.field(description="Position of the chunk in its reply, from 1; chunks arrive in order.")
    text: str = strawberry.field(description="The text to append.")


@strawberry.type(description="The assistant called a tool while writing a reply.")
class ChatToolCall:
    message_id: strawberry.ID = strawberry.field(description="The reply (a Message).")
    seq: int = strawberry.field(description="Position of the chunk in its reply.")
    name: str = strawberry.field(description="The tool.")
    arguments: JSON = strawberry.field(description="The arguments, as a JSON object.")  # type: ignore[valid-type]
    result_summary: str = strawberry.field(description="A one-line summary of what the tool returned.")


@strawberry.type(description="The reply is complete; its Message now holds the whole text and the tool calls.")
class ChatDone:
    message_id: strawberry.ID = strawberry.field(description="The reply (a Message).")
    seq: int = strawberry.field(description="Position of the chunk in its reply (the last).")
    usage: ChatUsage = strawberry.field(description="Tokens the reply used.")


@strawberry.type(description="The reply failed; its Message is FAILED with this code.")
class ChatError:
    message_id: strawberry.ID = strawberry.field(description="The reply (a Message).")
    seq: int = strawberry.field(description="Position of the chunk in its reply (the last).")
    code: str = strawberry.field(description="RATE_LIMITED, TIMEOUT, UNAVAILABLE, INVALID_RESPONSE, INTERRUPTED or "
                                             "INTERNAL.")
    message: str = strawberry.field(description="A human-readable explanation.")


ChatStreamEvent = Annotated[
    ChatTextChunk | ChatToolCall | ChatDone | ChatError,
    strawberry.union("ChatStreamEvent", description="A chunk of a reply streamed by `chatStream`."),
]


def chunk_to_graphql(chunk: ChatChunk) -> Any:
    f = chunk.fields
    message_id = to_global_id("Message", chunk.message_id)
    if chunk.kind == TEXT:
        return ChatTextChunk(message_id=message_id, seq=chunk.seq, text=str(f.get("text", "")))
    if chunk.kind == TOOL_CALL:
        return ChatToolCall(message_id=message_id, seq=chunk.seq, name=str(f.get("name", "")),
                            arguments=_json(f.get("arguments")), result_summary=str(f.get("result_summary", "")))
    if chunk.kind == DONE:
        return ChatDone(message_id=message_id, seq=chunk.seq, usage=ChatUsage(
            input_tokens=int(f.get("input_tokens") or 0), output_tokens=int(f.get("output_tokens") or 0)))
    if chunk.kind == ERROR:
        return ChatError(message_id=message_id, seq=chunk.seq, code=str(f.get("code", "INTERNAL")),
                         message=str(f.get("message", "")))
    return None


@strawberry.input(description="Ask the assistant: a new conversation, or one more question in an existing one.")
class ChatSendInput:
    content: str = strawberry.field(description="The question, at most 4000 characters.")
    conversation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The Conversation to continue; absent: start a new one. Another user's or a "
                                  "missing one is NOT_FOUND.")
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Optional client-chosen global id (type Conversation) of the NEW conversation, so "
                                  "the client can subscribe to `chatStream` before sending; also makes a retry safe "
                                  "(the same id and input return the first result). Not with `conversationId`.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `chatSend`: the question stored and the reply being written.")
class ChatSendPayload:
    conversation: Conversation | None = strawberry.field(description="The conversation; null when refused.")
    user_message: Message | None = strawberry.field(description="The question as stored; null when refused.")
    reply: Message | None = strawberry.field(
        description="The assistant's reply in state STREAMING: follow it with `chatStream(conversationId)` (which "
                    "replays what was written before it subscribed) or read the Message later; null when refused.")
    errors: list[UserError] = strawberry.field(
        description=ERRORS + " RATE_LIMITED when 3 replies of the caller are already being written.")


@strawberry.input(description="Delete a conversation with all its messages.")
class ConversationDeleteInput:
    id: strawberry.ID = strawberry.field(description="The Conversation.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `conversationDelete`.")
class ConversationDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The id of the deleted conversation; null when "
                                                                    "refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
