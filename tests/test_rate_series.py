"""`RateBook.series` answers exactly what `RateBook.find` answers for each day, however the rates lie.

`series` walks the rates (or, for days out of order, searches them) and computes each distinct answer once;
`find` searches per day. The expected answers come from `find`, a different algorithm over the same rates.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.networth.fx import RateBook

CODES = ["EUR", "USD", "JPY", "GBP"]
DAY0 = dt.date(2026, 1, 1)

rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("999.9999"), places=4)
rows = st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(CODES), st.integers(0, 40), rates, st.booleans())
                .filter(lambda r: r[0] != r[1]), max_size=40)
days = st.lists(st.integers(-3, 45), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(rows=rows, offsets=days, base=st.sampled_from(CODES), quote=st.sampled_from(CODES), ordered=st.booleans())
def test_series_equals_find_day_by_day(rows: list[tuple[str, str, int, Decimal, bool]], offsets: list[int],
                                       base: str, quote: str, ordered: bool) -> None:
    # given: manual and reference rates of any pairs (EUR among them, so crossed rates occur)
    book = RateBook((b, q, DAY0 + dt.timedelta(days=n), rate, manual) for b, q, n, rate, manual in rows)
    asked = [DAY0 + dt.timedelta(days=n) for n in (sorted(offsets) if ordered else offsets)]

    # when
    found = book.series(base, quote, asked)

    # then: the same rate, day and source as a search of that day, for every day
    assert found == [book.find(base, quote, day) for day in asked]


def test_series_carries_a_rate_over_days_without_one() -> None:
    # given: EUR->USD on Friday and Tuesday, USD->JPY nowhere, EUR->JPY on Monday only
    friday = dt.date(2026, 11, 6)
    book = RateBook([("EUR", "USD", friday, Decimal("1.1000"), False),
                     ("EUR", "USD", friday + dt.timedelta(days=4), Decimal("1.2000"), False),
                     ("EUR", "JPY", friday + dt.timedelta(days=3), Decimal("160"), False)])
    week = [friday + dt.timedelta(days=n) for n in range(-1, 6)]

    # when
    usd = book.series("USD", "EUR", week)
    jpy = book.series("USD", "JPY", week)

    # then: inverted rates of the latest day on or before each day; crossed through EUR from Monday on
    assert [(r.rate, r.day) if r else None for r in usd] == [
        None, (Decimal("0.9090909091"), friday), (Decimal("0.9090909091"), friday),
        (Decimal("0.9090909091"), friday), (Decimal("0.9090909091"), friday),
        (Decimal("0.8333333333"), friday + dt.timedelta(days=4)), (Decimal("0.8333333333"),
                                                                    friday + dt.timedelta(days=4))]
    assert [(r.rate, r.day) if r else None for r in jpy] == [
        None, None, None, None,
        (Decimal("145.4545454560"), friday),  # 0.9090909091 * 160, dated by the older of its two rates
        (Decimal("133.3333333280"), friday + dt.timedelta(days=3)),
        (Decimal("133.3333333280"), friday + dt.timedelta(days=3))]
