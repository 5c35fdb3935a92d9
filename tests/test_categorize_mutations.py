"""`transactionCategorize` and `transactionsCategorizeBulk`: the user's choice (source USER, no confidence, the
suggestion dropped) teaches the merchant memory and queues `train_categorizer`; budgets see the moves;
refusals change nothing; a bulk is all or nothing at a constant statement count. And
`Transaction.categorySuggestion`, loaded without N+1."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.events import Event
from app.transactions.events import TransactionChanged
from tests.importing import drain
from tests.ledger import TX_UPDATE, account, category_id, create
from tests.support import GraphQLClient, count_queries
from tests.test_budget_alerts import alerts, notifications, setup, spend
from tests.test_budgets import db_id, rows
from tests.test_rules import categorize as pipeline
from tests.test_rules_apply import state

ONE = """mutation($input: TransactionCategorizeInput!) { transactionCategorize(input: $input) {
  transaction { id merchant category { id name } categorySource categoryConfidence
                categorySuggestion { category { name } } }
  errors { field message code } } }"""
BULK = """mutation($input: TransactionsCategorizeBulkInput!) { transactionsCategorizeBulk(input: $input) {
  transactions { id merchant category { id name } categorySource categoryConfidence
                 categorySuggestion { category { name } } }
  count errors { field message code } } }"""
PAGE = """query($first: Int!) { transactions(first: $first) { edges { node { id merchant category { name }
  categorySuggestion { category { id name parent { name } } source confidence } } } } }"""


async def bulk(gql: GraphQLClient, token: str, ids: list[str], category: str | None, **extra: Any
               ) -> dict[str, Any]:
    return (await gql(BULK, {"input": {"ids": ids, "categoryId": category, **extra}},  # type: ignore[no-any-return]
                      token=token)).ok()["transactionsCategorizeBulk"]


async def one(gql: GraphQLClient, token: str, tx: str, category: str | None, **extra: Any) -> dict[str, Any]:
    return (await gql(ONE, {"input": {"id": tx, "categoryId": category, **extra}},  # type: ignore[no-any-return]
                      token=token)).ok()["transactionCategorize"]


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def memory(resources: Any) -> list[tuple[Any, ...]]:
    found = await rows(resources, "select user_id, merchant, category_id, count from merchant_memory "
                                  "order by user_id, merchant")
    return [(r["user_id"], r["merchant"], r["category_id"], r["count"]) for r in found]


async def ledger(resources: Any) -> list[dict[str, Any]]:
    """Everything a categorization may write: the transactions and the memory."""
    return [*await rows(resources, "select * from transactions order by id"),
            *await rows(resources, "select * from merchant_memory order by user_id, merchant")]


async def train_jobs(resources: Any) -> list[tuple[str, tuple[Any, ...], str | None]]:
    queued = await resources.arq.queued_jobs(queue_name=resources.settings.arq_queue_name)
    return sorted((job.function, tuple(job.args), job.job_id) for job in queued if job.function == "train_categorizer")


async def suggest(resources: Any, tx: str, category: str, source: str = "MODEL", confidence: str = "0.4200") -> None:
    """What the categorize job leaves when its guess is below the threshold."""
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(
            sa.text("update transactions set suggested_category_id = :c, suggested_source = :s, "
                                          "suggested_confidence = :p where id = :i"),
            {"c": db_id(category), "s": source, "p": Decimal(confidence), "i": db_id(tx)})


async def insert_many(resources: Any, user_id: str, account_id: str, n: int, prefix: str) -> list[str]:
    """`n` uncategorized transactions of `n` merchants, in one statement (their balances do not matter here)."""
    from app.graphql.node import to_global_id

    async with resources.sessionmaker() as session, session.begin():
        result = await session.execute(sa.text(
            "insert into transactions (id, user_id, account_id, booked_on, amount, currency, description, merchant) "
            "select gen_random_uuid(), :u, :a, date '2026-11-02', -1 - i, 'EUR', :p || ' ' || i, :p || ' ' || i "
            "from generate_series(1, :n) as i returning id"), {"u": db_id(user_id), "a": db_id(account_id),
                                                                "p": prefix, "n": n})
        return [to_global_id("Transaction", row[0]) for row in result]


async def test_categorize_sets_the_users_choice_drops_the_suggestion_and_teaches(gql: GraphQLClient,
                                                                                 resources: Any) -> None:
    # given: an uncategorized REWE bill that the model suggested as Restaurants (below the threshold)
    user = await gql.register()
    token, uid = user["token"], db_id(user["user_id"])
    checking = (await account(gql, token))["id"]
    groceries, restaurants = await category_id(gql, token, "Groceries"), await category_id(gql, token, "Restaurants")
    tx = (await create(gql, token, checking, "-54.20", description="CARD 1234 REWE SAGT DANKE"))["id"]
    await suggest(resources, tx, restaurants)
    page = (await gql(PAGE, {"first": 10}, token=token)).ok()["transactions"]["edges"]
    assert page[0]["node"]["categorySuggestion"] == {
        "category": {"id": restaurants, "name": "Restaurants", "parent": {"name": "Food & drink"}},
        "source": "MODEL", "confidence": "0.4200"}
    assert await train_jobs(resources) == []

    # when
    async with resources.hub.subscribe(uid) as events:
        payload = await one(gql, token, tx, groceries)
        event: Event = await asyncio.wait_for(events.get(), 10)

    # then: the user's choice, no confidence, no suggestion
    assert payload == {"transaction": {"id": tx, "merchant": "REWE", "category": {"id": groceries, "name": "Groceries"},
                                       "categorySource": "USER", "categoryConfidence": None,
                                       "categorySuggestion": None}, "errors": []}
    stored = await rows(resources, "select category_id, category_source, category_confidence, suggested_category_id, "
                                   "suggested_source, suggested_confidence from transactions")
    assert stored == [{"category_id": db_id(groceries), "category_source": "USER", "category_confidence": None,
                       "suggested_category_id": None, "suggested_source": None, "suggested_confidence": None}]
    # and: one UPDATED event for the row
    assert isinstance(event, TransactionChanged)
    assert (event.kind, event.transaction_id, event.account_ids, event.count) == (
        "UPDATED", db_id(tx), (db_id(checking),), 1)
    # and: the memory learned it, and the model will be trained again (one job per user)
    assert await memory(resources) == [(uid, "rewe", db_id(groceries), 1)]
    assert await train_jobs(resources) == [("train_categorizer", (str(uid),), f"train:{uid}")]
    # when: a later REWE bill arrives through the import pipeline
    later = (await create(gql, token, checking, "-12.00", description="REWE MARKT 0815"))["id"]
    assert await pipeline(resources, user, [later]) == 1
    # then: it gets the category from the memory
    assert await state(resources, [later]) == [(db_id(groceries), "MEMORY", Decimal("0.5000"), [])]
    # when: another correction while the training job is still queued
    await one(gql, token, later, restaurants)
    # then: it shares that job
    assert await train_jobs(resources) == [("train_categorizer", (str(uid),), f"train:{uid}")]
    assert await memory(resources) == [(uid, "rewe", db_id(restaurants), 1)]


async def test_bulk_categorizes_all_learns_every_merchant_once_per_row_and_sends_one_event(
        gql: GraphQLClient, resources: Any) -> None:
    # given: two coffees of one merchant in two accounts, a REWE bill the memory knows as Groceries (twice)
    user = await gql.register()
    token, uid = user["token"], db_id(user["user_id"])
    checking, card = (await account(gql, token))["id"], (await account(gql, token, "Card"))["id"]
    groceries, restaurants = await category_id(gql, token, "Groceries"), await category_id(gql, token, "Restaurants")
    coffee1 = (await create(gql, token, checking, "-4.20", description="SQ *BLUE BOTTLE COFFEE 0042"))["id"]
    coffee2 = (await create(gql, token, card, "-3.90", description="SQ *BLUE BOTTLE COFFEE 0117"))["id"]
    rewe = (await create(gql, token, checking, "-9.00", description="REWE", categoryId=groceries))["id"]
    await one(gql, token, rewe, groceries)
    assert await memory(resources) == [(uid, "rewe", db_id(groceries), 2)]
    await suggest(resources, coffee2, groceries, source="AI", confidence="0.3")

    # when: repeated ids count once
    async with resources.hub.subscribe(uid) as events:
        payload = await bulk(gql, token, [coffee2, rewe, coffee1, coffee2], restaurants)
        event: Event = await asyncio.wait_for(events.get(), 10)

    # then: all three, in the order given
    assert payload["errors"] == [] and payload["count"] == 3
    assert [(t["id"], t["category"]["name"], t["categorySource"], t["categoryConfidence"], t["categorySuggestion"])
            for t in payload["transactions"]] == [(coffee2, "Restaurants", "USER", None, None),
                                                  (rewe, "Restaurants", "USER", None, None),
                                                  (coffee1, "Restaurants", "USER", None, None)]
    assert await state(resources, [coffee1, coffee2, rewe]) == [(db_id(restaurants), "USER", None, [])] * 3
    assert await rows(resources, "select count(*) as n from transactions where suggested_source is not null") == [
        {"n": 0}]
    # and: the memory counts a choice per row; another category starts REWE over
    assert await memory(resources) == [(uid, "blue bottle coffee", db_id(restaurants), 2),
                                       (uid, "rewe", db_id(restaurants), 1)]
    # and: one BULK_CHANGED event with the count and both accounts
    assert isinstance(event, TransactionChanged)
    assert (event.kind, event.transaction_id, set(event.account_ids), event.count) == (
        "BULK_CHANGED", None, {db_id(checking), db_id(card)}, 3)
    assert await train_jobs(resources) == [("train_categorizer", (str(uid),), f"train:{uid}")]
    # when: the same category again counts up
    await bulk(gql, token, [coffee1], restaurants)
    assert (await memory(resources))[0] == (uid, "blue bottle coffee", db_id(restaurants), 3)


async def test_null_uncategorizes_and_teaches_nothing(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    groceries = await category_id(gql, token, "Groceries")
    a = (await create(gql, token, checking, "-1.00", description="REWE", categoryId=groceries))["id"]
    b = (await create(gql, token, checking, "-2.00", description="LIDL", categoryId=groceries))["id"]
    taught = await memory(resources)

    # when
    single = await one(gql, token, a, None)
    many = await bulk(gql, token, [b], None)

    # then
    assert single["errors"] == [] and single["transaction"]["category"] is None
    assert single["transaction"]["categorySource"] is None
    assert many["errors"] == [] and many["count"] == 1 and many["transactions"][0]["category"] is None
    assert await state(resources, [a, b]) == [(None, None, None, [])] * 2
    assert await memory(resources) == taught
    assert await train_jobs(resources) == []


async def test_refusals_name_the_field_and_change_nothing(gql: GraphQLClient, resources: Any) -> None:
    # given: the caller's plain, split and transfer transactions; a stranger's transaction and category
    user, stranger = await gql.register(), await gql.register()
    token = user["token"]
    checking, savings = (await account(gql, token))["id"], (await account(gql, token, "Savings"))["id"]
    groceries, household = await category_id(gql, token, "Groceries"), await category_id(gql, token, "Household")
    plain = (await create(gql, token, checking, "-9.00", description="REWE"))["id"]
    split = (await create(gql, token, checking, "-30.00", description="REWE", splits=[
        {"amount": "-20.00", "categoryId": groceries}, {"amount": "-10.00", "categoryId": household}]))["id"]
    transfer = (await gql("""mutation($input: TransferCreateInput!) { transferCreate(input: $input) {
      transfer { from { id } } errors { code } } }""", {"input": {
        "fromAccountId": checking, "toAccountId": savings, "amount": "50.00", "bookedOn": "2026-11-03"}},
        token=token)).ok()["transferCreate"]["transfer"]["from"]["id"]
    theirs = (await create(gql, stranger["token"], (await account(gql, stranger["token"]))["id"], "-1.00"))["id"]
    their_category = await category_id(gql, stranger["token"], "Groceries")
    before = await ledger(resources)
    missing = "VHJhbnNhY3Rpb246MDE5MzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw"  # Transaction:<unknown uuid>

    # when / then: bulk
    cases = [
        ({"ids": [plain, theirs], "categoryId": groceries}, [("ids", "NOT_FOUND")]),
        ({"ids": [plain, missing], "categoryId": groceries}, [("ids", "NOT_FOUND")]),
        ({"ids": [plain, "not-an-id"], "categoryId": groceries}, [("ids", "NOT_FOUND")]),
        ({"ids": [plain, groceries], "categoryId": groceries}, [("ids", "NOT_FOUND")]),
        ({"ids": [plain], "categoryId": their_category}, [("categoryId", "NOT_FOUND")]),
        ({"ids": [plain], "categoryId": plain}, [("categoryId", "NOT_FOUND")]),
        ({"ids": [plain, theirs], "categoryId": their_category}, [("categoryId", "NOT_FOUND"), ("ids", "NOT_FOUND")]),
        ({"ids": [], "categoryId": groceries}, [("ids", "INVALID")]),
        ({"ids": [plain] * 501, "categoryId": groceries}, [("ids", "INVALID")]),
        ({"ids": [plain]}, [("categoryId", "REQUIRED")]),
        ({"ids": [plain, split, transfer], "categoryId": groceries}, [("ids.1", "INVALID"), ("ids.2", "INVALID")]),
    ]
    for given, expected in cases:
        payload = (await gql(BULK, {"input": given}, token=token)).ok()["transactionsCategorizeBulk"]
        assert (codes(payload), payload["transactions"], payload["count"]) == (expected, [], 0), given
    # and: single
    for tx, category, expected in [(theirs, groceries, [("id", "NOT_FOUND")]), (missing, None, [("id", "NOT_FOUND")]),
                                   (plain, their_category, [("categoryId", "NOT_FOUND")]),
                                   (split, groceries, [("id", "INVALID")]), (transfer, None, [("id", "INVALID")])]:
        payload = await one(gql, token, tx, category)
        assert (codes(payload), payload["transaction"]) == (expected, None), (tx, category)
    absent = (await gql(ONE, {"input": {"id": plain}}, token=token)).ok()["transactionCategorize"]
    assert codes(absent) == [("categoryId", "REQUIRED")]
    # and: nothing changed, nothing queued, for either user
    assert await ledger(resources) == before
    assert await train_jobs(resources) == []


async def test_a_recategorization_that_pushes_a_budget_line_over_a_threshold_alerts(
        gql: GraphQLClient, resources: Any) -> None:
    # given: 40 of 100 on groceries; two restaurant bills (30 + 25) that count for no line
    s = await setup(gql)
    await spend(gql, s, "-40.00")
    first = await spend(gql, s, "-30.00", category=s["restaurants"])
    second = await spend(gql, s, "-25.00", category=s["restaurants"])
    assert await alerts(resources) == []

    # when: one is moved to groceries (70 %), then both in bulk (95 %)
    assert (await one(gql, s["token"], first, s["groceries"]))["errors"] == []
    assert [a[:2] for a in await alerts(resources)] == [(50, "70.00")]
    assert (await bulk(gql, s["token"], [first, second], s["groceries"]))["errors"] == []

    # then
    assert [a[:2] for a in await alerts(resources)] == [(50, "70.00"), (80, "95.00")]
    assert [n["data"]["threshold"] for n in await notifications(resources)] == [50, 80]
    # when: moved out again and back: each threshold fires once per period
    await bulk(gql, s["token"], [first, second], None)
    await bulk(gql, s["token"], [first, second], s["groceries"])
    assert [a[0] for a in await alerts(resources)] == [50, 80]


async def test_bulk_runs_the_same_statements_for_one_or_a_hundred(gql: GraphQLClient, resources: Any) -> None:
    # given: 101 uncategorized transactions of 101 merchants
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    groceries = await category_id(gql, token, "Groceries")
    ids = await insert_many(resources, user["user_id"], checking, 101, "Shop")

    # when
    with count_queries(resources.engine) as single:
        small = await bulk(gql, token, ids[:1], groceries)
    with count_queries(resources.engine) as many:
        large = await bulk(gql, token, ids[1:], groceries)

    # then: the same statements, and few of them
    assert small["count"] == 1 and large["count"] == 100 and large["errors"] == []
    assert many.count == single.count, (single.statements, many.statements)
    assert single.count <= 16, single.statements
    assert len(await memory(resources)) == 101
    assert {t["category"]["name"] for t in large["transactions"]} == {"Groceries"}


async def test_a_retry_with_the_same_key_replays_and_another_input_conflicts(gql: GraphQLClient,
                                                                              resources: Any) -> None:
    # given: a bulk categorization with a key
    user = await gql.register()
    token, uid = user["token"], db_id(user["user_id"])
    checking = (await account(gql, token))["id"]
    groceries, restaurants = await category_id(gql, token, "Groceries"), await category_id(gql, token, "Restaurants")
    a = (await create(gql, token, checking, "-1.00", description="REWE"))["id"]
    b = (await create(gql, token, checking, "-2.00", description="REWE"))["id"]
    first = await bulk(gql, token, [a, b], groceries, idempotencyKey="cat-1")
    single = await one(gql, token, a, groceries, idempotencyKey="cat-2")
    after = await ledger(resources)
    assert await memory(resources) == [(uid, "rewe", db_id(groceries), 3)]

    # when: the same requests again
    again = await bulk(gql, token, [a, b], groceries, idempotencyKey="cat-1")
    single_again = await one(gql, token, a, groceries, idempotencyKey="cat-2")

    # then: the first results, nothing written
    assert again == first and single_again == single
    assert await ledger(resources) == after
    # when: the keys with other inputs
    other = await bulk(gql, token, [a, b], restaurants, idempotencyKey="cat-1")
    other_single = await one(gql, token, b, groceries, idempotencyKey="cat-2")
    # then
    assert codes(other) == [("idempotencyKey", "CONFLICT")] and codes(other_single) == [("idempotencyKey", "CONFLICT")]
    assert await ledger(resources) == after


async def test_suggestions_load_in_one_statement_per_page_and_only_the_callers(gql: GraphQLClient,
                                                                              resources: Any) -> None:
    # given: 30 transactions, 20 with suggestions in three categories (one of them a stranger's id)
    user, stranger = await gql.register(), await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    ids = await insert_many(resources, user["user_id"], checking, 30, "Store")
    with count_queries(resources.engine) as plain:
        (await gql(PAGE, {"first": 30}, token=token)).ok()
    names = ["Groceries", "Restaurants", "Travel"]
    chosen = [await category_id(gql, token, name) for name in names]
    foreign = await category_id(gql, stranger["token"], "Groceries")
    expected: dict[str, Any] = {}
    for i, tx in enumerate(ids[:20]):
        target = foreign if i == 19 else chosen[i % 3]
        await suggest(resources, tx, target, source="AI" if i % 2 else "MODEL", confidence=f"0.{i + 10}")
        expected[tx] = None if i == 19 else (names[i % 3], "AI" if i % 2 else "MODEL", f"0.{i + 10}00")

    # when
    with count_queries(resources.engine) as suggested:
        page = (await gql(PAGE, {"first": 30}, token=token)).ok()["transactions"]["edges"]

    # then: one statement more for all categories of the page; the stranger's category is not shown
    assert suggested.count == plain.count + 1, suggested.statements
    got = {e["node"]["id"]: e["node"]["categorySuggestion"] for e in page}
    assert {tx: (s["category"]["name"], s["source"], s["confidence"]) if s else None
            for tx, s in got.items() if tx in expected} == expected
    assert all(got[tx] is None for tx in ids[20:])


async def test_update_with_a_category_drops_the_suggestion_and_queues_training(gql: GraphQLClient,
                                                                             resources: Any) -> None:
    # given
    user = await gql.register()
    token, uid = user["token"], db_id(user["user_id"])
    checking = (await account(gql, token))["id"]
    groceries = await category_id(gql, token, "Groceries")
    tx = (await create(gql, token, checking, "-3.00", description="REWE"))["id"]
    await suggest(resources, tx, groceries)

    # when: another field changes, then the category
    await gql(TX_UPDATE, {"input": {"id": tx, "notes": "milk"}}, token=token)
    kept = await rows(resources, "select suggested_source from transactions")
    await gql(TX_UPDATE, {"input": {"id": tx, "categoryId": groceries}}, token=token)

    # then
    assert kept == [{"suggested_source": "MODEL"}]
    assert await rows(resources, "select suggested_category_id, suggested_source, suggested_confidence "
                                 "from transactions") == [
        {"suggested_category_id": None, "suggested_source": None, "suggested_confidence": None}]
    assert await train_jobs(resources) == [("train_categorizer", (str(uid),), f"train:{uid}")]


async def test_a_correction_after_a_finished_training_queues_another(gql: GraphQLClient, resources: Any) -> None:
    # given: a correction whose training job the worker has run
    user = await gql.register()
    token, uid = user["token"], db_id(user["user_id"])
    checking = (await account(gql, token))["id"]
    groceries = await category_id(gql, token, "Groceries")
    tx = (await create(gql, token, checking, "-3.00", description="REWE"))["id"]
    await one(gql, token, tx, groceries)
    worker = await drain(resources)
    assert worker.jobs_failed == 0 and worker.jobs_complete >= 1
    assert await train_jobs(resources) == []

    # when: the user corrects again
    await bulk(gql, token, [tx], None)
    await bulk(gql, token, [tx], groceries)

    # then: a new training is queued (arq refuses a job id whose result it still keeps)
    assert await train_jobs(resources) == [("train_categorizer", (str(uid),), f"train:{uid}")]
