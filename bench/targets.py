"""The three things a scenario is measured against: Florin, PostGraphile (HTTP) and the asyncpg floor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import asyncpg
import orjson

from bench.runner import CpuGroups, Request, Stats, run
from bench.scenarios.base import Scenario
from bench.users import BenchUser


class GraphQLHttp:
    """A keep-alive HTTP client spreading requests round-robin over `urls` (one per server process)."""

    def __init__(self, urls: Sequence[str], concurrency: int):
        self.urls = list(urls)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency + 4, ttl_dns_cache=None),
            timeout=aiohttp.ClientTimeout(total=60), skip_auto_headers=("User-Agent",))

    async def post(self, i: int, query: str, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = orjson.dumps({"query": query, "variables": variables})
        async with self.session.post(self.urls[i % len(self.urls)], data=body, headers=headers) as response:
            raw = await response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {raw[:300]!r}")
        document = orjson.loads(raw)
        if document.get("errors"):
            raise RuntimeError(f"GraphQL errors: {str(document['errors'])[:300]}")
        data: dict[str, Any] = document["data"]
        return data

    async def close(self) -> None:
        await self.session.close()


def florin_request(client: GraphQLHttp, scenario: Scenario, users: Sequence[BenchUser]) -> Request:
    async def request(worker: int, i: int) -> None:
        user = users[i % len(users)]
        data = await client.post(i, scenario.florin_query, scenario.florin_vars(user, i), user.florin_token)
        scenario.florin_check(data)

    return request


def pgl_request(client: GraphQLHttp, scenario: Scenario, users: Sequence[BenchUser]) -> Request:
    assert scenario.pgl_query and scenario.pgl_vars and scenario.pgl_check
    query, make_vars, check = scenario.pgl_query, scenario.pgl_vars, scenario.pgl_check

    async def request(worker: int, i: int) -> None:
        user = users[i % len(users)]
        check(await client.post(i, query, make_vars(user, i), user.pgl_token))

    return request


def floor_request(pool: asyncpg.Pool, scenario: Scenario, users: Sequence[BenchUser]) -> Request:
    async def request(worker: int, i: int) -> None:
        user = users[i % len(users)]
        async with pool.acquire() as conn:
            await scenario.floor(conn, user, i)

    return request


async def measure_http(label: str, urls: Sequence[str], scenario: Scenario, users: Sequence[BenchUser], *,
                       florin: bool, concurrency: int, duration: float, warmup: float,
                       cpu: CpuGroups) -> Stats:
    client = GraphQLHttp(urls, concurrency)
    try:
        request = florin_request(client, scenario, users) if florin else pgl_request(client, scenario, users)
        await request(0, 0)  # one answer checked before timing anything
        return await run(label, request, concurrency=concurrency, duration=duration, warmup=warmup, cpu=cpu)
    finally:
        await client.close()


async def measure_floor(label: str, dsn: str, scenario: Scenario, users: Sequence[BenchUser], *,
                        concurrency: int, duration: float, warmup: float, cpu: CpuGroups) -> Stats:
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency,
                                     server_settings=scenario.floor_settings or None)
    try:
        request = floor_request(pool, scenario, users)
        await request(0, 0)
        return await run(label, request, concurrency=concurrency, duration=duration, warmup=warmup, cpu=cpu)
    finally:
        await pool.close()
