"""Refresh of the reference exchange rates from the configured ECB source (the `refresh_exchange_rates` job).

The source is read and parsed completely before anything is written; a malformed document is logged and
refused as a whole, so a failed refresh never leaves half a file behind. Reference rates have no owner and
are upserted by (base, quote, day, source); the users' manual rates are different rows and are never
touched, so on their day they keep winning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.db import read_session, unit_of_work
from app.networth import ecb, service
from app.networth import repository as repo
from app.networth.models import RateSource

if TYPE_CHECKING:
    from app.resources import Resources

log = logging.getLogger("florin.networth.rates")


@dataclass(frozen=True)
class RefreshResult:
    source: str
    days: int
    rates: int
    written: int


async def refresh_reference_rates(resources: Resources, source: str | None = None) -> RefreshResult | None:
    """Read, parse and store the reference rates; None when no source is configured.

    Raises `ecb.SourceUnavailable` when the source cannot be read (worth a retry) and `ecb.MalformedRates`
    when it is not a rates document (nothing is written).
    """
    settings = resources.settings
    chosen = source or settings.exchange_rates_url
    if not chosen:
        log.info("no exchange-rate source configured; skipping the refresh")
        return None
    if source is None and settings.exchange_rates_history_url:
        async with read_session(resources) as session:
            if not await repo.has_reference_rates(session, RateSource.ECB):
                chosen = settings.exchange_rates_history_url  # the first run fills the recent past too
    data = await ecb.fetch(chosen, timeout_seconds=settings.exchange_rates_timeout_seconds)
    try:
        parsed = ecb.parse(data)
    except ecb.MalformedRates as exc:
        log.error("refusing the exchange rates from %s: %s", chosen, exc)
        raise
    if parsed.skipped:
        log.info("skipping currencies Florin does not know: %s", ", ".join(sorted(parsed.skipped)))
    async with unit_of_work(resources) as uow:
        written = await service.store_reference_rates(uow.session, parsed.rates, RateSource.ECB)
    rates = parsed.rates
    result = RefreshResult(chosen, len({r.day for r in rates}), len(rates), written)
    log.info("stored %d of %d reference rates (%d days) from %s", written, len(rates), result.days, chosen)
    return result
