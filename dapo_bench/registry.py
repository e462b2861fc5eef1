"""A name -> item registry that loads the plug-ins before a look-up (models, experiments)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from dapo_bench.errors import UserInputError

T = TypeVar("T")


def _plugins() -> None:
    from dapo_bench.plugins import load_plugins

    load_plugins()


class Registry(Generic[T]):
    """Items by name, in registration order. ``load`` imports what registers items (the
    plug-ins by default) before any look-up."""

    def __init__(self, kind: str, load: Callable[[], None] = _plugins) -> None:
        self.kind, self._load = kind, load
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        self._load()
        if name not in self._items:
            raise UserInputError(f"unknown {self.kind} {name!r}; choose from "
                                 f"{', '.join(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        self._load()
        return list(self._items)

    def values(self) -> Iterator[T]:
        self._load()
        return iter(self._items.values())
