"""GraphQL types of goals: the Goal node, its figures, history, milestones and contributions, and the inputs."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import strawberry

from app.goals.models import GoalContribution as ContributionRow
from app.goals.models import GoalKind as DomainGoalKind
from app.goals.models import GoalMilestone as MilestoneRow
from app.goals.models import GoalStatus as DomainGoalStatus
from app.goals.progress import GoalInputs
from app.goals.progress import Interval as DomainInterval
from app.goals.service import GoalView
from app.graphql.accounts.types import Account
from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.graphql.scalars import ConversionNote, Money

GoalKind = strawberry.enum(DomainGoalKind, name="GoalKind", description="What a goal saves for (or pays off).")
GoalStatus = strawberry.enum(
    DomainGoalStatus, name="GoalStatus",
    description="ACTIVE goals fire milestones; PAUSED and ARCHIVED ones do not; a goal becomes COMPLETED when it "
                "first reaches 100 %. `goals` leaves ARCHIVED goals out unless asked.")
GoalHistoryInterval = strawberry.enum(DomainInterval, name="GoalHistoryInterval",
                                      description="How often `Goal.history` samples: the end of each day, week "
                                                  "(Sunday) or month.")

PROGRESS = ("Saved so far, in the goal's currency, never below 0. With contributions: their sum. With linked "
            "accounts: the sum of their current balances converted at today's rate (see `conversions`; balances "
            "without a rate are left out and listed in `unconverted`). For DEBT_PAYOFF with linked liabilities: "
            "the target minus what they still owe, clamped between 0 and the target.")


@strawberry.type(description="The goal's value at the end of one day.")
class GoalHistoryPoint:
    day: dt.date = strawberry.field(description="The day (the last day of its period, or the history's end).")
    amount: Money = strawberry.field(description="Progress at the end of that day, by the rules of `progress`; "
                                                 "linked balances converted at that day's rate.")


@strawberry.type(description="A milestone of a goal (25, 50, 75 or 100 % of its target), recorded once.")
class GoalMilestone:
    percent: int = strawberry.field(description="25, 50, 75 or 100.")
    reached_at: dt.datetime = strawberry.field(description="When the goal first reached it.")

    @classmethod
    def from_row(cls, row: MilestoneRow) -> GoalMilestone:
        return cls(percent=row.percent, reached_at=row.reached_at)


@strawberry.type(description="Money put into a goal (positive) or taken out of it (negative).")
class GoalContribution:
    id: strawberry.ID = strawberry.field(description="The global id of the contribution.")
    amount: Money = strawberry.field(description="Signed, in the goal's currency: a withdrawal is negative.")
    day: dt.date = strawberry.field(description="The day it counts for.")
    note: str = strawberry.field(description="The user's note; empty when none.")
    created_at: dt.datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_row(cls, row: ContributionRow, currency: str) -> GoalContribution:
        return cls(id=to_global_id("GoalContribution", row.id), amount=Money.of(row.amount, currency), day=row.day,
                   note=row.note, created_at=row.created_at)


@strawberry.type(description="A savings or payoff goal. It follows either its contributions or its linked "
                             "accounts (then `accounts` is not empty), never both.")
class Goal(Node):
    name: str = strawberry.field(description="The user's name for the goal.")
    kind: GoalKind = strawberry.field(description="What the goal is for.")  # type: ignore[valid-type]
    target: Money = strawberry.field(description="The amount to reach; for DEBT_PAYOFF the amount to pay off.")
    target_date: dt.date | None = strawberry.field(description="When the target should be reached; null: no date.")
    priority: int = strawberry.field(description="Order of `goals`: smaller numbers first (0 to 1000).")
    status: GoalStatus = strawberry.field(description="ACTIVE, PAUSED, COMPLETED or ARCHIVED.")  # type: ignore[valid-type]
    completed_at: dt.datetime | None = strawberry.field(description="When the goal was completed; null otherwise.")
    accounts: list[Account] = strawberry.field(
        description="The linked accounts whose balances are the progress; empty for a goal of contributions.")
    progress: Money = strawberry.field(description=PROGRESS)
    remaining: Money = strawberry.field(description="What is left to reach the target: target - progress, "
                                                    "at least 0.")
    percent: Decimal = strawberry.field(description="progress / target * 100, two decimals; may pass 100.")
    saved_last_90_days: Money = strawberry.field(
        name="savedLast90Days",
        description="The pace: what the goal gained over the last 90 days, value today minus value 90 days ago "
                    "(contributions through each day, or the linked accounts' end-of-day balances; before an "
                    "account's first day its opening balance counts). Negative when it lost.")
    monthly_saving_required: Money | None = strawberry.field(
        description="remaining / months left to the target date, rounded up to the currency's minor unit. Months "
                    "left are whole calendar months from today (the user's time zone), a started month counting as "
                    "one and at least 1, so a passed target date asks for everything remaining. Null without a "
                    "target date.")
    on_track: bool | None = strawberry.field(
        description="Whether the pace reaches the target on time: remaining is 0, or savedLast90Days / 90 * days "
                    "left until the target date >= remaining. Null without a target date.")
    projected_completion_on: dt.date | None = strawberry.field(
        description="When the goal reaches its target at the pace of the last 90 days: today + remaining / "
                    "(savedLast90Days / 90) days, rounded up; the completion day for a reached goal; null when the "
                    "pace is not positive or the day is more than 100 years away.")
    conversions: list[ConversionNote] = strawberry.field(description="The rates used for `progress`.")
    unconverted: list[Money] = strawberry.field(
        description="Linked balances left out of `progress` because no rate into the goal's currency is known.")
    created_at: dt.datetime = strawberry.field(description="When the goal was created.")
    updated_at: dt.datetime = strawberry.field(description="When the goal or its contributions last changed.")
    db_id: strawberry.Private[uuid.UUID]
    inputs: strawberry.Private[GoalInputs]

    @strawberry.field(description="The goal's value over time, one point per period from `from` to `to`. With "
                                  "contributions: the saved total through each day; with linked accounts: their "
                                  "end-of-day balances (by the rules of `progress`). At most 1000 points.")
    async def history(
        self, info: Info,
        interval: Annotated[GoalHistoryInterval, strawberry.argument(  # type: ignore[valid-type]
            description="How often to sample; default MONTH.")] = DomainInterval.MONTH,
        from_: Annotated[dt.date | None, strawberry.argument(
            name="from", description="First day; default: the first contribution or the first day of the linked "
                                     "accounts (the goal's creation day without either), at most 1000 points "
                                     "back.")] = None,
        to: Annotated[dt.date | None, strawberry.argument(
            description="Last day, the last point; default: today in the user's time zone.")] = None,
    ) -> list[GoalHistoryPoint]:
        from app.graphql.goals.queries import history_loader

        return await history_loader(info.context).load((self.inputs, DomainInterval(interval), from_, to))

    @strawberry.field(description="The milestones reached so far (25, 50, 75, 100 %), by percent.")
    async def milestones(self, info: Info) -> list[GoalMilestone]:
        from app.graphql.goals.queries import milestones_loader

        return await milestones_loader(info.context).load(self.db_id)

    @strawberry.field(description="The latest 100 contributions, newest first; empty for a goal of linked "
                                  "accounts.")
    async def contributions(self, info: Info) -> list[GoalContribution]:
        if self.inputs.follows_accounts:
            return []
        from app.graphql.goals.queries import contributions_loader

        return await contributions_loader(info.context).load((self.db_id, self.target.currency))

    @classmethod
    def from_view(cls, view: GoalView) -> Goal:
        goal, f = view.goal, view.figures
        currency = f.currency
        money = Money.of
        return cls(
            id=to_global_id("Goal", goal.id), name=goal.name, kind=DomainGoalKind(goal.kind),
            target=money(goal.target_amount, currency), target_date=goal.target_date, priority=goal.priority,
            status=DomainGoalStatus(goal.status), completed_at=goal.completed_at,
            accounts=[Account.from_row(row) for row in view.inputs.accounts], progress=money(f.progress, currency),
            remaining=money(f.remaining, currency), percent=f.percent, saved_last_90_days=money(f.gained, currency),
            monthly_saving_required=money(f.monthly_required, currency) if f.monthly_required is not None else None,
            on_track=f.on_track, projected_completion_on=f.projected_on,
            conversions=[ConversionNote(from_currency=n.from_currency, to_currency=n.to_currency, rate=n.rate,
                                        rate_day=n.rate_day, exact=n.exact) for n in f.conversions],
            unconverted=[money(amount, code) for amount, code in f.unconverted],
            created_at=goal.created_at, updated_at=goal.updated_at, db_id=goal.id, inputs=view.inputs,
        )


@strawberry.input(description="A new goal. `id` is an optional client-chosen global id for safe retries.")
class GoalCreateInput:
    name: str = strawberry.field(description="1 to 120 characters.")
    target_amount: str = strawberry.field(description="The positive amount to reach (for DEBT_PAYOFF: to pay off), "
                                                      "a decimal string in the goal's currency.")
    kind: GoalKind = strawberry.field(  # type: ignore[valid-type]
        default=DomainGoalKind.CUSTOM, description="What the goal is for.")
    currency: str | None = strawberry.field(default=None, description="ISO 4217 code; default: the user's base "
                                                                      "currency.")
    target_date: dt.date | None = strawberry.field(default=None, description="When to reach the target, if ever.")
    priority: int = strawberry.field(default=0, description="0 to 1000; smaller numbers are listed first.")
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Accounts whose balances are the progress (the user's own; for DEBT_PAYOFF, "
                                  "liabilities); none: the goal follows contributions.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen Goal id: the same id with "
                                                "the same input replays, with another input is CONFLICT.")


@strawberry.input(description="Change some fields of a goal: an absent field is unchanged.")
class GoalUpdateInput:
    id: strawberry.ID = strawberry.field(description="The Goal to change.")
    name: strawberry.Maybe[str] = strawberry.field(description="Absent: unchanged.")
    kind: strawberry.Maybe[GoalKind] = strawberry.field(description="Absent: unchanged.")  # type: ignore[valid-type]
    target_amount: strawberry.Maybe[str] = strawberry.field(
        description="Absent: unchanged; a lowered target may reach milestones at once.")
    currency: strawberry.Maybe[str] = strawberry.field(
        description="Absent: unchanged; a goal with contributions keeps its currency (CURRENCY_MISMATCH).")
    target_date: strawberry.Maybe[dt.date | None] = strawberry.field(description="Absent: unchanged; null: cleared.")
    priority: strawberry.Maybe[int] = strawberry.field(description="Absent: unchanged.")
    status: strawberry.Maybe[GoalStatus] = strawberry.field(  # type: ignore[valid-type]
        description="Absent: unchanged. COMPLETED sets `completedAt`, any other status clears it; only ACTIVE "
                    "goals fire milestones.")
    account_ids: strawberry.Maybe[list[strawberry.ID]] = strawberry.field(
        description="Absent: unchanged; the new linked accounts; an empty list unlinks them all. A goal with "
                    "contributions cannot link accounts (CONFLICT).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `goalCreate` and `goalUpdate`.")
class GoalPayload:
    goal: Goal | None = strawberry.field(description="The goal as stored; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Put money into a goal of contributions, or take it out with a negative amount.")
class GoalContributeInput:
    goal_id: strawberry.ID = strawberry.field(description="The Goal; a goal with linked accounts is CONFLICT.")
    amount: str = strawberry.field(description="Signed decimal string in the goal's currency, not 0. A withdrawal "
                                               "may not take the saved total below 0 on any day.")
    day: dt.date | None = strawberry.field(default=None, description="The day it counts for, not in the future; "
                                                                     "default: today in the user's time zone.")
    note: str = strawberry.field(default="", description="At most 500 characters.")
    idempotency_key: str | None = strawberry.field(
        default=None, description=IDEMPOTENCY_KEY + " Send one so a retried contribution is not counted twice.")


@strawberry.type(description="The result of `goalContribute`.")
class GoalContributePayload:
    goal: Goal | None = strawberry.field(description="The goal with its new figures; null when refused.")
    contribution: GoalContribution | None = strawberry.field(description="The new contribution; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Delete a goal with its contributions and milestones; the linked accounts stay.")
class GoalDeleteInput:
    id: strawberry.ID = strawberry.field(description="The Goal to delete.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `goalDelete`.")
class GoalDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The deleted Goal's id; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
