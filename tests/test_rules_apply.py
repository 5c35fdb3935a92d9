"""Rules at work: each condition alone and combined, priority, the user's choice never overwritten, the regular
expression time limit, `rulesApply` on existing transactions (with a budget alert fired by the recategorization),
and the statement count of `categorize_new`, constant in the number of transactions."""

from __future__ import annotations

import asyncio
import datetime as dt
import faulthandler
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import new_id, unit_of_work
from app.rules import repository as rules_repo
from app.rules.categorize import categorize_new
from app.rules.engine import CompiledRule, Outcome, Row, apply_rules
from app.transactions.events import TransactionChanged
from app.transactions.models import Transaction
from tests.ledger import account, category_id, create
from tests.support import GraphQLClient, count_queries
from tests.test_budget_alerts import alerts, notifications, setup, today
from tests.test_budgets import codes, db_id, rows
from tests.test_rules import UPDATE, apply, categorize, create_rule

CATASTROPHIC = "(x+x+)+y"


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Fail hard (traceback, exit) instead of hanging when CPU-bound code does not return in time; an asyncio
    timeout could not interrupt a regular expression that never yields."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


async def state(resources: Any, ids: list[str]) -> list[tuple[Any, ...]]:
    """(category id, source, confidence, tags) of these transactions, in the order given."""
    found = await rows(resources, "select id, category_id, category_source, category_confidence, tags "
                                  "from transactions where id = any(cast(:ids as uuid[]))", ids=[db_id(i) for i in ids])
    by_id = {r["id"]: (r["category_id"], r["category_source"], r["category_confidence"], r["tags"]) for r in found}
    return [by_id[db_id(i)] for i in ids]


async def test_each_condition_alone_and_all_given_conditions_together(gql: GraphQLClient, resources: Any) -> None:
    # given: four uncategorized transactions in two accounts
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token, "Checking"))["id"]
    savings = (await account(gql, token, "Savings", kind="SAVINGS"))["id"]
    t1 = (await create(gql, token, checking, "-12.50", description="CARD 1234 REWE SAGT DANKE", merchant="REWE"))["id"]
    t2 = (await create(gql, token, checking, "-80.00", description="SQ *BLUE BOTTLE COFFEE 0042",
                       merchant="Blue Bottle Coffee"))["id"]
    t3 = (await create(gql, token, savings, "2500.00", description="Salary November", merchant="Acme"))["id"]
    t4 = (await create(gql, token, checking, "-20.00", description="card 9999 aldi sued", merchant="Aldi"))["id"]
    # and: one rule per condition, each adding its own tag, and one rule with two conditions
    for tag, conditions in (
        ("dc", {"descriptionContains": "rewe"}),
        ("dm", {"descriptionMatches": r"^card \d{4}\b"}),
        ("mc", {"merchantContains": "COFFEE"}),
        ("mm", {"merchantMatches": "^(rewe|aldi)$"}),
        ("min", {"amountMin": "-20"}),
        ("max", {"amountMax": "-80"}),
        ("acct", {"accountIds": [savings]}),
        ("both", {"descriptionContains": "card", "amountMax": "-15"}),
    ):
        await create_rule(gql, token, conditions, {"addTags": [tag]}, name=tag)
    # when: the pipeline categorizes them
    changed = await categorize(resources, user, [t1, t2, t3, t4])
    # then: by hand — contains and matches ignore case, bounds are inclusive, all conditions of "both" must hold
    assert changed == 4
    found = await state(resources, [t1, t2, t3, t4])
    assert [tags for *_, tags in found] == [["dc", "dm", "mm", "min"], ["mc", "max"], ["min", "acct"],
                                            ["dm", "mm", "min", "both"]]
    assert {(c, s, conf) for c, s, conf, _ in found} == {(None, None, None)}
    # when: run again, nothing changes (tags are not added twice)
    assert await categorize(resources, user, [t1, t2, t3, t4]) == 0


async def test_priority_decides_the_category_and_every_match_adds_tags(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    groceries, restaurants, travel = [await category_id(gql, token, n) for n in ("Groceries", "Restaurants", "Travel")]
    tx = (await create(gql, token, checking, "-12.50", description="CARD 1234 REWE SAGT DANKE", tags=["mine"]))["id"]
    await create_rule(gql, token, {"descriptionContains": "rewe"}, {"setCategoryId": groceries, "addTags": ["food"]},
                      name="Food", priority=5)
    shops = await create_rule(gql, token, {"merchantContains": "rewe"},
                              {"setCategoryId": restaurants, "addTags": ["shop"]}, name="Shops", priority=1)
    await create_rule(gql, token, {"descriptionContains": "rewe"}, {"setCategoryId": travel}, name="Off", priority=0,
                      enabled=False)
    await create_rule(gql, token, {"descriptionContains": "nothing like it"}, {"setCategoryId": travel}, priority=-1)
    # when
    assert await categorize(resources, user, [tx]) == 1
    # then: the lowest priority number that sets a category wins; tags of both matches in rule order
    assert await state(resources, [tx]) == [(db_id(restaurants), "RULE", Decimal("1.0000"), ["mine", "shop", "food"])]
    # when: "Shops" moves behind "Food", and the rules are applied again to existing transactions
    moved = (await gql(UPDATE, {"input": {"id": shops["id"], "priority": 10}}, token=token)).ok()["ruleUpdate"]
    assert moved["errors"] == []
    assert (await apply(gql, token)) == {"changed": 1, "errors": []}
    # then: a rule's earlier category is replaced by the now first rule
    assert await state(resources, [tx]) == [(db_id(groceries), "RULE", Decimal("1.0000"), ["mine", "shop", "food"])]


async def test_the_users_choice_is_never_overwritten(gql: GraphQLClient, resources: Any) -> None:
    # given: a transaction the user categorized, a split one, and a rule that matches both
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    groceries, travel, rent = [await category_id(gql, token, n) for n in ("Groceries", "Travel", "Rent")]
    chosen = (await create(gql, token, checking, "-30.00", description="REWE", categoryId=travel))["id"]
    split = (await create(gql, token, checking, "-30.00", description="REWE",
                          splits=[{"amount": "-10.00", "categoryId": rent}, {"amount": "-20.00"}]))["id"]
    await create_rule(gql, token, {"descriptionContains": "rewe"}, {"setCategoryId": groceries, "addTags": ["food"]})
    # when: new-transaction categorization and rulesApply both run over them
    await categorize(resources, user, [chosen, split])
    assert (await apply(gql, token)) == {"changed": 0, "errors": []}
    # then: the user's category and the split's (none) stay; tags are added, since they only add
    assert await state(resources, [chosen, split]) == [(db_id(travel), "USER", None, ["food"]),
                                                       (None, None, None, ["food"])]
    # when: a writer that decided before the user's choice writes its outcome anyway (a race)
    row = Row(id=db_id(chosen), account_id=db_id(checking), amount=Decimal("-30.00"), description="REWE",
              merchant="REWE", category_id=None, category_source=None, category_confidence=None, tags=[],
              has_splits=False)
    async with unit_of_work(resources) as uow:
        await rules_repo.write_outcomes(uow.session, db_id(user["user_id"]),
                                        [Outcome(row, db_id(groceries), "RULE", Decimal(1), ["food"])])
    # then: the bulk update itself keeps a USER category
    assert await state(resources, [chosen]) == [(db_id(travel), "USER", None, ["food"])]


async def test_a_deleted_category_of_a_rule_sets_nothing_and_a_later_rule_wins(gql: GraphQLClient,
                                                                               resources: Any) -> None:
    # given: the first rule's category is deleted afterwards
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    groceries = await category_id(gql, token, "Groceries")
    made = (await gql("""mutation { categoryCreate(input: {name: "Corner shop", kind: EXPENSE}) {
                         category { id } errors { code } } }""", token=token)).ok()["categoryCreate"]
    corner = made["category"]["id"]
    await create_rule(gql, token, {"descriptionContains": "kiosk"}, {"setCategoryId": corner, "addTags": ["k"]},
                      priority=1)
    await create_rule(gql, token, {"descriptionContains": "kiosk"}, {"setCategoryId": groceries}, priority=2)
    deleted = (await gql("mutation($id: ID!) { categoryDelete(input: {id: $id}) { errors { code } } }",
                         {"id": corner}, token=token)).ok()["categoryDelete"]
    assert deleted["errors"] == []
    tx = (await create(gql, token, checking, "-3.00", description="Kiosk am Eck"))["id"]
    # when
    assert await categorize(resources, user, [tx]) == 1
    # then
    assert await state(resources, [tx]) == [(db_id(groceries), "RULE", Decimal("1.0000"), ["k"])]


async def test_a_catastrophic_pattern_times_out_as_no_match(gql: GraphQLClient, resources: Any,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    # given: a pattern with catastrophic backtracking, a long description it almost matches, and a sane rule
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    await create_rule(gql, token, {"descriptionMatches": CATASTROPHIC}, {"addTags": ["slow"]}, name="Slow")
    await create_rule(gql, token, {"descriptionMatches": "^x{10}"}, {"addTags": ["fast"]}, name="Fast")
    ids = [(await create(gql, token, checking, "-1.00", description="x" * 500, merchant="X"))["id"] for _ in range(3)]
    # when: bounded by a generous timeout, so a hang fails the test instead of stalling it
    with caplog.at_level(logging.WARNING, logger="florin.rules"), bounded(60):
        changed = await categorize(resources, user, ids)
    # then: the slow rule counts as no match (and gave up after its first timeout), the other rule still ran
    assert changed == 3
    assert [tags for *_, tags in await state(resources, ids)] == [["fast"]] * 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "florin.rules"]
    assert len(warnings) == 1 and warnings[0].endswith("('Slow') stops matching for this run: a search timed out")
    # and: the same through rulesApply
    with bounded(60):
        assert await apply(gql, token) == {"changed": 0, "errors": []}


def test_a_rule_that_timed_out_skips_the_rest_of_the_run() -> None:
    # given: a compiled catastrophic rule and 50 rows it would take ages on
    rule = CompiledRule(new_id(), "Slow", {"description_matches": CATASTROPHIC}, {"add_tags": ["slow"]}, None)
    rule.allow(50)
    rows_ = [Row(id=new_id(), account_id=new_id(), amount=Decimal(-1), description="x" * 500, merchant="",
                 category_id=None, category_source=None, category_confidence=None, tags=[], has_splits=False)
             for _ in range(50)]
    # when
    with bounded(60):
        outcomes = [apply_rules(row, [rule]) for row in rows_]
    # then: no row matched, and the rule stopped after its first timeout
    assert rule.gave_up and [o.changed for o in outcomes] == [False] * 50


async def test_rules_apply_recategorizes_a_window_and_fires_a_budget_alert(gql: GraphQLClient,
                                                                          resources: Any) -> None:
    # given: a budget of 100 on groceries; 90 spent at REWE but uncategorized; REWE rows outside the window
    # (yesterday, another account) and a coffee no rule matches
    s = await setup(gql)
    token = s["token"]
    other = (await account(gql, token, "Other"))["id"]
    day = today()
    inside = (await create(gql, token, s["account"], "-90.00", day.isoformat(), description="REWE SAGT DANKE"))["id"]
    earlier = (await create(gql, token, s["account"], "-5.00", (day - dt.timedelta(days=1)).isoformat(),
                            description="REWE"))["id"]
    elsewhere = (await create(gql, token, other, "-7.00", day.isoformat(), description="REWE"))["id"]
    coffee = (await create(gql, token, s["account"], "-3.00", day.isoformat(), description="Coffee"))["id"]
    rule = await create_rule(gql, token, {"descriptionContains": "rewe"}, {"setCategoryId": s["groceries"]})
    assert await alerts(resources) == []
    # when: applied to today in the budget's account
    async with resources.hub.subscribe(db_id(s["user_id"])) as events:
        result = await apply(gql, token, ruleIds=[rule["id"]], accountIds=[s["account"]],
                             **{"from": day.isoformat()}, to=day.isoformat(), idempotencyKey="apply-1")
        event = await asyncio.wait_for(_next_transaction_event(events), timeout=10)
    # then: one row changed, and the move crossed 50 % and 80 % of the budget at once
    assert result == {"changed": 1, "errors": []}
    assert event == TransactionChanged(kind="BULK_CHANGED", transaction_id=None, account_ids=(db_id(s["account"]),),
                                       count=1)
    assert await state(resources, [inside, earlier, elsewhere, coffee]) == [
        (db_id(s["groceries"]), "RULE", Decimal("1.0000"), []), (None, None, None, []), (None, None, None, []),
        (None, None, None, [])]
    assert await alerts(resources) == [(50, "90.00", s["start"]), (80, "90.00", s["start"])]
    assert [n["title"] for n in await notifications(resources)] == ["Food: Groceries reached 50%",
                                                                    "Food: Groceries reached 80%"]
    # when: replayed with its key, and the window reversed
    assert await apply(gql, token, ruleIds=[rule["id"]], accountIds=[s["account"]], **{"from": day.isoformat()},
                       to=day.isoformat(), idempotencyKey="apply-1") == result
    reversed_ = await apply(gql, token, **{"from": day.isoformat()}, to=(day - dt.timedelta(days=1)).isoformat())
    assert codes(reversed_) == [("to", "INVALID")]
    # when: all accounts and days
    assert await apply(gql, token) == {"changed": 2, "errors": []}
    assert [c for c, *_ in await state(resources, [earlier, elsewhere])] == [db_id(s["groceries"])] * 2


async def _next_transaction_event(events: asyncio.Queue[Any]) -> TransactionChanged:
    while True:
        event = await events.get()
        if isinstance(event, TransactionChanged):
            return event


async def _insert_rows(resources: Any, user_id: Any, account_id: Any, n: int) -> list[Any]:
    """n imported-looking rows: every third at REWE (a rule), every third at Blue Bottle (the memory)."""
    values = []
    for i in range(n):
        merchant = ("REWE", "Blue Bottle Coffee", "Somewhere")[i % 3]
        values.append({"id": new_id(), "user_id": user_id, "account_id": account_id, "booked_on": dt.date(2026, 11, 2),
                       "amount": Decimal("-1.00"), "currency": "EUR", "description": f"{merchant} {i}",
                       "merchant": merchant})
    async with unit_of_work(resources) as uow:
        await uow.session.execute(sa.insert(Transaction.__table__).values(values))  # type: ignore[attr-defined]
    return [v["id"] for v in values]


async def test_categorize_new_runs_the_same_statements_for_10_or_500_rows(gql: GraphQLClient,
                                                                          resources: Any) -> None:
    # given: a rule for REWE and a memory for Blue Bottle Coffee
    user = await gql.register()
    token = user["token"]
    user_id = db_id(user["user_id"])
    checking = (await account(gql, token))["id"]
    groceries, restaurants = await category_id(gql, token, "Groceries"), await category_id(gql, token, "Restaurants")
    await create_rule(gql, token, {"merchantContains": "rewe"}, {"setCategoryId": groceries, "addTags": ["food"]})
    taught = (await create(gql, token, checking, "-4.00", description="coffee", merchant="BLUE BOTTLE COFFEE",
                           categoryId=restaurants))["id"]
    assert taught
    few = await _insert_rows(resources, user_id, db_id(checking), 10)
    many = await _insert_rows(resources, user_id, db_id(checking), 500)
    counts = []
    for ids in (few, many):
        # when
        async with unit_of_work(resources) as uow:
            with count_queries(resources.engine) as counter:
                changed = await categorize_new(uow, user_id, ids)
        counts.append((counter.count, changed))
        # then: two of every three rows changed
        assert changed == sum(1 for i in range(len(ids)) if i % 3 != 2)
    # then: lock, rules, rows, memory, one bulk update — for 10 rows as for 500
    assert counts == [(5, 7), (5, 334)]
    found = await rows(resources, "select merchant, category_id, category_source, category_confidence, tags, "
                                  "count(*) as n from transactions where id = any(cast(:ids as uuid[])) "
                                  "group by 1, 2, 3, 4, 5 order by 1", ids=many)
    assert [tuple(r.values()) for r in found] == [
        ("Blue Bottle Coffee", db_id(restaurants), "MEMORY", Decimal("0.5000"), [], 167),
        ("REWE", db_id(groceries), "RULE", Decimal("1.0000"), ["food"], 167),
        ("Somewhere", None, None, None, [], 166)]
