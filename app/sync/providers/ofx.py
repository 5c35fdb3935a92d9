"""OFX and QFX: 1.x SGML (leaf tags without closing tags) and 2.x XML, read by one tolerant tokenizer.

The body is split into tags and text by hand rather than by an XML parser: SGML files are not XML, XML
files are often not well-formed, and nothing in OFX needs a DTD or entities, so a `<!DOCTYPE` or
`<!ENTITY` is refused outright. A tag followed by text is a leaf (its closing tag is optional); a tag
followed by another tag opens an aggregate that must be closed. Errors name the line of the file.

Statements read: bank (STMTRS), credit card (CCSTMTRS) and the cash side of investment accounts
(INVSTMTRS: INVBANKTRAN, and the TOTAL of BUY*, SELL* and INCOME), any number of each per file.
"""

from __future__ import annotations

import bisect
import datetime as dt
import html
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from app.errors import DomainError
from app.money import parse_currency
from app.sync.providers.statement import (
    KindHint,
    ParsedAccount,
    ParsedInvestment,
    ParsedStatement,
    ParsedTransaction,
    StatementError,
    StatementFormat,
    check_amount,
    finish,
    line_ref,
)

_TOKEN = re.compile(
    r"(<!\[CDATA\[(.*?)\]\]>|<!--.*?-->|<\?.*?\?>|<(/?)([A-Za-z][A-Za-z0-9_.]*)\s*>|([^<]+)|<[^>\n]{0,40})",
    re.DOTALL,
)
_CHARSETS = {"1252": "cp1252", "ISO-8859-1": "latin-1", "8859-1": "latin-1", "UTF-8": "utf-8", "UTF8": "utf-8"}
_DATE = re.compile(
    r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2})(?:\.\d{1,6})?)?)?"
    r"\s*(?:\[\s*([+-]?\d{1,2}(?:[.:]\d{1,2})?)\s*(?::[^\]]*)?\]|([+-]\d{2}:?\d{2}))?"
)
_ACCOUNT_KINDS = {
    "CHECKING": KindHint.CHECKING,
    "SAVINGS": KindHint.SAVINGS,
    "MONEYMRKT": KindHint.SAVINGS,
    "CD": KindHint.SAVINGS,
    "CREDITLINE": KindHint.OTHER_LIABILITY,
}
_STATEMENTS = frozenset({"STMTRS", "CCSTMTRS", "INVSTMTRS"})
_MAX_DEPTH = 40
"""OFX nests about ten deep; anything far deeper is not a statement (and must not exhaust the stack)."""
_TRADES = ("BUYDEBT", "BUYMF", "BUYOPT", "BUYOTHER", "BUYSTOCK", "SELLDEBT", "SELLMF", "SELLOPT", "SELLOTHER",
           "SELLSTOCK", "INCOME")


@dataclass(slots=True)
class Node:
    """An element of the OFX tree: an aggregate with children or a leaf with text."""

    name: str
    line: int
    text: str | None = None
    children: list[Node] = field(default_factory=list)

    def find(self, *path: str) -> Node | None:
        node: Node | None = self
        for name in path:
            node = next((c for c in node.children if c.name == name), None) if node else None
        return node

    def value(self, *path: str) -> str | None:
        node = self.find(*path)
        return node.text.strip() if node is not None and node.text is not None and node.text.strip() else None

    def all(self, name: str) -> list[Node]:
        return [c for c in self.children if c.name == name]

    def outermost(self, names: frozenset[str]) -> list[Node]:
        """The descendants named one of `names`, in file order, without looking inside them."""
        found: list[Node] = []
        todo = list(reversed(self.children))
        while todo:
            node = todo.pop()
            if node.name in names:
                found.append(node)
            else:
                todo.extend(reversed(node.children))
        return found


def decode(data: bytes) -> str:
    """The text of an OFX file, in the charset its header names (UTF-8, then cp1252, when it names none)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    head = data[:1024].decode("ascii", errors="replace")
    wanted = None
    charset = re.search(r"^\s*CHARSET:\s*([\w-]+)", head, re.MULTILINE)
    encoding = re.search(r"^\s*ENCODING:\s*([\w-]+)", head, re.MULTILINE)
    xml = re.search(r"<\?xml[^>]*encoding=[\"']([\w-]+)[\"']", head)
    if encoding and encoding.group(1).upper() in ("UTF-8", "UTF8"):
        wanted = "utf-8"
    elif charset:
        wanted = _CHARSETS.get(charset.group(1).upper())
    elif xml:
        wanted = _CHARSETS.get(xml.group(1).upper(), "utf-8")
    for codec in (wanted, "utf-8", "cp1252"):
        if codec:
            try:
                return data.decode(codec)
            except (UnicodeDecodeError, LookupError):
                continue
    return data.decode("latin-1")


def parse_tree(text: str) -> Node:
    """The `<OFX>` element of `text` as a tree; StatementError naming the line when the markup is broken."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_at(offset: int) -> int:
        return bisect.bisect_right(starts, offset)

    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        offset = max(upper.find("<!DOCTYPE"), upper.find("<!ENTITY"))
        raise StatementError("OFX files never declare a DTD or entities; refused.", location=line_ref(line_at(offset)))
    begin = upper.find("<OFX>")
    if begin < 0:
        raise StatementError("This is not an OFX file: there is no <OFX> element.")
    events: list[tuple[str, str, int]] = []  # ("open" | "close" | "text" | "cdata", name or text, line)
    line = line_at(begin)
    for whole, cdata, close, tag, plain in _TOKEN.findall(text, begin):
        if tag:
            events.append(("close" if close else "open", tag.upper(), line))
            continue
        if plain or whole.startswith("<![CDATA["):
            marker, piece = ("text", html.unescape(plain)) if plain else ("cdata", cdata)
            if events and events[-1][0] in ("text", "cdata"):
                kind, previous, at = events[-1]
                events[-1] = ("cdata" if "cdata" in (kind, marker) else "text", previous + piece, at)
            else:
                events.append((marker, piece, line))
        elif not whole.startswith(("<!--", "<?")):
            raise StatementError(f"Unreadable markup {whole!r}.", location=line_ref(line))
        line += whole.count("\n")
    return _build(events, line_at(len(text)))


def _build(events: list[tuple[str, str, int]], last_line: int) -> Node:
    root = Node("#root", 0)
    stack = [root]
    i = 0
    while i < len(events):
        kind, name, line = events[i]
        if kind == "open":
            after = events[i + 1] if i + 1 < len(events) else None
            if after is not None and after[0] in ("text", "cdata") and (after[1].strip() or after[0] == "cdata"):
                stack[-1].children.append(Node(name, line, after[1].strip()))
                i += 2
                if i < len(events) and events[i][0] == "close" and events[i][1] == name:
                    i += 1
                continue
            j = i + 1 if after is None or after[0] == "open" or after[0] == "close" else i + 2
            if j < len(events) and events[j][0] == "close" and events[j][1] == name:
                stack[-1].children.append(Node(name, line, ""))
                i = j + 1
                continue
            if len(stack) > _MAX_DEPTH:
                raise StatementError(f"<{name}> is nested more than {_MAX_DEPTH} deep.", location=line_ref(line))
            node = Node(name, line)
            stack[-1].children.append(node)
            stack.append(node)
        elif kind == "close":
            depth = next((d for d in range(len(stack) - 1, 0, -1) if stack[d].name == name), None)
            if depth is None:
                raise StatementError(f"</{name}> closes no open element.", location=line_ref(line))
            for d in range(len(stack) - 1, depth, -1):
                # never closed: an SGML leaf written without a value (<MEMO> then the next tag); what was
                # read as its children belongs to its parent
                unclosed = stack[d]
                stack[d - 1].children.extend(unclosed.children)
                unclosed.children, unclosed.text = [], ""
            del stack[depth:]
        elif name.strip():
            raise StatementError(f"Text {name.strip()[:40]!r} outside any element.", location=line_ref(line))
        i += 1
    if len(stack) > 1:
        raise StatementError(f"The file ends before </{stack[1].name}>: it may be cut short.",
                             location=line_ref(last_line))
    ofx = root.find("OFX")
    if ofx is None:
        raise StatementError("There is no <OFX> element.")
    return ofx


def parse_ofx_date(text: str | None, line: int, tag: str) -> dt.date:
    """The day of an OFX date-time as written (YYYYMMDD[HHMMSS[.XXX]][[offset:TZ]]); the offset is checked
    but not applied, so the day is the one on the bank's statement."""
    value = (text or "").strip()
    match = _DATE.fullmatch(value)
    try:
        if not match:
            raise ValueError
        year, month, day, hour, minute, second, offset, plain_offset = match.groups()
        day_value = dt.date(int(year), int(month), int(day))
        if hour is not None:
            dt.time(int(hour), int(minute), int(second or 0))
        raw = offset or plain_offset
        if raw is not None:
            hours = raw.lstrip("+-").replace(":", ".").split(".")[0]
            if int(hours) > 14:
                raise ValueError
        return day_value
    except ValueError:
        raise StatementError(f"{tag} {value[:40]!r} is not a valid OFX date.", location=line_ref(line)) from None


def parse_ofx_amount(text: str | None, line: int, tag: str, currency: str | None) -> Decimal:
    """An OFX amount checked against `currency` (see `parse_ofx_number`)."""
    return check_amount(parse_ofx_number(text, line, tag), currency, line_ref(line), tag)


def parse_ofx_number(text: str | None, line: int, tag: str) -> Decimal:
    """An OFX number: "." or "," as the decimal mark (the spec allows both), an optional sign."""
    value = (text or "").strip().replace(" ", "")
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    elif "," in value and value.rfind(",") > value.rfind("."):
        value = value.replace(".", "").replace(",", ".")
    elif "," in value:
        value = value.replace(",", "")
    if not re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", value):
        shown = (text or "").strip()[:40]
        raise StatementError(f"{tag} {shown!r} is not a number.", location=line_ref(line))
    try:
        return Decimal(value)
    except InvalidOperation:
        raise StatementError(f"{tag} {value!r} is not a number.", location=line_ref(line)) from None


def _currency(text: str | None, line: int) -> str | None:
    if text is None:
        return None
    try:
        return parse_currency(text)
    except DomainError as error:
        raise StatementError(error.message, location=line_ref(line)) from None


def parse(data: bytes | str, *, qfx: bool | None = None) -> ParsedStatement:
    """Read an OFX/QFX file. `qfx` forces the reported format; by default QFX when INTU.BID is present."""
    ofx = parse_tree(decode(data) if isinstance(data, bytes) else data)
    institution = ofx.value("SIGNONMSGSRSV1", "SONRS", "FI", "ORG")
    accounts: list[ParsedAccount] = []
    warnings: list[str] = []
    statements = ofx.outermost(_STATEMENTS)
    if not statements:
        raise StatementError("The OFX file holds no account statement.")
    for rs in statements:
        accounts.append(_statement(rs, institution, warnings))
    is_qfx = qfx if qfx is not None else ofx.find("SIGNONMSGSRSV1", "SONRS", "INTU.BID") is not None
    result = ParsedStatement(StatementFormat.QFX if is_qfx else StatementFormat.OFX, accounts, warnings)
    return finish(result)


def _statement(rs: Node, institution: str | None, warnings: list[str]) -> ParsedAccount:
    curdef = rs.find("CURDEF")
    currency = _currency(curdef.text if curdef else None, curdef.line if curdef else rs.line)
    account = ParsedAccount(currency=currency, institution=institution, ref=line_ref(rs.line))
    if rs.name == "STMTRS":
        source = rs.find("BANKACCTFROM")
        acct_type = (source.value("ACCTTYPE") or "").upper() if source else ""
        account.kind_hint = _ACCOUNT_KINDS.get(acct_type, KindHint.CHECKING)
        account.bank_id = source.value("BANKID") if source else None
    elif rs.name == "CCSTMTRS":
        source = rs.find("CCACCTFROM")
        account.kind_hint = KindHint.CREDIT_CARD
    else:
        source = rs.find("INVACCTFROM")
        account.kind_hint = KindHint.INVESTMENT
        account.bank_id = source.value("BROKERID") if source else None
    if source is None or not source.value("ACCTID"):
        raise StatementError("The statement does not name its account (ACCTID).", location=line_ref(rs.line))
    account.number = source.value("ACCTID")
    tranlist = rs.find("INVTRANLIST" if rs.name == "INVSTMTRS" else "BANKTRANLIST")
    if tranlist is not None:
        if tranlist.value("DTSTART"):
            account.period_start = parse_ofx_date(tranlist.value("DTSTART"), tranlist.line, "DTSTART")
        if tranlist.value("DTEND"):
            account.period_end = parse_ofx_date(tranlist.value("DTEND"), tranlist.line, "DTEND")
        if rs.name == "INVSTMTRS":
            _investment_list(tranlist, account, warnings)
        else:
            account.transactions = [_transaction(t, currency) for t in tranlist.all("STMTTRN")]
    if rs.name == "INVSTMTRS":
        cash = rs.find("INVBAL", "AVAILCASH")
        if cash is not None and cash.text:
            account.balance = parse_ofx_amount(cash.text, cash.line, "AVAILCASH", currency)
    else:
        ledger = rs.find("LEDGERBAL")
        if ledger is not None and ledger.value("BALAMT") is not None:
            amount_node = ledger.find("BALAMT")
            assert amount_node is not None
            account.balance = parse_ofx_amount(amount_node.text, amount_node.line, "BALAMT", currency)
            if ledger.value("DTASOF"):
                account.balance_on = parse_ofx_date(ledger.value("DTASOF"), ledger.line, "DTASOF")
    return account


def _transaction(node: Node, default_currency: str | None) -> ParsedTransaction:
    currency = default_currency
    other = node.find("CURRENCY")
    if other is not None and other.value("CURSYM"):
        currency = _currency(other.value("CURSYM"), other.line)
    posted = node.find("DTPOSTED")
    if posted is None:
        raise StatementError("The transaction has no DTPOSTED.", location=line_ref(node.line))
    booked_on = parse_ofx_date(posted.text, posted.line, "DTPOSTED")
    amount_node = node.find("TRNAMT")
    if amount_node is None:
        raise StatementError("The transaction has no TRNAMT.", location=line_ref(node.line))
    amount = parse_ofx_amount(amount_node.text, amount_node.line, "TRNAMT", currency)
    name = node.value("NAME") or node.value("PAYEE", "NAME")
    memo = node.value("MEMO")
    description = name or memo or ""
    if name and memo and len(memo) > len(name) and memo.startswith(name):
        description = memo  # banks cut NAME at 32 characters and repeat it in full in MEMO
    check = node.value("CHECKNUM")
    return ParsedTransaction(
        booked_on=booked_on,
        amount=amount,
        currency=currency,
        description=description,
        payee=name,
        memo=memo,
        provider_id=node.value("FITID"),
        check_number=check if check and check.strip("0") else None,
        ref=line_ref(node.line),
    )


def _investment_list(tranlist: Node, account: ParsedAccount, warnings: list[str]) -> None:
    skipped = 0
    for child in tranlist.children:
        if child.name == "INVBANKTRAN":
            inner = child.find("STMTTRN")
            if inner is None:
                raise StatementError("INVBANKTRAN without STMTTRN.", location=line_ref(child.line))
            account.transactions.append(_transaction(inner, account.currency))
        elif child.name in _TRADES:
            account.transactions.append(_trade(child, account.currency))
        elif child.name not in ("DTSTART", "DTEND"):
            skipped += 1
    if skipped:
        warnings.append(f"{skipped} investment activities without a cash amount (transfers, splits, "
                        "reinvestments, ...) were not imported.")


def _trade(node: Node, currency: str | None) -> ParsedTransaction:
    detail = node.find("INVBUY") or node.find("INVSELL") or node
    inv = detail.find("INVTRAN")
    if inv is None:
        raise StatementError(f"{node.name} without INVTRAN.", location=line_ref(node.line))
    day = inv.find("DTSETTLE") or inv.find("DTTRADE")
    if day is None:
        raise StatementError(f"{node.name} has no DTTRADE.", location=line_ref(node.line))
    total = detail.find("TOTAL")
    if total is None:
        raise StatementError(f"{node.name} has no TOTAL.", location=line_ref(node.line))
    amount = parse_ofx_amount(total.text, total.line, "TOTAL", currency)

    def number(tag: str) -> Decimal | None:
        found = detail.find(tag)
        return parse_ofx_number(found.text, found.line, tag) if found and found.value() else None

    security = detail.value("SECID", "UNIQUEID")
    memo = inv.value("MEMO")
    return ParsedTransaction(
        booked_on=parse_ofx_date(day.text, day.line, day.name),
        amount=amount,
        currency=currency,
        description=memo or f"{node.name} {security or ''}".strip(),
        memo=memo,
        provider_id=inv.value("FITID"),
        investment=ParsedInvestment(
            action=node.name,
            security=security,
            quantity=number("UNITS"),
            price=number("UNITPRICE"),
            commission=number("COMMISSION"),
            total=amount,
        ),
        ref=line_ref(node.line),
    )
