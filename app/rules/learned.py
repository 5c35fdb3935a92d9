"""The per-user local categorizer: when it is trained, what it learns from, where it is kept.

It learns from the user's labelled transactions (`repository.LABEL_SOURCES`: categories the user chose, or
that an imported file carried), the newest `MAX_TRAINING_ROWS` of them, plus the built-in seed
(app/ai/categorizer_seed.py, mapped to the user's categories by name) at a lower weight. So a new user
starts from the seed, and a correction by the user (source USER) teaches the model at its next training.

Training happens when no usable model is stored (none yet, a signature that does not match, another format),
or when the number of labels moved by at least `max(settings.categorize_retrain_labels, 10 %)` since the
stored model: in the `categorize` job when it needs the model, and in `train_categorizer` (`TRAIN_JOB`,
`_job_id = train_job_id(user)`), which the API queues after a user's correction. The model is stored
signed (HMAC of a key derived from the secret key) in `category_models`; a row that does not verify is
never unpickled, it is trained again and replaced.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.categories import repository as categories_repo
from app.categories.models import Category
from app.db import UnitOfWork, read_session, unit_of_work
from app.rules import repository as repo

if TYPE_CHECKING:  # scikit-learn loads only where a model is used (the worker), not in the API process
    from app.ai import categorizer
    from app.config import Settings
    from app.resources import Resources

log = logging.getLogger("florin.rules.learned")

TRAIN_JOB = "train_categorizer"
CATEGORIZE_JOB = "categorize"
MAX_TRAINING_ROWS = 5000
"""The newest labels a model is trained on (training time grows with them; old habits matter less)."""
GROWTH_SHARE = 0.1


def train_job_id(user_id: uuid.UUID | str) -> str:
    """The `_job_id` of `train_categorizer` for a user: one queued training per user at a time."""
    return f"train:{user_id}"


def categorize_job_id(run_id: uuid.UUID | str) -> str:
    return f"categorize:{run_id}"


def key_of(settings: Settings) -> bytes:
    from app.ai import categorizer

    return categorizer.signing_key(settings.secret_key.get_secret_value())


def needs_training(stored_count: int | None, labels: int, min_growth: int) -> bool:
    """Whether to train: no usable model (`stored_count` None), or the labels moved by `min_growth` or 10 %."""
    if stored_count is None:
        return True
    return abs(labels - stored_count) >= max(min_growth, int(stored_count * GROWTH_SHARE))


def seed_labels(categories: list[Category]) -> dict[str, str]:
    """Category name (case-folded) -> id, for names the user has exactly once (the seed maps to these)."""
    seen: dict[str, list[uuid.UUID]] = {}
    for category in categories:
        seen.setdefault(category.name.casefold(), []).append(category.id)
    return {name: str(ids[0]) for name, ids in seen.items() if len(ids) == 1}


@dataclass
class Loaded:
    model: categorizer.CategorizerModel
    trained: bool
    """Whether it was trained just now."""


async def _stored(session: AsyncSession, user_id: uuid.UUID, key: bytes
                  ) -> tuple[categorizer.CategorizerModel | None, int | None]:
    from app.ai import categorizer

    row = await repo.stored_model(session, user_id)
    if row is None:
        return None, None
    try:
        return categorizer.loads(row.model, row.signature, key), row.label_count
    except categorizer.ModelRefused as exc:
        log.warning("the stored categorizer of user %s is refused (%s); training a new one", user_id, exc)
    except Exception:  # a signed blob that no longer unpickles (a library change): train again
        log.exception("the stored categorizer of user %s does not load; training a new one", user_id)
    return None, None


async def ensure_model(resources: Resources, user_id: uuid.UUID, *, categories: list[Category] | None = None,
                       force: bool = False) -> Loaded:
    """The user's model: the stored one while it is current, else trained now (in a thread) and stored."""
    from app.ai import categorizer

    settings = resources.settings
    key = key_of(settings)
    async with read_session(resources) as session:
        labels = await repo.label_count(session, user_id)
        model, stored_count = await _stored(session, user_id, key)
        if model is not None and not force and not needs_training(stored_count, labels,
                                                                   settings.categorize_retrain_labels):
            return Loaded(model, trained=False)
        rows = await repo.labelled_rows(session, user_id, MAX_TRAINING_ROWS)
        if categories is None:
            categories = await categories_repo.all_categories(session, user_id)
    examples = [categorizer.Example(str(category), description or "", merchant or "", amount)
                for category, description, merchant, amount in rows]
    examples += categorizer.seed_examples(seed_labels(categories))
    model = await asyncio.to_thread(categorizer.train, examples)
    blob = categorizer.dumps(model)
    async with unit_of_work(resources) as uow:
        await repo.store_model(uow.session, user_id, label_count=labels, classes=model.labels, model=blob,
                               signature=categorizer.sign(blob, key))
    log.info("trained the categorizer of user %s on %d labels (%d classes, %d bytes)", user_id, len(rows),
             len(model.labels), len(blob))
    return Loaded(model, trained=True)


async def train(resources: Resources, user_id: uuid.UUID) -> bool:
    """The `train_categorizer` job's work: train when the rule says so; whether it trained."""
    return (await ensure_model(resources, user_id)).trained


def queue_categorize(uow: UnitOfWork, user_id: uuid.UUID, run_id: uuid.UUID, changed: int) -> None:
    """Queue the `categorize` job of a run in the unit of work that finishes it (sent after the commit), when
    the run added or updated transactions."""
    if changed:
        uow.enqueue(CATEGORIZE_JOB, str(user_id), str(run_id), job_id=categorize_job_id(run_id))
