"""All SQL of rules, the merchant memory and the bulk categorization of transactions. Scoped to one user."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.categories.models import Category
from app.rules.models import CategoryModelRow, MerchantMemory, Rule
from app.transactions.models import Deletion, Transaction

if TYPE_CHECKING:  # the engine imports the transaction service, which imports the memory, which imports this
    from app.rules.engine import Outcome

_rules: sa.Table = Rule.__table__  # type: ignore[attr-defined]
_memory: sa.Table = MerchantMemory.__table__  # type: ignore[attr-defined]
_ORDER = (col(Rule.priority), col(Rule.created_at), col(Rule.id))
T = Transaction
_ROW = (col(T.id), col(T.account_id), col(T.amount), col(T.description), col(T.merchant), col(T.category_id),
        col(T.category_source), col(T.category_confidence), col(T.tags), col(T.has_splits))


def _uuids(name: str, values: Sequence[uuid.UUID]) -> sa.BindParameter[Any]:
    """One array parameter (not one per value: an import may pass 100k ids)."""
    return sa.bindparam(name, list(values), type_=ARRAY(sa.Uuid))


# --- rules ------------------------------------------------------------------------------------------------------


async def rules(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None) -> list[Rule]:
    """The user's rules (all, or those among `ids`) by priority, then creation: one statement."""
    stmt = sa.select(Rule).where(col(Rule.user_id) == user_id)
    if ids is not None:
        stmt = stmt.where(col(Rule.id) == sa.any_(_uuids("ids", ids)))
    return list((await session.execute(stmt.order_by(*_ORDER))).scalars())


async def rules_to_apply(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None
                         ) -> list[tuple[Rule, uuid.UUID | None]]:
    """Rules in order with the id of the category they set when it still exists: one statement. Without `ids`
    the enabled rules, with `ids` those rules (enabled or not)."""
    target = sa.cast(Rule.actions["set_category_id"].astext, sa.Uuid)  # type: ignore[index]
    stmt = (sa.select(Rule, col(Category.id))
            .outerjoin(Category, sa.and_(col(Category.user_id) == user_id, col(Category.id) == target))
            .where(col(Rule.user_id) == user_id))
    if ids is None:
        stmt = stmt.where(col(Rule.enabled).is_(True))
    else:
        stmt = stmt.where(col(Rule.id) == sa.any_(_uuids("ids", ids)))
    return [(rule, category) for rule, category in (await session.execute(stmt.order_by(*_ORDER))).all()]


async def count_rules(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).select_from(_rules).where(_rules.c.user_id == user_id)
    return int((await session.execute(stmt)).scalar_one())


async def insert_rule(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert one rule; False when its id is already taken (by anyone)."""
    stmt = insert(_rules).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(_rules.c.id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def rule_for_update(session: AsyncSession, user_id: uuid.UUID, rule_id: uuid.UUID) -> Rule | None:
    stmt = (sa.select(Rule).where(col(Rule.user_id) == user_id, col(Rule.id) == rule_id)
            .with_for_update().execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_rule(session: AsyncSession, user_id: uuid.UUID, rule_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(sa.update(_rules).where(_rules.c.user_id == user_id, _rules.c.id == rule_id)
                          .values(**values, updated_at=sa.func.now()))


async def delete_rule(session: AsyncSession, user_id: uuid.UUID, rule_id: uuid.UUID) -> bool:
    stmt = sa.delete(_rules).where(_rules.c.user_id == user_id, _rules.c.id == rule_id).returning(_rules.c.id)
    deleted = (await session.execute(stmt)).scalar_one_or_none() is not None
    if deleted:
        session.add(Deletion(user_id=user_id, entity="Rule", entity_id=rule_id))
    return deleted


# --- transactions -----------------------------------------------------------------------------------------------


RowValues = Any
"""(id, account_id, amount, description, merchant, category_id, category_source, category_confidence, tags,
has_splits) of a transaction."""


async def rows_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[RowValues]:
    """The user's transactions among `ids`, in id order: one statement whatever their number."""
    stmt = (sa.select(*_ROW).where(col(T.user_id) == user_id, col(T.id) == sa.any_(_uuids("ids", ids)))
            .order_by(col(T.id)))
    return list((await session.execute(stmt)).all())


async def rows_in_window(session: AsyncSession, user_id: uuid.UUID, *, date_from: dt.date | None,
                         date_to: dt.date | None, account_ids: Sequence[uuid.UUID] | None, after: uuid.UUID | None,
                         limit: int) -> list[RowValues]:
    """One keyset page (by id) of the user's transactions booked in the window, in the given accounts."""
    stmt = sa.select(*_ROW).where(col(T.user_id) == user_id)
    if date_from is not None:
        stmt = stmt.where(col(T.booked_on) >= date_from)
    if date_to is not None:
        stmt = stmt.where(col(T.booked_on) <= date_to)
    if account_ids is not None:
        stmt = stmt.where(col(T.account_id) == sa.any_(_uuids("accounts", account_ids)))
    if after is not None:
        stmt = stmt.where(col(T.id) > after)
    stmt = stmt.order_by(col(T.id)).limit(limit)
    return list((await session.execute(stmt)).all())


_WRITE = sa.text("""
    UPDATE transactions AS t SET
        category_id = CASE WHEN t.category_source = 'USER' THEN t.category_id ELSE v.category_id END,
        category_confidence = CASE WHEN t.category_source = 'USER' THEN t.category_confidence
                                   ELSE v.category_confidence END,
        category_source = CASE WHEN t.category_source = 'USER' THEN t.category_source ELSE v.category_source END,
        tags = v.tags,
        updated_at = now()
    FROM jsonb_to_recordset(CAST(:data AS jsonb))
         AS v(id uuid, category_id uuid, category_source text, category_confidence numeric, tags text[])
    WHERE t.user_id = :user AND t.id = v.id
""")


async def write_outcomes(session: AsyncSession, user_id: uuid.UUID, outcomes: Sequence[Outcome]) -> None:
    """Write categories and tags of many transactions in one statement (one JSON parameter). A category the
    user chose meanwhile is kept, even if the caller decided otherwise."""
    if not outcomes:
        return
    data = [{"id": str(o.row.id), "category_id": str(o.category_id) if o.category_id else None,
             "category_source": o.source, "category_confidence": str(o.confidence) if o.confidence is not None
             else None, "tags": o.tags} for o in outcomes]
    await session.execute(_WRITE, {"data": json.dumps(data), "user": user_id})


# --- merchant memory --------------------------------------------------------------------------------------------


async def memory_for(session: AsyncSession, user_id: uuid.UUID, keys: Sequence[str]
                     ) -> dict[str, tuple[uuid.UUID, int]]:
    """merchant key -> (category id, count) for the keys the user's memory knows: one statement."""
    if not keys:
        return {}
    stmt = sa.select(_memory.c.merchant, _memory.c.category_id, _memory.c.count).where(
        _memory.c.user_id == user_id, _memory.c.merchant == sa.any_(sa.bindparam("keys", list(keys),
                                                                                 type_=ARRAY(sa.String))))
    return {merchant: (category, count) for merchant, category, count in (await session.execute(stmt)).all()}


_REMEMBER = sa.text("""
    INSERT INTO merchant_memory (user_id, merchant, category_id, count, updated_at)
    SELECT :user, chosen.merchant, :category, chosen.times, now()
    FROM unnest(CAST(:merchants AS varchar[]), CAST(:times AS integer[])) AS chosen(merchant, times)
    ON CONFLICT (user_id, merchant) DO UPDATE SET
        count = CASE WHEN merchant_memory.category_id = excluded.category_id
                     THEN merchant_memory.count + excluded.count ELSE excluded.count END,
        category_id = excluded.category_id,
        updated_at = now()
""")


async def remember(session: AsyncSession, user_id: uuid.UUID, merchant: str, category_id: uuid.UUID) -> None:
    """Upsert (user, merchant) -> category: the same category again counts up, another one starts over at 1."""
    await remember_many(session, user_id, category_id, {merchant: 1})


async def remember_many(session: AsyncSession, user_id: uuid.UUID, category_id: uuid.UUID,
                        times: Mapping[str, int]) -> None:
    """Upsert (user, merchant key) -> category for many merchants at once, `times[key]` choices each: the same
    category counts up by that many, another one starts over at that many (as that many single choices
    would). One statement; none when `times` is empty. The keys must be distinct memory keys."""
    if not times:
        return
    merchants = list(times)
    await session.execute(_REMEMBER, {"user": user_id, "category": category_id, "merchants": merchants,
                                      "times": [times[key] for key in merchants]})


# --- the learned categorizer ------------------------------------------------------------------------------------

LABEL_SOURCES = ("USER", "PROVIDER")
"""Categories the local model learns from: chosen by the user, or carried by an imported file (the user's
previous software or the bank). Rules, the memory, the model and Gemini are Florin's own decisions: learning
from them would only echo them back."""
_models: sa.Table = CategoryModelRow.__table__  # type: ignore[attr-defined]


def _labelled() -> Any:
    return sa.and_(col(T.category_source).in_(LABEL_SOURCES), col(T.category_id).is_not(None),
                   col(T.has_splits).is_(False))


async def label_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    """How many of the user's transactions carry a label the model learns from: one statement."""
    stmt = sa.select(sa.func.count()).select_from(T).where(col(T.user_id) == user_id, _labelled())
    return int((await session.execute(stmt)).scalar_one())


async def labelled_rows(session: AsyncSession, user_id: uuid.UUID, limit: int
                        ) -> list[tuple[uuid.UUID, str, str, Decimal]]:
    """(category id, description, merchant, amount) of the newest `limit` labelled transactions: one statement."""
    stmt = (sa.select(col(T.category_id), col(T.description), col(T.merchant), col(T.amount))
            .where(col(T.user_id) == user_id, _labelled())
            .order_by(col(T.updated_at).desc(), col(T.id).desc()).limit(limit))
    return [(c, d, m, a) for c, d, m, a in (await session.execute(stmt)).all() if c is not None]


async def stored_model(session: AsyncSession, user_id: uuid.UUID) -> CategoryModelRow | None:
    stmt = sa.select(CategoryModelRow).where(col(CategoryModelRow.user_id) == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def store_model(session: AsyncSession, user_id: uuid.UUID, *, label_count: int, classes: list[str],
                      model: bytes, signature: bytes) -> None:
    """Insert or replace the user's model (nothing when the user is gone meanwhile): one statement."""
    values: dict[str, Any] = {"label_count": label_count, "classes": classes, "model": model,
                              "signature": signature, "trained_at": sa.func.now()}
    users = sa.table("users", sa.column("id", sa.Uuid))
    source = sa.select(*(sa.literal(v, type_=_models.c[k].type).label(k) for k, v in
                         (("user_id", user_id), ("label_count", label_count), ("classes", classes),
                          ("model", model), ("signature", signature)))
                       ).where(sa.exists().where(users.c.id == user_id))
    stmt = insert(_models).from_select(["user_id", "label_count", "classes", "model", "signature"], source)
    await session.execute(stmt.on_conflict_do_update(index_elements=[_models.c.user_id], set_=values))


OpenRow = Any
"""(id, description, merchant, amount, currency, booked_on) of a transaction still without a category."""


def _open() -> Any:
    return sa.and_(col(T.category_id).is_(None), sa.func.coalesce(col(T.category_source), "") != "USER",
                   col(T.has_splits).is_(False))


async def open_rows(session: AsyncSession, user_id: uuid.UUID, run_id: uuid.UUID | None, limit: int
                    ) -> list[OpenRow]:
    """The user's transactions without a category, not the user's choice, not split (of one sync run, or
    the newest of all), in id order: one statement."""
    stmt = sa.select(col(T.id), col(T.description), col(T.merchant), col(T.amount), col(T.currency),
                     col(T.booked_on)).where(col(T.user_id) == user_id, _open())
    if run_id is not None:
        stmt = stmt.where(col(T.sync_run_id) == run_id)
    newest = stmt.order_by(col(T.id).desc()).limit(limit).subquery()
    return list((await session.execute(sa.select(newest).order_by(newest.c.id))).all())


_GUESSES = sa.text("""
    UPDATE transactions AS t SET
        category_id = CASE WHEN v.apply THEN v.category_id ELSE t.category_id END,
        category_source = CASE WHEN v.apply THEN v.source ELSE t.category_source END,
        category_confidence = CASE WHEN v.apply THEN v.confidence ELSE t.category_confidence END,
        suggested_category_id = CASE WHEN v.apply THEN NULL ELSE v.category_id END,
        suggested_source = CASE WHEN v.apply THEN NULL ELSE v.source END,
        suggested_confidence = CASE WHEN v.apply THEN NULL ELSE v.confidence END,
        updated_at = now()
    FROM jsonb_to_recordset(CAST(:data AS jsonb))
         AS v(id uuid, category_id uuid, source text, confidence numeric, apply boolean)
    WHERE t.user_id = :user AND t.id = v.id
      AND t.category_id IS NULL AND t.category_source IS DISTINCT FROM 'USER' AND NOT t.has_splits
      AND (v.category_id IS NULL
           OR EXISTS (SELECT 1 FROM categories c WHERE c.user_id = :user AND c.id = v.category_id))
      AND (v.apply OR (t.suggested_category_id, t.suggested_source, t.suggested_confidence)
                      IS DISTINCT FROM (v.category_id, v.source, v.confidence))
    RETURNING t.id, t.account_id, t.category_id
""")


async def write_guesses(session: AsyncSession, user_id: uuid.UUID,
                        guesses: Sequence[tuple[uuid.UUID, uuid.UUID | None, str, Decimal, bool]]
                        ) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]]:
    """Store (id, category id, source, confidence, apply) guesses in one statement: applied ones set the
    category (and clear the suggestion), the others become the suggestion. Only rows still open are touched
    (a category chosen meanwhile wins), and a suggestion equal to the stored one writes nothing. Returns
    (id, account id, category id) of the rows written."""
    if not guesses:
        return []
    data = [{"id": str(i), "category_id": str(c) if c else None, "source": s, "confidence": str(conf), "apply": a}
            for i, c, s, conf, a in guesses]
    rows = await session.execute(_GUESSES, {"data": json.dumps(data), "user": user_id})
    return [(i, a, c) for i, a, c in rows.all()]
