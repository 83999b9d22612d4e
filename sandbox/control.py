"""The sandbox-only control endpoints (`/_sandbox/...`, no auth): health, counters, the stored
orders, the catalog, options, tokens and reset."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.catalog import CBU, TB, item_json
from sandbox.state import SandboxState
from sandbox.store import StoredOrder
from sandbox.wire import dumps, optional_json


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
        ]

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def stats(self, request: web.Request) -> web.Response:
        s = self.s
        return web.json_response(s.stats.as_dict(s.inflight, s.orders))

    async def orders(self, request: web.Request) -> web.Response:
        outer = request.query.get("outer_purchase_id")
        lines = request.query.get("lines", "1").lower() not in ("0", "false", "no")
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
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response(self.s.config.public_dict())

    async def expire(self, request: web.Request) -> web.Response:
        opts = await optional_json(request)
        self.s.tokens.expire(refresh=bool(opts.get("refresh")))
        return web.json_response({"ok": True})

    async def reset(self, request: web.Request) -> web.Response:
        opts = await optional_json(request)
        await self.s.reset(restore_config=bool(opts.get("config")))
        return web.json_response({"ok": True})
