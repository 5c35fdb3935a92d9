"""What a rule is made of, validated: its conditions (all must hold) and its actions.

Stored in the rule's JSONB columns with snake_case keys, only the given ones:

    conditions: {"description_contains": str, "description_matches": str, "merchant_contains": str,
                 "merchant_matches": str, "amount_min": "decimal", "amount_max": "decimal",
                 "account_ids": ["uuid", ...]}
    actions:    {"set_category_id": "uuid", "add_tags": [str, ...]}

A pattern is a regular expression of the `regex` package (Python syntax), matched case-insensitively
anywhere in the text, at most `MAX_PATTERN` characters; it must compile. Amounts are signed, in the
transaction's own (the account's) currency, at most 4 decimal places.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import regex
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts_repo
from app.categories import repository as categories_repo
from app.errors import Collector, ErrorCode
from app.transactions.service import MAX_TAG, MAX_TAGS

MAX_NAME = 120
MAX_TEXT = 200
MAX_PATTERN = 200
MAX_REPEAT = 1000
"""Counted repetitions (`x{n,m}`) are unrolled when a pattern compiles, so nested ones multiply: their bounds,
multiplied together over the whole pattern, may be at most this much."""
MAX_ACCOUNTS = 50
MAX_AMOUNT = Decimal("1e15")
PRIORITY_RANGE = range(-1_000_000, 1_000_001)
REGEX_FLAGS = regex.IGNORECASE | regex.V0
_COUNTED = regex.compile(r"\{(\d*)(?:,(\d*))?\}")
_SPACE = regex.compile(r"\s+")
_VERBOSE = regex.compile(r"\(\?[\^a-zA-Z0-9-]*x")


@dataclass(frozen=True)
class Conditions:
    """The wanted conditions of a rule; None: not a condition."""

    description_contains: str | None = None
    description_matches: str | None = None
    merchant_contains: str | None = None
    merchant_matches: str | None = None
    amount_min: Any = None
    amount_max: Any = None
    account_ids: Sequence[uuid.UUID] | None = None


@dataclass(frozen=True)
class Actions:
    """What a matching rule does: set a category (the first matching rule that sets one wins), add tags."""

    set_category_id: uuid.UUID | None = None
    add_tags: Sequence[str] | None = None


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern, REGEX_FLAGS)


def _text(errors: Collector, value: str | None, field: str) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        errors.add(ErrorCode.REQUIRED, "Give some text or leave the condition out.", field)
    elif len(text) > MAX_TEXT:
        errors.add(ErrorCode.TOO_LONG, f"At most {MAX_TEXT} characters.", field)
    return text or None


def repeat_product(pattern: str) -> int:
    """The product of the bounds of every counted repetition in `pattern` (an upper bound of what nesting them
    can unroll to; literal braces count too)."""
    product = 1
    for match in _COUNTED.finditer(_SPACE.sub("", pattern)):
        bounds = [int(number) for number in match.groups() if number]
        product *= max([1, *bounds])
        if product > MAX_REPEAT:
            break
    return product


def _pattern(errors: Collector, value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if not value.strip():
        errors.add(ErrorCode.REQUIRED, "Give a regular expression or leave the condition out.", field)
        return None
    if len(value) > MAX_PATTERN:
        errors.add(ErrorCode.TOO_LONG, f"A regular expression has at most {MAX_PATTERN} characters.", field)
        return None
    if _VERBOSE.search(value):
        errors.add(ErrorCode.INVALID, "The verbose flag (?x) is not supported.", field)
        return None
    if repeat_product(value) > MAX_REPEAT:
        errors.add(ErrorCode.INVALID, f"Counted repetitions like x{{n,m}} may multiply to at most {MAX_REPEAT}.",
                   field)
        return None
    try:
        compile_pattern(value)
    except (regex.error, ValueError, TypeError, OverflowError, RecursionError) as exc:
        errors.add(ErrorCode.INVALID, f"Not a valid regular expression: {exc}", field)
        return None
    return value


def _amount(errors: Collector, value: Any, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        errors.add(ErrorCode.INVALID, "Not a decimal number.", field)
        return None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        errors.add(ErrorCode.INVALID, "Not a decimal number in range.", field)
        return None
    if amount != amount.quantize(Decimal("0.0001")):
        errors.add(ErrorCode.TOO_MANY_DECIMALS, "At most 4 decimal places.", field)
        return None
    return amount


def tags(errors: Collector, values: Sequence[str] | None, field: str) -> list[str]:
    """Tags validated like a transaction's: not blank, at most MAX_TAG characters, at most MAX_TAGS, no duplicates."""
    clean: list[str] = []
    for i, tag in enumerate(values or []):
        value = tag.strip()
        if not value:
            errors.add(ErrorCode.REQUIRED, "Tags cannot be blank.", f"{field}.{i}")
        elif len(value) > MAX_TAG:
            errors.add(ErrorCode.TOO_LONG, f"A tag has at most {MAX_TAG} characters.", f"{field}.{i}")
        elif value not in clean:
            clean.append(value)
    if len(clean) > MAX_TAGS:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_TAGS} tags.", field)
    return clean


def name(errors: Collector, value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        errors.add(ErrorCode.REQUIRED, "A name is required.", "name")
    elif len(text) > MAX_NAME:
        errors.add(ErrorCode.TOO_LONG, f"At most {MAX_NAME} characters.", "name")
    return text


def priority(errors: Collector, value: int | None) -> int:
    if value is None:
        return 0
    if value not in PRIORITY_RANGE:
        errors.add(ErrorCode.INVALID, "A priority is a whole number from -1000000 to 1000000.", "priority")
    return value


async def conditions(session: AsyncSession, user_id: uuid.UUID, errors: Collector,
                     given: Conditions | None) -> dict[str, Any]:
    """The JSON of valid conditions; every bad field is collected as `conditions.<field>`."""
    if given is None:
        errors.add(ErrorCode.REQUIRED, "Give at least one condition.", "conditions")
        return {}
    before = len(errors.errors)
    out: dict[str, Any] = {}
    for key, value in (
        ("description_contains", _text(errors, given.description_contains, "conditions.descriptionContains")),
        ("description_matches", _pattern(errors, given.description_matches, "conditions.descriptionMatches")),
        ("merchant_contains", _text(errors, given.merchant_contains, "conditions.merchantContains")),
        ("merchant_matches", _pattern(errors, given.merchant_matches, "conditions.merchantMatches")),
    ):
        if value is not None:
            out[key] = value
    low = _amount(errors, given.amount_min, "conditions.amountMin")
    high = _amount(errors, given.amount_max, "conditions.amountMax")
    if low is not None and high is not None and low > high:
        errors.add(ErrorCode.INVALID, "`amountMax` must not be less than `amountMin`.", "conditions.amountMax")
    if low is not None:
        out["amount_min"] = format(low, "f")
    if high is not None:
        out["amount_max"] = format(high, "f")
    if given.account_ids is not None:
        ids = list(dict.fromkeys(given.account_ids))
        if not ids:
            errors.add(ErrorCode.REQUIRED, "Give at least one account or leave the condition out.",
                       "conditions.accountIds")
        elif len(ids) > MAX_ACCOUNTS:
            errors.add(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_ACCOUNTS} accounts.", "conditions.accountIds")
        else:
            found = {a.id for a in await accounts_repo.accounts_by_ids(session, user_id, ids)}
            for i, account_id in enumerate(given.account_ids):
                if account_id not in found:
                    errors.add(ErrorCode.NOT_FOUND, "No Account with this id", f"conditions.accountIds.{i}")
            out["account_ids"] = [str(i) for i in ids]
    if not out and len(errors.errors) == before:
        errors.add(ErrorCode.REQUIRED, "Give at least one condition.", "conditions")
    return out


async def actions(session: AsyncSession, user_id: uuid.UUID, errors: Collector,
                  given: Actions | None) -> dict[str, Any]:
    """The JSON of valid actions; every bad field is collected as `actions.<field>`."""
    if given is None:
        errors.add(ErrorCode.REQUIRED, "Give at least one action.", "actions")
        return {}
    before = len(errors.errors)
    out: dict[str, Any] = {}
    if given.set_category_id is not None:
        if not await categories_repo.categories_by_ids(session, user_id, [given.set_category_id]):
            errors.add(ErrorCode.NOT_FOUND, "No Category with this id", "actions.setCategoryId")
        out["set_category_id"] = str(given.set_category_id)
    labels = tags(errors, given.add_tags, "actions.addTags")
    if labels:
        out["add_tags"] = labels
    if not out and len(errors.errors) == before:
        errors.add(ErrorCode.REQUIRED, "Give at least one action: a category to set or tags to add.", "actions")
    return out
