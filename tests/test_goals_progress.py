"""Goal figures on hand-worked numbers, with "today" fixed: no database, no clock."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from app.accounts.models import Account
from app.goals.models import Goal
from app.goals.progress import (
    GoalInputs,
    Interval,
    history,
    measure,
    months_left,
    reached_milestones,
    sample_days,
)
from app.networth.fx import RateBook

D = Decimal
TODAY = dt.date(2026, 3, 15)
WINDOW_START = dt.date(2025, 12, 15)  # 90 days before TODAY


def goal(target: str, *, kind: str = "CUSTOM", currency: str = "EUR", target_date: dt.date | None = None) -> Goal:
    return Goal(id=uuid.uuid4(), user_id=uuid.uuid4(), name="G", kind=kind, target_amount=D(target),
                currency=currency, target_date=target_date)


def acct(balance: str, *, currency: str = "EUR", liability: bool = False, opening: str = "0") -> Account:
    return Account(id=uuid.uuid4(), user_id=uuid.uuid4(), name="A", kind="LOAN" if liability else "SAVINGS",
                   classification="LIABILITY" if liability else "ASSET", currency=currency,
                   current_balance=D(balance), opening_balance=D(opening))


def test_contributions_goal_hand_worked() -> None:
    # given: 1200 by 2026-09-15; 100 saved before the 90-day window, then 200 + 150 - 50 inside it
    inputs = GoalInputs(goal("1200.00", target_date=dt.date(2026, 9, 15)), days=[
        (dt.date(2025, 12, 1), D("100")), (dt.date(2026, 1, 10), D("200")), (dt.date(2026, 2, 10), D("150")),
        (dt.date(2026, 3, 1), D("-50"))])
    # when
    f = measure(inputs, book=RateBook(), today=TODAY, balances={})
    # then: progress 400, remaining 800, 400/1200 = 33.33 %
    assert (f.progress, f.remaining, f.percent) == (D("400.00"), D("800.00"), D("33.33"))
    # pace: 400 today - 100 on 2025-12-15 = 300 in 90 days
    assert f.gained == D("300.00")
    # 6 months left (Mar 15 -> Sep 15): 800 / 6 = 133.333... rounded up to 133.34
    assert f.monthly_required == D("133.34")
    # 184 days left; 300 / 90 * 184 = 613.33 < 800
    assert f.on_track is False
    # ceil(800 / (300 / 90)) = 240 days after Mar 15 = Nov 10
    assert f.projected_on == dt.date(2026, 11, 10)
    assert f.conversions == [] and f.unconverted == []


def test_on_track_when_the_pace_covers_the_remaining_days() -> None:
    # given: 900 saved inside the window (10 a day), 800 left, 184 days to go
    inputs = GoalInputs(goal("1700.00", target_date=dt.date(2026, 9, 15)), days=[(dt.date(2026, 1, 1), D("900"))])
    # when
    f = measure(inputs, book=RateBook(), today=TODAY, balances={})
    # then: 10 * 184 = 1840 >= 800; done in 80 days
    assert (f.remaining, f.gained, f.on_track) == (D("800.00"), D("900.00"), True)
    assert f.projected_on == TODAY + dt.timedelta(days=80)


def test_without_a_target_date_nothing_is_required_and_on_track_is_unknown() -> None:
    inputs = GoalInputs(goal("100.00"), days=[(dt.date(2026, 3, 1), D("30"))])
    f = measure(inputs, book=RateBook(), today=TODAY, balances={})
    assert (f.monthly_required, f.on_track) == (None, None)
    assert f.projected_on == TODAY + dt.timedelta(days=210)  # ceil(70 * 90 / 30)


def test_a_reached_goal_is_on_track_and_projected_on_its_completion_day() -> None:
    inputs = GoalInputs(goal("100.00", target_date=dt.date(2026, 1, 1)), days=[(dt.date(2025, 6, 1), D("150"))])
    f = measure(inputs, book=RateBook(), today=TODAY, balances={}, completed_on=dt.date(2025, 6, 1))
    assert (f.progress, f.remaining, f.percent) == (D("150.00"), D("0.00"), D("150.00"))
    assert (f.monthly_required, f.on_track, f.projected_on) == (D("0.00"), True, dt.date(2025, 6, 1))
    assert f.gained == D("0.00")


def test_a_passed_target_date_asks_for_everything_and_is_not_on_track() -> None:
    inputs = GoalInputs(goal("100.00", target_date=dt.date(2026, 3, 1)), days=[(dt.date(2026, 3, 1), D("40"))])
    f = measure(inputs, book=RateBook(), today=TODAY, balances={})
    assert (f.monthly_required, f.on_track) == (D("60.00"), False)


def test_months_left_count_a_started_month_and_at_least_one() -> None:
    assert months_left(dt.date(2026, 1, 15), dt.date(2026, 7, 15)) == 6
    assert months_left(dt.date(2026, 1, 15), dt.date(2026, 7, 16)) == 7
    assert months_left(dt.date(2026, 1, 15), dt.date(2026, 7, 14)) == 6
    assert months_left(dt.date(2026, 1, 31), dt.date(2026, 2, 28)) == 1
    assert months_left(dt.date(2026, 1, 15), dt.date(2027, 1, 15)) == 12
    assert months_left(dt.date(2026, 1, 15), dt.date(2026, 1, 15)) == 1
    assert months_left(dt.date(2026, 1, 15), dt.date(2025, 1, 15)) == 1


def test_jpy_amounts_round_up_to_whole_yen() -> None:
    inputs = GoalInputs(goal("100000", currency="JPY", target_date=dt.date(2026, 6, 15)), days=[])
    f = measure(inputs, book=RateBook(), today=TODAY, balances={})
    assert f.monthly_required == D("33334")  # 100000 / 3 = 33333.33 -> 33334


def test_debt_payoff_progress_is_target_minus_what_is_owed() -> None:
    # given: pay off 10000; the loan still owes 7000
    loan = acct("-7000.00", liability=True)
    f = measure(GoalInputs(goal("10000.00", kind="DEBT_PAYOFF"), accounts=[loan]), book=RateBook(), today=TODAY,
                balances={})
    assert (f.progress, f.remaining, f.percent) == (D("3000.00"), D("7000.00"), D("30.00"))
    # owing more than the target is 0 progress; an overpaid card does not offset another card's debt
    more = measure(GoalInputs(goal("5000.00", kind="DEBT_PAYOFF"), accounts=[acct("-6000.00", liability=True)]),
                   book=RateBook(), today=TODAY, balances={})
    assert more.progress == D("0.00")
    mixed = measure(GoalInputs(goal("5000.00", kind="DEBT_PAYOFF"),
                               accounts=[acct("50.00", liability=True), acct("-1000.00", liability=True)]),
                    book=RateBook(), today=TODAY, balances={})
    assert mixed.progress == D("4000.00")
    paid = measure(GoalInputs(goal("5000.00", kind="DEBT_PAYOFF"), accounts=[acct("0.00", liability=True)]),
                   book=RateBook(), today=TODAY, balances={})
    assert (paid.progress, paid.percent) == (D("5000.00"), D("100.00"))


def test_debt_payoff_pace_is_the_debt_paid_down_in_the_window() -> None:
    # given: the loan owed 9000 ninety days ago and 7000 today
    loan = acct("-7000.00", liability=True)
    inputs = GoalInputs(goal("10000.00", kind="DEBT_PAYOFF"), accounts=[loan])
    balances = {(loan.id, WINDOW_START): D("-9000"), (loan.id, TODAY): D("-7000")}
    f = measure(inputs, book=RateBook(), today=TODAY, balances=balances)
    # then: progress went from 1000 to 3000
    assert f.gained == D("2000.00")
    assert f.projected_on == TODAY + dt.timedelta(days=315)  # ceil(7000 * 90 / 2000)


def test_linked_accounts_convert_at_the_rate_of_the_day_and_list_what_cannot() -> None:
    # given: a EUR goal over a EUR account, a USD account (1 EUR = 1.25 USD) and a GBP account without a rate
    eur, usd, gbp = acct("1000.00"), acct("500.00", currency="USD"), acct("80.00", currency="GBP")
    book = RateBook([("EUR", "USD", dt.date(2026, 3, 13), D("1.25"), False)])
    inputs = GoalInputs(goal("2000.00"), accounts=[eur, usd, gbp])
    # when
    f = measure(inputs, book=book, today=TODAY, balances={})
    # then: 1000 + 500 * 0.8 = 1400; the rate is two days old, so not exact
    assert f.progress == D("1400.00")
    assert [(n.from_currency, n.to_currency, n.rate, n.rate_day, n.exact) for n in f.conversions] == [
        ("USD", "EUR", D("0.8000000000"), dt.date(2026, 3, 13), False)]
    assert f.unconverted == [(D("80.00"), "GBP")]


def test_linked_accounts_pace_counts_the_opening_balance_before_an_account_existed() -> None:
    # given: no balance row 90 days ago (the account opened later with 500), 1200 today
    savings = acct("1200.00", opening="500.00")
    inputs = GoalInputs(goal("3000.00"), accounts=[savings])
    f = measure(inputs, book=RateBook(), today=TODAY, balances={(savings.id, TODAY): D("1200")})
    assert (f.progress, f.gained) == (D("1200.00"), D("700.00"))


def test_milestones_are_exact() -> None:
    assert reached_milestones(D("24.99"), D("100")) == []
    assert reached_milestones(D("25"), D("100")) == [25]
    assert reached_milestones(D("60"), D("100")) == [25, 50]
    assert reached_milestones(D("1000"), D("100")) == [25, 50, 75, 100]
    assert reached_milestones(D("33.33"), D("133.33")) == []  # 3333 < 133.33 * 25 = 3333.25
    assert reached_milestones(D("33.34"), D("133.33")) == [25]


def test_sample_days_end_each_period_and_the_history() -> None:
    start, end = dt.date(2026, 1, 10), dt.date(2026, 3, 15)
    assert sample_days(start, end, Interval.MONTH) == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), end]
    assert sample_days(dt.date(2026, 3, 11), end, Interval.WEEK) == [dt.date(2026, 3, 15)]
    assert sample_days(dt.date(2026, 3, 2), dt.date(2026, 3, 16), Interval.WEEK) == [
        dt.date(2026, 3, 8), dt.date(2026, 3, 15), dt.date(2026, 3, 16)]
    assert sample_days(dt.date(2026, 3, 13), end, Interval.DAY) == [
        dt.date(2026, 3, 13), dt.date(2026, 3, 14), end]
    assert sample_days(dt.date(2025, 12, 31), dt.date(2026, 1, 1), Interval.MONTH) == [
        dt.date(2025, 12, 31), dt.date(2026, 1, 1)]


def test_history_of_contributions_is_cumulative_and_never_negative() -> None:
    inputs = GoalInputs(goal("1000.00"), days=[(dt.date(2026, 1, 10), D("200")), (dt.date(2026, 2, 10), D("150")),
                                               (dt.date(2026, 3, 1), D("-50"))])
    days = [dt.date(2026, 1, 1), dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 15)]
    assert history(inputs, days, book=RateBook(), balances={}) == [
        (days[0], D("0.00")), (days[1], D("200.00")), (days[2], D("350.00")), (days[3], D("300.00"))]
