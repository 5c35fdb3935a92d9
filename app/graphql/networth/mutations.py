"""Mutation fields of networth (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class NetWorthMutation:
    pass
