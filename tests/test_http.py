"""The real ASGI app over HTTP: health, readiness, GraphiQL, GraphQL over POST and GET, request ids, CORS,
masking of bugs, query limits and argument validation.

The app is `create_app(resources=…)` driven through `httpx.ASGITransport`, so every middleware and the
real view run; given resources, the app needs no lifespan.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import strawberry
from graphql import get_introspection_query
from starlette.applications import Starlette

from app.config import Settings
from app.graphql.errors import FlorinErrors
from app.main import create_app
from app.resources import Resources, build_resources
from tests.conftest import make_settings
from tests.support import PASSWORD

REGISTER = """mutation($input: AuthRegisterInput!) { authRegister(input: $input) {
  accessToken user { id email } errors { field code } } }"""
ME = "{ me { id email } }"
DEV_ORIGIN = "http://localhost:5173"
EVIL_ORIGIN = "https://evil.example"
APP_ORIGIN = "https://app.example"


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def http(resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(create_app(resources=resources)) as client:
        yield client


def _with_settings(resources: Resources, **overrides: Any) -> Resources:
    """The same connections under other settings (the original fixture still owns and closes them)."""
    settings = make_settings(resources.settings.database_url or "", resources.settings.redis_url or "", **overrides)
    return dataclasses.replace(resources, settings=settings)


async def _post(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *,
                token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


async def _register(http: httpx.AsyncClient) -> dict[str, Any]:
    email = f"http-{uuid.uuid4().hex[:10]}@example.com"
    response = await _post(http, REGISTER, {"input": {"email": email, "password": PASSWORD}})
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["authRegister"]
    assert payload["errors"] == []
    return {"email": email, "token": payload["accessToken"], "id": payload["user"]["id"]}


async def _count(resources: Resources, table: str) -> int:
    async with resources.sessionmaker() as session:
        return (await session.execute(sa.text(f"select count(*) from {table}"))).scalar_one()


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


# --- health and readiness -------------------------------------------------------------------------------


async def test_healthz(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


async def test_readyz_when_postgres_and_redis_answer(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"postgres": "ok", "redis": "ok"}}


async def test_readyz_is_503_when_redis_is_gone(settings: Settings, tmp_path: Path) -> None:
    from app.embedded import EmbeddedRedis

    # given: resources built on a Redis of their own, which then stops
    redis_server = EmbeddedRedis(tmp_path / "redis")
    redis_url = redis_server.start()
    try:
        res = await build_resources(settings.model_copy(update={"redis_url": redis_url}))
    except BaseException:
        redis_server.stop()
        raise
    try:
        async with _client(create_app(resources=res)) as http:
            assert (await http.get("/readyz")).status_code == 200  # ready while it runs
            redis_server.stop()
            # when
            response = await http.get("/readyz")
        # then
        assert response.status_code == 503
        body = response.json()
        assert body["ready"] is False
        assert body["checks"]["postgres"] == "ok"
        assert body["checks"]["redis"].startswith("error"), body
    finally:
        redis_server.stop()
        await res.close()


# --- GraphiQL -------------------------------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"] or "")
        elif tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.urls.append(values["href"] or "")


async def test_graphiql_page_and_its_assets_load(http: httpx.AsyncClient) -> None:
    # when
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    # then
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Florin GraphiQL</title>" in page.text
    parser = _Assets()
    parser.feed(page.text)
    assert len(parser.urls) == 6, parser.urls  # 2 stylesheets + 4 scripts
    for url in parser.urls:
        assert url.startswith("/graphiql-assets/"), url
        asset = await http.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


async def test_graphiql_is_off_in_production(resources: Resources) -> None:
    # given
    res = _with_settings(resources, env="production", allowed_origins=[APP_ORIGIN])
    async with _client(create_app(resources=res)) as http:
        # when
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        # the API itself still answers
        typename = await http.get("/graphql", params={"query": "{__typename}"})
    # then
    assert page.status_code == 404
    assert "GraphiQL" not in page.text
    assert typename.json() == {"data": {"__typename": "Query"}}


# --- GraphQL over HTTP ----------------------------------------------------------------------------------


async def test_post_register_then_me_with_bearer(http: httpx.AsyncClient, resources: Resources) -> None:
    # given
    user = await _register(http)
    # when
    response = await _post(http, ME, token=user["token"])
    anonymous = await _post(http, ME)
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"id": user["id"], "email": user["email"]}}}
    assert _codes(anonymous.json()) == ["UNAUTHENTICATED"]
    assert anonymous.json()["data"] is None
    assert await _count(resources, "users") == 1


async def test_get_query(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": "{__typename}"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_mutation_over_get_is_refused_and_writes_nothing(http: httpx.AsyncClient, resources: Resources) -> None:
    # given
    variables = json.dumps({"input": {"email": "get@example.com", "password": PASSWORD}})
    # when
    response = await http.get("/graphql", params={"query": REGISTER, "variables": variables})
    # then
    assert response.status_code == 400
    assert await _count(resources, "users") == 0


async def test_request_id_is_generated_and_echoed(http: httpx.AsyncClient) -> None:
    # when
    generated = await http.get("/healthz")
    echoed = await http.post(
        "/graphql", json={"query": "{__typename}"}, headers={"X-Request-Id": "trace-abc-123"})
    other = await http.get("/healthz")
    # then
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    assert other.headers["x-request-id"] != generated.headers["x-request-id"]
    assert echoed.headers["x-request-id"] == "trace-abc-123"
    assert echoed.headers.get_list("x-request-id") == ["trace-abc-123"]


# --- CORS -----------------------------------------------------------------------------------------------


def _preflight_headers(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"}


async def test_cors_in_development_allows_localhost_only(resources: Resources) -> None:
    # given
    res = _with_settings(resources, env="development")
    async with _client(create_app(resources=res)) as http:
        # when
        local = await http.options("/graphql", headers=_preflight_headers(DEV_ORIGIN))
        evil = await http.options("/graphql", headers=_preflight_headers(EVIL_ORIGIN))
        simple_evil = await http.post("/graphql", json={"query": "{__typename}"}, headers={"Origin": EVIL_ORIGIN})
    # then
    assert local.status_code == 200
    assert local.headers["access-control-allow-origin"] == DEV_ORIGIN
    assert "POST" in local.headers["access-control-allow-methods"]
    assert evil.status_code == 400
    assert "access-control-allow-origin" not in evil.headers
    assert "access-control-allow-origin" not in simple_evil.headers


async def test_cors_in_production_follows_the_allowlist(resources: Resources) -> None:
    # given
    res = _with_settings(resources, env="production", allowed_origins=[APP_ORIGIN])
    async with _client(create_app(resources=res)) as http:
        # when
        allowed = await http.options("/graphql", headers=_preflight_headers(APP_ORIGIN))
        local = await http.options("/graphql", headers=_preflight_headers(DEV_ORIGIN))
        evil = await http.options("/graphql", headers=_preflight_headers(EVIL_ORIGIN))
        simple = await http.post("/graphql", json={"query": "{__typename}"}, headers={"Origin": APP_ORIGIN})
    # then
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert simple.headers["access-control-allow-origin"] == APP_ORIGIN
    for refused in (local, evil):
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers


async def test_cors_in_production_without_allowlist_allows_no_origin(resources: Resources) -> None:
    res = _with_settings(resources, env="production")
    async with _client(create_app(resources=res)) as http:
        local = await http.options("/graphql", headers=_preflight_headers(DEV_ORIGIN))
    assert local.status_code == 400
    assert "access-control-allow-origin" not in local.headers


# --- masking of unexpected errors -----------------------------------------------------------------------


@strawberry.type
class _BuggyQuery:
    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError("secret detail")

    @strawberry.field
    def fine(self) -> str:
        return "fine"


async def test_unexpected_error_is_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    # given
    schema = strawberry.Schema(query=_BuggyQuery, extensions=[FlorinErrors])
    # when
    with caplog.at_level(logging.ERROR, logger="florin.graphql"):
        result = await schema.execute("{ boom fine }")
    # then
    body = json.dumps({"data": result.data, "errors": [e.formatted for e in result.errors or []]})
    assert [e.formatted for e in result.errors or []] == [
        {"message": "Internal server error", "locations": [{"line": 1, "column": 3}], "path": ["boom"],
         "extensions": {"code": "INTERNAL"}}]
    assert result.data is None  # `boom` is non-null, so the error nulls the whole result
    assert "secret detail" not in body
    assert "RuntimeError" not in body
    # the detail is kept for the operator
    assert any("secret detail" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


# --- limits ---------------------------------------------------------------------------------------------


DEEP = "{ apiTokens { edges { node { id } } } }"  # depth 3


async def test_query_deeper_than_the_setting_is_refused(resources: Resources) -> None:
    # given: a limit of 2, and a valid query of depth 3 that passes under the default limit
    async with _client(create_app(resources=resources)) as http:
        user_token = (await _register(http))["token"]
        allowed = await _post(http, DEEP, token=user_token)
    res = _with_settings(resources, max_query_depth=2)
    async with _client(create_app(resources=res)) as http:
        # when
        refused = await _post(http, DEEP, token=user_token)
        shallow = await _post(http, "{ apiTokens { totalCount } }", token=user_token)
    # then
    assert allowed.json() == {"data": {"apiTokens": {"edges": []}}}
    body = refused.json()
    assert body.get("data") is None
    assert len(body["errors"]) == 1
    assert "exceeds maximum operation depth of 2" in body["errors"][0]["message"]
    assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert shallow.json() == {"data": {"apiTokens": {"totalCount": 0}}}


async def test_deep_introspection_is_refused(http: httpx.AsyncClient) -> None:
    # given: introspection nested far deeper than any client needs (GraphiQL's own query passes)
    inner = "name"
    for _ in range(4):
        inner = f"name fields {{ type {{ name ofType {{ name ofType {{ name ofType {{ {inner} }} }} }} }} }}"
    # when
    response = await _post(http, "{ __schema { types { " + inner + " } } }")
    standard = await _post(http, get_introspection_query(descriptions=True))
    # then
    assert "errors" not in standard.json()
    assert standard.json()["data"]["__schema"]["queryType"] == {"name": "Query", "kind": "OBJECT"}
    body = response.json()
    assert body.get("data") is None
    assert [e["message"] for e in body["errors"]] == ["Maximum introspection depth exceeded"]
    assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_too_many_aliases_are_refused(http: httpx.AsyncClient, resources: Resources) -> None:
    # given
    user = await _register(http)
    thirty = " ".join(f"a{i}: me {{ id }}" for i in range(30))
    thirty_one = " ".join(f"a{i}: me {{ id }}" for i in range(31))
    creates = " ".join(f'c{i}: apiTokenCreate(input: {{name: "t{i}"}}) {{ apiToken {{ id }} }}' for i in range(31))
    # when
    ok = await _post(http, "{ " + thirty + " }", token=user["token"])
    refused = await _post(http, "{ " + thirty_one + " }", token=user["token"])
    refused_mutation = await _post(http, "mutation { " + creates + " }", token=user["token"])
    # then
    assert ok.json()["data"]["a29"] == {"id": user["id"]}
    for response in (refused, refused_mutation):
        body = response.json()
        assert body.get("data") is None
        assert [e["message"] for e in body["errors"]] == ["31 aliases found. Allowed: 30"]
        assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert await _count(resources, "api_tokens") == 0  # none of the 31 creates ran


async def test_too_many_tokens_are_refused(http: httpx.AsyncClient, resources: Resources) -> None:
    # given: `{ nodes(ids: [...]) { id } }` is 12 tokens plus one per id (commas are not tokens); a list is
    # used rather than repeated fields, whose merge check graphql-core itself aborts long before 5000
    limit = resources.settings.max_tokens
    assert limit == 5000
    user = await _register(http)

    def query(ids: int) -> str:
        return "{ nodes(ids: [" + ", ".join(['"x"'] * ids) + "]) { id } }"

    # when
    at_limit = await _post(http, query(limit - 12), token=user["token"])
    over = await _post(http, query(limit - 11), token=user["token"])
    # then: the document at the limit is parsed and run (and refused by `nodes` itself: over 100 ids)
    assert at_limit.json()["errors"][0]["message"] == "`ids` may hold at most 100 ids"
    assert _codes(at_limit.json()) == ["BAD_USER_INPUT"]
    # and one token more is refused before anything runs
    body = over.json()
    assert body.get("data") is None
    assert len(body["errors"]) == 1
    assert "Document contains more than 5000 tokens" in body["errors"][0]["message"], body
    assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


# --- argument validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("arguments", ["first: 101", "first: -1", "last: 101", 'after: "zzz"', 'before: "zzz"',
                                       "first: 1, last: 1"])
async def test_bad_page_arguments_are_bad_user_input(http: httpx.AsyncClient, arguments: str) -> None:
    # given
    user = await _register(http)
    # when
    response = await _post(http, f"{{ apiTokens({arguments}) {{ totalCount }} }}", token=user["token"])
    # then
    body = response.json()
    assert body["data"] is None
    assert _codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"] == ["apiTokens"]


async def test_page_size_bounds_are_accepted(http: httpx.AsyncClient) -> None:
    user = await _register(http)
    for arguments in ("first: 0", "first: 100", "last: 100"):
        response = await _post(http, f"{{ apiTokens({arguments}) {{ totalCount }} }}", token=user["token"])
        assert response.json() == {"data": {"apiTokens": {"totalCount": 0}}}, arguments
