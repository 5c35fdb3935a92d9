"""Rules through the GraphQL schema: create, list in order, partial update, delete, validation with field paths,
client ids and idempotency keys, isolation, and the statement count of `rules`.

Helpers here are shared by tests/test_rules_apply.py and tests/test_merchant_memory.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from app.db import unit_of_work
from app.graphql.node import to_global_id
from app.rules.categorize import categorize_new
from app.rules.models import Rule
from tests.ledger import account, category_id
from tests.support import GraphQLClient, assert_max_queries
from tests.test_budgets import codes, db_id, rows

FIELDS = """id name priority enabled createdAt updatedAt
  conditions { descriptionContains descriptionMatches merchantContains merchantMatches amountMin amountMax accountIds }
  actions { setCategory { id name } addTags }"""
CREATE = f"""mutation($input: RuleCreateInput!) {{ ruleCreate(input: $input) {{
  rule {{ {FIELDS} }} errors {{ field message code }} }} }}"""
UPDATE = f"""mutation($input: RuleUpdateInput!) {{ ruleUpdate(input: $input) {{
  rule {{ {FIELDS} }} errors {{ field message code }} }} }}"""
DELETE = """mutation($input: RuleDeleteInput!) { ruleDelete(input: $input) { deletedId errors { field message code } } }"""
APPLY = """mutation($input: RulesApplyInput!) { rulesApply(input: $input) { changed errors { field message code } } }"""
RULES = f"{{ rules {{ {FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { id ... on Rule { name } } }"


async def create_rule(gql: GraphQLClient, token: str, conditions: dict[str, Any], actions: dict[str, Any],
                      name: str = "Rule", **extra: Any) -> dict[str, Any]:
    payload = (await gql(CREATE, {"input": {"name": name, "conditions": conditions, "actions": actions, **extra}},
                         token=token)).ok()["ruleCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["rule"]


async def apply(gql: GraphQLClient, token: str, **values: Any) -> dict[str, Any]:
    return (await gql(APPLY, {"input": values}, token=token)).ok()["rulesApply"]


async def categorize(resources: Any, user: dict[str, Any], ids: list[str]) -> int:
    """What the import pipeline does before its commit: categorize_new over the rows it added."""
    async with unit_of_work(resources) as uow:
        return await categorize_new(uow, db_id(user["user_id"]), [db_id(i) for i in ids])


async def stored_rules(resources: Any) -> list[dict[str, Any]]:
    return await rows(resources, "select id, user_id, name, priority, enabled, conditions, actions from rules "
                                 "order by id")


async def test_create_list_and_read_a_rule(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    token = user["token"]
    groceries = await category_id(gql, token, "Groceries")
    checking = (await account(gql, token))["id"]
    # when
    rule = await create_rule(gql, token, {"descriptionContains": "  rewe ", "descriptionMatches": r"^card \d+",
                                          "merchantContains": "Rewe", "merchantMatches": "re+we",
                                          "amountMin": "-100.5", "amountMax": "0", "accountIds": [checking]},
                             {"setCategoryId": groceries, "addTags": ["food", " food ", "weekly"]},
                             name=" Groceries ", priority=5)
    # then: stored as given, trimmed, tags deduplicated; amounts as decimal strings
    assert rule["name"] == "Groceries" and rule["priority"] == 5 and rule["enabled"] is True
    assert rule["conditions"] == {"descriptionContains": "rewe", "descriptionMatches": r"^card \d+",
                                  "merchantContains": "Rewe", "merchantMatches": "re+we", "amountMin": "-100.5",
                                  "amountMax": "0", "accountIds": [checking]}
    assert rule["actions"] == {"setCategory": {"id": groceries, "name": "Groceries"}, "addTags": ["food", "weekly"]}
    listed = (await gql(RULES, token=token)).ok()["rules"]
    assert listed == [rule]
    assert (await gql(NODE, {"id": rule["id"]}, token=token)).ok()["node"] == {"id": rule["id"], "name": "Groceries"}
    stored = await stored_rules(resources)
    assert [(r["id"], r["user_id"], r["conditions"], r["actions"]) for r in stored] == [(
        db_id(rule["id"]), db_id(user["user_id"]),
        {"description_contains": "rewe", "description_matches": r"^card \d+", "merchant_contains": "Rewe",
         "merchant_matches": "re+we", "amount_min": "-100.5", "amount_max": "0",
         "account_ids": [str(db_id(checking))]},
        {"set_category_id": str(db_id(groceries)), "add_tags": ["food", "weekly"]})]


async def test_rules_are_listed_by_priority_then_creation(gql: GraphQLClient) -> None:
    # given: rules created in the order b, a, c, d with priorities 10, 10, -1, 10
    token = (await gql.register())["token"]
    for name, priority in (("b", 10), ("a", 10), ("c", -1), ("d", 10)):
        await create_rule(gql, token, {"descriptionContains": name}, {"addTags": [name]}, name=name, priority=priority)
    # when
    listed = (await gql(RULES, token=token)).ok()["rules"]
    # then: lower priority first, ties by creation (not by name)
    assert [r["name"] for r in listed] == ["c", "b", "a", "d"]


async def test_validation_names_every_bad_field_and_stores_nothing(gql: GraphQLClient, resources: Any) -> None:
    # given
    token = (await gql.register())["token"]
    # when: a pattern that does not compile, a too long one, blank text, amounts reversed, a bad tag, bad priority
    result = (await gql(CREATE, {"input": {
        "name": " ", "priority": 2_000_000,
        "conditions": {"descriptionMatches": "(unclosed", "merchantMatches": "a" * 201, "merchantContains": "  ",
                       "amountMin": "10", "amountMax": "-5"},
        "actions": {"addTags": ["ok", " ", "x" * 41]}}}, token=token)).ok()["ruleCreate"]
    # then
    assert result["rule"] is None
    assert codes(result) == [("name", "REQUIRED"), ("priority", "INVALID"),
                             ("conditions.descriptionMatches", "INVALID"), ("conditions.merchantContains", "REQUIRED"),
                             ("conditions.merchantMatches", "TOO_LONG"), ("conditions.amountMax", "INVALID"),
                             ("actions.addTags.1", "REQUIRED"), ("actions.addTags.2", "TOO_LONG")]
    assert "regular expression" in result["errors"][2]["message"]
    # when: amounts that are no decimals or too precise
    result = (await gql(CREATE, {"input": {"name": "x", "conditions": {"amountMin": "abc", "amountMax": "1.00001"},
                                           "actions": {"addTags": ["t"]}}}, token=token)).ok()["ruleCreate"]
    assert codes(result) == [("conditions.amountMin", "INVALID"), ("conditions.amountMax", "TOO_MANY_DECIMALS")]
    # when: patterns whose compilation would unroll nested counted repetitions, or hide them in verbose mode
    for pattern in ("(?:(?:a{100}){100}){100}", "(a{1000}){1000}", "a{ 2000 }", "(?x)(?:a{1 0 0}){1 0 0}"):
        result = (await gql(CREATE, {"input": {"name": "x", "conditions": {"merchantMatches": pattern},
                                               "actions": {"addTags": ["t"]}}}, token=token)).ok()["ruleCreate"]
        assert codes(result) == [("conditions.merchantMatches", "INVALID")], pattern
    # and: the same nesting within bounds is fine
    fine = (await gql(CREATE, {"input": {"name": "x", "conditions": {"merchantMatches": "(?:(?:a{10}){10}){10}"},
                                         "actions": {"addTags": ["t"]}}}, token=token)).ok()["ruleCreate"]
    assert fine["errors"] == []
    await gql(DELETE, {"input": {"id": fine["rule"]["id"]}}, token=token)
    # when: no condition and no action at all
    result = (await gql(CREATE, {"input": {"name": "x", "conditions": {}, "actions": {"addTags": []}}},
                        token=token)).ok()["ruleCreate"]
    assert codes(result) == [("conditions", "REQUIRED"), ("actions", "REQUIRED")]
    assert await stored_rules(resources) == []


async def test_at_most_200_rules(gql: GraphQLClient, resources: Any) -> None:
    # given: 200 rules already (stored directly, as creating them one by one adds nothing to this test)
    user = await gql.register()
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.insert(Rule.__table__), [  # type: ignore[attr-defined]
            {"id": uuid.uuid4(), "user_id": db_id(user["user_id"]), "name": f"r{i}",
             "conditions": {"description_contains": "x"}, "actions": {"add_tags": ["x"]}} for i in range(200)])
    # when
    result = (await gql(CREATE, {"input": {"name": "one more", "conditions": {"descriptionContains": "y"},
                                           "actions": {"addTags": ["y"]}}}, token=user["token"])).ok()["ruleCreate"]
    # then
    assert codes(result) == [(None, "LIMIT_EXCEEDED")]
    assert len(await stored_rules(resources)) == 200


async def test_isolation_foreign_accounts_categories_and_rules(gql: GraphQLClient, resources: Any) -> None:
    # given: Bob's account, category and rule
    alice, bob = (await gql.register())["token"], (await gql.register())["token"]
    mine = (await account(gql, alice))["id"]
    bobs_account = (await account(gql, bob))["id"]
    bobs_category = await category_id(gql, bob, "Groceries")
    bobs_rule = await create_rule(gql, bob, {"descriptionContains": "x"}, {"addTags": ["bob"]})
    before = await stored_rules(resources)
    # when: Alice refers to them
    made = (await gql(CREATE, {"input": {"name": "x", "conditions": {"accountIds": [mine, bobs_account]},
                                         "actions": {"setCategoryId": bobs_category}}}, token=alice)).ok()["ruleCreate"]
    wrong_type = (await gql(CREATE, {"input": {"name": "x", "conditions": {"accountIds": [bobs_category]},
                                               "actions": {"addTags": ["t"]}}}, token=alice)).ok()["ruleCreate"]
    changed = (await gql(UPDATE, {"input": {"id": bobs_rule["id"], "name": "mine"}}, token=alice)).ok()["ruleUpdate"]
    deleted = (await gql(DELETE, {"input": {"id": bobs_rule["id"]}}, token=alice)).ok()["ruleDelete"]
    applied = await apply(gql, alice, ruleIds=[bobs_rule["id"]], accountIds=[bobs_account])
    # then: NOT_FOUND with the field path, Bob's rule invisible, nothing stored or changed
    assert codes(made) == [("conditions.accountIds.1", "NOT_FOUND"), ("actions.setCategoryId", "NOT_FOUND")]
    assert codes(wrong_type) == [("conditions.accountIds.0", "NOT_FOUND")]
    assert codes(changed) == [("id", "NOT_FOUND")] and codes(deleted) == [("id", "NOT_FOUND")]
    assert codes(applied) == [("accountIds.0", "NOT_FOUND"), ("ruleIds.0", "NOT_FOUND")] and applied["changed"] == 0
    assert (await gql(RULES, token=alice)).ok()["rules"] == []
    assert (await gql(NODE, {"id": bobs_rule["id"]}, token=alice)).ok()["node"] is None
    assert await stored_rules(resources) == before


async def test_update_changes_only_what_is_given(gql: GraphQLClient, resources: Any) -> None:
    # given
    token = (await gql.register())["token"]
    groceries, travel = await category_id(gql, token, "Groceries"), await category_id(gql, token, "Travel")
    rule = await create_rule(gql, token, {"descriptionContains": "rewe"}, {"setCategoryId": groceries},
                             name="Food", priority=3)
    # when: only the name and enabled
    renamed = (await gql(UPDATE, {"input": {"id": rule["id"], "name": "Food shops", "enabled": False}},
                         token=token)).ok()["ruleUpdate"]
    # then
    assert renamed["errors"] == []
    expected = {**rule, "name": "Food shops", "enabled": False, "updatedAt": renamed["rule"]["updatedAt"]}
    assert renamed["rule"] == expected
    # when: conditions and actions are replaced as a whole
    replaced = (await gql(UPDATE, {"input": {"id": rule["id"], "conditions": {"merchantMatches": "^db "},
                                             "actions": {"setCategoryId": travel, "addTags": ["train"]}}},
                          token=token)).ok()["ruleUpdate"]["rule"]
    assert replaced["conditions"] == {"descriptionContains": None, "descriptionMatches": None, "merchantContains": None,
                                      "merchantMatches": "^db ", "amountMin": None, "amountMax": None,
                                      "accountIds": None}
    assert replaced["actions"] == {"setCategory": {"id": travel, "name": "Travel"}, "addTags": ["train"]}
    assert (replaced["name"], replaced["priority"], replaced["enabled"]) == ("Food shops", 3, False)
    # when: a refused update
    before = await stored_rules(resources)
    refused = (await gql(UPDATE, {"input": {"id": rule["id"], "name": "New", "conditions": {"descriptionMatches": "["},
                                            "actions": {}}}, token=token)).ok()["ruleUpdate"]
    null_name = await gql(UPDATE, {"input": {"id": rule["id"], "name": None}}, token=token)
    # then: every error, nothing changed
    assert codes(refused) == [("conditions.descriptionMatches", "INVALID"), ("actions", "REQUIRED")]
    assert null_name.codes == ["BAD_USER_INPUT"]
    assert await stored_rules(resources) == before


async def test_client_id_and_idempotency_keys_replay(gql: GraphQLClient, resources: Any) -> None:
    # given
    token = (await gql.register())["token"]
    rule_id = to_global_id("Rule", uuid.uuid4())
    values = {"id": rule_id, "name": "Coffee", "conditions": {"merchantContains": "coffee"},
              "actions": {"addTags": ["coffee"]}}
    # when: the same create twice, then with another input
    first = (await gql(CREATE, {"input": values}, token=token)).ok()["ruleCreate"]
    again = (await gql(CREATE, {"input": values}, token=token)).ok()["ruleCreate"]
    other = (await gql(CREATE, {"input": {**values, "name": "Tea"}}, token=token)).ok()["ruleCreate"]
    # then
    assert first["errors"] == [] and first["rule"]["id"] == rule_id and again == first
    assert codes(other) == [("id", "CONFLICT")]
    assert len(await stored_rules(resources)) == 1
    # when: an update and a delete with keys, replayed
    update = {"id": rule_id, "priority": 7, "idempotencyKey": "u1"}
    assert (await gql(UPDATE, {"input": update}, token=token)).ok()["ruleUpdate"]["rule"]["priority"] == 7
    assert (await gql(UPDATE, {"input": {**update, "priority": 8}}, token=token)).ok()["ruleUpdate"]["errors"][0][
        "code"] == "CONFLICT"
    removed = (await gql(DELETE, {"input": {"id": rule_id, "idempotencyKey": "d1"}}, token=token)).ok()["ruleDelete"]
    replayed = (await gql(DELETE, {"input": {"id": rule_id, "idempotencyKey": "d1"}}, token=token)).ok()["ruleDelete"]
    # then
    assert removed == replayed == {"deletedId": rule_id, "errors": []}
    assert await stored_rules(resources) == []
    tombstones = await rows(resources, "select entity, entity_id from deletions where entity = 'Rule'")
    assert tombstones == [{"entity": "Rule", "entity_id": db_id(rule_id)}]


async def test_rules_list_runs_a_constant_number_of_statements(gql: GraphQLClient, resources: Any) -> None:
    # given: 3 rules, then 30, each setting one of several categories
    token = (await gql.register())["token"]
    names = ["Groceries", "Travel", "Restaurants", "Rent"]
    ids = [await category_id(gql, token, name) for name in names]

    async def add(n: int) -> None:
        for i in range(n):
            await create_rule(gql, token, {"descriptionContains": f"shop {i}"},
                              {"setCategoryId": ids[i % len(ids)], "addTags": [f"t{i}"]})

    await add(3)
    # when / then: authentication + rules + one batch of categories, however many rules
    with assert_max_queries(resources.engine, 3):
        few = (await gql(RULES, token=token)).ok()["rules"]
    await add(27)
    with assert_max_queries(resources.engine, 3):
        many = (await gql(RULES, token=token)).ok()["rules"]
    assert len(few) == 3 and len(many) == 30
    expected = [names[i % len(names)] for i in [*range(3), *range(27)]]
    assert [r["actions"]["setCategory"]["name"] for r in many] == expected
