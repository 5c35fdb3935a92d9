"""Categories through the GraphQL schema: the built-in tree, create/update/delete rules, isolation, query counts."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.graphql.node import from_global_id, to_global_id
from tests.support import GraphQLClient, assert_max_queries, count_queries

TREE = "{ categories { id name kind icon color position children { id name kind icon color position } } }"
FIELDS = "id name kind icon color position parent { id name } children { id name }"
CREATE = f"""mutation($input: CategoryCreateInput!) {{ categoryCreate(input: $input) {{
  category {{ {FIELDS} }} errors {{ field message code }} }} }}"""
UPDATE = f"""mutation($input: CategoryUpdateInput!) {{ categoryUpdate(input: $input) {{
  category {{ {FIELDS} }} errors {{ field message code }} }} }}"""
DELETE = """mutation($input: CategoryDeleteInput!) { categoryDelete(input: $input) {
  deletedId deletedIds errors { field message code } } }"""
CATEGORY = f"query($id: ID!) {{ category(id: $id) {{ {FIELDS} }} }}"

# The built-in set as the product promises it, written out independently of app/categories/builtin.py.
EXPECTED_TREE = {
    "Income": ("INCOME", ["Salary", "Bonus", "Interest & dividends", "Refunds", "Other income"]),
    "Housing": ("EXPENSE", ["Rent", "Mortgage", "Utilities", "Internet & phone", "Home maintenance"]),
    "Food & drink": ("EXPENSE", ["Groceries", "Restaurants", "Coffee", "Delivery"]),
    "Transport": ("EXPENSE", ["Public transport", "Fuel", "Taxi & rideshare", "Parking", "Car maintenance"]),
    "Shopping": ("EXPENSE", ["Clothing", "Electronics", "Household", "Online shopping"]),
    "Health": ("EXPENSE", ["Pharmacy", "Doctor", "Fitness"]),
    "Entertainment": ("EXPENSE", ["Streaming", "Events", "Games", "Books"]),
    "Subscriptions": ("EXPENSE", []),
    "Travel": ("EXPENSE", ["Flights", "Hotels"]),
    "Education": ("EXPENSE", []),
    "Personal care": ("EXPENSE", []),
    "Gifts & donations": ("EXPENSE", []),
    "Insurance": ("EXPENSE", []),
    "Fees & charges": ("EXPENSE", []),
    "Taxes": ("EXPENSE", []),
    "Transfers": ("TRANSFER", ["Transfer", "Credit card payment", "Savings"]),
}


BUILTIN_COUNT = len(EXPECTED_TREE) + sum(len(children) for _, children in EXPECTED_TREE.values())


def db_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def tree(gql: GraphQLClient, token: str) -> list[dict[str, Any]]:
    return (await gql(TREE, token=token)).ok()["categories"]


def find(roots: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for root in roots:
        if root["name"] == name:
            return root
        for child in root["children"]:
            if child["name"] == name:
                return child
    raise AssertionError(f"no category {name!r}")


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def snapshot(resources: Any, table: str = "categories") -> list[dict[str, Any]]:
    async with resources.sessionmaker() as session:
        result = await session.execute(sa.text(f"select * from {table} order by id"))
        return [dict(row._mapping) for row in result]


async def test_a_new_user_owns_the_full_builtin_tree(gql: GraphQLClient, resources) -> None:
    # given / when
    with count_queries(resources.engine) as counter:
        alice = await gql.register()
    bob = await gql.register()
    # then: seeded with one multi-row INSERT
    assert len([s for s in counter.statements if s.lstrip().upper().startswith("INSERT INTO CATEGORIES")]) == 1
    # and the promised roots in order, each with its children in order and the root's kind
    roots = await tree(gql, alice["token"])
    assert [r["name"] for r in roots] == list(EXPECTED_TREE)
    for root in roots:
        kind, children = EXPECTED_TREE[root["name"]]
        assert root["kind"] == kind
        assert [c["name"] for c in root["children"]] == children
        assert all(c["kind"] == kind for c in root["children"])
        for item in (root, *root["children"]):
            assert item["icon"] and re.fullmatch(r"[a-z0-9-]+", item["icon"]), item
            assert re.fullmatch(r"#[0-9A-F]{6}", item["color"]), item
    assert find(roots, "Groceries")["icon"] == "shopping-cart"
    # and every user has a copy of their own
    total = BUILTIN_COUNT
    rows = await snapshot(resources)
    assert len(rows) == 2 * total
    assert {r["user_id"] for r in rows} == {db_id(alice["user_id"]), db_id(bob["user_id"])}
    bob_ids = {c["id"] for r in await tree(gql, bob["token"]) for c in [r, *r["children"]]}
    alice_ids = {c["id"] for r in roots for c in [r, *r["children"]]}
    assert len(alice_ids) == total and not alice_ids & bob_ids


async def test_tree_and_node_lookups_run_a_constant_number_of_statements(gql: GraphQLClient, resources) -> None:
    from app.graphql.context import build_context

    # given
    user = await gql.register()
    roots = await tree(gql, user["token"])
    ids = [c["id"] for r in roots[:6] for c in [r, *r["children"][:2]]]
    context = await build_context(resources, authorization=f"Bearer {user['token']}")  # authentication: 1 statement
    # when: the whole tree (only the execution is counted)
    with assert_max_queries(resources.engine, 1):
        result = await gql.schema.execute("{ categories { name children { name parent { name } } } }",
                                          context_value=context)
    # then
    assert result.errors is None and len(result.data["categories"]) == 16
    assert result.data["categories"][2]["children"][0] == {"name": "Groceries", "parent": {"name": "Food & drink"}}
    # when: many categories as nodes, with parents and children
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Category { name parent { name } children { name } } } }"
    context = await build_context(resources, authorization=f"Bearer {user['token']}")
    with assert_max_queries(resources.engine, 1):
        result = await gql.schema.execute(query, variable_values={"ids": ids}, context_value=context)
    # then
    assert result.errors is None
    got = {n["name"]: n for n in result.data["nodes"]}
    assert len(got) == len(ids)
    assert got["Groceries"]["parent"] == {"name": "Food & drink"}
    assert [c["name"] for c in got["Food & drink"]["children"]] == EXPECTED_TREE["Food & drink"][1]


async def test_category_by_id_has_parent_and_children(gql: GraphQLClient) -> None:
    # given
    user = await gql.register()
    roots = await tree(gql, user["token"])
    food, coffee = find(roots, "Food & drink"), find(roots, "Coffee")
    # when
    child = (await gql(CATEGORY, {"id": coffee["id"]}, token=user["token"])).ok()["category"]
    root = (await gql(CATEGORY, {"id": food["id"]}, token=user["token"])).ok()["category"]
    # then
    assert child["parent"] == {"id": food["id"], "name": "Food & drink"} and child["children"] == []
    assert root["parent"] is None
    assert [c["name"] for c in root["children"]] == EXPECTED_TREE["Food & drink"][1]
    wrong_type = to_global_id("Account", db_id(coffee["id"]))
    assert (await gql(CATEGORY, {"id": wrong_type}, token=user["token"])).ok() == {"category": None}


async def test_create_roots_and_children_with_their_rules(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    roots = await tree(gql, user["token"])
    food, groceries, income = find(roots, "Food & drink"), find(roots, "Groceries"), find(roots, "Income")

    async def create(**fields: Any) -> dict[str, Any]:
        return (await gql(CREATE, {"input": fields}, token=user["token"])).ok()["categoryCreate"]

    # when: a root without a kind, then a child that takes its parent's kind, placed last
    pets = await create(name=" Pets ", icon="paw-print", color="#a1b2c3")
    bakery = await create(name="Bakery", parentId=food["id"], kind="EXPENSE")
    side = await create(name="Side job", parentId=income["id"], position=0)
    # then
    assert pets["errors"] == [] and bakery["errors"] == [] and side["errors"] == []
    assert (pets["category"]["name"], pets["category"]["kind"], pets["category"]["color"]) == (
        "Pets", "EXPENSE", "#A1B2C3")
    assert pets["category"]["position"] == 16 and pets["category"]["parent"] is None
    assert bakery["category"]["kind"] == "EXPENSE" and bakery["category"]["parent"] == {
        "id": food["id"], "name": "Food & drink"}
    assert bakery["category"]["position"] == 4
    assert (side["category"]["kind"], side["category"]["position"]) == ("INCOME", 0)
    # and the same name under another parent is fine
    assert (await create(name="Bakery", parentId=find(roots, "Shopping")["id"]))["errors"] == []
    before = await snapshot(resources)
    # when / then: refusals
    cases = [
        ({"name": "Organic", "parentId": groceries["id"]}, [("parentId", "INVALID")]),
        ({"name": "Organic", "parentId": to_global_id("Category", uuid.uuid4())}, [("parentId", "NOT_FOUND")]),
        ({"name": "Organic", "parentId": to_global_id("Account", db_id(food["id"]))}, [("parentId", "NOT_FOUND")]),
        ({"name": "Bonus 2", "parentId": income["id"], "kind": "EXPENSE"}, [("kind", "INVALID")]),
        ({"name": "GROCERIES", "parentId": food["id"]}, [("name", "CONFLICT")]),
        ({"name": "pets"}, [("name", "CONFLICT")]),
        ({"name": "Red", "color": "red"}, [("color", "INVALID")]),
        ({"name": "", "color": "#12345", "icon": "i" * 41}, [("name", "REQUIRED"), ("icon", "TOO_LONG"),
                                                            ("color", "INVALID")]),
        ({"name": "n" * 81}, [("name", "TOO_LONG")]),
        ({"name": "Client", "id": to_global_id("Account", uuid.uuid4())}, [("id", "INVALID")]),
    ]
    for given, expected in cases:
        payload = await create(**given)
        assert payload["category"] is None
        assert codes(payload) == expected, given
    assert await snapshot(resources) == before


async def test_create_with_a_client_id_replays_and_conflicts(gql: GraphQLClient, resources) -> None:
    # given
    alice, bob = await gql.register(), await gql.register()
    chosen = to_global_id("Category", uuid.uuid4())
    first = (await gql(CREATE, {"input": {"id": chosen, "name": "Pets"}}, token=alice["token"])).ok()["categoryCreate"]
    assert first["category"]["id"] == chosen
    # when / then: a retry replays
    again = (await gql(CREATE, {"input": {"id": chosen, "name": "Pets"}}, token=alice["token"])).ok()["categoryCreate"]
    assert again == first
    # when / then: another input, or another user, is CONFLICT on `id`
    other = (await gql(CREATE, {"input": {"id": chosen, "name": "Cats"}}, token=alice["token"])).ok()
    assert codes(other["categoryCreate"]) == [("id", "CONFLICT")]
    before = await snapshot(resources)
    stolen = (await gql(CREATE, {"input": {"id": chosen, "name": "Dogs"}}, token=bob["token"])).ok()
    assert codes(stolen["categoryCreate"]) == [("id", "CONFLICT")]
    assert "Pets" not in stolen["categoryCreate"]["errors"][0]["message"]
    assert await snapshot(resources) == before


async def test_update_keeps_two_levels(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    roots = await tree(gql, user["token"])
    food, coffee, income = find(roots, "Food & drink"), find(roots, "Coffee"), find(roots, "Income")
    travel, taxes = find(roots, "Travel"), find(roots, "Taxes")

    async def update(**fields: Any) -> dict[str, Any]:
        return (await gql(UPDATE, {"input": fields}, token=user["token"])).ok()["categoryUpdate"]

    before = await snapshot(resources)
    # when / then: refusals change nothing
    cases = [
        ({"id": food["id"], "parentId": income["id"]}, [("parentId", "INVALID")]),  # has children
        ({"id": taxes["id"], "parentId": taxes["id"]}, [("parentId", "INVALID")]),  # its own parent
        ({"id": taxes["id"], "parentId": coffee["id"]}, [("parentId", "INVALID")]),  # parent is a child
        ({"id": taxes["id"], "parentId": to_global_id("Category", uuid.uuid4())}, [("parentId", "NOT_FOUND")]),
        ({"id": coffee["id"], "name": "restaurants"}, [("name", "CONFLICT")]),
        ({"id": taxes["id"], "name": " ", "color": "blue"}, [("name", "REQUIRED"), ("color", "INVALID")]),
        ({"id": to_global_id("Category", uuid.uuid4()), "name": "X"}, [("id", "NOT_FOUND")]),
        ({"id": to_global_id("Account", db_id(taxes["id"])), "name": "X"}, [("id", "NOT_FOUND")]),
    ]
    for given, expected in cases:
        payload = await update(**given)
        assert payload["category"] is None
        assert codes(payload) == expected, given
    assert await snapshot(resources) == before
    assert (await gql(UPDATE, {"input": {"id": taxes["id"], "name": None}}, token=user["token"])).codes == [
        "BAD_USER_INPUT"]
    # when: a root without children moves under Income: it takes the parent's kind
    moved = await update(id=taxes["id"], parentId=income["id"])
    assert moved["errors"] == []
    assert (moved["category"]["kind"], moved["category"]["parent"]["name"]) == ("INCOME", "Income")
    # when: a child becomes a root (null parent) and keeps its kind
    rooted = await update(id=coffee["id"], parentId=None)
    assert (rooted["category"]["parent"], rooted["category"]["kind"]) == (None, "EXPENSE")
    # when: absent fields stay, null clears the icon
    renamed = await update(id=travel["id"], name="Trips", icon=None)
    assert renamed["category"]["name"] == "Trips" and renamed["category"]["icon"] is None
    assert renamed["category"]["color"] == travel["color"] and renamed["category"]["position"] == travel["position"]
    assert [c["name"] for c in renamed["category"]["children"]] == ["Flights", "Hotels"]
    now = await tree(gql, user["token"])
    assert "Coffee" in [r["name"] for r in now] and "Taxes" in [c["name"] for c in find(now, "Income")["children"]]


async def _insert_transactions(resources: Any, user_id: uuid.UUID, categories: dict[str, uuid.UUID]) -> dict[str, Any]:
    """An account with transactions in some categories and a split line, all last touched in 2020."""
    from app.accounts.models import Account
    from app.transactions.models import Transaction, TransactionSplit

    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    account = Account(user_id=user_id, name="Checking", kind="CHECKING", classification="ASSET", currency="EUR")
    txns = {
        "groceries": Transaction(user_id=user_id, account_id=account.id, booked_on=dt.date(2024, 5, 1),
                                 amount=Decimal("-20"), currency="EUR", category_id=categories["Groceries"],
                                 category_source="RULE", updated_at=old),
        "food": Transaction(user_id=user_id, account_id=account.id, booked_on=dt.date(2024, 5, 2),
                            amount=Decimal("-5"), currency="EUR", category_id=categories["Food & drink"],
                            updated_at=old),
        "salary": Transaction(user_id=user_id, account_id=account.id, booked_on=dt.date(2024, 5, 3),
                              amount=Decimal("3000"), currency="EUR", category_id=categories["Salary"],
                              updated_at=old),
        "split": Transaction(user_id=user_id, account_id=account.id, booked_on=dt.date(2024, 5, 4),
                             amount=Decimal("-50"), currency="EUR", category_id=None, has_splits=True,
                             updated_at=old),
    }
    split = TransactionSplit(transaction_id=txns["split"].id, user_id=user_id, category_id=categories["Coffee"],
                             amount=Decimal("-50"))
    async with resources.sessionmaker() as session, session.begin():
        session.add(account)
        await session.flush()
        session.add_all(txns.values())
        await session.flush()
        session.add(split)
    return {"old": old, "txns": {k: v.id for k, v in txns.items()}, "split": split.id}


async def _transactions(resources: Any) -> dict[uuid.UUID, Any]:
    async with resources.sessionmaker() as session:
        result = await session.execute(sa.text("select id, category_id, category_source, updated_at from transactions"))
        return {row.id: row for row in result}


async def test_delete_moves_transactions_and_writes_tombstones(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    user_id = db_id(user["user_id"])
    roots = await tree(gql, user["token"])
    ids = {name: db_id(find(roots, name)["id"])
           for name in ["Food & drink", "Groceries", "Coffee", "Salary", "Household"]}
    given = await _insert_transactions(resources, user_id, ids)
    food = find(roots, "Food & drink")
    deleted_ids = {db_id(c["id"]) for c in [food, *food["children"]]}
    # when: moving into one of the categories being deleted
    refused = (await gql(DELETE, {"input": {"id": food["id"], "moveToCategoryId": find(roots, "Coffee")["id"]}},
                         token=user["token"])).ok()["categoryDelete"]
    # then: refused, nothing changed
    assert refused == {"deletedId": None, "deletedIds": [], "errors": [
        {"field": "moveToCategoryId", "code": "INVALID",
         "message": "Transactions cannot move to a category that is being deleted."}]}
    assert all(t.updated_at == given["old"] for t in (await _transactions(resources)).values())
    assert len(await snapshot(resources)) == BUILTIN_COUNT and await snapshot(resources, "deletions") == []
    # when
    result = (await gql(DELETE, {"input": {"id": food["id"], "moveToCategoryId": find(roots, "Household")["id"]}},
                        token=user["token"])).ok()["categoryDelete"]
    # then: the root and its four children are gone
    assert result["errors"] == [] and result["deletedId"] == food["id"]
    assert {db_id(i) for i in result["deletedIds"]} == deleted_ids and len(deleted_ids) == 5
    remaining = await tree(gql, user["token"])
    assert "Food & drink" not in [r["name"] for r in remaining]
    assert len(await snapshot(resources)) == BUILTIN_COUNT - 5
    # and their transactions and split lines moved, touched for offline clients
    txns = await _transactions(resources)
    for key in ("groceries", "food"):
        row = txns[given["txns"][key]]
        assert row.category_id == ids["Household"] and row.category_source == "USER"
        assert row.updated_at > given["old"]
    salary = txns[given["txns"]["salary"]]
    assert (salary.category_id, salary.updated_at) == (ids["Salary"], given["old"])
    assert txns[given["txns"]["split"]].updated_at > given["old"]
    splits = await snapshot(resources, "transaction_splits")
    assert [s["category_id"] for s in splits] == [ids["Household"]]
    # and one tombstone per deleted category
    tombstones = await snapshot(resources, "deletions")
    assert sorted((t["entity"], t["entity_id"], t["user_id"]) for t in tombstones) == sorted(
        ("Category", i, user_id) for i in deleted_ids)


async def test_delete_without_a_target_uncategorizes(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    roots = await tree(gql, user["token"])
    ids = {name: db_id(find(roots, name)["id"])
           for name in ["Food & drink", "Groceries", "Coffee", "Salary", "Household"]}
    given = await _insert_transactions(resources, db_id(user["user_id"]), ids)
    # when: deleting a child only, with an idempotency key, twice
    variables = {"input": {"id": find(roots, "Groceries")["id"], "idempotencyKey": "del-1"}}
    first = (await gql(DELETE, variables, token=user["token"])).ok()["categoryDelete"]
    second = (await gql(DELETE, variables, token=user["token"])).ok()["categoryDelete"]
    # then
    assert first == second and first["deletedIds"] == [find(roots, "Groceries")["id"]]
    row = (await _transactions(resources))[given["txns"]["groceries"]]
    assert (row.category_id, row.category_source) == (None, None) and row.updated_at > given["old"]
    assert len(await snapshot(resources, "deletions")) == 1
    assert [c["name"] for c in find(await tree(gql, user["token"]), "Food & drink")["children"]] == [
        "Restaurants", "Coffee", "Delivery"]


async def test_another_user_can_neither_see_nor_use_categories(gql: GraphQLClient, resources) -> None:
    # given
    alice, bob = await gql.register(), await gql.register()
    a_roots = await tree(gql, alice["token"])
    a_food, a_coffee = find(a_roots, "Food & drink"), find(a_roots, "Coffee")
    b_roots = await tree(gql, bob["token"])
    b_taxes = find(b_roots, "Taxes")
    before = await snapshot(resources)
    # when / then: reads
    for target in (a_food, a_coffee):
        assert (await gql(CATEGORY, {"id": target["id"]}, token=bob["token"])).ok() == {"category": None}
        assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": target["id"]},
                          token=bob["token"])).ok() == {"node": None}
    nodes = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [a_food["id"], b_taxes["id"]]},
                      token=bob["token"])
    assert nodes.ok() == {"nodes": [None, {"id": b_taxes["id"]}]}
    b_ids = {c["id"] for r in b_roots for c in [r, *r["children"]]}
    assert not b_ids & {c["id"] for r in a_roots for c in [r, *r["children"]]}
    # when / then: writes on Alice's categories
    update = (await gql(UPDATE, {"input": {"id": a_food["id"], "name": "Mine"}}, token=bob["token"])).ok()
    assert codes(update["categoryUpdate"]) == [("id", "NOT_FOUND")]
    delete = (await gql(DELETE, {"input": {"id": a_food["id"]}}, token=bob["token"])).ok()
    assert codes(delete["categoryDelete"]) == [("id", "NOT_FOUND")]
    # and Alice's categories as parent or target of Bob's
    child = (await gql(CREATE, {"input": {"name": "Sneaky", "parentId": a_food["id"]}}, token=bob["token"])).ok()
    assert codes(child["categoryCreate"]) == [("parentId", "NOT_FOUND")]
    moved = (await gql(UPDATE, {"input": {"id": b_taxes["id"], "parentId": a_food["id"]}}, token=bob["token"])).ok()
    assert codes(moved["categoryUpdate"]) == [("parentId", "NOT_FOUND")]
    target = (await gql(DELETE, {"input": {"id": b_taxes["id"], "moveToCategoryId": a_coffee["id"]}},
                        token=bob["token"])).ok()
    assert codes(target["categoryDelete"]) == [("moveToCategoryId", "NOT_FOUND")]
    # then: nothing changed for anyone
    assert await snapshot(resources) == before
    assert await snapshot(resources, "deletions") == []
    assert await tree(gql, alice["token"]) == a_roots
    assert await tree(gql, bob["token"]) == b_roots


async def test_repository_lookup_is_scoped_to_the_owner(gql: GraphQLClient, resources) -> None:
    from app.categories import repository as categories_repo

    # given
    alice, bob = await gql.register(), await gql.register()
    food = db_id(find(await tree(gql, alice["token"]), "Food & drink")["id"])
    # when
    async with resources.sessionmaker() as session:
        mine = await categories_repo.categories_by_ids(session, db_id(alice["user_id"]), [food, uuid.uuid4()])
        theirs = await categories_repo.categories_by_ids(session, db_id(bob["user_id"]), [food])
    # then
    assert [c.name for c in mine] == ["Food & drink"] and theirs == []
