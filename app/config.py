"""Settings from `FLORIN_*` environment variables (and `.env`).

`get_settings()` is called only at entry points (`app/main.py`, `app/cli.py`, `worker/main.py`,
`migrations/env.py`); everything else receives values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "florin-development-secret-change-me"
ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
ECB_90_DAYS_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLORIN_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".florin")
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    log_json: bool = True

    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    password_min_length: int = 10
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536

    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_page_size: int = 100
    max_directives: int = 50
    """Directives in one document (and at most 3 on one field or fragment)."""
    max_duplicate_fields: int = 5
    """How often one response key may be selected in one selection set (`{ id id id }`)."""
    max_query_cost: int = 50000
    """Estimated cost ceiling: every field costs 1, and a connection's `first`/`last` (20 when absent) or a
    plain list (10) multiplies the cost of its subtree."""
    graphiql: bool | None = None
    introspection: bool | None = None
    """Introspection queries; on by default except in production."""

    rate_limit_user_requests: int = 6000
    """Operations one user may run per window (HTTP requests and WebSocket operations); 0 turns the limit off
    (not allowed in production)."""
    rate_limit_user_window_seconds: int = 60
    rate_limit_auth_ip_requests: int = 600
    """`authLogin`/`authRegister` attempts per client IP per auth window."""
    rate_limit_auth_email_requests: int = 30
    """`authLogin`/`authRegister` attempts per email address per auth window."""
    rate_limit_auth_window_seconds: int = 600
    login_failure_threshold: int = 5
    """After this many failed logins for one email, further attempts are refused for a while ..."""
    login_backoff_seconds: int = 30
    """... first this long, then twice as long after each further failure ..."""
    login_backoff_max_seconds: int = 3600
    """... at most this long; failures are forgotten after this long without one."""
    rate_limit_prefix: str | None = None
    """Redis key prefix of the limiters; by default derived from the database URL, so deployments (and test
    databases) sharing one Redis keep separate counts."""

    slow_operation_ms: int = 1000
    """Operations slower than this are logged as `slow operation` with their SQL statement count."""

    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_echo: bool = False

    arq_queue_name: str = "florin:queue"
    event_channel_prefix: str = "florin:user:"

    job_timeout_seconds: int = 300
    """How long a job may run before arq stops it. A job of a killed worker is run again by another worker
    once this (plus 10 s) has passed, so tests set it short."""
    max_job_timeout_seconds: int = 900
    """The ceiling of every job's timeout (the nightly jobs ask for up to an hour, syncs for 15 minutes): arq runs
    a killed worker's job again only once the longest timeout of all jobs (plus 10 s) has passed, so this bounds
    how long an import or sync interrupted by a crash waits; tests set it short."""
    job_max_tries: int = 5
    """How often a job is tried (transient failures are retried with back-off: 5 s, 10 s, 20 s, ...)."""
    worker_shutdown_grace_seconds: int = 60
    """On SIGTERM the worker takes no new job and waits this long for running ones; a job still running
    then is cancelled (its transaction rolls back) and runs again on the next worker."""
    max_import_bytes: int = 10 * 1024 * 1024
    """The largest statement file `statementImport` and `florin import` accept (FILE_TOO_LARGE above)."""

    ai_provider: Literal["local", "gemini"] = "local"
    vertex_project: str | None = None
    vertex_location: str = "europe-west1"
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    """Another endpoint for the Vertex AI REST API (a proxy, or the tests' local server); Google's by default."""
    gemini_timeout_seconds: float = 60.0
    """How long one model request may take; a timed-out request is retried like a 429."""
    gemini_max_retries: int = 3
    """How often a request refused with HTTP 429 or timed out is tried again (back-off 1 s, 2 s, 4 s, ...)."""

    categorize_min_confidence: float = 0.6
    """The local model's or Gemini's guess sets a category only at this confidence or above; a weaker guess is
    stored as the transaction's suggestion and the category stays empty."""
    categorize_retrain_labels: int = 20
    """The per-user categorizer (trained on first use from the user's labels and the built-in seed) is trained
    again when the user's labels changed by this many (or by 10 %, whichever is more) since the stored model."""

    exchange_rates_url: str = ECB_DAILY_URL
    """Where `refresh_exchange_rates` reads the ECB reference rates: an http(s) URL, a file:// URL or a path;
    empty disables the job. In the test environment it is empty unless set, so no test reaches the internet."""
    exchange_rates_history_url: str = ECB_90_DAYS_URL
    """Read instead of `exchange_rates_url` while no reference rate is stored yet (the first run fills 90 days)."""
    exchange_rates_timeout_seconds: float = 30.0

    encryption_key: SecretStr | None = None
    """AES-256-GCM key of provider credentials at rest: 32 bytes in base64 or hex. Required in production;
    elsewhere a key derived from the secret key is used (with a warning) when it is not set."""
    sync_interval_hours: float = 6.0
    """How often an ACTIVE connection is synced by the scheduler."""
    sync_timeout_seconds: float = 60.0
    """How long one provider call may take before the sync counts it as unavailable."""
    allow_private_provider_urls: bool | None = None
    """Whether a connection's provider URL may point at a loopback, private, link-local or otherwise non-public
    address (checked when the connection is created and again, after DNS, before every sync). Default: allowed
    outside production (a local provider while developing), refused in production."""

    demo_email: str = "demo@florin.dev"
    demo_password: SecretStr = SecretStr("florin-demo-password")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("encryption_key")
    @classmethod
    def _check_encryption_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from app.sync.crypto import parse_key

            parse_key(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _offline_tests(self) -> Settings:
        # tests never reach the internet: the reference-rate sources are off unless a test sets them
        if self.env == "test":
            for name in ("exchange_rates_url", "exchange_rates_history_url"):
                if name not in self.model_fields_set:
                    setattr(self, name, "")
        return self

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.env == "production":
            if self.secret_key.get_secret_value() == DEFAULT_SECRET or len(
                self.secret_key.get_secret_value()
            ) < 32:
                raise ValueError(
                    "FLORIN_SECRET_KEY must be set to a random value of at least 32 characters in production"
                )
            if not self.database_url or not self.redis_url:
                raise ValueError("FLORIN_DATABASE_URL and FLORIN_REDIS_URL are required in production")
            if min(self.rate_limit_user_requests, self.rate_limit_auth_ip_requests,
                   self.rate_limit_auth_email_requests, self.login_failure_threshold) <= 0:
                raise ValueError("rate limits cannot be turned off in production")
            if self.encryption_key is None:
                raise ValueError("FLORIN_ENCRYPTION_KEY (32 bytes in base64 or hex) is required in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def private_provider_urls_allowed(self) -> bool:
        if self.allow_private_provider_urls is not None:
            return self.allow_private_provider_urls
        return not self.is_production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def rate_limit_namespace(self) -> str:
        if self.rate_limit_prefix:
            return self.rate_limit_prefix
        digest = hashlib.sha256((self.database_url or "").encode()).hexdigest()[:12]
        return f"florin:rl:{digest}:"


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
