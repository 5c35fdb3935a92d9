"""Tools about where the user stands: account balances, budget status, goal progress, net worth and its change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.budgets import service as budgets_service
from app.budgets.status import BudgetStatus, Figures, compute
from app.chat import tool_sql
from app.chat.tools import (
    Tool,
    ToolContext,
    ToolError,
    account_param,
    budget_param,
    category_param,
    goal_param,
    schema,
)
from app.chat.tools_common import day_arg, money, notes, page_of, percent, shown
from app.goals import service as goals_service
from app.networth import figures as networth


async def account_balances(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    account = ctx.account(args.get("account"))
    rows = await tool_sql.accounts(session, ctx.user_id, [account.id] if account else None)
    lines = []
    for row in rows:
        currency = row.currency.strip()
        line: dict[str, Any] = {"account": row.name, "kind": row.kind, "classification": row.classification,
                                "currency": currency, "balance": money(row.current_balance, currency)}
        if row.classification == "LIABILITY":
            line["owed"] = money(max(Decimal(0), -row.current_balance), currency)
        lines.append(line)
    chunk, where = page_of(lines, args)
    return {"as_of": ctx.today.isoformat(), "accounts": chunk, **where,
            "note": "A liability's balance (card, loan, mortgage) is negative: `owed` is what the user owes."}


def _summary_balances(r: dict[str, Any]) -> str:
    return "; ".join(f"{a['account']} {shown(a['balance'])}" for a in r["accounts"][:3])


def _figures(status: BudgetStatus, f: Figures, currency: str) -> dict[str, Any]:
    projected = status.projected(f)
    return {"limit": money(f.limit, currency), "carried_over": money(f.carried, currency),
            "available": money(f.available, currency), "spent": money(f.spent, currency),
            "remaining": money(f.remaining, currency), "used_percent": percent(f.utilization, "0.1"),
            "over_budget": f.over, "projected_spending": money(projected, currency),
            "on_track": projected <= f.available,
            "unconverted": [money(amount, code) for code, amount in sorted(f.unconverted.items())]}


async def budget_status(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    on = day_arg(args, "on") or ctx.today
    budget_id = ctx.budget(args.get("budget"))
    category = ctx.category(args.get("category"))
    found = await budgets_service.budgets(session, ctx.user_id, [budget_id] if budget_id else None)
    if category is not None:
        # a line on the category itself, or on its parent (which counts its children)
        wanted = {category.id, category.parent_id}
        found = [(b, [line for line in lines if line.category_id in wanted]) for b, lines in found]
        found = [(b, lines) for b, lines in found if lines]
        if not found:
            raise ToolError(f"no budget has a line for {args.get('category')!r}")
    statuses = await compute(session, ctx.user_id, found, on) if found else []
    budgets = []
    for status in statuses:
        currency = status.budget.currency.strip()
        budgets.append({
            "budget": status.budget.name, "currency": currency, "period_kind": status.budget.period,
            "period": {"from": status.period.start.isoformat(), "to": status.period.last_day.isoformat()},
            "days_elapsed": status.days_elapsed, "days_left": max(0, status.days_left),
            "total": _figures(status, status.total, currency) if category is None else None,
            "lines": [{"category": ctx.category_label(line.line.category_id),
                       **_figures(status, line.figures, currency)} for line in status.lines],
            **notes(status.conversions, []),
        })
    return {"on": on.isoformat(), "budgets": budgets,
            "note": "on_track: spending at today's daily pace would stay within what is available."}


def _summary_budget(r: dict[str, Any]) -> str:
    parts = []
    for b in r["budgets"][:3]:
        f = b["total"] or (b["lines"][0] if b["lines"] else None)
        if f:
            parts.append(f"{b['budget']}: spent {shown(f['spent'])} of {shown(f['available'])}")
    return "; ".join(parts) or "no budgets"


async def goal_progress(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    goal_id = ctx.goal(args.get("goal"))
    views = await goals_service.read_goals(session, ctx.principal, ids=[goal_id] if goal_id else None,
                                           today=ctx.today)
    goals = []
    for view in views:
        g, f = view.goal, view.figures
        goals.append({
            "goal": g.name, "kind": g.kind, "status": g.status, "currency": f.currency,
            "target": money(f.target, f.currency), "saved": money(f.progress, f.currency),
            "remaining": money(f.remaining, f.currency), "percent": str(f.percent),
            "target_date": g.target_date.isoformat() if g.target_date else None,
            "monthly_saving_required": money(f.monthly_required, f.currency) if f.monthly_required is not None
            else None,
            "on_track": f.on_track, "gained_last_90_days": money(f.gained, f.currency),
            "projected_completion": f.projected_on.isoformat() if f.projected_on else None,
            "follows": "linked accounts" if view.inputs.follows_accounts else "contributions",
            **notes(f.conversions, f.unconverted),
        })
    return {"today": ctx.today.isoformat(), "goals": goals,
            "note": "monthly_saving_required is null without a target date."}


def _summary_goals(r: dict[str, Any]) -> str:
    return "; ".join(f"{g['goal']} {g['percent']} %" for g in r["goals"][:3]) or "no goals"


async def _net_worth_on(ctx: ToolContext, session: AsyncSession, on: dt.date) -> networth.NetWorth:
    return await networth.net_worth(session, user_id=ctx.user_id, on=on, currency=ctx.currency)


async def net_worth(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    on = day_arg(args, "on") or ctx.today
    figure = await _net_worth_on(ctx, session, on)
    cur = figure.currency
    lines = [{"account": line.account.name, "balance": money(line.balance, line.account.currency.strip()),
              "converted": money(line.converted, cur) if line.converted is not None else None}
             for line in figure.lines]
    chunk, where = page_of(lines, args)
    return {"on": on.isoformat(), "currency": cur, "net_worth": money(figure.net_worth, cur),
            "assets": money(figure.assets, cur), "liabilities": money(figure.liabilities, cur),
            "accounts": chunk, **where, **notes(figure.conversions, figure.unconverted)}


def _summary_net_worth(r: dict[str, Any]) -> str:
    return f"net worth {shown(r['net_worth'])} on {r['on']}"


async def net_worth_change(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    end = day_arg(args, "to") or ctx.today
    start = day_arg(args, "from") or end - dt.timedelta(days=29)
    if start > end:
        raise ToolError(f"`from` ({start}) must be on or before `to` ({end})")
    before = start - dt.timedelta(days=1)
    first, last = await _net_worth_on(ctx, session, before), await _net_worth_on(ctx, session, end)
    cur = last.currency
    change = last.net_worth - first.net_worth
    pct = percent(change * 100 / abs(first.net_worth)) if first.net_worth else None
    conversions = {(n.from_currency, n.rate_day, n.rate): n for n in [*first.conversions, *last.conversions]}
    unconverted = [*first.unconverted, *last.unconverted]
    return {"period": {"from": start.isoformat(), "to": end.isoformat()}, "currency": cur,
            "start": {"on": before.isoformat(), "net_worth": money(first.net_worth, cur),
                      "assets": money(first.assets, cur), "liabilities": money(first.liabilities, cur)},
            "end": {"on": end.isoformat(), "net_worth": money(last.net_worth, cur),
                    "assets": money(last.assets, cur), "liabilities": money(last.liabilities, cur)},
            "change": money(change, cur), "change_percent": pct,
            "note": "The change over the period: net worth at the end of `to` minus at the end of the day before "
                    "`from`.",
            **notes(list(conversions.values()), unconverted)}


def _summary_change(r: dict[str, Any]) -> str:
    return f"net worth {shown(r['start']['net_worth'])} -> {shown(r['end']['net_worth'])}"


ON = {"type": "string", "description": "The day, as YYYY-MM-DD; leave out for today."}

TOOLS = [
    Tool("account_balances", "The current balance of each of the user's open accounts, or of one. A credit "
                             "card's or loan's balance is negative: what is owed.",
         lambda ctx: schema({"account": account_param(ctx)}), account_balances, _summary_balances),
    Tool("budget_status", "How the user's budgets stand in the period containing a day (today by default): "
                          "limit, spent, remaining, used percent, projection at today's pace; optionally one budget "
                          "or only the line of one category.",
         lambda ctx: schema({"budget": budget_param(ctx), "category": category_param(ctx), "on": ON}),
         budget_status, _summary_budget),
    Tool("goal_progress", "The user's savings goals: target, saved, remaining, percent, monthly saving required to "
                          "reach the target date, whether it is on track.",
         lambda ctx: schema({"goal": goal_param(ctx)}), goal_progress, _summary_goals),
    Tool("net_worth", "The user's net worth (assets minus liabilities, converted into their base currency) at the "
                      "end of a day, today by default, with each account.",
         lambda ctx: schema({"on": ON}), net_worth, _summary_net_worth),
    Tool("net_worth_change", "How the user's net worth changed over a period: at the end of the day before `from` "
                             "and at the end of `to`, the change and the change in percent.",
         lambda ctx: schema({"from": {"type": "string", "description": "First day of the period, as YYYY-MM-DD."},
                             "to": {"type": "string", "description": "Last day of the period, as YYYY-MM-DD."}},
                            ("from", "to")),
         net_worth_change, _summary_change),
]
