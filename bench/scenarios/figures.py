"""Small helpers the planning scenarios share: money rounded as Florin shows it, and global ids."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from app.graphql.node import to_global_id
from app.money import minor_units


def money(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-even to the currency's minor units (how every `Money.amount` is written)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency.strip())), rounding=ROUND_HALF_EVEN)


def dec(value: Any) -> Decimal | None:
    """A decimal string of an answer as a Decimal (None stays None); 12.5 == 12.50."""
    return None if value is None else Decimal(value)


def gid(type_name: str, value: uuid.UUID) -> str:
    return to_global_id(type_name, value)


def agreeing(view: Callable[[dict[str, Any]], Any], pick: Callable[[Any], Any] = lambda result: result
             ) -> Callable[[dict[str, Any], Any], None]:
    """A `Scenario.same`: Florin's answer seen through `view` must equal `pick(floor result)`."""

    def same(data: dict[str, Any], floor_result: Any) -> None:
        florin, floor = view(data), pick(floor_result)
        if florin == floor:
            return
        if isinstance(florin, list | tuple) and isinstance(floor, list | tuple):
            for k, (a, b) in enumerate(zip(florin, floor, strict=False)):
                if a != b:
                    raise AssertionError(f"Florin and the floor disagree at item {k}: {a!r} != {b!r}")
            raise AssertionError(f"Florin has {len(florin)} items, the floor {len(floor)}")
        if isinstance(florin, set | frozenset) and isinstance(floor, set | frozenset):
            raise AssertionError(f"only Florin: {sorted(florin - floor, key=repr)[:3]}; "
                                 f"only the floor: {sorted(floor - florin, key=repr)[:3]}")
        raise AssertionError(f"Florin and the floor disagree: {str(florin)[:300]} != {str(floor)[:300]}")

    return same
