"""`meDelete`: after the password is checked again (a session or an API token alike), the user and every row
that references them, in every table of the models, are gone; the audit log keeps the deletion; another user's
data is untouched; every token of the erased user stops working. A wrong password deletes nothing and backs off
like a failed sign-in."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from app.resources import Resources
from tests.ledger import TX_DELETE, account, create
from tests.privacy import db_id, ledger_of, prepared, request_export, sql
from tests.support import PASSWORD, GraphQLClient
from tests.test_goals import new_goal
from tests.test_security import asgi_client

DELETE = """mutation($input: MeDeleteInput!) { meDelete(input: $input) { deletedUserId errors { field message code } } }"""
ME = "{ me { id email } }"
KEPT = {"audit_log"}
"""Tables that keep rows of an erased user by design (the audit log has no foreign key to users)."""


def tables_of_users() -> dict[str, list[str]]:
    """Every table of the models with the columns that reference a user: `user_id`, or any foreign key to users."""
    from app.models import metadata

    found: dict[str, list[str]] = {"users": ["id"]}
    for table in metadata.tables.values():
        columns = [c.name for c in table.columns
                   if c.name == "user_id" or any(fk.column.table.name == "users" for fk in c.foreign_keys)]
        if columns and table.name != "users":
            found[table.name] = columns
    return found


async def rows_of(resources: Resources, user_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each table reference `user_id` (counted table by table, with plain SQL)."""
    counts = {}
    async with resources.sessionmaker() as session:
        for table, columns in sorted(tables_of_users().items()):
            where = " or ".join(f"{column} = :u" for column in columns)
            counts[table] = (await session.execute(sa.text(f"select count(*) from {table} where {where}"),
                                                   {"u": user_id})).scalar_one()
    return counts


async def everything(gql: GraphQLClient, resources: Resources, name: str) -> dict[str, Any]:
    """A user with rows in as many tables as the API can reach today."""
    user = await ledger_of(gql, name)
    token = user["token"]
    # a second session, signed out again (refresh tokens, a revoked access token)
    login = (await gql("""mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) {
                            accessToken refreshToken } }""", {"e": user["email"], "p": PASSWORD})).ok()["authLogin"]
    assert (await gql("mutation { authLogout { ok } }", token=login["accessToken"])).ok()["authLogout"]["ok"]
    api = (await gql('mutation { apiTokenCreate(input: {name: "ci", scope: READ_WRITE}) { token } }',
                     token=token)).ok()["apiTokenCreate"]["token"]
    # a budget alert (200 of 300 spent on groceries: 50 %), a goal linked to an account, a tombstone
    await create(gql, token, user["checking"]["id"], "-200.00", "2026-11-06", categoryId=user["groceries"])
    await new_goal(gql, token, name=f"{name} linked", accountIds=[user["card"]["id"]])
    gone = await create(gql, token, user["checking"]["id"], "-1.00", "2026-11-07")
    assert (await gql(TX_DELETE, {"id": gone["id"]}, token=token)).ok()["transactionDelete"]["errors"] == []
    house = await account(gql, token, f"{name} house", "EUR", "0", kind="PROPERTY")
    valued = (await gql("""mutation($input: ValuationRecordInput!) { valuationRecord(input: $input) {
                             errors { code } } }""", {"input": {"accountId": house["id"], "value": "250000.00",
                                                                "day": "2026-11-01", "idempotencyKey": "v1"}},
                        token=token)).ok()["valuationRecord"]
    assert valued["errors"] == []
    rate = (await gql("""mutation { exchangeRateSet(input: {base: "USD", quote: "EUR", rate: "0.9", day: "2026-11-01"})
                           { errors { code } } }""", token=token)).ok()["exchangeRateSet"]
    assert rate["errors"] == []
    export = await prepared(gql, resources, user)
    return {**user, "api": api, "export": export}


async def test_erasing_removes_every_row_of_the_user_in_every_table_and_nothing_else(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: two users with data everywhere
    alice = await everything(gql, resources, "alice")
    bob = await everything(gql, resources, "bob")
    alice_id, bob_id = db_id(alice["user_id"]), db_id(bob["user_id"])
    before = await rows_of(resources, alice_id)
    bob_before = await rows_of(resources, bob_id)
    filled = {"users", "accounts", "transactions", "transaction_splits", "categories", "deletions", "balances",
              "valuations", "exchange_rates", "budgets", "budget_lines", "budget_alerts", "goals", "goal_accounts",
              "goal_contributions", "goal_milestones", "notifications", "refresh_tokens", "revoked_access_tokens",
              "api_tokens", "idempotency_keys", "data_exports", "audit_log"}
    assert {table for table, n in before.items() if n} >= filled, before  # so the check below could fail

    # when
    payload = (await gql(DELETE, {"input": {"password": PASSWORD}}, token=alice["token"])).ok()["meDelete"]

    # then: no table holds a row of alice, bar the audit log
    assert payload == {"deletedUserId": alice["user_id"], "errors": []}
    after = await rows_of(resources, alice_id)
    assert {table: n for table, n in after.items() if n} == {"audit_log": before["audit_log"] + 1}
    # ... and bob's rows are all there
    assert await rows_of(resources, bob_id) == bob_before
    assert (await gql(ME, token=bob["token"])).ok()["me"]["email"] == bob["email"]
    # the audit log keeps the deletion
    audit = await sql(resources, "select action, entity, entity_id, details from audit_log where user_id = :u "
                                 "order by at desc limit 1", u=alice_id)
    assert audit == [{"action": "user.delete", "entity": "User", "entity_id": alice_id,
                      "details": {"via": "session"}}]

    # then: every credential of alice is dead
    assert (await gql(ME, token=alice["token"])).codes == ["UNAUTHENTICATED"]
    assert (await gql(ME, token=alice["api"])).codes == ["UNAUTHENTICATED"]
    refreshed = await gql("mutation($r: String!) { authRefresh(input: {refreshToken: $r}) { accessToken } }",
                          {"r": alice["refresh"]})
    assert refreshed.codes == ["UNAUTHENTICATED"]
    login = (await gql("""mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) {
                            accessToken errors { code } } }""", {"e": alice["email"], "p": PASSWORD})).ok()
    assert login["authLogin"] == {"accessToken": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}
    async with asgi_client(resources) as http:
        assert (await http.get(alice["export"]["downloadUrl"])).status_code == 404
        assert (await http.get(bob["export"]["downloadUrl"])).status_code == 200
    # the address is free again
    again = await gql.register(email=alice["email"])
    assert again["user_id"] != alice["user_id"]


def test_every_table_of_a_user_is_erased_with_the_user() -> None:
    """Structural companion of the test above, for tables no API fills yet: each one's `user_id` reaches users
    through foreign keys that all cascade (only the audit log has none, by design)."""
    from app.models import metadata

    def cascades_to_users(table: sa.Table, seen: frozenset[str] = frozenset()) -> bool:
        for constraint in table.foreign_key_constraints:
            if "user_id" in constraint.column_keys and constraint.ondelete == "CASCADE":
                target = constraint.referred_table
                if target.name == "users" or (target.name not in seen and cascades_to_users(target, seen | {table.name})):
                    return True
        return False

    tables = tables_of_users()
    assert "data_exports" in tables
    missing = [name for name in tables if name not in {"users", *KEPT} and not cascades_to_users(metadata.tables[name])]
    assert missing == []


async def test_a_wrong_password_deletes_nothing(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    await account(gql, user["token"])
    user_id = db_id(user["user_id"])
    await request_export(gql, user["token"])
    before = await rows_of(resources, user_id)
    # when
    wrong = (await gql(DELETE, {"input": {"password": PASSWORD + "!"}}, token=user["token"])).ok()["meDelete"]
    empty = (await gql(DELETE, {"input": {"password": ""}}, token=user["token"])).ok()["meDelete"]
    anonymous = await gql(DELETE, {"input": {"password": PASSWORD}})
    # then
    for payload in (wrong, empty):
        assert payload["deletedUserId"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [("password", "INVALID_CREDENTIALS")]
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert await rows_of(resources, user_id) == before
    assert (await gql(ME, token=user["token"])).ok()["me"]["id"] == user["user_id"]
    assert not await sql(resources, "select 1 from audit_log where action = 'user.delete'")


async def test_an_api_token_needs_the_password_too(gql: GraphQLClient, resources: Resources) -> None:
    # given: a read-write and a read-only API token
    user = await gql.register()
    user_id = db_id(user["user_id"])
    tokens = {}
    for scope in ("READ_WRITE", "READ"):
        tokens[scope] = (await gql(f'mutation {{ apiTokenCreate(input: {{name: "{scope}", scope: {scope}}}) '
                                   "{ token } }", token=user["token"])).ok()["apiTokenCreate"]["token"]
    before = await rows_of(resources, user_id)
    # when: without the right password, or with a read-only token
    wrong = (await gql(DELETE, {"input": {"password": "guessed password"}}, token=tokens["READ_WRITE"])).ok()
    read_only = await gql(DELETE, {"input": {"password": PASSWORD}}, token=tokens["READ"])
    # then: refused, nothing gone
    assert [e["code"] for e in wrong["meDelete"]["errors"]] == ["INVALID_CREDENTIALS"]
    assert read_only.codes == ["FORBIDDEN"]
    assert await rows_of(resources, user_id) == before
    # when: with the password
    done = (await gql(DELETE, {"input": {"password": PASSWORD}}, token=tokens["READ_WRITE"])).ok()["meDelete"]
    # then
    assert done == {"deletedUserId": user["user_id"], "errors": []}
    assert {table: n for table, n in (await rows_of(resources, user_id)).items() if n} == {
        "audit_log": before["audit_log"] + 1}
    assert (await sql(resources, "select details from audit_log where action = 'user.delete'")) == [
        {"details": {"via": "api_token"}}]
    assert (await gql(ME, token=tokens["READ_WRITE"])).codes == ["UNAUTHENTICATED"]
    assert (await gql(ME, token=user["token"])).codes == ["UNAUTHENTICATED"]


async def test_repeated_wrong_passwords_back_off_like_sign_ins(gql: GraphQLClient, resources: Resources) -> None:
    # given: as many wrong passwords as a sign-in may fail
    user = await gql.register()
    threshold = resources.settings.login_failure_threshold
    for _ in range(threshold):
        refused = (await gql(DELETE, {"input": {"password": "wrong password"}}, token=user["token"])).ok()
        assert [e["code"] for e in refused["meDelete"]["errors"]] == ["INVALID_CREDENTIALS"]
    # when: even the right password, now
    locked = await gql(DELETE, {"input": {"password": PASSWORD}}, token=user["token"])
    # then
    assert locked.codes == ["RATE_LIMITED"] and locked.data is None
    assert (await gql(ME, token=user["token"])).ok()["me"]["id"] == user["user_id"]
    assert (await rows_of(resources, db_id(user["user_id"])))["users"] == 1
