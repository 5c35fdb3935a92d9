"""Idempotency holds for EVERY mutation of the schema, table-driven.

`test_every_mutation_is_covered` reads the Mutation type and fails when a field is neither a case of `CASES` nor
in `EXEMPT` (with the reason it cannot take a key). Each case then proves, for a fresh user:

(a) a sequential retry with the same client `id` / `idempotencyKey` answers the same and writes nothing: every
    table of the database (rows and their content) and the arq queue are unchanged, and no real-time event is
    published;
(b) the same key with another input is CONFLICT on the key's field and changes nothing;
(c) two concurrent retries, each in its own context and session (so they race in Postgres), both succeed with
    the same answer and write exactly once: for a second fresh user with the same setup, the rows added per
    table, the tables touched, the queued jobs and the events published equal those of the single run of (a).

Side effects users rely on (balances, budget alerts, goal contributions and milestones, notifications, queued
jobs, chat messages) are also asserted by value after (a) and after (c). Every test commits for real on its
own cloned database.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import get_named_type

from app.db import unit_of_work
from app.events import Event
from app.graphql.node import from_global_id, to_global_id
from app.graphql.schema import create_schema
from app.notifications.models import NotificationKind
from app.notifications.service import notify
from app.resources import Resources
from tests import ledger
from tests.importing import upload
from tests.support import GraphQLClient

# Mutations that take neither a client `id` nor an `idempotencyKey`, and why none is needed or possible.
EXEMPT: dict[str, str] = {
    # No principal yet, so no key owner; a retry is refused by the unique email, and replaying would mean
    # storing the issued session tokens.
    "authRegister": "creates the user; a retry is CONFLICT on the unique email; the result holds fresh tokens",
    # Each call is a new sign-in by design; it changes no user data, and the answer (new tokens) must never be
    # stored for replay.
    "authLogin": "a sign-in is a new session each time; its tokens must not be stored",
    # Refresh tokens are single-use: a retry with the same token is token reuse, which revokes the family.
    "authRefresh": "rotation is one-shot by design; a replayed refresh token signs the family out",
    # Revoking twice is harmless, and after the first call the access token is revoked, so a retry is
    # UNAUTHENTICATED: there is no state a retry could double.
    "authLogout": "naturally idempotent; after it the caller's token is revoked",
    # Re-authenticates with the current password: a retry after success fails INVALID_CREDENTIALS and writes
    # nothing; replaying would mean storing the new session's tokens.
    "authPasswordChange": "a retry fails on the changed password; its result holds fresh tokens",
    # Erases the user with her idempotency keys; a retry is UNAUTHENTICATED (the user is gone).
    "meDelete": "erases the user (and her keys); a retry is UNAUTHENTICATED",
}

SCHEMA = create_schema()._schema
MUTATION_FIELDS = set(SCHEMA.mutation_type.fields) if SCHEMA.mutation_type else set()
TODAY = dt.datetime.now(dt.UTC).date().isoformat()  # the users below live in UTC


@dataclass
class Env:
    """One fresh user and the connections a case needs."""

    gql: GraphQLClient
    resources: Resources
    user: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.user["token"])

    @property
    def user_id(self) -> uuid.UUID:
        decoded = from_global_id(self.user["user_id"])
        assert decoded is not None
        return decoded[1]

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.resources.sessionmaker() as session:
            return (await session.execute(sa.text(sql), {"u": self.user_id, **params})).scalar_one()


State = dict[str, Any]


@dataclass
class Case:
    """One mutation: how to set up, call it with a key, and what its effects must be."""

    field: str
    selection: str
    setup: Callable[[Env], Awaitable[State]]
    input: Callable[[State, str], dict[str, Any]]
    # another input with the same key (None: the input has nothing but the key)
    other: Callable[[State, str], dict[str, Any]] | None
    key_type: str | None = None  # a create's client id: the global id type; else an idempotencyKey
    check: Callable[[Env, State, dict[str, Any]], Awaitable[None]] | None = None
    volatile: tuple[str, ...] = ()  # payload fields only the first answer carries (a secret shown once)
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.field

    @property
    def key_field(self) -> str:
        return "id" if self.key_type else "idempotencyKey"

    def new_key(self) -> str:
        return to_global_id(self.key_type, uuid.uuid4()) if self.key_type else f"key-{uuid.uuid4().hex}"

    @property
    def query(self) -> str:
        assert SCHEMA.mutation_type is not None
        input_type = SCHEMA.mutation_type.fields[self.field].args["input"].type
        return (f"mutation($input: {input_type}) {{ {self.field}(input: $input) {{ {self.selection} "
                f"errors {{ field code }} }} }}")


# --- helpers --------------------------------------------------------------------------------------------


async def settle(resources: Resources) -> None:
    """Wait for chat replies this process is writing (they commit after the mutation returned)."""
    if resources.chat_tasks:
        await asyncio.wait(list(resources.chat_tasks), timeout=60)
    assert not resources.chat_tasks


async def make(env: Env, field_name: str, selection: str, input: dict[str, Any]) -> dict[str, Any]:
    """Run a mutation without a key for a setup; returns its payload, which must have no errors."""
    assert SCHEMA.mutation_type is not None
    input_type = SCHEMA.mutation_type.fields[field_name].args["input"].type
    query = f"mutation($input: {input_type}) {{ {field_name}(input: $input) {{ {selection} errors {{ field code }} }} }}"
    payload = (await env.gql(query, {"input": input}, token=env.token)).ok()[field_name]
    assert payload["errors"] == [], (field_name, payload["errors"])
    await settle(env.resources)
    return payload  # type: ignore[no-any-return]


async def account(env: Env, opening: str = "100.00", kind: str = "CHECKING", name: str = "Checking") -> str:
    return str((await ledger.account(env.gql, env.token, name=name, opening=opening, kind=kind))["id"])


async def transaction(env: Env, account_id: str, amount: str, day: str = TODAY, **extra: Any) -> str:
    return str((await ledger.create(env.gql, env.token, account_id, amount, day, **extra))["id"])


async def category(env: Env, name: str = "Groceries") -> str:
    return await ledger.category_id(env.gql, env.token, name)


async def balance(env: Env, account_id: str) -> str:
    return await ledger.balance(env.gql, env.token, account_id)


def other_id(type_name: str) -> str:
    """A well-formed id of nothing: another input for a key used on a delete."""
    return to_global_id(type_name, uuid.uuid4())


async def snapshot(resources: Resources) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows, and the arq queue's length."""
    async with resources.sessionmaker() as session:
        tables = [r[0] for r in await session.execute(sa.text(
            "select tablename from pg_tables where schemaname = 'public' and tablename <> 'alembic_version' "
            "order by 1"))]
        sql = " union all ".join(
            f"select '{t}', count(*), md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from \"{t}\" x"
            for t in tables)
        state = {row[0]: (int(row[1]), str(row[2])) for row in await session.execute(sa.text(sql))}
    queued = await resources.redis.zcard(resources.settings.arq_queue_name)
    state["<arq queue>"] = (int(queued), "")
    return state


def effect(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> dict[str, Any]:
    """What a run wrote: rows added (or removed) per table, and the tables whose content changed."""
    added = {t: after[t][0] - before[t][0] for t in after if after[t][0] != before[t][0]}
    touched = sorted(t for t in after if after[t] != before[t])
    return {"rows": added, "touched": touched}


@dataclasses.dataclass(frozen=True)
class Mark(Event):
    """A marker this test publishes after what it watches: every event before it has arrived."""

    seq: int


class Watch:
    """The user's real-time events (what subscriptions deliver), read up to a marker."""

    def __init__(self, env: Env):
        self.env = env
        self.seq = 0
        self.stack = contextlib.AsyncExitStack()
        self.queue: asyncio.Queue[Event] | None = None

    async def __aenter__(self) -> Watch:
        self.queue = await self.stack.enter_async_context(self.env.resources.hub.subscribe(self.env.user_id))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stack.aclose()

    async def drain(self) -> list[str]:
        """The type names of the events published since the last drain."""
        assert self.queue is not None
        self.seq += 1
        await self.env.resources.hub.publish(self.env.user_id, Mark(seq=self.seq))
        seen: list[str] = []
        while True:
            event = await asyncio.wait_for(self.queue.get(), timeout=30)
            if event == Mark(seq=self.seq):
                return sorted(seen)
            seen.append(event.type_name)


def stable(payload: dict[str, Any], case: Case) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in case.volatile}


# --- setups and checks per mutation -----------------------------------------------------------------------


async def no_setup(env: Env) -> State:
    return {}


async def with_account(env: Env) -> State:
    return {"account": await account(env)}


async def with_property(env: Env) -> State:
    return {"account": await account(env, "300000.00", "PROPERTY", "Home")}


async def with_groceries(env: Env) -> State:
    return {"groceries": await category(env)}


async def with_two_accounts(env: Env) -> State:
    return {"account": await account(env, "100.00"), "savings": await account(env, "0.00", "SAVINGS", "Savings")}


async def with_budgeted_account(env: Env, limit: str = "100.00") -> State:
    """An account of 100.00 and a monthly budget of `limit` on groceries (alerts at 50, 80, 100 %)."""
    groceries = await category(env)
    await make(env, "budgetCreate", "budget { id }", {"name": "Food", "currency": "EUR", "lines": [
        {"categoryId": groceries, "limit": limit}]})
    return {"account": await account(env), "groceries": groceries}


async def with_transaction(env: Env) -> State:
    state = await with_account(env)
    state["tx"] = await transaction(env, state["account"], "-10.00", description="Bakery")
    return state


async def with_unlinked_pair(env: Env) -> State:
    state = await with_two_accounts(env)
    state["out"] = await transaction(env, state["account"], "-25.00", description="To savings")
    state["in"] = await transaction(env, state["savings"], "25.00", description="From checking")
    return state


async def with_transfer(env: Env) -> State:
    state = await with_two_accounts(env)
    payload = await make(env, "transferCreate", "transfer { from { id } to { id } }", {
        "fromAccountId": state["account"], "toAccountId": state["savings"], "amount": "25.00", "bookedOn": TODAY})
    state["out"], state["in"] = payload["transfer"]["from"]["id"], payload["transfer"]["to"]["id"]
    return state


async def with_api_token(env: Env) -> State:
    payload = await make(env, "apiTokenCreate", "apiToken { id }", {"name": "bot"})
    return {"token": payload["apiToken"]["id"]}


async def with_category(env: Env) -> State:
    payload = await make(env, "categoryCreate", "category { id }", {"name": "Pets"})
    return {"category": payload["category"]["id"]}


async def with_budget(env: Env) -> State:
    groceries = await category(env)
    payload = await make(env, "budgetCreate", "budget { id }", {"name": "Food", "currency": "EUR", "lines": [
        {"categoryId": groceries, "limit": "300.00"}]})
    return {"budget": payload["budget"]["id"], "groceries": groceries}


async def with_goal(env: Env) -> State:
    payload = await make(env, "goalCreate", "goal { id }", {"name": "Trip", "targetAmount": "400.00",
                                                             "currency": "EUR"})
    return {"goal": payload["goal"]["id"]}


async def with_rule(env: Env) -> State:
    groceries = await category(env)
    payload = await make(env, "ruleCreate", "rule { id }", {
        "name": "Rewe", "conditions": {"descriptionContains": "REWE"}, "actions": {"setCategoryId": groceries},
        "priority": 1, "enabled": True})
    return {"rule": payload["rule"]["id"], "groceries": groceries}


async def with_rule_and_matches(env: Env) -> State:
    state = await with_rule(env)
    state["account"] = await account(env)
    state["txs"] = [await transaction(env, state["account"], amount, description="REWE SAGT DANKE")
                    for amount in ("-12.00", "-30.00")]
    return state


async def with_notifications(env: Env) -> State:
    ids = []
    for title in ("first", "second"):
        async with unit_of_work(env.resources) as uow:
            row = await notify(uow, env.user_id, kind=NotificationKind.BUDGET_ALERT, title=title)
        ids.append(to_global_id("Notification", row.id))
    return {"notifications": ids}


CONNECTION_URL = "http://127.0.0.1:8080/mcp/stream"


async def with_connection(env: Env) -> State:
    payload = await make(env, "connectionCreate", "connection { id }", {"provider": "FI_MCP", "url": CONNECTION_URL})
    return {"connection": payload["connection"]["id"]}


QUESTION = "How much did I spend in total between August 1 and August 31, 2026?"


async def with_conversation(env: Env) -> State:
    payload = await make(env, "chatSend", "conversation { id }", {"content": QUESTION})
    return {"conversation": payload["conversation"]["id"]}


async def with_large_expense(env: Env) -> State:
    """Eight small expenses and one large one yesterday: `insightsGenerate` finds a LARGE_TRANSACTION."""
    state = await with_account(env)
    today = dt.datetime.now(dt.UTC).date()
    for i in range(8):
        await transaction(env, state["account"], "-30.00", (today - dt.timedelta(days=5 * i + 3)).isoformat())
    await transaction(env, state["account"], "-600.00", (today - dt.timedelta(days=1)).isoformat(),
                      merchant="Jeweller")
    return state


async def with_insight(env: Env) -> State:
    state = await with_large_expense(env)
    payload = await make(env, "insightsGenerate", "insights { id }", {})
    assert len(payload["insights"]) == 1
    state["insight"] = payload["insights"][0]["id"]
    return state


async def with_categorizable(env: Env) -> State:
    """Two uncategorized expenses (6.00 and 4.00) and a monthly budget of 10.00 on groceries."""
    state = await with_budgeted_account(env, limit="10.00")
    state["restaurants"] = await category(env, "Restaurants")
    state["txs"] = [await transaction(env, state["account"], amount, description="CORNER SHOP")
                    for amount in ("-6.00", "-4.00")]
    return state


async def check_transaction_create(env: Env, state: State, payload: dict[str, Any]) -> None:
    # the balance moved once, and the budget's 50 % and 80 % alerts fired once each, with one notification each
    assert await balance(env, state["account"]) == "10.00"
    assert await env.scalar("select count(*) from transactions where user_id = :u") == 1
    assert await env.scalar("select count(*) from budget_alerts a join budgets b on b.id = a.budget_id "
                            "where b.user_id = :u") == 2
    assert await env.scalar("select count(*) from notifications where user_id = :u") == 2


def check_categorized(count: int, alerts: int) -> Callable[[Env, State, dict[str, Any]], Awaitable[None]]:
    async def check(env: Env, state: State, payload: dict[str, Any]) -> None:
        # the choice is applied, taught to the merchant memory once per transaction, and alerts fire once
        assert await env.scalar("select count(*) from transactions where user_id = :u and category_id is not null "
                                "and category_source = 'USER'") == count
        assert await env.scalar("select coalesce(sum(count), 0) from merchant_memory where user_id = :u") == count
        assert await env.scalar("select count(*) from budget_alerts a join budgets b on b.id = a.budget_id "
                                "where b.user_id = :u") == alerts
        assert await env.scalar("select count(*) from notifications where user_id = :u") == alerts

    return check


async def check_transaction_update(env: Env, state: State, payload: dict[str, Any]) -> None:
    assert await balance(env, state["account"]) == "80.00"


async def check_transaction_delete(env: Env, state: State, payload: dict[str, Any]) -> None:
    assert await balance(env, state["account"]) == "100.00"
    assert await env.scalar("select count(*) from deletions where user_id = :u") == 1


async def check_transfer(env: Env, state: State, payload: dict[str, Any]) -> None:
    assert (await balance(env, state["account"]), await balance(env, state["savings"])) == ("75.00", "25.00")
    assert await env.scalar("select count(*) from transactions where user_id = :u") == 2


async def check_contribution(env: Env, state: State, payload: dict[str, Any]) -> None:
    # one contribution of 100.00 (25 % of 400.00): one milestone reached, one notification
    assert await env.scalar("select count(*) from goal_contributions c join goals g on g.id = c.goal_id "
                            "where g.user_id = :u") == 1
    assert payload["goal"]["progress"] == {"amount": "100.00", "currency": "EUR"}
    assert await env.scalar("select count(*) from notifications where user_id = :u") == 1


async def check_rules_apply(env: Env, state: State, payload: dict[str, Any]) -> None:
    assert payload["changed"] == 2
    assert await env.scalar("select count(*) from transactions where user_id = :u and category_id is not null"
                            ) == 2


async def check_import(env: Env, state: State, payload: dict[str, Any]) -> None:
    # one stored import, one queued run, one queued job
    assert await env.scalar("select count(*) from imports where user_id = :u") == 1
    assert await env.scalar("select count(*) from sync_runs where user_id = :u") == 1
    assert payload["import"]["run"]["state"] == "QUEUED"


async def check_sync(env: Env, state: State, payload: dict[str, Any]) -> None:
    assert await env.scalar("select count(*) from sync_runs where user_id = :u") == 1
    assert payload["run"]["state"] == "QUEUED"


async def check_export(env: Env, state: State, payload: dict[str, Any]) -> None:
    assert await env.scalar("select count(*) from data_exports where user_id = :u") == 1


async def check_chat(env: Env, state: State, payload: dict[str, Any]) -> None:
    # one question and one reply in the conversation, the reply written once
    conversation = from_global_id(payload["conversation"]["id"])
    assert conversation is not None
    assert await env.scalar("select count(*) from messages where conversation_id = :c",
                            c=conversation[1]) == 2 + 2 * ("conversation" in state)
    assert await env.scalar("select count(*) from messages where conversation_id = :c and role = 'ASSISTANT' "
                            "and state = 'COMPLETE'", c=conversation[1]) == 1 + ("conversation" in state)


async def check_insights(env: Env, state: State, payload: dict[str, Any]) -> None:
    assert [i["kind"] for i in payload["insights"]] == ["LARGE_TRANSACTION"]
    assert await env.scalar("select count(*) from insights where user_id = :u") == 1


async def check_valuation(env: Env, state: State, payload: dict[str, Any]) -> None:
    assert await env.scalar("select count(*) from valuations where user_id = :u") == 1


TX = "transaction { id amount { amount currency } account { id balance { amount } } category { id } updatedAt }"
LEGS = "transfer { from { id amount { amount } updatedAt } to { id amount { amount } updatedAt } }"
ACCOUNT = "account { id name kind archived openingBalance { amount } balance { amount } updatedAt }"
BUDGET = "budget { id name lines { limit { amount } category { id } } updatedAt }"
GOAL = "goal { id name target { amount currency } progress { amount currency } updatedAt }"
RULE = "rule { id name priority enabled updatedAt }"
CSV = b"Date,Description,Amount\n2026-01-03,COFFEE HOUSE,-3.50\n2026-01-05,REWE SAGT DANKE,-42.10\n"
MAPPING = {"date": "Date", "amount": "Amount", "description": ["Description"]}

CASES: list[Case] = [
    # --- profile and tokens
    Case("meUpdate", "user { id name timeZone }", no_setup,
         lambda s, k: {"name": "Ada", "timeZone": "Europe/Berlin", "idempotencyKey": k},
         lambda s, k: {"name": "Bob", "idempotencyKey": k}),
    Case("apiTokenCreate", "apiToken { id name scope revokedAt } token", no_setup,
         lambda s, k: {"id": k, "name": "bot", "scope": "READ"},
         lambda s, k: {"id": k, "name": "bot 2", "scope": "READ"}, key_type="ApiToken", volatile=("token",)),
    Case("apiTokenRevoke", "apiToken { id revokedAt }", with_api_token,
         lambda s, k: {"id": s["token"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("ApiToken"), "idempotencyKey": k}),
    # --- accounts and valuations
    Case("accountCreate", ACCOUNT, no_setup,
         lambda s, k: {"id": k, "name": "Savings", "kind": "SAVINGS", "currency": "EUR", "openingBalance": "50.00"},
         lambda s, k: {"id": k, "name": "Savings", "kind": "SAVINGS", "currency": "EUR", "openingBalance": "60.00"},
         key_type="Account"),
    Case("accountUpdate", ACCOUNT, with_account,
         lambda s, k: {"id": s["account"], "name": "Main", "openingBalance": "150.00", "idempotencyKey": k},
         lambda s, k: {"id": s["account"], "name": "Other", "idempotencyKey": k}),
    Case("accountArchive", ACCOUNT, with_account,
         lambda s, k: {"id": s["account"], "archived": True, "idempotencyKey": k},
         lambda s, k: {"id": s["account"], "archived": False, "idempotencyKey": k}),
    Case("valuationRecord", "account { id balance { amount } } valuation { id value { amount } day }",
         with_property,
         lambda s, k: {"accountId": s["account"], "value": "310000.00", "day": TODAY, "idempotencyKey": k},
         lambda s, k: {"accountId": s["account"], "value": "320000.00", "day": TODAY, "idempotencyKey": k},
         check=check_valuation),
    Case("exchangeRateSet", "exchangeRate { base quote rate day source }", no_setup,
         lambda s, k: {"base": "USD", "quote": "EUR", "rate": "0.9", "day": "2026-01-10", "idempotencyKey": k},
         lambda s, k: {"base": "USD", "quote": "EUR", "rate": "0.95", "day": "2026-01-10", "idempotencyKey": k}),
    # --- categories
    Case("categoryCreate", "category { id name kind }", no_setup,
         lambda s, k: {"id": k, "name": "Pets"}, lambda s, k: {"id": k, "name": "Kids"}, key_type="Category"),
    Case("categoryUpdate", "category { id name color }", with_category,
         lambda s, k: {"id": s["category"], "name": "Animals", "color": "#aa0000", "idempotencyKey": k},
         lambda s, k: {"id": s["category"], "name": "Beasts", "idempotencyKey": k}),
    Case("categoryDelete", "deletedId deletedIds", with_category,
         lambda s, k: {"id": s["category"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("Category"), "idempotencyKey": k}),
    # --- transactions and transfers
    Case("transactionCreate", TX, with_budgeted_account,
         lambda s, k: {"id": k, "accountId": s["account"], "amount": "-90.00", "bookedOn": TODAY,
                       "description": "REWE", "categoryId": s["groceries"]},
         lambda s, k: {"id": k, "accountId": s["account"], "amount": "-10.00", "bookedOn": TODAY,
                       "description": "REWE", "categoryId": s["groceries"]},
         key_type="Transaction", check=check_transaction_create),
    Case("transactionUpdate", TX, with_transaction,
         lambda s, k: {"id": s["tx"], "amount": "-20.00", "idempotencyKey": k},
         lambda s, k: {"id": s["tx"], "amount": "-30.00", "idempotencyKey": k}, check=check_transaction_update),
    Case("transactionDelete", "deletedIds", with_transaction,
         lambda s, k: {"id": s["tx"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("Transaction"), "idempotencyKey": k}, check=check_transaction_delete),
    Case("transferCreate", LEGS, with_two_accounts,
         lambda s, k: {"id": k, "fromAccountId": s["account"], "toAccountId": s["savings"], "amount": "25.00",
                       "bookedOn": TODAY},
         lambda s, k: {"id": k, "fromAccountId": s["account"], "toAccountId": s["savings"], "amount": "30.00",
                       "bookedOn": TODAY},
         key_type="Transaction", check=check_transfer),
    Case("transactionLink", LEGS, with_unlinked_pair,
         lambda s, k: {"fromId": s["out"], "toId": s["in"], "idempotencyKey": k},
         lambda s, k: {"fromId": s["in"], "toId": s["out"], "idempotencyKey": k}),
    Case("transactionUnlink", "transactions { id isTransfer updatedAt }", with_transfer,
         lambda s, k: {"id": s["out"], "idempotencyKey": k},
         lambda s, k: {"id": s["in"], "idempotencyKey": k}),
    Case("transactionCategorize", "transaction { id category { id } categorySource updatedAt }", with_categorizable,
         lambda s, k: {"id": s["txs"][0], "categoryId": s["groceries"], "idempotencyKey": k},
         lambda s, k: {"id": s["txs"][0], "categoryId": s["restaurants"], "idempotencyKey": k},
         check=check_categorized(1, alerts=1)),
    Case("transactionsCategorizeBulk", "transactions { id category { id } categorySource updatedAt } count",
         with_categorizable,
         lambda s, k: {"ids": s["txs"], "categoryId": s["groceries"], "idempotencyKey": k},
         lambda s, k: {"ids": s["txs"], "categoryId": s["restaurants"], "idempotencyKey": k},
         check=check_categorized(2, alerts=3)),
    # --- budgets and goals
    Case("budgetCreate", BUDGET, with_groceries,
         lambda s, k: {"id": k, "name": "Food", "currency": "EUR", "lines": [
             {"categoryId": s["groceries"], "limit": "300.00"}]},
         lambda s, k: {"id": k, "name": "Food", "currency": "EUR", "lines": [
             {"categoryId": s["groceries"], "limit": "400.00"}]}, key_type="Budget"),
    Case("budgetUpdate", BUDGET, with_budget,
         lambda s, k: {"id": s["budget"], "name": "Food+", "lines": [
             {"categoryId": s["groceries"], "limit": "350.00"}], "idempotencyKey": k},
         lambda s, k: {"id": s["budget"], "name": "Other", "idempotencyKey": k}),
    Case("budgetDelete", "deletedId", with_budget,
         lambda s, k: {"id": s["budget"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("Budget"), "idempotencyKey": k}),
    Case("goalCreate", GOAL, no_setup,
         lambda s, k: {"id": k, "name": "Trip", "targetAmount": "1000.00", "currency": "EUR"},
         lambda s, k: {"id": k, "name": "Trip", "targetAmount": "2000.00", "currency": "EUR"}, key_type="Goal"),
    Case("goalUpdate", GOAL, with_goal,
         lambda s, k: {"id": s["goal"], "name": "Big trip", "priority": 2, "idempotencyKey": k},
         lambda s, k: {"id": s["goal"], "name": "Small trip", "idempotencyKey": k}),
    Case("goalContribute", f"{GOAL} contribution {{ id amount {{ amount }} day note }}", with_goal,
         lambda s, k: {"goalId": s["goal"], "amount": "100.00", "note": "May", "idempotencyKey": k},
         lambda s, k: {"goalId": s["goal"], "amount": "50.00", "note": "May", "idempotencyKey": k},
         check=check_contribution),
    Case("goalDelete", "deletedId", with_goal,
         lambda s, k: {"id": s["goal"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("Goal"), "idempotencyKey": k}),
    # --- notifications
    Case("notificationsMarkRead", "notifications { id read } count unreadCount", with_notifications,
         lambda s, k: {"ids": [s["notifications"][0]], "read": True, "idempotencyKey": k},
         lambda s, k: {"ids": [s["notifications"][1]], "read": True, "idempotencyKey": k}),
    # --- rules
    Case("ruleCreate", RULE, with_groceries,
         lambda s, k: {"id": k, "name": "Rewe", "conditions": {"descriptionContains": "REWE"},
                       "actions": {"setCategoryId": s["groceries"]}, "priority": 1, "enabled": True},
         lambda s, k: {"id": k, "name": "Lidl", "conditions": {"descriptionContains": "LIDL"},
                       "actions": {"setCategoryId": s["groceries"]}, "priority": 1, "enabled": True},
         key_type="Rule"),
    Case("ruleUpdate", RULE, with_rule,
         lambda s, k: {"id": s["rule"], "name": "Rewe markets", "priority": 5, "idempotencyKey": k},
         lambda s, k: {"id": s["rule"], "name": "Other", "idempotencyKey": k}),
    Case("ruleDelete", "deletedId", with_rule,
         lambda s, k: {"id": s["rule"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("Rule"), "idempotencyKey": k}),
    Case("rulesApply", "changed", with_rule_and_matches,
         lambda s, k: {"ruleIds": [s["rule"]], "idempotencyKey": k},
         lambda s, k: {"ruleIds": [s["rule"]], "from": "2020-01-01", "idempotencyKey": k}, check=check_rules_apply),
    # --- imports and connections
    Case("statementImport", "import { id sha256 transactionCount run { id state } }", with_account,
         lambda s, k: {"file": upload(CSV, "giro.csv"), "accountId": s["account"], "idempotencyKey": k},
         lambda s, k: {"file": upload(CSV + b"2026-01-06,BAKERY,-2.00\n", "giro.csv"), "accountId": s["account"],
                       "idempotencyKey": k}, check=check_import),
    Case("csvMappingPresetCreate", "preset { id name mapping { date amount description } }", no_setup,
         lambda s, k: {"id": k, "name": "My bank", "mapping": MAPPING},
         lambda s, k: {"id": k, "name": "My bank", "mapping": {**MAPPING, "amount": "Betrag"}},
         key_type="CsvMappingPreset"),
    Case("connectionCreate", "connection { id name url status }", no_setup,
         lambda s, k: {"id": k, "provider": "FI_MCP", "url": CONNECTION_URL, "name": "Fi"},
         lambda s, k: {"id": k, "provider": "FI_MCP", "url": CONNECTION_URL, "name": "Fi 2"},
         key_type="Connection"),
    Case("connectionDelete", "deletedId", with_connection,
         lambda s, k: {"id": s["connection"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("Connection"), "idempotencyKey": k}),
    Case("connectionSync", "run { id state windowStart windowEnd } connection { id status }", with_connection,
         lambda s, k: {"connectionId": s["connection"], "idempotencyKey": k},
         lambda s, k: {"connectionId": s["connection"], "from": "2026-01-01", "idempotencyKey": k},
         check=check_sync),
    # --- privacy
    Case("dataExport", "dataExport { id state formats }", no_setup,
         lambda s, k: {"formats": ["JSON"], "idempotencyKey": k},
         lambda s, k: {"formats": ["CSV"], "idempotencyKey": k}, check=check_export),
    # --- chat: a new conversation with a client id, and a follow-up with a key
    Case("chatSend", "conversation { id } userMessage { id role content } reply { id role }", no_setup,
         lambda s, k: {"id": k, "content": QUESTION},
         lambda s, k: {"id": k, "content": "What did I spend on groceries in August 2026?"},
         key_type="Conversation", check=check_chat),
    Case("chatSend", "conversation { id } userMessage { id role content } reply { id role }", with_conversation,
         lambda s, k: {"conversationId": s["conversation"], "content": QUESTION, "idempotencyKey": k},
         lambda s, k: {"conversationId": s["conversation"], "content": "And in July?", "idempotencyKey": k},
         check=check_chat, name="chatSend.followUp"),
    Case("conversationDelete", "deletedId", with_conversation,
         lambda s, k: {"id": s["conversation"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("Conversation"), "idempotencyKey": k}),
    # --- insights: `insightsGenerate` has no input but its key, so there is no "other input" to conflict with
    Case("insightsGenerate", "insights { id kind title state }", with_large_expense,
         lambda s, k: {"idempotencyKey": k}, None, check=check_insights),
    Case("insightDismiss", "insight { id state }", with_insight,
         lambda s, k: {"id": s["insight"], "idempotencyKey": k},
         lambda s, k: {"id": other_id("Insight"), "idempotencyKey": k}),
]


# --- the tests ----------------------------------------------------------------------------------------------


def test_every_mutation_is_covered() -> None:
    """A new mutation must get a case (or a reasoned exemption) before it ships."""
    covered = {case.field for case in CASES}
    assert not covered & set(EXEMPT), "a mutation is both exempt and tested"
    missing = MUTATION_FIELDS - covered - set(EXEMPT)
    assert not missing, f"mutations without an idempotency case or exemption: {sorted(missing)}"
    unknown = (covered | set(EXEMPT)) - MUTATION_FIELDS
    assert not unknown, f"cases of mutations the schema does not have: {sorted(unknown)}"
    # every tested mutation takes the key its case uses
    assert SCHEMA.mutation_type is not None
    for case in CASES:
        input_type = get_named_type(SCHEMA.mutation_type.fields[case.field].args["input"].type)
        assert case.key_field in input_type.fields, (case.name, case.key_field)  # type: ignore[union-attr]


def test_exempt_mutations_take_no_key() -> None:
    """An exempt mutation that grows a key must get a case instead."""
    assert SCHEMA.mutation_type is not None
    for name in EXEMPT:
        args = SCHEMA.mutation_type.fields[name].args
        fields = set()
        for arg in args.values():
            named = get_named_type(arg.type)
            fields |= set(getattr(named, "fields", {}))
        assert not fields & {"id", "idempotencyKey"}, name


async def call(env: Env, case: Case, state: State, key: str, other: bool = False) -> dict[str, Any]:
    build = case.other if other else case.input
    assert build is not None
    payload = (await env.gql(case.query, {"input": build(state, key)}, token=env.token)).ok()[case.field]
    return payload  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_retries_write_once(case: Case, gql: GraphQLClient, resources: Resources) -> None:
    # given: a fresh user with what the mutation needs, and her event stream
    first_user = Env(gql, resources, await gql.register())
    state = await case.setup(first_user)
    await settle(resources)
    key = case.new_key()
    async with Watch(first_user) as events:
        await events.drain()
        before = await snapshot(resources)

        # when: the mutation runs once
        first = await call(first_user, case, state, key)
        await settle(resources)
        assert first["errors"] == [], first["errors"]
        after_first = await snapshot(resources)
        wrote = effect(before, after_first)
        announced = await events.drain()
        assert wrote["touched"], "the mutation wrote nothing at all"
        if case.check:
            await case.check(first_user, state, first)

        # (a) then: a sequential retry answers the same, writes nothing and announces nothing
        again = await call(first_user, case, state, key)
        await settle(resources)
        assert stable(again, case) == stable(first, case)
        assert await snapshot(resources) == after_first
        assert await events.drain() == []

        # (b) then: the same key with another input is CONFLICT and changes nothing
        if case.other is not None:
            refused = await call(first_user, case, state, key, other=True)
            await settle(resources)
            assert refused["errors"] == [{"field": case.key_field, "code": "CONFLICT"}]
            assert await snapshot(resources) == after_first
            assert await events.drain() == []

    # (c) when: two concurrent retries for a second user with the same setup, each in its own session
    second_user = Env(gql, resources, await gql.register())
    second_state = await case.setup(second_user)
    await settle(resources)
    second_key = case.new_key()
    async with Watch(second_user) as events:
        await events.drain()
        before_race = await snapshot(resources)
        raced = await asyncio.gather(call(second_user, case, second_state, second_key),
                                     call(second_user, case, second_state, second_key))
        await settle(resources)
        after_race = await snapshot(resources)

        # then: both succeed with the same answer, and exactly one run's writes and events happened
        assert [p["errors"] for p in raced] == [[], []], raced
        assert stable(raced[0], case) == stable(raced[1], case)
        assert effect(before_race, after_race) == wrote
        assert await events.drain() == announced
        if case.check:
            await case.check(second_user, second_state, raced[0])
        # and a late retry still replays
        late = await call(second_user, case, second_state, second_key)
        await settle(resources)
        assert stable(late, case) == stable(raced[0], case)
        assert await snapshot(resources) == after_race
        assert await events.drain() == []
