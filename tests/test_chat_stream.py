"""`chatStream` over a real graphql-transport-ws WebSocket to a uvicorn API process (which writes the replies with
the local model), and the recovery of replies cut off by a crash when an API process starts."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from websockets.asyncio.client import ClientConnection

from app.chat.stream import lease_key
from app.graphql.node import to_global_id
from tests.servers import ApiServer, api_process
from tests.test_processes import graphql_http, init, receive, register, send, socket

pytestmark = pytest.mark.slow

STREAM = """subscription($id: ID!) { chatStream(conversationId: $id) {
  __typename
  ... on ChatTextChunk { messageId seq text }
  ... on ChatToolCall { messageId seq name arguments resultSummary }
  ... on ChatDone { messageId seq usage { inputTokens outputTokens } }
  ... on ChatError { messageId seq code message } } }"""
SEND = """mutation($input: ChatSendInput!) { chatSend(input: $input) {
  conversation { id } reply { id state } errors { field code } } }"""
MESSAGE = """query($id: ID!) { node(id: $id) { ... on Message { state content errorCode
  toolCalls { name summary } } } }"""
ACCOUNT = """mutation($input: AccountCreateInput!) { accountCreate(input: $input) { account { id } errors { code } } }"""
TX = """mutation($input: TransactionCreateInput!) { transactionCreate(input: $input) {
  transaction { id } errors { code } } }"""
QUESTION = "How much did I spend between March 1 and March 31, 2026?"


async def seeded_user(api: ApiServer) -> dict[str, Any]:
    """A user who spent 25.00 + 14.90 = 39.90 EUR in March 2026."""
    user = await register(api)
    account = (await graphql_http(api, ACCOUNT, {"input": {"name": "Checking", "kind": "CHECKING",
                                                           "currency": "EUR", "openingBalance": "500.00"}},
                                  token=user["token"]))["accountCreate"]["account"]
    for amount, day in (("-25.00", "2026-03-04"), ("-14.90", "2026-03-20"), ("-3.00", "2026-04-01")):
        created = (await graphql_http(api, TX, {"input": {"accountId": account["id"], "amount": amount,
                                                          "bookedOn": day, "description": "SHOP"}},
                                      token=user["token"]))["transactionCreate"]
        assert created["errors"] == []
    return user


async def chunks_until_done(ws: ClientConnection, within: float = 20) -> list[dict[str, Any]]:
    """The chunks of one subscription (id "s") up to and including ChatDone or ChatError."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            message = await receive(ws, within)
            assert message["type"] == "next" and message["id"] == "s", message
            chunk = message["payload"]["data"]["chatStream"]
            out.append(chunk)
            if chunk["__typename"] in ("ChatDone", "ChatError"):
                return out


def check_reply(chunks: list[dict[str, Any]], reply_id: str, content: str) -> None:
    """A tool call, then text chunks, then done, numbered 1..n without gaps, whose text is the stored reply."""
    assert [c["seq"] for c in chunks] == list(range(1, len(chunks) + 1))
    assert {c["messageId"] for c in chunks} == {reply_id}
    kinds = [c["__typename"] for c in chunks]
    assert kinds[0] == "ChatToolCall" and kinds[-1] == "ChatDone"
    assert set(kinds[1:-1]) == {"ChatTextChunk"} and len(kinds) >= 4
    call = chunks[0]
    assert call["name"] == "spending_summary"
    assert call["arguments"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert "39.90 EUR" in call["resultSummary"]
    assert "".join(c["text"] for c in chunks[1:-1]) == content
    assert chunks[-1]["usage"]["outputTokens"] > 0


async def stored(api: ApiServer, token: str, reply_id: str, within: float = 20) -> dict[str, Any]:
    """The reply once it is no longer STREAMING."""
    async with asyncio.timeout(within):
        while True:
            message = (await graphql_http(api, MESSAGE, {"id": reply_id}, token=token))["node"]
            if message["state"] != "STREAMING":
                return dict(message)
            await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def api(servers: dict[str, str], template_url: str,
              tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import clone_database, drop_database

    url = await clone_database(servers)
    try:
        async with api_process(url, servers["redis"], log_dir=tmp_path_factory.mktemp("chat-api")) as server:
            yield server
    finally:
        await drop_database(servers, url)


async def test_a_subscriber_gets_tool_call_text_and_done_in_order(api: ApiServer) -> None:
    # given: a user subscribed to the conversation they are about to start (client-chosen id)
    user = await seeded_user(api)
    conversation_id = to_global_id("Conversation", uuid.uuid4())
    async with socket(api) as ws:
        await init(ws, user["token"])
        await send(ws, {"id": "s", "type": "subscribe", "payload": {"query": STREAM,
                                                                    "variables": {"id": conversation_id}}})
        # when
        sent = (await graphql_http(api, SEND, {"input": {"content": QUESTION, "id": conversation_id}},
                                   token=user["token"]))["chatSend"]
        assert sent["errors"] == [] and sent["conversation"]["id"] == conversation_id
        chunks = await chunks_until_done(ws)
    # then: the whole reply, in order, exactly as stored
    reply = await stored(api, user["token"], sent["reply"]["id"])
    assert reply["state"] == "COMPLETE" and "39.90 EUR" in reply["content"], reply
    check_reply(chunks, sent["reply"]["id"], reply["content"])
    assert reply["toolCalls"] == [{"name": "spending_summary", "summary": chunks[0]["resultSummary"]}]


async def test_a_late_subscriber_still_receives_the_whole_reply(api: ApiServer) -> None:
    # given: a reply that finished before anyone subscribed
    user = await seeded_user(api)
    sent = (await graphql_http(api, SEND, {"input": {"content": QUESTION}}, token=user["token"]))["chatSend"]
    reply = await stored(api, user["token"], sent["reply"]["id"])
    assert reply["state"] == "COMPLETE"
    # when: the client subscribes now
    async with socket(api) as ws:
        await init(ws, user["token"])
        await send(ws, {"id": "s", "type": "subscribe", "payload": {
            "query": STREAM, "variables": {"id": sent["conversation"]["id"]}}})
        chunks = await chunks_until_done(ws)
        # then: every chunk, replayed from the reply's Redis stream; a second reply then streams live, once
        check_reply(chunks, sent["reply"]["id"], reply["content"])
        again = (await graphql_http(api, SEND, {"input": {"content": QUESTION,
                                                          "conversationId": sent["conversation"]["id"]}},
                                    token=user["token"]))["chatSend"]
        live = await chunks_until_done(ws)
    second = await stored(api, user["token"], again["reply"]["id"])
    check_reply(live, again["reply"]["id"], second["content"])


async def test_another_user_cannot_follow_a_conversation(api: ApiServer) -> None:
    # given: a stranger subscribed to the owner's conversation id
    owner, stranger = await seeded_user(api), await register(api)
    conversation_id = to_global_id("Conversation", uuid.uuid4())
    async with socket(api) as theirs, socket(api) as mine:
        await init(theirs, stranger["token"])
        await init(mine, owner["token"])
        for ws in (theirs, mine):
            await send(ws, {"id": "s", "type": "subscribe", "payload": {"query": STREAM,
                                                                        "variables": {"id": conversation_id}}})
        # when: the owner asks
        sent = (await graphql_http(api, SEND, {"input": {"content": QUESTION, "id": conversation_id}},
                                   token=owner["token"]))["chatSend"]
        assert sent["errors"] == []
        await chunks_until_done(mine)
        # then: the stranger received nothing (a later subscription of theirs replays nothing either)
        with pytest.raises(TimeoutError):
            await receive(theirs, within=1)
        await send(theirs, {"id": "t", "type": "subscribe", "payload": {"query": STREAM,
                                                                        "variables": {"id": conversation_id}}})
        with pytest.raises(TimeoutError):
            await receive(theirs, within=1)


async def _insert_streaming(engine: Any, user_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    conversation, message = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(sa.text("INSERT INTO conversations (id, user_id, title) VALUES (:c, :u, 'Cut off')"),
                           {"c": conversation, "u": user_id})
        await conn.execute(sa.text("INSERT INTO messages (id, conversation_id, user_id, role, state, model) "
                                   "VALUES (:m, :c, :u, 'ASSISTANT', 'STREAMING', 'local')"),
                           {"m": message, "c": conversation, "u": user_id})
    return conversation, message


async def test_replies_cut_off_by_a_crash_fail_at_the_next_start(
        database_url: str, servers: dict[str, str], resources: Any, gql: Any, tmp_path: Path) -> None:
    # given: a reply left STREAMING by a process that died, and one still held by a live process (its lease)
    user = await gql.register()
    async with resources.engine.connect() as conn:
        user_id = (await conn.execute(sa.text("SELECT id FROM users WHERE email = :e"),
                                      {"e": user["email"]})).scalar_one()
    _, dead = await _insert_streaming(resources.engine, user_id)
    _, alive = await _insert_streaming(resources.engine, user_id)
    await resources.redis.set(lease_key(alive), b"1", ex=120)
    # when: an API process starts
    async with api_process(database_url, servers["redis"], log_dir=tmp_path):
        pass
    # then: the abandoned reply is FAILED (INTERRUPTED), the held one untouched
    async with resources.engine.connect() as conn:
        rows = {r.id: r for r in await conn.execute(sa.text(
            "SELECT id, state, error, completed_at FROM messages WHERE user_id = :u"), {"u": user_id})}
    assert (rows[dead].state, rows[dead].error) == ("FAILED", "INTERRUPTED") and rows[dead].completed_at
    assert (rows[alive].state, rows[alive].error, rows[alive].completed_at) == ("STREAMING", None, None)
    await resources.redis.delete(lease_key(alive))
