"""A generic name -> object registry (lm-eval style): duplicates raise, unknown names get a did-you-mean."""
from __future__ import annotations

import difflib
from typing import Any, Callable, Generic, Iterator, TypeVar

from harness.errors import ArchbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects plus free-form metadata (`doc=`, `scale=`...)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            self.add(name, obj, **meta)
            return obj
        return deco

    def add(self, name: str, obj: T, **meta: Any) -> None:
        if name in self._items:
            raise ArchbenchError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = obj
        self._meta[name] = meta

    def get(self, name: str) -> T:
        if name not in self._items:
            raise ArchbenchError(self.unknown(name))
        return self._items[name]

    def meta(self, name: str) -> dict[str, Any]:
        self.get(name)
        return self._meta[name]

    def unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(self._items))}"
        return f"unknown {self.kind} {name!r}{hint}"

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
