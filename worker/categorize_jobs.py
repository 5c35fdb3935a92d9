"""Jobs of the learned categorization: `categorize` (after each import and sync) and `train_categorizer`.

`categorize(user_id, sync_run_id)` is queued in the unit of work that finishes an import or a sync run
(`_job_id = categorize:{run}`); it runs the local model and Gemini on what rules and the memory left open
(app/rules/suggest.py). `train_categorizer(user_id)` (`_job_id = train:{user}`) trains the user's model when
enough labels were added since the stored one (app/rules/learned.py). Both may run twice without harm.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq.worker import func

from app.rules import learned, suggest

log = logging.getLogger("florin.worker.categorize")


async def categorize(ctx: dict[str, Any], user_id: str, sync_run_id: str | None = None) -> dict[str, object]:
    """The model and Gemini stages for the open transactions of one run (or all of the user's, without one)."""
    result = await suggest.categorize_open(ctx["resources"], uuid.UUID(user_id),
                                           uuid.UUID(sync_run_id) if sync_run_id else None)
    return result.as_dict()


async def train_categorizer(ctx: dict[str, Any], user_id: str) -> dict[str, bool]:
    """Train the user's categorizer if its labels grew enough since the stored model."""
    return {"trained": await learned.train(ctx["resources"], uuid.UUID(user_id))}


FUNCTIONS: list[Any] = [
    # no result kept: arq refuses a job id whose result is still stored, and the next correction of the user
    # must be able to queue `train:{user}` again at once
    func(categorize, keep_result=0),  # type: ignore[arg-type]
    func(train_categorizer, keep_result=0),  # type: ignore[arg-type]
]
