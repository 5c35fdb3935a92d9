"""The merchant memory: learned when the user sets a category (transactionCreate, transactionUpdate), applied by
`categorize_new` to later transactions of the same normalized merchant (source MEMORY, confidence by count); a
different category overrides it; clearing teaches nothing; rules and the user's choices win; per user."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tests.ledger import TX_UPDATE, account, category_id, create
from tests.support import GraphQLClient
from tests.test_budgets import db_id, rows
from tests.test_rules import categorize, create_rule
from tests.test_rules_apply import state


async def memory(resources: Any) -> list[tuple[Any, ...]]:
    found = await rows(resources, "select user_id, merchant, category_id, count from merchant_memory "
                                  "order by user_id, merchant")
    return [(r["user_id"], r["merchant"], r["category_id"], r["count"]) for r in found]


async def update(gql: GraphQLClient, token: str, **values: Any) -> None:
    payload = (await gql(TX_UPDATE, {"input": values}, token=token)).ok()["transactionUpdate"]
    assert payload["errors"] == [], payload["errors"]


async def test_learned_from_an_update_and_applied_to_new_transactions(gql: GraphQLClient, resources: Any) -> None:
    # given: an uncategorized coffee, which the user then categorizes
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    restaurants = await category_id(gql, token, "Restaurants")
    first = await create(gql, token, checking, "-4.20", description="SQ *BLUE BOTTLE COFFEE 0042 SAN FRANCISCO CA")
    assert first["merchant"] == "Blue Bottle Coffee"
    assert await memory(resources) == []
    # when
    await update(gql, token, id=first["id"], categoryId=restaurants)
    # then: (user, normalized merchant key) -> category, once
    assert await memory(resources) == [(db_id(user["user_id"]), "blue bottle coffee", db_id(restaurants), 1)]
    # when: a later transaction of the same merchant (another store number, another case) is imported
    later = (await create(gql, token, checking, "-3.90", description="sq *blue bottle coffee 0117 oakland ca"))["id"]
    assert await categorize(resources, user, [later]) == 1
    # then: it gets the category from the memory, at confidence 1/2
    assert await state(resources, [later]) == [(db_id(restaurants), "MEMORY", Decimal("0.5000"), [])]
    # when: the user confirms the choice on another transaction, and one more arrives
    await update(gql, token, id=later, categoryId=restaurants)
    third = (await create(gql, token, checking, "-3.90", description="SQ *BLUE BOTTLE COFFEE 9"))["id"]
    await categorize(resources, user, [third])
    # then: the count grows and so does the confidence (2/3)
    assert await memory(resources) == [(db_id(user["user_id"]), "blue bottle coffee", db_id(restaurants), 2)]
    assert await state(resources, [third]) == [(db_id(restaurants), "MEMORY", Decimal("0.6667"), [])]


async def test_create_with_a_category_teaches_another_category_overrides_and_clearing_does_not(
        gql: GraphQLClient, resources: Any) -> None:
    # given: a transaction created with a category teaches the memory
    user = await gql.register()
    token = user["token"]
    user_id = db_id(user["user_id"])
    checking = (await account(gql, token))["id"]
    groceries, restaurants = await category_id(gql, token, "Groceries"), await category_id(gql, token, "Restaurants")
    tx = await create(gql, token, checking, "-9.00", description="CARD 1234 REWE SAGT DANKE", categoryId=groceries)
    assert await memory(resources) == [(user_id, "rewe", db_id(groceries), 1)]
    # when: the same category again counts up; another category overrides and starts over at 1
    await update(gql, token, id=tx["id"], categoryId=groceries)
    assert await memory(resources) == [(user_id, "rewe", db_id(groceries), 2)]
    await update(gql, token, id=tx["id"], categoryId=restaurants)
    assert await memory(resources) == [(user_id, "rewe", db_id(restaurants), 1)]
    # when: the category is cleared, or another field changes
    await update(gql, token, id=tx["id"], categoryId=None)
    await update(gql, token, id=tx["id"], notes="weekly shop")
    # then: the memory is unchanged
    assert await memory(resources) == [(user_id, "rewe", db_id(restaurants), 1)]
    # and: a transaction without a merchant teaches nothing
    blank = await create(gql, token, checking, "-1.00", merchant="", description="")
    await update(gql, token, id=blank["id"], categoryId=groceries)
    assert await memory(resources) == [(user_id, "rewe", db_id(restaurants), 1)]


async def test_rules_and_the_users_choice_win_over_the_memory(gql: GraphQLClient, resources: Any) -> None:
    # given: the memory says REWE -> Restaurants; a rule says large REWE bills are Groceries
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    groceries, restaurants, travel = [await category_id(gql, token, n) for n in ("Groceries", "Restaurants", "Travel")]
    await create(gql, token, checking, "-5.00", description="REWE", categoryId=restaurants)
    await create_rule(gql, token, {"merchantContains": "rewe", "amountMax": "-50"}, {"setCategoryId": groceries})
    small = (await create(gql, token, checking, "-6.00", description="REWE"))["id"]
    big = (await create(gql, token, checking, "-80.00", description="REWE"))["id"]
    chosen = (await create(gql, token, checking, "-7.00", description="REWE", categoryId=travel))["id"]
    # and: a row a provider categorized, and one an earlier rule categorized (as an import might have left them)
    provided = (await create(gql, token, checking, "-8.00", description="REWE"))["id"]
    ruled = (await create(gql, token, checking, "-9.00", description="REWE"))["id"]
    async with resources.sessionmaker() as session, session.begin():
        for tx, source in ((provided, "PROVIDER"), (ruled, "RULE")):
            await session.execute(sa.text("update transactions set category_id = :c, category_source = :s "
                                          "where id = :i"), {"c": db_id(groceries), "s": source, "i": db_id(tx)})
    # when
    changed = await categorize(resources, user, [small, big, chosen, provided, ruled])
    # then: the rule wins where it matches; the memory fills the small bill and replaces the provider's guess;
    # the user's choice and the earlier rule's category stay. The memory learned Travel from "chosen" last.
    assert changed == 3
    assert await state(resources, [small, big, chosen, provided, ruled]) == [
        (db_id(travel), "MEMORY", Decimal("0.5000"), []), (db_id(groceries), "RULE", Decimal("1.0000"), []),
        (db_id(travel), "USER", None, []), (db_id(travel), "MEMORY", Decimal("0.5000"), []),
        (db_id(groceries), "RULE", None, [])]


async def test_the_memory_is_per_user(gql: GraphQLClient, resources: Any) -> None:
    # given: Bob taught REWE -> Groceries; Alice has a REWE row and no memory
    alice, bob = await gql.register(), await gql.register()
    bobs = (await account(gql, bob["token"]))["id"]
    await create(gql, bob["token"], bobs, "-5.00", description="REWE",
                 categoryId=await category_id(gql, bob["token"], "Groceries"))
    mine = (await account(gql, alice["token"]))["id"]
    tx = (await create(gql, alice["token"], mine, "-5.00", description="REWE"))["id"]
    # when: Alice's row is categorized, and Bob's pipeline is handed Alice's id
    assert await categorize(resources, alice, [tx]) == 0
    assert await categorize(resources, bob, [tx]) == 0
    # then: nothing changed
    assert await state(resources, [tx]) == [(None, None, None, [])]
