"""Where an API process spends its time under load: py-spy samples summarized by package and function.

`record(pid, seconds, path)` runs `py-spy record --format raw` (collapsed stacks) on a process while a
load runs; `summarize(path)` turns the stacks into shares: by the package of the innermost frame (self
time: strawberry, graphql-core, sqlalchemy, asyncpg, uvicorn, logging, …), inclusive time of marker
functions (GraphQL execution, SQL execution, JSON encoding, logging, authentication), and the top
functions by self time. Idle samples (the event loop waiting in epoll) are counted apart.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
IDLE = ("select (selectors.py", "run_forever", "_run_once (asyncio/base_events.py", "poll (", "epoll")
# the first needle found in the innermost frame names its package (py-spy writes paths from the import root:
# "(app/graphql/view.py:136)", "(graphql/execution/executor.py:994)"); Florin's own first, and graphql-core by
# its path's start, since Florin's app/graphql/ frames contain "graphql/" too (they counted as graphql-core
# before)
PACKAGES = (
    ("(app/", "florin app"), ("/app/", "florin app"), ("strawberry", "strawberry"), ("(graphql/", "graphql-core"),
    ("sqlalchemy", "sqlalchemy"), ("asyncpg", "asyncpg"), ("uvicorn", "uvicorn"), ("starlette", "starlette"),
    ("logging", "logging"), ("json", "json"), ("pydantic", "pydantic"), ("jwt", "pyjwt"),
    ("asyncio", "asyncio"), ("uvloop", "uvloop"), ("sqlmodel", "sqlmodel"), ("decimal", "decimal"),
)
MARKERS = {
    "HTTP request task (uvicorn, middleware, view; parse, validate, start of execution, JSON)":
        ("RequestResponseCycle.run_asgi",),
    "GraphQL parse": ("parse (graphql/language/parser.py",),
    "GraphQL validate (+ Florin's document limits)": ("validate (graphql/validation/validate.py",
                                                      "(app/graphql/limits.py"),
    "authentication (token check)": ("authenticate_bearer (",),
    "rate limit": ("(app/ratelimit.py",),
    "Florin resolvers and mapping (app/graphql)": ("(app/graphql/",),
    "graphql-core result completion (per field)": ("complete_value (graphql/execution",),
    "SQLAlchemy Session.execute (compile, driver, ORM loading)": ("execute (sqlalchemy/orm/session.py",),
    "SQLAlchemy ORM row -> object loading": ("sqlalchemy/orm/loading.py",),
    "asyncpg driver": ("(asyncpg/",),
    "pool checkout + pre-ping": ("_checkout (sqlalchemy/pool/base.py", "_async_ping"),
    "session close (rollback, return to pool)": ("close (sqlalchemy/ext/asyncio/session.py",),
    "JSON encode of the response": ("encode_json",),
    "logging": ("(logging/__init__.py",),
    "metrics": ("(app/metrics.py",),
    "event loop itself (uvloop, C)": (),
}


@dataclass
class Profile:
    samples: int = 0
    idle: int = 0
    by_package: Counter[str] = field(default_factory=Counter)
    markers: Counter[str] = field(default_factory=Counter)
    top_self: Counter[str] = field(default_factory=Counter)

    @property
    def busy(self) -> int:
        return self.samples - self.idle

    def share(self, n: int) -> float:
        return n / self.busy if self.busy else 0.0

    def markdown(self, top: int = 15) -> str:
        lines = [f"py-spy: {self.samples} samples holding the GIL, {self.idle} of them idle (excluded); shares "
                 "of busy samples.", "", "| inclusive (busy time) | share |", "|---|---:|"]
        for name, n in self.markers.most_common():
            lines.append(f"| {name} | {self.share(n):.0%} |")
        lines += ["", "| self time by package | share |", "|---|---:|"]
        for name, n in self.by_package.most_common(12):
            lines.append(f"| {name} | {self.share(n):.0%} |")
        lines += ["", "| top functions (self time) | share |", "|---|---:|"]
        for name, n in self.top_self.most_common(top):
            lines.append(f"| `{name}` | {self.share(n):.1%} |")
        return "\n".join(lines)


def record(pid: int, seconds: float, path: Path, rate: int = 200) -> subprocess.Popen[bytes] | None:
    """Start py-spy on `pid` for `seconds`; None when py-spy is not available."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    return subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", str(rate), "-f", "raw",
                             "-o", str(path), "--nonblocking", "--gil"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    file = m.group("file")
    for cut in ("site-packages/", "/lib/python3"):
        if cut in file:
            file = file.split(cut, 1)[1]
            break
    file = file.replace("/work/main/", "")
    return f"{m.group('func')} ({file})"


def _package(frame: str) -> str:
    for needle, name in PACKAGES:
        if needle in frame:
            return name
    return "other (cpython, builtins)"


def summarize(path: Path) -> Profile:
    profile = Profile()
    for raw in path.read_text(errors="replace").splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        profile.samples += count
        leaf = frames[-1]
        if any(marker in leaf for marker in IDLE):
            profile.idle += count
            continue
        profile.by_package[_package(leaf)] += count
        profile.top_self[_short(leaf)] += count
        joined = ";".join(frames)
        for name, needles in MARKERS.items():
            if any(needle in joined for needle in needles):
                profile.markers[name] += count
        if leaf.startswith("Runner.run ("):  # uvloop runs callbacks in C below this frame
            profile.markers["event loop itself (uvloop, C)"] += count
    return profile
