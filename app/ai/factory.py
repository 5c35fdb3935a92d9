"""Which `ChatModel` Florin talks to: Gemini on Vertex AI when configured, else the offline local model."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.ai.model import CategoryModel, ChatModel

if TYPE_CHECKING:
    from app.config import Settings
    from app.resources import Resources

log = logging.getLogger(__name__)


def build_chat_model(settings: Settings) -> ChatModel:
    """`GeminiModel` when `FLORIN_AI_PROVIDER=gemini` and `FLORIN_VERTEX_PROJECT` is set (credentials are
    Google's application defaults), otherwise `LocalModel`."""
    if settings.ai_provider == "gemini" and settings.vertex_project:
        from app.ai.gemini import GeminiModel

        return GeminiModel(settings.vertex_project, settings.vertex_location, settings.gemini_model,
                           base_url=settings.gemini_base_url, timeout=settings.gemini_timeout_seconds,
                           max_retries=settings.gemini_max_retries)
    if settings.ai_provider == "gemini":
        log.warning("FLORIN_AI_PROVIDER=gemini but FLORIN_VERTEX_PROJECT is not set: using the local model")
    from app.ai.local import LocalModel

    return LocalModel()


def build_category_model(settings: Settings) -> CategoryModel | None:
    """The language model that categorizes what rules, the memory and the local model left open: Gemini when
    configured (as for the assistant), else None (categorization then stops at the local model)."""
    if settings.ai_provider == "gemini" and settings.vertex_project:
        from app.ai.gemini import GeminiModel

        return GeminiModel(settings.vertex_project, settings.vertex_location, settings.gemini_model,
                           base_url=settings.gemini_base_url, timeout=settings.gemini_timeout_seconds,
                           max_retries=settings.gemini_max_retries)
    return None


def category_model(resources: Resources) -> CategoryModel | None:
    """The process's categorization model, built once from the settings (tests may set
    `resources.category_model`); None when no language model is configured for it."""
    if resources.category_model is None:
        resources.category_model = build_category_model(resources.settings) or False
    return resources.category_model or None
