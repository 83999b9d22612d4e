"""Paged order lookups that are complete or raise.

A lookup decides money: "absent" leads to a resend, so an answer that may be missing orders must
never read as absent. `complete_pages` reads every page and returns the orders only when the
answer is provably complete and filtered:

- every page carries the total (`resultsTotal`), and the total does not move while paging;
- every order matches the filter that was asked for (an order without the field, or with another
  value, means the server ignored the filter);
- the pages add up to exactly the total, no order twice: a page shorter than the page size while
  the total says more remain, or pages that end early, mean orders are missing;
- it ends within `max_pages`.

Anything else raises `IncompleteLookupError` with a `reason` (see `shanjing.errors`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shanjing.errors import IncompleteLookupError
from shanjing.models import OrderQueryPage, PurchaseOrder

__all__ = ["PageFetch", "complete_pages"]

#: fetch(page_no, page_size) -> (the page, the request id)
PageFetch = Callable[[int, int], Awaitable[tuple[OrderQueryPage, str]]]


async def complete_pages(
    fetch: PageFetch,
    matches: Callable[[PurchaseOrder], bool],
    *,
    what: str,
    page_size: int,
    max_pages: int,
) -> list[PurchaseOrder]:
    """Every order of a paged query, or IncompleteLookupError. `what` names the lookup."""
    orders: list[PurchaseOrder] = []
    seen: set[str] = set()
    total: int | None = None
    for page_no in range(1, max_pages + 1):
        page, rid = await fetch(page_no, page_size)

        def incomplete(reason: str, detail: str, rid: str = rid) -> IncompleteLookupError:
            return IncompleteLookupError("query", rid, f"{what}: {detail}", reason=reason)

        if page.total is None:
            raise incomplete("NO_TOTAL", f"page {page_no} has no resultsTotal")
        if total is None:
            total = page.total
        elif page.total != total:
            raise incomplete("SHORT_PAGE", f"the total moved from {total} to {page.total}")
        for order in page.orders:
            if not matches(order):
                raise incomplete(
                    "FILTER_IGNORED", f"order {order.purchase_id} does not match the filter"
                )
            if order.purchase_id in seen:
                raise incomplete("SHORT_PAGE", f"order {order.purchase_id} came back twice")
            seen.add(order.purchase_id)
            orders.append(order)
        if len(orders) > total:
            raise incomplete("SHORT_PAGE", f"{len(orders)} orders for a total of {total}")
        if len(orders) == total:
            return orders
        # the server's own page size, when it says so: a server that caps it pages by its cap
        size = page.page_size if 0 < page.page_size <= page_size else page_size
        if len(page.orders) < size:
            raise incomplete(
                "SHORT_PAGE",
                f"page {page_no} has {len(page.orders)} of {size} orders while "
                f"{total - len(orders)} more should follow",
            )
    raise IncompleteLookupError(
        "query",
        None,
        f"{what}: more than {max_pages} pages of {page_size}",
        reason="PAGE_CAP",
    )
