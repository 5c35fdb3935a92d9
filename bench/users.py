"""The generated users as the load generator sees them: ids, accounts, history and fresh tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from app.auth.tokens import issue_access_token
from app.graphql.node import to_global_id
from bench.data.generate import UserPlan


@dataclass
class BenchUser:
    index: int
    id: uuid.UUID
    email: str
    family_id: uuid.UUID
    transactions: int
    start: dt.date
    end: dt.date
    accounts: dict[str, uuid.UUID]
    florin_token: str = ""
    pgl_token: str = ""
    account_gids: dict[str, str] = field(default_factory=dict)
    ids: dict[str, uuid.UUID] = field(default_factory=dict)  # rows of the data hooks, e.g. "budget:Monthly"

    @classmethod
    def of(cls, plan: UserPlan) -> BenchUser:
        accounts = {key: a.id for key, a in plan.accounts.items()}
        return cls(index=plan.index, id=plan.id, email=plan.email, family_id=plan.family_id,
                   transactions=plan.transactions, start=plan.start, end=plan.end, accounts=accounts,
                   account_gids={key: to_global_id("Account", value) for key, value in accounts.items()},
                   ids=dict(plan.ids))

    def mint(self, florin_secret: str, pgl_secret: str | None, ttl: int = 900) -> None:
        """Fresh access tokens: Florin's (same issuer and family as a login) and PostGraphile's JWT."""
        self.florin_token, _ = issue_access_token(florin_secret, user_id=self.id, family_id=self.family_id,
                                                  token_version=0, ttl_seconds=ttl)
        if pgl_secret:
            from bench.postgraphile import token

            self.pgl_token = token(pgl_secret, self.id, ttl)

    @property
    def span_days(self) -> int:
        return (self.end - self.start).days


def mix(user: BenchUser, i: int, modulo: int) -> int:
    """A deterministic, well-spread number in [0, modulo) for request `i` of `user`."""
    return ((i + 1) * 2654435761 + (user.index + 1) * 40503) % 4294967296 % modulo
