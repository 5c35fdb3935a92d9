"""The event hub with real Redis pub/sub: across processes, per user, and only after a commit."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import unit_of_work
from app.events import Event, Ping
from tests.servers import ROOT, clean_env

QUIET = 0.5  # how long "nothing arrives" is watched

PUBLISHER = """
import asyncio, json, os, sys, uuid
from redis.asyncio import Redis
from app.events import EventHub, Ping

async def main(url, prefix, target, others):
    redis = Redis.from_url(url)
    try:
        hub = EventHub(redis, prefix=prefix)
        channel = hub.channel(uuid.UUID(target))
        listeners = dict(await redis.pubsub_numsub(channel))[channel.encode()]
        for other in others:  # first, so they would arrive first if they leaked to the target
            await hub.publish(uuid.UUID(other), Ping(note="for-" + other))
        await hub.publish(uuid.UUID(target), Ping(note="from-other-process"))
    finally:
        await redis.aclose()
    print(json.dumps({"pid": os.getpid(), "listeners": listeners}))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
"""


async def publish_from_other_process(redis_url: str, prefix: str, target: uuid.UUID,
                                     *others: uuid.UUID) -> dict[str, Any]:
    """Run PUBLISHER in a second Python process; returns its pid and how many listened on the target."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PUBLISHER, redis_url, prefix, str(target), *map(str, others),
        cwd=ROOT, env=clean_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


async def next_event(queue: asyncio.Queue[Event], within: float = 5) -> Event:
    return await asyncio.wait_for(queue.get(), within)


async def assert_nothing_arrives(*queues: asyncio.Queue[Event]) -> None:
    await asyncio.sleep(QUIET)
    leaked = [queue.get_nowait() for queue in queues for _ in range(queue.qsize())]
    assert leaked == []


async def redis_listeners(resources: Any, channel: str) -> int:
    return dict(await resources.redis.pubsub_numsub(channel))[channel.encode()]


async def test_event_from_another_process_reaches_only_its_user(resources) -> None:
    # given: this process's hub has subscribers for two users; a third user has none
    hub = resources.hub
    me, neighbour, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with hub.subscribe(me) as mine, hub.subscribe(neighbour) as theirs:
        assert hub.subscriber_count == 2
        # when: a second process publishes for the stranger, the neighbour, then me
        other = await publish_from_other_process(resources.settings.redis_url, resources.settings.event_channel_prefix,
                                                 me, stranger, neighbour)
        # then: subscribed before the publish (the hub waited for Redis' confirmation), and from elsewhere
        assert other["listeners"] == 1
        assert other["pid"] != os.getpid()
        assert await next_event(mine) == Ping(note="from-other-process")
        assert await next_event(theirs) == Ping(note=f"for-{neighbour}")
        await assert_nothing_arrives(mine, theirs)  # the stranger's event reached no one here
    # then: leaving the block unsubscribes the channels, locally and in Redis
    assert hub.subscriber_count == 0
    for user in (me, neighbour):
        channel = hub.channel(user)
        for _ in range(50):
            if await redis_listeners(resources, channel) == 0:
                break
            await asyncio.sleep(0.05)
        assert await redis_listeners(resources, channel) == 0, channel


async def test_stream_filters_by_type_and_ends_when_left(resources) -> None:
    # given
    hub, me = resources.hub, uuid.uuid4()
    received: list[Event] = []

    async def consume() -> None:
        async for event in hub.stream(me, Ping):
            received.append(event)
            if len(received) == 2:
                return

    task = asyncio.create_task(consume())
    channel = hub.channel(me)
    for _ in range(100):  # until the stream's subscription is confirmed in Redis
        if await redis_listeners(resources, channel) == 1:
            break
        await asyncio.sleep(0.05)
    # when
    await hub.publish(me, Ping(note="one"))
    await hub.publish(me, Ping(note="two"))
    # then
    await asyncio.wait_for(task, 5)
    assert received == [Ping(note="one"), Ping(note="two")]
    assert hub.subscriber_count == 0


@pytest.fixture
async def probe_table(resources) -> str:
    async with resources.engine.begin() as conn:
        await conn.execute(sa.text("create table hub_probe (note text not null)"))
    return "hub_probe"


async def probe_notes(resources) -> list[str]:
    async with resources.engine.connect() as conn:  # another connection: sees only committed rows
        return list((await conn.execute(sa.text("select note from hub_probe order by note"))).scalars())


async def test_events_leave_only_after_commit(resources, probe_table: str) -> None:
    me = uuid.uuid4()
    async with resources.hub.subscribe(me) as queue:
        # when: the unit of work fails after writing and publishing
        with pytest.raises(RuntimeError, match="boom"):
            async with unit_of_work(resources) as uow:
                await uow.session.execute(sa.text("insert into hub_probe values ('rolled back')"))
                uow.publish(me, Ping(note="rolled back"))
                raise RuntimeError("boom")
        # then: no event, no row
        await assert_nothing_arrives(queue)
        assert await probe_notes(resources) == []

        # when: it commits
        async with unit_of_work(resources) as uow:
            await uow.session.execute(sa.text("insert into hub_probe values ('committed')"))
            uow.publish(me, Ping(note="committed"))
            # then: nothing leaves before the commit
            await assert_nothing_arrives(queue)
        # then: the event arrives, and by then the row is visible to others
        assert await next_event(queue) == Ping(note="committed")
        assert await probe_notes(resources) == ["committed"]
        await assert_nothing_arrives(queue)
