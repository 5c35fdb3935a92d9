"""QIF (Quicken Interchange Format): `!Type:` sections of records ended by `^`, one field per line.

Reads Bank, CCard, Cash, Oth A, Oth L and Invst sections, `!Account` blocks that name the account the
following records belong to (and the account list between `!Option:AutoSwitch` and `!Clear:AutoSwitch`),
splits (`S` category, `E` memo, `$` amount), and the date forms Quicken writes: 1/2'26, 01/02/2026,
1/ 2/26, 2026-01-02. QIF has no date order of its own: it is given, or detected from the whole file (a
day above 12 decides), or month-first with a warning. Category, class, memorized and security lists are
skipped. QIF names no currency: pass `currency` to check amounts against one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from app.money import minor_units
from app.sync.providers.statement import (
    KindHint,
    ParsedAccount,
    ParsedInvestment,
    ParsedSplit,
    ParsedStatement,
    ParsedTransaction,
    StatementError,
    StatementFormat,
    check_amount,
    finish,
    line_ref,
)
from app.sync.providers.values import (
    DateOrder,
    decimal_evidence,
    detect_date_order,
    detect_decimal,
    parse_date,
    parse_number,
)

_KINDS = {
    "bank": KindHint.CHECKING,
    "ccard": KindHint.CREDIT_CARD,
    "cash": KindHint.CASH,
    "invst": KindHint.INVESTMENT,
    "port": KindHint.INVESTMENT,
    "401(k)/403(b)": KindHint.INVESTMENT,
    "oth a": KindHint.OTHER_ASSET,
    "oth l": KindHint.OTHER_LIABILITY,
}
_INVESTMENT = {"invst", "port", "401(k)/403(b)"}
# Cash effect on the investment account of each action (X variants move the cash through another account
# named in L, and are signed like their base action). Actions not listed move no cash (ShrsIn, StkSplit,
# Reinv*, ...): they come through with amount 0 and their details in `investment`.
_CASH_IN = {"sell", "div", "intinc", "cglong", "cgmid", "cgshort", "miscinc", "rtrncap", "xin", "contrib"}
_CASH_OUT = {"buy", "miscexp", "margint", "xout", "withdrw"}


@dataclass(slots=True)
class _Record:
    kind: str
    account: ParsedAccount
    line: int
    fields: list[tuple[str, str, int]] = field(default_factory=list)


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse(
    data: bytes | str,
    *,
    date_order: DateOrder | str | None = None,
    decimal: str | None = None,
    currency: str | None = None,
) -> ParsedStatement:
    """Read a QIF file. `date_order` (DMY, MDY, YMD or a strptime pattern) and `decimal` ("." or ",")
    override detection; `currency` is the account currency when the caller knows it."""
    text = decode(data) if isinstance(data, bytes) else data
    records, accounts, balance_days = _records(text, currency)
    if not any(r.kind in _KINDS for r in records):
        raise StatementError("The QIF file holds no transactions (no !Type:Bank, CCard, Cash or Invst records).")
    warnings: list[str] = []
    dates = [v for r in records if r.kind in _KINDS for c, v, _ in _top_fields(r) if c == "D"]
    dates += [v for _, v, _ in balance_days]
    amounts = [v for r in records if r.kind in _KINDS for c, v, _ in r.fields if c in "TU$IQO"]
    if decimal is None:
        try:
            decimal = detect_decimal(amounts, ".")
        except ValueError as error:
            raise StatementError(f"QIF {error}.") from None
    if date_order is None:
        try:
            choice = detect_date_order(dates, prefer_dmy=decimal == ",")
        except ValueError:
            choice = None  # a bad date: reported with its line below, in MDY
        date_order = choice.order if choice else DateOrder.MDY
        if choice and choice.ambiguous:
            warnings.append(f"The dates read both day-first and month-first; read as {choice.order.value} "
                            f"({choice.reason}). Give the date order if that is wrong.")
    for record in records:
        if record.kind in _KINDS:
            _transaction(record, date_order, decimal, currency, warnings)
    for account, day, line in balance_days:
        try:
            account.balance_on = parse_date(day, date_order)
        except ValueError as error:
            raise StatementError(str(error), location=line_ref(line)) from None
    used = [a for a in accounts if a.transactions or a.balance is not None or a.opening_balance is not None]
    return finish(ParsedStatement(StatementFormat.QIF, used, warnings))


def _records(
    text: str, currency: str | None
) -> tuple[list[_Record], list[ParsedAccount], list[tuple[ParsedAccount, str, int]]]:
    """The transaction records, the accounts, and the accounts' balance days (read once the order is known)."""
    accounts: list[ParsedAccount] = []
    by_name: dict[str, ParsedAccount] = {}
    defaults: dict[str, ParsedAccount] = {}
    records: list[_Record] = []
    balance_days: list[tuple[ParsedAccount, str, int]] = []
    kind: str | None = None
    current: ParsedAccount | None = None
    named: ParsedAccount | None = None  # the account the last !Account block switched to
    autoswitch = False
    record: _Record | None = None

    def close(record: _Record | None) -> ParsedAccount | None:
        """Keep a finished record; an !Account record returns the account it names."""
        if record is None or not record.fields:
            return None
        if record.kind == "account":
            account = _account(record, currency, by_name, accounts)
            day = next(((v, n) for c, v, n in record.fields if c == "/" and v), None)
            if day is not None and account.balance is not None:
                balance_days.append((account, *day))
            return account
        if record.kind in _KINDS:
            records.append(record)
        return None

    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("!"):
            switched = close(record)  # some writers leave out the '^' before a header
            if switched is not None and not autoswitch:
                named = switched
            record = None
            header = line[1:].strip().lower()
            if header.startswith("type:"):
                kind = re.sub(r"\s+", " ", header[5:].strip())
                if kind in _KINDS:
                    current = named or defaults.get(kind)
                    if current is None:
                        current = ParsedAccount(currency=currency, kind_hint=_KINDS[kind], ref=line_ref(number))
                        defaults[kind] = current
                        accounts.append(current)
                    current.kind_hint = current.kind_hint or _KINDS[kind]
            elif header == "account":
                kind = "account"
            elif header == "option:autoswitch":
                autoswitch = True
            elif header == "clear:autoswitch":
                autoswitch = False
            else:
                kind = "other"
            continue
        if kind is None:
            if line.startswith("#"):
                continue  # comments some tools write above the first header
            raise StatementError("Expected a !Type: header before the first record.", location=line_ref(number))
        if record is None:
            if kind in _KINDS and current is None:
                raise StatementError("Records come before any account.", location=line_ref(number))
            record = _Record(kind, current or ParsedAccount(), number)
        if line.startswith("^"):
            switched = close(record)
            if switched is not None and not autoswitch:
                named = switched
            record = None
            continue
        record.fields.append((line[0], line[1:].strip(), number))
    close(record)  # some writers leave out the last '^'
    return records, accounts, balance_days


def _account(
    record: _Record, currency: str | None, by_name: dict[str, ParsedAccount], accounts: list[ParsedAccount]
) -> ParsedAccount:
    values = {code: (value, line) for code, value, line in record.fields}
    name = values.get("N", ("", 0))[0] or None
    key = (name or "").lower()
    account = by_name.get(key)
    if account is None:
        account = ParsedAccount(name=name, currency=currency, ref=line_ref(record.line))
        by_name[key] = account
        accounts.append(account)
    kind = re.sub(r"\s+", " ", values.get("T", ("", 0))[0].lower())
    if kind in _KINDS:
        account.kind_hint = _KINDS[kind]
    if "$" in values:
        value, line = values["$"]
        account.balance = _amount(value, line, decimal_evidence(value) or ".", currency, "balance")
    return account


def _top_fields(record: _Record) -> list[tuple[str, str, int]]:
    """The record's fields before its first split line (a split may carry its own D line)."""
    fields = []
    for code, value, line in record.fields:
        if code == "S":
            break
        fields.append((code, value, line))
    return fields


def _amount(text: str, line: int, decimal: str, currency: str | None, what: str = "amount") -> Decimal:
    try:
        value = parse_number(text, decimal)
    except (ValueError, InvalidOperation):
        raise StatementError(f"The {what} {text.strip()[:40]!r} is not a number.", location=line_ref(line)) from None
    return check_amount(value, currency, line_ref(line), what)


def _number(text: str, line: int, decimal: str, what: str) -> Decimal:
    try:
        return parse_number(text, decimal)
    except (ValueError, InvalidOperation):
        raise StatementError(f"The {what} {text.strip()[:40]!r} is not a number.", location=line_ref(line)) from None


def _category(text: str) -> tuple[str | None, str | None]:
    """(category, transfer account) of an L or S value, without its /class."""
    value = text.strip()
    if value.startswith("["):
        end = value.find("]")
        return None, (value[1:end] if end > 0 else value[1:]).strip() or None
    value = value.split("/", 1)[0].strip()
    return (None if not value or value == "--Split--" else value), None


def _transaction(
    record: _Record, order: DateOrder | str, decimal: str, currency: str | None, warnings: list[str]
) -> None:
    account = record.account
    top = {code: (value, line) for code, value, line in _top_fields(record)}
    if "D" not in top:
        raise StatementError("The record has no date (D line).", location=line_ref(record.line))
    try:
        booked_on = parse_date(top["D"][0], order)
    except ValueError as error:
        raise StatementError(str(error), location=line_ref(top["D"][1])) from None
    payee = top.get("P", ("", 0))[0] or None
    memo = top.get("M", ("", 0))[0] or None
    category, transfer = _category(top["L"][0]) if "L" in top else (None, None)
    total_field = top.get("T") or top.get("U")
    if record.kind in _INVESTMENT:
        amount, investment = _investment(record, top, decimal, currency)
        description = payee or memo or " ".join(filter(None, (investment.action, investment.security)))
    else:
        investment = None
        if total_field is None:
            raise StatementError("The record has no amount (T line).", location=line_ref(record.line))
        amount = _amount(total_field[0], total_field[1], decimal, currency)
        description = payee or memo or ""
    if (
        record.kind not in _INVESTMENT
        and payee is not None
        and payee.lower() == "opening balance"
        and transfer is not None
        and (account.name is None or account.name.lower() == transfer.lower())
        and not account.transactions
    ):
        account.name = account.name or transfer
        account.opening_balance, account.opening_balance_on = amount, booked_on
        return
    number = top.get("N", ("", 0))[0]
    account.transactions.append(
        ParsedTransaction(
            booked_on=booked_on,
            amount=amount,
            currency=currency,
            description=description,
            payee=payee,
            memo=memo,
            check_number=number if investment is None and number.isdigit() else None,
            category=category,
            transfer_account=transfer,
            splits=_splits(record, amount, decimal, currency, warnings),
            investment=investment,
            ref=line_ref(record.line),
        )
    )


def _splits(
    record: _Record, total: Decimal, decimal: str, currency: str | None, warnings: list[str]
) -> tuple[ParsedSplit, ...]:
    rows: list[dict[str, tuple[str, int]]] = []
    started = False
    for code, value, line in record.fields:
        if code == "S":
            started = True
            rows.append({"S": (value, line)})
        elif code in "E$" and (started or record.kind not in _INVESTMENT):
            if not rows or code in rows[-1]:
                rows.append({})
            rows[-1][code] = (value, line)
    if record.kind in _INVESTMENT or not rows:
        return ()
    splits = []
    for row in rows:
        if "$" not in row:
            line = next(iter(row.values()))[1]
            raise StatementError("The split has no amount ($ line).", location=line_ref(line))
        category, transfer = _category(row["S"][0]) if "S" in row else (None, None)
        splits.append(
            ParsedSplit(
                amount=_amount(row["$"][0], row["$"][1], decimal, currency, "split amount"),
                category=category,
                memo=(row.get("E", ("", 0))[0] or None),
                transfer_account=transfer,
            )
        )
    added = sum((s.amount for s in splits), Decimal(0))
    if added != total:
        warnings.append(f"Line {record.line}: the splits add up to {added}, not to the total {total}; "
                        "the transaction was kept without its splits.")
        return ()
    return tuple(splits)


def _investment(
    record: _Record, top: dict[str, tuple[str, int]], decimal: str, currency: str | None
) -> tuple[Decimal, ParsedInvestment]:
    action = top.get("N", ("", 0))[0] or "Cash"
    quantity = _number(*top["Q"], decimal, "quantity") if "Q" in top else None
    price = _number(*top["I"], decimal, "price") if "I" in top else None
    commission = _number(*top["O"], decimal, "commission") if "O" in top else None
    field_ = top.get("T") or top.get("U")
    if field_ is not None:
        total = _amount(field_[0], field_[1], decimal, currency)
    elif quantity is not None and price is not None:
        # no total written: quantity x price, less the commission on a sale, plus it on a purchase, rounded
        # (half-even) to the currency's minor units, or to cents when the currency is not known
        fee = commission or Decimal(0)
        computed = quantity * price + (-fee if action.lower().startswith("sell") else fee)
        places = minor_units(currency) if currency else 2
        total = check_amount(computed.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN), currency,
                             line_ref(record.line))
    else:
        total = None
    base_action = action.lower()
    if base_action.endswith("x") and base_action[:-1] in _CASH_IN | _CASH_OUT:
        base_action = base_action[:-1]  # BuyX, DivX, ...: the cash comes from or goes to the L account
    if total is None:
        amount = Decimal(0)
    elif base_action in _CASH_IN:
        amount = abs(total)
    elif base_action in _CASH_OUT:
        amount = -abs(total)
    elif base_action == "cash":
        amount = total
    else:
        amount = Decimal(0)
    security = top.get("Y", ("", 0))[0] or None
    return amount, ParsedInvestment(action, security, quantity, price, commission, total)
