"""Florin from JavaScript, as a React/PWA front end talks to it: Apollo Client over HTTP (queries, mutations
with client ids and typed errors, Relay-style pagination merged in the cache) and `graphql-ws` over the
graphql-transport-ws protocol (a live `transactionEvents` subscription), against the API run by uvicorn.

The clients are the npm packages pinned in tests/node/package-lock.json, installed with `npm ci` into
tests/node/node_modules once (reinstalled when the lock file changes). The test skips when node or npm is
missing or the npm registry cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from app.graphql.node import from_global_id
from tests.conftest import clone_database, drop_database
from tests.servers import ApiServer, api_process
from tests.support import PASSWORD
from tests.test_processes import graphql_http

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "client-test.mjs"
STAMP = NODE_DIR / "node_modules" / ".florin-lock-sha256"
NETWORK_FAILURES = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH",
                    "EHOSTUNREACH", "network", "socket hang up", "request to https://")


def _lock_digest() -> str:
    return hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def node_clients() -> str:
    """The path of `node`, once tests/node/node_modules matches package-lock.json (`npm ci` if it does not)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the JavaScript client test (Debian: apt-get install nodejs npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.skip(f"the JavaScript clients need Node 20 or later; found {version}")
    digest = _lock_digest()
    if STAMP.is_file() and STAMP.read_text().strip() == digest:
        return node
    try:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR,
                              capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("`npm ci` in tests/node did not finish within 300 s: is the npm registry reachable?")
    if done.returncode != 0:
        output = done.stdout + done.stderr
        if any(marker in output for marker in NETWORK_FAILURES):
            pytest.skip(f"the npm registry is unreachable, so the JavaScript clients cannot be installed:\n{output}")
        pytest.fail(f"`npm ci` in tests/node failed with {done.returncode}:\n{output}")
    STAMP.write_text(digest)
    return node


@pytest.fixture
async def api(servers: dict[str, str], template_url: str, tmp_path: Path) -> AsyncIterator[ApiServer]:
    url = await clone_database(servers)
    try:
        async with api_process(url, servers["redis"], log_dir=tmp_path) as server:
            yield server
    finally:
        await drop_database(servers, url)


async def wait_for_listener(redis_url: str, channel: str, within: float = 10) -> None:
    """Until Redis reports a subscriber on `channel` (the API's event hub listening for the user)."""
    redis = Redis.from_url(redis_url)
    try:
        for _ in range(int(within / 0.05)):
            if dict(await redis.pubsub_numsub(channel))[channel.encode()] >= 1:
                return
            await asyncio.sleep(0.05)
    finally:
        await redis.aclose()
    raise AssertionError(f"no subscriber on {channel} within {within} s")


async def run_clients(node: str, api: ApiServer, spec: dict[str, Any], redis_url: str) -> dict[str, Any]:
    """Run client-test.mjs; answer its "subscribed" line once the server listens; return its result."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    process = await asyncio.create_subprocess_exec(
        node, str(SCRIPT), api.graphql_url, api.ws_url, json.dumps(spec), cwd=NODE_DIR, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    lines: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(90):
            while raw := await process.stdout.readline():
                line = json.loads(raw)
                lines.append(line)
                if line.get("waiting") == "subscribed":
                    user = from_global_id(line["userId"])
                    assert user is not None and user[0] == "User", line
                    await wait_for_listener(redis_url, f"florin:user:{user[1]}")
                    process.stdin.write(b"go\n")
                    await process.stdin.drain()
            stderr = (await process.stderr.read()).decode(errors="replace")
            code = await process.wait()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert code == 0 and lines and "result" in lines[-1], f"exit {code}\n{lines}\n{stderr}\n{api.output()}"
    return lines[-1]["result"]


TRANSACTIONS = [  # booked on distinct days, so BOOKED_ON_ASC has one possible order
    {"amount": "-12.50", "bookedOn": "2026-03-02", "description": "CARD 1234 REWE SAGT DANKE"},
    {"amount": "2500.00", "bookedOn": "2026-03-01", "description": "SALARY MARCH"},
    {"amount": "-3.20", "bookedOn": "2026-03-05", "description": "BAKERY"},
    {"amount": "-899.00", "bookedOn": "2026-03-03", "description": "RENT"},
    {"amount": "-45.99", "bookedOn": "2026-03-09", "description": "ELECTRICITY"},
    {"amount": "-7.10", "bookedOn": "2026-03-06", "description": "CINEMA"},
    {"amount": "19.99", "bookedOn": "2026-03-04", "description": "REFUND"},
]
LIVE = {"amount": "-4.80", "bookedOn": "2026-03-10", "description": "COFFEE"}


async def test_apollo_client_and_graphql_ws_against_the_real_api(node_clients: str, api: ApiServer,
                                                                 servers: dict[str, str]) -> None:
    # given: what the front end will send
    email = f"js-{uuid.uuid4().hex[:10]}@example.com"
    spec = {"email": email, "password": PASSWORD, "pageSize": 3, "transactions": TRANSACTIONS, "live": LIVE,
            "account": {"name": "Everyday", "currency": "EUR", "openingBalance": "100.00"}}

    # when
    seen = await run_clients(node_clients, api, spec, servers["redis"])

    # then: not signed in, `me` is a top-level UNAUTHENTICATED error; signed up, `me` is the new user
    assert seen["anonymous"] == {"data": None, "codes": ["UNAUTHENTICATED"]}
    assert seen["registerErrors"] == []
    assert seen["me"]["email"] == email
    # then: the account has the client's id, and retrying the same create replayed it
    account = seen["account"]
    assert account == {"account": {"id": seen["clientAccountId"], "name": "Everyday", "currency": "EUR",
                                   "balance": {"amount": "100.00", "currency": "EUR", "__typename": "Money"},
                                   "__typename": "Account"},
                       "errors": [], "__typename": "AccountCreatePayload"}
    assert seen["accountRetry"] == account
    # then: an amount finer than cents is a typed payload error, and created nothing
    assert seen["refused"] == {"transaction": None, "errors": [
        {"field": "amount", "code": "TOO_MANY_DECIMALS", "__typename": "UserError"}],
        "__typename": "TransactionPayload"}
    # then: pages of 3, 3 and 1, and the merged list is every transaction once, oldest first
    total = len(TRANSACTIONS)
    assert seen["pages"] == [{"size": 3, "hasNextPage": True, "totalCount": total},
                             {"size": 3, "hasNextPage": True, "totalCount": total},
                             {"size": 1, "hasNextPage": False, "totalCount": total}]
    expected = sorted(TRANSACTIONS, key=lambda t: t["bookedOn"])
    assert [(t["amount"], t["bookedOn"], t["description"]) for t in seen["merged"]] == [
        (t["amount"], t["bookedOn"], t["description"]) for t in expected]
    assert {t["currency"] for t in seen["merged"]} == {"EUR"} and seen["mergedHasNextPage"] is False
    assert sorted(t["id"] for t in seen["merged"]) == sorted(seen["created"])
    # then: the subscription delivered the live transaction's CREATED event, and only that
    assert seen["events"] == [{
        "kind": "CREATED", "transactionId": seen["liveId"], "accountIds": [account["account"]["id"]], "count": 1,
        "transaction": {"id": seen["liveId"], "amount": {"amount": "-4.80", "currency": "EUR", "__typename": "Money"},
                        "description": "COFFEE", "__typename": "Transaction"},
        "__typename": "TransactionEvent"}]

    # then, read back over plain HTTP: exactly one account, and the balance of everything the clients created
    token = (await graphql_http(api, """mutation($e: String!, $p: String!) { authLogin(input: {email: $e,
        password: $p}) { accessToken } }""", {"e": email, "p": PASSWORD}))["authLogin"]["accessToken"]
    state = await graphql_http(api, "{ accounts(first: 10) { totalCount edges { node { id balance { amount } } } } }",
                               token=token)
    opening = Decimal("100.00")
    balance = opening + sum(Decimal(t["amount"]) for t in [*TRANSACTIONS, LIVE])
    assert state["accounts"] == {"totalCount": 1, "edges": [
        {"node": {"id": account["account"]["id"], "balance": {"amount": f"{balance:.2f}"}}}]}
