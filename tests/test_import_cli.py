"""`florin import FILE` in a real process: the same checks, storage and pipeline as `statementImport`, applied
in-process with a progress bar on stderr and a summary on stdout; a malformed file exits 1 and stores nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from app.resources import Resources
from tests import ledger
from tests.importing import count, fixture, ledger_rows
from tests.servers import ROOT, TEST_SETTINGS, clean_env
from tests.support import GraphQLClient

pytestmark = pytest.mark.slow


async def florin_import(resources: Resources, *args: str) -> subprocess.CompletedProcess[str]:
    settings = resources.settings
    env = clean_env(**TEST_SETTINGS, database_url=settings.database_url, redis_url=settings.redis_url,
                    arq_queue_name=settings.arq_queue_name)
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "app.cli", "import", *args], env=env,
                                   cwd=ROOT, capture_output=True, text=True, timeout=120)


async def test_florin_import_applies_a_file_with_a_progress_bar(gql: GraphQLClient, resources: Resources,
                                                                tmp_path: Path) -> None:
    # given
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Schwab", currency="USD")
    path = tmp_path / "schwab-checking.csv"
    path.write_bytes(fixture("csv/csv2ofx_schwab-checking.csv"))
    # when
    first = await florin_import(resources, str(path), "--email", user["email"], "--account", giro["id"])
    second = await florin_import(resources, str(path), "--email", user["email"].upper(), "--account", giro["id"])
    # then
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["schwab-checking: 4 transactions -> Schwab (ACCOUNT_ID)",
                                         "SUCCEEDED: 4 added, 0 updated, 0 duplicates skipped, 0 errors"]
    assert "applying" in first.stderr and "4/4" in first.stderr
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1] == "SUCCEEDED: 0 added, 0 updated, 4 duplicates skipped, 0 errors"
    assert len(await ledger_rows(resources, user["user_id"])) == 4
    assert await ledger.balance(gql, user["token"], giro["id"]) == "-215.27"


async def test_florin_import_refuses_a_malformed_file(gql: GraphQLClient, resources: Resources,
                                                      tmp_path: Path) -> None:
    user = await gql.register()
    path = tmp_path / "decimal_error.ofx"
    path.write_bytes(fixture("ofx/ofxparse_fail_nice_decimal_error.ofx"))
    done = await florin_import(resources, str(path), "--email", user["email"], "--create-missing-accounts")
    assert done.returncode == 1
    assert "MALFORMED_FILE (file): Line 36: DTPOSTED '201120000000' is not a valid OFX date." in done.stderr
    for table in ("imports", "sync_runs", "transactions", "accounts"):
        assert await count(resources, table) == 0, table
