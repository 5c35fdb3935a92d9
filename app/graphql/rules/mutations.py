"""Mutation fields of rules: create (client id), partial update, delete, and apply to existing transactions."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.db import UnitOfWork
from app.graphql.context import Context, Info
from app.graphql.mutation import client_id, fingerprint_value, given, run_mutation
from app.graphql.node import decode_id, decode_ids, to_global_id
from app.graphql.rules.queries import load_rules
from app.graphql.rules.types import (
    Rule,
    RuleCreateInput,
    RuleDeleteInput,
    RuleDeletePayload,
    RulePayload,
    RulesApplyInput,
    RulesApplyPayload,
    RuleUpdateInput,
)
from app.rules import service


async def _rule(ctx: Context, result: dict[str, Any] | None) -> Rule | None:
    if result is None:
        return None
    return (await load_rules(ctx, [uuid.UUID(result["rule"])]))[0]


@strawberry.type
class RuleMutation:
    @strawberry.mutation(description="Create a categorization rule. It runs on transactions imported or synced from "
                                     "now on; `rulesApply` runs it on existing ones.")
    async def rule_create(self, info: Info, input: RuleCreateInput) -> RulePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            rule = await service.create_rule(
                uow, principal, name=input.name, priority=input.priority, enabled=input.enabled,
                conditions=input.conditions.to_domain(), actions=input.actions.to_domain(),
                rule_id=client_id(input.id, "Rule"))
            return {"rule": str(rule.id)}

        data = {"name": input.name, "priority": input.priority, "enabled": input.enabled,
                "conditions": input.conditions.plain(), "actions": input.actions.plain()}
        result, errors = await run_mutation(ctx, "ruleCreate", action, key=input.id, data=data)
        if errors:
            return RulePayload(rule=None, errors=errors)
        return RulePayload(rule=await _rule(ctx, result), errors=[])

    @strawberry.mutation(description="Change some fields of a rule; given conditions or actions replace the old "
                                     "ones. Transactions it already changed stay as they are.")
    async def rule_update(self, info: Info, input: RuleUpdateInput) -> RulePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            conditions, actions = given(input.conditions, service.KEEP), given(input.actions, service.KEEP)
            rule = await service.update_rule(
                uow, principal, rule_id=decode_id(input.id, "Rule"), name=given(input.name, service.KEEP),
                priority=given(input.priority, service.KEEP), enabled=given(input.enabled, service.KEEP),
                conditions=conditions if conditions is service.KEEP else conditions.to_domain(),
                actions=actions if actions is service.KEEP else actions.to_domain())
            return {"rule": str(rule.id)}

        data = {"id": input.id, "name": fingerprint_value(input.name), "priority": fingerprint_value(input.priority),
                "enabled": fingerprint_value(input.enabled),
                "conditions": fingerprint_value(input.conditions) if input.conditions is None
                else input.conditions.value.plain(),
                "actions": fingerprint_value(input.actions) if input.actions is None else input.actions.value.plain()}
        result, errors = await run_mutation(ctx, "ruleUpdate", action, key=input.idempotency_key, data=data)
        if errors:
            return RulePayload(rule=None, errors=errors)
        return RulePayload(rule=await _rule(ctx, result), errors=[])

    @strawberry.mutation(description="Delete a rule; what it already did to transactions stays.")
    async def rule_delete(self, info: Info, input: RuleDeleteInput) -> RuleDeletePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            deleted = await service.delete_rule(uow, principal, rule_id=decode_id(input.id, "Rule"))
            return {"deleted": str(deleted)}

        result, errors = await run_mutation(ctx, "ruleDelete", action, key=input.idempotency_key,
                                            data={"id": input.id})
        if errors or result is None:
            return RuleDeletePayload(deleted_id=None, errors=errors)
        return RuleDeletePayload(deleted_id=to_global_id("Rule", uuid.UUID(result["deleted"])), errors=[])

    @strawberry.mutation(description="Apply rules to existing transactions booked in a window; returns how many "
                                     "changed. A category the user chose is never replaced; budgets alert at once "
                                     "when the moves cross a threshold.")
    async def rules_apply(self, info: Info, input: RulesApplyInput) -> RulesApplyPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            changed = await service.apply_rules(
                uow, principal,
                rule_ids=None if input.rule_ids is None else decode_ids(list(input.rule_ids), "Rule", "ruleIds"),
                date_from=input.from_, date_to=input.to,
                account_ids=None if input.account_ids is None else decode_ids(list(input.account_ids), "Account",
                                                                              "accountIds"))
            return {"changed": changed}

        data = {"ruleIds": input.rule_ids, "from": input.from_, "to": input.to, "accountIds": input.account_ids}
        result, errors = await run_mutation(ctx, "rulesApply", action, key=input.idempotency_key, data=data)
        if errors or result is None:
            return RulesApplyPayload(changed=0, errors=errors)
        return RulesApplyPayload(changed=int(result["changed"]), errors=[])
