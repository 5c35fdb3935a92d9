"""Helpers shared by the tools: argument parsing, money and notes as JSON, pages of rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from app.chat.tools import PAGE_SIZE, ToolContext, ToolError
from app.money import format_decimal, minor_units
from app.networth.fx import ConversionNote

MAX_YEARS = 10


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """`{"amount": "12.50", "currency": "EUR"}`: rounded half-even to the currency's minor units."""
    return {"amount": format_decimal(amount, minor_units(currency)), "currency": currency}


def percent(value: Decimal | None, places: str = "0.1") -> str | None:
    return None if value is None else str(value.quantize(Decimal(places), rounding=ROUND_HALF_EVEN))


def notes(conversions: Sequence[ConversionNote], unconverted: Sequence[tuple[Decimal, str]]) -> dict[str, Any]:
    return {
        "conversions": [{"from": n.from_currency, "to": n.to_currency, "rate": str(n.rate),
                         "rate_day": n.rate_day.isoformat(), "exact": n.exact} for n in conversions],
        "unconverted": [money(amount, currency) for amount, currency in unconverted],
    }


def day_arg(args: dict[str, Any], key: str) -> dt.date | None:
    value = args.get(key)
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ToolError(f"`{key}` must be a day written YYYY-MM-DD, not {value!r}") from None


def period(ctx: ToolContext, args: dict[str, Any], *, optional: bool = False) -> tuple[dt.date | None, dt.date | None]:
    """[from, to] from the arguments; a missing end is today, a missing start the first of `to`'s month
    (both None when `optional` and neither was given)."""
    start, end = day_arg(args, "from"), day_arg(args, "to")
    if optional and start is None and end is None:
        return None, None
    end = end or ctx.today
    start = start or end.replace(day=1)
    if start > end:
        raise ToolError(f"`from` ({start}) must be on or before `to` ({end})")
    if (end - start).days > 366 * MAX_YEARS:
        raise ToolError(f"a period may span at most {MAX_YEARS} years")
    return start, end


def period_json(start: dt.date | None, end: dt.date | None) -> dict[str, str | None]:
    return {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None}


def int_arg(args: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = args.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise ToolError(f"`{key}` must be a whole number") from None
    return max(low, min(high, number))


def amount_arg(args: dict[str, Any], key: str) -> Decimal | None:
    """A non-negative amount (a magnitude), given as a number or a string; never through a float's digits."""
    value = args.get(key)
    if value is None or value == "":
        return None
    text = str(value).strip().replace(",", "")
    try:
        amount = abs(Decimal(text))
    except InvalidOperation:
        raise ToolError(f"`{key}` must be an amount like 100 or 12.50, not {value!r}") from None
    if not amount.is_finite():
        raise ToolError(f"`{key}` must be a finite amount")
    return amount


def choice(args: dict[str, Any], key: str, allowed: Sequence[str], default: str) -> str:
    value = args.get(key)
    if value is None or value == "":
        return default
    text = str(value).strip().upper()
    if text not in allowed:
        raise ToolError(f"`{key}` must be one of {', '.join(allowed)}")
    return text


def page_of(rows: Sequence[Any], args: dict[str, Any]) -> tuple[list[Any], dict[str, int | bool]]:
    """The asked page (PAGE_SIZE rows) of `rows` and where it sits."""
    total = len(rows)
    pages = max(1, -(-total // PAGE_SIZE))
    page = int_arg(args, "page", 1, 1, pages)
    chunk = list(rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE])
    return chunk, {"page": page, "pages": pages, "rows": total, "has_more": page < pages}


def shown(amount: dict[str, str]) -> str:
    """A money dict as text for summaries: "1234.56 EUR"."""
    return f"{amount['amount']} {amount['currency']}"
