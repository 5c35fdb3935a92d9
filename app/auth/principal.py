"""The authenticated caller of a request."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from app.auth.models import Scope


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    email: str
    base_currency: str
    time_zone: str
    scope: Scope
    token_id: uuid.UUID
    family_id: uuid.UUID | None = None
    expires_at: dt.datetime | None = None
    via_api_token: bool = False

    @property
    def can_write(self) -> bool:
        return self.scope == Scope.READ_WRITE
