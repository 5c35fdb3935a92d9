"""Production mode against graphql-cop's checks, run over HTTP through the real app (`create_app` with
production settings: a 32+ character secret and the test database and Redis):

introspection, field suggestions, IDE exposure, GET mutations, form-encoded and text/plain POSTs, multipart
without a preflight header, alias overloading, array batching, duplicate fields, directive overloading,
circular introspection, circular fragments, debug/tracing output and unhandled errors. Each is refused in
production; a refused mutation writes nothing. Development keeps GraphiQL, introspection and suggestions.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from graphql import get_introspection_query
from pydantic import ValidationError

from app.config import DEFAULT_SECRET, Settings
from app.main import create_app
from app.resources import Resources
from tests.conftest import make_settings
from tests.support import PASSWORD

APP_ORIGIN = "https://app.example"
REGISTER = """mutation Register($input: AuthRegisterInput!) { authRegister(input: $input) {
  accessToken refreshToken user { id email } errors { field code } } }"""


# --- helpers shared by the hardening tests ----------------------------------------------------------------


def asgi_client(resources: Resources, client: tuple[str, int] = ("127.0.0.1", 123)) -> httpx.AsyncClient:
    """The real app (every middleware and the real view) over httpx, as if from `client`."""
    app = create_app(resources=resources)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=client), base_url="http://test")


def with_settings(resources: Resources, **overrides: Any) -> Resources:
    """The same connections under other settings (the `resources` fixture still owns and closes them)."""
    settings = make_settings(resources.settings.database_url or "", resources.settings.redis_url or "", **overrides)
    return dataclasses.replace(resources, settings=settings)


def production(resources: Resources, **overrides: Any) -> Resources:
    return with_settings(resources, env="production", allowed_origins=[APP_ORIGIN], **overrides)


async def post(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *,
               token: str | None = None, **extra: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json={"query": query, "variables": variables or {}, **extra},
                           headers=headers)


async def register(http: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD) -> dict[str, Any]:
    email = email or f"sec-{uuid.uuid4().hex[:10]}@example.com"
    response = await post(http, REGISTER, {"input": {"email": email, "password": password}})
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["authRegister"]
    assert payload["errors"] == [], payload
    return {"email": email, "password": password, "token": payload["accessToken"],
            "refresh": payload["refreshToken"], "id": payload["user"]["id"]}


async def count_rows(resources: Resources, table: str) -> int:
    async with resources.sessionmaker() as session:
        return (await session.execute(sa.text(f"select count(*) from {table}"))).scalar_one()


def codes(body: dict[str, Any]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def register_variables() -> dict[str, Any]:
    return {"input": {"email": f"csrf-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}}


@pytest.fixture
async def prod(resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(production(resources)) as client:
        yield client


@pytest.fixture
async def dev(resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(with_settings(resources, env="development")) as client:
        yield client


# --- startup ----------------------------------------------------------------------------------------------


def test_production_refuses_to_start_with_a_default_short_or_missing_secret(settings: Settings) -> None:
    urls = {"database_url": settings.database_url, "redis_url": settings.redis_url}
    for secret in (DEFAULT_SECRET, "short-secret", None):
        values = {**urls, **({"secret_key": secret} if secret else {})}
        with pytest.raises(ValidationError, match="FLORIN_SECRET_KEY"):
            Settings(env="production", **values)
    with pytest.raises(ValidationError, match="rate limits cannot be turned off"):
        Settings(env="production", secret_key="x" * 40, rate_limit_user_requests=0, **urls)
    # a real secret starts; development accepts the default one and no rate limit
    assert Settings(env="production", secret_key="x" * 40, encryption_key="00" * 32, **urls).is_production
    assert Settings(env="development", rate_limit_user_requests=0).secret_key.get_secret_value() == DEFAULT_SECRET


# --- introspection and suggestions ------------------------------------------------------------------------


async def test_introspection_is_off_in_production_and_on_in_development(prod: httpx.AsyncClient,
                                                                        dev: httpx.AsyncClient) -> None:
    full = get_introspection_query(descriptions=True)
    # when
    refused = (await post(prod, full)).json()
    by_type = (await post(prod, '{ __type(name: "Query") { name fields { name } } }')).json()
    typename = (await post(prod, "{ __typename }")).json()
    allowed = (await post(dev, full)).json()
    # then
    for body in (refused, by_type):
        assert body.get("data") is None
        assert body["errors"] and set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert all("introspection has been disabled" in e["message"] for e in body["errors"])
    assert typename == {"data": {"__typename": "Query"}}
    assert "errors" not in allowed
    assert allowed["data"]["__schema"]["queryType"] == {"name": "Query", "kind": "OBJECT"}


@pytest.mark.parametrize(("query", "suggested"), [
    ("{ me { emial } }", "email"),
    ("{ apiTokens(frist: 1) { totalCount } }", "first"),
    ("{ transactions(orderBy: BOOKED_ON_DES) { totalCount } }", "BOOKED_ON_DESC"),
])
async def test_field_suggestions_are_off_in_production(prod: httpx.AsyncClient, dev: httpx.AsyncClient,
                                                       query: str, suggested: str) -> None:
    # when
    hidden = (await post(prod, query)).json()
    shown = (await post(dev, query)).json()
    # then: development helps (so the check below could fail), production says only what is wrong
    assert "Did you mean" in shown["errors"][0]["message"] and suggested in shown["errors"][0]["message"]
    assert len(hidden["errors"]) == len(shown["errors"]) == 1
    assert codes(hidden) == ["GRAPHQL_VALIDATION_FAILED"]
    message = hidden["errors"][0]["message"]
    assert "Did you mean" not in message and f"'{suggested}'" not in message
    assert message == shown["errors"][0]["message"].split(" Did you mean")[0]


# --- IDE exposure -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/graphql", "/graphiql", "/playground", "/altair", "/graphql/console",
                                  "/graphiql-assets/graphiql.min.js"])
async def test_no_ide_in_production(prod: httpx.AsyncClient, path: str) -> None:
    response = await prod.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


async def test_graphiql_stays_in_development(dev: httpx.AsyncClient) -> None:
    page = await dev.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "<title>Florin GraphiQL</title>" in page.text


# --- CSRF: GET mutations, non-JSON bodies, multipart without a preflight header ------------------------------


async def test_get_runs_queries_only(prod: httpx.AsyncClient, resources: Resources) -> None:
    # when
    query = await prod.get("/graphql", params={"query": "{ __typename }"})
    mutation = await prod.get("/graphql", params={"query": REGISTER,
                                                  "variables": json.dumps(register_variables())})
    # then
    assert query.json() == {"data": {"__typename": "Query"}}
    assert mutation.status_code == 400
    assert await count_rows(resources, "users") == 0


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
async def test_form_encoded_and_text_plain_posts_are_refused(prod: httpx.AsyncClient, resources: Resources,
                                                             content_type: str) -> None:
    # given: bodies a foreign page can send without a CORS preflight
    if content_type == "text/plain":
        body = json.dumps({"query": REGISTER, "variables": register_variables()})
    else:
        body = httpx.QueryParams({"query": REGISTER, "variables": json.dumps(register_variables())}).__str__()
    # when
    response = await prod.post("/graphql", content=body, headers={"Content-Type": content_type})
    # then
    assert response.status_code == 400
    assert await count_rows(resources, "users") == 0


async def test_multipart_needs_a_preflight_header(prod: httpx.AsyncClient, resources: Resources) -> None:
    # given
    def form() -> dict[str, Any]:
        operations = json.dumps({"query": REGISTER, "variables": register_variables()})
        return {"operations": (None, operations), "map": (None, "{}")}

    # when
    refused = await prod.post("/graphql", files=form())
    users_after_refusal = await count_rows(resources, "users")
    accepted = await prod.post("/graphql", files=form(), headers={"GraphQL-Require-Preflight": "1"})
    # then
    assert refused.status_code == 400
    assert "Preflight" in refused.text
    assert users_after_refusal == 0
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["authRegister"]["errors"] == []
    assert await count_rows(resources, "users") == 1


async def test_json_mutations_work_in_production(prod: httpx.AsyncClient, resources: Resources) -> None:
    user = await register(prod)
    me = await post(prod, "{ me { id } }", token=user["token"])
    assert me.json() == {"data": {"me": {"id": user["id"]}}}
    assert await count_rows(resources, "users") == 1


# --- overloading: aliases, batching, duplicates, directives, circular queries ------------------------------------


async def test_alias_overloading_is_refused(prod: httpx.AsyncClient) -> None:
    query = "query cop { " + " ".join(f"alias{i}: __typename" for i in range(101)) + " }"
    body = (await post(prod, query)).json()
    assert body.get("data") is None
    assert [e["message"] for e in body["errors"]] == ["101 aliases found. Allowed: 30"]


async def test_array_batching_is_refused(prod: httpx.AsyncClient, resources: Resources) -> None:
    # given: ten registrations in one POST
    batch = [{"query": REGISTER, "variables": register_variables()} for _ in range(10)]
    # when
    response = await prod.post("/graphql", json=batch)
    queries = await prod.post("/graphql", json=[{"query": "{ __typename }"}] * 10)
    # then
    for refused in (response, queries):
        assert refused.status_code == 400
        assert refused.text == "Batching is not enabled"
    assert await count_rows(resources, "users") == 0


async def test_field_duplication_is_refused(prod: httpx.AsyncClient) -> None:
    body = (await post(prod, "query cop { " + "__typename " * 500 + "}")).json()
    assert body.get("data") is None
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert body["errors"][0]["message"] == "'__typename' is selected 500 times in one selection set. Allowed: 5"


async def test_directive_overloading_is_refused_with_one_error(prod: httpx.AsyncClient) -> None:
    # graphql-cop's probe: ten unknown directives, vulnerable when each gets its own error
    body = (await post(prod, "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }")).json()
    assert body.get("data") is None
    assert [e["message"] for e in body["errors"]] == ["More than 3 directives in one place"]
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_circular_introspection_is_refused(prod: httpx.AsyncClient, dev: httpx.AsyncClient) -> None:
    query = ("query cop { __schema { types { fields { type { fields { type { fields { type { fields "
             "{ type { name } } } } } } } } } } }")
    for client in (prod, dev):
        body = (await post(client, query)).json()
        assert body.get("data") is None
        assert set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "Maximum introspection depth exceeded" in [e["message"] for e in body["errors"]]


async def test_circular_fragments_are_refused(prod: httpx.AsyncClient) -> None:
    query = """query cop { ...A }
               fragment A on Query { __typename ...B }
               fragment B on Query { __typename ...A }"""
    body = (await post(prod, query)).json()
    assert body.get("data") is None
    assert [e["message"] for e in body["errors"]] == ["Cannot spread fragment 'A' within itself via 'B'."]


# --- what answers reveal -------------------------------------------------------------------------------------


async def test_no_debug_or_tracing_output(prod: httpx.AsyncClient) -> None:
    ok = (await post(prod, "query cop { __typename }")).json()
    with_extensions = (await post(prod, "query cop { __typename }", extensions={"tracing": True,
                                                                                 "debug": True})).json()
    assert ok == with_extensions == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("query", ["qwerty cop { abc }", "{ __typename", "{ me { id } } } }", "query ($x: Int!) { "
                                   "apiTokens(first: $x) { totalCount } }",
                                   'mutation { accountUpdate(input: {id: "x", name: null}) { errors { code } } }'])
async def test_malformed_requests_get_clean_errors(prod: httpx.AsyncClient, query: str) -> None:
    response = await post(prod, query)
    assert response.status_code == 200
    body = response.json()
    assert body.get("data") is None
    assert codes(body) in (["GRAPHQL_VALIDATION_FAILED"], ["BAD_USER_INPUT"])
    text = response.text.lower()
    for leak in ("traceback", "exception", "stacktrace", "file \"", ".py", "strawberry", "graphql-core", "maybe["):
        assert leak not in text, (leak, text)


async def test_unparsable_bodies_are_400_without_details(prod: httpx.AsyncClient) -> None:
    for content in ("{not json", "[1, 2", '{"query": 42}'):
        response = await prod.post("/graphql", content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert "traceback" not in response.text.lower()
