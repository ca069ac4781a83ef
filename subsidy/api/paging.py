"""Pages of a list: `page` (from 1) and `size`, and the total the list has.

Every list the API and the portal show is paged the same way: the answer says how many there
are (the API in `X-Total-Count`, the portal on the page), so nobody mistakes a first page for the
whole. Offsets are fine at these sizes (a page is at most `MAX_SIZE` rows; the deepest lists are
a batch's items and the audit trail, where an id index carries the order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query, Response

MAX_SIZE = 1_000
MAX_PAGE = 2**31 // MAX_SIZE
TOTAL_HEADER = "X-Total-Count"

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="The page, from 1.")]
PageSize = Annotated[int, Query(ge=1, le=MAX_SIZE, description="Rows per page.")]
OptionalPage = Annotated[
    int | None, Query(ge=1, le=MAX_PAGE, description="The page, from 1 (`limit` rows a page).")
]


@dataclass(frozen=True)
class Paging:
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def with_total(response: Response, total: int) -> None:
    response.headers[TOTAL_HEADER] = str(total)
