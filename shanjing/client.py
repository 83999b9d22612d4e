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
    ) -> OrderQueryPage:
        """One page of purchase orders; times are epoch milliseconds."""
        params: dict[str, str] = {"page_no": str(page_no), "page_size": str(page_size)}
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
        page, _rid = await self._query(params)
        return page

    async def _query(self, params: dict[str, str]) -> tuple[OrderQueryPage, str]:
        data, rid = await self._call("query", params=params)
        return parse_model(OrderQueryPage, data, "query", rid), rid

    async def find_by_outer_id(
        self, outer_purchase_id: str, *, max_pages: int = LOOKUP_MAX_PAGES
    ) -> list[PurchaseOrder]:
        """Every supplier order created for one purchase, for reconciliation: complete or raise.

        The orders are returned only when the answer is complete and filtered (every page read,
        the total known, every order carrying exactly this `outer_purchase_id`); an empty list
        therefore means absent. Anything less raises `IncompleteLookupError`: guessing either
        way risks a duplicate or a lost purchase.
        """
        params = {"outer_purchase_id": outer_purchase_id}

        async def fetch(page_no: int, page_size: int) -> tuple[OrderQueryPage, str]:
            return await self._query(_page_params(params, page_no, page_size))

        return await complete_pages(
            fetch,
            lambda order: order.outer_purchase_id == outer_purchase_id,
            what=f"lookup of outer_purchase_id {outer_purchase_id}",
            page_size=QUERY_PAGE_MAX,
            max_pages=max_pages,
        )


def _page_params(filters: dict[str, str], page_no: int, page_size: int) -> dict[str, str]:
    return {**filters, "page_no": str(page_no), "page_size": str(page_size)}


def _readable_true(value: Any) -> bool:
    """`data.success` as a boolean; an unreadable flag is not taken as a failure."""
    try:
        return parse_bool(value)
    except ValueError:
        return True
