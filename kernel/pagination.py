"""One pagination style for every list: `?limit=&offset=`, answered with `items` and `next_offset`.

`next_offset` is null on the last page. `total` is given only where counting is cheap (the
customers list, conflicts): counting a large lakehouse table costs a scan, and nothing needs it to page.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ninja import Field, Schema

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


MAX_OFFSET = 1_000_000_000  # past what any engine's integer takes, and past any list worth paging


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many items, at most 500.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many items to skip (at most a billion: narrow the list instead).")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    limit: int
    offset: int
    has_more: bool
    total: int | None = None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None

    @property
    def end(self) -> int:
        """The position of the page's last item, counting from 1 ("21-40 of 95")."""
        return self.offset + len(self.items)

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset else None


class PageOut(Schema, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None
    total: int | None = Field(None, description="How many items in all, where that is cheap to count; null otherwise.")


def page_of(rows: Sequence | object, *, limit: int, offset: int, mapper: Callable = lambda row: row) -> Page:
    """Slice a queryset (or a list) one past the limit, to know whether another page exists."""
    window = list(rows[offset:offset + limit + 1])
    return Page(items=[mapper(row) for row in window[:limit]], limit=limit, offset=offset, has_more=len(window) > limit)
