"""Date phrases of the local assistant, relative to a given `today` (the user's, from the conversation).

Periods are inclusive [start, end]; a period that contains today ends today.

- "today", "yesterday"; "on 2026-03-05", "on March 5"
- "this week|month|quarter|year" (weeks start on Monday), "so far this year", "year to date", "month to date"
- "last|previous week|month|quarter|year": the whole calendar period before the current one
- "last|past N days|weeks|months|years" and "the past week|month|year": the N units ending today
  ("last 30 days" = today and the 29 days before it; "past 3 months" = from the day after the same day
  3 months ago)
- "in March" (the latest March not after today), "in September 2026", "March 2026", "in 2025", "Q3 2026"
- "since January" (the latest 1 January not after today), "since March 15", "since 2026-02-01"
- "between August 1 and October 31", "from 1 Aug to 31 Oct 2026", "from 2026-08-01 to 2026-10-31": without a
  year, the current one, or the one before when that range would end after today
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {name: i for i, name in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
MONTHS.update({name[:3]: i for name, i in list(MONTHS.items())})
MONTHS["sept"] = 9
NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "thirty": 30, "ninety": 90}

_MONTH = r"(?P<{n}>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_NUM = r"(?P<{n}>\d{{1,3}}|" + "|".join(NUMBERS) + ")"
# a day: ISO, "March 5", "March 5th, 2026", "5 March", "5th of March 2026"
_DAY = (r"(?:(?P<{p}iso>\d{{4}}-\d{{2}}-\d{{2}})"
        r"|(?:{m1}\s+(?P<{p}d1>\d{{1,2}})(?!\d)(?:st|nd|rd|th)?(?:,?\s+(?P<{p}y1>\d{{4}}))?)"
        r"|(?:(?P<{p}d2>\d{{1,2}})(?!\d)(?:st|nd|rd|th)?\s+(?:of\s+)?{m2}(?:,?\s+(?P<{p}y2>\d{{4}}))?))")


def _day_pattern(prefix: str) -> str:
    return _DAY.format(p=prefix, m1=_MONTH.format(n=f"{prefix}m1"), m2=_MONTH.format(n=f"{prefix}m2"))


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    phrase: str
    """The words of the question that named it."""
    span: tuple[int, int]
    point: bool = False
    """A single day named with "on"/"at the end of"/"as of" (a moment rather than a span)."""


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBERS[text]


class Dates:
    """Finds the first date phrase of a question (the most specific pattern wins)."""

    def __init__(self, today: dt.date):
        self.today = today

    def clip(self, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
        return start, (self.today if start <= self.today < end else end)

    def _day(self, m: re.Match[str], p: str, year: int | None = None) -> tuple[dt.date | None, bool]:
        """(the day, whether its year was written)."""
        g = m.groupdict()
        if g.get(f"{p}iso"):
            try:
                return dt.date.fromisoformat(g[f"{p}iso"]), True
            except ValueError:
                return None, True
        month_name = g.get(f"{p}m1") or g.get(f"{p}m2")
        day_text = g.get(f"{p}d1") or g.get(f"{p}d2")
        written = g.get(f"{p}y1") or g.get(f"{p}y2")
        if not month_name or not day_text:
            return None, False
        y = int(written) if written else (year or self.today.year)
        try:
            return dt.date(y, MONTHS[month_name], int(day_text)), bool(written)
        except ValueError:
            return None, bool(written)

    def find(self, text: str) -> Period | None:
        for finder in (self._range, self._since, self._month_year, self._on, self._quarter, self._relative_n,
                       self._named, self._year, self._month):
            found = finder(text)
            if found is not None:
                return found
        return None

    def _range(self, text: str) -> Period | None:
        pattern = (r"\b(?:between|from)\s+" + _day_pattern("a") + r"\s+(?:and|to|until|till|through|-)\s+"
                   + _day_pattern("b"))
        m = re.search(pattern, text)
        if not m:
            return None
        start, start_year = self._day(m, "a")
        end, end_year = self._day(m, "b")
        if start is None or end is None:
            return None
        if not end_year and start_year:
            end = end.replace(year=start.year)
            if end < start:
                end = end.replace(year=start.year + 1)
        if not start_year:
            start = start.replace(year=end.year)
            if not end_year and end > self.today:
                start, end = start.replace(year=start.year - 1), end.replace(year=end.year - 1)
            if start > end:
                start = start.replace(year=start.year - 1)
        return Period(start, end, m.group(0), m.span())

    def _since(self, text: str) -> Period | None:
        m = re.search(r"\bsince\s+(?:the\s+)?(?:start\s+of\s+|beginning\s+of\s+)?(?:" + _day_pattern("a")
                      + r"|" + _MONTH.format(n="mon") + r"(?:\s+(?P<year>\d{4}))?)\b", text)
        if not m:
            return None
        if m.group("mon"):
            month = MONTHS[m.group("mon")]
            year = int(m.group("year")) if m.group("year") else (
                self.today.year if month <= self.today.month else self.today.year - 1)
            start: dt.date | None = dt.date(year, month, 1)
        else:
            start, written = self._day(m, "a")
            if start is not None and not written and start > self.today:
                start = start.replace(year=start.year - 1)
        if start is None:
            return None
        return Period(start, self.today, m.group(0), m.span())

    def _on(self, text: str) -> Period | None:
        m = re.search(r"\b(?:on|as of|at the end of|end of)\s+" + _day_pattern("a"), text) \
            or re.search(r"\b" + _day_pattern("a"), text)
        if not m:
            return None
        day, written = self._day(m, "a")
        if day is None:
            return None
        if not written and day > self.today:
            day = day.replace(year=day.year - 1)
        return Period(day, day, m.group(0), m.span(), point=True)

    def _month_year(self, text: str) -> Period | None:
        m = re.search(r"\b(?:in\s+|during\s+|for\s+|of\s+)?" + _MONTH.format(n="mon") + r",?\s+(?P<year>\d{4})\b",
                      text)
        if not m:
            return None
        year, month = int(m.group("year")), MONTHS[m.group("mon")]
        start, end = self.clip(dt.date(year, month, 1), month_end(year, month))
        return Period(start, end, m.group(0), m.span())

    def _quarter(self, text: str) -> Period | None:
        m = re.search(r"\b(?:(?P<rel>this|last|previous|past)\s+quarter|q(?P<q>[1-4])(?:\s+(?P<year>\d{4}))?)\b",
                      text)
        if not m:
            return None
        current = (self.today.month - 1) // 3
        if m.group("rel"):
            index = self.today.year * 4 + current - (0 if m.group("rel") == "this" else 1)
        else:
            quarter = int(m.group("q")) - 1
            year = int(m.group("year")) if m.group("year") else (
                self.today.year if quarter <= current else self.today.year - 1)
            index = year * 4 + quarter
        year, quarter = divmod(index, 4)
        start = dt.date(year, quarter * 3 + 1, 1)
        start, end = self.clip(start, month_end(year, quarter * 3 + 3))
        return Period(start, end, m.group(0), m.span())

    def _relative_n(self, text: str) -> Period | None:
        m = re.search(r"\b(?:in\s+|over\s+|for\s+|during\s+|within\s+)?(?:the\s+)?(?:last|past|previous)\s+"
                      + _NUM.format(n="n") + r"\s+(?P<unit>day|week|month|year)s?\b", text)
        if not m:
            return None
        n, unit = _number(m.group("n")), m.group("unit")
        if n < 1:
            return None
        return Period(self._back(n, unit), self.today, m.group(0), m.span())

    def _back(self, n: int, unit: str) -> dt.date:
        if unit == "day":
            return self.today - dt.timedelta(days=n - 1)
        if unit == "week":
            return self.today - dt.timedelta(days=7 * n - 1)
        months = n if unit == "month" else 12 * n
        return add_months(self.today, -months) + dt.timedelta(days=1)

    def _named(self, text: str) -> Period | None:
        m = re.search(r"\b(?P<all>(?P<rel>this|last|previous|past|current)\s+(?P<unit>week|month|year)"
                      r"|(?P<ytd>year to date|ytd|so far this year|this year so far"
                      r"|(?:the\s+)?(?:start|beginning)\s+of\s+(?:the|this)\s+year)"
                      r"|(?P<mtd>month to date|mtd|so far this month)"
                      r"|(?P<day>today|yesterday|tonight|this morning))\b", text)
        if not m:
            return None
        t = self.today
        if m.group("ytd"):
            return Period(t.replace(month=1, day=1), t, m.group(0), m.span())
        if m.group("mtd"):
            return Period(t.replace(day=1), t, m.group(0), m.span())
        if m.group("day"):
            day = t - dt.timedelta(days=1) if m.group("day") == "yesterday" else t
            return Period(day, day, m.group(0), m.span())
        rel, unit = m.group("rel"), m.group("unit")
        if rel == "past":  # rolling: the past week is the last 7 days
            return Period(self._back(1, unit), t, m.group(0), m.span())
        if unit == "week":
            monday = t - dt.timedelta(days=t.weekday())
            if rel in ("this", "current"):
                return Period(monday, t, m.group(0), m.span())
            return Period(monday - dt.timedelta(days=7), monday - dt.timedelta(days=1), m.group(0), m.span())
        if unit == "month":
            if rel in ("this", "current"):
                return Period(t.replace(day=1), t, m.group(0), m.span())
            previous = t.replace(day=1) - dt.timedelta(days=1)
            return Period(previous.replace(day=1), previous, m.group(0), m.span())
        if rel in ("this", "current"):
            return Period(t.replace(month=1, day=1), t, m.group(0), m.span())
        return Period(dt.date(t.year - 1, 1, 1), dt.date(t.year - 1, 12, 31), m.group(0), m.span())

    def _year(self, text: str) -> Period | None:
        m = re.search(r"\b(?:in|during|for|of)\s+(?P<year>(?:19|20)\d{2})\b", text)
        if not m:
            return None
        year = int(m.group("year"))
        start, end = self.clip(dt.date(year, 1, 1), dt.date(year, 12, 31))
        return Period(start, end, m.group(0), m.span())

    def _month(self, text: str) -> Period | None:
        # "may" alone is a verb far more often than a month: only with a preposition
        m = re.search(r"\b(?:(?:in|during|for|of|over)\s+(?:the\s+month\s+of\s+)?" + _MONTH.format(n="mon")
                      + r"|(?P<bare>" + "|".join(n for n in MONTHS if n not in ("may", "mar", "jun", "dec", "sept",
                                                                                   "sep", "oct", "nov", "jan", "feb",
                                                                                   "apr", "jul", "aug"))
                      + r"))\b", text)
        if not m:
            return None
        month = MONTHS[m.group("mon") or m.group("bare")]
        year = self.today.year if month <= self.today.month else self.today.year - 1
        start, end = self.clip(dt.date(year, month, 1), month_end(year, month))
        return Period(start, end, m.group(0), m.span())
