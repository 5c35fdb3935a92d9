"""The cheap request path (issue 9) must not weaken anything:

- reads run in autocommit (no BEGIN/ROLLBACK round trips), writes of a mutation still in one transaction;
- without `pool_pre_ping`, a pooled connection that Postgres closed is replaced before use, not failed on;
- a search plans its statement for its own words (`SET LOCAL plan_cache_mode`), and that setting never leaks
  to the other statements of the pool's connections;
- a page read as plain Core rows says what the rows say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event

from app.resources import Resources
from tests.conftest import _libpq
from tests.ledger import account, category_id, create
from tests.support import GraphQLClient

DASHBOARD = """{ me { id email } accounts(first: 10) { edges { node { id name balance { amount currency } } } }
  transactions(first: 5) { edges { node { id amount { amount currency } merchant account { name }
  category { name parent { name } } } } } }"""
SEARCH = """query($s: String!) { transactions(first: 10, filter: {search: $s}) { totalCount
  edges { node { description amount { amount } account { name } category { name } } } } }"""


@contextmanager
def autocommit_of_statements(resources: Resources) -> Iterator[list[tuple[bool, str]]]:
    """(autocommit?, first word) of every statement the engine runs inside the block."""
    seen: list[tuple[bool, str]] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((bool(conn.connection.dbapi_connection.autocommit), statement.split()[0].upper()))

    event.listen(resources.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(resources.engine.sync_engine, "before_cursor_execute", before)


async def test_reads_run_in_autocommit_and_a_mutation_in_one_transaction(gql: GraphQLClient,
                                                                         resources: Resources) -> None:
    # given
    user = await gql.register()
    acc = await account(gql, user["token"], opening="10.00")
    await create(gql, user["token"], acc["id"], "-2.50", description="CARD REWE")
    # when: a read-only request (token check, me, accounts, transactions)
    with autocommit_of_statements(resources) as reads:
        data = (await gql(DASHBOARD, token=user["token"])).ok()
    # and: a mutation (token check, then its unit of work, then the payload read)
    with autocommit_of_statements(resources) as mutation:
        made = await create(gql, user["token"], acc["id"], "-1.25", description="CARD LIDL")
    # then: every read statement ran without a transaction around it
    assert data["transactions"]["edges"][0]["node"]["amount"] == {"amount": "-2.50", "currency": "EUR"}
    assert len(reads) == 4 and all(autocommit for autocommit, _ in reads), reads
    # then: the mutation's writes ran inside a transaction (not one commit per statement)
    writes = [autocommit for autocommit, verb in mutation if verb in ("INSERT", "UPDATE", "DELETE")]
    assert writes and not any(writes), mutation
    assert made["amount"] == {"amount": "-1.25", "currency": "EUR"}
    assert (await gql('{ accounts(first: 1) { edges { node { balance { amount } } } } }',
                      token=user["token"])).ok()["accounts"]["edges"][0]["node"]["balance"]["amount"] == "6.25"


async def test_a_pooled_connection_closed_by_postgres_is_replaced_before_use(gql: GraphQLClient,
                                                                             resources: Resources) -> None:
    # given: a user, and every connection the pool holds now killed by the server while idle in the pool
    user = await gql.register()
    pids = set()
    async with resources.engine.connect() as conn:
        pids.add((await conn.execute(sa.text("select pg_backend_pid()"))).scalar_one())
    admin = await asyncpg.connect(_libpq(resources.settings.database_url or ""))
    try:
        idle = await admin.fetch("select pid from pg_stat_activity where datname = current_database() "
                                 "and application_name = 'florin' and pid <> pg_backend_pid()")
        killed = {r["pid"] for r in idle}
        assert pids <= killed
        for pid in killed:
            await admin.execute("select pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the event loop reads the server's goodbye
    # when: requests that need connections (several at once, so more than one pooled connection is taken)
    results = await asyncio.gather(*(gql("{ me { email } }", token=user["token"]) for _ in range(4)))
    # then: no request failed, and none ran on a killed backend
    assert [r.ok()["me"]["email"] for r in results] == [user["email"]] * 4
    async with resources.engine.connect() as conn:
        assert (await conn.execute(sa.text("select pg_backend_pid()"))).scalar_one() not in killed


async def test_search_plans_for_its_words_without_leaking_the_setting(gql: GraphQLClient,
                                                                      resources: Resources) -> None:
    # given: two matching rows among others
    user = await gql.register()
    acc = await account(gql, user["token"])
    groceries = await category_id(gql, user["token"], "Groceries")
    for description, amount in (("CARD REWE BERLIN", "-3.10"), ("CARD LIDL", "-4.20"), ("REWE MARKT", "-5.30")):
        await create(gql, user["token"], acc["id"], amount, description=description, categoryId=groceries)
    # when
    with autocommit_of_statements(resources) as statements:
        found = (await gql(SEARCH, {"s": "rew"}, token=user["token"])).ok()["transactions"]
    # then: the two REWE rows (counted independently: by hand), newest booking first, ties by id
    assert found["totalCount"] == 2
    assert sorted(e["node"]["amount"]["amount"] for e in found["edges"]) == ["-3.10", "-5.30"]
    assert {e["node"]["category"]["name"] for e in found["edges"]} == {"Groceries"}
    # then: the plan setting and the search ran in one transaction (SET LOCAL dies with it)
    verbs = [(autocommit, verb) for autocommit, verb in statements]
    assert (False, "SET") in verbs
    # then: no connection of the pool keeps the setting
    pool = resources.engine.sync_engine.pool
    conns = [await resources.engine.connect() for _ in range(pool.checkedin())]
    try:
        for conn in conns:
            assert (await conn.execute(sa.text("show plan_cache_mode"))).scalar_one() == "auto"
    finally:
        for conn in conns:
            await conn.close()
