"""Query limits beyond depth, aliases and tokens (tests/test_http.py): the cost estimate and its ceiling,
directives, duplicate fields, and the page size of every connection.

Expected costs are worked by hand from the rule: a field costs 1 plus its selections; a connection multiplies
its subtree by `first`/`last` (20 when absent, at most 100), a plain list by 10; introspection is free.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_introspection_query,
    get_named_type,
    parse,
)

from app.graphql.limits import estimate_cost
from app.graphql.schema import create_schema
from app.resources import Resources
from tests.test_security import asgi_client, codes, count_rows, post, register, with_settings

SCHEMA = create_schema()._schema
TOKENS = "{ apiTokens(first: 7) { totalCount edges { node { id name } } } }"
# node = 1 + (id + name) = 3; edges = 1 + 3 = 4; connection body = totalCount 1 + edges 4 = 5
SPLITS = ("transactions(first: 100) { edges { node { splits { category { children { id } } } } } }")
# children = 1 + 10 * 1 = 11; category = 12; splits = 1 + 10 * 12 = 121; node = 122; edges = 123;
# transactions = 1 + 100 * 123 = 12301


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    return estimate_cost(SCHEMA, parse(query), variables=variables)


@pytest.mark.parametrize(("query", "variables", "expected"), [
    (TOKENS, None, 1 + 7 * 5),
    ("{ apiTokens { totalCount edges { node { id name } } } }", None, 1 + 20 * 5),  # the default page
    ("query($n: Int) { apiTokens(first: $n) { totalCount edges { node { id name } } } }", {"n": 3}, 1 + 3 * 5),
    ("{ apiTokens(last: 1000) { totalCount edges { node { id name } } } }", None, 1 + 100 * 5),  # at most 100
    ("{ apiTokens(first: 0) { totalCount } }", None, 1),
    ("{ categories { id children { id } } }", None, 1 + 10 * (1 + (1 + 10 * 1))),
    ('{ nodes(ids: ["a", "b", "c"]) { id } }', None, 1 + 3 * 1),
    ("{ me { id email } __typename }", None, 1 + 2),
    ("{ me { id email @skip(if: true) name @include(if: false) } }", None, 1 + 1),
    ("query($s: Boolean!) { me { id email @skip(if: $s) } }", {"s": False}, 1 + 2),
    ("{ ...F } fragment F on Query { me { ... on User { id } } }", None, 1 + 1),
    ("{ " + SPLITS + " }", None, 12301),
    ("mutation { apiTokenCreate(input: {name: \"t\"}) { apiToken { id } token errors { code } } }", None,
     1 + (1 + 1) + 1 + (1 + 10 * 1)),
])
def test_cost_estimate_by_hand(query: str, variables: dict[str, Any] | None, expected: int) -> None:
    assert cost(query, variables) == expected


def test_introspection_is_free_so_graphiql_loads() -> None:
    assert cost(get_introspection_query(descriptions=True)) == 0


async def test_cost_ceiling_refuses_before_anything_runs(resources: Resources) -> None:
    # given: a ceiling of 36, exactly the cost of TOKENS
    res = with_settings(resources, max_query_cost=36)
    async with asgi_client(res) as http:
        user = await register(http)
        # when
        at_limit = await post(http, TOKENS, token=user["token"])
        over = await post(http, TOKENS.replace("first: 7", "first: 8"), token=user["token"])
        over_by_variable = await post(http, "query($n: Int) { apiTokens(first: $n) { totalCount edges { node { id name } } } }",
                                      {"n": 8}, token=user["token"])
        mutation = await post(http, 'mutation { a: apiTokenCreate(input: {name: "a"}) { apiToken { id } token errors { code } } '
                                    'b: apiTokenCreate(input: {name: "b"}) { apiToken { id } token errors { code } } '
                                    'c: apiTokenCreate(input: {name: "c"}) { apiToken { id } token errors { code } } }',
                              token=user["token"])
    # then
    assert at_limit.json() == {"data": {"apiTokens": {"totalCount": 0, "edges": []}}}
    for response, estimate in ((over, 1 + 8 * 5), (over_by_variable, 1 + 8 * 5), (mutation, 3 * 15)):
        body = response.json()
        assert body.get("data") is None
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
        assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED", "cost": estimate,
                                                   "maxCost": 36}
        assert body["errors"][0]["message"].startswith(f"Query cost {estimate} exceeds the maximum of 36")
    assert await count_rows(resources, "api_tokens") == 0  # none of the three creates ran


async def test_default_ceiling_allows_big_pages_but_not_many_nested_lists(resources: Resources) -> None:
    # given: the default ceiling of 50000; four aliases of SPLITS cost 4 * 12301 = 49204, five 61505
    assert resources.settings.max_query_cost == 50000
    four = "{ " + " ".join(f"t{i}: {SPLITS}" for i in range(4)) + " }"
    five = "{ " + " ".join(f"t{i}: {SPLITS}" for i in range(5)) + " }"
    async with asgi_client(resources) as http:
        user = await register(http)
        # when
        allowed = await post(http, four, token=user["token"])
        refused = await post(http, five, token=user["token"])
    # then
    assert allowed.json() == {"data": {f"t{i}": {"edges": []} for i in range(4)}}
    assert refused.json()["errors"][0]["extensions"]["cost"] == 61505
    assert refused.json().get("data") is None


# --- directives and duplicate fields ---------------------------------------------------------------------


async def test_directive_limits(resources: Resources) -> None:
    # given: `me { id @include(if: true) }` repeated under 25 aliases is 25 directives; the default allows 50
    def aliased(n: int) -> str:
        return "{ " + " ".join(f"m{i}: me {{ id @include(if: true) email @skip(if: false) }}" for i in range(n)) + " }"

    async with asgi_client(resources) as http:
        user = await register(http)
        # when
        fifty = await post(http, aliased(25), token=user["token"])
        fifty_two = await post(http, aliased(26), token=user["token"])
        two_on_a_field = await post(http, "{ me { id @include(if: true) @skip(if: false) } }", token=user["token"])
        four_on_a_field = await post(
            http, "{ me { id @include(if: true) @skip(if: false) @include(if: true) @skip(if: false) } }",
            token=user["token"])
    # then
    assert fifty.json()["data"]["m24"] == {"id": user["id"], "email": user["email"]}
    assert two_on_a_field.json() == {"data": {"me": {"id": user["id"]}}}
    assert fifty_two.json().get("data") is None
    assert [e["message"] for e in fifty_two.json()["errors"]] == ["52 directives found. Allowed: 50"]
    assert [e["message"] for e in four_on_a_field.json()["errors"]] == ["More than 3 directives in one place"]
    assert codes(four_on_a_field.json()) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_duplicate_field_limit(resources: Resources) -> None:
    async with asgi_client(resources) as http:
        user = await register(http)
        five = await post(http, "{ me { id id id id id } }", token=user["token"])
        six = await post(http, "{ me { id id id id id id } }", token=user["token"])
        # the same key through aliases counts too
        aliased = await post(http, "{ me { " + " ".join(["x: id"] * 6) + " } }", token=user["token"])
        fragments = await post(http, "{ me { ...F ...F id } } fragment F on User { id id }", token=user["token"])
    assert five.json() == {"data": {"me": {"id": user["id"]}}}
    assert fragments.json() == {"data": {"me": {"id": user["id"]}}}
    for refused, key in ((six, "id"), (aliased, "x")):
        body = refused.json()
        assert body.get("data") is None
        assert [e["message"] for e in body["errors"]] == [
            f"'{key}' is selected 6 times in one selection set. Allowed: 5"]


# --- page size at most 100 everywhere ----------------------------------------------------------------------


def _literal(type_: Any) -> str | None:
    """A valid literal for a required argument, or None when the field cannot be called generically."""
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType):
        return None
    if isinstance(named, GraphQLScalarType):
        return {"ID": '"QWNjb3VudDox"', "String": '"x"', "Int": "1", "Float": "1.0", "Boolean": "true",
                "Date": '"2026-01-01"', "DateTime": '"2026-01-01T00:00:00Z"', "Decimal": '"1"'}.get(named.name)
    return named.values and next(iter(named.values))  # an enum


def connection_fields() -> list[tuple[str, str]]:
    """(root field, call with `first: 101` and its required arguments) for every root connection."""
    fields = []
    for name, field in SCHEMA.query_type.fields.items():
        named = get_named_type(field.type)
        if not (isinstance(named, GraphQLObjectType) and "edges" in named.fields and "first" in field.args):
            continue
        arguments = ["first: 101"]
        for arg_name, arg in field.args.items():
            if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined and arg_name != "first":
                literal = _literal(arg.type)
                assert literal is not None, f"{name}.{arg_name}: teach this test a literal"
                arguments.append(f"{arg_name}: {literal}")
        fields.append((name, f"{{ {name}({', '.join(arguments)}) {{ __typename }} }}"))
    return fields


def test_every_root_connection_is_found() -> None:
    names = [name for name, _ in connection_fields()]
    assert {"apiTokens", "accounts", "transactions", "deletions"} <= set(names), names


async def test_every_connection_refuses_pages_over_100(resources: Resources) -> None:
    async with asgi_client(resources) as http:
        user = await register(http)
        for name, query in connection_fields():
            body = (await post(http, query, token=user["token"])).json()
            assert codes(body) == ["BAD_USER_INPUT"], (name, body)
            assert body["errors"][0]["path"] == [name]


async def test_limit_errors_reach_clients_over_get_too(resources: Resources) -> None:
    async with asgi_client(resources) as http:
        response = await http.get("/graphql", params={"query": "{ " + "__typename " * 6 + "}"})
    assert isinstance(response, httpx.Response)
    assert codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]
