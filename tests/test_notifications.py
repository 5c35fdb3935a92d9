"""The notification feed: `notifications` (newest first, unread filter, keyset pages), `notificationsMarkRead`
(read and unread, idempotency, foreign ids refused with nothing changed), and isolation between users."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from app.db import unit_of_work
from app.graphql.node import from_global_id, to_global_id
from app.notifications.models import NotificationKind
from app.notifications.service import notify
from tests.support import GraphQLClient, assert_max_queries

PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $unread: Boolean) {
  notifications(first: $first, after: $after, last: $last, before: $before, unread: $unread) {
    totalCount edges { cursor node { id kind title body data createdAt readAt read } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
MARK = """mutation($input: NotificationsMarkReadInput!) { notificationsMarkRead(input: $input) {
  notifications { id title read readAt } count unreadCount errors { field message code } } }"""
NODE = """query($id: ID!) { node(id: $id) { id ... on Notification { title kind read } } }"""


def user_uuid(user: dict[str, Any]) -> uuid.UUID:
    decoded = from_global_id(user["user_id"])
    assert decoded is not None and decoded[0] == "User"
    return decoded[1]


async def notify_all(resources: Any, user: dict[str, Any], titles: list[str],
                     kind: NotificationKind = NotificationKind.BUDGET_ALERT) -> list[str]:
    """One notification per title, each in its own unit of work, oldest first; returns their global ids."""
    ids = []
    for i, title in enumerate(titles):
        async with unit_of_work(resources) as uow:
            row = await notify(uow, user_uuid(user), kind=kind, title=title, body=f"body {i}",
                               data={"threshold": 80, "position": i, "amount": "12.50"})
        ids.append(to_global_id("Notification", row.id))
    return ids


async def read_states(resources: Any) -> dict[uuid.UUID, bool]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(sa.text("SELECT id, read_at IS NOT NULL FROM notifications"))
        return {row[0]: row[1] for row in rows}


def titles(result: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in result["notifications"]["edges"]]


async def test_pages_are_newest_first_with_an_unread_filter(gql: GraphQLClient, resources: Any) -> None:
    # given: five notifications, the second and fourth read
    user = await gql.register()
    ids = await notify_all(resources, user, ["n0", "n1", "n2", "n3", "n4"])
    marked = (await gql(MARK, {"input": {"ids": [ids[1], ids[3]]}}, token=user["token"])).ok()["notificationsMarkRead"]
    assert marked["errors"] == [] and marked["count"] == 2
    # when: the first page of two
    first = (await gql(PAGE, {"first": 2}, token=user["token"])).ok()
    # then: newest first, every field
    assert titles(first) == ["n4", "n3"] and first["notifications"]["totalCount"] == 5
    node = first["notifications"]["edges"][0]["node"]
    assert (node["id"], node["kind"], node["body"], node["data"], node["read"], node["readAt"]) == (
        ids[4], "BUDGET_ALERT", "body 4", {"threshold": 80, "position": 4, "amount": "12.50"}, False, None)
    assert first["notifications"]["edges"][1]["node"]["read"] is True
    assert first["notifications"]["edges"][1]["node"]["readAt"] is not None
    # when: the following pages
    second = (await gql(PAGE, {"first": 2, "after": first["notifications"]["pageInfo"]["endCursor"]},
                        token=user["token"])).ok()
    third = (await gql(PAGE, {"first": 2, "after": second["notifications"]["pageInfo"]["endCursor"]},
                       token=user["token"])).ok()
    # then
    assert titles(second) == ["n2", "n1"] and titles(third) == ["n0"]
    assert third["notifications"]["pageInfo"]["hasNextPage"] is False
    assert second["notifications"]["pageInfo"]["hasPreviousPage"] is True
    # when: backwards from the last page
    back = (await gql(PAGE, {"last": 2, "before": third["notifications"]["pageInfo"]["startCursor"]},
                      token=user["token"])).ok()
    assert titles(back) == ["n2", "n1"]
    # when: only unread, then only read
    unread = (await gql(PAGE, {"unread": True}, token=user["token"])).ok()
    read = (await gql(PAGE, {"unread": False}, token=user["token"])).ok()
    # then
    assert titles(unread) == ["n4", "n2", "n0"] and unread["notifications"]["totalCount"] == 3
    assert titles(read) == ["n3", "n1"] and read["notifications"]["totalCount"] == 2
    # when: paging the unread list
    page = (await gql(PAGE, {"unread": True, "first": 2}, token=user["token"])).ok()
    rest = (await gql(PAGE, {"unread": True, "first": 2, "after": page["notifications"]["pageInfo"]["endCursor"]},
                      token=user["token"])).ok()
    assert titles(page) == ["n4", "n2"] and titles(rest) == ["n0"]
    # and bad page arguments are top-level errors
    assert (await gql(PAGE, {"first": 101}, token=user["token"])).codes == ["BAD_USER_INPUT"]
    assert (await gql(PAGE, {"after": "garbage"}, token=user["token"])).codes == ["BAD_USER_INPUT"]


async def test_a_page_runs_a_constant_number_of_statements(gql: GraphQLClient, resources: Any) -> None:
    from app.graphql.context import build_context

    user = await gql.register()
    await notify_all(resources, user, [f"n{i}" for i in range(30)])
    for size in (3, 30):
        context = await build_context(resources, authorization=f"Bearer {user['token']}")
        with assert_max_queries(resources.engine, 2):  # the page and its count
            result = await gql.schema.execute(PAGE, variable_values={"first": size}, context_value=context)
        assert result.errors is None and len(result.data["notifications"]["edges"]) == size


async def test_mark_read_and_unread_with_idempotency(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    ids = await notify_all(resources, user, ["a", "b", "c", "d"])
    token = user["token"]
    # when: two are marked read
    done = (await gql(MARK, {"input": {"ids": [ids[0], ids[2]]}}, token=token)).ok()["notificationsMarkRead"]
    # then: both changed, newest first, and two remain unread
    assert [(n["id"], n["title"], n["read"]) for n in done["notifications"]] == [(ids[2], "c", True),
                                                                                 (ids[0], "a", True)]
    assert all(n["readAt"] for n in done["notifications"])
    assert (done["count"], done["unreadCount"], done["errors"]) == (2, 2, [])
    # when: the same again: nothing changes
    again = (await gql(MARK, {"input": {"ids": [ids[0], ids[2]]}}, token=token)).ok()["notificationsMarkRead"]
    assert (again["notifications"], again["count"], again["unreadCount"]) == ([], 0, 2)
    # when: one is marked unread again with an idempotency key
    key = {"ids": [ids[0]], "read": False, "idempotencyKey": "unread-a"}
    undone = (await gql(MARK, {"input": key}, token=token)).ok()["notificationsMarkRead"]
    assert [(n["id"], n["read"], n["readAt"]) for n in undone["notifications"]] == [(ids[0], False, None)]
    assert (undone["count"], undone["unreadCount"]) == (1, 3)
    # and read again without a key
    (await gql(MARK, {"input": {"ids": [ids[0]]}}, token=token)).ok()
    before = await read_states(resources)
    # when: the keyed request is retried
    replay = (await gql(MARK, {"input": key}, token=token)).ok()["notificationsMarkRead"]
    # then: the first result, and nothing was written
    assert replay["count"] == 1 and [n["id"] for n in replay["notifications"]] == [ids[0]]
    assert await read_states(resources) == before
    # when: the key with another input
    other = (await gql(MARK, {"input": {**key, "read": True}}, token=token)).ok()["notificationsMarkRead"]
    assert other["errors"] == [{"field": "idempotencyKey", "message": other["errors"][0]["message"],
                                "code": "CONFLICT"}]
    assert await read_states(resources) == before
    # when: all are marked read (no ids)
    everything = (await gql(MARK, {"input": {}}, token=token)).ok()["notificationsMarkRead"]
    # then: the two unread ones changed; the list is left empty for a mark-all
    assert (everything["notifications"], everything["count"], everything["unreadCount"]) == ([], 2, 0)
    assert set((await read_states(resources)).values()) == {True}
    # when: all unread again
    none_read = (await gql(MARK, {"input": {"read": False}}, token=token)).ok()["notificationsMarkRead"]
    assert (none_read["count"], none_read["unreadCount"]) == (4, 4)


async def test_foreign_wrong_type_and_unknown_ids_are_refused_and_nothing_changes(gql: GraphQLClient,
                                                                                  resources: Any) -> None:
    # given
    user, stranger = await gql.register(), await gql.register()
    mine = await notify_all(resources, user, ["mine"])
    theirs = await notify_all(resources, stranger, ["theirs"])
    before = await read_states(resources)
    wrong_type = to_global_id("Transaction", from_global_id(mine[0])[1])  # type: ignore[index]
    unknown = to_global_id("Notification", uuid.uuid4())
    # when
    result = (await gql(MARK, {"input": {"ids": [mine[0], theirs[0], wrong_type, unknown, "garbage"]}},
                        token=user["token"])).ok()["notificationsMarkRead"]
    # then: every bad id is named, and even the user's own notification stays unread
    assert [(e["field"], e["code"]) for e in result["errors"]] == [
        ("ids.1", "NOT_FOUND"), ("ids.2", "NOT_FOUND"), ("ids.3", "NOT_FOUND"), ("ids.4", "NOT_FOUND")]
    assert (result["notifications"], result["count"]) == ([], 0)
    assert await read_states(resources) == before
    # when: too many ids at once
    many = (await gql(MARK, {"input": {"ids": mine * 101}}, token=user["token"])).ok()["notificationsMarkRead"]
    assert [(e["field"], e["code"]) for e in many["errors"]] == [("ids", "LIMIT_EXCEEDED")]
    # when: the stranger marks all of theirs read
    (await gql(MARK, {"input": {}}, token=stranger["token"])).ok()
    # then: the user's are untouched
    after = await read_states(resources)
    assert after[from_global_id(mine[0])[1]] is False  # type: ignore[index]
    assert after[from_global_id(theirs[0])[1]] is True  # type: ignore[index]


async def test_each_user_sees_only_their_own(gql: GraphQLClient, resources: Any) -> None:
    # given
    user, stranger = await gql.register(), await gql.register()
    mine = await notify_all(resources, user, ["goal half way"], kind=NotificationKind.GOAL_MILESTONE)
    await notify_all(resources, stranger, ["theirs 1", "theirs 2"])
    # when / then: lists
    own = (await gql(PAGE, {}, token=user["token"])).ok()
    assert titles(own) == ["goal half way"] and own["notifications"]["totalCount"] == 1
    assert own["notifications"]["edges"][0]["node"]["kind"] == "GOAL_MILESTONE"
    assert (await gql(PAGE, {}, token=stranger["token"])).ok()["notifications"]["totalCount"] == 2
    # node lookups
    assert (await gql(NODE, {"id": mine[0]}, token=user["token"])).ok()["node"] == {
        "id": mine[0], "title": "goal half way", "kind": "GOAL_MILESTONE", "read": False}
    assert (await gql(NODE, {"id": mine[0]}, token=stranger["token"])).ok()["node"] is None
    # and without a token
    assert (await gql(PAGE, {})).codes == ["UNAUTHENTICATED"]
