"""Imports every table so `metadata` is complete (Alembic and the migration tests use it)."""

from app.auth import models as auth_models  # noqa: F401
from app.db import metadata

__all__ = ["metadata"]
