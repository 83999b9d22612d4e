"""The async Shanjing API client: typed endpoints over one shared connection pool.

    async with ShanjingClient(base_url, TokenManager(FileTokenStore(path))) as client:
        product = await client.get_product("718293045561")
        result = await client.create_order(request)

The machinery (retries, refresh, counters) is `shanjing.session.ApiSession`; what a
`success=false` answer means is decided in `shanjing.envelope`; lookups that must be complete or
raise page through `shanjing.lookup`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from shanjing.envelope import envelope_error, failure_of, normalised, parse_model
from shanjing.lookup import complete_pages
from shanjing.models import (
    Address,
    CreateOrderRequest,
    CreateResult,
    OrderQueryPage,
    Product,
    PurchaseOrder,
    RenderItem,
    RenderResult,
    embedded_json,
    parse_bool,
)
from shanjing.session import ApiSession, ClientStats

__all__ = ["DEFAULT_CANCEL_REASON", "ClientStats", "ShanjingClient"]

log = logging.getLogger("shanjing")

DEFAULT_CANCEL_REASON = "cancelled by purchase-sync"
QUERY_PAGE_MAX = 50
#: pages one purchase's lookup may take (50 orders each) before it is called incomplete
LOOKUP_MAX_PAGES = 20


class ShanjingClient(ApiSession):
    """Typed access to the Shanjing endpoints with the retry rules of `shanjing.retry`.

    Use as an async context manager (it owns a connection pool). `deadline` bounds one call,
    retries and waits included (default: four times `timeout`). `transport` also accepts an
    `httpx.AsyncBaseTransport` (e.g. `httpx.MockTransport` in tests).
    """

    async def get_product(self, item_id: str, source_market: str | None = None) -> Product:
        """Collision lookup: the pool ids (`mp_id`, SKU `mp_sku_id`) of an original item.

        `source_market=None` targets Taobao/Tmall; "CBU_MARKET" targets 1688.
        """
        params = {"item_id": str(item_id)}
        if source_market:
            params["item_source_market"] = source_market
        data, rid = await self._call("product", params=params)
        return parse_model(Product, data, "product", rid)

    async def render_order(
        self,
        items: list[RenderItem],
        receiver: Address,
        warehouse: Address | None = None,
        need_supplychain_service: bool = False,
    ) -> RenderResult:
        """Pre-price SKUs: per-supplier prices and fees, and which SKUs cannot be bought."""
        if not items:
            raise ValueError("render_order needs at least one item")
        body: dict[str, Any] = {
            "need_supplychain_service": need_supplychain_service,
            "render_item_List": embedded_json([item.to_wire() for item in items]),
            "receiver_address": receiver.to_wire(),
        }
        if warehouse is not None:
            body["warehouse_address"] = warehouse.to_wire()
        data, rid = await self._call("render", body=body)
        return parse_model(RenderResult, data, "render", rid)

    async def create_order(self, req: CreateOrderRequest) -> CreateResult:
        """Create one purchase. Never resent after a 5xx or transport error (see `shanjing.retry`):
        those raise at once and the ledger reconciles by `outer_purchase_id`."""
        data, rid = await self._call("create", body=req.to_body())
        result = parse_model(CreateResult, data, "create", rid)
        inner = normalised(data)
        if not result.orders and "success" in inner and not _readable_true(inner["success"]):
            code, message = failure_of(inner)
            error = envelope_error("create", rid, code, message or "success=false, no orders")
            self._count_failure(error)
            raise error
        log.info(
            "create %s: %d supplier order(s) [request %s]",
            req.outer_purchase_id,
            len(result.orders),
            rid,
        )
        return result

    async def cancel_order(
        self,
        purchase_id: str,
        sub_purchase_order_ids: list[str] | None = None,
        reason: str = DEFAULT_CANCEL_REASON,
        remark: str = "",
    ) -> None:
        """Ask for a cancel (asynchronous: the query shows `TRADE_CLOSED` once it is done)."""
        body: dict[str, Any] = {"purchase_id": str(purchase_id)}
        if sub_purchase_order_ids:
            body["sub_purchase_orderId_list"] = [str(s) for s in sub_purchase_order_ids]
        body["cancel_reason"] = reason
        body["cancel_remark"] = remark
        await self._call("cancel", body=body)

    async def query_orders(
        self,
        *,
        outer_purchase_id: str | None = None,
        purchase_ids: list[str] | None = None,
        status: str | None = None,
        modify_time_start: int | None = None,
        modify_time_end: int | None = None,
        page_no: int = 1,
        page_size: int = 20,
        sort_type: str | None = None,
        sort_field: str | None = None,
    ) -> OrderQueryPage:
        """One page of purchase orders; times are epoch milliseconds (start inclusive, end
        exclusive). One page proves nothing about the others: the lookups below read them all."""
        filters = _query_filters(
            outer_purchase_id=outer_purchase_id,
            purchase_ids=purchase_ids,
            status=status,
            modify_time_start=modify_time_start,
            modify_time_end=modify_time_end,
            sort_type=sort_type,
            sort_field=sort_field,
        )
        page, _rid = await self._query(_page_params(filters, page_no, page_size))
        return page

    async def _query(self, params: dict[str, str]) -> tuple[OrderQueryPage, str]:
        data, rid = await self._call("query", params=params)
        return parse_model(OrderQueryPage, data, "query", rid), rid

    async def _all_pages(
        self,
        filters: dict[str, str],
        matches: Callable[[PurchaseOrder], bool],
        what: str,
        page_size: int,
        max_pages: int,
    ) -> list[PurchaseOrder]:
        async def fetch(page_no: int, size: int) -> tuple[OrderQueryPage, str]:
            return await self._query(_page_params(filters, page_no, size))

        return await complete_pages(
            fetch, matches, what=what, page_size=page_size, max_pages=max_pages
        )

    async def find_by_outer_id(
        self, outer_purchase_id: str, *, max_pages: int = LOOKUP_MAX_PAGES
    ) -> list[PurchaseOrder]:
        """Every supplier order created for one purchase, for reconciliation: complete or raise.

        The orders are returned only when the answer is complete and filtered (every page read,
        the total known, every order carrying exactly this `outer_purchase_id`); an empty list
        therefore means absent. Anything less raises `IncompleteLookupError`: guessing either
        way risks a duplicate or a lost purchase.
        """
        return await self._all_pages(
            {"outer_purchase_id": outer_purchase_id},
            lambda order: order.outer_purchase_id == outer_purchase_id,
            f"lookup of outer_purchase_id {outer_purchase_id}",
            QUERY_PAGE_MAX,
            max_pages,
        )

    async def find_by_purchase_ids(
        self, purchase_ids: Iterable[str], *, batch_size: int = QUERY_PAGE_MAX
    ) -> list[PurchaseOrder]:
        """The purchase orders with these ids, `batch_size` ids per query: complete or raise.

        Batches run one after another (callers bound their own concurrency); each must come back
        complete and holding only asked-for ids, else `IncompleteLookupError`. An id missing from
        the result is absent upstream. With the default batch of 50 (the page size), a batch is
        one call: ceil(n / 50) calls in all.
        """
        if not 1 <= batch_size <= QUERY_PAGE_MAX:
            raise ValueError(f"batch_size must be 1..{QUERY_PAGE_MAX}")
        ids = list(dict.fromkeys(str(p) for p in purchase_ids))
        found: list[PurchaseOrder] = []
        for i in range(0, len(ids), batch_size):
            batch = ids[i : i + batch_size]
            found += await self._all_pages(
                _query_filters(purchase_ids=batch),
                _one_of(frozenset(batch)),
                f"lookup of {len(batch)} purchase id(s) from {batch[0]}",
                QUERY_PAGE_MAX,
                LOOKUP_MAX_PAGES,
            )
        return found

    async def iter_orders(
        self,
        *,
        modify_time_start: int,
        modify_time_end: int,
        status: str | None = None,
        page_size: int = QUERY_PAGE_MAX,
        max_pages: int = 10_000,
    ) -> list[PurchaseOrder]:
        """Every order modified in [start, end) (epoch ms), oldest change first: all pages,
        complete or raise (`IncompleteLookupError`), like `find_by_outer_id`.

        Give an end at least a little in the past: an order that changes while the pages are read
        moves out of a window that reaches now, which shows as a moving total and raises.
        """
        if modify_time_end <= modify_time_start:
            raise ValueError("modify_time_end must be after modify_time_start")

        def matches(order: PurchaseOrder) -> bool:
            t = order.modify_time
            return (
                t is not None
                and modify_time_start <= t < modify_time_end
                and (status is None or order.status == status)
            )

        return await self._all_pages(
            _query_filters(
                status=status,
                modify_time_start=modify_time_start,
                modify_time_end=modify_time_end,
                sort_type="ASC",
                sort_field="modify_time",
            ),
            matches,
            f"orders modified in [{modify_time_start}, {modify_time_end})",
            page_size,
            max_pages,
        )


def _one_of(purchase_ids: frozenset[str]) -> Callable[[PurchaseOrder], bool]:
    return lambda order: order.purchase_id in purchase_ids


def _query_filters(
    *,
    outer_purchase_id: str | None = None,
    purchase_ids: list[str] | None = None,
    status: str | None = None,
    modify_time_start: int | None = None,
    modify_time_end: int | None = None,
    sort_type: str | None = None,
    sort_field: str | None = None,
) -> dict[str, str]:
    """The order query's filter parameters, as the wire wants them."""
    params: dict[str, str] = {}
    if outer_purchase_id is not None:
        params["outer_purchase_id"] = outer_purchase_id
    if purchase_ids:
        params["purchase_ids"] = json.dumps([int(p) for p in purchase_ids])
    if status is not None:
        params["status"] = status
    if modify_time_start is not None:
        params["modify_time_start"] = str(modify_time_start)
    if modify_time_end is not None:
        params["modify_time_end"] = str(modify_time_end)
    if sort_type is not None:
        params["sort_type"] = sort_type
    if sort_field is not None:
        params["sort_field"] = sort_field
    return params


def _page_params(filters: dict[str, str], page_no: int, page_size: int) -> dict[str, str]:
    return {**filters, "page_no": str(page_no), "page_size": str(page_size)}


def _readable_true(value: Any) -> bool:
    """`data.success` as a boolean; an unreadable flag is not taken as a failure."""
    try:
        return parse_bool(value)
    except ValueError:
        return True
