"""Events of net worth, published after commit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from app.events import Event


@dataclasses.dataclass(frozen=True)
class NetWorthChanged(Event):
    """Net worth may have changed from `since` on: balances of these accounts changed, or (with no accounts) one
    of the user's own exchange rates did. Subscribers recompute the figure they show."""

    since: dt.date
    account_ids: tuple[uuid.UUID, ...] = ()
