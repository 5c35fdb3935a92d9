"""GraphQL types of statement imports and CSV mapping presets."""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from enum import Enum
from typing import Any, NewType

import strawberry

from app.graphql.accounts.types import Account
from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.graphql.sync.types import SyncRun
from app.sync.matching import MatchedBy as DomainMatchedBy
from app.sync.models import CsvMappingPreset as PresetRow
from app.sync.models import StatementImport as ImportRow
from app.sync.providers.csv_format import CsvMapping as DomainCsvMapping
from app.sync.providers.csv_format import SignConvention
from app.sync.providers.values import DateOrder as DomainDateOrder

with warnings.catch_warnings():  # the non-deprecated form is a `scalar_map` entry in the schema's config
    warnings.simplefilter("ignore", DeprecationWarning)
    Upload = strawberry.scalar(
        NewType("Upload", object), name="Upload", parse_value=lambda value: value, serialize=lambda value: None,
        description="A file sent with the request, per the GraphQL multipart request spec "
                    "(https://github.com/jaydenseric/graphql-multipart-request-spec). Multipart requests must carry a "
                    "`GraphQL-Require-Preflight` header.")


@strawberry.enum(description="The format of a statement file.")
class StatementFormat(Enum):
    AUTO = strawberry.enum_value("AUTO", description="Detect it from the content (and the file name).")
    OFX = strawberry.enum_value("OFX", description="Open Financial Exchange, 1.x SGML or 2.x XML.")
    QFX = strawberry.enum_value("QFX", description="Quicken's OFX.")
    QIF = strawberry.enum_value("QIF", description="Quicken Interchange Format.")
    CAMT053 = strawberry.enum_value("CAMT053", description="ISO 20022 camt.053 bank-to-customer statement (XML).")
    CSV = strawberry.enum_value("CSV", description="A bank's CSV export, read by a detected or given mapping.")


DateOrder = strawberry.enum(DomainDateOrder, name="DateOrder",
                            description="The order of day, month and year in numeric dates.")
CsvSignConvention = strawberry.enum(SignConvention, name="CsvSignConvention",
                                    description="NORMAL: positive is money in; INVERTED: positive is money out "
                                                "(many credit-card exports).")
ImportAccountMatch = strawberry.enum(
    DomainMatchedBy, name="ImportAccountMatch",
    description="How an account of a file was matched: ACCOUNT_ID (given), IBAN or NUMBER (equal to the "
                "account's external id), MASK (its last digits), NAME, or CREATED by the import.")

_COLUMN = "A column by its header text (case and accents ignored), or by its 0-based position written as digits."


def _column(value: str | None) -> str | int | None:
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else text


def _shown(value: Any) -> str | None:
    return None if value is None else str(value)


@strawberry.input(description="How to read a bank's CSV export. Map `amount`, or `debit` and `credit`.")
class CsvMappingInput:
    date: str = strawberry.field(description=f"The booking day. {_COLUMN}")
    amount: str | None = strawberry.field(default=None, description=f"A signed amount. {_COLUMN}")
    debit: str | None = strawberry.field(default=None, description=f"Money out, unsigned. {_COLUMN}")
    credit: str | None = strawberry.field(default=None, description=f"Money in, unsigned. {_COLUMN}")
    description: list[str] = strawberry.field(default_factory=list,
                                              description="Columns joined with spaces into the description.")
    payee: str | None = strawberry.field(default=None, description=f"The payee. {_COLUMN}")
    memo: str | None = strawberry.field(default=None, description=f"A memo. {_COLUMN}")
    currency: str | None = strawberry.field(default=None, description=f"Each row's currency code. {_COLUMN}")
    account: str | None = strawberry.field(default=None,
                                           description=f"The account (number, IBAN or name) of each row. {_COLUMN}")
    category: list[str] = strawberry.field(default_factory=list,
                                           description="Columns joined with ':' into a category name.")
    check_number: str | None = strawberry.field(default=None, description=f"The check number. {_COLUMN}")
    reference: str | None = strawberry.field(default=None, description=f"The bank's unique id of each row. {_COLUMN}")
    status: str | None = strawberry.field(default=None, description=f"Pending or posted. {_COLUMN}")
    direction: str | None = strawberry.field(default=None,
                                             description=f"A debit/credit mark next to an unsigned amount. {_COLUMN}")
    value_date: str | None = strawberry.field(default=None, description=f"The value day. {_COLUMN}")
    date_format: str | None = strawberry.field(default=None,
                                               description="DMY, MDY, YMD or a pattern such as %d.%m.%Y.")
    decimal_separator: str | None = strawberry.field(default=None, description="'.' or ','; detected when absent.")
    encoding: str | None = strawberry.field(default=None, description="e.g. utf-8 or latin-1; detected when absent.")
    delimiter: str | None = strawberry.field(default=None, description="One character; detected when absent.")
    skip_rows: int = strawberry.field(default=0, description="Rows before the header (or before the data).")
    has_header: bool = strawberry.field(default=True, description="Whether the first row names the columns.")
    sign: CsvSignConvention = strawberry.field(  # type: ignore[valid-type]
        default=SignConvention.NORMAL, description="How a single amount column is signed.")
    currency_code: str | None = strawberry.field(default=None,
                                                 description="The currency of every row when no column gives one.")

    def to_domain(self) -> DomainCsvMapping:
        """The mapping; DomainError on `csvMapping.<field>` when it cannot work."""
        data: dict[str, Any] = {
            "date": _column(self.date), "amount": _column(self.amount), "debit": _column(self.debit),
            "credit": _column(self.credit), "description": [_column(c) for c in self.description],
            "payee": _column(self.payee), "memo": _column(self.memo), "currency": _column(self.currency),
            "account": _column(self.account), "category": [_column(c) for c in self.category],
            "check_number": _column(self.check_number), "reference": _column(self.reference),
            "status": _column(self.status), "direction": _column(self.direction),
            "value_date": _column(self.value_date), "date_format": self.date_format,
            "decimal_separator": self.decimal_separator, "encoding": self.encoding, "delimiter": self.delimiter,
            "skip_rows": self.skip_rows, "has_header": self.has_header, "sign": SignConvention(self.sign).value,
            "currency_code": self.currency_code,
        }
        return DomainCsvMapping.from_dict(data)


@strawberry.type(description="How a CSV file is (or was) read; columns are header texts or 0-based positions.")
class CsvMapping:
    date: str = strawberry.field(description="The booking-day column.")
    amount: str | None = strawberry.field(description="The signed-amount column.")
    debit: str | None = strawberry.field(description="The money-out column.")
    credit: str | None = strawberry.field(description="The money-in column.")
    description: list[str] = strawberry.field(description="The columns of the description.")
    payee: str | None = strawberry.field(description="The payee column.")
    memo: str | None = strawberry.field(description="The memo column.")
    currency: str | None = strawberry.field(description="The currency column.")
    account: str | None = strawberry.field(description="The account column.")
    category: list[str] = strawberry.field(description="The columns of the category.")
    check_number: str | None = strawberry.field(description="The check-number column.")
    reference: str | None = strawberry.field(description="The unique-id column.")
    status: str | None = strawberry.field(description="The pending/posted column.")
    direction: str | None = strawberry.field(description="The debit/credit mark column.")
    value_date: str | None = strawberry.field(description="The value-day column.")
    date_format: str | None = strawberry.field(description="DMY, MDY, YMD or a strptime pattern.")
    decimal_separator: str | None = strawberry.field(description="'.' or ','.")
    encoding: str | None = strawberry.field(description="The text encoding.")
    delimiter: str | None = strawberry.field(description="The field delimiter.")
    skip_rows: int = strawberry.field(description="Rows before the header.")
    has_header: bool = strawberry.field(description="Whether the first row names the columns.")
    sign: CsvSignConvention = strawberry.field(description="How the amount is signed.")  # type: ignore[valid-type]
    currency_code: str | None = strawberry.field(description="The currency of every row.")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CsvMapping:
        return cls(
            date=str(data.get("date")), amount=_shown(data.get("amount")), debit=_shown(data.get("debit")),
            credit=_shown(data.get("credit")), description=[str(c) for c in data.get("description") or []],
            payee=_shown(data.get("payee")), memo=_shown(data.get("memo")), currency=_shown(data.get("currency")),
            account=_shown(data.get("account")), category=[str(c) for c in data.get("category") or []],
            check_number=_shown(data.get("check_number")), reference=_shown(data.get("reference")),
            status=_shown(data.get("status")), direction=_shown(data.get("direction")),
            value_date=_shown(data.get("value_date")), date_format=data.get("date_format"),
            decimal_separator=data.get("decimal_separator"), encoding=data.get("encoding"),
            delimiter=data.get("delimiter"), skip_rows=int(data.get("skip_rows") or 0),
            has_header=bool(data.get("has_header", True)), sign=SignConvention(data.get("sign") or "NORMAL"),
            currency_code=data.get("currency_code"))


@strawberry.type(description="An account named by a statement file, and the Florin account it was matched to.")
class ImportAccount:
    index: int = strawberry.field(description="Its position among the file's accounts, from 0.")
    number: str | None = strawberry.field(description="The account number (or IBAN) as the file gives it.")
    iban: str | None = strawberry.field(description="The IBAN, when the file gives one.")
    mask: str | None = strawberry.field(description="The last four letters or digits of the number.")
    name: str | None = strawberry.field(description="The name the file gives the account.")
    currency: str | None = strawberry.field(description="The currency the file gives, if any.")
    institution: str | None = strawberry.field(description="The bank, when the file says.")
    transaction_count: int = strawberry.field(description="Transactions of this account in the file.")
    first_day: dt.date | None = strawberry.field(description="The earliest booking day in the file.")
    last_day: dt.date | None = strawberry.field(description="The latest booking day in the file.")
    matched_by: ImportAccountMatch | None = strawberry.field(  # type: ignore[valid-type]
        description="How it was matched; null when it was not.")
    created: bool = strawberry.field(description="Whether the import created the Florin account.")
    reason: str | None = strawberry.field(description="Why it was not matched; null when it was.")
    account_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The Florin account its rows go to; null when unmatched (its rows are skipped).")
    async def account(self, info: Info) -> Account | None:
        if self.account_id is None:
            return None
        from app.graphql.accounts.queries import account_loader

        return await account_loader(info.context).load(self.account_id)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportAccount:
        day = lambda value: dt.date.fromisoformat(value) if value else None  # noqa: E731
        return cls(index=int(data.get("index") or 0), number=data.get("number"), iban=data.get("iban"),
                   mask=data.get("mask"), name=data.get("name"), currency=data.get("currency"),
                   institution=data.get("institution"), transaction_count=int(data.get("transactions") or 0),
                   first_day=day(data.get("firstDay")), last_day=day(data.get("lastDay")),
                   matched_by=DomainMatchedBy(data["matchedBy"]) if data.get("matchedBy") else None,
                   created=bool(data.get("created")), reason=data.get("reason"),
                   account_id=uuid.UUID(data["accountId"]) if data.get("accountId") else None)


@strawberry.type(description="An uploaded statement file, stored whole with its sha256, and applied by a run.")
class StatementImport(Node):
    name: str = strawberry.field(description="The file's name as uploaded.")
    format: StatementFormat = strawberry.field(description="The format it was read as (never AUTO).")
    sha256: str = strawberry.field(description="SHA-256 of the file's bytes, in hex.")
    size: int = strawberry.field(description="The file's size in bytes.")
    transaction_count: int = strawberry.field(description="Transactions found in the file, in all its accounts.")
    accounts: list[ImportAccount] = strawberry.field(
        description="The file's accounts matched to (or created as) Florin accounts; their rows are applied.")
    unmatched_accounts: list[ImportAccount] = strawberry.field(
        description="The file's accounts that matched no Florin account, with the reason; their rows are skipped. "
                    "Import again with `accountId` or `createMissingAccounts`.")
    warnings: list[str] = strawberry.field(description="What parsing decided that a person may want to check.")
    csv_mapping: CsvMapping | None = strawberry.field(
        description="For a CSV: the mapping used (detected or given), to check or save as a preset.")
    created_at: dt.datetime = strawberry.field(description="When the file was uploaded.")
    db_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The run applying the file (the latest, if it was run again).")
    async def run(self, info: Info) -> SyncRun | None:
        from app.graphql.sync.imports import import_run_loader

        return await import_run_loader(info.context).load(self.db_id)

    @classmethod
    def from_row(cls, row: ImportRow) -> StatementImport:
        preview = row.preview or {}
        accounts = [ImportAccount.from_dict(item) for item in preview.get("accounts") or []]
        mapping = preview.get("csvMapping")
        return cls(id=to_global_id("StatementImport", row.id), name=row.name, format=StatementFormat(row.format),
                   sha256=row.sha256.strip(), size=row.size, transaction_count=int(preview.get("transactions") or 0),
                   accounts=[a for a in accounts if a.account_id is not None],
                   unmatched_accounts=[a for a in accounts if a.account_id is None],
                   warnings=list(preview.get("warnings") or []),
                   csv_mapping=CsvMapping.from_dict(mapping) if mapping else None, created_at=row.created_at,
                   db_id=row.id)


@strawberry.input(description="Upload a statement file (OFX, QFX, QIF, CAMT.053 or CSV) and queue its import.")
class StatementImportInput:
    file: Upload = strawberry.field(description="The statement file (at most 10 MB unless configured otherwise).")  # type: ignore[valid-type]
    account_id: strawberry.ID | None = strawberry.field(
        default=None, description="The Account for a file of one account; leave it out for files that name their "
                                  "accounts (matched by IBAN, number, mask or name).")
    format: StatementFormat = strawberry.field(default=StatementFormat.AUTO, description="The format; AUTO detects it.")
    csv_mapping: CsvMappingInput | None = strawberry.field(
        default=None, description="How to read a CSV; detected when absent.")
    csv_preset_id: strawberry.ID | None = strawberry.field(
        default=None, description="A saved CsvMappingPreset to read a CSV with (instead of `csvMapping`).")
    date_order: DateOrder | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="The order of numeric dates in a QIF file; detected when absent.")
    currency: str | None = strawberry.field(
        default=None, description="The currency of rows whose file names none (QIF, CSV); by default the account's.")
    create_missing_accounts: bool = strawberry.field(
        default=False, description="Create a Florin account for each account of the file that matches none.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `statementImport`: the stored file and its queued run.")
class StatementImportPayload:
    import_: StatementImport | None = strawberry.field(
        name="import", description="The stored import; null when refused (then nothing was stored).")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="A saved CSV mapping for a bank's export.")
class CsvMappingPreset(Node):
    name: str = strawberry.field(description="The preset's name, unique among the caller's presets (case ignored).")
    mapping: CsvMapping = strawberry.field(description="The mapping.")
    created_at: dt.datetime = strawberry.field(description="When the preset was saved.")

    @classmethod
    def from_row(cls, row: PresetRow) -> CsvMappingPreset:
        return cls(id=to_global_id("CsvMappingPreset", row.id), name=row.name,
                   mapping=CsvMapping.from_dict(row.mapping), created_at=row.created_at)


@strawberry.input(description="Save a CSV mapping under a name.")
class CsvMappingPresetCreateInput:
    name: str = strawberry.field(description="A name unique among the caller's presets, e.g. the bank's.")
    mapping: CsvMappingInput = strawberry.field(description="The mapping to save.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Optional client-chosen global id.")


@strawberry.type(description="The result of `csvMappingPresetCreate`.")
class CsvMappingPresetCreatePayload:
    preset: CsvMappingPreset | None = strawberry.field(description="The saved preset; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
