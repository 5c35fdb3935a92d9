"""Explicit currency conversion with a rate of a known day.

A `RateBook` holds the rates that may apply (the user's manual rates and the reference rates) and finds,
for a pair and a day, the rate of that day or else of the latest earlier day: direct, inverted, or through
EUR (the reference rates are EUR-based). On one day a manual rate wins over a reference rate. A
`Converter` converts figures into one currency, keeps a note of every rate it used (`conversions`) and
lists what it could not convert (`unconverted`) instead of guessing.
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

PIVOT = "EUR"
RATE_PLACES = Decimal("0.0000000001")


@dataclass(frozen=True)
class Rate:
    rate: Decimal
    day: dt.date
    manual: bool


@dataclass(frozen=True)
class ConversionNote:
    """`from_currency` was converted into `to_currency` at `rate`, a rate of `rate_day`."""

    from_currency: str
    to_currency: str
    rate: Decimal
    rate_day: dt.date
    exact: bool


def _invert(rate: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 28
        return (Decimal(1) / rate).quantize(RATE_PLACES)


def _times(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        return (a * b).quantize(RATE_PLACES)


class RateBook:
    """Rates by pair, each list sorted by (day, manual)."""

    def __init__(self, rows: Iterable[tuple[str, str, dt.date, Decimal, bool]] = ()):
        self._pairs: dict[tuple[str, str], list[tuple[dt.date, bool, Decimal]]] = {}
        for base, quote, day, rate, manual in rows:
            self._pairs.setdefault((base.strip(), quote.strip()), []).append((day, manual, Decimal(rate)))
        for entries in self._pairs.values():
            entries.sort(key=lambda e: (e[0], e[1]))

    def _direct(self, base: str, quote: str, day: dt.date) -> Rate | None:
        entries = self._pairs.get((base, quote))
        if not entries:
            return None
        # the last entry on or before `day`; on one day the manual entry sorts last, so it wins
        i = bisect.bisect_right(entries, (day, True, Decimal("Infinity")))
        if i == 0:
            return None
        found_day, manual, rate = entries[i - 1]
        return Rate(rate, found_day, manual)

    def _one_way(self, base: str, quote: str, day: dt.date) -> Rate | None:
        direct = self._direct(base, quote, day)
        inverse = self._direct(quote, base, day)
        inverted = Rate(_invert(inverse.rate), inverse.day, inverse.manual) if inverse else None
        candidates = [r for r in (direct, inverted) if r is not None]
        return max(candidates, key=lambda r: (r.day, r.manual)) if candidates else None

    def find(self, base: str, quote: str, day: dt.date) -> Rate | None:
        """Units of `quote` per unit of `base` on `day` (or the latest earlier day); None when unknown."""
        if base == quote:
            return Rate(Decimal(1), day, False)
        best = self._one_way(base, quote, day)
        if PIVOT not in (base, quote):
            first, second = self._one_way(base, PIVOT, day), self._one_way(PIVOT, quote, day)
            if first and second:
                crossed = Rate(_times(first.rate, second.rate), min(first.day, second.day),
                               first.manual and second.manual)
                if best is None or crossed.day > best.day:
                    best = crossed
        return best


@dataclass
class Converter:
    """Converts figures into `target`, remembering the rates used and what could not be converted."""

    book: RateBook
    target: str
    notes: dict[tuple[str, dt.date, Decimal], ConversionNote] = field(default_factory=dict)
    missing: dict[str, Decimal] = field(default_factory=dict)

    def rate(self, currency: str, day: dt.date) -> Rate | None:
        return self.book.find(currency, self.target, day)

    def convert(self, amount: Decimal, currency: str, day: dt.date) -> Decimal | None:
        """`amount` in the target currency, exact (rounded only where a figure is shown), or None (and listed
        as unconverted). Rounding here would round twice: 363.68 USD at 0.928 is 337.49504, which must still
        round up to 337.50 inside a sum, not turn into an exact half at 337.4950."""
        currency = currency.strip()
        if currency == self.target:
            return amount
        found = self.rate(currency, day)
        if found is None:
            self.missing[currency] = self.missing.get(currency, Decimal(0)) + amount
            return None
        key = (currency, found.day, found.rate)
        if key not in self.notes:
            self.notes[key] = ConversionNote(currency, self.target, found.rate, found.day, exact=found.day == day)
        elif found.day != day and self.notes[key].exact:
            self.notes[key] = ConversionNote(currency, self.target, found.rate, found.day, exact=False)
        with localcontext() as ctx:
            ctx.prec = 40
            return amount * found.rate

    @property
    def conversions(self) -> list[ConversionNote]:
        return sorted(self.notes.values(), key=lambda n: (n.from_currency, n.rate_day))

    @property
    def unconverted(self) -> list[tuple[Decimal, str]]:
        return [(amount, currency) for currency, amount in sorted(self.missing.items())]


async def load_book(session: AsyncSession, user_id: uuid.UUID, currencies: Iterable[str], *,
                    start: dt.date, end: dt.date) -> RateBook:
    """The rates that may convert between `currencies` (and EUR) on days in [start, end]: one statement.

    Loads the user's manual and the reference rates of those pairs dated in the window, plus, per pair
    and source, the latest one before it (the rate a day without its own rate falls back to).
    """
    codes = sorted({c.strip() for c in currencies} | {PIVOT})
    if len(codes) < 2:
        return RateBook()
    stmt = sa.text("""
        WITH candidates AS (
            SELECT base, quote, day, rate, user_id IS NOT NULL AS manual FROM exchange_rates
            WHERE (user_id = :user OR user_id IS NULL) AND base = ANY(:codes) AND quote = ANY(:codes)
        )
        SELECT base, quote, day, rate, manual FROM candidates WHERE day BETWEEN :start AND :end
        UNION ALL
        (SELECT DISTINCT ON (base, quote, manual) base, quote, day, rate, manual FROM candidates
         WHERE day < :start ORDER BY base, quote, manual, day DESC)
    """)
    rows = await session.execute(stmt, {"user": user_id, "codes": codes, "start": start, "end": end})
    return RateBook((r.base, r.quote, r.day, r.rate, r.manual) for r in rows)
