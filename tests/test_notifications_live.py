"""`notificationsLive` over a real graphql-transport-ws WebSocket to a uvicorn API process: a notification stored by
`notify` in a unit of work of this (another) process reaches its owner's subscription, and only the owner's."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.db import unit_of_work
from app.graphql.node import from_global_id, to_global_id
from app.notifications.models import NotificationKind
from app.notifications.service import notify
from tests.servers import ApiServer, api_process
from tests.support import PASSWORD
from tests.test_processes import graphql_http, init, receive, send, socket

pytestmark = pytest.mark.slow

SUBSCRIBE = "subscription { notificationsLive { id kind title body data read readAt } }"
REGISTER = """mutation($input: AuthRegisterInput!) { authRegister(input: $input) {
  accessToken user { id } errors { code } } }"""


async def register(api: ApiServer) -> dict[str, Any]:
    email = f"live-{uuid.uuid4().hex[:10]}@example.com"
    payload = (await graphql_http(api, REGISTER, {"input": {"email": email, "password": PASSWORD}}))["authRegister"]
    assert payload["errors"] == [], payload
    decoded = from_global_id(payload["user"]["id"])
    assert decoded is not None
    return {"token": payload["accessToken"], "id": decoded[1]}


async def test_a_notification_from_another_process_reaches_only_its_owner(
        database_url: str, servers: dict[str, str], resources: Any, tmp_path: Path) -> None:
    async with api_process(database_url, servers["redis"], log_dir=tmp_path) as api:
        # given: the user and a stranger subscribed over real WebSockets
        user, stranger = await register(api), await register(api)
        async with socket(api) as ws, socket(api) as other:
            await init(ws, user["token"])
            await init(other, stranger["token"])
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            await send(other, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            await asyncio.sleep(0.5)  # let both subscriptions reach the API process's hub
            # when: this test process stores a notification for the user (as a budget alert would)
            async with unit_of_work(resources) as uow:
                row = await notify(uow, user["id"], kind=NotificationKind.BUDGET_ALERT, title="Groceries at 80 %",
                                   body="You have spent 400.00 of 500.00 EUR.",
                                   data={"threshold": 80, "spent": "400.00"})
            # then: the user's subscription receives it, loaded from the database
            message = await receive(ws, within=10)
            assert message == {"id": "1", "type": "next", "payload": {"data": {"notificationsLive": {
                "id": to_global_id("Notification", row.id), "kind": "BUDGET_ALERT", "title": "Groceries at 80 %",
                "body": "You have spent 400.00 of 500.00 EUR.", "data": {"threshold": 80, "spent": "400.00"},
                "read": False, "readAt": None}}}}, api.output()
            # and a notification that was rolled back is never announced
            with pytest.raises(RuntimeError):
                async with unit_of_work(resources) as uow:
                    await notify(uow, user["id"], kind=NotificationKind.INSIGHT, title="never stored")
                    raise RuntimeError("roll back")
            second = await _notify_title(resources, user["id"], "Goal reached", NotificationKind.GOAL_MILESTONE)
            nxt = (await receive(ws, within=10))["payload"]["data"]["notificationsLive"]
            assert (nxt["id"], nxt["title"], nxt["kind"]) == (second, "Goal reached", "GOAL_MILESTONE")
            # and the stranger received nothing at all
            with pytest.raises(TimeoutError):
                await receive(other, within=1.0)


async def _notify_title(resources: Any, user_id: uuid.UUID, title: str, kind: NotificationKind) -> str:
    async with unit_of_work(resources) as uow:
        row = await notify(uow, user_id, kind=kind, title=title)
    return to_global_id("Notification", row.id)
