"""CAMT.053 (ISO 20022 BankToCustomerStatement, any version 001.02 to 001.13).

Parsed with defusedxml and every DTD forbidden: a statement never needs one, so a document declaring
entities (billion laughs) or external references (XXE) is refused as MALFORMED_FILE, never expanded.
Each `Stmt` is an account (statements of the same account and currency are merged), each `Ntry` a
transaction signed by its CdtDbtInd. Errors name the element path, e.g. `Document/BkToCstmrStmt/Stmt[2]/
Ntry[1]/Amt`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from app.errors import DomainError, ErrorCode
from app.money import parse_currency
from app.sync.providers.statement import (
    KindHint,
    ParsedAccount,
    ParsedStatement,
    ParsedTransaction,
    StatementError,
    StatementFormat,
    check_amount,
    finish,
)

_NAMESPACE = re.compile(r"^\{urn:iso:std:iso:20022:tech:xsd:(camt\.\d{3})\.\d{3}\.\d{2}\}")
_MAX_DETAILS_IN_DESCRIPTION = 3


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Element | None, *path: str) -> Element | None:
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _children(element: Element | None, name: str) -> list[Element]:
    return [c for c in element if _local(c.tag) == name] if element is not None else []


def _text(element: Element | None, *path: str) -> str | None:
    found = _child(element, *path)
    value = (found.text or "").strip() if found is not None else ""
    return value or None


def load(data: bytes) -> Element:
    """The document's root element; StatementError when it is not well-formed or declares a DTD."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise StatementError(
            f"The XML declares a DTD or entities ({type(error).__name__}), which a bank statement never needs; "
            "the file was refused."
        ) from None
    except ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        reason = re.sub(r":\s*line \d+, column \d+$", "", str(error))
        raise StatementError(f"The XML is not well-formed ({reason}).", location=f"line {line}, column {column}") \
            from None


def parse(data: bytes) -> ParsedStatement:
    """Read a camt.053 document."""
    root = load(data)
    match = _NAMESPACE.match(root.tag if isinstance(root.tag, str) else "")
    kind = match.group(1) if match else None
    if _local(root.tag) != "Document" or kind is None:
        raise StatementError("This XML is not an ISO 20022 camt document.", code=ErrorCode.UNSUPPORTED_FORMAT)
    if kind != "camt.053":
        raise StatementError(f"{kind} documents are not supported; export a camt.053 statement.",
                             code=ErrorCode.UNSUPPORTED_FORMAT)
    body = _child(root, "BkToCstmrStmt")
    if body is None:
        raise StatementError("The document has no BkToCstmrStmt.", location="Document")
    statements = _children(body, "Stmt")
    if not statements:
        raise StatementError("The document holds no statement (Stmt).", location="Document/BkToCstmrStmt")
    warnings: list[str] = []
    accounts = [
        _statement(stmt, f"Document/BkToCstmrStmt/Stmt[{i}]", warnings) for i, stmt in enumerate(statements, 1)
    ]
    return finish(ParsedStatement(StatementFormat.CAMT053, accounts, warnings))


def _currency(code: str | None, path: str) -> str | None:
    if code is None:
        return None
    try:
        return parse_currency(code)
    except DomainError as error:
        raise StatementError(error.message, location=path) from None


def _date(element: Element | None, path: str) -> dt.date | None:
    """The day of a `Dt` or `DtTm` child, as written (a time zone does not move it)."""
    if element is None:
        return None
    value, name = _text(element, "Dt"), "Dt"
    if value is None:
        value, name = _text(element, "DtTm"), "DtTm"
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise StatementError(f"{value[:40]!r} is not a date.", location=f"{path}/{name}") from None


def _money(parent: Element, path: str, currency: str | None) -> tuple[Decimal, str | None]:
    """The signed amount of an element with `Amt Ccy=` and `CdtDbtInd` children."""
    amt = _child(parent, "Amt")
    if amt is None:
        raise StatementError("The amount (Amt) is missing.", location=path)
    ccy = _currency(amt.get("Ccy"), f"{path}/Amt/@Ccy") or currency
    raw = (amt.text or "").strip()
    if not re.fullmatch(r"\d+(?:\.\d+)?", raw):
        raise StatementError(f"{raw[:40]!r} is not an amount.", location=f"{path}/Amt")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise StatementError(f"{raw[:40]!r} is not an amount.", location=f"{path}/Amt") from None
    indicator = _text(parent, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(f"CdtDbtInd must be CRDT or DBIT, not {indicator!r}.", location=f"{path}/CdtDbtInd")
    signed = value if indicator == "CRDT" else -value
    return check_amount(signed, ccy, f"{path}/Amt"), ccy


def _statement(stmt: Element, path: str, warnings: list[str]) -> ParsedAccount:
    acct = _child(stmt, "Acct")
    if acct is None:
        raise StatementError("The statement does not name its account (Acct).", location=path)
    iban = _text(acct, "Id", "IBAN")
    number = iban or _text(acct, "Id", "Othr", "Id")
    if number is None:
        raise StatementError("The account has no IBAN or other id.", location=f"{path}/Acct/Id")
    currency = _currency(_text(acct, "Ccy"), f"{path}/Acct/Ccy")
    agent = _child(acct, "Svcr", "FinInstnId")
    account = ParsedAccount(
        number=number,
        iban=iban,
        name=_text(acct, "Nm"),
        currency=currency,
        kind_hint=KindHint.CREDIT_CARD if _text(acct, "Tp", "Cd") == "CARD" else KindHint.CHECKING,
        institution=_text(agent, "Nm"),
        bank_id=_text(agent, "BICFI") or _text(agent, "BIC"),
        ref=path,
    )
    period = _child(stmt, "FrToDt")
    if period is not None:
        for attr, tag in (("period_start", "FrDtTm"), ("period_end", "ToDtTm")):
            value = _text(period, tag)
            if value:
                try:
                    setattr(account, attr, dt.date.fromisoformat(value[:10]))
                except ValueError:
                    raise StatementError(f"{value[:40]!r} is not a date.", location=f"{path}/FrToDt/{tag}") from None
    for i, bal in enumerate(_children(stmt, "Bal"), 1):
        bal_path = f"{path}/Bal[{i}]"
        code = _text(bal, "Tp", "CdOrPrtry", "Cd")
        if code not in ("CLBD", "OPBD", "PRCD"):
            continue
        amount, ccy = _money(bal, bal_path, currency)
        account.currency = account.currency or ccy
        on = _date(_child(bal, "Dt"), f"{bal_path}/Dt")
        if code == "CLBD":
            account.balance, account.balance_on = amount, on
        elif account.opening_balance is None or code == "OPBD":
            account.opening_balance, account.opening_balance_on = amount, on
    info = 0
    for i, entry in enumerate(_children(stmt, "Ntry"), 1):
        transaction = _entry(entry, f"{path}/Ntry[{i}]", currency)
        if transaction is None:
            info += 1
        else:
            account.transactions.append(transaction)
    if info:
        warnings.append(f"{path}: {info} informational entries (Sts INFO) are not bookings and were skipped.")
    return account


def _entry(entry: Element, path: str, currency: str | None) -> ParsedTransaction | None:
    status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
    if status == "INFO":
        return None
    amount, ccy = _money(entry, path, currency)
    booked_on = _date(_child(entry, "BookgDt"), f"{path}/BookgDt")
    value_on = _date(_child(entry, "ValDt"), f"{path}/ValDt")
    if booked_on is None:
        booked_on = value_on
    if booked_on is None:
        raise StatementError("The entry has neither a booking date nor a value date.", location=path)
    details = [d for block in _children(entry, "NtryDtls") for d in _children(block, "TxDtls")]
    only = details[0] if len(details) == 1 else None
    texts = []
    for detail in details[:_MAX_DETAILS_IN_DESCRIPTION]:
        remittance = _child(detail, "RmtInf")
        lines = [(u.text or "").strip() for u in _children(remittance, "Ustrd")]
        lines += [r for s in _children(remittance, "Strd") if (r := _text(s, "CdtrRefInf", "Ref"))]
        if any(lines):
            texts.append(" ".join(x for x in lines if x))
    extra = _text(entry, "AddtlNtryInf") or (_text(only, "AddtlTxInf") if only is not None else None)
    payee = _counterparty(only, amount) if only is not None else None
    description = " / ".join(texts) or extra or payee or ""
    return ParsedTransaction(
        booked_on=booked_on,
        amount=amount,
        currency=ccy,
        description=description,
        payee=payee,
        memo=extra if extra != description else None,
        provider_id=_reference(entry, only),
        pending=status in ("PDNG", "FUTR"),
        value_on=value_on,
        ref=path,
    )


def _reference(entry: Element, only: Element | None) -> str | None:
    """The bank's id for the entry: AcctSvcrRef, NtryRef, then the one TxDtls' refs."""
    for value in (_text(entry, "AcctSvcrRef"), _text(entry, "NtryRef")):
        if value:
            return value
    if only is not None:
        for tag in ("AcctSvcrRef", "TxId", "EndToEndId"):
            value = _text(only, "Refs", tag)
            if value and value.upper() != "NOTPROVIDED":
                return value
    return None


def _party_name(parties: Element | None, role: str) -> str | None:
    """A party's name in version 2 (`Dbtr/Nm`) or version 8+ (`Dbtr/Pty/Nm`) layout."""
    return _text(parties, role, "Nm") or _text(parties, role, "Pty", "Nm") or _text(parties, f"Ultmt{role}", "Nm")


def _counterparty(detail: Element, amount: Decimal) -> str | None:
    """The other side: the debtor of money received, the creditor of money paid; the one named party when
    the bank names only one."""
    parties = _child(detail, "RltdPties")
    if parties is None:
        return None
    debtor, creditor = _party_name(parties, "Dbtr"), _party_name(parties, "Cdtr")
    wanted, other = (debtor, creditor) if amount > 0 else (creditor, debtor)
    return wanted or other
