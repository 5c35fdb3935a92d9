"""Events of net worth, published after commit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from app.events import Event


@dataclasses.dataclass(frozen=True)
class NetWorthChanged(Event):
    """Balances of these accounts changed from `since` on; subscribers recompute the figure they show."""

    since: dt.date
    account_ids: tuple[uuid.UUID, ...] = ()
