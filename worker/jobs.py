"""Thin jobs: take ids, open their own unit of work, call the same services as the API."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

HEARTBEAT_KEY = "florin:worker:heartbeat"


async def heartbeat(ctx: dict[str, Any]) -> str:
    """Proves the worker is alive: records who beat and when (read by `/readyz`-style checks and tests)."""
    resources = ctx["resources"]
    stamp = dt.datetime.now(dt.UTC).isoformat()
    await resources.redis.set(HEARTBEAT_KEY, f"{socket.gethostname()}:{os.getpid()}:{stamp}", ex=180)
    return stamp
