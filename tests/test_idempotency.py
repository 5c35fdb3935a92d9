"""Idempotent mutations: a client `id` on creates (`apiTokenCreate`) and an `idempotencyKey` elsewhere
(`meUpdate`). The same id or key with the same input returns the first result and writes nothing; with
another input it is CONFLICT; keys belong to one user; concurrent retries write once.

Every test commits for real on its own cloned database, and the concurrent ones run each call in its own
context and session, so the retries really race in Postgres.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa

from app.graphql.node import from_global_id, to_global_id
from app.resources import Resources
from tests.support import GraphQLClient

API_CREATE = """mutation($input: ApiTokenCreateInput!) { apiTokenCreate(input: $input) {
  apiToken { id name scope } token errors { field code } } }"""
API_TOKENS = "{ apiTokens(first: 100) { totalCount edges { node { id name scope } } } }"
ME_UPDATE = """mutation($input: MeUpdateInput!) { meUpdate(input: $input) {
  user { id name baseCurrency timeZone } errors { field code } } }"""
ME = "{ me { id name baseCurrency timeZone } }"


def _client_id() -> str:
    return to_global_id("ApiToken", uuid.uuid4())


async def _scalar(resources: Resources, sql: str, **params: Any) -> Any:
    async with resources.sessionmaker() as session:
        return (await session.execute(sa.text(sql), params)).scalar_one()


async def _token_rows(resources: Resources, user: dict[str, Any]) -> list[tuple[uuid.UUID, str]]:
    """(id, name) of the user's API tokens, read with SQL rather than through the API."""
    user_id = from_global_id(user["user_id"])[1]  # type: ignore[index]
    async with resources.sessionmaker() as session:
        rows = await session.execute(sa.text("select id, name from api_tokens where user_id = :u order by name"),
                                     {"u": user_id})
        return [(r.id, r.name) for r in rows]


async def _updated_at(resources: Resources, user: dict[str, Any]) -> Any:
    user_id = from_global_id(user["user_id"])[1]  # type: ignore[index]
    return await _scalar(resources, "select updated_at from users where id = :u", u=user_id)


# --- client id on a create ------------------------------------------------------------------------------


async def test_create_with_the_same_client_id_twice_creates_once(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    client_id = _client_id()
    variables = {"input": {"id": client_id, "name": "deploy bot", "scope": "READ_WRITE"}}
    first = (await gql(API_CREATE, variables, token=user["token"])).ok()["apiTokenCreate"]
    # when: the client retries (say, the first response was lost)
    again = (await gql(API_CREATE, variables, token=user["token"])).ok()["apiTokenCreate"]
    # then: the same token, created once; its secret is not stored, so only the first response shows it
    assert first["errors"] == [] and again["errors"] == []
    assert first["apiToken"] == {"id": client_id, "name": "deploy bot", "scope": "READ_WRITE"}
    assert again["apiToken"] == first["apiToken"]
    assert first["token"].startswith("flo_")
    assert again["token"] is None
    listed = (await gql(API_TOKENS, token=user["token"])).ok()["apiTokens"]
    assert listed["totalCount"] == 1
    assert [e["node"]["id"] for e in listed["edges"]] == [client_id]
    assert await _token_rows(resources, user) == [(from_global_id(client_id)[1], "deploy bot")]  # type: ignore[index]
    assert await _scalar(resources, "select count(*) from audit_log where action = 'api_token.create'") == 1
    assert await _scalar(resources, "select count(*) from idempotency_keys") == 1


async def test_same_client_id_with_another_input_is_conflict(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    client_id = _client_id()
    first = await gql(API_CREATE, {"input": {"id": client_id, "name": "first"}}, token=user["token"])
    assert first.ok()["apiTokenCreate"]["errors"] == []
    # when: the same id with another name, then with another scope
    renamed = await gql(API_CREATE, {"input": {"id": client_id, "name": "second"}}, token=user["token"])
    rescoped = await gql(API_CREATE, {"input": {"id": client_id, "name": "first", "scope": "READ_WRITE"}},
                         token=user["token"])
    # then
    for result in (renamed, rescoped):
        payload = result.ok()["apiTokenCreate"]
        assert payload == {"apiToken": None, "token": None, "errors": [{"field": "id", "code": "CONFLICT"}]}
    listed = (await gql(API_TOKENS, token=user["token"])).ok()["apiTokens"]
    assert listed["totalCount"] == 1
    assert listed["edges"][0]["node"] == {"id": client_id, "name": "first", "scope": "READ"}
    assert await _token_rows(resources, user) == [(from_global_id(client_id)[1], "first")]  # type: ignore[index]


async def test_client_id_taken_by_another_user_is_conflict(gql: GraphQLClient, resources: Resources) -> None:
    # given: user A created a token with a client id
    a = await gql.register()
    b = await gql.register()
    client_id = _client_id()
    created = await gql(API_CREATE, {"input": {"id": client_id, "name": "mine"}}, token=a["token"])
    assert created.ok()["apiTokenCreate"]["errors"] == []
    # when: user B sends the same id (same input, too)
    taken = await gql(API_CREATE, {"input": {"id": client_id, "name": "mine"}}, token=b["token"])
    # then: a CONFLICT on `id`, not a masked server error, and nothing of B's is written
    assert taken.errors == []
    assert taken.data["apiTokenCreate"] == {"apiToken": None, "token": None,
                                            "errors": [{"field": "id", "code": "CONFLICT"}]}
    assert await _token_rows(resources, b) == []
    assert await _token_rows(resources, a) == [(from_global_id(client_id)[1], "mine")]  # type: ignore[index]
    assert await _scalar(resources, "select count(*) from idempotency_keys") == 1
    # and B's retry is refused the same way, while a fresh id works
    again = (await gql(API_CREATE, {"input": {"id": client_id, "name": "mine"}}, token=b["token"])).ok()
    assert again["apiTokenCreate"]["errors"] == [{"field": "id", "code": "CONFLICT"}]
    fresh = (await gql(API_CREATE, {"input": {"id": _client_id(), "name": "mine"}}, token=b["token"])).ok()
    assert fresh["apiTokenCreate"]["errors"] == []


async def test_concurrent_creates_with_the_same_client_id_write_once(gql: GraphQLClient,
                                                                     resources: Resources) -> None:
    # given
    user = await gql.register()
    client_ids = [_client_id() for _ in range(5)]
    for client_id in client_ids:
        variables = {"input": {"id": client_id, "name": f"race {client_id}"}}
        # when: two identical requests at once, each with its own context and session
        results = await asyncio.gather(gql(API_CREATE, variables, token=user["token"]),
                                       gql(API_CREATE, variables, token=user["token"]))
        # then: both succeed with the same token, and exactly one of them carries the secret
        payloads = [r.ok()["apiTokenCreate"] for r in results]
        assert [p["errors"] for p in payloads] == [[], []]
        assert [p["apiToken"]["id"] for p in payloads] == [client_id, client_id]
        assert sorted(p["token"] is None for p in payloads) == [False, True]
    listed = (await gql(API_TOKENS, token=user["token"])).ok()["apiTokens"]
    assert listed["totalCount"] == 5
    assert sorted(e["node"]["id"] for e in listed["edges"]) == sorted(client_ids)
    assert len(await _token_rows(resources, user)) == 5
    assert await _scalar(resources, "select count(*) from audit_log where action = 'api_token.create'") == 5


# --- idempotency key on an update -----------------------------------------------------------------------


async def test_update_with_the_same_key_twice_applies_once(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register(name="Before")
    update = {"input": {"name": "After", "timeZone": "Europe/Berlin", "idempotencyKey": "k-1"}}
    first = (await gql(ME_UPDATE, update, token=user["token"])).ok()["meUpdate"]
    stamped = await _updated_at(resources, user)
    # when
    again = (await gql(ME_UPDATE, update, token=user["token"])).ok()["meUpdate"]
    # then: the same result, and the replay wrote nothing
    assert first == {"user": {"id": user["user_id"], "name": "After", "baseCurrency": "EUR",
                              "timeZone": "Europe/Berlin"}, "errors": []}
    assert again == first
    assert await _updated_at(resources, user) == stamped


async def test_replayed_update_does_not_undo_a_later_change(gql: GraphQLClient) -> None:
    # given: an update with a key, then another change without one
    user = await gql.register(name="Before")
    keyed = {"input": {"name": "Keyed", "idempotencyKey": "k-late"}}
    assert (await gql(ME_UPDATE, keyed, token=user["token"])).ok()["meUpdate"]["errors"] == []
    later = {"input": {"name": "Later"}}
    assert (await gql(ME_UPDATE, later, token=user["token"])).ok()["meUpdate"]["errors"] == []
    # when: a late retry of the keyed update arrives
    replay = (await gql(ME_UPDATE, keyed, token=user["token"])).ok()["meUpdate"]
    # then: it is acknowledged but not applied again
    assert replay["errors"] == []
    assert (await gql(ME, token=user["token"])).ok()["me"]["name"] == "Later"


async def test_same_key_with_another_input_is_conflict(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register(name="Before")
    first = await gql(ME_UPDATE, {"input": {"name": "First", "idempotencyKey": "k-2"}}, token=user["token"])
    assert first.ok()["meUpdate"]["errors"] == []
    stamped = await _updated_at(resources, user)
    # when: the same key with another value, and with another set of fields
    other_value = await gql(ME_UPDATE, {"input": {"name": "Second", "idempotencyKey": "k-2"}}, token=user["token"])
    other_fields = await gql(ME_UPDATE, {"input": {"name": "First", "timeZone": "Asia/Tokyo", "idempotencyKey": "k-2"}},
                             token=user["token"])
    # then
    for result in (other_value, other_fields):
        payload = result.ok()["meUpdate"]
        assert payload == {"user": None, "errors": [{"field": "idempotencyKey", "code": "CONFLICT"}]}
    me = (await gql(ME, token=user["token"])).ok()["me"]
    assert (me["name"], me["timeZone"]) == ("First", "UTC")
    assert await _updated_at(resources, user) == stamped


async def test_overlong_key_is_too_long_and_changes_nothing(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register(name="Before")
    # when
    result = await gql(ME_UPDATE, {"input": {"name": "After", "idempotencyKey": "k" * 1000}}, token=user["token"])
    # then
    assert result.ok()["meUpdate"] == {"user": None, "errors": [{"field": "idempotencyKey", "code": "TOO_LONG"}]}
    assert (await gql(ME, token=user["token"])).ok()["me"]["name"] == "Before"
    assert await _scalar(resources, "select count(*) from idempotency_keys") == 0
    # a long but reasonable key (a UUID or a hash, say) is fine
    ok = await gql(ME_UPDATE, {"input": {"name": "After", "idempotencyKey": "k" * 128}}, token=user["token"])
    assert ok.ok()["meUpdate"]["errors"] == []


async def test_keys_belong_to_one_user(gql: GraphQLClient) -> None:
    # given: user A used a key
    a = await gql.register(name="A")
    b = await gql.register(name="B")
    used = await gql(ME_UPDATE, {"input": {"name": "A2", "idempotencyKey": "shared"}}, token=a["token"])
    assert used.ok()["meUpdate"]["errors"] == []
    # when: user B uses the same key with another input
    other = (await gql(ME_UPDATE, {"input": {"name": "B2", "idempotencyKey": "shared"}}, token=b["token"])).ok()
    # then: no conflict, B's change is applied, and A's profile is untouched
    assert other["meUpdate"] == {"user": {"id": b["user_id"], "name": "B2", "baseCurrency": "EUR",
                                          "timeZone": "UTC"}, "errors": []}
    assert (await gql(ME, token=a["token"])).ok()["me"]["name"] == "A2"
    assert (await gql(ME, token=b["token"])).ok()["me"]["name"] == "B2"


async def test_concurrent_updates_with_the_same_key_apply_once(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register(name="Before")
    for round_ in range(5):
        update = {"input": {"name": f"Race {round_}", "idempotencyKey": f"race-{round_}"}}
        # when
        results = await asyncio.gather(gql(ME_UPDATE, update, token=user["token"]),
                                       gql(ME_UPDATE, update, token=user["token"]))
        # then
        payloads = [r.ok()["meUpdate"] for r in results]
        assert payloads[0] == payloads[1]
        assert payloads[0]["errors"] == []
        assert payloads[0]["user"]["name"] == f"Race {round_}"
    assert (await gql(ME, token=user["token"])).ok()["me"]["name"] == "Race 4"
    assert await _scalar(resources, "select count(*) from idempotency_keys where key like 'meUpdate:race-%'") == 5
