"""`chatSend`, `conversations`, `conversation`, `conversationDelete` in-process: the reply is written by a task of
this process with the local model and the caller's own tools; at most 3 replies in flight per user; another
user's conversation is invisible."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import sqlalchemy as sa

from app.ai.model import FunctionDeclaration, ModelReply, TextDelta, Turn, Usage
from app.graphql.node import from_global_id, to_global_id
from tests import ledger
from tests.support import GraphQLClient

SEND = """mutation($input: ChatSendInput!) { chatSend(input: $input) {
  conversation { id title } userMessage { id role content state }
  reply { id role state content model conversationId }
  errors { field message code } } }"""
CONVERSATION = """query($id: ID!) { conversation(id: $id) { id title messages(first: 50) { totalCount edges { node {
  id role state content model errorCode usage { inputTokens outputTokens }
  toolCalls { name arguments result summary error } } } } } }"""
CONVERSATIONS = "{ conversations(first: 10) { totalCount edges { node { id title } } } }"
DELETE = """mutation($id: ID!) { conversationDelete(input: {id: $id}) { deletedId errors { field code } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"


async def settle(resources: Any) -> None:
    """Wait for this process's reply tasks to end."""
    if resources.chat_tasks:
        await asyncio.wait(list(resources.chat_tasks), timeout=30)
    assert not resources.chat_tasks


async def send(gql: GraphQLClient, token: str, content: str, **extra: Any) -> dict[str, Any]:
    return (await gql(SEND, {"input": {"content": content, **extra}}, token=token)).ok()["chatSend"]


async def groceries_scenario(gql: GraphQLClient, token: str) -> None:
    """August 2026 on a checking account: groceries 12.50 + 30.00 - a refund of 2.50, a restaurant bill of 100.00,
    and a grocery purchase in September that is outside the period."""
    account = await ledger.account(gql, token, "Checking", opening="1000.00")
    groceries = await ledger.category_id(gql, token, "Groceries")
    restaurants = await ledger.category_id(gql, token, "Restaurants")
    for amount, day, category, description in (("-12.50", "2026-08-03", groceries, "REWE 0042"),
                                               ("-30.00", "2026-08-17", groceries, "EDEKA 2210"),
                                               ("2.50", "2026-08-18", groceries, "REWE REFUND"),
                                               ("-100.00", "2026-08-20", restaurants, "LA PIAZZA"),
                                               ("-7.00", "2026-09-02", groceries, "REWE 0042")):
        await ledger.create(gql, token, account["id"], amount, day, description=description, categoryId=category)


async def test_chat_send_answers_from_the_callers_data(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    await groceries_scenario(gql, user["token"])
    # when
    payload = await send(gql, user["token"], "How much did I spend on groceries between August 1 and August 31, "
                                             "2026?")
    # then: the question is stored and the reply starts STREAMING
    assert payload["errors"] == []
    assert payload["userMessage"]["role"] == "USER" and payload["userMessage"]["state"] == "COMPLETE"
    assert payload["reply"] == {"id": payload["reply"]["id"], "role": "ASSISTANT", "state": "STREAMING",
                                "content": "", "model": "local", "conversationId": payload["conversation"]["id"]}
    assert payload["conversation"]["title"].startswith("How much did I spend on groceries")
    await settle(resources)
    # the reply completes with 12.50 + 30.00 - 2.50 = 40.00 EUR, found by the spending tool
    data = (await gql(CONVERSATION, {"id": payload["conversation"]["id"]}, token=user["token"])).ok()["conversation"]
    question, reply = [e["node"] for e in data["messages"]["edges"]]
    assert data["messages"]["totalCount"] == 2 and question["role"] == "USER"
    assert reply["state"] == "COMPLETE" and reply["errorCode"] is None
    assert "40.00 EUR" in reply["content"] and "3 transactions" in reply["content"], reply["content"]
    [call] = reply["toolCalls"]
    assert call["name"] == "spending_summary" and call["error"] is None
    assert call["arguments"] == {"from": "2026-08-01", "to": "2026-08-31", "category": "Groceries"}
    assert call["result"]["total"] == {"amount": "40.00", "currency": "EUR"}
    assert call["result"]["transactions"] == 3 and call["result"]["period"] == {"from": "2026-08-01",
                                                                                "to": "2026-08-31"}
    assert reply["usage"]["outputTokens"] > 0


async def test_a_follow_up_continues_the_conversation(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    await groceries_scenario(gql, user["token"])
    first = await send(gql, user["token"], "How much did I spend in total between August 1 and August 31, 2026?")
    await settle(resources)
    # when: a second question in the same conversation
    second = await send(gql, user["token"], "What were my biggest expenses between August 1 and August 31, 2026?",
                        conversationId=first["conversation"]["id"])
    await settle(resources)
    # then: four messages in order; the totals are 12.50 + 30.00 - 2.50 + 100.00 = 140.00, largest 100.00
    assert second["errors"] == [] and second["conversation"]["id"] == first["conversation"]["id"]
    data = (await gql(CONVERSATION, {"id": first["conversation"]["id"]}, token=user["token"])).ok()["conversation"]
    nodes = [e["node"] for e in data["messages"]["edges"]]
    assert [n["role"] for n in nodes] == ["USER", "ASSISTANT", "USER", "ASSISTANT"]
    assert "140.00 EUR" in nodes[1]["content"]
    assert nodes[3]["toolCalls"][0]["name"] == "largest_transactions"
    amounts = [t["amount"]["amount"] for t in nodes[3]["toolCalls"][0]["result"]["transactions"]]
    assert amounts == ["-100.00", "-30.00", "-12.50"]
    listed = (await gql(CONVERSATIONS, token=user["token"])).ok()["conversations"]
    assert listed["totalCount"] == 1


async def test_an_unanswerable_question_gets_an_honest_answer_without_tools(gql: GraphQLClient, resources: Any
                                                                            ) -> None:
    user = await gql.register()
    payload = await send(gql, user["token"], "Please transfer 100 euros to my savings")
    await settle(resources)
    data = (await gql(CONVERSATION, {"id": payload["conversation"]["id"]}, token=user["token"])).ok()["conversation"]
    reply = data["messages"]["edges"][1]["node"]
    assert reply["state"] == "COMPLETE" and reply["toolCalls"] == []
    assert "I can tell you how much you spent" in reply["content"]


class GatedModel:
    """A model whose replies wait until the test opens the gate."""

    name = "gated"

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def generate(self, *, system: str, history: Sequence[Turn], tools: Sequence[FunctionDeclaration]
                       ) -> ModelReply:
        await self.gate.wait()
        return ModelReply(text="done", usage=Usage(1, 1))

    async def stream(self, *, system: str, history: Sequence[Turn], tools: Sequence[FunctionDeclaration]
                     ) -> AsyncIterator[TextDelta | ModelReply]:
        await self.gate.wait()
        yield TextDelta("done")
        yield ModelReply(text="done", usage=Usage(1, 1))


async def _message_count(resources: Any, user_id: uuid.UUID) -> int:
    async with resources.engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT count(*) FROM messages WHERE user_id = :u"),
                                       {"u": user_id})).scalar_one())


async def test_at_most_three_replies_in_flight_per_user(gql: GraphQLClient, resources: Any) -> None:
    # given: three replies being written (held by the gate)
    model = GatedModel()
    resources.chat_model = model
    user, other = await gql.register(), await gql.register()
    user_id = from_global_id(user["user_id"])[1]  # type: ignore[index]
    replies = [await send(gql, user["token"], f"Question {i}") for i in range(3)]
    assert all(r["errors"] == [] and r["reply"]["state"] == "STREAMING" for r in replies)
    assert await _message_count(resources, user_id) == 6
    # when: a fourth
    refused = await send(gql, user["token"], "Question 4")
    # then: refused, and nothing is stored; another user is not limited by them
    assert refused == {"conversation": None, "userMessage": None, "reply": None,
                       "errors": [{"field": None, "message": refused["errors"][0]["message"], "code": "RATE_LIMITED"}]}
    assert await _message_count(resources, user_id) == 6
    assert (await send(gql, other["token"], "Question of another user"))["errors"] == []
    # when the replies finish, the user may ask again
    model.gate.set()
    await settle(resources)
    again = await send(gql, user["token"], "Question 5")
    assert again["errors"] == []
    await settle(resources)
    assert await _message_count(resources, user_id) == 8


async def test_another_users_conversation_is_invisible(gql: GraphQLClient, resources: Any) -> None:
    # given: the owner's conversation about their data, and a stranger with data of their own
    owner, stranger = await gql.register(), await gql.register()
    await groceries_scenario(gql, owner["token"])
    mine = await ledger.account(gql, stranger["token"], "Stranger's", opening="0")
    await ledger.create(gql, stranger["token"], mine["id"], "-999.00", "2026-08-10", description="YACHT")
    sent = await send(gql, owner["token"], "How much did I spend between August 1 and August 31, 2026?")
    await settle(resources)
    conversation_id, reply_id = sent["conversation"]["id"], sent["reply"]["id"]
    # then: the owner's tools saw only the owner's 140.00, never the stranger's 999.00
    owner_view = (await gql(CONVERSATION, {"id": conversation_id}, token=owner["token"])).ok()["conversation"]
    reply = owner_view["messages"]["edges"][1]["node"]
    assert reply["toolCalls"][0]["result"]["total"]["amount"] == "140.00" and "999" not in reply["content"]
    # and the stranger cannot see, continue or delete it
    assert (await gql(CONVERSATION, {"id": conversation_id}, token=stranger["token"])).ok()["conversation"] is None
    assert (await gql(NODE, {"id": reply_id}, token=stranger["token"])).ok()["node"] is None
    assert (await gql(NODE, {"id": conversation_id}, token=stranger["token"])).ok()["node"] is None
    assert (await gql(CONVERSATIONS, token=stranger["token"])).ok()["conversations"]["totalCount"] == 0
    refused = await send(gql, stranger["token"], "And last month?", conversationId=conversation_id)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("conversationId", "NOT_FOUND")]
    deleted = (await gql(DELETE, {"id": conversation_id}, token=stranger["token"])).ok()["conversationDelete"]
    assert deleted == {"deletedId": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    # a client id already taken by the owner's conversation is a CONFLICT, not a way in
    taken = await send(gql, stranger["token"], "Hello", id=conversation_id)
    assert [(e["field"], e["code"]) for e in taken["errors"]] == [("id", "CONFLICT")]
    assert (await gql(CONVERSATION, {"id": conversation_id}, token=owner["token"])).ok()["conversation"] is not None
    assert (await gql(CONVERSATION, {"id": to_global_id("Account", uuid.UUID(int=1))},
                      token=owner["token"])).ok()["conversation"] is None


async def test_client_id_retry_and_delete(gql: GraphQLClient, resources: Any) -> None:
    # given: a conversation started with a client-chosen id
    user = await gql.register()
    chosen = to_global_id("Conversation", uuid.uuid4())
    first = await send(gql, user["token"], "What is my net worth?", id=chosen)
    # when: the same request is retried
    retried = await send(gql, user["token"], "What is my net worth?", id=chosen)
    await settle(resources)
    # then: the first result, and nothing more is stored or started
    assert first["conversation"]["id"] == chosen and retried["conversation"]["id"] == chosen
    assert retried["reply"]["id"] == first["reply"]["id"]
    data = (await gql(CONVERSATION, {"id": chosen}, token=user["token"])).ok()["conversation"]
    assert data["messages"]["totalCount"] == 2
    reply = data["messages"]["edges"][1]["node"]
    assert reply["toolCalls"][0]["name"] == "net_worth"
    assert reply["toolCalls"][0]["result"]["net_worth"] == {"amount": "0.00", "currency": "EUR"}
    # another input with the same id is a conflict
    other = await send(gql, user["token"], "Something else", id=chosen)
    assert [(e["field"], e["code"]) for e in other["errors"]] == [("id", "CONFLICT")]
    # and empty or too long questions are refused
    assert [(e["field"], e["code"]) for e in (await send(gql, user["token"], "  "))["errors"]] == [
        ("content", "REQUIRED")]
    assert [(e["field"], e["code"]) for e in (await send(gql, user["token"], "x" * 4001))["errors"]] == [
        ("content", "TOO_LONG")]
    # when deleted, it is gone with its messages
    deleted = (await gql(DELETE, {"id": chosen}, token=user["token"])).ok()["conversationDelete"]
    assert deleted == {"deletedId": chosen, "errors": []}
    assert (await gql(CONVERSATION, {"id": chosen}, token=user["token"])).ok()["conversation"] is None
    user_id = from_global_id(user["user_id"])[1]  # type: ignore[index]
    assert await _message_count(resources, user_id) == 0


async def test_a_reply_whose_process_died_fails_when_its_conversation_is_followed(gql: GraphQLClient,
                                                                                   resources: Any) -> None:
    # given: a STREAMING reply without a lease (its process died), as left by a crash
    from app.auth.models import Scope
    from app.auth.principal import Principal
    from app.chat import service
    from app.db import new_id

    user = await gql.register()
    user_id = from_global_id(user["user_id"])[1]  # type: ignore[index]
    conversation, message = uuid.uuid4(), uuid.uuid4()
    async with resources.engine.begin() as conn:
        await conn.execute(sa.text("INSERT INTO conversations (id, user_id, title) VALUES (:c, :u, 'x')"),
                           {"c": conversation, "u": user_id})
        await conn.execute(sa.text("INSERT INTO messages (id, conversation_id, user_id, role, state) "
                                   "VALUES (:m, :c, :u, 'ASSISTANT', 'STREAMING')"),
                           {"m": message, "c": conversation, "u": user_id})
    principal = Principal(user_id=user_id, email=user["email"], base_currency="EUR", time_zone="UTC",
                          scope=Scope.READ_WRITE, token_id=new_id())
    # when: its conversation is followed
    chunks = service.follow(resources, principal, conversation)
    try:
        first = await asyncio.wait_for(anext(chunks), 10)
    finally:
        await chunks.aclose()
    # then: the follower hears that it failed, and it is stored FAILED
    assert (first.message_id, first.kind, first.fields["code"]) == (message, "ERROR", "INTERRUPTED")
    async with resources.engine.connect() as conn:
        state = (await conn.execute(sa.text("SELECT state, error FROM messages WHERE id = :m"),
                                    {"m": message})).one()
    assert tuple(state) == ("FAILED", "INTERRUPTED")
