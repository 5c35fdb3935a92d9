"""Budget-alert delivery across API processes: commit -> `budgetAlerts` subscriber, at 1,000 subscriptions.

Setup: `processes` Florin API servers in production mode (bench/procs.py), and for each of the users a new
expense category with no spending and a MONTHLY budget over it (limit 100, thresholds 10, 20, ... 100 %),
made through `categoryCreate` and `budgetCreate`. Then `subscriptions` graphql-transport-ws sockets, one
`budgetAlerts` subscription each, spread over the users round-robin and over the processes (each user has
sockets on every process), and the RSS of every process before and after they are open (idle memory).

Measurement, one sample at a time: a `transactionCreate` of -10 in one user's budgeted category, sent to the
processes in turn, crosses exactly one fresh threshold (10 % more of the line), so exactly one alert fires
and every socket of that user, on its own and on the other process, must receive it. Per delivery:

- `after_response_ms`: from the mutation's HTTP response (the commit is done) to the alert on the socket;
  an alert that arrived before the response was read counts 0 (it is published right after the commit,
  before the response is written), and how many did so is reported;
- `after_fired_ms`: from the alert's `firedAt` (Postgres `now()`: the start of the mutation's transaction) to
  the socket, same machine clock: an upper bound of commit -> subscriber without the HTTP request's own time;
- `after_send_ms`: from sending the mutation, the loosest upper bound.

Every sample checks the alert's threshold; alerts on sockets of other users, missing or duplicate alerts are
counted, so a broken server cannot look fast. Standalone (embedded Postgres and Redis, a small data set):

    python -m bench.scenarios.alerts --subscriptions 1000 --users 120 --samples 300
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import json
import secrets
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import orjson
import psutil

from bench.infra import libpq
from bench.procs import Florin, start_florin
from bench.users import BenchUser

NAME = "alerts"
TITLE = "budget-alert delivery: transactionCreate commit -> budgetAlerts subscriber on either API process"
STEP = 10
"""Percent of the line each sample spends: thresholds 10, 20, ... 100 give every (user, line) 10 samples."""
THRESHOLDS = list(range(STEP, 101, STEP))
LIMIT = 100
SUBSCRIPTION = "subscription Alerts { budgetAlerts { id threshold firedAt spent { amount currency } } }"
ME = "query Me { me { timeZone baseCurrency } }"
CATEGORY = """mutation Category($input: CategoryCreateInput!) {
  categoryCreate(input: $input) { category { id } errors { field code message } } }"""
BUDGET = """mutation Budget($input: BudgetCreateInput!) {
  budgetCreate(input: $input) { budget { id } errors { field code message } } }"""
CREATE = """mutation Spend($input: TransactionCreateInput!) {
  transactionCreate(input: $input) { transaction { id } errors { field code message } } }"""
ACTIVE = "florin_active_subscriptions"


Arrival = tuple["Socket", float, float, dict[str, Any]]
"""(socket, perf_counter and wall clock when it arrived, the `next` payload)."""


@dataclass
class Target:
    """A user with its budgeted category, as the samples use it; its sockets' alerts land in `inbox`."""

    user: BenchUser
    category_id: str
    account_id: str
    zone: ZoneInfo
    spent_steps: int = 0
    sockets: list[Socket] = field(default_factory=list)
    inbox: asyncio.Queue[Arrival] = field(default_factory=asyncio.Queue)

    def today(self) -> dt.date:
        return dt.datetime.now(self.zone).date()


class Socket:
    """One graphql-transport-ws connection with one `budgetAlerts` subscription; alerts go to its target's inbox."""

    def __init__(self, target: Target, process: int, ws: aiohttp.ClientWebSocketResponse):
        self.target = target
        self.process = process
        self.ws = ws
        self.reader: asyncio.Task[None] | None = None
        self.closed_early = False

    async def read(self) -> None:
        async for message in self.ws:
            arrived, wall = time.perf_counter(), time.time()
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = orjson.loads(message.data)
            if data.get("type") == "ping":
                await self.ws.send_str('{"type":"pong"}')
            elif data.get("type") == "next":
                self.target.inbox.put_nowait((self, arrived, wall, data["payload"]))
        self.closed_early = True


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))], 2)

    return {"n": len(ordered), "p50": at(50), "p90": at(90), "p99": at(99), "max": round(ordered[-1], 2),
            "mean": round(statistics.fmean(ordered), 2)}


class Api:
    """GraphQL over HTTP to the processes, with one user's token."""

    def __init__(self, session: aiohttp.ClientSession, urls: Sequence[str]):
        self.session = session
        self.urls = list(urls)

    async def post(self, process: int, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
        async with self.session.post(self.urls[process], data=orjson.dumps({"query": query, "variables": variables}),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"}) as response:
            body = orjson.loads(await response.read())
        if body.get("errors"):
            raise RuntimeError(f"{query.split('(')[0]}: {str(body['errors'])[:300]}")
        return body["data"]  # type: ignore[no-any-return]


async def prepare(api: Api, user: BenchUser, process: int, tag: str) -> Target:
    """A fresh expense category without spending and a MONTHLY budget over it, made through the API."""
    me = (await api.post(process, ME, {}, user.florin_token))["me"]
    made = (await api.post(process, CATEGORY, {"input": {"name": f"Alert bench {tag}", "kind": "EXPENSE"}},
                           user.florin_token))["categoryCreate"]
    if made["errors"]:
        raise RuntimeError(f"categoryCreate: {made['errors']}")
    category_id = made["category"]["id"]
    budget = (await api.post(process, BUDGET, {"input": {
        "name": f"Alert bench {tag}", "currency": me["baseCurrency"], "period": "MONTHLY", "thresholds": THRESHOLDS,
        "lines": [{"categoryId": category_id, "limit": str(LIMIT)}]}}, user.florin_token))["budgetCreate"]
    if budget["errors"]:
        raise RuntimeError(f"budgetCreate: {budget['errors']}")
    return Target(user, category_id, user.account_gids["checking"], ZoneInfo(me["timeZone"]))


async def open_socket(session: aiohttp.ClientSession, url: str, target: Target, process: int, n: int) -> Socket:
    ws = await session.ws_connect(url, protocols=("graphql-transport-ws",), heartbeat=None, max_msg_size=0)
    await ws.send_str(orjson.dumps({"type": "connection_init",
                                    "payload": {"authorization": f"Bearer {target.user.florin_token}"}}).decode())
    ack = orjson.loads((await ws.receive(timeout=30)).data)
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    await ws.send_str(orjson.dumps({"id": f"a{n}", "type": "subscribe",
                                    "payload": {"query": SUBSCRIPTION}}).decode())
    socket = Socket(target, process, ws)
    socket.reader = asyncio.create_task(socket.read())
    return socket


async def active_subscriptions(session: aiohttp.ClientSession, graphql_url: str) -> int:
    async with session.get(graphql_url.rsplit("/graphql", 1)[0] + "/metrics") as response:
        text = await response.text()
    return int(sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith(ACTIVE) and line[len(ACTIVE):len(ACTIVE) + 1] in (" ", "{")))


@dataclass
class Delivery:
    same_process: bool
    after_response_ms: float
    after_fired_ms: float
    after_send_ms: float
    alert_id: str
    arrived: float


class CommitClock:
    """When each alert's transaction committed, as Postgres tells a listener: a bench-only trigger on
    `budget_alerts` sends NOTIFY, which Postgres delivers at COMMIT. Installed on the bench database for the
    measurement and removed afterwards."""

    CHANNEL = "bench_alert_committed"
    INSTALL = f"""
CREATE OR REPLACE FUNCTION {CHANNEL}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('{CHANNEL}', NEW.id::text); RETURN NULL; END $$;
DROP TRIGGER IF EXISTS {CHANNEL} ON budget_alerts;
CREATE TRIGGER {CHANNEL} AFTER INSERT ON budget_alerts FOR EACH ROW EXECUTE FUNCTION {CHANNEL}();"""
    REMOVE = f"DROP TRIGGER IF EXISTS {CHANNEL} ON budget_alerts; DROP FUNCTION IF EXISTS {CHANNEL}();"

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.committed: dict[uuid.UUID, float] = {}
        self.conn: Any = None

    def _heard(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.committed.setdefault(uuid.UUID(payload), time.perf_counter())

    async def __aenter__(self) -> CommitClock:
        import asyncpg

        self.conn = await asyncpg.connect(self.dsn)
        await self.conn.execute(self.INSTALL)
        await self.conn.add_listener(self.CHANNEL, self._heard)
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.conn.execute(self.REMOVE)
        await self.conn.close()

    def at(self, alert_global_id: str) -> float | None:
        from app.graphql.node import from_global_id

        decoded = from_global_id(alert_global_id)
        return self.committed.get(uuid.UUID(str(decoded[1]))) if decoded else None


@dataclass
class Tally:
    deliveries: list[Delivery] = field(default_factory=list)
    mutation_ms: list[float] = field(default_factory=list)
    last_after_response_ms: list[float] = field(default_factory=list)
    samples: int = 0
    before_response: int = 0
    missing: int = 0
    unexpected: int = 0
    wrong: list[str] = field(default_factory=list)


async def sample(api: Api, target: Target, process: int, tally: Tally, wait: float = 5.0) -> None:
    """One crossing transaction and the alert on every socket of its user."""
    target.spent_steps += 1
    threshold = target.spent_steps * STEP
    amount = LIMIT * STEP // 100
    variables = {"input": {"accountId": target.account_id, "amount": f"-{amount}",
                           "bookedOn": target.today().isoformat(), "categoryId": target.category_id,
                           "description": f"ALERT BENCH {uuid.uuid4().hex[:8]}"}}
    sent = time.perf_counter()
    made = (await api.post(process, CREATE, variables, target.user.florin_token))["transactionCreate"]
    answered = time.perf_counter()
    if made["errors"]:
        raise RuntimeError(f"transactionCreate: {made['errors']}")
    tally.samples += 1
    tally.mutation_ms.append((answered - sent) * 1000)
    waiting = set(target.sockets)
    alert_id = None
    last = 0.0
    deadline = answered + wait
    while waiting:
        try:
            left = max(0.001, deadline - time.perf_counter())
            socket, arrived, wall, payload = await asyncio.wait_for(target.inbox.get(), left)
        except TimeoutError:
            tally.missing += len(waiting)
            break
        alert = (payload.get("data") or {}).get("budgetAlerts") or {}
        alert_id = alert_id or alert.get("id")
        if socket not in waiting or alert.get("id") != alert_id:
            tally.unexpected += 1
            continue
        waiting.discard(socket)
        if alert.get("threshold") != threshold:
            tally.wrong.append(f"expected threshold {threshold}, got {str(payload)[:200]}")
            continue
        if arrived < answered:
            tally.before_response += 1
        after_response = max(0.0, arrived - answered) * 1000
        fired = dt.datetime.fromisoformat(alert["firedAt"]).timestamp()
        last = max(last, after_response)
        tally.deliveries.append(Delivery(socket.process == process, after_response, (wall - fired) * 1000,
                                         (arrived - sent) * 1000, alert["id"], arrived))
    tally.last_after_response_ms.append(last)


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


async def measure(florin: Florin, users: Sequence[BenchUser], dsn: str, *, subscriptions: int = 1000,
                  samples: int = 300, concurrency: int = 1, batch: int = 50, idle_seconds: float = 3.0
                  ) -> dict[str, Any]:
    """The scenario against running API processes on the database at `dsn` (libpq URL; tokens of `users`
    already minted for them)."""
    processes = len(florin.urls)
    if samples > len(users) * len(THRESHOLDS):
        raise ValueError(f"{samples} samples need at least {samples // len(THRESHOLDS) + 1} users")
    tag = uuid.uuid4().hex[:6]
    result: dict[str, Any] = {"name": NAME, "title": TITLE, "processes": processes, "notes": []}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session, \
            CommitClock(dsn) as clock:
        api = Api(session, florin.urls)
        targets: list[Target] = []
        for offset in range(0, len(users), 20):
            targets += await asyncio.gather(*(prepare(api, u, (offset + i) % processes, tag)
                                              for i, u in enumerate(users[offset:offset + 20])))
        # warm every process's WebSocket path once, then read the baseline memory
        for p, url in enumerate(florin.ws_urls):
            warm = await open_socket(session, url, Target(targets[0].user, '', '', targets[0].zone), p, -1)
            await asyncio.sleep(0.5)
            await warm.ws.close()
            if warm.reader:
                await warm.reader
        await asyncio.sleep(1)
        before = [rss(pid) for pid in florin.pids]
        started = time.perf_counter()
        sockets: list[Socket] = []
        # user k's r-th socket goes to process (k + r) % processes: every user on every process, all evenly loaded
        plan = [(targets[n % len(targets)], (n % len(targets) + n // len(targets)) % processes)
                for n in range(subscriptions)]
        for offset in range(0, subscriptions, batch):
            sockets += await asyncio.gather(*(open_socket(session, florin.ws_urls[p], t, p, n)
                                              for n, (t, p) in enumerate(plan[offset:offset + batch], offset)))
        for s in sockets:
            s.target.sockets.append(s)
        expected = [sum(1 for s in sockets if s.process == p) for p in range(processes)]
        for _ in range(150):  # at most 30 s for the servers to register them all
            counted = [await active_subscriptions(session, url) for url in florin.urls]
            if all(c >= e for c, e in zip(counted, expected, strict=True)):
                break
            await asyncio.sleep(0.2)
        opened = time.perf_counter() - started
        await asyncio.sleep(idle_seconds)
        after = [rss(pid) for pid in florin.pids]
        if counted != expected:
            result["notes"].append(f"/metrics reported {counted} active subscriptions, expected {expected}")
        result["subscriptions"] = subscriptions
        result["users"] = len({id(s.target) for s in sockets})
        result["open_seconds"] = round(opened, 2)
        result["per_process"] = [
            {"pid": pid, "subscriptions": expected[p], "rss_before_mib": round(before[p] / 2**20, 1),
             "rss_after_mib": round(after[p] / 2**20, 1),
             "kib_per_subscription": round((after[p] - before[p]) / 1024 / max(1, expected[p]), 1)}
            for p, pid in enumerate(florin.pids)]

        tally = Tally()
        subscribed = [t for t in targets if t.sockets]
        lanes = min(concurrency, len(subscribed))

        async def lane(k: int) -> None:
            """Samples k, k + lanes, ... over users k, k + lanes, ... (lanes share no user, so no inbox); a
            user's samples go to the processes in turn."""
            mine = list(range(k, len(subscribed), lanes))
            for j, _ in enumerate(range(k, samples, lanes)):
                position = mine[j % len(mine)]
                target = subscribed[position]
                if target.spent_steps >= len(THRESHOLDS):
                    raise ValueError(f"more than {len(THRESHOLDS)} samples for one user: use more users")
                await sample(api, target, (position + target.spent_steps) % processes, tally)

        started = time.perf_counter()
        await asyncio.gather(*(lane(k) for k in range(lanes)))
        result["alerts_per_second"] = round(tally.samples / (time.perf_counter() - started), 1)
        await asyncio.sleep(0.5)
        for t in targets:  # late, duplicate or stray alerts after the last sample
            tally.unexpected += t.inbox.qsize()
        result["samples"] = tally.samples
        result["deliveries"] = len(tally.deliveries)
        result["expected_deliveries"] = len(tally.deliveries) + tally.missing
        result["concurrency"] = lanes
        result["missing"], result["unexpected"] = tally.missing, tally.unexpected
        result["wrong"] = tally.wrong[:5]
        result["before_response"] = tally.before_response
        result["closed_early"] = sum(1 for s in sockets if s.closed_early)
        after_commit: dict[bool, list[float]] = {True: [], False: []}
        unheard = 0
        for d in tally.deliveries:
            committed = clock.at(d.alert_id)
            if committed is None:
                unheard += 1
            else:
                after_commit[d.same_process].append((d.arrived - committed) * 1000)
        if unheard:
            result["notes"].append(f"{unheard} deliveries of alerts without a commit notification")
        result["after_commit_ms"] = percentiles(after_commit[True] + after_commit[False])
        result["after_commit_same_process_ms"] = percentiles(after_commit[True])
        result["after_commit_other_process_ms"] = percentiles(after_commit[False])
        result["after_response_ms"] = percentiles([d.after_response_ms for d in tally.deliveries])
        result["after_response_same_process_ms"] = percentiles([d.after_response_ms for d in tally.deliveries
                                                                if d.same_process])
        result["after_response_other_process_ms"] = percentiles([d.after_response_ms for d in tally.deliveries
                                                                 if not d.same_process])
        result["after_fired_ms"] = percentiles([d.after_fired_ms for d in tally.deliveries])
        result["after_send_ms"] = percentiles([d.after_send_ms for d in tally.deliveries])
        result["last_socket_after_response_ms"] = percentiles(tally.last_after_response_ms)
        result["mutation_ms"] = percentiles(tally.mutation_ms)

        for s in sockets:
            with contextlib.suppress(Exception):
                await s.ws.close()
        for s in sockets:
            if s.reader:
                s.reader.cancel()
                with contextlib.suppress(BaseException):
                    await s.reader
    return result


async def run(database_url: str, redis_url: str, users: Sequence[BenchUser], production: dict[str, str],
              log_dir: Path, *, processes: int = 2, subscriptions: int = 1000, samples: int = 300,
              concurrency: int = 1) -> dict[str, Any]:
    """Start `processes` API servers on the bench database, mint the users' tokens, measure, stop them.

    `production` holds the FLORIN_* secrets of production mode (`secret_key`, and `encryption_key` where the
    settings have one), as `python -m bench` makes them.
    """
    for user in users:
        user.mint(production["secret_key"], None)
    florin = await asyncio.to_thread(start_florin, database_url, redis_url, production["secret_key"], processes,
                                     log_dir, production)
    try:
        return await measure(florin, users, libpq(database_url), subscriptions=subscriptions, samples=samples,
                             concurrency=concurrency)
    finally:
        await asyncio.to_thread(florin.stop)


def summary(result: dict[str, Any]) -> str:
    """A few lines for the console and RESULTS.md."""
    r = result
    lines = [f"{r['subscriptions']} budgetAlerts subscriptions over {r['users']} users and {r['processes']} API "
             f"processes; {r['samples']} alerts ({r['concurrency']} in flight, {r['alerts_per_second']}/s), "
             f"{r['deliveries']}/{r['expected_deliveries']} deliveries (missing {r['missing']}, unexpected "
             f"{r['unexpected']}, wrong {len(r['wrong'])})"]

    def stats(label: str, s: dict[str, float]) -> str:
        if not s.get("n"):
            return f"{label}: none"
        return (f"{label}: p50 {s['p50']:.1f} ms, p90 {s['p90']:.1f}, p99 {s['p99']:.1f}, max {s['max']:.1f} "
                f"(n={s['n']})")

    lines.append(stats("commit (Postgres NOTIFY at COMMIT) -> subscriber", r["after_commit_ms"]))
    lines.append(stats("  subscriber on the same process", r["after_commit_same_process_ms"]))
    lines.append(stats("  subscriber on the other process", r["after_commit_other_process_ms"]))
    lines.append(stats("mutation response -> subscriber", r["after_response_ms"]))
    lines.append(stats("  subscriber on the same process", r["after_response_same_process_ms"]))
    lines.append(stats("  subscriber on the other process", r["after_response_other_process_ms"]))
    lines.append(stats("  last subscriber of each alert", r["last_socket_after_response_ms"]))
    lines.append(f"  ({r['before_response']} deliveries arrived before the mutation's response was read: counted 0)")
    lines.append(stats("alert firedAt (now() of its transaction) -> subscriber", r["after_fired_ms"]))
    lines.append(stats("mutation sent -> subscriber", r["after_send_ms"]))
    lines.append(stats("transactionCreate round trip", r["mutation_ms"]))
    for p in r["per_process"]:
        lines.append(f"process {p['pid']}: {p['subscriptions']} subscriptions, RSS {p['rss_before_mib']} -> "
                     f"{p['rss_after_mib']} MiB, {p['kib_per_subscription']} KiB per idle subscription")
    lines += [f"note: {n}" for n in r["notes"]]
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    """A RESULTS.md section: the delivery table (ms) and the idle memory per process."""
    r = result
    rows = [("commit (NOTIFY at COMMIT) -> subscriber, all", r["after_commit_ms"]),
            ("... subscriber on the process that took the mutation", r["after_commit_same_process_ms"]),
            ("... subscriber on the other process", r["after_commit_other_process_ms"]),
            ("mutation response -> subscriber (0 when the alert came first)", r["after_response_ms"]),
            ("alert firedAt (its transaction's start) -> subscriber", r["after_fired_ms"]),
            ("transactionCreate round trip", r["mutation_ms"])]
    out = [f"### Budget-alert delivery ({r['processes']} API processes)", "",
           f"{r['subscriptions']} idle `budgetAlerts` subscriptions over {r['users']} users, spread over the "
           f"processes; {r['samples']} alerts ({r['concurrency']} in flight), each to every socket of its user: "
           f"{r['deliveries']}/{r['expected_deliveries']} deliveries, {r['missing']} missing, {r['unexpected']} "
           f"unexpected, {len(r['wrong'])} wrong. Target: p99 commit -> subscriber under 100 ms.", "",
           "| measure (ms) | n | p50 | p90 | p99 | max |", "|---|---|---|---|---|---|"]
    for label, st in rows:
        if st.get("n"):
            out.append(f"| {label} | {st['n']} | {st['p50']:.1f} | {st['p90']:.1f} | {st['p99']:.1f} | "
                       f"{st['max']:.1f} |")
    out += ["", "| process | subscriptions | RSS before -> after (MiB) | KiB per idle subscription |",
            "|---|---|---|---|"]
    for p in r["per_process"]:
        out.append(f"| {p['pid']} | {p['subscriptions']} | {p['rss_before_mib']} -> {p['rss_after_mib']} | "
                   f"{p['kib_per_subscription']} |")
    out += [f"- {n}" for n in r["notes"]]
    return "\n".join(out) + "\n"


def _production() -> dict[str, str]:
    from app.config import Settings

    out = {"secret_key": secrets.token_urlsafe(48)}
    if "encryption_key" in Settings.model_fields:
        out["encryption_key"] = base64.b64encode(secrets.token_bytes(32)).decode()
    return out


async def _standalone(args: argparse.Namespace) -> dict[str, Any]:
    from bench import infra
    from bench.data.generate import DataSpec
    from bench.data.load import load

    with infra.servers(args.workdir) as servers:
        await infra.create_database(servers)
        spec = DataSpec(users=args.users, transactions=args.transactions, small_users=0, history_users=0)
        _, plans = await load(servers.bench_dsn, spec)
        users = [BenchUser.of(p) for p in plans][:args.users]
        log_dir = servers.workdir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        return await run(servers.bench_url, servers.redis_url, users, _production(), log_dir,
                         processes=args.processes, subscriptions=args.subscriptions, samples=args.samples,
                         concurrency=args.concurrency)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scenarios.alerts", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=120, help="users with a budget (>= 100)")
    p.add_argument("--transactions", type=int, default=200, help="generated history per user")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--subscriptions", type=int, default=1000)
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=1, help="samples in flight (over disjoint users)")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None, help="write the raw result here")
    args = p.parse_args(argv)
    result = asyncio.run(_standalone(args))
    print(summary(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
