"""GraphQL types of insights."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.scalars import JSON

from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.insights.models import Insight as InsightRow
from app.insights.models import InsightKind as DomainKind
from app.insights.models import InsightSeverity as DomainSeverity
from app.insights.models import InsightState as DomainState

InsightKind = strawberry.enum(
    DomainKind, name="InsightKind",
    description="Which generator found an insight: SPENDING_ANOMALY (a category well above its 3-month average), "
                "BUDGET_AT_RISK (projected overrun at today's pace), SUBSCRIPTION_AUDIT (new or pricier recurring "
                "charges), CASH_FLOW_WARNING (an account projected below zero before the next income), "
                "NET_WORTH_MILESTONE (crossed a round number), SAVINGS_RATE_CHANGE (last month against the three "
                "before) or LARGE_TRANSACTION (over 3 x the typical expense).")
InsightSeverity = strawberry.enum(DomainSeverity, name="InsightSeverity",
                                  description="How urgent an insight is: INFO, WARNING or CRITICAL.")
InsightState = strawberry.enum(DomainState, name="InsightState",
                               description="NEW until the user acts on it; SEEN; DISMISSED once dismissed.")


@strawberry.type(description="Something that changed in the caller's money, found by a generator; each is stored "
                             "once per subject and period, and announced as an INSIGHT notification.")
class Insight(Node):
    kind: InsightKind = strawberry.field(description="Which generator found it.")  # type: ignore[valid-type]
    title: str = strawberry.field(description="A short headline, at most 200 characters.")
    body: str = strawberry.field(description="The explanation in a sentence or two.")
    severity: InsightSeverity = strawberry.field(description="How urgent it is.")  # type: ignore[valid-type]
    numbers: JSON = strawberry.field(  # type: ignore[valid-type]
        description="The figures behind it as a JSON object (amounts as strings, ids as database ids); keys "
                    "depend on `kind`.")
    period: str = strawberry.field(description="The period it is about: a month (YYYY-MM) or a budget period's "
                                               "first day (YYYY-MM-DD).")
    state: InsightState = strawberry.field(description="NEW, SEEN or DISMISSED.")  # type: ignore[valid-type]
    created_at: dt.datetime = strawberry.field(description="When it was found.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: InsightRow) -> Insight:
        return cls(id=to_global_id("Insight", row.id), kind=DomainKind(row.kind), title=row.title, body=row.body,
                   severity=DomainSeverity(row.severity), numbers=dict(row.numbers or {}),  # type: ignore[arg-type]
                   period=row.period, state=DomainState(row.state), created_at=row.created_at, db_id=row.id)


@strawberry.input(description="Run the insight generators for the caller now.")
class InsightsGenerateInput:
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `insightsGenerate`.")
class InsightsGeneratePayload:
    insights: list[Insight] = strawberry.field(
        description="The insights found now that were not stored before (in generator order); empty when "
                    "nothing new or when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Dismiss one of the caller's insights.")
class InsightDismissInput:
    id: strawberry.ID = strawberry.field(description="The Insight; another user's or another type's id is "
                                                     "NOT_FOUND.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `insightDismiss`.")
class InsightDismissPayload:
    insight: Insight | None = strawberry.field(description="The insight, now DISMISSED; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
