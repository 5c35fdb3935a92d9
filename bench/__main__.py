"""`python -m bench` (`make bench`): generate data, run the scenarios against Florin, the asyncpg floor and
PostGraphile, and write bench/RESULTS.md. `python -m bench --help` lists the options."""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import logging
import secrets
import shlex
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import infra
from bench.data.generate import DataSpec
from bench.data.load import load
from bench.procs import start_florin
from bench.report import Run, facts, write_results
from bench.runner import CpuGroups, Stats
from bench.scenarios import DEFAULT, SCENARIOS, STEPS, build
from bench.scenarios.base import Scenario
from bench.scenarios.networth import TIER as HISTORY_TIER
from bench.targets import GraphQLHttp, measure_floor, measure_http
from bench.users import BenchUser

log = logging.getLogger("bench")
HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = p.add_argument_group("data (deterministic; loaded through COPY into a fresh database)")
    d.add_argument("--users", type=int, default=120, help="users of the 10k tier (the load is spread over them)")
    d.add_argument("--transactions", type=int, default=10_000, help="transactions per user of the main tier")
    d.add_argument("--big-users", type=int, default=0,
                   help="users of the 1M tier (0: skip it; 1 takes about a minute to load)")
    d.add_argument("--big-transactions", type=int, default=1_000_000, help="transactions per big user")
    d.add_argument("--history-users", type=int, default=DataSpec.history_users,
                   help="users of the ten-year tier (20 accounts, 30k transactions each) for networth_history")
    d.add_argument("--seed", type=int, default=DataSpec.seed)
    r = p.add_argument_group("load")
    r.add_argument("--scenarios", default=",".join(DEFAULT), help=f"comma list of {', '.join(SCENARIOS)}")
    r.add_argument("--concurrency", type=int, default=16, help="requests in flight (closed loop)")
    r.add_argument("--duration", type=float, default=8, help="measured seconds per run and round")
    r.add_argument("--rounds", type=int, default=2,
                   help="rounds per scenario, each running every target once (merged per target)")
    r.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each run")
    r.add_argument("--processes", default="1,2", help="API process counts to run (Florin and PostGraphile alike)")
    r.add_argument("--subscriptions", type=int, default=1000, help="idle transactionEvents sockets (0: skip)")
    r.add_argument("--skip-postgraphile", action="store_true", help="no PostGraphile baseline (no Node needed)")
    r.add_argument("--no-serial", action="store_true", help="skip the concurrency-1 latency runs")
    r.add_argument("--steps", default=",".join(STEPS),
                   help=f"measured steps outside the request loop, comma list of {', '.join(STEPS)} ('' for none)")
    r.add_argument("--import-rows", type=int, default=100_000, help="rows of the statement the import step imports")
    r.add_argument("--assistant-requests", type=int, default=40, help="questions the assistant step asks")
    r.add_argument("--alert-samples", type=int, default=300,
                   help="budget alerts the alerts step delivers to the 1,000 budgetAlerts subscriptions")
    r.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True,
                   help="py-spy profile of one API process under each scenario's load (extra short runs)")
    o = p.add_argument_group("output")
    o.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    o.add_argument("--json", type=Path, default=HERE / "results.json", help="raw numbers")
    o.add_argument("--workdir", type=Path, default=None,
                   help="where servers keep data and logs (default: a temp dir, removed at the end)")
    o.add_argument("--report-from", type=Path, default=None, metavar="JSON",
                   help="only rewrite --output from the raw numbers of an earlier run (its results.json)")
    o.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS) - {""}
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    unknown = set(args.steps.split(",")) - set(STEPS) - {""}
    if unknown:
        p.error(f"unknown steps: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s")
    if args.report_from:
        rewrite(args.report_from, args.output)
        return
    command = "python -m bench" + (" " + " ".join(shlex.quote(a) for a in argv) if argv else "")

    def stop(signum: int, frame: object) -> None:  # SIGTERM (and SIGINT of a background job): clean up
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with infra.servers(args.workdir) as servers:
        asyncio.run(run(args, servers, command))


def tier_label(transactions: int) -> str:
    """10000 -> '10k', 1000000 -> '1M' (names of the data tiers in scenario names)."""
    if transactions % 1_000_000 == 0:
        return f"{transactions // 1_000_000}M"
    if transactions % 1000 == 0:
        return f"{transactions // 1000}k"
    return str(transactions)


def say(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def production_secrets() -> dict[str, str]:
    """Fresh secrets for FLORIN_ENV=production: the token signing key (at least 32 characters) and, where
    the settings have it, the 32-byte key of credentials at rest."""
    from app.config import Settings

    out = {"secret_key": secrets.token_urlsafe(48)}
    if "encryption_key" in Settings.model_fields:
        out["encryption_key"] = base64.b64encode(secrets.token_bytes(32)).decode()
    return out


async def run(args: argparse.Namespace, servers: infra.Servers, command: str) -> None:
    started = time.time()
    spec = DataSpec(users=args.users, transactions=args.transactions, big_users=args.big_users,
                    big_transactions=args.big_transactions, history_users=args.history_users, seed=args.seed)
    production = production_secrets()
    florin_secret = production["secret_key"]
    pgl_secret = secrets.token_urlsafe(48)
    log_dir = servers.workdir / "logs"  # server logs and raw profiles; kept only with --workdir
    log_dir.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    counts: list[Any] = []
    extra: dict[str, Any] = {"command": command, "spec": asdict(spec), "log_dir": str(log_dir), "failures": [],
                             "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}

    say(f"migrating and loading {len(spec.tiers())} users ...")
    await infra.create_database(servers)
    report, plans = await load(servers.bench_dsn, spec)
    extra["load"] = asdict(report)
    extra["server"] = await infra.server_facts(servers.bench_dsn)
    say(f"loaded {report.transactions:,} transactions, {report.accounts} accounts in {report.seconds:.0f}s "
        f"({extra['server']['transactions_table']}); balances by Florin's fill_all: {report.balance_rows:,} rows "
        f"for {report.balance_accounts} accounts in {report.balances_seconds:.1f}s")

    users = [BenchUser.of(p) for p in plans]
    main_tier, small_tier, big_tier = (tier_label(spec.transactions), tier_label(spec.small_transactions),
                                       tier_label(spec.big_transactions))
    if small_tier == main_tier:
        small_tier += "-small"
    main_ids = set(range(spec.users))
    big_ids = set(range(spec.users + spec.small_users, spec.users + spec.small_users + spec.big_users))
    history_ids = set(spec.history_indexes())
    tiers = {small_tier: [u for u in users if u.index not in main_ids | big_ids | history_ids],
             main_tier: [u for u in users if u.index in main_ids],
             big_tier: [u for u in users if u.index in big_ids],
             HISTORY_TIER: [u for u in users if u.index in history_ids]}
    load_tiers = [main_tier] + ([big_tier] if tiers[big_tier] else [])
    extra["tiers"] = {"main": main_tier, "big": big_tier, "history": HISTORY_TIER}
    names = [n for n in args.scenarios.split(",") if n]
    if not tiers[HISTORY_TIER] and "networth_history" in names:
        names.remove("networth_history")
        say("networth_history skipped: --history-users 0")
    scenarios = build(names, load_tiers)
    processes = [int(n) for n in args.processes.split(",")]
    serial = not args.no_serial
    pg_cpu = {"postgres": [servers.postmaster_pid]} if servers.postmaster_pid else {}

    def mint() -> None:
        for u in users:
            u.mint(florin_secret, None if args.skip_postgraphile else pgl_secret)

    def cpu(**groups: list[int]) -> CpuGroups:
        return CpuGroups({**pg_cpu, **groups}, {"postgres"})

    def record(scenario: Scenario, target: str, procs: int, stats: Stats) -> None:
        runs.append(Run(scenario.name, target, procs, stats))
        say(stats.line())

    def levels(n: int, scenario: Scenario) -> list[int]:
        loaded = min(args.concurrency, scenario.max_concurrency or args.concurrency)
        return [loaded] + ([1] if serial and n == 1 and loaded != 1 else [])

    def seconds(c: int) -> float:
        return args.duration if c > 1 else args.duration / 2

    async def phase(name: str, body: Any) -> None:
        """Run one phase; a failure is reported in RESULTS.md and the other phases still run."""
        try:
            await body()
        except Exception as exc:  # noqa: BLE001 - the app under test changes; keep what was measured
            log.exception("phase %s failed", name)
            extra["failures"].append(f"{name}: {type(exc).__name__}: {str(exc)[:400]}")
            say(f"phase {name} FAILED: {type(exc).__name__}: {str(exc)[:200]}")

    async def statements() -> None:
        from pydantic import SecretStr

        from app.config import Settings
        from bench.statements import count_statements

        mint()
        values: dict[str, Any] = {"env": "production", "database_url": servers.bench_url,
                                  "redis_url": servers.redis_url, **{k: SecretStr(v) for k, v in production.items()}}
        settings = Settings(**values)
        counts.extend(await count_statements(settings, build(names, [main_tier]),
                                             {k: v for k, v in tiers.items() if v}))
        say("statements per request: " + ", ".join(f"{c.scenario}/{c.variant}/{c.tier}={c.statements}"
                                                    for c in counts))

    pgl_module: Any = None
    if not args.skip_postgraphile:
        async def setup_postgraphile() -> None:
            nonlocal pgl_module
            from bench import postgraphile

            extra["postgraphile"] = postgraphile.install()
            extra["node"] = postgraphile.node_version()
            await postgraphile.prepare(servers.bench_dsn)
            pgl_module = postgraphile

        await phase("postgraphile setup", setup_postgraphile)

    async def load_runs(n: int) -> None:
        """Florin and PostGraphile with `n` processes each (and the floor, with the first `n`): per scenario
        and concurrency, `--rounds` rounds in which every target runs once, so drifting background load on
        the machine touches all targets alike; the rounds of a target are merged into one result."""
        mint()
        api = start_florin(servers.bench_url, servers.redis_url, florin_secret, n, log_dir, extra=production)
        pgl = pgl_module.start(servers.bench_url, pgl_secret, n, log_dir) if pgl_module else None
        try:
            if "login" not in extra:
                extra["login"] = await login_check(api.urls[0], users[0])
            for scenario in scenarios:
                users_ = tiers[scenario.tier]
                if n != processes[0] and scenario.tier == big_tier:
                    # its few users would pass the production per-user rate limit (6,000 operations a minute)
                    # with more processes; the big tier is there to compare one request's cost with the 10k tier
                    extra.setdefault("notes", []).append(
                        f"{scenario.name}: measured with {processes[0]} process(es) only: its {len(users_)} "
                        "user(s) would exceed the per-user rate limit of production with more")
                    continue
                mint()  # tokens live 15 minutes, as a login's; a phase takes longer
                if n == processes[0] and scenario.same is not None:
                    await phase(f"agreement {scenario.name}", lambda s=scenario, u=users_: agreement(api.urls, s, u))
                for c in levels(n, scenario):
                    parts: dict[str, list[Stats]] = {}
                    for _ in range(args.rounds):
                        if n == processes[0]:
                            parts.setdefault("floor", []).append(await measure_floor(
                                f"floor {scenario.name}", servers.bench_dsn, scenario, users_, concurrency=c,
                                duration=seconds(c), warmup=args.warmup, cpu=cpu()))
                        parts.setdefault("florin", []).append(await measure_http(
                            f"florin x{n} {scenario.name}", api.urls, scenario, users_, florin=True,
                            concurrency=c, duration=seconds(c), warmup=args.warmup, cpu=cpu(api=api.pids)))
                        if pgl is not None and scenario.pgl_query:  # the planning reads have no PostGraphile twin
                            parts.setdefault("postgraphile", []).append(await measure_http(
                                f"postgraphile x{n} {scenario.name}", pgl.urls, scenario, users_, florin=False,
                                concurrency=c, duration=seconds(c), warmup=args.warmup, cpu=cpu(node=pgl.pids)))
                    for target, stats in parts.items():
                        record(scenario, target, 1 if target == "floor" else n, Stats.merge(stats))
            if pgl is not None:
                pgl.stop()
                pgl = None
            if n == 1 and args.profile:
                extra["profiles"] = await profile_florin(
                    api, [s for s in scenarios if s.tier in (main_tier, HISTORY_TIER)], tiers, args, log_dir)
        finally:
            api.stop()
            if pgl is not None:
                pgl.stop()

    async def idle_subscriptions() -> None:
        from bench.scenarios import subscriptions

        mint()
        api = start_florin(servers.bench_url, servers.redis_url, florin_secret, 1, log_dir, extra=production)
        try:
            result = await subscriptions.measure(api.pids[0], api.ws_urls[0], api.urls[0], tiers[main_tier],
                                                 args.subscriptions)
            extra["subscriptions"] = asdict(result) | {"bytes_per_subscription": result.bytes_per_subscription}
            say(f"{result.count} subscriptions over {result.users} users: RSS {result.rss_before / 2**20:.1f} -> "
                f"{result.rss_after / 2**20:.1f} MiB, {result.bytes_per_subscription / 1024:.1f} KiB each; "
                f"event delivered to {result.delivered}/{result.expected} sockets in {result.delivery_ms:.1f} ms"
                + (f"; {'; '.join(result.notes)}" if result.notes else ""))
        finally:
            api.stop()

    async def agreement(urls: list[str], scenario: Scenario, users_: list[BenchUser], count: int = 3) -> None:
        """Florin's answer and the floor's result for the same request must hold the same figures."""
        assert scenario.same is not None
        client = GraphQLHttp(urls, 1)
        conn = await asyncpg.connect(servers.bench_dsn)
        try:
            for k in range(min(count, len(users_))):
                user, i = users_[k * max(1, len(users_) // count)], k * 7
                data = await client.post(i, scenario.florin_query, scenario.florin_vars(user, i), user.florin_token)
                scenario.same(data, await scenario.floor(conn, user, i))
        finally:
            await conn.close()
            await client.close()
        extra.setdefault("agreement", {})[scenario.name] = min(count, len(users_))
        say(f"{scenario.name}: Florin and the floor agree for {min(count, len(users_))} users")

    def step_settings() -> Any:
        from pydantic import SecretStr

        from app.config import Settings

        values: dict[str, Any] = {"env": "production", "database_url": servers.bench_url,
                                  "redis_url": servers.redis_url, **{k: SecretStr(v) for k, v in production.items()}}
        return Settings(**values)

    async def import_step() -> None:
        from bench.scenarios import import_

        user = tiers[small_tier][0]
        result = await import_.measure(step_settings(), servers.bench_dsn, user, args.import_rows)
        extra["import"] = result.as_dict()
        say(f"import of {result.rows:,} rows: COPY {result.copy_rate:,.0f} rows/s; florin import "
            f"{result.first_rate:,.0f} rows/s ({result.first_added:,} added) = {result.share:.1%} of COPY; "
            f"again {result.again_rate:,.0f} rows/s ({result.again_duplicates:,} duplicates)")

    async def assistant_step() -> None:
        from bench.scenarios import assistant

        mint()
        api = start_florin(servers.bench_url, servers.redis_url, florin_secret, 1, log_dir, extra=production)
        try:
            result = await assistant.measure(api.urls[0], api.ws_urls[0], tiers[main_tier],
                                             requests=args.assistant_requests)
            extra["assistant"] = result.as_dict()
            d = extra["assistant"]
            say(f"assistant: first event p50 {d['first_event'].get('p50')} ms, ChatDone p50 "
                f"{d['done'].get('p50')} ms p99 {d['done'].get('p99')} ms, {len(result.errors)} failed")
        finally:
            api.stop()

    async def alerts_step() -> None:
        from bench.scenarios import alerts

        result = await alerts.run(servers.bench_url, servers.redis_url, tiers[main_tier], production, log_dir,
                                  processes=2, subscriptions=args.subscriptions or 1000, samples=args.alert_samples)
        extra["alerts"] = result
        say(alerts.summary(result))

    await phase("statements", statements)
    for n in processes:
        await phase(f"load x{n}", lambda n=n: load_runs(n))
    if args.subscriptions:
        await phase("subscriptions", idle_subscriptions)
    steps = [s for s in args.steps.split(",") if s]
    if "assistant" in steps:
        await phase("assistant", assistant_step)
    if "alerts" in steps:  # adds a category, a budget and up to 10 transactions per main-tier user
        await phase("alerts", alerts_step)
    if "import" in steps:  # last: it adds 100k rows to one small-tier user
        await phase("import", import_step)

    extra["seconds"] = time.time() - started
    extra.update(facts())
    records, statement_counts = [r.as_dict() for r in runs], [asdict(c) for c in counts]
    if args.json:
        args.json.write_bytes(orjson.dumps({"runs": records, "statements": statement_counts, "extra": extra},
                                           option=orjson.OPT_INDENT_2, default=str))
    write_results(args.output, records, statement_counts, extra)
    say(f"done in {extra['seconds'] / 60:.1f} min: {args.output}")


def rewrite(source: Path, output: Path) -> None:
    data = orjson.loads(source.read_bytes())
    extra = data["extra"]
    if "args" not in extra:  # written before the arguments were recorded: read them back from the command
        extra["args"] = vars(parse_args(shlex.split(extra["command"])[3:]))
    extra.setdefault("date", dt.datetime.fromtimestamp(source.stat().st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    for key, value in facts().items():  # same machine and checkout: fill in what an older file lacks
        extra.setdefault(key, value)
    write_results(output, data["runs"], data["statements"], extra)
    print(f"rewrote {output} from {source}")


async def login_check(url: str, user: BenchUser) -> dict[str, Any]:
    """authLogin with the generated password over HTTP: the hashes are real (production argon2 parameters)."""
    from bench.data.generate import PASSWORD

    client = GraphQLHttp([url], 1)
    try:
        t0 = time.perf_counter()
        data = await client.post(0, "mutation($i: AuthLoginInput!) { authLogin(input: $i) { accessToken "
                                    "errors { code } } }", {"i": {"email": user.email, "password": PASSWORD}}, None)
        took = (time.perf_counter() - t0) * 1000
    finally:
        await client.close()
    payload = data["authLogin"]
    if payload["errors"] or not payload["accessToken"]:
        raise RuntimeError(f"authLogin with the generated password failed: {payload}")
    return {"ok": True, "ms": round(took, 1)}


async def profile_florin(florin: Any, scenarios: list[Scenario], tiers: dict[str, list[BenchUser]],
                         args: argparse.Namespace, log_dir: Path) -> dict[str, str]:
    from bench.profile import record, summarize

    out: dict[str, str] = {}
    seconds = max(6.0, min(12.0, args.duration))
    for scenario in scenarios:
        if scenario.name.startswith("search"):
            continue
        path = log_dir / f"profile-{scenario.name}.txt"
        spy = record(florin.pids[0], seconds, path)
        if spy is None:
            return {"note": "py-spy not installed (pip install '.[bench]')"}
        await measure_http(f"profile {scenario.name}", florin.urls, scenario, tiers[scenario.tier], florin=True,
                           concurrency=args.concurrency, duration=seconds, warmup=0.5, cpu=CpuGroups())
        spy.wait(timeout=60)
        if path.exists():
            out[scenario.name] = summarize(path).markdown()
    return out


if __name__ == "__main__":
    main()
