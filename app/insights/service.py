"""Running the generators for a user, and the insight feed (list, dismiss)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UnitOfWork
from app.errors import NotFound
from app.insights import repository as repo
from app.insights.generators_flows import GENERATORS
from app.insights.models import Insight, InsightState
from app.notifications.models import NotificationKind
from app.notifications.service import notify


async def generate(uow: UnitOfWork, user_id: uuid.UUID, *, today: date, base_currency: str) -> list[Insight]:
    """Run every generator for the user as of `today`; store the insights whose dedupe key is new (one
    statement), each announced as an INSIGHT notification; returns the new ones in generator order."""
    drafts: list[Insight] = []
    for generator in GENERATORS:
        drafts.extend(await generator(uow.session, user_id, today, base_currency))
    inserted = set(await repo.insert_new(uow.session, drafts))
    fresh = [d for d in drafts if d.id in inserted]
    for insight in fresh:
        await notify(uow, user_id, kind=NotificationKind.INSIGHT, title=insight.title, body=insight.body,
                     data={"insightKind": insight.kind, "severity": insight.severity, "numbers": insight.numbers},
                     subject_id=insight.id)
    return fresh


async def dismiss(uow: UnitOfWork, user_id: uuid.UUID, insight_id: uuid.UUID | None) -> uuid.UUID:
    """Mark one of the user's insights DISMISSED; NOT_FOUND (field `id`) when it is not theirs."""
    if insight_id is None or not await repo.set_state(uow.session, user_id, insight_id,
                                                      InsightState.DISMISSED.value):
        raise NotFound(message="No Insight with this id", field="id")
    return insight_id


async def insights_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Insight]:
    return await repo.insights_by_ids(session, user_id, ids)


JOB = "generate_insights"


def job_id(user_id: uuid.UUID, day: date) -> str:
    return f"insights:{user_id}:{day.isoformat()}"


async def generate_for(uow: UnitOfWork, user_id: uuid.UUID, *, today: date | None = None) -> list[Insight]:
    """`generate` for a user by id, as of `today` or today in their time zone; [] when the user is gone."""
    from app.networth.service import today_in

    found = await repo.user_settings(uow.session, [user_id])
    if not found:
        return []
    _, base, zone = found[0]
    return await generate(uow, user_id, today=today or today_in(zone), base_currency=base)


async def schedule_all(uow: UnitOfWork, *, day: date) -> int:
    """Queue one `generate_insights` job per user (after the commit), unique per user and day."""
    users = await repo.user_settings(uow.session)
    for user_id, _, _ in users:
        uow.enqueue(JOB, str(user_id), job_id=job_id(user_id, day))
    return len(users)
