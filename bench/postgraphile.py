"""PostGraphile v4 over the same database: the throughput baseline.

Installed by the bench with `npm install --prefix bench/.node postgraphile@4` (git-ignored) and run as
`node bench/.node/node_modules/postgraphile/cli.js` in production mode (NODE_ENV=production, no GraphiQL,
no query log). It is set up the way PostGraphile is meant to be used, over Florin's own tables:

- authentication by JWT (HS256, same algorithm as Florin's access tokens): the token carries
  `role: bench_postgraphile` and `user_id`; PostGraphile verifies it, `SET LOCAL ROLE`s and exposes the
  claims as `jwt.claims.*` settings, once per request, in a transaction;
- row-level security policies on users, accounts, categories and transactions for that role give each
  caller only their own rows (the superuser Florin connects as bypasses them, so Florin is unaffected);
- `pgl.current_florin_user()` plays `me`, and `pgl.transactions_page(account_ids, date_from, date_to,
  search)` is the filtered, ordered transactions page (a STABLE SQL function the planner inlines) with the
  same predicates and order as Florin's page statement; relations come from the foreign keys.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import jwt

from bench.infra import libpq
from bench.procs import Proc, free_port, wait_http

ROOT = Path(__file__).resolve().parent
NODE_DIR = ROOT / ".node"
CLI = NODE_DIR / "node_modules" / "postgraphile" / "cli.js"
ROLE = "bench_postgraphile"
PACKAGE = "postgraphile@4"

SETUP_SQL = f"""
DO $$ BEGIN CREATE ROLE {ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE SCHEMA IF NOT EXISTS pgl;
GRANT USAGE ON SCHEMA public, pgl TO {ROLE};
GRANT SELECT ON users, accounts, categories, transactions TO {ROLE};
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE transactions ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS pgl_own ON users;
DROP POLICY IF EXISTS pgl_own ON accounts;
DROP POLICY IF EXISTS pgl_own ON categories;
DROP POLICY IF EXISTS pgl_own ON transactions;
CREATE POLICY pgl_own ON users FOR SELECT TO {ROLE}
  USING (id = nullif(current_setting('jwt.claims.user_id', true), '')::uuid);
CREATE POLICY pgl_own ON accounts FOR SELECT TO {ROLE}
  USING (user_id = nullif(current_setting('jwt.claims.user_id', true), '')::uuid);
CREATE POLICY pgl_own ON categories FOR SELECT TO {ROLE}
  USING (user_id = nullif(current_setting('jwt.claims.user_id', true), '')::uuid);
CREATE POLICY pgl_own ON transactions FOR SELECT TO {ROLE}
  USING (user_id = nullif(current_setting('jwt.claims.user_id', true), '')::uuid);

CREATE OR REPLACE FUNCTION pgl.current_florin_user() RETURNS users LANGUAGE sql STABLE AS $f$
  SELECT * FROM users WHERE id = nullif(current_setting('jwt.claims.user_id', true), '')::uuid
$f$;

CREATE OR REPLACE FUNCTION pgl.transactions_page(account_ids uuid[], date_from date, date_to date, term text)
RETURNS SETOF transactions LANGUAGE sql STABLE AS $f$
  SELECT t.* FROM transactions t
  WHERE t.user_id = nullif(current_setting('jwt.claims.user_id', true), '')::uuid
    AND (account_ids IS NULL OR t.account_id = ANY(account_ids))
    AND (date_from IS NULL OR t.booked_on >= date_from)
    AND (date_to IS NULL OR t.booked_on <= date_to)
    AND (term IS NULL OR t.search @@ to_tsquery('simple'::regconfig, term))
  ORDER BY t.booked_on DESC, t.id DESC
$f$;
GRANT USAGE ON SCHEMA pgl TO {ROLE};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgl TO {ROLE};
"""


def install() -> str:
    """Install PostGraphile v4 into bench/.node (once); returns its version."""
    if not CLI.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not on PATH: install Node 20 or run with --skip-postgraphile")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), PACKAGE],
                       check=True, stdout=subprocess.DEVNULL)
    import json

    return str(json.loads((CLI.parent / "package.json").read_text())["version"])


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()


async def prepare(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SETUP_SQL)
    finally:
        await conn.close()


def token(secret: str, user_id: object, ttl: int = 900) -> str:
    now = dt.datetime.now(dt.UTC)
    return jwt.encode({"role": ROLE, "user_id": str(user_id), "aud": "postgraphile", "iat": int(now.timestamp()),
                       "exp": now + dt.timedelta(seconds=ttl)}, secret, algorithm="HS256")


def _node_url(database_url: str) -> str:
    """A node-postgres connection string (unix socket directories go in `?host=`)."""
    url = urllib.parse.urlsplit(libpq(database_url))
    return urllib.parse.urlunsplit(("postgres", url.netloc, url.path, url.query, ""))


@dataclass
class PostGraphile:
    procs: list[Proc]

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p.port}/graphql" for p in self.procs]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.stop()


def start(database_url: str, secret: str, processes: int, log_dir: Path) -> PostGraphile:
    """`processes` independent PostGraphile servers (one Node process each) on free ports."""
    procs: list[Proc] = []
    env = {**os.environ, "NODE_ENV": "production"}
    try:
        for _ in range(processes):
            port = free_port()
            log = log_dir / f"postgraphile-{port}.log"
            command = ["node", str(CLI), "--connection", _node_url(database_url), "--schema", "public,pgl",
                       "--host", "127.0.0.1", "--port", str(port), "--jwt-secret", secret,
                       "--default-role", ROLE, "--disable-graphiql", "--disable-query-log",
                       "--no-setof-functions-contain-nulls", "--max-pool-size", "10"]
            proc = Proc.spawn(command, env=env, log=log, cwd=log_dir)
            procs.append(proc)
            proc.port = port
            wait_http(proc, f"http://127.0.0.1:{port}/graphql", method="POST", timeout=90,
                      body=b'{"query":"{__typename}"}')
        return PostGraphile(procs)
    except BaseException:
        for p in procs:
            p.stop()
        raise
