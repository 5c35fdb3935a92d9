"""`florin dev | serve | worker [--check] | migrate | demo | import FILE`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator

from app.config import Settings, get_settings
from app.logging import configure_logging


@contextlib.contextmanager
def resolved(settings: Settings) -> Iterator[Settings]:
    """Settings with both URLs set, starting embedded Postgres/Redis for the missing ones (stopped on exit)."""
    from app.embedded import EmbeddedPostgres, EmbeddedRedis

    with contextlib.ExitStack() as stack:
        updates: dict[str, str] = {}
        if not settings.database_url:
            pg = stack.enter_context(EmbeddedPostgres(settings.data_dir / "pg"))
            updates["database_url"] = pg.start()
        if not settings.redis_url:
            redis = stack.enter_context(EmbeddedRedis(settings.data_dir / "redis"))
            updates["redis_url"] = redis.start()
        yield settings.model_copy(update=updates) if updates else settings


def migrate(settings: Settings) -> None:
    from app.migrate import upgrade

    assert settings.database_url
    upgrade(settings.database_url)


def demo(settings: Settings) -> None:
    from app.demo import load_demo

    asyncio.run(load_demo(settings))


def serve(settings: Settings) -> None:
    import uvicorn

    from app.main import create_app

    app = create_app(settings)
    tune_gc()
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None,
                timeout_graceful_shutdown=10, ws="websockets-sansio")


def tune_gc() -> None:
    """Keep the cyclic GC off the hot path of a server process (measured in bench/: the API spends about a
    fifth less CPU per request under concurrent load).

    Everything imported so far (schema, mappers, modules) lives as long as the process: `gc.freeze()` moves
    it out of the collector's sight, so full collections stop walking it; a higher first threshold makes
    young collections rarer while many requests hold objects across awaits.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def worker(settings: Settings, *, check: bool = False) -> None:
    from worker.main import build_worker, check_health

    if check:
        healthy = asyncio.run(check_health(settings))
        print("florin worker: healthy" if healthy else "florin worker: no recent health record", flush=True)
        raise SystemExit(0 if healthy else 1)
    build_worker(settings).run()


def import_statement(settings: Settings, args: argparse.Namespace) -> None:
    """`florin import FILE`: parse, store and apply a statement in this process, with a progress bar."""
    from pathlib import Path

    from app.sync.command import ImportRequest, import_file

    account_id = None
    if args.account:
        from app.graphql.node import from_global_id

        decoded = from_global_id(args.account)
        try:
            account_id = decoded[1] if decoded and decoded[0] == "Account" else uuid.UUID(args.account)
        except ValueError:
            raise SystemExit(f"florin import: --account {args.account!r} is neither an Account id nor a uuid") from None
    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"florin import: no file {path}")
    request = ImportRequest(path=path, email=args.email or settings.demo_email, account_id=account_id,
                            format=args.format, date_order=args.date_order, currency=args.currency,
                            create_missing_accounts=args.create_missing_accounts)
    raise SystemExit(asyncio.run(import_file(settings, request)))


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local: never via http_proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API exited with code {process.returncode} during start-up")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the API did not answer {url} within {timeout:.0f}s")


def dev(settings: Settings) -> None:
    """Everything on one machine: embedded servers, migrations, demo data, API and worker."""
    with resolved(settings) as ready:
        print("florin: migrating the database", flush=True)
        migrate(ready)
        print("florin: loading demo data", flush=True)
        demo(ready)
        env = {**os.environ, "FLORIN_DATABASE_URL": ready.database_url or "",
               "FLORIN_REDIS_URL": ready.redis_url or ""}
        command = [sys.executable, "-m", "app.cli"]
        children = [subprocess.Popen([*command, "serve"], env=env),
                    subprocess.Popen([*command, "worker"], env=env)]
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            base = f"http://{ready.host}:{ready.port}"
            _wait_healthy(f"{base}/healthz", children[0])
            print(f"\nFlorin is running.\n  GraphiQL:   {base}/graphql\n"
                  f"  Demo login: {ready.demo_email} / {ready.demo_password.get_secret_value()}\n"
                  "  Press Ctrl-C to stop.\n", flush=True)
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            print("florin: stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="florin", description="Florin: a GraphQL backend for personal finance")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="start everything locally (embedded Postgres and Redis by default)")
    sub.add_parser("serve", help="run the API")
    worker_parser = sub.add_parser("worker", help="run the arq worker")
    worker_parser.add_argument("--check", action="store_true",
                               help="exit 0 when a worker of this queue recorded its health lately, else 1")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("demo", help="create the demo user and data")
    importer = sub.add_parser("import", help="import a statement file (OFX, QFX, QIF, CAMT.053, CSV)")
    importer.add_argument("file", help="the statement file")
    importer.add_argument("--account", help="the Account (global id or uuid) of a one-account file")
    importer.add_argument("--email", help="whose ledger (default: the demo user)")
    importer.add_argument("--format", choices=["AUTO", "OFX", "QFX", "QIF", "CAMT053", "CSV"], default="AUTO")
    importer.add_argument("--date-order", choices=["DMY", "MDY", "YMD"], help="numeric dates of a QIF file")
    importer.add_argument("--currency", help="currency of rows whose file names none")
    importer.add_argument("--create-missing-accounts", action="store_true",
                          help="create an account for each account of the file that matches none")
    args = parser.parse_args(argv)

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if args.command == "dev":
        dev(settings)
        return
    with resolved(settings) as ready:
        if args.command == "serve":
            if ready is not settings:
                migrate(ready)
            serve(ready)
        elif args.command == "worker":
            worker(ready, check=args.check)
        elif args.command == "migrate":
            migrate(ready)
        elif args.command == "demo":
            migrate(ready)
            demo(ready)
        elif args.command == "import":
            if ready is not settings:
                migrate(ready)
            import_statement(ready, args)


if __name__ == "__main__":
    main()
