"""Jobs of data exports: `export_data` (after `dataExport`) and the hourly `expire_data_exports`."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import Retry
from arq.worker import func

from app.privacy import service

log = logging.getLogger("florin.worker.exports")

EXPORT_TRIES = 3
"""An export that fails this many times (not for its size) is marked FAILED for the user to see."""


async def export_data(ctx: dict[str, Any], export_id: str) -> str | None:
    """Build and store the zip of one export; unique per export (`_job_id = export:{id}`), harmless to repeat."""
    resources = ctx["resources"]
    key = uuid.UUID(export_id)
    try:
        state = await service.prepare_export(resources, key)
    except Exception as exc:
        tries = int(ctx.get("job_try") or 1)
        if tries >= EXPORT_TRIES:
            log.exception("data export %s failed for good after %d tries", export_id, tries)
            state = await service.fail_export(resources, key, "The export could not be prepared; please try again")
            return state.value if state else None
        log.warning("data export %s failed (try %d): %s", export_id, tries, type(exc).__name__)
        raise Retry(defer=10 * tries) from exc
    return state.value if state else None


async def expire_data_exports(ctx: dict[str, Any]) -> int:
    """Ready exports past their expiry become EXPIRED and their zips are dropped from the database."""
    count = await service.expire_exports(ctx["resources"])
    if count:
        log.info("expired %d data exports", count)
    return count


FUNCTIONS: list[Any] = [func(export_data, timeout=1800, max_tries=EXPORT_TRIES + 1),  # type: ignore[arg-type]
                        expire_data_exports]
