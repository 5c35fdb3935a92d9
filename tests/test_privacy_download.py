"""The download link of a data export: signed per export and expiry, works once without an Authorization header
(a second or concurrent download is 410 Gone), a wrong token or unknown id is 404 alike, a HEAD does not use it
up, an expired link is 410 and the hourly job drops expired zips, and the token never reaches the logs."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import uuid

from app.privacy import service
from app.resources import Resources, build_resources
from tests.privacy import ONE, db_id, one, prepared, request_export, sql
from tests.support import GraphQLClient
from tests.test_metrics import json_logs
from tests.test_security import asgi_client, with_settings
from worker.export_jobs import expire_data_exports, export_data

# --- the link -----------------------------------------------------------------------------------------------


async def test_a_wrong_token_or_unknown_id_is_404_and_changes_nothing(gql: GraphQLClient,
                                                                      resources: Resources) -> None:
    # given: ready exports of alice and bob
    alice = await gql.register()
    bob = await gql.register()
    mine = await prepared(gql, resources, alice)
    theirs = await prepared(gql, resources, bob)
    my_id = db_id(mine["id"])
    my_token = mine["downloadUrl"].split("token=")[1]
    their_token = theirs["downloadUrl"].split("token=")[1]
    # when
    async with asgi_client(resources) as http:
        refused = [
            await http.get(f"/exports/{my_id}"),
            await http.get(f"/exports/{my_id}?token="),
            await http.get(f"/exports/{my_id}?token={their_token}"),
            await http.get(f"/exports/{my_id}?token={my_token[:-2]}xx"),
            await http.get(f"/exports/{uuid.uuid4()}?token={my_token}"),
            await http.get(f"/exports/not-a-uuid?token={my_token}"),
        ]
        head = await http.head(mine["downloadUrl"])
        # then: all look alike, whether or not the export exists; a HEAD does not use up the link
        assert [r.status_code for r in refused] == [404] * 6
        assert {r.text for r in refused} == {"Not found"}
        assert head.status_code == 405
        assert await one(gql, alice["token"], mine["id"]) == mine
        # ... and the right link still works, once
        assert (await http.get(mine["downloadUrl"])).status_code == 200
        assert (await http.get(mine["downloadUrl"])).status_code == 410
        assert (await http.get(f"/exports/{my_id}?token={their_token}")).status_code == 404


async def test_downloads_at_once_give_the_zip_once(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    node = await prepared(gql, resources, user)
    # when: four clients follow the link at the same moment
    async with asgi_client(resources) as http:
        responses = await asyncio.gather(*[http.get(node["downloadUrl"]) for _ in range(4)])
    # then: one gets the zip, the others 410, and one download is audited
    assert sorted(r.status_code for r in responses) == [200, 410, 410, 410]
    (winner,) = [r for r in responses if r.status_code == 200]
    assert hashlib.sha256(winner.content).hexdigest() == node["sha256"]
    assert await sql(resources, "select count(*) as n from audit_log where action = 'data_export.download'") == [
        {"n": 1}]


async def test_expired_exports_are_gone_and_swept_by_the_hourly_job(gql: GraphQLClient, resources: Resources) -> None:
    # given: three ready exports; two of them past their expiry (the clock moved on: expires_at in the past)
    users = [await gql.register() for _ in range(3)]
    nodes = [await prepared(gql, resources, user) for user in users]
    ids = [db_id(node["id"]) for node in nodes]
    await sql(resources, "update data_exports set expires_at = now() - interval '1 minute' where id = any(:ids)",
              ids=ids[:2])
    # then: the API reads them EXPIRED at once, without a link
    for user, node, state in zip(users, nodes, ["EXPIRED", "EXPIRED", "READY"], strict=True):
        now = await one(gql, user["token"], node["id"])
        assert now is not None and now["state"] == state
        assert (now["downloadUrl"] is None) == (state == "EXPIRED")

    # when: the hourly job runs
    swept = await expire_data_exports({"resources": resources})
    # then: the expired ones lose their zip; the live one keeps it
    assert swept == 2
    rows = await sql(resources, "select id, state, content is null as gone from data_exports order by id")
    assert {r["id"]: (r["state"], r["gone"]) for r in rows} == {
        ids[0]: ("EXPIRED", True), ids[1]: ("EXPIRED", True), ids[2]: ("READY", False)}

    # when: the old links are followed
    async with asgi_client(resources) as http:
        gone = await http.get(nodes[0]["downloadUrl"])
        live = await http.get(nodes[2]["downloadUrl"])
    # then
    assert gone.status_code == 410 and "expired" in gone.text
    assert live.status_code == 200


async def test_an_expired_link_not_yet_swept_is_gone_and_marked_expired(gql: GraphQLClient,
                                                                        resources: Resources) -> None:
    # given
    user = await gql.register()
    node = await prepared(gql, resources, user)
    await sql(resources, "update data_exports set expires_at = now() - interval '1 second' where id = :id",
              id=db_id(node["id"]))
    # when
    async with asgi_client(resources) as http:
        response = await http.get(node["downloadUrl"])
    # then
    assert response.status_code == 410
    rows = await sql(resources, "select state, content is null as gone, downloaded_at from data_exports")
    assert rows == [{"state": "EXPIRED", "gone": True, "downloaded_at": None}]


# --- logs ---------------------------------------------------------------------------------------------------


async def test_the_download_token_never_reaches_the_logs(gql: GraphQLClient, resources: Resources) -> None:
    # given: SQL logging on and every logger at DEBUG, for the job, the query of the link and the downloads
    res = with_settings(resources, db_echo=True, slow_operation_ms=0)
    echo = await build_resources(res.settings, start_hub=False)
    user = await gql.register()
    try:
        with json_logs(logging.DEBUG) as records:
            requested = await request_export(gql, user["token"])
            assert await export_data({"resources": echo, "job_try": 1}, str(db_id(requested["id"]))) == "READY"
            async with asgi_client(echo) as http:
                answer = await http.post("/graphql", json={"query": ONE, "variables": {"id": requested["id"]}},
                                         headers={"Authorization": f"Bearer {user['token']}"})
                url = answer.json()["data"]["dataExport"]["downloadUrl"]
                statuses = [(await http.get(url)).status_code, (await http.get(url)).status_code,
                            (await http.get(url + "x")).status_code]
    finally:
        await echo.close()
    # then: the link was absolute on the origin asked; the logs saw the job's SQL and the downloads' paths
    assert url.startswith("http://test/exports/") and statuses == [200, 410, 404]
    token = url.split("token=")[1]
    text = "\n".join(json.dumps(r) for r in records if r["logger"] != "httpx")  # httpx: the test's own client
    assert any(r["logger"].startswith("sqlalchemy.engine") for r in records)
    access = [r for r in records if r["logger"] == "florin.access" and "/exports/" in r["msg"]]
    assert len(access) == 3 and all(r["msg"].startswith("GET /exports/") for r in access)
    assert token not in text and token[:20] not in text


def test_tokens_are_signed_per_export_and_expiry() -> None:
    export_id, other = uuid.uuid4(), uuid.uuid4()
    expires = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    token = service.download_token("secret-a", export_id, expires)
    assert len(token) == 43 and token == service.download_token("secret-a", export_id, expires)
    assert token != service.download_token("secret-b", export_id, expires)
    assert token != service.download_token("secret-a", other, expires)
    assert token != service.download_token("secret-a", export_id, expires + dt.timedelta(seconds=1))
