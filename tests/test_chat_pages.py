"""`conversations { messages }`: every conversation's page of messages comes from one statement (and
`totalCount` from one more), whatever the number of conversations, and each page is that conversation's own."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from app.graphql.node import from_global_id, to_global_id
from tests.support import GraphQLClient, count_queries

LISTED = """query($first: Int, $last: Int, $after: String) { conversations(first: 50) { edges { node { id
  messages(first: $first, last: $last, after: $after) { totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { id content } } } } } } }"""


async def _conversations(resources: Any, user: dict[str, Any], sizes: list[int]) -> dict[str, list[str]]:
    """Conversations with `sizes[i]` messages each, written with SQL; {conversation id: contents oldest first}."""
    user_id = from_global_id(user["user_id"])[1]  # type: ignore[index]
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    out: dict[str, list[str]] = {}
    async with resources.engine.begin() as conn:
        for i, size in enumerate(sizes):
            conversation = uuid.uuid4()
            await conn.execute(sa.text("INSERT INTO conversations (id, user_id, title, updated_at) "
                                       "VALUES (:c, :u, :t, :at)"),
                               {"c": conversation, "u": user_id, "t": f"c{i}", "at": start + dt.timedelta(hours=i)})
            contents = [f"c{i} m{j}" for j in range(size)]
            for j, content in enumerate(contents):
                await conn.execute(sa.text(
                    "INSERT INTO messages (id, conversation_id, user_id, role, state, content, created_at) "
                    "VALUES (:m, :c, :u, :role, 'COMPLETE', :content, :at)"),
                    {"m": uuid.uuid4(), "c": conversation, "u": user_id, "content": content,
                     "role": "USER" if j % 2 == 0 else "ASSISTANT", "at": start + dt.timedelta(minutes=j)})
            out[to_global_id("Conversation", conversation)] = contents
    return out


async def _listed(gql: GraphQLClient, resources: Any, token: str, variables: dict[str, Any]
                  ) -> tuple[dict[str, Any], int]:
    with count_queries(resources.engine) as counter:
        data = (await gql(LISTED, variables, token=token)).ok()["conversations"]
    return {e["node"]["id"]: e["node"]["messages"] for e in data["edges"]}, counter.count


async def test_each_conversation_gets_its_own_page_in_one_statement(gql: GraphQLClient, resources: Any) -> None:
    # given: a user with conversations of 0..4 messages, and a stranger with messages of their own
    user = await gql.register()
    stranger = await gql.register()
    mine = await _conversations(resources, user, [3, 0, 4, 1, 2])
    await _conversations(resources, stranger, [5])
    # when: the first two messages of each
    pages, statements = await _listed(gql, resources, user["token"], {"first": 2})
    # then
    assert set(pages) == set(mine)
    for conversation, contents in mine.items():
        page = pages[conversation]
        assert [e["node"]["content"] for e in page["edges"]] == contents[:2]
        assert page["totalCount"] == len(contents)
        assert page["pageInfo"]["hasNextPage"] is (len(contents) > 2)
        assert page["pageInfo"]["hasPreviousPage"] is False
    # the last message of each, backwards
    pages_last, _ = await _listed(gql, resources, user["token"], {"last": 1})
    for conversation, contents in mine.items():
        page = pages_last[conversation]
        assert [e["node"]["content"] for e in page["edges"]] == contents[-1:]
        assert page["pageInfo"]["hasPreviousPage"] is (len(contents) > 1)
    # and the statement count does not grow with the conversations: one user with one conversation
    other = await gql.register()
    await _conversations(resources, other, [3])
    _, single = await _listed(gql, resources, other["token"], {"first": 2})
    assert statements == single, (statements, single)


async def test_a_cursor_continues_every_page_after_it(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    mine = await _conversations(resources, user, [4])
    [conversation] = mine
    first, _ = await _listed(gql, resources, user["token"], {"first": 2})
    # when
    rest, _ = await _listed(gql, resources, user["token"], {"first": 2, "after": first[conversation]["pageInfo"]
                                                                                      ["endCursor"]})
    # then
    assert [e["node"]["content"] for e in rest[conversation]["edges"]] == mine[conversation][2:]
    assert rest[conversation]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True,
                                              "endCursor": rest[conversation]["pageInfo"]["endCursor"]}
