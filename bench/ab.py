"""A/B of Florin source trees: the same data, the same load, rounds interleaved.

    .venv/bin/python -m bench.ab --variant base=/tmp/base --variant new=. --scenarios dashboard,page --rounds 3

Each variant is a checkout with its own `.venv` (`pip install -e '.[dev]'`; its `app` is the code under test,
put first on the path); each gets one API process (`python -m app.cli serve`, production mode), started once and kept
up. Per round every variant is measured once per scenario, in reversed order every other round, so load
drifting on the machine touches them alike. Printed per scenario and variant: the median over rounds of the
API CPU milliseconds per request (the measure to compare; req/s and latency follow the machine's noise),
Postgres CPU per request, req/s and p50. Nothing is written; the notes next to this file quote its output.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import infra, profile
from bench.__main__ import production_secrets, say, tier_label
from bench.data.generate import DataSpec
from bench.data.load import load
from bench.procs import start_florin
from bench.runner import CpuGroups, Stats
from bench.scenarios import SCENARIOS, build
from bench.targets import measure_http
from bench.users import BenchUser


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", action="append", required=True, metavar="NAME=CHECKOUT",
                   help="a name and a checkout with its .venv (at least two)")
    p.add_argument("--scenarios", default="dashboard,page", help=f"comma list of {', '.join(SCENARIOS)}")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=6)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--users", type=int, default=120)
    p.add_argument("--transactions", type=int, default=10_000)
    p.add_argument("--profile", type=Path, default=None, metavar="DIR",
                   help="after the rounds, one more run per variant and scenario under py-spy: raw stacks in DIR, "
                        "a summary printed")
    args = p.parse_args(argv)
    variants = [v.split("=", 1) for v in args.variant]
    if len(variants) < 2 or any(len(v) != 2 for v in variants):
        p.error("give at least two --variant NAME=CHECKOUT")
    for name, root in variants:
        if not (Path(root) / ".venv" / "bin" / "python").exists() or not (Path(root) / "app").is_dir():
            p.error(f"{name}: {root} is no checkout with a .venv")
    args.variants = [(name, Path(root).resolve()) for name, root in variants]
    return args


async def run(args: argparse.Namespace, servers: infra.Servers) -> None:
    spec = DataSpec(users=args.users, transactions=args.transactions, big_users=0, history_users=0)
    secrets = production_secrets()
    log_dir = servers.workdir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    say("loading ...")
    await infra.create_database(servers)
    _report, plans = await load(servers.bench_dsn, spec)
    tier = tier_label(spec.transactions)
    users = [u for u in (BenchUser.of(p) for p in plans) if u.index < spec.users]
    for u in users:
        u.mint(secrets["secret_key"], None)
    scenarios = build([n for n in args.scenarios.split(",") if n], [tier])
    pg = {"postgres": [servers.postmaster_pid]} if servers.postmaster_pid else {}
    apis: dict[str, Any] = {}
    results: dict[tuple[str, str], list[Stats]] = {}
    profiles: dict[tuple[str, str], str] = {}
    try:
        for name, root in args.variants:
            apis[name] = start_florin(servers.bench_url, servers.redis_url, secrets["secret_key"], 1, log_dir,
                                      extra=secrets, argv=[str(root / ".venv/bin/python"), "-m", "app.cli", "serve"],
                                      root=root)
        for r in range(args.rounds):
            order = args.variants if r % 2 == 0 else list(reversed(args.variants))
            for scenario in scenarios:
                for name, _python in order:
                    api = apis[name]
                    stats = await measure_http(
                        f"{name} {scenario.name}", api.urls, scenario, users, florin=True,
                        concurrency=args.concurrency, duration=args.duration, warmup=args.warmup,
                        cpu=CpuGroups({**pg, "api": api.pids}, {"postgres"}))
                    results.setdefault((scenario.name, name), []).append(stats)
                    say(f"round {r + 1}: {stats.line()}")
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for scenario in scenarios:
                for name, _python in args.variants:
                    api = apis[name]
                    raw = args.profile / f"{scenario.name}-{name}.txt"
                    spy = profile.record(api.pids[0], args.duration, raw)
                    if spy is None:
                        say("py-spy not found: no profile")
                        break
                    await measure_http(f"{name} {scenario.name} (profiled)", api.urls, scenario, users, florin=True,
                                       concurrency=args.concurrency, duration=args.duration, warmup=0.5,
                                       cpu=CpuGroups({"api": api.pids}))
                    spy.wait(timeout=60)
                    profiles[(scenario.name, name)] = profile.summarize(raw).markdown()
    finally:
        for api in apis.values():
            api.stop()
    print()
    print("| scenario | variant | API CPU ms/req (median; rounds) | Postgres CPU ms/req | req/s | p50 ms |")
    print("|---|---|---:|---:|---:|---:|")
    for scenario in scenarios:
        for name, _python in args.variants:
            runs = results[(scenario.name, name)]
            api_ms = [s.cpu_ms_per_request().get("api", 0.0) for s in runs]
            pg_ms = [s.cpu_ms_per_request().get("postgres", 0.0) for s in runs]
            print(f"| {scenario.name} | {name} | {statistics.median(api_ms):.2f} "
                  f"({', '.join(f'{x:.2f}' for x in api_ms)}) | {statistics.median(pg_ms):.2f} | "
                  f"{statistics.median(s.throughput for s in runs):.1f} | "
                  f"{statistics.median(s.p50 for s in runs):.2f} |")
    for (scenario_name, name), text in profiles.items():
        print(f"\n### {scenario_name}, {name}\n\n{text}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with infra.servers(None) as servers:
        asyncio.run(run(args, servers))


if __name__ == "__main__":
    main()
