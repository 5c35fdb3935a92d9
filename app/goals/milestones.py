"""Goal milestones: checked before the commit of a change to a goal or to a linked account's balance."""

from __future__ import annotations

import uuid

from app.db import UnitOfWork


async def check_accounts(uow: UnitOfWork, user_id: uuid.UUID, account_ids: set[uuid.UUID]) -> None:
    """Record and announce the milestones reached by goals linked to these accounts."""
    # TODO(goals): implemented with the goals domain
    return None
