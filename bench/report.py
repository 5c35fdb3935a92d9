"""bench/RESULTS.md: how to run, the machine and versions, the numbers, the ratios against the targets."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.data.hooks import PENDING as PENDING_DATA
from bench.scenarios import PENDING

PACKAGES = ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "sqlalchemy", "sqlmodel", "asyncpg",
            "uvloop", "httptools", "aiohttp", "orjson")


@dataclass
class Run:
    scenario: str
    target: str        # florin | postgraphile | floor
    processes: int
    stats: Any  # bench.runner.Stats

    def as_dict(self) -> dict[str, Any]:
        s = self.stats
        return {"scenario": self.scenario, "target": self.target, "processes": self.processes,
                "concurrency": s.concurrency, "requests": s.requests, "seconds": round(s.seconds, 3),
                "throughput": round(s.throughput, 1), "p50_ms": round(s.p50, 3), "p99_ms": round(s.p99, 3),
                "errors": s.errors,
                "cpu_ms_per_request": {k: round(v, 3) for k, v in s.cpu_ms_per_request().items()},
                "machine_busy": round(s.machine_busy, 3), "other_cores": round(s.foreign_cores, 2)}


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": str(os.cpu_count()), "memory": f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
            "os": platform.platform(), "python": platform.python_version()}


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def git_revision() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "app", "worker", "migrations"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return rev + (" + uncommitted changes in app/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass
class R:
    """One run as recorded in results.json."""

    scenario: str
    target: str
    processes: int
    concurrency: int
    throughput: float
    p50: float
    p99: float
    cpu: dict[str, float]
    other: float
    errors: int

    @classmethod
    def of(cls, d: dict[str, Any]) -> R:
        return cls(d["scenario"], d["target"], d["processes"], d["concurrency"], d["throughput"], d["p50_ms"],
                   d["p99_ms"], d["cpu_ms_per_request"], d.get("other_cores", 0.0), d.get("errors", 0))


def _find(runs: Sequence[R], scenario: str, target: str, processes: int, concurrency: int) -> R | None:
    """The run at `concurrency`; for a loaded level (> 1), a scenario measured at a lower one (its
    `max_concurrency`, shown in "All runs") stands in."""
    for r in runs:
        if (r.scenario, r.target, r.processes, r.concurrency) == (scenario, target, processes, concurrency):
            return r
    if concurrency > 1:
        loaded = [r for r in runs if (r.scenario, r.target, r.processes) == (scenario, target, processes)
                  and r.concurrency > 1]
        return max(loaded, key=lambda r: r.concurrency, default=None)
    return None


def _ratio(a: float | None, b: float | None, limit: float | None = None, at_most: bool = True) -> str:
    if a is None or b is None or b == 0:
        return "–"
    value = a / b
    text = f"{value:.2f}x"
    if limit is not None:
        ok = value <= limit if at_most else value >= limit
        text += " (met)" if ok else " (**not met**)"
    return text


def write_results(path: Path, records: Sequence[dict[str, Any]], counts: Sequence[dict[str, Any]],
                  extra: dict[str, Any]) -> None:
    runs = [R.of(d) for d in records]
    args = extra["args"]
    c = args["concurrency"]
    processes = [int(n) for n in str(args["processes"]).split(",")]
    names = list(dict.fromkeys(r.scenario for r in runs))
    lines: list[str] = ["# Benchmark results", ""]
    lines += [HOW_TO_RUN, ""]
    m, v = extra.get("machine") or machine(), extra.get("versions") or versions()
    server = extra["server"]
    lines += ["## This run", "",
              f"- date: {extra.get('date', '?')}; took {extra.get('seconds', 0) / 60:.1f} min",
              f"- command: `{extra['command']}` (from the repository root; `make bench` runs `python -m bench`)",
              f"- code: {extra.get('revision', '?')}",
              f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}",
              f"- Python {m['python']}; " + ", ".join(f"{k} {val}" for k, val in v.items()),
              f"- Postgres: {server['postgres'].split(' on ')[0]} (embedded, unix socket; shared_buffers "
              f"{server['shared_buffers']}, max_connections {server['max_connections']}, jit {server['jit']}); "
              "Redis embedded",
              f"- PostGraphile: {extra.get('postgraphile', 'skipped')} on Node {extra.get('node', '-')} "
              "(NODE_ENV=production, no GraphiQL, no query log, JWT + row-level security, pool 10)",
              "- Florin: `python -m app.cli serve` (uvicorn, uvloop, httptools) with FLORIN_ENV=production, a "
              "64-character FLORIN_SECRET_KEY, both URLs set: production limits (depth, aliases, tokens, cost, "
              "per-user rate limit), default pool, JSON access log on",
              f"- load: closed loop, {c} requests in flight; per scenario {args.get('rounds', 1)} round(s), each "
              f"running the floor, Florin and PostGraphile once for {args['warmup']:g}s warm-up + "
              f"{args['duration']:g}s measured (concurrency-1 runs: {args['duration'] / 2:g}s), merged per target; "
              "aiohttp client in the bench process; requests spread round-robin over the users of the tier and "
              "over the server processes",
              ]
    load = extra["load"]
    spec = extra["spec"]
    lines += [f"- data: {load['users']} users ({spec['users']} x {spec['transactions']:,} transactions"
              + (f", {spec['big_users']} x {spec['big_transactions']:,}" if spec["big_users"] else "")
              + f", {spec.get('small_users', 2)} x {spec.get('small_transactions', 1000):,} for statement counts), "
              f"{load['accounts']} accounts, {load['categories']} categories, "
              f"{load['transactions']:,} transactions ({load['splits']:,} split lines); loaded through COPY in "
              f"{load['seconds']:.0f}s (transactions table {server['transactions_table']})"
              + (f"; {spec.get('history_users', 0)} users x 20 accounts x 10 years for `networth_history`"
                 if spec.get("history_users") else "")
              + ("; planning tables through `data/hooks.py`: " + ", ".join(
                  f"{name} {count:,} rows" for name, count in load.get("extras", {}).items()) if load.get("extras")
                 else ""),
              (f"- end-of-day balances: Florin's own `app.networth.balances.fill_all` (as the nightly job, one "
               f"transaction per user, {2} at a time) wrote {load['balance_rows']:,} rows for "
               f"{load['balance_accounts']} accounts in {load['balances_seconds']:.1f}s (included in the load time)"
               if load.get("balance_rows") else "- end-of-day balances: not filled"),
              "- floors that compute figures (dashboard_full, budget_status, spending, networth_history) were "
              "checked to give Florin's numbers before measuring: "
              + (", ".join(f"{name} ({n} users)" for name, n in extra["agreement"].items())
                 if extra.get("agreement") else "none checked"),
              f"- login check: `authLogin` with the generated password: "
              f"{'ok' if extra.get('login', {}).get('ok') else 'not run'} ({extra.get('login', {}).get('ms', '-')} ms)",
              f"- noise: other processes on the machine used {_noise(runs)} cores on average during the measured "
              "windows (column `other` below); throughput and latency are only comparable within a run"]
    for note in sorted(set(extra.get("notes", []))):
        lines.append(f"- {note}")
    lines.append("")

    if extra.get("failures"):
        lines += ["## Failed phases", "", "These phases failed (the app changed under the bench, or a server did "
                  "not start); their numbers are missing below:", ""]
        lines += [f"- {failure}" for failure in extra["failures"]] + [""]

    # -- ratios against the targets --------------------------------------------------------------------
    lines += ["## Targets", "", TARGETS_NOTE.strip(), "",
              "Florin / floor: p50 latency ratio at the same concurrency, and at concurrency 1 (the unloaded "
              "cost of one request). Florin / PostGraphile: throughput ratio with the same number of processes. "
              "The last column compares what one request costs in CPU (server processes + Postgres), which "
              "other load on the machine disturbs much less than req/s: below 1x Florin is the cheaper one.",
              "",
              f"| scenario | Florin/floor p50 @c={c} (<= 2.5x) | Florin/floor p50 @c=1 (<= 2.5x) | "
              + " | ".join(f"Florin/PostGraphile req/s x{n} (>= 1x)" for n in processes)
              + " | Florin x1 -> x2 | PostGraphile x1 -> x2 | server + Postgres CPU per request, Florin / "
              "PostGraphile (x1) |",
              "|---|---:|---:|" + "---:|" * len(processes) + "---:|---:|---:|"]
    for name in names:
        fl, fl1 = _find(runs, name, "floor", 1, c), _find(runs, name, "floor", 1, 1)
        f1, f1s = _find(runs, name, "florin", 1, c), _find(runs, name, "florin", 1, 1)
        cells = [name, _ratio(f1.p50 if f1 else None, fl.p50 if fl else None, 2.5),
                 _ratio(f1s.p50 if f1s else None, fl1.p50 if fl1 else None, 2.5)]
        for n in processes:
            f, p = _find(runs, name, "florin", n, c), _find(runs, name, "postgraphile", n, c)
            cells.append(_ratio(f.throughput if f else None, p.throughput if p else None, 1.0, at_most=False))
        f2 = _find(runs, name, "florin", 2, c)
        p1, p2 = _find(runs, name, "postgraphile", 1, c), _find(runs, name, "postgraphile", 2, c)
        cells.append(_ratio(f2.throughput if f2 else None, f1.throughput if f1 else None))
        cells.append(_ratio(p2.throughput if p2 else None, p1.throughput if p1 else None))
        pf = _find(runs, name, "postgraphile", 1, c)
        cells.append(_ratio(_server_cpu(f1), _server_cpu(pf)))
        lines.append("| " + " | ".join(cells) + " |")
    tiers = extra.get("tiers") or {"main": "10k", "big": "1M"}
    main_tier, big_tier = tiers["main"], tiers["big"]
    big = [n for n in names if n.endswith(f"_{big_tier}")]
    if big:
        lines += ["", f"Cost at {big_tier} transactions per user against {main_tier} (Florin, 1 process; target: "
                  "within 2x). The cost of a request is the CPU it takes from the machine (the API processes and "
                  "Postgres); latencies are shown too, but they also move with other load on the machine:", "",
                  f"| scenario | CPU per request (API + Postgres), {big_tier} / {main_tier} (<= 2x) | "
                  f"API CPU | Postgres CPU | p50 @c=1 | p50 @c={c} | req/s @c={c}, {main_tier} / {big_tier} |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name in big:
            small = name[: -len(big_tier)] + main_tier
            a1, b1 = _find(runs, name, "florin", 1, 1), _find(runs, small, "florin", 1, 1)
            a, b = _find(runs, name, "florin", 1, c), _find(runs, small, "florin", 1, c)
            lines.append(f"| {name} | {_ratio(_server_cpu(a), _server_cpu(b), 2.0)} | "
                         f"{_ratio(a.cpu.get('api') if a else None, b.cpu.get('api') if b else None)} | "
                         f"{_ratio(a.cpu.get('postgres') if a else None, b.cpu.get('postgres') if b else None)} | "
                         f"{_ratio(a1.p50 if a1 else None, b1.p50 if b1 else None)} | "
                         f"{_ratio(a.p50 if a else None, b.p50 if b else None)} | "
                         f"{_ratio(b.throughput if b else None, a.throughput if a else None)} |")
    by_scenario: dict[str, set[int]] = {}
    for cnt in counts:
        by_scenario.setdefault(cnt["scenario"], set()).add(cnt["statements"])
    if by_scenario:
        lines += ["", "SQL statements per request, constant in page size and data size: " + "; ".join(
            f"{name}: {', '.join(map(str, sorted(found)))} ({'met' if len(found) == 1 else '**not met**'})"
            for name, found in by_scenario.items()) + " (details below)."]

    findings = Path(__file__).with_name("FINDINGS.md")
    if findings.exists():
        lines += ["", findings.read_text().strip()]

    # -- all runs ----------------------------------------------------------------------------------------
    lines += ["", "## All runs", "",
              "CPU ms/request is CPU time (user + system) of each process group during the measured window divided "
              "by the requests completed: `api` = the Florin processes, `node` = PostGraphile, `postgres` = the "
              "postmaster and its backends, `client` = the bench process (load generator, or asyncpg for the floor). "
              "`other` = cores busy with processes outside the bench (other work on the machine: noise).", "",
              "| scenario | target | procs | c | req/s | p50 ms | p99 ms | CPU ms/request | other cores | errors |",
              "|---|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in runs:
        cpu = ", ".join(f"{k} {val:.2f}" for k, val in r.cpu.items())
        lines.append(f"| {r.scenario} | {r.target} | {r.processes} | {r.concurrency} | {r.throughput:.1f} | "
                     f"{r.p50:.2f} | {r.p99:.2f} | {cpu} | {r.other:.2f} | {r.errors} |")

    # -- statements --------------------------------------------------------------------------------------
    lines += ["", "## SQL statements per request", "",
              "Counted in-process (`bench/statements.py`): the scenario's operation through the view's context "
              "builder (token check included) and `schema.execute`. A checkout is a connection taken from the "
              "pool (each one also pays a pre-ping round trip).", "",
              "| scenario | variant | user's transactions | statements | pool checkouts |", "|---|---|---|---:|---:|"]
    for cnt in counts:
        lines.append(f"| {cnt['scenario']} | {cnt['variant']} | {cnt['tier']} | {cnt['statements']} | "
                     f"{cnt['checkouts']} |")
    if counts:
        first = next((x for x in counts if x["scenario"] == "dashboard"), counts[0])
        lines += ["", f"<details><summary>The statements of one {first['scenario']} request</summary>", "",
                  "```sql", *first["sql"], "```", "</details>"]

    # -- subscriptions -------------------------------------------------------------------------------------
    sub = extra.get("subscriptions")
    if sub:
        lines += ["", "## Idle memory per subscription", "",
                  f"{sub['count']} `transactionEvents` subscriptions over graphql-transport-ws (one socket each) "
                  f"spread over {sub['users']} users, on one API process: RSS {sub['rss_before'] / 2**20:.1f} MiB "
                  f"before, {sub['rss_after'] / 2**20:.1f} MiB after, **{sub['bytes_per_subscription'] / 1024:.1f} "
                  f"KiB per subscription** (socket, handler tasks, queue). Opening them took "
                  f"{sub['open_seconds']:.1f}s. One `transactionCreate` reached {sub['delivered']}/{sub['expected']} "
                  f"sockets of its user in {sub['delivery_ms']:.1f} ms (from sending the mutation), and "
                  f"{sub['foreign_deliveries']} sockets of other users."
                  + (f" Notes: {'; '.join(sub['notes'])}" if sub["notes"] else "")]

    # -- steps outside the request loop -------------------------------------------------------------------
    if extra.get("import"):
        from bench.scenarios import import_

        lines += ["", "## Statement import against raw COPY", "", (import_.__doc__ or "").strip().split("\n\n")[1]
                  .replace("\n", " "), ""] + import_.markdown(extra["import"])
    if extra.get("assistant"):
        from bench.scenarios import assistant

        lines += ["", "## Local assistant: time to the first chunk and to ChatDone", ""] + assistant.markdown(
            extra["assistant"])

    if extra.get("alerts"):
        from bench.scenarios import alerts

        lines += ["", "## Budget-alert delivery over 2 API processes", "", alerts.markdown(extra["alerts"])]

    # -- profiles ------------------------------------------------------------------------------------------
    profiles = extra.get("profiles") or {}
    if profiles:
        lines += ["", "## Where Florin's time goes", "",
                  f"py-spy on the single API process while it served each scenario at c={c} (a separate short run, "
                  "so the measured runs are not slowed by sampling)."]
        for name, text in profiles.items():
            lines += ["", f"### {name}", "", text]

    lines += ["", "## Pending scenarios", ""]
    if PENDING:
        lines += ["Waiting for features being built now; each becomes one module in `bench/scenarios/` (see "
                  "bench/README.md):", ""]
        lines += [f"- **{name}** (pending): {what}" for name, what in PENDING.items()]
    else:
        lines += ["None."]
    lines += ["", "Data generator: tables still to generate, through `bench/data/hooks.py`: "
              + (", ".join(PENDING_DATA) or "none") + ".", ""]
    # measured outside this runner, written by hand or by their own scripts, kept with every regeneration
    for name in ("CATEGORIZATION.md", "MEASURED.md"):
        extra_file = Path(__file__).with_name(name)
        if extra_file.exists():
            lines += ["", extra_file.read_text().strip(), ""]
    path.write_text("\n".join(lines) + "\n")


def _server_cpu(run: R | None) -> float | None:
    """CPU ms per request of the server processes and Postgres (not the load generator): what a request
    costs the machine, and so what bounds throughput, whatever else was running at the time."""
    if run is None:
        return None
    return sum(v for k, v in run.cpu.items() if k != "client")


def _noise(runs: Sequence[R]) -> str:
    measured = [r.other for r in runs]
    return f"{sum(measured) / len(measured):.2f}" if measured else "?"


def facts() -> dict[str, Any]:
    """What RESULTS.md says about the machine and code, taken when the run ends."""
    return {"machine": machine(), "versions": versions(), "revision": git_revision(),
            "date": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"}


HOW_TO_RUN = """\
## How to run

```sh
make bench                                   # = .venv/bin/python -m bench: the default, about 20 minutes
.venv/bin/python -m bench --help             # sizes, scenarios, duration, rounds, concurrency, processes, ...
.venv/bin/python -m bench --big-users 1      # + the 1M-transactions tier (about 7 minutes more)
.venv/bin/python -m bench --report-from bench/results.json   # rewrite this file from the raw numbers
.venv/bin/python -m bench --skip-postgraphile --scenarios dashboard --duration 5   # a quick look
```

Needs the `bench` extra (`pip install -e '.[bench]'`: aiohttp, orjson, psutil, py-spy) and, for the PostGraphile
baseline, Node 20 with npm (the bench runs `npm install --prefix bench/.node postgraphile@4` once).
Postgres and Redis are embedded (temp dir) unless `FLORIN_BENCH_DATABASE_URL` / `FLORIN_BENCH_REDIS_URL`
are set (a superuser URL: the bench creates and drops the `florin_bench` database). More in
`bench/README.md`."""

TARGETS_NOTE = """
Targets (issue 9, on this 2-core machine): dashboard and transactions page throughput at least
PostGraphile's with the same number of processes, latency at most 2.5x the floor, the page at 1M rows
within 2x of its cost at 10k, SQL statements per request constant in page size and data size. Everything
runs on the same 2 cores: the load generator, Postgres and the servers share them, so a run's throughput
is bounded by the CPU milliseconds per request of all three (see "All runs"). The planning reads
(dashboard_full, budget_status, spending, networth_history) have no PostGraphile baseline (their figures are
aggregates with conversion, period and split rules its generated schema does not have; an equivalent would be
the same SQL written as database functions), so only their floor ratios are reported; their floors compute
the same figures as Florin and were checked equal before measuring. The statement import is measured
against raw COPY (target: at least 30 % of its rate, with deduplication on)."""
