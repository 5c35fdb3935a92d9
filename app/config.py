"""Settings from `FLORIN_*` environment variables (and `.env`).

`get_settings()` is called only at entry points (`app/main.py`, `app/cli.py`, `worker/main.py`,
`migrations/env.py`); everything else receives values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "florin-development-secret-change-me"


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
    graphiql: bool | None = None

    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_echo: bool = False

    arq_queue_name: str = "florin:queue"
    event_channel_prefix: str = "florin:user:"

    ai_provider: Literal["local", "gemini"] = "local"
    vertex_project: str | None = None
    vertex_location: str = "europe-west1"
    gemini_model: str = "gemini-2.5-flash"

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
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
