"""The portal's numbered pages: every row of a list on exactly one page, the totals said, the
page's own query kept in the links."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from subsidy.web import i18n
from subsidy.web.paging import Pager
from subsidy.web.templating import templates


@given(total=st.integers(0, 5_000), size=st.integers(1, 300))
def test_the_pages_show_every_row_once(total: int, size: int) -> None:
    first = Pager(1, size, total, "/x", ())
    shown: list[int] = []
    for page in range(1, first.pages + 1):
        pager = Pager(page, size, total, "/x", ())
        rows = list(range(pager.offset, min(pager.offset + pager.size, total)))
        assert (pager.first, pager.last) == ((rows[0] + 1, rows[-1] + 1) if rows else (0, 0))
        shown += rows
    assert shown == list(range(total))


def test_a_link_keeps_the_query_and_changes_only_its_page() -> None:
    pager = Pager(2, 50, 500, "/audit", (("actor", "finance:*"), ("page", "2"), ("held", "3")))
    assert pager.url(3) == "/audit?actor=finance%3A%2A&held=3&page=3"
    review = Pager(1, 50, 500, "/review", (("held", "3"),), param="returned")
    assert review.url(2) == "/review?held=3&returned=2"


def test_an_empty_list_has_no_pager_under_it() -> None:
    pager_of = templates.env.get_template("_pager.html")
    words = i18n.Translator("zh")
    empty = pager_of.render(t=words.t, pager=Pager(1, 50, 0, "/review", ()), pager_id="p")
    assert "<nav" not in empty
    some = pager_of.render(t=words.t, pager=Pager(1, 50, 3, "/review", ()), pager_id="p")
    assert "第 1–3 条，共 3 条" in some
