"""Imports every table so `metadata` is complete (Alembic and the migration tests use it)."""

from app.accounts import models as accounts_models  # noqa: F401
from app.auth import models as auth_models  # noqa: F401
from app.budgets import models as budgets_models  # noqa: F401
from app.categories import models as categories_models  # noqa: F401
from app.chat import models as chat_models  # noqa: F401
from app.db import metadata
from app.goals import models as goals_models  # noqa: F401
from app.insights import models as insights_models  # noqa: F401
from app.networth import models as networth_models  # noqa: F401
from app.notifications import models as notifications_models  # noqa: F401
from app.privacy import models as privacy_models  # noqa: F401
from app.rules import models as rules_models  # noqa: F401
from app.sync import models as sync_models  # noqa: F401
from app.transactions import models as transactions_models  # noqa: F401

__all__ = ["metadata"]
