"""hypothesis-graphql against the real app over HTTP (httpx ASGITransport) with a signed-in user: generated
queries and mutations, valid and invalid, never get a 5xx, and every error carries a known code; an INTERNAL
error is masked, with no traceback or exception text.

Hypothesis runs in a worker thread; each example is sent on the test's event loop, where the app, its
database and Redis live. Runs are bounded (`max_examples`, no example database), and print no timing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Coroutine
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from app.graphql.schema import create_schema
from app.resources import Resources
from tests.test_security import asgi_client, register

SCHEMA = create_schema()._schema
KNOWN_CODES = {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED",
               "INTERNAL"}
LEAKS = ("traceback", "exception", 'file "', ".py\"", "sqlalchemy", "asyncpg", "psycopg", "strawberry", "maybe[",
         "wrapped_cls")
# signing out or changing the password would end the session the other examples use
SKIPPED_MUTATIONS = {"authLogout", "authPasswordChange", "authRefresh", "meDelete"}


def _string(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


def custom_scalars() -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Value nodes for the schema's own scalars: mostly well-formed, sometimes any text."""
    text = st.text(max_size=20)
    known: dict[str, st.SearchStrategy[str]] = {
        "Date": st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)).map(dt.date.isoformat),
        "DateTime": st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                                 timezones=st.just(dt.UTC)).map(dt.datetime.isoformat),
        "Decimal": st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, places=2).map(str),
    }
    builtin = {"String", "Int", "Float", "Boolean", "ID"}
    strategies = {}
    for name, type_ in SCHEMA.type_map.items():
        if isinstance(type_, graphql.GraphQLScalarType) and name not in builtin:
            strategies[name] = st.one_of(known.get(name, text), text).map(_string)
    return strategies


def check(response: httpx.Response, query: str) -> None:
    context = f"{query}\n-> {response.status_code} {response.text[:600]}"
    assert response.status_code < 500, context
    assert response.status_code == 200, context
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in KNOWN_CODES, context
        if code == "INTERNAL":
            assert error["message"] == "Internal server error", context
    text = response.text.lower()
    for leak in LEAKS:
        assert leak not in text, (leak, context)


async def fuzz(resources: Resources, strategy: st.SearchStrategy[str], examples: int) -> list[str]:
    """Send `examples` generated documents as a signed-in user; returns the INTERNAL errors seen."""
    loop = asyncio.get_running_loop()
    internal: list[str] = []
    async with asgi_client(resources) as http:
        user = await register(http)
        headers = {"Authorization": f"Bearer {user['token']}"}

        def call(coroutine: Coroutine[Any, Any, httpx.Response]) -> httpx.Response:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

        @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def run(query: str) -> None:
            response = call(http.post("/graphql", json={"query": query}, headers=headers))
            check(response, query)
            internal.extend(query for e in response.json().get("errors") or []
                            if e.get("extensions", {}).get("code") == "INTERNAL")

        await asyncio.to_thread(run)
        # the session survived the whole run
        me = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
        assert me.json() == {"data": {"me": {"id": user["id"]}}}
    return internal


def mutation_fields() -> list[str]:
    assert SCHEMA.mutation_type is not None
    return sorted(set(SCHEMA.mutation_type.fields) - SKIPPED_MUTATIONS)


def report(kind: str, internal: list[str]) -> None:
    if internal:  # masked, so allowed; shown for whoever reads the log
        print(f"{kind}: {len(internal)} masked INTERNAL errors, e.g.\n" + "\n".join(internal[:3]))


async def test_generated_queries(resources: Resources) -> None:
    strategy = queries(SCHEMA, custom_scalars=custom_scalars(), allow_x00=False)
    report("queries", await fuzz(resources, strategy, 80))


async def test_generated_mutations(resources: Resources) -> None:
    strategy = mutations(SCHEMA, fields=mutation_fields(), custom_scalars=custom_scalars(), allow_x00=False)
    report("mutations", await fuzz(resources, strategy, 80))


@pytest.mark.parametrize("make", [queries, mutations], ids=["queries", "mutations"])
async def test_generated_invalid_documents(resources: Resources, make: Callable[..., Any]) -> None:
    kwargs: dict[str, Any] = {"fields": mutation_fields()} if make is mutations else {}
    strategy = make(SCHEMA, custom_scalars=custom_scalars(), mode=Mode.NEGATIVE, **kwargs)
    report("invalid", await fuzz(resources, strategy, 40))


def test_check_catches_what_it_should() -> None:
    """The checker itself: a 500, an unknown code or a leaked traceback fail it."""
    request = httpx.Request("POST", "http://test/graphql")
    bad = [
        httpx.Response(500, text="oops", request=request),
        httpx.Response(200, json={"errors": [{"message": "x", "extensions": {"code": "WHAT"}}]}, request=request),
        httpx.Response(200, json={"errors": [{"message": "Traceback (most recent call last)",
                                              "extensions": {"code": "INTERNAL"}}]}, request=request),
        httpx.Response(200, json={"errors": [{"message": "x"}]}, request=request),
    ]
    for response in bad:
        with pytest.raises(AssertionError):
            check(response, "{ x }")
    check(httpx.Response(200, content=json.dumps({"data": {"x": 1}}).encode(), request=request), "{ x }")
