"""Closed-loop load at fixed concurrency: p50, p99, throughput, and where the CPU time went.

`concurrency` workers each send one request, wait for the whole answer, check it and send the next, for
`warmup` seconds (not counted) and then `duration` seconds. CPU time is read from /proc (psutil) at the
start and end of the measured window for each process group (the API processes, Postgres and its
backends, PostGraphile, this load-generating process), so a result says how many milliseconds of CPU each
side spent per request: on a 2-core machine that, not a guess, is what bounds throughput.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psutil


@dataclass
class CpuGroups:
    """Process groups whose CPU time is accounted: name -> pids (a postmaster counts with its children)."""

    groups: dict[str, list[int]] = field(default_factory=dict)
    with_children: set[str] = field(default_factory=set)

    def snapshot(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, pids in self.groups.items():
            times: dict[int, float] = {}
            for pid in pids:
                procs = [psutil.Process(pid)] if psutil.pid_exists(pid) else []
                if name in self.with_children and procs:
                    procs += procs[0].children(recursive=True)
                for proc in procs:
                    try:
                        t = proc.cpu_times()
                        times[proc.pid] = t.user + t.system
                    except psutil.Error:
                        pass
            out[name] = times
        return out


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    out = {}
    for name, times in after.items():
        start = before.get(name, {})
        out[name] = sum(max(0.0, t - start.get(pid, 0.0)) for pid, t in times.items())
    return out


@dataclass
class Stats:
    label: str
    concurrency: int
    seconds: float
    latencies: list[float]       # milliseconds, sorted
    errors: int = 0
    first_error: str | None = None
    cpu: dict[str, float] = field(default_factory=dict)      # CPU seconds per group in the window
    machine_busy: float = 0.0    # share of all cores busy in the window (0..1)

    @classmethod
    def merge(cls, parts: list[Stats]) -> Stats:
        """Rounds of the same run (interleaved with the other targets) as one longer run."""
        cpu: dict[str, float] = {}
        for part in parts:
            for name, value in part.cpu.items():
                cpu[name] = cpu.get(name, 0.0) + value
        seconds = sum(p.seconds for p in parts)
        busy = sum(p.machine_busy * p.seconds for p in parts) / seconds if seconds else 0.0
        first_error = next((p.first_error for p in parts if p.first_error), None)
        return cls(parts[0].label, parts[0].concurrency, seconds, sorted(x for p in parts for x in p.latencies),
                   sum(p.errors for p in parts), first_error, cpu, busy)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(q * len(self.latencies)))]

    @property
    def p50(self) -> float:
        return self.pct(0.50)

    @property
    def p99(self) -> float:
        return self.pct(0.99)

    @property
    def foreign_cores(self) -> float:
        """Cores used by processes outside the measured groups (other work on the machine): noise."""
        cores = psutil.cpu_count() or 1
        return max(0.0, self.machine_busy * cores - sum(self.cpu.values()) / self.seconds) if self.seconds else 0.0

    def cpu_ms_per_request(self) -> dict[str, float]:
        n = max(1, self.requests)
        return {name: seconds * 1000 / n for name, seconds in self.cpu.items()}

    def line(self) -> str:
        cpu = " ".join(f"{k}={v:.2f}" for k, v in self.cpu_ms_per_request().items())
        err = f" errors={self.errors} ({self.first_error})" if self.errors else ""
        return (f"{self.label}: c={self.concurrency} {self.throughput:8.1f} req/s  p50 {self.p50:7.2f} ms  "
                f"p99 {self.p99:7.2f} ms  n={self.requests} busy={self.machine_busy:.0%} "
                f"other={self.foreign_cores:.2f} cores  cpu ms/req: {cpu}{err}")


Request = Callable[[int, int], Awaitable[None]]
"""request(worker, sequence number): send one request and check its answer; raise on a wrong one."""


async def run(label: str, request: Request, *, concurrency: int, duration: float, warmup: float,
              cpu: CpuGroups | None = None, max_error_share: float = 0.01) -> Stats:
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    measuring = False
    stop_at = time.monotonic() + warmup + duration

    async def worker(w: int) -> None:
        nonlocal errors, first_error
        while time.monotonic() < stop_at:
            i = next(counter)
            t0 = time.perf_counter()
            try:
                await request(w, i)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and the first one reported
                if measuring:
                    errors += 1
                    first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
                continue
            if measuring:
                latencies.append((time.perf_counter() - t0) * 1000)

    cpu = cpu or CpuGroups()
    cpu.groups.setdefault("client", [os.getpid()])
    tasks = [asyncio.create_task(worker(w)) for w in range(concurrency)]
    await asyncio.sleep(warmup)
    measuring = True
    before, sys_before, t0 = cpu.snapshot(), psutil.cpu_times(), time.perf_counter()
    await asyncio.sleep(duration)
    measuring = False
    after, sys_after, seconds = cpu.snapshot(), psutil.cpu_times(), time.perf_counter() - t0
    await asyncio.gather(*tasks)
    busy = _busy(sys_before, sys_after)
    stats = Stats(label, concurrency, seconds, sorted(latencies), errors, first_error, cpu_delta(before, after), busy)
    if errors > max_error_share * max(1, len(latencies) + errors):
        raise RuntimeError(f"{label}: {errors} failed requests, first: {first_error}")
    return stats


def _busy(a: psutil._common.scputimes, b: psutil._common.scputimes) -> float:  # type: ignore[name-defined]
    idle = (b.idle - a.idle) + (getattr(b, "iowait", 0) - getattr(a, "iowait", 0))
    total = sum(b) - sum(a)
    return 1 - idle / total if total > 0 else 0.0
