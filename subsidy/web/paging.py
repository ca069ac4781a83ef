"""Numbered pages of the portal's lists: which rows a page shows, how many there are in all, and
the links to the other pages (the page's own query kept, only its page parameter changed)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request

from subsidy.api.paging import MAX_PAGE

SIZE = 50
"""Rows a portal page shows."""


@dataclass(frozen=True)
class Pager:
    page: int
    size: int
    total: int
    path: str
    query: tuple[tuple[str, str], ...]
    param: str = "page"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """The first row shown (1-based; 0 when there is none)."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    def url(self, page: int) -> str:
        kept = [(k, v) for k, v in self.query if k != self.param]
        return f"{self.path}?{urlencode([*kept, (self.param, str(page))])}"


def page_of(request: Request, param: str = "page") -> int:
    """The page asked for (1 when absent or not a page number)."""
    raw = request.query_params.get(param, "1")
    return min(max(int(raw), 1), MAX_PAGE) if raw.isdigit() else 1


def pager(
    request: Request,
    total: int,
    *,
    param: str = "page",
    size: int = SIZE,
    path: str | None = None,
) -> Pager:
    """The pager of a list of `total` rows (a page past the last shows the last); its links go
    to `path` (default this request's: a polled fragment names the page it is part of)."""
    last = max(1, -(-total // size))
    query = tuple(request.query_params.multi_items())
    return Pager(
        min(page_of(request, param), last), size, total, path or request.url.path, query, param
    )
