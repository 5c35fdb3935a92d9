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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

PIVOT = "EUR"
RATE_PLACES = Decimal("0.0000000001")
_ONE = Decimal(1)
_PREC28 = Context(prec=28)
"""The default context's settings (half-even, 28 digits), held once instead of copied per operation."""
_PREC40 = Context(prec=40)


class Rate(NamedTuple):
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
    """1 / rate at 28 digits, rounded half-even to 10 places."""
    return _PREC28.divide(_ONE, rate).quantize(RATE_PLACES, context=_PREC28)


def _times(a: Decimal, b: Decimal) -> Decimal:
    """a * b at 40 digits, rounded half-even to 10 places."""
    return _PREC40.multiply(a, b).quantize(RATE_PLACES, context=_PREC40)


def times(amount: Decimal, rate: Decimal) -> Decimal:
    """`amount` converted at `rate`, at 40 digits (exact for stored amounts and rates): no rounding here."""
    return _PREC40.multiply(amount, rate)


_DAY_AND_SOURCE = itemgetter(0, 1)


class RateBook:
    """Rates by pair, each list sorted by (day, manual)."""

    def __init__(self, rows: Iterable[tuple[str, str, dt.date, Decimal, bool]] = ()):
        self._pairs: dict[tuple[str, str], list[tuple[dt.date, bool, Decimal]]] = {}
        for base, quote, day, rate, manual in rows:
            self._pairs.setdefault((base.strip(), quote.strip()), []).append((day, manual, Decimal(rate)))
        for entries in self._pairs.values():
            entries.sort(key=_DAY_AND_SOURCE)

    @classmethod
    def of_series(cls, groups: Iterable[tuple[str, str, bool, Sequence[dt.date], Sequence[Decimal]]]) -> RateBook:
        """A book from (base, quote, manual, days, rates) groups: the same book as from their rows, one by one."""
        book = cls()
        for base, quote, manual, days, rates in groups:
            book._pairs.setdefault((base.strip(), quote.strip()), []).extend(zip(days, repeat(manual), rates))
        for entries in book._pairs.values():
            entries.sort(key=_DAY_AND_SOURCE)
        return book

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
            return Rate(_ONE, day, False)
        best = self._one_way(base, quote, day)
        if PIVOT not in (base, quote):
            first, second = self._one_way(base, PIVOT, day), self._one_way(PIVOT, quote, day)
            if first and second:
                crossed = Rate(_times(first.rate, second.rate), min(first.day, second.day),
                               first.manual and second.manual)
                if best is None or crossed.day > best.day:
                    best = crossed
        return best

    def series(self, base: str, quote: str, days: Sequence[dt.date]) -> list[Rate | None]:
        """`find(base, quote, day)` for each of `days`: the same answers, each distinct one computed once.

        An answer depends only on the rates dated on or before its day, so it can only change on a day one
        of the pairs involved (direct, inverse, through EUR) has a rate: every day between two such days gets
        the answer of the earlier one. For ascending days those answers come from a `_Walk` through the rates
        (each rate inverted at most once) instead of a search per day.
        """
        if base == quote:
            return [Rate(_ONE, day, False) for day in days]
        walk = _Walk(self._pairs, base, quote)
        starts = sorted({entry[0] for entries in walk.lists() for entry in entries})
        ascending = all(a <= b for a, b in zip(days, days[1:], strict=False))
        found: dict[int, Rate | None] = {}
        out: list[Rate | None] = []
        for day in days:
            i = bisect.bisect_right(starts, day)
            if i not in found:
                if not i:
                    found[i] = None
                else:
                    found[i] = walk.to(starts[i - 1]) if ascending else self.find(base, quote, starts[i - 1])
            out.append(found[i])
        return out


_Entries = list[tuple[dt.date, bool, Decimal]]


class _OneWay:
    """`RateBook._one_way` of one pair on ascending days: pointers past the entries dated on or before the day
    (the same entry `_direct`'s search finds), the inverse entry inverted once when its pointer moves."""

    def __init__(self, direct: _Entries | None, inverse: _Entries | None):
        self.direct, self.inverse = direct or [], inverse or []
        self.i = self.j = 0
        self.straight: Rate | None = None
        self.inverted: Rate | None = None
        self.rate: Rate | None = None

    def to(self, day: dt.date) -> bool:
        """Move to `day`; True when an entry was passed (the rate may have changed)."""
        i, j = self.i, self.j
        direct, inverse = self.direct, self.inverse
        while i < len(direct) and direct[i][0] <= day:
            i += 1
        while j < len(inverse) and inverse[j][0] <= day:
            j += 1
        if i == self.i and j == self.j:
            return False
        if i != self.i:
            found_day, manual, rate = direct[i - 1]
            self.straight = Rate(rate, found_day, manual)
        if j != self.j:
            found_day, manual, rate = inverse[j - 1]
            self.inverted = Rate(_invert(rate), found_day, manual)
        self.i, self.j = i, j
        straight, inverted = self.straight, self.inverted
        if straight is None or inverted is None:
            self.rate = straight or inverted
        else:  # the later one, the manual one on a tie of days, else the direct one (as `max` keeps the first)
            later = (inverted.day, inverted.manual) > (straight.day, straight.manual)
            self.rate = inverted if later else straight
        return True


class _Walk:
    """`RateBook.find(base, quote, day)` for ascending days."""

    def __init__(self, pairs: dict[tuple[str, str], _Entries], base: str, quote: str):
        self.ways = [_OneWay(pairs.get((base, quote)), pairs.get((quote, base)))]
        if PIVOT not in (base, quote):
            self.ways += [_OneWay(pairs.get((base, PIVOT)), pairs.get((PIVOT, base))),
                          _OneWay(pairs.get((PIVOT, quote)), pairs.get((quote, PIVOT)))]
        self.crossed: Rate | None = None

    def lists(self) -> list[_Entries]:
        return [entries for way in self.ways for entries in (way.direct, way.inverse)]

    def to(self, day: dt.date) -> Rate | None:
        moved = [way.to(day) for way in self.ways]
        best = self.ways[0].rate
        if len(self.ways) == 3:
            if moved[1] or moved[2]:
                first, second = self.ways[1].rate, self.ways[2].rate
                self.crossed = Rate(_times(first.rate, second.rate), min(first.day, second.day),
                                    first.manual and second.manual) if first and second else None
            crossed = self.crossed
            if crossed is not None and (best is None or crossed.day > best.day):
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
        return _PREC40.multiply(amount, found.rate)

    @property
    def conversions(self) -> list[ConversionNote]:
        return sorted(self.notes.values(), key=lambda n: (n.from_currency, n.rate_day))

    @property
    def unconverted(self) -> list[tuple[Decimal, str]]:
        return [(amount, currency) for currency, amount in sorted(self.missing.items())]


_BOOK = sa.text("""
    WITH pairs AS (
        SELECT b.code AS base, q.code AS quote
        FROM unnest(CAST(:codes AS char(3)[])) AS b(code) CROSS JOIN unnest(CAST(:codes AS char(3)[])) AS q(code)
        WHERE b.code <> q.code
    ),
    found AS (
        SELECT base, quote, day, rate, user_id IS NOT NULL AS manual FROM exchange_rates
        WHERE (user_id = :user OR user_id IS NULL) AND base = ANY(CAST(:codes AS char(3)[]))
          AND quote = ANY(CAST(:codes AS char(3)[])) AND day BETWEEN :start AND :end
        UNION ALL
        SELECT p.base, p.quote, r.day, r.rate, false FROM pairs p
        CROSS JOIN LATERAL (SELECT e.day, e.rate FROM exchange_rates e
                            WHERE e.user_id IS NULL AND e.base = p.base AND e.quote = p.quote AND e.day < :start
                            ORDER BY e.day DESC LIMIT 1) AS r
        UNION ALL
        SELECT p.base, p.quote, r.day, r.rate, true FROM pairs p
        CROSS JOIN LATERAL (SELECT e.day, e.rate FROM exchange_rates e
                            WHERE e.user_id = :user AND e.base = p.base AND e.quote = p.quote AND e.day < :start
                            ORDER BY e.day DESC LIMIT 1) AS r
    )
    SELECT rtrim(base) AS base, rtrim(quote) AS quote, manual, array_agg(day ORDER BY day) AS days,
           array_agg(rate ORDER BY day) AS rates
    FROM found
    GROUP BY base, quote, manual
""")


async def load_book(session: AsyncSession, user_id: uuid.UUID, currencies: Iterable[str], *,
                    start: dt.date, end: dt.date) -> RateBook:
    """The rates that may convert between `currencies` (and EUR) on days in [start, end]: one statement.

    Loads the user's manual and the reference rates of those pairs dated in the window, plus, per pair
    and source, the latest one before it (the rate a day without its own rate falls back to), each found by
    one index probe per pair rather than by reading the pair's whole history.
    """
    codes = sorted({c.strip() for c in currencies} | {PIVOT})
    if len(codes) < 2:
        return RateBook()
    rows = await session.execute(_BOOK, {"user": user_id, "codes": codes, "start": start, "end": end})
    return RateBook.of_series((r.base, r.quote, r.manual, r.days, r.rates) for r in rows)
