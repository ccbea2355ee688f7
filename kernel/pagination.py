"""One pagination style for every list: `?limit=&offset=`, answered with `items` and `next_offset`.

No total count: counting a large lakehouse table costs a scan on every page, and no screen
needs it to page; `next_offset` is null on the last page.
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

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset else None


class PageOut(Schema, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


def page_of(rows: Sequence | object, *, limit: int, offset: int, mapper: Callable = lambda row: row) -> Page:
    """Slice a queryset (or a list) one past the limit, to know whether another page exists."""
    window = list(rows[offset:offset + limit + 1])
    return Page(items=[mapper(row) for row in window[:limit]], limit=limit, offset=offset, has_more=len(window) > limit)
