"""A connection's provider URL cannot point Florin at its own network in production: a local name or a
non-public IP is INVALID when the connection is created, and a sync checks the resolved address again before it
connects (a connection made while allowed, or a name that resolves to a private address, fails the run and
fetches nothing). Outside production local providers are allowed (the tests' own Fi server is one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.resources import Resources
from app.sync.egress import is_public, names_a_private_host
from tests.fi_server import CONNECTION_CREATE, FiServer, create_connection, sync
from tests.support import GraphQLClient


@pytest.fixture
def fi() -> Iterator[FiServer]:
    with FiServer() as server:
        yield server


def _production_egress(resources: Resources) -> None:
    resources.settings = resources.settings.model_copy(update={"allow_private_provider_urls": False})


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2606:4700:4700::1111", True), ("127.0.0.1", False), ("10.1.2.3", False),
    ("172.16.0.9", False), ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("::1", False), ("fd00::1", False), ("fe80::1%eth0", False), ("::ffff:127.0.0.1", False),
    ("::ffff:8.8.8.8", True), ("0.0.0.0", False), ("224.0.0.1", False),
])
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.mark.parametrize(("url", "private"), [
    ("https://mcp.fi.money:8080/mcp/stream", False), ("https://8.8.8.8/mcp", False),
    ("http://localhost:8080/mcp", True), ("http://LOCALHOST./mcp", True), ("http://127.0.0.1/mcp", True),
    ("http://[::1]:80/mcp", True), ("http://169.254.169.254/latest/meta-data", True),
    ("http://metadata.google.internal/", True), ("http://redis/", True), ("http://printer.local/", True),
    ("http://10.0.0.5:5432/", True),
])
def test_urls_naming_a_private_host(url: str, private: bool) -> None:
    assert names_a_private_host(url) is private


async def test_production_refuses_a_private_url_and_stores_nothing(gql: GraphQLClient, resources: Resources) -> None:
    # given
    _production_egress(resources)
    user = await gql.register()
    # when
    refused = []
    for url in ("http://127.0.0.1:8080/mcp/stream", "http://169.254.169.254/mcp", "http://localhost/mcp"):
        payload = (await gql(CONNECTION_CREATE, {"input": {"provider": "FI_MCP", "url": url}},
                             token=user["token"])).ok()["connectionCreate"]
        refused.append(payload)
    accepted = await create_connection(gql, user["token"], "https://mcp.fi.money:8080/mcp/stream")
    # then
    for payload in refused:
        assert payload["connection"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [("url", "INVALID")]
    async with resources.sessionmaker() as session:
        urls = (await session.execute(sa.text("select url from connections"))).scalars().all()
    assert urls == ["https://mcp.fi.money:8080/mcp/stream"] and accepted["id"]


async def test_a_sync_to_a_private_address_fails_before_connecting(gql: GraphQLClient, resources: Resources,
                                                                   fi: FiServer) -> None:
    # given: a connection to a local provider, made while that was allowed
    user = await gql.register()
    created = await create_connection(gql, user["token"], fi.url)
    # when: the sync runs where private addresses are refused
    _production_egress(resources)
    run: dict[str, Any] = await sync(gql, resources, user["token"], created["id"])
    # then: the run failed with the reason, and the provider was never called
    assert run["state"] == "FAILED"
    assert "public server" in run["error"]
    assert fi.calls == []


async def test_outside_production_a_local_provider_is_allowed(gql: GraphQLClient, resources: Resources,
                                                              fi: FiServer) -> None:
    user = await gql.register()
    created = await create_connection(gql, user["token"], fi.url)
    run = await sync(gql, resources, user["token"], created["id"])
    # the first sync reaches the provider (which asks for a login)
    assert fi.calls != []
    assert run["state"] == "FAILED" and "Log in" in run["error"]
