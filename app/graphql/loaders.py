"""Per-request loaders, built for one principal. Each batch runs one `IN` query in its own short session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader


class Loaders:
    """A container of DataLoaders created lazily, once per request, keyed by name."""

    def __init__(self) -> None:
        self._loaders: dict[str, DataLoader[Any, Any]] = {}

    def get(self, name: str, batch: Callable[[list[Hashable]], Awaitable[Sequence[Any]]]) -> DataLoader[Any, Any]:
        loader = self._loaders.get(name)
        if loader is None:
            loader = DataLoader(load_fn=batch)  # type: ignore[arg-type]
            self._loaders[name] = loader
        return loader

    def prime(self, name: str, key: Hashable, value: Any) -> None:
        loader = self._loaders.get(name)
        if loader is not None:
            loader.prime(key, value, force=True)


def in_key_order(rows: Sequence[Any], keys: Sequence[Hashable], key_of: Callable[[Any], Hashable] = lambda r: r.id
                 ) -> list[Any]:
    by_key = {key_of(row): row for row in rows}
    return [by_key.get(key) for key in keys]
