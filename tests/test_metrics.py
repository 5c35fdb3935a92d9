"""`/metrics` in Prometheus format, JSON logs with request id, user id and operation, slow-operation logs
with SQL counts, and no secret in any log.

Metrics are process-wide, so each test compares a sample before and after what it does. SQL counts are
checked against `tests.support.count_queries` (an independent listener on the same engine).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from arq.worker import Retry
from prometheus_client.parser import text_string_to_metric_families

from app.graphql.context import build_context
from app.graphql.node import decode_id
from app.graphql.schema import schema_for
from app.logging import JsonFormatter
from app.metrics import instrumented
from app.resources import Resources, build_resources
from tests.support import PASSWORD, count_queries
from tests.test_security import asgi_client, post, register, with_settings

ME = "query Me { me { id email } }"


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@contextmanager
def json_logs(level: int = logging.DEBUG) -> Iterator[list[dict[str, Any]]]:
    """Every record of every logger, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    records: list[dict[str, Any]] = []
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        records.extend(json.loads(line) for line in stream.getvalue().splitlines() if line.strip())


# --- requests, latency, SQL statements ------------------------------------------------------------------


async def test_requests_are_counted_by_operation_and_outcome(resources: Resources) -> None:
    async with asgi_client(resources) as http:
        user = await register(http)
        before = await scrape(http)
        # when: two named queries, one refused query, one anonymous query, a GET mutation (HTTP 400)
        with count_queries(resources.engine) as counter:
            ok = await post(http, ME, token=user["token"])
        await post(http, ME, token=user["token"])
        await post(http, "query Me { me { id } }")  # no token
        await post(http, "{ __typename }")
        await http.get("/graphql", params={"query": "mutation M { authLogout { ok } }"})
        after = await scrape(http)
    # then
    assert ok.json()["data"]["me"]["email"] == user["email"]

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("florin_graphql_requests_total", operation="Me", type="query", outcome="ok") == 2
    assert delta("florin_graphql_requests_total", operation="Me", type="query", outcome="unauthenticated") == 1
    assert delta("florin_graphql_requests_total", operation="anonymous", type="query", outcome="ok") == 1
    assert delta("florin_graphql_requests_total", operation="M", type="mutation", outcome="http_400") == 1
    assert delta("florin_graphql_request_duration_seconds_count", operation="Me", type="query") == 3
    assert delta("florin_graphql_request_duration_seconds_sum", operation="Me", type="query") > 0
    # the SQL statements of the first request (token check and `me`), as an independent listener saw them
    assert counter.count >= 2
    assert delta("florin_sql_statements_per_request_count", operation="Me", type="query") == 3
    sql_sum = delta("florin_sql_statements_per_request_sum", operation="Me", type="query")
    assert sql_sum >= counter.count


async def test_sql_statements_per_request_match_an_independent_count(resources: Resources) -> None:
    async with asgi_client(resources) as http:
        user = await register(http)
        before = await scrape(http)
        with count_queries(resources.engine) as counter:
            await post(http, "query Tokens { apiTokens(first: 5) { totalCount edges { node { id } } } }",
                       token=user["token"])
        after = await scrape(http)
    labels = {"operation": "Tokens", "type": "query"}
    assert value(after, "florin_sql_statements_per_request_sum", **labels) - value(
        before, "florin_sql_statements_per_request_sum", **labels) == counter.count
    assert counter.count >= 3  # the token check, the page and the count


async def test_operation_names_are_a_bounded_label(resources: Resources) -> None:
    async with asgi_client(resources) as http:
        await post(http, "query Odd_Name_1 { __typename }")
        samples = await scrape(http)
    assert value(samples, "florin_graphql_requests_total", operation="Odd_Name_1", type="query", outcome="ok") >= 1
    from app.metrics import operation_label

    assert operation_label("x" * 65) == "other"
    assert operation_label(None) == "anonymous"


# --- subscriptions, queue, jobs ---------------------------------------------------------------------------


async def test_active_subscriptions_gauge(resources: Resources) -> None:
    async with asgi_client(resources) as http:
        user = await register(http)
        schema = schema_for(resources.settings)
        context = await build_context(resources, authorization=f"Bearer {user['token']}")
        baseline = value(await scrape(http), "florin_active_subscriptions")
        # when: a subscription is streaming
        stream = await schema.subscribe("subscription { heartbeat(count: 2, interval: 0.1) }",
                                        context_value=context)
        first = await stream.__anext__()
        during = value(await scrape(http), "florin_active_subscriptions")
        rest = [item async for item in stream]
        after = value(await scrape(http), "florin_active_subscriptions")
    # then
    assert first.data == {"heartbeat": "pong"} and [r.data for r in rest] == [{"heartbeat": "pong"}]
    assert during == baseline + 1
    assert after == baseline


async def test_queue_depth_and_jobs_by_name_and_outcome(resources: Resources) -> None:
    # given: two jobs waiting (no worker runs here), and three runs of an instrumented job
    await resources.job_queue.enqueue("heartbeat")
    await resources.job_queue.enqueue("heartbeat", defer_seconds=60)
    outcomes = iter(["ok", "boom", "retry"])

    @instrumented
    async def metrics_probe(ctx: dict[str, Any]) -> str:
        what = next(outcomes)
        if what == "boom":
            raise RuntimeError("boom")
        if what == "retry":
            raise Retry(defer=1)
        return what

    ctx = {"resources": resources}
    assert await metrics_probe(ctx) == "ok"
    with pytest.raises(RuntimeError):
        await metrics_probe(ctx)
    with pytest.raises(Retry):
        await metrics_probe(ctx)
    # when
    async with asgi_client(resources) as http:
        samples = await scrape(http)
    # then
    assert metrics_probe.__name__ == "metrics_probe"  # arq registers the job under its own name
    assert value(samples, "florin_queue_depth") == 2
    for outcome in ("success", "failure", "retry"):
        assert value(samples, "florin_jobs_total", job="metrics_probe", outcome=outcome) == 1, outcome
        assert value(samples, "florin_job_seconds_total", job="metrics_probe", outcome=outcome) >= 0


async def test_job_counts_are_shared_through_redis(resources: Resources) -> None:
    """A worker is another process: any API process reports its jobs."""
    @instrumented
    async def shared_probe(ctx: dict[str, Any]) -> None:
        return None

    other = await build_resources(resources.settings, start_hub=False)  # another process's connections
    try:
        await shared_probe({"resources": other})
    finally:
        await other.close()
    async with asgi_client(resources) as http:
        samples = await scrape(http)
    assert value(samples, "florin_jobs_total", job="shared_probe", outcome="success") == 1


# --- logs -------------------------------------------------------------------------------------------------


async def test_json_logs_carry_request_user_and_operation(resources: Resources) -> None:
    # given: every operation counts as slow
    res = with_settings(resources, slow_operation_ms=0)
    async with asgi_client(res) as http:
        user = await register(http)
        user_id = str(decode_id(user["id"], "User"))
        # when
        with json_logs(logging.INFO) as records:
            response = await http.post("/graphql", json={"query": ME}, headers={
                "Authorization": f"Bearer {user['token']}", "X-Request-Id": "req-42"})
    # then
    assert response.headers["x-request-id"] == "req-42"
    slow = [r for r in records if r["msg"] == "slow operation Me"]
    access = [r for r in records if r["logger"] == "florin.access"]
    assert len(slow) == 1 and len(access) == 1, records
    for record in (slow[0], access[0]):
        assert record["request_id"] == "req-42"
        assert record["user_id"] == user_id
        assert record["operation"] == "Me"
    assert slow[0]["level"] == "warning"
    assert slow[0]["outcome"] == "ok"
    assert isinstance(slow[0]["sql_statements"], int) and slow[0]["sql_statements"] >= 1


async def test_slow_operation_log_counts_the_operations_sql(resources: Resources) -> None:
    # given: a threshold of 0 ms, and the schema run directly so no token check runs inside the count
    res = with_settings(resources, slow_operation_ms=0)
    schema = schema_for(res.settings)
    async with asgi_client(res) as http:
        user = await register(http)
    context = await build_context(res, authorization=f"Bearer {user['token']}")
    # when
    with json_logs(logging.WARNING) as records, count_queries(res.engine) as counter:
        result = await schema.execute("query Tokens { apiTokens { totalCount edges { node { id } } } }",
                                      context_value=context)
    # then
    assert result.errors is None
    (slow,) = [r for r in records if r["msg"].startswith("slow operation")]
    assert slow["msg"] == "slow operation Tokens"
    assert slow["sql_statements"] == counter.count >= 2


async def test_fast_operations_are_not_logged_as_slow(resources: Resources) -> None:
    assert resources.settings.slow_operation_ms == 1000
    async with asgi_client(resources) as http:
        with json_logs(logging.INFO) as records:
            await post(http, "{ __typename }")
    assert not [r for r in records if r["msg"].startswith("slow operation")]


async def test_no_secret_reaches_the_logs(resources: Resources) -> None:
    # given: SQL logging on, every logger at DEBUG, every operation logged as slow
    res = with_settings(resources, db_echo=True, slow_operation_ms=0)
    echo = await build_resources(res.settings, start_hub=False)
    email = "secret-keeper@example.com"
    password = "a very private passphrase 42"
    secrets: list[str] = [password, res.settings.secret_key.get_secret_value()]
    try:
        async with asgi_client(echo) as http:
            with json_logs(logging.DEBUG) as records:
                # when: register, fail and succeed to sign in, refresh, create an API token, and send a password
                # inline in a document that fails validation
                registered = await register(http, email=email, password=password)
                secrets += [registered["token"], registered["refresh"]]
                await post(http, """mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) {
                               accessToken errors { code } } }""", {"e": email, "p": password + "!"})
                login = await post(http, """mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) {
                                     accessToken refreshToken errors { code } } }""", {"e": email, "p": password})
                secrets += [login.json()["data"]["authLogin"]["accessToken"],
                            login.json()["data"]["authLogin"]["refreshToken"]]
                refreshed = await post(http, """mutation($r: String!) { authRefresh(input: {refreshToken: $r}) {
                                         accessToken refreshToken } }""", {"r": secrets[-1]})
                secrets += [refreshed.json()["data"]["authRefresh"]["accessToken"],
                            refreshed.json()["data"]["authRefresh"]["refreshToken"]]
                api = await post(http, 'mutation { apiTokenCreate(input: {name: "ci"}) { token errors { code } } }',
                                 token=secrets[2])
                secrets.append(api.json()["data"]["apiTokenCreate"]["token"])
                await post(http, f'mutation {{ authLogin(input: {{email: "{email}", password: "{password}", '
                                 f'bogus: 1}}) {{ accessToken }} }}')
                await post(http, "{ me { id } }", token=secrets[-1])
                await post(http, "{ me { id } }", token="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXRoYXQtZmFpbHM")
    finally:
        await echo.close()
    # then: logs were written (SQL among them), and none holds a secret
    text = "\n".join(json.dumps(r) for r in records)
    assert any(r["logger"].startswith("sqlalchemy.engine") for r in records)
    assert any(r["msg"].startswith("slow operation") for r in records)
    assert len(secrets) == 9 and all(secrets)
    for secret in secrets:
        assert secret not in text, secret[:12]
    assert "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0" not in text


def test_redaction_of_messages() -> None:
    from app.logging import redact

    jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    text = redact(f"token {jwt} header Bearer abc.def api flo_{'x' * 43} refresh {'A' * 43} id {'b' * 32}")
    assert jwt not in text and "abc.def" not in text and "x" * 43 not in text and "A" * 43 not in text
    assert "b" * 32 in text  # ids stay readable
    assert redact(f"login of {PASSWORD}") == f"login of {PASSWORD}"  # plain words are left alone
