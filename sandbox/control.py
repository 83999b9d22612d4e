"""The sandbox-only control endpoints (`/_sandbox/...`, no auth): health, counters, the stored
orders, the catalog, options, tokens, reset, and the lifecycle controls (clock, pay, refund)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox import lifecycle
from sandbox.catalog import CBU, TB, item_json
from sandbox.lifecycle import ControlError
from sandbox.state import SandboxState
from sandbox.store import StoredOrder
from sandbox.wire import Rejection, dumps, optional_json, parse_id


def _order_summary(order: StoredOrder, lines: bool) -> dict[str, Any]:
    d = order.doc
    out = {
        "purchase_id": str(d["purchaseId"]),
        "outer_purchase_id": d["outerPurchaseId"],
        "create_no": order.create_no,
        "status": d["status"],
        "supplier_nick": d["supplierNick"],
        "purchase_amount": d["purchaseAmount"],
        "created_time": d["createdTime"],
    }
    if not lines:
        return out
    out["lines"] = [
        {
            "order_line_no": s.get("orderLineNo"),
            "sub_purchase_order_id": str(s["subPurchaseOrderId"]),
            "item_id": str(s["itemId"]),
            "sku_id": str(s["skuId"]),
            "quantity": s["quantity"],
            "status": s["status"],
        }
        for s in d["subPurchaseOrders"]
    ]
    return out


def _orders_json(s: SandboxState, outer: str | None, lines: bool) -> bytes:
    """`/_sandbox/orders`: entries are cached per order, so repeated calls stay cheap."""
    store = s.orders
    if outer is None:
        orders: Any = store.orders.values()
    else:
        orders = [store.orders[p] for p in store.by_outer.get(outer, [])]
    if not lines:
        return dumps([_order_summary(o, lines=False) for o in orders])
    parts = []
    for o in orders:
        if o.summary is None:
            o.summary = dumps(_order_summary(o, lines=True))
        parts.append(o.summary)
    return b"[" + b",".join(parts) + b"]"


class Control:
    """Handlers of the control endpoints, bound to one sandbox's state."""

    def __init__(self, state: SandboxState) -> None:
        self.s = state

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_sandbox/health", self.health),
            web.get("/_sandbox/stats", self.stats),
            web.get("/_sandbox/orders", self.orders),
            web.get("/_sandbox/catalog", self.catalog),
            web.get("/_sandbox/config", self.get_config),
            web.post("/_sandbox/config", self.set_config),
            web.post("/_sandbox/tokens/expire", self.expire),
            web.post("/_sandbox/reset", self.reset),
            web.get("/_sandbox/clock", self.get_clock),
            web.post("/_sandbox/clock", self.move_clock),
            web.post("/_sandbox/pay", self.pay),
            web.post("/_sandbox/refund", self.refund),
        ]

    async def _settle(self) -> None:
        """Apply the status changes due by now, so control reads see the current orders."""
        if lifecycle.advance(self.s):
            await self.s.orders.commit()

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def stats(self, request: web.Request) -> web.Response:
        s = self.s
        return web.json_response(s.stats.as_dict(s.inflight, s.orders, s.clock))

    async def orders(self, request: web.Request) -> web.Response:
        outer = request.query.get("outer_purchase_id")
        lines = request.query.get("lines", "1").lower() not in ("0", "false", "no")
        await self._settle()
        return web.Response(
            body=_orders_json(self.s, outer, lines), content_type="application/json"
        )

    async def catalog(self, request: web.Request) -> web.Response:
        s = self.s
        raw = request.query.get("item_id")
        if raw is None:
            if s.catalog_dump is None:
                s.catalog_dump = dumps([item_json(i) for i in s.catalog.items()])
            return web.Response(body=s.catalog_dump, content_type="application/json")
        market = CBU if request.query.get("market", "").upper() in ("CBU", "CBU_MARKET") else TB
        item = s.catalog.product(int(raw), market) if raw.isdigit() else None
        if item is None:
            return web.json_response({"ok": False, "error": "no such item"}, status=404)
        return web.Response(body=dumps(item_json(item)), content_type="application/json")

    async def get_config(self, request: web.Request) -> web.Response:
        return web.json_response(self.s.config.public_dict())

    async def set_config(self, request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("body must be a JSON object of option -> value")
            self.s.update_config(changes)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            return _refused(exc)
        return web.json_response(self.s.config.public_dict())

    async def expire(self, request: web.Request) -> web.Response:
        opts = await optional_json(request)
        self.s.tokens.expire(refresh=bool(opts.get("refresh")))
        return web.json_response({"ok": True})

    async def reset(self, request: web.Request) -> web.Response:
        opts = await optional_json(request)
        await self.s.reset(restore_config=bool(opts.get("config")))
        return web.json_response({"ok": True})

    async def get_clock(self, request: web.Request) -> web.Response:
        return web.json_response(self.s.clock.as_dict())

    async def move_clock(self, request: web.Request) -> web.Response:
        """`{"advance_s": X}` or `{"offset_s": X}`; then every change due by then happens."""
        opts = await optional_json(request)
        try:
            self.s.clock.move(
                advance_s=_number(opts, "advance_s"), offset_s=_number(opts, "offset_s")
            )
        except ValueError as exc:
            return _refused(exc)
        await self._settle()
        return web.json_response(self.s.clock.as_dict())

    async def pay(self, request: web.Request) -> web.Response:
        """`{"purchase_ids": [...]}`: WAIT_BUYER_P -> WAIT_SELLER_SEND_GOODS, all or none."""
        opts = await optional_json(request)
        try:
            raw = opts.get("purchase_ids")
            if not isinstance(raw, list) or not raw:
                raise ControlError("purchase_ids must be a non-empty array")
            paid = lifecycle.pay(self.s, [_id(x, "purchase_ids[]") for x in raw])
        except ControlError as exc:
            return _refused(exc)
        await self.s.orders.commit()
        return web.json_response(
            {"ok": True, "paid": [str(o.doc["purchaseId"]) for o in paid], **self.s.clock.as_dict()}
        )

    async def refund(self, request: web.Request) -> web.Response:
        """`{"sub_purchase_order_id": X, "refund_status": N}` (upstream's integer codes)."""
        opts = await optional_json(request)
        try:
            status = opts.get("refund_status")
            if not isinstance(status, int) or isinstance(status, bool):
                raise ControlError("refund_status must be an integer")
            sub_id = _id(opts.get("sub_purchase_order_id"), "sub_purchase_order_id")
            order = lifecycle.set_refund_status(self.s, sub_id, status)
        except ControlError as exc:
            return _refused(exc)
        await self.s.orders.commit()
        return web.json_response({"ok": True, "purchase_id": str(order.doc["purchaseId"])})


def _refused(exc: Exception) -> web.Response:
    return web.json_response({"ok": False, "error": str(exc)}, status=400)


def _number(opts: dict[str, Any], key: str) -> float | None:
    value = opts.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number of seconds")
    return float(value)


def _id(value: Any, name: str) -> int:
    try:
        return parse_id(value, name)
    except Rejection as exc:
        raise ControlError(exc.msg) from None
