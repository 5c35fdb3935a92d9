"""The local assistant's answers: templates filled only with what the tool results say.

Amounts are written as the results give them ("1234.50" becomes "1,234.50 EUR"), an expense as its magnitude;
a liability's balance is said as what is owed. Notes of conversions and of amounts without a rate are
repeated, so the answer never hides that a figure left something out.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

from app.ai.model import FunctionCall, FunctionResult

LIST_MAX = 10


def capabilities() -> str:
    return ("I can only answer questions about your own money in Florin, and I could not match this question to "
            "one of them. I can tell you how much you spent (in total, on a category, at a merchant or from an "
            "account) over a period, your top spending categories, your biggest expenses, how your budgets stand, "
            "how your goals are doing and how much to save per month, your net worth and how it changed, your "
            "account balances (and what you owe on a card or loan), transactions matching words, a merchant, a "
            "category or an amount, and your income versus your expenses. For example: \"How much did I spend on "
            "groceries last month?\" or \"What is my net worth?\"")


def amount(money: dict[str, str] | None, *, magnitude: bool = False) -> str:
    if not money:
        return "an unknown amount"
    text = money["amount"]
    negative = text.startswith("-")
    digits = text.lstrip("-")
    whole, _, cents = digits.partition(".")
    whole = f"{int(whole):,}"
    shown = whole + (f".{cents}" if cents else "")
    if negative and not magnitude:
        shown = "-" + shown
    return f"{shown} {money['currency']}"


def when(period: dict[str, str | None]) -> str:
    start, end = period.get("from"), period.get("to")
    if not start and not end:
        return "at any time"
    if not start:
        return f"until {end}"
    if not end:
        return f"since {start}"
    a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if a == b:
        return f"on {a.isoformat()}"
    if a.day == 1 and a.month == b.month and a.year == b.year and b.day == calendar.monthrange(b.year, b.month)[1]:
        return f"in {calendar.month_name[a.month]} {a.year}"
    if (a.month, a.day, b.month, b.day) == (1, 1, 12, 31) and a.year == b.year:
        return f"in {a.year}"
    return f"from {a.isoformat()} to {b.isoformat()}"


def _notes(result: dict[str, Any]) -> str:
    out = []
    conversions = result.get("conversions") or []
    if conversions:
        codes = sorted({c["from"] for c in conversions})
        out.append(f"Amounts in {', '.join(codes)} were converted into {conversions[0]['to']} at the rate of each "
                   "day.")
    unconverted = result.get("unconverted") or []
    if unconverted:
        out.append("Left out because no exchange rate was found: " + ", ".join(amount(m) for m in unconverted) + ".")
    return (" " + " ".join(out)) if out else ""


def _filters(f: dict[str, Any]) -> str:
    parts = []
    if f.get("category"):
        parts.append(f"on {f['category']}")
    if f.get("merchant"):
        parts.append(f"at {f['merchant']}")
    if f.get("account"):
        parts.append(f"from your {f['account']} account")
    if f.get("text"):
        parts.append(f"matching \"{f['text']}\"")
    return (" " + " ".join(parts)) if parts else ""


def answer(question: str, calls: list[FunctionCall], results: list[FunctionResult], today: dt.date) -> str:
    texts = []
    for result in results:
        r = result.response
        if "error" in r:
            texts.append(f"I could not look that up: {r['error']}.")
            continue
        write = WRITERS.get(result.name)
        texts.append(write(question, r) if write else "I looked this up but cannot put the result into words.")
    return " ".join(texts) or "I found nothing to answer with."


def _spending(question: str, r: dict[str, Any]) -> str:
    head = f"You spent {amount(r['total'])}{_filters(r['filters'])} {when(r['period'])}"
    if r.get("transactions") is not None:
        count = r["transactions"]
        head += f", in {count} transaction{'s' if count != 1 else ''}"
    head += "."
    groups = r.get("groups")
    if groups:
        what = {"CATEGORY": "category", "MERCHANT": "merchant", "ACCOUNT": "account", "MONTH": "month"}[r["group_by"]]
        lines = [f"{g['label']} {amount(g['amount'])}" + (f" ({g['share_percent']} %)" if g.get("share_percent")
                                                          else "") for g in groups[:LIST_MAX]]
        head += f" By {what}: " + "; ".join(lines) + "."
        if r.get("rows", 0) > LIST_MAX:
            head += f" ({r['rows'] - LIST_MAX} more {what} rows not shown.)"
    return head + _notes(r)


def _top(question: str, r: dict[str, Any]) -> str:
    cats = r["categories"]
    if not cats:
        return f"You had no spending {when(r['period'])}." + _notes(r)
    lines = [f"{i}. {c['category']}: {amount(c['amount'])}" + (f" ({c['share_percent']} %)" if c.get("share_percent")
                                                               else "") for i, c in enumerate(cats, 1)]
    return (f"Your top {len(cats)} spending categor{'ies' if len(cats) != 1 else 'y'} {when(r['period'])}: "
            + "; ".join(lines) + f". All spending: {amount(r['total'])}." + _notes(r))


def _transaction(t: dict[str, Any], magnitude: bool) -> str:
    label = t.get("merchant") or t.get("description") or "?"
    return f"{t['date']} {label} ({t['category']}, {t['account']}): {amount(t['amount'], magnitude=magnitude)}"


def _largest(question: str, r: dict[str, Any]) -> str:
    rows = r["transactions"]
    kind = "expenses" if r["direction"] == "OUT" else "incoming payments"
    if not rows:
        return f"I found no {kind}{_filters(r['filters'])} {when(r['period'])}."
    lines = [f"{i}. {_transaction(t, True)}" for i, t in enumerate(rows, 1)]
    return f"Your {len(rows)} largest {kind}{_filters(r['filters'])} {when(r['period'])}: " + "; ".join(lines) + "."


def _search(question: str, r: dict[str, Any]) -> str:
    count = r["count"]
    f = r["filters"]
    extra = []
    if f.get("min_amount"):
        extra.append(f"of at least {f['min_amount']}")
    if f.get("max_amount"):
        extra.append(f"of at most {f['max_amount']}")
    scope = _filters(f) + ("" if not extra else " " + " and ".join(extra)) + " " + when(r["period"])
    if not count:
        return f"I found no transactions{scope}."
    text = f"I found {count} transaction{'s' if count != 1 else ''}{scope}"
    if r.get("sums"):
        text += ", adding up to " + " and ".join(amount(m) for m in r["sums"])
    rows = r["transactions"][:LIST_MAX]
    text += ". " + ("The latest: " if count > len(rows) else "") + "; ".join(_transaction(t, False) for t in rows) + "."
    if count > len(rows):
        text += f" ({count - len(rows)} more not shown.)"
    return text


def _flow(question: str, r: dict[str, Any]) -> str:
    net = r["net"]
    saved = (f"so you saved {amount(net)}" if not net["amount"].startswith("-")
             else f"so you spent {amount(net, magnitude=True)} more than you earned")
    rate = f" (a savings rate of {r['savings_rate_percent']} %)" if r.get("savings_rate_percent") else ""
    only_income = re.search(r"\b(income|earn\w*|salary|make|made)\b", question, re.IGNORECASE) and not re.search(
        r"\b(expens\w*|spen\w*|vs|versus|compared|against|sav\w*|net)\b", question, re.IGNORECASE)
    if only_income:
        text = (f"Your income {when(r['period'])} was {amount(r['income'])}. Your expenses were "
                f"{amount(r['expenses'])}, {saved}{rate}.")
    else:
        text = (f"{when(r['period']).capitalize()} your income was {amount(r['income'])} and your expenses "
                f"{amount(r['expenses'])}, {saved}{rate}.")
    months = r.get("months")
    if months:
        text += " By month: " + "; ".join(
            f"{m['from'][:7]}: income {amount(m['income'])}, expenses {amount(m['expenses'])}, net {amount(m['net'])}"
            for m in months) + "."
    return text + _notes(r)


def _figures(f: dict[str, Any], period: dict[str, str], days_left: int) -> str:
    used = f" ({f['used_percent']} %)" if f.get("used_percent") is not None else ""
    if f["over_budget"]:
        state = f"you are {amount(f['remaining'], magnitude=True)} over"
    else:
        state = f"{amount(f['remaining'])} is left for the {days_left} remaining day{'s' if days_left != 1 else ''}"
    pace = (f"At this pace you would spend {amount(f['projected_spending'])} by {period['to']}, "
            + ("within the budget, so you are on track." if f["on_track"] else "more than the budget allows, so you "
               "are not on track."))
    return f"you spent {amount(f['spent'])} of {amount(f['available'])}{used}; {state}. {pace}"


def _budget(question: str, r: dict[str, Any]) -> str:
    if not r["budgets"]:
        return "You have no budgets yet."
    parts = []
    for b in r["budgets"]:
        period = f"from {b['period']['from']} to {b['period']['to']}"
        if b["total"] is not None:
            parts.append(f"{b['budget']} ({period}): " + _figures(b["total"], b["period"], b["days_left"]))
        for line in b["lines"] if b["total"] is None or len(r["budgets"]) == 1 else []:
            if b["total"] is not None and len(b["lines"]) > 6:
                break
            parts.append(f"{line['category']} in {b['budget']} ({period}): "
                         + _figures(line, b["period"], b["days_left"]))
    return " ".join(parts)


def _goals(question: str, r: dict[str, Any]) -> str:
    if not r["goals"]:
        return "You have no goals yet."
    parts = []
    for g in r["goals"]:
        text = (f"{g['goal']}: {amount(g['saved'])} saved of {amount(g['target'])} ({g['percent']} %), "
                f"{amount(g['remaining'])} to go.")
        if g.get("monthly_saving_required") is not None and g.get("target_date"):
            text += (f" To reach it by {g['target_date']} you need to save {amount(g['monthly_saving_required'])} "
                     "a month")
            text += "; you are on track." if g.get("on_track") else "; at your recent pace you are not on track."
        elif g["remaining"]["amount"].strip("0.") == "":
            text += " It is reached."
        else:
            text += " It has no target date, so there is no monthly amount to reach it by."
        parts.append(text + _notes(g))
    return " ".join(parts)


def _net_worth(question: str, r: dict[str, Any]) -> str:
    return (f"Your net worth on {r['on']} is {amount(r['net_worth'])}: {amount(r['assets'])} in assets minus "
            f"{amount(r['liabilities'])} in liabilities." + _notes(r))


def _change(question: str, r: dict[str, Any]) -> str:
    change = r["change"]
    direction = "down" if change["amount"].startswith("-") else "up"
    pct = f" ({r['change_percent']} %)" if r.get("change_percent") else ""
    return (f"Your net worth went from {amount(r['start']['net_worth'])} at the end of {r['start']['on']} to "
            f"{amount(r['end']['net_worth'])} on {r['end']['on']}: {direction} {amount(change, magnitude=True)}"
            f"{pct}." + _notes(r))


def _balance_line(a: dict[str, Any]) -> str:
    if a["classification"] == "LIABILITY":
        return f"you owe {amount(a['owed'])} on your {a['account']} (balance {amount(a['balance'])})"
    return f"your {a['account']} balance is {amount(a['balance'])}"


def _balances(question: str, r: dict[str, Any]) -> str:
    accounts = r["accounts"]
    if not accounts:
        return "You have no open accounts."
    if len(accounts) == 1:
        line = _balance_line(accounts[0])
        return line[0].upper() + line[1:] + "."
    return "Your balances: " + "; ".join(_balance_line(a) for a in accounts) + "."


WRITERS = {
    "spending_summary": _spending, "top_categories": _top, "largest_transactions": _largest,
    "search_transactions": _search, "income_vs_expenses": _flow, "budget_status": _budget,
    "goal_progress": _goals, "net_worth": _net_worth, "net_worth_change": _change, "account_balances": _balances,
}
