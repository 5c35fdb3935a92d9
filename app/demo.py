"""The demo user (and, as domains arrive, their data) for `florin demo` and `make dev`."""

from __future__ import annotations

import logging

from app.auth import repository as auth_repo
from app.auth import service as auth_service
from app.config import Settings
from app.db import unit_of_work
from app.resources import build_resources

log = logging.getLogger("florin.demo")


async def load_demo(settings: Settings) -> None:
    resources = await build_resources(settings, start_hub=False)
    try:
        async with unit_of_work(resources) as uow:
            if await auth_repo.user_by_email(uow.session, settings.demo_email) is not None:
                log.info("demo user exists")
                return
            await auth_service.register(
                uow.session, config=auth_service.AuthConfig.from_settings(settings), email=settings.demo_email,
                password=settings.demo_password.get_secret_value(), name="Demo User", base_currency="EUR",
                time_zone="Europe/Berlin")
        log.info("demo user created")
    finally:
        await resources.close()
