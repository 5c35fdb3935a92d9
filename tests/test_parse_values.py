"""The number and date readers shared by the QIF and CSV parsers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sync.providers.values import (
    DateOrder,
    currency_in,
    decimal_evidence,
    detect_date_order,
    detect_decimal,
    is_date,
    is_number,
    normalize_header,
    parse_date,
    parse_number,
)

D = Decimal


@pytest.mark.parametrize(
    ("text", "mark", "value"),
    [
        ("1234.56", ".", D("1234.56")), ("1,234.56", ".", D("1234.56")), ("1.234,56", ",", D("1234.56")),
        ("1 234,56", ",", D("1234.56")), ("1\u00a0234,56", ",", D("1234.56")), ("11'373.94", ".", D("11373.94")),
        ("-5", ".", D("-5")), ("\u22125.00", ".", D("-5.00")), ("5.00-", ".", D("-5.00")), ("(5.00)", ".", D("-5.00")),
        ("$-5.00", ".", D("-5.00")), ("-$5.00", ".", D("-5.00")), ("12.00 DR", ".", D("-12.00")),
        ("12.00CR", ".", D("12.00")), ("EUR 3,5", ",", D("3.5")), ("3,50 EUR", ",", D("3.50")), (".5", ".", D("0.5")),
        ("+7", ".", D("7")),
    ],
)  # fmt: skip
def test_parse_number(text, mark, value):
    assert parse_number(text, mark) == value


@pytest.mark.parametrize(
    ("text", "mark"),
    [("1,23,456.00", "."), ("12.34.56", ","), ("abc", "."), ("", "."), ("1.2.3", "."), ("1e5", "."), ("--5", "."),
     ("-(5)", "."), ("+5-", "."), ("5 DR-", ".")],
)
def test_parse_number_refuses(text, mark):
    with pytest.raises(ValueError):
        parse_number(text, mark)


def test_decimal_evidence_and_detection():
    assert [decimal_evidence(x) for x in ("1,234.56", "1.234,56", "12,5", "12.50", "1,000", "1.000", "1.000.000", "7")] == [
        ".", ",", ",", ".", None, None, ",", None]
    assert detect_decimal(["1.000", "2,50"], ".") == ","
    assert detect_decimal(["1.000", "2"], ",") == ","
    with pytest.raises(ValueError, match="mix decimal marks"):
        detect_decimal(["1.50", "2,50"], ".")
    assert currency_in("12,00 EUR") == "EUR" and currency_in("$12") is None


@pytest.mark.parametrize(
    ("text", "order", "day"),
    [
        ("2026-01-02", None, dt.date(2026, 1, 2)), ("2026/1/2", None, dt.date(2026, 1, 2)),
        ("20260102", None, dt.date(2026, 1, 2)), ("02.01.2026", "DMY", dt.date(2026, 1, 2)),
        ("1/2/26", "MDY", dt.date(2026, 1, 2)), ("1/ 2'26", "MDY", dt.date(2026, 1, 2)),
        ("1/2/69", "MDY", dt.date(1969, 1, 2)), ("1/2/68", "MDY", dt.date(2068, 1, 2)),
        ("1/2'99", "MDY", dt.date(2099, 1, 2)), ("02-Jan-2026", None, dt.date(2026, 1, 2)),
        ("2. März 2026", None, dt.date(2026, 3, 2)), ("Dec 31, 2025", None, dt.date(2025, 12, 31)),
        ("2026-Feb-03", None, dt.date(2026, 2, 3)), ("31.12.2025 23:59", "DMY", dt.date(2025, 12, 31)),
        ("02/01/2026", "%d/%m/%Y", dt.date(2026, 1, 2)),
    ],
)  # fmt: skip
def test_parse_date(text, order, day):
    assert parse_date(text, order) == day


@pytest.mark.parametrize("text", ["2026-02-30", "13/13/2026", "1/2/345", "yesterday", "12.50", "2026-01", ""])
def test_parse_date_refuses(text):
    with pytest.raises(ValueError):
        parse_date(text, "DMY")
    assert not is_date(text)


def test_dates_and_numbers_do_not_pass_for_each_other():
    assert is_date("10.10.2017") and not is_number("10.10.2017")
    assert is_number("1.234,56") and not is_date("1.234,56")
    assert not is_date("1234567890")


@pytest.mark.parametrize(
    ("samples", "order", "ambiguous"),
    [
        (["2026-01-02", "2026-01-03"], DateOrder.YMD, False),
        (["13/01/2026", "01/02/2026"], DateOrder.DMY, False),
        (["01/13/2026", "02/01/2026"], DateOrder.MDY, False),
        (["05/05/2026"], DateOrder.MDY, False),  # both readings give the same day
        (["01/02/2026", "01/03/2026"], DateOrder.MDY, True),
        (["01.02.2026", "01.03.2026"], DateOrder.DMY, True),
    ],
)
def test_detect_date_order(samples, order, ambiguous):
    choice = detect_date_order(samples)
    assert (choice.order, choice.ambiguous) == (order, ambiguous)


def test_detect_date_order_prefers_day_first_when_told_and_refuses_mixtures():
    assert detect_date_order(["01/02/2026", "01/03/2026"], prefer_dmy=True).order is DateOrder.DMY
    with pytest.raises(ValueError, match="mix"):
        detect_date_order(["13/01/2026", "01/13/2026"])


def test_normalize_header():
    assert [normalize_header(h) for h in ("RunningBalance", "Débit", "VWZ1", "N° de transaction", " Monn. ")] == [
        "running balance", "debit", "vwz 1", "n de transaction", "monn"]


@given(
    value=st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False),
    mark=st.sampled_from([".", ","]),
    grouped=st.booleans(),
)
def test_numbers_written_with_any_marks_read_back(value, mark, grouped):
    text = f"{abs(value):,.2f}" if grouped else f"{abs(value):.2f}"
    if mark == ",":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    text = ("-" if value < 0 else "") + text
    assert parse_number(text, mark) == value
    assert decimal_evidence(text) == mark
