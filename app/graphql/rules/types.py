"""GraphQL types of categorization rules: the Rule node, its typed conditions and actions, inputs and payloads."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry

from app.graphql.categories.types import Category
from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, decode_id, decode_optional_id, to_global_id
from app.rules import spec
from app.rules.models import Rule as RuleRow

PATTERN = ("A regular expression (Python syntax), matched case-insensitively anywhere in the text, at most 200 "
           "characters; a search that runs too long counts as no match.")


@strawberry.type(description="What a transaction must satisfy for a rule to apply; all given conditions must hold. "
                             "Text comparisons ignore case.")
class RuleConditions:
    description_contains: str | None = strawberry.field(description="The raw description contains this text.")
    description_matches: str | None = strawberry.field(description=f"The raw description matches. {PATTERN}")
    merchant_contains: str | None = strawberry.field(description="The normalized merchant contains this text.")
    merchant_matches: str | None = strawberry.field(description=f"The normalized merchant matches. {PATTERN}")
    amount_min: str | None = strawberry.field(description="Signed lower bound, inclusive, in the transaction's "
                                                          "(its account's) currency: money out is negative.")
    amount_max: str | None = strawberry.field(description="Signed upper bound, inclusive, in the transaction's "
                                                          "currency.")
    account_ids: list[strawberry.ID] | None = strawberry.field(
        description="Only transactions of these Accounts; null: any account.")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleConditions:
        accounts = data.get("account_ids")
        return cls(description_contains=data.get("description_contains"),
                   description_matches=data.get("description_matches"),
                   merchant_contains=data.get("merchant_contains"), merchant_matches=data.get("merchant_matches"),
                   amount_min=data.get("amount_min"), amount_max=data.get("amount_max"),
                   account_ids=None if accounts is None else [to_global_id("Account", uuid.UUID(a)) for a in accounts])


@strawberry.type(description="What a rule does to a matching transaction.")
class RuleActions:
    add_tags: list[str] = strawberry.field(description="Tags added to every matching transaction (kept ones stay).")
    category_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The Category the rule sets (unless the user chose one, or an earlier rule set "
                                  "one); null when it sets none or the category was deleted.")
    async def set_category(self, info: Info) -> Category | None:
        if self.category_id is None:
            return None
        from app.graphql.categories.queries import category_loader

        return await category_loader(info.context).load(self.category_id)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleActions:
        category = data.get("set_category_id")
        return cls(add_tags=list(data.get("add_tags") or []), category_id=uuid.UUID(category) if category else None)


@strawberry.type(description="A categorization rule: when its conditions hold, it sets a category and adds tags. "
                             "Rules run by ascending `priority`, then by creation; the first matching rule that "
                             "sets a category wins, and every matching rule adds its tags. A category the user "
                             "chose is never replaced.")
class Rule(Node):
    name: str = strawberry.field(description="The user's name for the rule.")
    priority: int = strawberry.field(description="Rules with a lower number run first.")
    enabled: bool = strawberry.field(description="Disabled rules do not run on new transactions, nor in "
                                                 "`rulesApply` unless named there.")
    conditions: RuleConditions = strawberry.field(description="What a transaction must satisfy.")
    actions: RuleActions = strawberry.field(description="What the rule does to a matching transaction.")
    created_at: dt.datetime = strawberry.field(description="When the rule was created.")
    updated_at: dt.datetime = strawberry.field(description="When the rule last changed.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RuleRow) -> Rule:
        return cls(id=to_global_id("Rule", row.id), name=row.name, priority=row.priority, enabled=row.enabled,
                   conditions=RuleConditions.from_json(row.conditions), actions=RuleActions.from_json(row.actions),
                   created_at=row.created_at, updated_at=row.updated_at, db_id=row.id)


@strawberry.input(description="Conditions of a rule; give at least one. All given conditions must hold; text "
                              "comparisons ignore case.")
class RuleConditionsInput:
    description_contains: str | None = strawberry.field(
        default=None, description="The raw description contains this text (at most 200 characters).")
    description_matches: str | None = strawberry.field(default=None, description=f"The raw description matches. "
                                                                                  f"{PATTERN}")
    merchant_contains: str | None = strawberry.field(
        default=None, description="The normalized merchant contains this text (at most 200 characters).")
    merchant_matches: str | None = strawberry.field(default=None, description=f"The normalized merchant matches. "
                                                                              f"{PATTERN}")
    amount_min: str | None = strawberry.field(
        default=None, description="Signed decimal lower bound, inclusive, in the transaction's currency (at most 4 "
                                  "decimal places).")
    amount_max: str | None = strawberry.field(
        default=None, description="Signed decimal upper bound, inclusive; not less than `amountMin`.")
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only transactions of these own Accounts (1 to 50); null: any account.")

    def to_domain(self) -> spec.Conditions:
        accounts = None if self.account_ids is None else [
            decode_id(value, "Account", f"conditions.accountIds.{i}") for i, value in enumerate(self.account_ids)]
        return spec.Conditions(description_contains=self.description_contains,
                               description_matches=self.description_matches,
                               merchant_contains=self.merchant_contains, merchant_matches=self.merchant_matches,
                               amount_min=self.amount_min, amount_max=self.amount_max, account_ids=accounts)

    def plain(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}  # type: ignore[attr-defined]


@strawberry.input(description="Actions of a rule; give at least one.")
class RuleActionsInput:
    set_category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Set this own Category on matching transactions; null: leave the category.")
    add_tags: list[str] | None = strawberry.field(
        default=None, description="Add these tags (at most 20 of at most 40 characters each; duplicates dropped).")

    def to_domain(self) -> spec.Actions:
        return spec.Actions(set_category_id=decode_optional_id(self.set_category_id, "Category",
                                                               "actions.setCategoryId"),
                            add_tags=self.add_tags)

    def plain(self) -> dict[str, Any]:
        return {"setCategoryId": self.set_category_id, "addTags": self.add_tags}


@strawberry.input(description="A new categorization rule.")
class RuleCreateInput:
    name: str = strawberry.field(description="At most 120 characters.")
    conditions: RuleConditionsInput = strawberry.field(description="What a transaction must satisfy.")
    actions: RuleActionsInput = strawberry.field(description="What the rule does to a matching transaction.")
    priority: int = strawberry.field(default=0, description="Lower runs first; from -1000000 to 1000000; "
                                                            "default 0.")
    enabled: bool = strawberry.field(default=True, description="Whether the rule runs; default true.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen id for safe retries.")


@strawberry.input(description="Change some fields of a rule: an absent field is unchanged.")
class RuleUpdateInput:
    id: strawberry.ID = strawberry.field(description="The Rule to change.")
    name: strawberry.Maybe[str] = strawberry.field(default=None, description="At most 120 characters; absent: "
                                                                             "unchanged.")
    priority: strawberry.Maybe[int] = strawberry.field(default=None, description="Lower runs first; absent: "
                                                                                 "unchanged.")
    enabled: strawberry.Maybe[bool] = strawberry.field(default=None, description="Absent: unchanged.")
    conditions: strawberry.Maybe[RuleConditionsInput] = strawberry.field(
        default=None, description="Replaces all conditions; absent: unchanged.")
    actions: strawberry.Maybe[RuleActionsInput] = strawberry.field(
        default=None, description="Replaces all actions; absent: unchanged.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Delete a rule; what it already did to transactions stays.")
class RuleDeleteInput:
    id: strawberry.ID = strawberry.field(description="The Rule to delete.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Apply rules to existing transactions. A category the user chose is never replaced.")
class RulesApplyInput:
    rule_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="These Rules (in priority order, even disabled ones); null: every enabled rule.")
    from_: dt.date | None = strawberry.field(default=None, name="from",
                                             description="First booking day, inclusive; null: from the start.")
    to: dt.date | None = strawberry.field(default=None, description="Last booking day, inclusive; null: no end.")
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only transactions of these Accounts; null: every account.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `ruleCreate` and `ruleUpdate`.")
class RulePayload:
    rule: Rule | None = strawberry.field(description="The rule as stored; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of `ruleDelete`.")
class RuleDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The id of the deleted Rule; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of `rulesApply`.")
class RulesApplyPayload:
    changed: int = strawberry.field(description="How many transactions got another category or more tags.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
