"""Rate limits in the real embedded Redis: per user on every operation (HTTP and WebSocket), per IP and per
email on `authLogin`/`authRegister`, and the growing lock after failed logins.

A refused operation is a top-level error `extensions: {code: RATE_LIMITED, retryAfter: <seconds>}`, over
HTTP with status 429 and a `Retry-After` header, and it changes nothing. Lock expiry is simulated by ending
the lock key in Redis (no sleeping, no timing assertions).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.ratelimit import RateLimiter
from app.resources import Resources
from tests.servers import api_process
from tests.support import PASSWORD
from tests.test_security import REGISTER, asgi_client, count_rows, post, register, with_settings

LOGIN = """mutation Login($email: String!, $password: String!) {
  authLogin(input: {email: $email, password: $password}) { accessToken errors { code } } }"""
ME = "{ me { id } }"
CREATE_TOKEN = 'mutation { apiTokenCreate(input: {name: "t"}) { apiToken { id } errors { code } } }'


def assert_rate_limited(response: httpx.Response, *, at_most: int) -> int:
    """The refusal's shape; returns retryAfter."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert len(body["errors"]) == 1, body
    extensions = body["errors"][0]["extensions"]
    assert extensions["code"] == "RATE_LIMITED"
    retry = extensions["retryAfter"]
    assert isinstance(retry, int) and 1 <= retry <= at_most, retry
    assert response.headers["retry-after"] == str(retry)
    return retry


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await post(http, LOGIN, {"email": email, "password": password})


def limiter(res: Resources) -> RateLimiter:
    return RateLimiter.for_resources(res)


# --- per user ---------------------------------------------------------------------------------------------


async def test_user_limit_refuses_the_operation_over_it(resources: Resources) -> None:
    # given: 3 operations per minute per user
    res = with_settings(resources, rate_limit_user_requests=3, rate_limit_user_window_seconds=60)
    async with asgi_client(res) as http:
        alice = await register(http)
        bob = await register(http)
        # when: alice runs three, then a fourth (a write)
        first_three = [await post(http, ME, token=alice["token"]) for _ in range(3)]
        fourth = await post(http, CREATE_TOKEN, token=alice["token"])
        # bob and anonymous callers have their own budgets
        bobs = await post(http, ME, token=bob["token"])
        anonymous = await post(http, "{ __typename }")
    # then
    assert [r.json() for r in first_three] == [{"data": {"me": {"id": alice["id"]}}}] * 3
    assert_rate_limited(fourth, at_most=60)
    assert "data" not in fourth.json()
    assert await count_rows(resources, "api_tokens") == 0
    assert bobs.json() == {"data": {"me": {"id": bob["id"]}}}
    assert anonymous.json() == {"data": {"__typename": "Query"}}
    # the window lives in Redis with the configured length
    ttl = await resources.redis.pttl(limiter(res).user_key(_uuid(alice["id"])))
    assert 0 < ttl <= 60_000


async def test_user_limit_is_atomic_under_concurrency(resources: Resources) -> None:
    # given: 10 operations allowed, 25 sent at once
    res = with_settings(resources, rate_limit_user_requests=10)
    async with asgi_client(res) as http:
        user = await register(http)
        # when
        responses = await asyncio.gather(*[post(http, ME, token=user["token"]) for _ in range(25)])
    # then
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 10 + [429] * 15


async def test_default_user_limit_does_not_throttle_a_busy_client(resources: Resources) -> None:
    assert resources.settings.rate_limit_user_requests >= 6000
    async with asgi_client(resources) as http:
        user = await register(http)
        responses = await asyncio.gather(*[post(http, ME, token=user["token"]) for _ in range(100)])
    assert {r.status_code for r in responses} == {200}


# --- sign-in and registration ------------------------------------------------------------------------------


async def test_register_is_limited_per_ip(resources: Resources) -> None:
    # given: 3 attempts per IP per window
    res = with_settings(resources, rate_limit_auth_ip_requests=3)
    async with asgi_client(res, client=("203.0.113.7", 5000)) as http:
        # when
        allowed = [await register(http) for _ in range(3)]
        refused = await post(http, REGISTER, {"input": {"email": "fourth@example.com", "password": PASSWORD}})
    async with asgi_client(res, client=("198.51.100.9", 5000)) as other_ip:
        elsewhere = await register(other_ip)
    # then
    assert len(allowed) == 3
    assert_rate_limited(refused, at_most=600)
    assert refused.json()["errors"][0]["path"] == ["authRegister"]
    assert await count_rows(resources, "users") == 4  # three from the first IP, one from the other
    assert elsewhere["email"] != "fourth@example.com"


async def test_login_is_limited_per_email(resources: Resources) -> None:
    # given: 3 attempts per email per window, whatever the outcome
    res = with_settings(resources, rate_limit_auth_email_requests=3)
    async with asgi_client(res) as http:
        alice = await register(http)
        bob = await register(http)
        # when
        attempts = [await login(http, alice["email"], PASSWORD) for _ in range(3)]
        fourth = await login(http, alice["email"].upper(), PASSWORD)  # the same address
        bobs = await login(http, bob["email"], PASSWORD)
    # then
    assert all(r.json()["data"]["authLogin"]["accessToken"] for r in attempts)
    assert_rate_limited(fourth, at_most=600)
    assert fourth.json()["data"] is None  # authLogin is non-null
    assert bobs.json()["data"]["authLogin"]["accessToken"]
    assert await count_rows(resources, "refresh_tokens") == 2 + 3 + 1  # registrations, logins; not the fourth


async def test_failed_logins_lock_the_email_for_longer_each_time(resources: Resources) -> None:
    # given: locked after 3 failures, for 30 s, doubling, at most 100 s
    res = with_settings(resources, login_failure_threshold=3, login_backoff_seconds=30, login_backoff_max_seconds=100)
    rl = limiter(res)
    async with asgi_client(res) as http:
        user = await register(http)
        email = user["email"]

        async def expire_lock() -> None:  # as if the lock's time had passed (the failures stay counted)
            assert await resources.redis.delete(rl.lock_key(email)) == 1
            assert await resources.redis.exists(rl.failures_key(email)) == 1

        # when: three failures are answered as failures
        failures = [await login(http, email, "wrong password!") for _ in range(3)]
        # then
        assert [r.json()["data"]["authLogin"]["errors"] for r in failures] == [[{"code": "INVALID_CREDENTIALS"}]] * 3
        # and even the right password is refused for up to 30 s
        first_lock = assert_rate_limited(await login(http, email, PASSWORD), at_most=30)
        assert first_lock > 25
        # when the lock ends, one more failure locks for 60 s, the next for 100 (120 capped)
        await expire_lock()
        assert (await login(http, email, "wrong again!!")).json()["data"]["authLogin"]["errors"] == [
            {"code": "INVALID_CREDENTIALS"}]
        second_lock = assert_rate_limited(await login(http, email, PASSWORD), at_most=60)
        assert second_lock > 55
        await expire_lock()
        await login(http, email, "still wrong!!")
        third_lock = assert_rate_limited(await login(http, email, PASSWORD), at_most=100)
        assert third_lock > 95
        # when the lock ends, the right password signs in and the count starts over
        await expire_lock()
        ok = await login(http, email, PASSWORD)
        again = await login(http, email, "wrong password!")
        after = await login(http, email, PASSWORD)
    assert ok.json()["data"]["authLogin"]["accessToken"]
    assert again.json()["data"]["authLogin"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert after.json()["data"]["authLogin"]["accessToken"]  # one failure locks nothing


async def test_unknown_emails_are_locked_the_same_way(resources: Resources) -> None:
    # given: no account behind the address, so nothing reveals whether it exists
    res = with_settings(resources, login_failure_threshold=2)
    async with asgi_client(res) as http:
        failures = [await login(http, "nobody@example.com", PASSWORD) for _ in range(2)]
        refused = await login(http, "nobody@example.com", PASSWORD)
    assert [r.json()["data"]["authLogin"]["errors"] for r in failures] == [[{"code": "INVALID_CREDENTIALS"}]] * 2
    assert_rate_limited(refused, at_most=30)


async def test_auth_limits_reach_in_process_callers_as_errors(resources: Resources) -> None:
    """Without HTTP (no status to set) the top-level error is the same."""
    from tests.support import GraphQLClient

    res = with_settings(resources, rate_limit_auth_email_requests=1)
    gql = GraphQLClient(res)
    user = await gql.register()  # registration and sign-in count separately
    first = await gql(LOGIN, {"email": user["email"], "password": PASSWORD})
    result = await gql(LOGIN, {"email": user["email"], "password": PASSWORD})
    assert first.ok()["authLogin"]["accessToken"]
    assert result.data is None
    assert result.codes == ["RATE_LIMITED"]
    assert result.errors[0]["extensions"]["retryAfter"] >= 1


# --- over a real WebSocket ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_user_limit_counts_websocket_operations(database_url: str, servers: dict[str, str],
                                                      tmp_path: Path) -> None:
    from tests.test_processes import init, receive, send, socket
    from tests.test_processes import register as register_over_http

    # given: 3 operations per user: the registration is anonymous, so all 3 remain for the socket
    async with api_process(database_url, servers["redis"], log_dir=tmp_path, rate_limit_user_requests=3) as api:
        user = await register_over_http(api)
        async with socket(api) as ws:
            await init(ws, user["token"])
            answers: list[dict[str, Any]] = []
            for n in range(4):
                await send(ws, {"id": f"s{n}", "type": "subscribe", "payload": {"query": "subscription { heartbeat }"}})
                answers.append(await receive(ws))
                if answers[-1]["type"] == "next":
                    assert await receive(ws) == {"id": f"s{n}", "type": "complete"}
    # then
    assert [a["type"] for a in answers] == ["next", "next", "next", "error"]
    error = answers[3]
    assert error["id"] == "s3"
    assert error["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= error["payload"][0]["extensions"]["retryAfter"] <= 60


def _uuid(global_id: str) -> Any:
    from app.graphql.node import decode_id

    return decode_id(global_id, "User")


async def test_limiters_let_requests_through_when_redis_is_gone(settings: Any, tmp_path: Path) -> None:
    from app.embedded import EmbeddedRedis
    from app.resources import build_resources

    # given: resources on a Redis of their own, which then stops
    redis_server = EmbeddedRedis(tmp_path / "redis")
    redis_url = redis_server.start()
    try:
        res = await build_resources(settings.model_copy(update={"redis_url": redis_url}), start_hub=False)
    except BaseException:
        redis_server.stop()
        raise
    try:
        async with asgi_client(res) as http:
            user = await register(http)
            redis_server.stop()
            # when
            me = await post(http, ME, token=user["token"])
            signed_in = await login(http, user["email"], PASSWORD)
    finally:
        redis_server.stop()
        await res.close()
    # then: the API answers as if unlimited (readiness reports the outage)
    assert me.json() == {"data": {"me": {"id": user["id"]}}}
    assert signed_in.json()["data"]["authLogin"]["accessToken"]
