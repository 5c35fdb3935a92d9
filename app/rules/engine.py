"""Deciding, in Python, what rules and the merchant memory do to loaded transactions.

Rules run in order (priority, then creation). The first matching rule that sets a category wins; the tags
of every matching rule are added (up to a transaction's tag limit). A category the user chose (source USER)
is never replaced, and a split transaction keeps its category (its lines carry the categories), but both
still receive tags. The merchant memory then fills rows whose category no rule gave: those without a
category or with one from a weaker automatic source (PROVIDER, MODEL, AI, or an older MEMORY) — never a
USER or RULE category.

Regular expressions run with a time limit (the `regex` package's `timeout`): one search may take at most
`MATCH_TIMEOUT` seconds, and one rule at most `RULE_BUDGET` seconds (plus `ROW_BUDGET` per transaction) in
one run. A search that times out counts as no match, and a rule that timed out or spent its budget counts
as not matching for the rest of that run (logged), so a catastrophic pattern cannot stall an import.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cached_property
from typing import Any

import regex

from app.rules.memory import memory_key
from app.rules.spec import compile_pattern
from app.transactions.models import CategorySource
from app.transactions.service import MAX_TAGS

log = logging.getLogger("florin.rules")

MATCH_TIMEOUT = 0.02
RULE_BUDGET = 1.0
ROW_BUDGET = 0.00005
MIN_TIMEOUT = 0.001
MAX_SEARCH_TEXT = 1000
"""Longer descriptions are matched on their first characters only."""

RULE_CONFIDENCE = Decimal("1")
USER = CategorySource.USER.value
RULE = CategorySource.RULE.value
MEMORY = CategorySource.MEMORY.value
MEMORY_MAY_REPLACE = frozenset({None, MEMORY, CategorySource.PROVIDER.value, CategorySource.MODEL.value,
                                CategorySource.AI.value})


def memory_confidence(count: int) -> Decimal:
    """count / (count + 1): 0.5 after one choice, 0.6667 after two, 0.75 after three; never 1."""
    value = Decimal(max(count, 1)) / Decimal(max(count, 1) + 1)
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


@dataclass
class Row:
    """The fields of a transaction that rules read and write."""

    id: uuid.UUID
    account_id: uuid.UUID
    amount: Decimal
    description: str
    merchant: str
    category_id: uuid.UUID | None
    category_source: str | None
    category_confidence: Decimal | None
    tags: list[str]
    has_splits: bool

    @classmethod
    def of(cls, values: Any) -> Row:
        """From (id, account_id, amount, description, merchant, category_id, category_source,
        category_confidence, tags, has_splits)."""
        return cls(id=values[0], account_id=values[1], amount=values[2], description=values[3] or "",
                   merchant=values[4] or "", category_id=values[5], category_source=values[6],
                   category_confidence=values[7], tags=list(values[8] or []), has_splits=bool(values[9]))

    @cached_property
    def description_folded(self) -> str:
        return (self.description or "").casefold()

    @cached_property
    def merchant_folded(self) -> str:
        return (self.merchant or "").casefold()

    @property
    def category_fixed(self) -> bool:
        """Whether no rule or memory may change the category: the user's choice, or a split transaction."""
        return self.category_source == USER or self.has_splits


class CompiledRule:
    """A stored rule ready to match; `category_id` is set only when the category still exists."""

    def __init__(self, rule_id: uuid.UUID, name: str, conditions: dict[str, Any], actions: dict[str, Any],
                 category_id: uuid.UUID | None):
        self.id = rule_id
        self.name = name
        self.category_id = category_id
        self.tags: tuple[str, ...] = tuple(actions.get("add_tags") or ())
        self.description_contains = _fold(conditions.get("description_contains"))
        self.merchant_contains = _fold(conditions.get("merchant_contains"))
        self.description_re = _compile(conditions.get("description_matches"))
        self.merchant_re = _compile(conditions.get("merchant_matches"))
        self.amount_min = _decimal(conditions.get("amount_min"))
        self.amount_max = _decimal(conditions.get("amount_max"))
        accounts = conditions.get("account_ids")
        self.account_ids = frozenset(uuid.UUID(a) for a in accounts) if accounts is not None else None
        self.budget = RULE_BUDGET
        self.timeout = MATCH_TIMEOUT
        self.gave_up = False

    def allow(self, rows: int) -> None:
        """Widen the run's time budget for `rows` more transactions."""
        self.budget += ROW_BUDGET * rows
        self.timeout = max(MIN_TIMEOUT, min(MATCH_TIMEOUT, self.budget))

    def matches(self, row: Row) -> bool:
        """Whether every condition holds (cheap ones first, regular expressions last)."""
        if self.gave_up:
            return False
        if self.account_ids is not None and row.account_id not in self.account_ids:
            return False
        if self.amount_min is not None and row.amount < self.amount_min:
            return False
        if self.amount_max is not None and row.amount > self.amount_max:
            return False
        if self.description_contains is not None and self.description_contains not in row.description_folded:
            return False
        if self.merchant_contains is not None and self.merchant_contains not in row.merchant_folded:
            return False
        if self.description_re is not None and not self._search(self.description_re, row.description):
            return False
        return self.merchant_re is None or self._search(self.merchant_re, row.merchant)

    def _search(self, pattern: regex.Pattern[str], text: str) -> bool:
        start = time.perf_counter()
        try:
            found = pattern.search(text, 0, MAX_SEARCH_TEXT, timeout=self.timeout) is not None
        except TimeoutError:
            found = False
            self._give_up("a search timed out")
        self.budget -= time.perf_counter() - start
        if self.budget < MATCH_TIMEOUT and not self.gave_up:
            if self.budget <= 0:
                self._give_up("it used its time budget")
            self.timeout = max(MIN_TIMEOUT, self.budget)
        return found and not self.gave_up

    def _give_up(self, why: str) -> None:
        self.gave_up = True
        log.warning("rule %s (%r) stops matching for this run: %s", self.id, self.name, why)


def _fold(value: str | None) -> str | None:
    return value.casefold() if value else None


def _compile(pattern: str | None) -> regex.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return compile_pattern(pattern)
    except regex.error:  # validated on input; a stored one that no longer compiles matches nothing
        return regex.compile(r"(?!)")


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass
class Outcome:
    """What a transaction becomes; `changed` when anything differs from the row as loaded."""

    row: Row
    category_id: uuid.UUID | None
    source: str | None
    confidence: Decimal | None
    tags: list[str] = field(default_factory=list)

    @property
    def category_changed(self) -> bool:
        return self.category_id != self.row.category_id

    @property
    def changed(self) -> bool:
        row = self.row
        return (self.category_changed or self.source != row.category_source
                or self.confidence != row.category_confidence or self.tags != list(row.tags))

    @property
    def wants_memory(self) -> bool:
        """Whether the merchant memory may still give this row its category."""
        return (not self.row.category_fixed and self.source in MEMORY_MAY_REPLACE
                and bool(memory_key(self.row.merchant)))

    def remember(self, category_id: uuid.UUID, count: int) -> None:
        self.category_id, self.source, self.confidence = category_id, MEMORY, memory_confidence(count)


def apply_rules(row: Row, rules: Sequence[CompiledRule]) -> Outcome:
    """The row after the rules: the first matching rule with a category sets it, every matching rule adds tags."""
    category: uuid.UUID | None = None
    tags = list(row.tags)
    fixed = row.category_fixed
    for rule in rules:
        wants_category = not fixed and category is None and rule.category_id is not None
        if not (wants_category or rule.tags) or not rule.matches(row):
            continue
        if wants_category:
            category = rule.category_id
        for tag in rule.tags:
            if tag not in tags and len(tags) < MAX_TAGS:
                tags.append(tag)
    if category is not None:
        return Outcome(row, category, RULE, RULE_CONFIDENCE, tags)
    return Outcome(row, row.category_id, row.category_source, row.category_confidence, tags)


def changed(outcomes: Iterable[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.changed]
