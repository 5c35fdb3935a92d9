"""Rate limits in Redis: per user on every operation, per IP and per email on sign-in and registration, and a
growing back-off after failed logins.

Every check is one Lua script, so concurrent API processes count atomically; when Redis cannot be reached the
limiters let requests through (and log it). Windows are fixed: a counter
key gets its expiry with its first hit, and a request over the limit is told how long until the window
ends. Emails are hashed into key names, so Redis holds no addresses.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("florin.ratelimit")

# KEYS: L lock keys, then counters; ARGV: L, then (limit, window ms) per counter.
# Refused while any lock key lives; otherwise every counter is hit, and the request is refused when any is
# over its limit. Returns {allowed (0/1), retry after in ms}.
_HIT = """
local locks = tonumber(ARGV[1])
for i = 1, locks do
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl > 0 then return {0, ttl} end
end
local wait = 0
for i = locks + 1, #KEYS do
  local j = 2 + (i - locks - 1) * 2
  local limit = tonumber(ARGV[j])
  local window = tonumber(ARGV[j + 1])
  local n = redis.call('INCR', KEYS[i])
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[i], window)
    ttl = window
  end
  if n > limit and ttl > wait then wait = ttl end
end
if wait > 0 then return {0, wait} end
return {1, 0}
"""

# KEYS: failures, lock; ARGV: threshold, base ms, max ms. Counts a failure (remembered for max ms after the
# last one); from the threshold on, locks for base * 2^(failures - threshold) ms, at most max ms.
# Returns {failures, lock ms}.
_FAIL = """
local n = redis.call('INCR', KEYS[1])
local threshold = tonumber(ARGV[1])
local cap = tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], cap)
if n < threshold then return {n, 0} end
local ms = tonumber(ARGV[2]) * (2 ^ (n - threshold))
if ms > cap then ms = cap end
ms = math.floor(ms)
redis.call('SET', KEYS[2], n, 'PX', ms)
return {n, ms}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_ms: int = 0

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait (at least 1 when refused)."""
        return 0 if self.allowed else max(1, math.ceil(self.retry_after_ms / 1000))


ALLOWED = Decision(True)


@dataclass(frozen=True)
class Limits:
    user_requests: int = 6000
    user_window_ms: int = 60_000
    auth_ip_requests: int = 600
    auth_email_requests: int = 30
    auth_window_ms: int = 600_000
    failure_threshold: int = 5
    backoff_ms: int = 30_000
    backoff_max_ms: int = 3_600_000

    @classmethod
    def from_settings(cls, s: Any) -> Limits:
        return cls(user_requests=s.rate_limit_user_requests, user_window_ms=s.rate_limit_user_window_seconds * 1000,
                   auth_ip_requests=s.rate_limit_auth_ip_requests,
                   auth_email_requests=s.rate_limit_auth_email_requests,
                   auth_window_ms=s.rate_limit_auth_window_seconds * 1000,
                   failure_threshold=s.login_failure_threshold, backoff_ms=s.login_backoff_seconds * 1000,
                   backoff_max_ms=s.login_backoff_max_seconds * 1000)


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class RateLimiter:
    def __init__(self, redis: Redis, limits: Limits, namespace: str):
        self.redis = redis
        self.limits = limits
        self.ns = namespace
        self._hit = redis.register_script(_HIT)
        self._fail = redis.register_script(_FAIL)

    @classmethod
    def for_resources(cls, resources: Any) -> RateLimiter:
        settings = resources.settings
        return cls(resources.redis, Limits.from_settings(settings), settings.rate_limit_namespace)

    # key names (public for tests and operators)
    def user_key(self, user_id: uuid.UUID | str) -> str:
        return f"{self.ns}user:{user_id}"

    def ip_key(self, action: str, ip: str) -> str:
        return f"{self.ns}{action}:ip:{ip}"

    def email_key(self, action: str, email: str) -> str:
        return f"{self.ns}{action}:email:{email_digest(email)}"

    def failures_key(self, email: str) -> str:
        return f"{self.ns}login:failures:{email_digest(email)}"

    def lock_key(self, email: str) -> str:
        return f"{self.ns}login:lock:{email_digest(email)}"

    async def _run(self, locks: list[str], counters: list[tuple[str, int, int]]) -> Decision:
        counters = [c for c in counters if c[1] > 0]
        if not locks and not counters:
            return ALLOWED
        args: list[int] = [len(locks)]
        for _key, limit, window_ms in counters:
            args += [limit, max(1, window_ms)]
        try:
            allowed, wait = await self._hit(keys=[*locks, *(c[0] for c in counters)], args=args)
        except RedisError as exc:  # fail open: an unreachable Redis shows in /readyz, not as refused requests
            log.warning("rate limiter unavailable: %s", type(exc).__name__)
            return ALLOWED
        return ALLOWED if int(allowed) else Decision(False, int(wait))

    async def hit_user(self, user_id: uuid.UUID | str) -> Decision:
        """Count one operation of a user."""
        return await self._run([], [(self.user_key(user_id), self.limits.user_requests, self.limits.user_window_ms)])

    async def hit_auth(self, action: str, *, ip: str | None, email: str | None) -> Decision:
        """Count one `login` or `register` attempt from `ip` for `email`; a login for a locked email is refused
        without being counted."""
        lim = self.limits
        locks = [self.lock_key(email)] if email and action == "login" and lim.failure_threshold > 0 else []
        counters: list[tuple[str, int, int]] = []
        if ip:
            counters.append((self.ip_key(action, ip), lim.auth_ip_requests, lim.auth_window_ms))
        if email:
            counters.append((self.email_key(action, email), lim.auth_email_requests, lim.auth_window_ms))
        return await self._run(locks, counters)

    async def login_failed(self, email: str) -> Decision:
        """Record a failed login; the decision tells whether (and how long) the email is now locked."""
        lim = self.limits
        if not email or lim.failure_threshold <= 0:
            return ALLOWED
        try:
            _failures, lock_ms = await self._fail(keys=[self.failures_key(email), self.lock_key(email)],
                                                  args=[lim.failure_threshold, max(1, lim.backoff_ms),
                                                        max(1, lim.backoff_max_ms)])
        except RedisError as exc:
            log.warning("rate limiter unavailable: %s", type(exc).__name__)
            return ALLOWED
        return Decision(False, int(lock_ms)) if int(lock_ms) else ALLOWED

    async def login_succeeded(self, email: str) -> None:
        if email:
            try:
                await self.redis.delete(self.failures_key(email), self.lock_key(email))
            except RedisError as exc:
                log.warning("rate limiter unavailable: %s", type(exc).__name__)
