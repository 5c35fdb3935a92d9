"""The stages after rules and the merchant memory: the local model, then Gemini (when configured).

The `categorize` job runs this after an import or a sync committed (rules and the memory already ran inside
that transaction, app/rules/categorize.py). It takes the run's transactions that are still open: no
category, not the user's choice, not split. Work happens outside any transaction where it is slow: the rows
are read, the model predicts (in a thread), Gemini is asked in batches of `AI_BATCH` with the user's
category names as the only answers allowed ("none" too); then one short unit of work takes the ledger lock
and writes every guess in one statement, touching only rows still open (a category chosen meanwhile wins).
Rows that got a category are announced with one BULK_CHANGED event; a suggestion alone changes no figure of
the ledger and announces nothing.

A guess at `settings.categorize_min_confidence` or above sets the category (source MODEL or AI, with its
confidence) and clears the suggestion; a weaker guess leaves the category empty and is stored as the
transaction's suggestion (`suggested_category_id`, `suggested_source`, `suggested_confidence`). Gemini sees
only what the model left below the threshold; when it fails (`ChatError`), those rows keep the model's guess
and the failure is logged. Statements: the same few for 10 rows or 100k (reads, the model's, the lock, one
update, the budgets' evaluation).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from app import effects
from app.ai import factory
from app.ai.model import CategorizeItem, CategoryModel, ChatError
from app.categories import repository as categories_repo
from app.categories.models import Category
from app.db import read_session, unit_of_work
from app.money import format_decimal, minor_units
from app.rules import learned
from app.rules import repository as repo
from app.transactions.events import ChangeKind, TransactionChanged
from app.transactions.models import CategorySource

if TYPE_CHECKING:
    from app.resources import Resources

log = logging.getLogger("florin.rules.suggest")

MODEL = CategorySource.MODEL.value
AI = CategorySource.AI.value
AI_BATCH = 50
AI_MAX_ROWS = 1000
"""At most this many rows of one run go to Gemini (the rest keep the model's guess)."""
MAX_ROWS = 100_000
"""The newest open rows one job looks at."""
_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Guess:
    category_id: uuid.UUID | None
    source: str
    confidence: Decimal


@dataclass
class Result:
    rows: int = 0
    trained: bool = False
    applied: dict[str, int] = field(default_factory=dict)
    """Categories set, by source."""
    suggested: int = 0
    ai_failed: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"rows": self.rows, "trained": self.trained, "applied": self.applied, "suggested": self.suggested,
                "aiFailed": self.ai_failed}


def offered_names(categories: list[Category]) -> dict[str, uuid.UUID]:
    """The names Gemini may answer -> category id: the plain name, or "Parent: Child" where a name is shared."""
    by_id = {c.id: c for c in categories}
    counts: dict[str, int] = {}
    for category in categories:
        counts[category.name.casefold()] = counts.get(category.name.casefold(), 0) + 1
    out: dict[str, uuid.UUID] = {}
    for category in sorted(categories, key=lambda c: (c.parent_id is not None, c.position, c.name)):
        name = category.name
        parent = by_id.get(category.parent_id) if category.parent_id else None
        if counts[name.casefold()] > 1 and parent is not None:
            name = f"{parent.name}: {name}"
        out.setdefault(name, category.id)
    return out


def clamp(value: Decimal | float) -> Decimal:
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if not number.is_finite():
        return Decimal(0)
    return min(Decimal(1), max(Decimal(0), number)).quantize(_PLACES, rounding=ROUND_DOWN)


async def _ask(model: CategoryModel, categories: list[Category], rows: list[repo.OpenRow],
               guesses: dict[uuid.UUID, Guess]) -> bool:
    """Gemini's guesses for `rows` into `guesses`; False when it failed (rows not yet asked keep theirs)."""
    offered = offered_names(categories)
    folded = {name.casefold(): category_id for name, category_id in offered.items()}
    names = list(offered)
    for start in range(0, len(rows), AI_BATCH):
        batch = rows[start:start + AI_BATCH]
        items = [CategorizeItem(key=str(i), description=row.description or "", merchant=row.merchant or None,
                                amount=format_decimal(row.amount, minor_units(row.currency.strip())),
                                currency=row.currency.strip(),
                                booked_on=row.booked_on.isoformat()) for i, row in enumerate(batch)]
        try:
            answers = await model.categorize(categories=names, items=items)
        except ChatError as exc:
            log.warning("categorization by %s failed (%s: %s); %d rows keep the local model's guess",
                        getattr(model, "name", "the language model"), exc.code, exc.message, len(rows) - start)
            return False
        except Exception:  # a bug of the model's client must not undo the local model's work
            log.exception("categorization by %s failed; %d rows keep the local model's guess",
                          getattr(model, "name", "the language model"), len(rows) - start)
            return False
        for answer in answers:
            if not answer.key.isdigit() or int(answer.key) >= len(batch):
                continue
            row = batch[int(answer.key)]
            category_id = folded.get(answer.category.casefold()) if answer.category else None
            guesses[row.id] = Guess(category_id, AI, clamp(answer.confidence))
    return True


async def categorize_open(resources: Resources, user_id: uuid.UUID, run_id: uuid.UUID | None) -> Result:
    """Categorize the open transactions of a run (of the user, with `run_id` None) by model, then Gemini."""
    threshold = clamp(resources.settings.categorize_min_confidence)
    async with read_session(resources) as session:
        rows = await repo.open_rows(session, user_id, run_id, MAX_ROWS)
        if not rows:
            return Result()
        categories = await categories_repo.all_categories(session, user_id)
    result = Result(rows=len(rows))
    from app.ai.categorizer import Item

    loaded = await learned.ensure_model(resources, user_id, categories=categories)
    result.trained = loaded.trained
    items = [Item(row.description or "", row.merchant or "", row.amount) for row in rows]
    predictions = await asyncio.to_thread(loaded.model.predict, items, allowed=[str(c.id) for c in categories])
    guesses: dict[uuid.UUID, Guess] = {}
    for row, (label, confidence) in zip(rows, predictions, strict=True):
        if label is not None:
            guesses[row.id] = Guess(uuid.UUID(label), MODEL, confidence)
    language_model = factory.category_model(resources)
    if language_model is not None:
        waiting = [row for row in rows if (g := guesses.get(row.id)) is None or g.confidence < threshold]
        if waiting:
            result.ai_failed = not await _ask(language_model, categories, waiting[:AI_MAX_ROWS], guesses)
    values = [(row_id, g.category_id, g.source, g.confidence, g.category_id is not None and g.confidence >= threshold)
              for row_id, g in guesses.items()]
    if not values:
        return result
    async with unit_of_work(resources) as uow:
        await effects.lock_ledger(uow.session, user_id)
        written = await repo.write_guesses(uow.session, user_id, values)
        applied = {row_id for row_id, _account, category in written if category is not None}
        moved = tuple({category for _id, _account, category in written if category is not None})
        if moved:  # budgets see the moves; clients get one BULK_CHANGED event (suggestions alone send none)
            effects.touch_categories(uow.session, user_id, (None, *moved))
            uow.publish(user_id, TransactionChanged(
                kind=ChangeKind.BULK_CHANGED.value, transaction_id=None,
                account_ids=tuple(sorted({account for row_id, account, _c in written if row_id in applied})),
                count=len(applied), sync_run_id=run_id))
    for row_id in applied:
        source = guesses[row_id].source
        result.applied[source] = result.applied.get(source, 0) + 1
    result.suggested = len(written) - len(applied)
    return result
