"""Tools about money that moved over a period: spending, top categories, largest and matching transactions,
income versus expenses. Figures follow the reports' rules (`app/reports/service.py`) and are converted into
the user's base currency at each transaction day's rate."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import tool_sql
from app.chat.tools import (
    FROM,
    PAGE,
    PAGE_SIZE,
    TO,
    Tool,
    ToolContext,
    account_param,
    category_param,
    merchant_param,
    schema,
)
from app.chat.tools_common import (
    amount_arg,
    choice,
    int_arg,
    money,
    notes,
    page_of,
    percent,
    period,
    period_json,
    shown,
)
from app.networth.fx import Converter, RateBook, load_book
from app.reports import service as reports
from app.reports.service import GroupBy, Interval

GROUPS = ("NONE", "CATEGORY", "MERCHANT", "ACCOUNT", "MONTH")


def _filters(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    category = ctx.category(args.get("category"))
    account = ctx.account(args.get("account"))
    return {
        "category": args.get("category") if category else None,
        "category_ids": ctx.category_ids(args.get("category")),
        "merchant": ctx.merchant(args.get("merchant")),
        "account": account.name if account else None,
        "account_ids": [account.id] if account else None,
    }


async def spending_summary(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period(ctx, args)
    assert start is not None and end is not None
    group = choice(args, "group_by", GROUPS, "NONE")
    f = _filters(ctx, args)
    rows = await tool_sql.spending_rows(session, ctx.user_id, start=start, end=end, group=group, target=ctx.currency,
                                       category_ids=f["category_ids"], merchant=f["merchant"],
                                       account_ids=f["account_ids"])
    foreign = {r.currency for r in rows if r.day is not None}
    book = await load_book(session, ctx.user_id, foreign | {ctx.currency}, start=start, end=end) if foreign \
        else RateBook()
    converter = Converter(book, ctx.currency)
    sums: dict[str | None, list[Any]] = {}
    for row in rows:
        amount = row.amount if row.day is None else converter.convert(row.amount, row.currency, row.day)
        if amount is None:
            continue
        slot = sums.setdefault(row.key, [Decimal(0), 0])
        slot[0] += amount
        slot[1] += row.transactions
    total = sum((s[0] for s in sums.values()), Decimal(0))
    result: dict[str, Any] = {
        "period": period_json(start, end), "currency": ctx.currency,
        "filters": {"category": f["category"], "merchant": f["merchant"], "account": f["account"]},
        "total": money(total, ctx.currency),
        "transactions": sum(s[1] for s in sums.values()) if group == "NONE" else None,
    }
    if group != "NONE":
        groups = [{"label": _label(ctx, group, key), "amount": money(s[0], ctx.currency),
                   "share_percent": percent(s[0] * 100 / total) if total else None, "transactions": s[1],
                   "_sort": s[0]} for key, s in sums.items()]
        groups.sort(key=lambda g: (-g["_sort"], g["label"].lower()) if group != "MONTH" else (g["label"],))
        for g in groups:
            del g["_sort"]
        chunk, where = page_of(groups, args)
        result["group_by"] = group
        result["groups"] = chunk
        result.update(where)
    result.update(notes(converter.conversions, converter.unconverted))
    return result


def _label(ctx: ToolContext, group: str, key: str | None) -> str:
    if group == "CATEGORY":
        return ctx.category_label(uuid.UUID(key) if key else None)
    if group == "ACCOUNT":
        ref = ctx.account_by_id.get(uuid.UUID(key)) if key else None
        return ref.name if ref else "Unknown account"
    if group == "MONTH":
        return key[:7] if key else ""
    return key or "No merchant"


def _summary_spending(r: dict[str, Any]) -> str:
    what = " ".join(f"{k} {v}" for k, v in r["filters"].items() if v)
    return f"spent {shown(r['total'])} {r['period']['from']}..{r['period']['to']}" + (f" ({what})" if what else "")


async def top_categories(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period(ctx, args)
    assert start is not None and end is not None
    limit = int_arg(args, "limit", 5, 1, PAGE_SIZE)
    detailed = bool(args.get("detailed"))
    report = await reports.spending(session, ctx.user_id, start=start, end=end, group_by=GroupBy.CATEGORY,
                                    roll_up=not detailed, currency=ctx.currency)
    total = next((amount for amount, cur in report.totals if cur == ctx.currency), Decimal(0))
    groups = [g for g in report.groups if g.currency == ctx.currency]
    return {
        "period": period_json(start, end), "currency": ctx.currency, "total": money(total, ctx.currency),
        "detailed": detailed,
        "categories": [{"category": ctx.category_label(g.category.id) if g.category else "Uncategorized",
                        "amount": money(g.amount, ctx.currency),
                        "share_percent": percent(g.share * 100) if g.share is not None else None,
                        "transactions": g.transactions} for g in groups[:limit]],
        "categories_with_spending": len(groups),
        **notes(report.conversions, report.unconverted),
    }


def _summary_top(r: dict[str, Any]) -> str:
    names = ", ".join(f"{c['category']} {c['amount']['amount']}" for c in r["categories"][:3])
    return f"top categories {r['period']['from']}..{r['period']['to']}: {names}"


def transaction_json(ctx: ToolContext, row: Any) -> dict[str, Any]:
    tx, account, category, _parent = row
    return {"date": tx.booked_on.isoformat(), "description": tx.description, "merchant": tx.merchant or None,
            "amount": money(tx.amount, tx.currency.strip()), "account": account.name,
            "category": "Transfer" if tx.transfer_id is not None else
            ctx.category_label(category.id) if category is not None else
            ("Split" if tx.has_splits else "Uncategorized"), "pending": tx.status == "PENDING"}


def _query(ctx: ToolContext, args: dict[str, Any], start: dt.date | None, end: dt.date | None
           ) -> tool_sql.TransactionQuery:
    f = _filters(ctx, args)
    text = str(args.get("text") or "").strip() or None
    return tool_sql.TransactionQuery(
        start=start, end=end, text=text[:200] if text else None, merchant=f["merchant"],
        category_ids=f["category_ids"], account_ids=f["account_ids"], min_magnitude=amount_arg(args, "min_amount"),
        max_magnitude=amount_arg(args, "max_amount"))


async def largest_transactions(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period(ctx, args)
    limit = int_arg(args, "limit", 5, 1, PAGE_SIZE)
    direction = choice(args, "direction", ("OUT", "IN"), "OUT")
    q = _query(ctx, args, start, end)
    q.direction, q.spending_only = direction, True
    rows = await tool_sql.transaction_rows(session, ctx.user_id, q, order=f"LARGEST_{direction}", limit=limit)
    f = _filters(ctx, args)
    return {"period": period_json(start, end), "direction": direction,
            "filters": {"category": f["category"], "merchant": f["merchant"], "account": f["account"]},
            "note": "Transfers are left out; amounts are in each transaction's own currency.",
            "transactions": [transaction_json(ctx, row) for row in rows]}


def _summary_largest(r: dict[str, Any]) -> str:
    return f"{len(r['transactions'])} largest transactions {r['period']['from']}..{r['period']['to']}"


async def search_transactions(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period(ctx, args, optional=True)
    q = _query(ctx, args, start, end)
    q.direction = choice(args, "direction", ("ANY", "OUT", "IN"), "ANY")
    totals = await tool_sql.transaction_totals(session, ctx.user_id, q)
    count = sum(n for _, n, _ in totals)
    pages = max(1, -(-count // PAGE_SIZE))
    page = int_arg(args, "page", 1, 1, pages)
    rows = await tool_sql.transaction_rows(session, ctx.user_id, q, order="NEWEST", limit=PAGE_SIZE,
                                           offset=(page - 1) * PAGE_SIZE)
    f = _filters(ctx, args)
    return {"period": period_json(start, end),
            "filters": {"text": q.text, "category": f["category"], "merchant": f["merchant"], "account": f["account"],
                        "min_amount": str(q.min_magnitude) if q.min_magnitude is not None else None,
                        "max_amount": str(q.max_magnitude) if q.max_magnitude is not None else None,
                        "direction": q.direction},
            "count": count, "sums": [money(total, cur) for cur, _, total in totals],
            "transactions": [transaction_json(ctx, row) for row in rows],
            "page": page, "pages": pages, "rows": count, "has_more": page < pages}


def _summary_search(r: dict[str, Any]) -> str:
    return f"{r['count']} matching transactions"


async def income_vs_expenses(ctx: ToolContext, session: AsyncSession, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period(ctx, args)
    assert start is not None and end is not None
    report = await reports.cash_flow(session, ctx.user_id, start=start, end=end, interval=Interval.MONTH,
                                     currency=ctx.currency)
    total = next(p for p in report.totals if p.currency == ctx.currency)
    result: dict[str, Any] = {
        "period": period_json(start, end), "currency": ctx.currency,
        "income": money(total.income, ctx.currency), "expenses": money(total.expenses, ctx.currency),
        "net": money(total.net, ctx.currency),
        "savings_rate_percent": percent(total.savings_rate * 100 if total.savings_rate is not None else None),
        "note": "Transfers between the user's accounts never count; expenses are net of refunds.",
    }
    if args.get("by_month"):
        result["months"] = [{"from": p.start.isoformat(), "to": p.end.isoformat(),
                             "income": money(p.income, ctx.currency), "expenses": money(p.expenses, ctx.currency),
                             "net": money(p.net, ctx.currency)}
                            for p in report.periods if p.currency == ctx.currency]
    result.update(notes(report.conversions, report.unconverted))
    return result


def _summary_flow(r: dict[str, Any]) -> str:
    return f"income {shown(r['income'])}, expenses {shown(r['expenses'])}, net {shown(r['net'])}"


def _spending_params(ctx: ToolContext) -> dict[str, Any]:
    return schema({
        "from": FROM, "to": TO, "category": category_param(ctx), "merchant": merchant_param(ctx),
        "account": account_param(ctx),
        "group_by": {"type": "string", "enum": list(GROUPS),
                     "description": "Break the total down by category, merchant, account or month; NONE (the "
                                    "default) gives the total only."},
        "page": PAGE,
    }, ("from", "to"))


def _top_params(ctx: ToolContext) -> dict[str, Any]:
    return schema({
        "from": FROM, "to": TO,
        "limit": {"type": "integer", "description": "How many categories, 1 to 50 (default 5)."},
        "detailed": {"type": "boolean", "description": "true: subcategories apart; false (default): "
                                                       "subcategories counted in their parent category."},
    }, ("from", "to"))


def _filter_params(ctx: ToolContext) -> dict[str, Any]:
    return {"category": category_param(ctx), "merchant": merchant_param(ctx), "account": account_param(ctx),
            "min_amount": {"type": "string", "description": "Smallest amount, a magnitude written like 100 or "
                                                            "12.50 (money out and in alike)."},
            "max_amount": {"type": "string", "description": "Largest amount, a magnitude written like 100 or 12.50."}}


def _largest_params(ctx: ToolContext) -> dict[str, Any]:
    return schema({
        "from": FROM, "to": TO, **_filter_params(ctx),
        "limit": {"type": "integer", "description": "How many transactions, 1 to 50 (default 5)."},
        "direction": {"type": "string", "enum": ["OUT", "IN"],
                      "description": "OUT (default): the largest expenses; IN: the largest money received."},
    }, ("from", "to"))


def _search_params(ctx: ToolContext) -> dict[str, Any]:
    return schema({
        "text": {"type": "string", "description": "Words to find in the description or merchant."},
        "from": _opt(FROM), "to": _opt(TO), **_filter_params(ctx),
        "direction": {"type": "string", "enum": ["ANY", "OUT", "IN"],
                      "description": "OUT: money out only; IN: money in only; ANY (default): both."},
        "page": PAGE,
    })


def _opt(param: dict[str, Any]) -> dict[str, Any]:
    return {**param, "description": param["description"] + " Leave out for no limit."}


def _flow_params(ctx: ToolContext) -> dict[str, Any]:
    return schema({
        "from": FROM, "to": TO,
        "by_month": {"type": "boolean", "description": "true: also the figures of each calendar month."},
    }, ("from", "to"))


TOOLS = [
    Tool("spending_summary",
         "How much the user spent between two days (expenses net of refunds; transfers between their accounts "
         "never count), in total or only for one category (with its subcategories), merchant or account, "
         "optionally broken down by category, merchant, account or month.",
         _spending_params, spending_summary, _summary_spending),
    Tool("top_categories", "The categories the user spent the most on between two days, largest first, with "
                           "their share of all spending.", _top_params, top_categories, _summary_top),
    Tool("largest_transactions", "The user's largest expenses (or incoming payments) between two days, "
                                 "optionally in one category, at one merchant or on one account.",
         _largest_params, largest_transactions, _summary_largest),
    Tool("search_transactions", "Find the user's transactions by words, merchant, category, account, amount "
                                "range and dates; newest first, 50 a page, with the count and the sums.",
         _search_params, search_transactions, _summary_search),
    Tool("income_vs_expenses", "The user's income, expenses, net (income minus expenses) and savings rate "
                               "between two days, optionally month by month.",
         _flow_params, income_vs_expenses, _summary_flow),
]
