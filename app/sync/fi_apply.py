"""What a Fi Money answer changes in the ledger, inside the sync's one unit of work.

Accounts are matched by the provider's account id (`accounts.external_id`, with `connection_id`) and created
on the first sync; a later sync never renames or re-kinds them (the user may have). The provider's balance
of every account is recorded as a valuation on its balance date (the value of mutual funds, equities and
EPF; the current balance of deposits; the amount owed, negative, of cards and loans), so Florin shows
exactly the provider's balance, plus any transaction booked after that date. A new account also gets an
opening balance that makes its history agree: the provider's balance less the imported transactions up
to the balance date, on the day of the first of them, so the day-by-day balance ends at the valuation
without a jump (for a bank it follows the bank's running balance).

Bank transactions go to the deposit account of their bank (by the bank's name, display name or short
name). When two deposit accounts at one bank look alike, the rule is, in order: the one whose current
balance equals the bank list's last running balance (and is not taken by another list of this answer);
else the account chosen for that bank by an earlier sync (kept in `connections.cursor["banks"]`, so ids
and dedupe stay stable); else the savings account before the current one, then the lowest provider
account id. A bank with no deposit account in `fetch_net_worth` gets an account of its own
(`bank:<name>`), valued at the list's last running balance when given.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

from app import effects
from app.accounts import service as accounts_service
from app.accounts.models import AccountKind
from app.db import UnitOfWork, utcnow
from app.networth.service import record_valuation
from app.sync import connection_repository as repo
from app.sync.crypto import Cipher
from app.sync.models import Connection, ConnectionStatus, SyncRun
from app.sync.pipeline import RunCounts, apply_rows
from app.sync.providers import fi_mcp
from app.sync.providers.fi_bank import BankStatement, bank_statements
from app.sync.providers.fi_mapping import PROVIDER_ZONE, FiAccount, accounts_from_net_worth
from app.sync.providers.statement import ParsedTransaction

VALUATION_NOTE = "Balance reported by Fi Money"
MAX_NOTES = 20


class ConnectionGone(Exception):
    """The connection was deleted while it synced."""


def match_banks(statements: Sequence[BankStatement], accounts: Sequence[FiAccount], remembered: dict[str, str],
                today: dt.date) -> list[tuple[BankStatement, FiAccount]]:
    """Each bank list with the account its rows go to (see the module text); `remembered` is updated."""
    deposits = [account for account in accounts if account.is_deposit]
    claimed: set[str] = set()
    pairs: list[tuple[BankStatement, FiAccount]] = []
    for statement in statements:
        candidates = [account for account in deposits if statement.key in account.bank_names]
        choice: FiAccount | None = candidates[0] if len(candidates) == 1 else None
        if len(candidates) > 1:
            by_balance = [a for a in candidates if statement.last_balance is not None
                          and a.balance == statement.last_balance and a.external_id not in claimed]
            stored = [a for a in candidates if a.external_id == remembered.get(statement.key)]
            ordered = sorted(candidates, key=lambda a: (a.kind is not AccountKind.SAVINGS, a.external_id))
            choice = (by_balance if len(by_balance) == 1 else stored or ordered)[0]
        if choice is None:
            choice = FiAccount(
                external_id=f"bank:{statement.key}"[:200], name=f"{statement.bank} (bank transactions)"[:120],
                kind=AccountKind.SAVINGS, currency="INR", balance=statement.last_balance or Decimal(0),
                balance_on=statement.last_day or today, institution=statement.bank[:120],
                valued=statement.last_balance is not None)
        claimed.add(choice.external_id)
        remembered[statement.key] = choice.external_id
        pairs.append((statement, choice))
    return pairs


def _in_window(row: ParsedTransaction, run: SyncRun) -> bool:
    return ((run.window_start is None or row.booked_on >= run.window_start)
            and (run.window_end is None or row.booked_on <= run.window_end))


def _opening(account: FiAccount, rows: Sequence[ParsedTransaction]) -> tuple[Decimal, dt.date]:
    """The opening balance and day that make the imported rows end at the provider's balance."""
    if not account.valued:
        return Decimal(0), min((row.booked_on for row in rows), default=account.balance_on)
    before = sum((row.amount for row in rows if row.booked_on <= account.balance_on), Decimal(0))
    first = min((row.booked_on for row in rows), default=account.balance_on)
    return account.balance - before, min(first, account.balance_on)


async def apply_reply(uow: UnitOfWork, connection: Connection, run: SyncRun, reply: fi_mcp.FiReply, cipher: Cipher,
                      *, today: dt.date | None = None) -> RunCounts:
    """Accounts, transactions (within the run's window) and valuations from a Fi answer; the connection is
    ACTIVE afterwards, with the session stored again. ProviderDataError when the answer is malformed."""
    session = uow.session
    user_id = connection.user_id
    today = today or dt.datetime.now(PROVIDER_ZONE).date()
    await effects.lock_ledger(session, user_id)
    current = await repo.connection_of_worker(session, connection.id, lock=True)
    if current is None:
        raise ConnectionGone(str(connection.id))
    accounts, notes = accounts_from_net_worth(reply.results.get(fi_mcp.FETCH_NET_WORTH) or {}, today)
    statements, more = bank_statements(reply.results.get(fi_mcp.FETCH_BANK_TRANSACTIONS) or {}, connection.id)
    notes.extend(more)
    remembered = dict((current.cursor or {}).get("banks") or {})
    pairs = match_banks(statements, accounts, remembered, today)

    rows: dict[str, list[ParsedTransaction]] = {}
    wanted: dict[str, FiAccount] = {account.external_id: account for account in accounts}
    for statement, account in pairs:
        wanted.setdefault(account.external_id, account)
        rows.setdefault(account.external_id, []).extend(r for r in statement.transactions if _in_window(r, run))

    linked = {row.external_id: row for row in await repo.linked_accounts(session, user_id, connection.id)}
    ids: dict[str, uuid.UUID] = {}
    for external_id, account in wanted.items():
        existing = linked.get(external_id)
        if existing is None:
            opening, opening_day = _opening(account, rows.get(external_id, []))
            created = await accounts_service.create_account(
                session, user_id=user_id, name=account.name, kind=account.kind, currency=account.currency,
                institution=account.institution, mask=account.mask, opening_balance=opening,
                opening_date=opening_day)
            await repo.link_account(session, user_id, created.id, connection.id, external_id)
            ids[external_id] = created.id
        elif existing.currency.strip() != account.currency:
            notes.append(f"{account.name}: the provider reports {account.currency}, the account is in "
                         f"{existing.currency.strip()}; left unchanged")
        else:
            ids[external_id] = existing.id

    batches = [(ids[external_id], batch) for external_id, batch in rows.items() if external_id in ids and batch]
    counts = await apply_rows(uow, user_id, run_id=run.id, batches=batches)
    for external_id, account in wanted.items():
        if account.valued and external_id in ids:
            await record_valuation(session, user_id=user_id, time_zone=str(PROVIDER_ZONE), account_id=ids[external_id],
                                   value=account.balance, day=account.balance_on, note=VALUATION_NOTE)
    for note in notes[:MAX_NOTES]:
        counts.messages.append(note)
    await repo.update_connection(session, connection.id, {
        "status": ConnectionStatus.ACTIVE.value, "login_url": None, "last_error": None, "last_synced_at": utcnow(),
        "credentials": cipher.seal_json(reply.session.to_json(), connection.id),
        "cursor": {**(current.cursor or {}), "banks": remembered}})
    return counts
