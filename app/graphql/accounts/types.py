"""GraphQL types of accounts."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.accounts.models import Account as AccountRow
from app.accounts.models import AccountKind as DomainAccountKind
from app.accounts.models import Classification as DomainClassification
from app.graphql.node import Node, to_global_id
from app.graphql.scalars import Money

AccountKind = strawberry.enum(DomainAccountKind, name="AccountKind", description="What an account is.")
Classification = strawberry.enum(DomainClassification, name="Classification",
                                 description="ASSET or LIABILITY, derived from the kind.")


@strawberry.type(description="Something the user holds or owes, in one currency. Balances are signed from the "
                             "owner's view: money owed is negative.")
class Account(Node):
    name: str
    kind: AccountKind  # type: ignore[valid-type]
    classification: Classification  # type: ignore[valid-type]
    currency: str
    institution: str | None
    mask: str | None = strawberry.field(description="Last digits of the account number.")
    opening_balance: Money
    opening_date: dt.date | None
    balance: Money = strawberry.field(description="Current balance: opening balance plus every transaction.")
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: AccountRow) -> Account:
        currency = row.currency.strip()
        return cls(
            id=to_global_id("Account", row.id), name=row.name, kind=DomainAccountKind(row.kind),
            classification=DomainClassification(row.classification), currency=currency,
            institution=row.institution, mask=row.mask, opening_balance=Money.of(row.opening_balance, currency),
            opening_date=row.opening_date, balance=Money.of(row.current_balance, currency), archived=row.archived,
            created_at=row.created_at, updated_at=row.updated_at, db_id=row.id,
        )
