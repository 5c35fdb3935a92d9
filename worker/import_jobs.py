"""The job of statement imports: `apply_import` (queued by `statementImport` after its commit)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import Retry

from app.sync import imports, runs

log = logging.getLogger("florin.worker.imports")


async def apply_import(ctx: dict[str, Any], import_id: str) -> dict[str, Any] | None:
    """Apply a stored import in one unit of work (`_job_id = import:{id}`). A transient failure is retried
    with back-off; a worker killed meanwhile leaves nothing applied, and arq runs the job again."""
    resources = ctx["resources"]
    try:
        run = await imports.apply(resources, uuid.UUID(import_id), job_try=int(ctx.get("job_try") or 1),
                                  max_tries=resources.settings.job_max_tries)
    except runs.RetryLater as exc:
        raise Retry(defer=exc.defer_seconds) from exc
    if run is None:
        return None
    return {"run": str(run.id), "state": run.state, "added": run.added, "updated": run.updated,
            "duplicates": run.duplicates, "errors": run.errors}


FUNCTIONS: list[Any] = [apply_import]
