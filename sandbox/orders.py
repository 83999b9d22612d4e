"""The endpoints that change orders: create and cancel.

Each handler validates the request and returns the work as a `Commit` (see `sandbox.pipeline`),
so the fault pipeline decides when it happens: now, after the client gave up (late commit), or
before an answer that proves nothing (lost response, error envelope after commit). What happens
to an order after that (payment wait, auto-close, shipping, the asynchronous cancel) is
`sandbox.lifecycle`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox import lifecycle
from sandbox.catalog import Item, Sku
from sandbox.lifecycle import BUILDING, SHIPPED, WAIT_PAY, ms
from sandbox.pipeline import Commit
from sandbox.products import check_lines, unavailable_reason
from sandbox.state import SandboxState
from sandbox.store import StoredOrder, mix64
from sandbox.wire import Rejection, check_address, json_body, parse_id, parse_line_list

CANCEL_OK = {"success": True, "errorCode": None, "errorMsg": None}


async def create(s: SandboxState, request: web.Request) -> dict[str, Any] | Commit:
    body = await json_body(request)
    outer = body.get("outer_purchase_id")
    if not isinstance(outer, str) or not outer.strip():
        raise Rejection("INVALID_PARAMETER", "outer_purchase_id must be a non-empty string")
    amount = body.get("purchase_amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise Rejection("INVALID_PARAMETER", "purchase_amount must be an integer (fen) >= 0")
    lines = check_lines(parse_line_list(body, "order_line_list"), "order_line_list", True)
    receiver = check_address(body.get("receiver"), "receiver", strict=True)
    store = s.orders
    if s.config.dedupe_outer_id and outer in store.by_outer:
        s.stats.n["creates_deduplicated"] += 1
        await store.commit()  # the first create may still be in flight to disk
        return _create_reply(outer, [store.orders[p] for p in store.by_outer[outer]])
    groups: dict[int, list[tuple[dict[str, Any], Item, Sku, int, int, int]]] = {}
    for n, (line, mp_id, mp_sku, qty) in enumerate(lines):
        found = s.catalog.mp_sku(mp_id, mp_sku)
        if found is None:
            raise Rejection(
                "SKU_NOT_FOUND",
                f"order_line_list[{n}]: itemId {mp_id} / skuId {mp_sku} is not a pool sku",
            )
        item, sku = found
        reason = unavailable_reason(sku, qty)
        if reason is not None:
            raise Rejection("SKU_UNAVAILABLE", f"order_line_list[{n}]: {reason}")
        if "productId" in line:
            pid = parse_id(line["productId"], f"order_line_list[{n}].productId")
            if pid != item.item_id:
                raise Rejection(
                    "INVALID_PARAMETER",
                    f"order_line_list[{n}].productId {pid} is not the item of itemId {mp_id}",
                )
        groups.setdefault(item.supplier.index, []).append((line, item, sku, mp_id, mp_sku, qty))
    extra = {
        "sellerOrderNumber": str(body.get("seller_order_number") or ""),
        "orderSource": str(body.get("order_source") or ""),
        "receiver": receiver,
    }

    async def commit() -> dict[str, Any]:
        stored = _store_orders(s, outer, list(groups.values()), extra)
        for order in stored:
            lifecycle.schedule(s, order)
        await store.commit()
        s.stats.n["creates_committed"] += 1
        s.stats.n["purchase_orders_committed"] += len(stored)
        return _create_reply(outer, stored)

    return commit


def _store_orders(
    s: SandboxState,
    outer: str,
    groups: list[list[tuple[dict[str, Any], Item, Sku, int, int, int]]],
    extra: dict[str, Any],
) -> list[StoredOrder]:
    """One purchase order per supplier: ids assigned, indexed now, durable at the next commit."""
    store = s.orders
    create_no = store.next_create_no()
    seed = s.config.seed
    now = s.clock.now_ms()
    close_at = now + ms(s.config.auto_close_s)
    building = ms(s.config.building_s)
    status = BUILDING if building else WAIT_PAY
    pay_url = f"https://sandbox.invalid/pay/{mix64(create_no, seed):016x}"
    stored = []
    for group in groups:
        pid = store.next_purchase_id(seed)
        sup = group[0][1].supplier
        subs = []
        for line, item, sku, mp_id, mp_sku, qty in group:
            sub_id = store.next_sub_id(seed)
            title = line.get("title")
            subs.append(
                {
                    "subPurchaseOrderId": sub_id,
                    "itemId": str(mp_id),
                    "skuId": mp_sku,
                    "title": title if isinstance(title, str) and title else item.title,
                    "quantity": qty,
                    "status": status,
                    "closeReason": None,
                    "purchaseAmount": sku.promotion_price * qty,
                    "purchaseCurrency": "CNY",
                    "closeTimeWithoutPayment": close_at,
                    "refundStatus": 0,
                    "logisticOrders": [],
                    "orderLineNo": line["orderLineNo"],
                }
            )
        total = sum(sub["purchaseAmount"] for sub in subs) + sup.delivery_fee
        doc = {
            "purchaseId": pid,
            "outerPurchaseId": outer,
            "sellerOrderNumber": extra["sellerOrderNumber"],
            "orderSource": extra["orderSource"],
            "status": status,
            "supplierNick": sup.nick,
            "sourceMarket": group[0][1].market,
            "purchaseAmount": total,
            "purchaseCurrency": "CNY",
            "payAmount": str(total),
            "payCurrency": "CNY",
            "createdTime": now,
            "modifyTime": now,
            "payTime": None,
            "nextCloseTimeWithoutPayment": close_at,
            "paymentUrl": pay_url,
            "receiver": extra["receiver"],
            "deliveryFee": sup.delivery_fee,
            "subPurchaseOrders": subs,
        }
        if building:
            doc["_buildUntil"] = now + building
        order = store.add(doc, create_no)
        s.changed(order, new=True)
        stored.append(order)
    return stored


async def cancel(s: SandboxState, request: web.Request) -> Commit:
    body = await json_body(request)
    if "purchase_id" not in body:
        raise Rejection("INVALID_PARAMETER", "purchase_id is required")
    pid = parse_id(body["purchase_id"], "purchase_id")
    subs_raw = body.get("sub_purchase_orderId_list")
    if subs_raw is None:
        wanted: list[int] = []
    elif isinstance(subs_raw, list):
        wanted = [parse_id(x, "sub_purchase_orderId_list[]") for x in subs_raw]
    else:
        raise Rejection("INVALID_PARAMETER", "sub_purchase_orderId_list must be an array")
    reason = body.get("cancel_reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Rejection("INVALID_PARAMETER", "cancel_reason must be a non-empty string")
    lifecycle.advance(s)  # judge the cancel on the order as it is now
    store = s.orders
    order = store.orders.get(pid)
    if order is None:
        raise Rejection("PURCHASE_NOT_FOUND", f"purchase {pid} not found")
    subs = order.doc["subPurchaseOrders"]
    known = {sub["subPurchaseOrderId"]: sub for sub in subs}
    missing = [w for w in wanted if w not in known]
    if missing:
        raise Rejection("PURCHASE_NOT_FOUND", f"sub-order {missing[0]} is not in purchase {pid}")
    targets = [known[w] for w in wanted] if wanted else subs
    shipped = [sub["subPurchaseOrderId"] for sub in targets if sub["status"] == SHIPPED]
    if shipped:
        raise Rejection(
            "CANCEL_NOT_ALLOWED", f"sub-order {shipped[0]} has shipped: it cannot be cancelled"
        )

    async def commit() -> dict[str, Any]:
        if any(sub["status"] != lifecycle.CLOSED for sub in targets):  # closed ones: a no-op
            lifecycle.request_cancel(s, order, wanted, reason)
            await store.commit()
        s.stats.n["cancels_committed"] += 1
        return dict(CANCEL_OK)

    return commit


def _create_reply(outer: str, orders: list[StoredOrder]) -> dict[str, Any]:
    order_list = []
    for o in orders:
        d = o.doc
        nick = d["supplierNick"]
        order_list.append(
            {
                "purchaseId": d["purchaseId"],
                "supplierNick": nick,
                "sourceMarket": d["sourceMarket"],
                "estimateAmount": d["purchaseAmount"],
                "estimateCurrency": "CNY",
                "orderLineList": [
                    {
                        "orderLineNo": sub["orderLineNo"],
                        "itemId": sub["itemId"],
                        "skuId": sub["skuId"],
                        "quantity": sub["quantity"],
                        "supplierNick": nick,
                        "estimateAmount": sub["purchaseAmount"],
                        "estimateCurrency": "CNY",
                        "subPurchaseOrderId": sub["subPurchaseOrderId"],
                    }
                    for sub in d["subPurchaseOrders"]
                ],
            }
        )
    return {
        "success": True,
        "errorCode": None,
        "errorMsg": None,
        "data": {
            "outerPurchaseId": outer,
            "paymentUrl": orders[0].doc["paymentUrl"],
            "success": True,
            "orderList": order_list,
        },
    }
