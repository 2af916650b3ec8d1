"""One way to page every list: a page of rows, its total, and the links between pages.

Offset pagination (LIMIT/OFFSET) rather than keyset: the lists show "51–100 trong 1.234" and
links to any page number, which keyset pagination cannot jump to; every paginated query orders
on an index, so an offset skips index entries, not sorted rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from danvan.extensions import db

PER_PAGE = 50
PER_PAGE_MIN = 10
PER_PAGE_MAX = 200
PAGE_MAX = 1_000_000


@dataclass
class Page:
    """One page of a list: its rows, the list's total, the page number and its size."""

    items: Sequence[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one, even when empty)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 for an empty list)."""
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        """The 1-based position of the page's last row."""
        return min(self.page * self.per_page, self.total)

    def as_dict(self, items=None) -> dict:
        """The API's list shape: {items, total, page, per_page} (``items`` serialised)."""
        return {
            "items": list(self.items) if items is None else items,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
        }

    def links(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and a few around this one; None for a gap."""
        pages = self.pages
        shown = sorted(
            {1, pages, *range(max(1, self.page - around), min(pages, self.page + around) + 1)}
        )
        out: list[int | None] = []
        previous = None
        for n in shown:
            if previous is not None and n - previous > 1:
                out.append(None)
            out.append(n)
            previous = n
        return out


def _bounded_int(raw: str | None, default: int, low: int, high: int) -> int:
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        return default
    return min(max(int(raw), low), high)


def page_args(args) -> tuple[int, int]:
    """(page, per_page) from ``?trang=`` and ``?so_dong=``: anything unreadable gives page 1 and
    50 rows; a size outside 10–200 is brought to the nearest bound."""
    page = _bounded_int(args.get("trang"), 1, 1, PAGE_MAX)
    per_page = _bounded_int(args.get("so_dong"), PER_PAGE, PER_PAGE_MIN, PER_PAGE_MAX)
    return page, per_page


def _clamp(page: int, per_page: int, total: int) -> int:
    """A page past the end shows the last page (a list that shrank keeps its reader)."""
    return min(max(page, 1), max(1, -(-total // per_page)))


def paginate(stmt, page: int, per_page: int = PER_PAGE, *, unique: bool = False) -> Page:
    """One COUNT and one LIMIT/OFFSET query of ``stmt`` (an ordered select of one entity)."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = _clamp(page, per_page, total or 0)
    result = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page))
    items = list(result.unique() if unique else result)
    return Page(items, int(total or 0), page, per_page)


def paginate_list(items: Sequence[Any], page: int, per_page: int = PER_PAGE) -> Page:
    """A page of a list already in memory (a list filtered in Python)."""
    page = _clamp(page, per_page, len(items))
    start = (page - 1) * per_page
    return Page(list(items[start : start + per_page]), len(items), page, per_page)
