"""The emulator itself: aiohttp handlers for the wire contract (docs/wire-contract.md).

Every `/rest/taobao-global/...` request goes through one pipeline, in this order:
in-flight cap (429) -> 429 fault -> [latency window opens] reset fault -> 5xx fault -> auth ->
the endpoint -> [window closes] -> lost-response fault. 429s are answered at once, as a gateway
would; a reset or a 5xx means nothing was done; a lost response means the work was done (and
committed) first. The latency runs from arrival and includes the work, like a real server's.
Fault decisions come from one seeded `random.Random`, drawn the same way for every request, so a
sequential run is reproducible.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import struct
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.catalog import CBU, TB, Catalog, Item, Sku, get_catalog, item_json
from sandbox.config import STARTUP_ONLY, SandboxConfig
from sandbox.store import OrderStore, StoredOrder, mix64

PREFIX = "/rest/taobao-global"
PATHS: dict[str, tuple[str, str]] = {
    "refresh": ("GET", "/auth/token/refresh"),
    "product": ("GET", "/product/get"),
    "render": ("POST", "/purchase/order/render"),
    "create": ("POST", "/purchase/order/create"),
    "cancel": ("POST", "/purchase/order/asyn/cancel"),
    "query": ("GET", "/purchase/orders/query"),
}
AUTH_MSG = "The specified access token is invalid or expired"
DAY_MS = 86_400_000
MAX_PAGE_SIZE = 50
_ID_RE = re.compile(r"[0-9]{1,20}")
_SNAKE_RE = re.compile(r"(?<!^)(?=[A-Z])")

STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state")
Handler = Callable[[web.Request], Awaitable[dict[str, Any]]]


class Rejection(Exception):
    """A business failure: answered as HTTP 200 `success=false` with this code."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(code)
        self.code = code
        self.msg = msg


# --- wire helpers -------------------------------------------------------------------------------

_snake_cache: dict[str, str] = {}


def _snake(key: str) -> str:
    out = _snake_cache.get(key)
    if out is None:
        out = _snake_cache[key] = _SNAKE_RE.sub("_", key).lower()
    return out


def _restyle(value: Any, snake: bool, success_str: bool) -> Any:
    """camelCase -> snake_case keys and/or `success` as a string, in every nested object."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if success_str and k == "success" and isinstance(v, bool):
                v = "true" if v else "false"
            out[_snake(k) if snake else k] = _restyle(v, snake, success_str)
        return out
    if isinstance(value, list):
        return [_restyle(v, snake, success_str) for v in value]
    return value


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _parse_id(value: Any, name: str) -> int:
    """An id given as a JSON integer or a digit string; floats are refused (they lose digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _ID_RE.fullmatch(value):
        return int(value)
    raise Rejection("INVALID_PARAMETER", f"{name} must be an integer id or a digit string")


def _parse_qty(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        qty = value
    elif isinstance(value, str) and value.isdigit() and value.isascii():
        qty = int(value)
    else:
        raise Rejection("INVALID_PARAMETER", f"{name} must be a positive integer")
    if qty <= 0:
        raise Rejection("INVALID_PARAMETER", f"{name} must be a positive integer")
    return qty


def _parse_line_list(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    if key not in body:
        raise Rejection("INVALID_PARAMETER", f"{key} is required")
    raw = body[key]
    if not isinstance(raw, str):
        raise Rejection("ORDER_LINE_LIST_MALFORMED", f"{key} must be a string holding a JSON array")
    try:
        lines = json.loads(raw)
    except ValueError:
        raise Rejection("ORDER_LINE_LIST_MALFORMED", f"{key} is not valid JSON") from None
    if not isinstance(lines, list) or not lines or not all(isinstance(x, dict) for x in lines):
        raise Rejection("ORDER_LINE_LIST_MALFORMED", f"{key} must be a non-empty array of objects")
    return lines


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


async def _sleep_until(loop: asyncio.AbstractEventLoop, due: float) -> None:
    delay = due - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _unavailable_reason(sku: Sku, qty: int) -> str | None:
    if sku.mp_sku_id is None:
        return "sku is not distributable (no mpSkuId)"
    if sku.status != "normal":
        return f"sku status is {sku.status}"
    if sku.stock < qty:
        return f"not enough stock ({sku.stock} < {qty})"
    return None


# --- state --------------------------------------------------------------------------------------


class Stats:
    """What the sandbox did, for `GET /_sandbox/stats`."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.rejections: Counter[str] = Counter()
        self.n: Counter[str] = Counter()
        self.max_inflight_seen = 0

    def as_dict(self, inflight: int, store: OrderStore) -> dict:
        n = self.n
        # an outer id created more than once has orders from more than one create call
        creates_per_outer = (
            len({store.orders[p].create_no for p in pids}) for pids in store.by_outer.values()
        )
        return {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "responses_by_status": {str(k): v for k, v in sorted(self.statuses.items())},
            "rate_limited": n["rate_limited"] + n["rate_limited_inflight"],
            "rate_limited_inflight": n["rate_limited_inflight"],
            "errors_5xx": n["errors_5xx"],
            "resets": n["resets"],
            "lost_responses": n["lost_responses"],
            "creates_committed": n["creates_committed"],
            "purchase_orders_committed": n["purchase_orders_committed"],
            "creates_deduplicated": n["creates_deduplicated"],
            "cancels_committed": n["cancels_committed"],
            "business_rejections": sum(self.rejections.values()),
            "rejections_by_code": dict(self.rejections),
            "auth_failures": n["auth_failures"],
            "refreshes": n["refreshes"],
            "refresh_failures": n["refresh_failures"],
            "inflight": inflight,
            "max_inflight_seen": self.max_inflight_seen,
            "orders_stored": len(store.orders),
            "outer_ids_stored": len(store.by_outer),
            "duplicate_outer_ids": sum(1 for c in creates_per_outer if c > 1),
        }


class SandboxState:
    """Config, catalog, order store, tokens, counters and the fault RNG of one sandbox."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial_config = config.model_copy()
        self.config = config.model_copy()
        self.catalog: Catalog = get_catalog()
        self.store: OrderStore | None = None
        self.stats = Stats()
        self.rng = random.Random(config.seed)
        # request ids: not the fault RNG (keeps fault draws reproducible), and not os.urandom,
        # whose syscall gives the GIL away to the store's writer thread on every request
        self.rng_ids = random.Random()
        self.inflight = 0
        self._catalog_dump: bytes | None = None
        self._init_tokens()

    # tokens ------------------------------------------------------------------------------------

    def _init_tokens(self) -> None:
        now = time.monotonic()
        # every access token ever issued -> monotonic expiry; expired ones stay known (refresh)
        self.access: dict[str, float] = {self.config.access_token: now + self.config.token_ttl_s}
        self.refresh_token = self.config.refresh_token
        self.refresh_expiry = now + self.config.refresh_ttl_s
        self._token_no = 0

    def token_valid(self, token: str | None) -> bool:
        exp = self.access.get(token) if token else None
        return exp is not None and time.monotonic() < exp

    def expire_tokens(self, refresh: bool) -> None:
        for tok in self.access:
            self.access[tok] = 0.0
        if refresh:
            self.refresh_expiry = 0.0

    def rotate(self) -> tuple[str, str]:
        self._token_no += 1
        salt = uuid.uuid4().hex
        access, refresh = f"sbx-at-{self._token_no}-{salt}", f"sbx-rt-{self._token_no}-{salt}"
        now = time.monotonic()
        self.access[access] = now + self.config.token_ttl_s
        self.refresh_token, self.refresh_expiry = refresh, now + self.config.refresh_ttl_s
        return access, refresh

    # control -----------------------------------------------------------------------------------

    async def reset(self, restore_config: bool) -> None:
        if restore_config:
            self.config = self.initial_config.model_copy()
        assert self.store is not None
        await self.store.clear()
        self.stats = Stats()
        self.rng.seed(self.config.seed)
        self._init_tokens()

    def update_config(self, changes: dict[str, Any]) -> None:
        fixed = sorted(set(changes) & STARTUP_ONLY)
        if fixed:
            raise ValueError(f"{fixed} can only be set at start-up")
        data = self.config.model_dump()
        data.update(changes)
        new = SandboxConfig.model_validate(data)
        if new.seed != self.config.seed:
            self.rng.seed(new.seed)
        self.config = new

    def catalog_dump(self) -> bytes:
        if self._catalog_dump is None:
            self._catalog_dump = _dumps([item_json(i) for i in self.catalog.items()])
        return self._catalog_dump

    def orders_json(self, outer: str | None, lines: bool) -> bytes:
        """`/_sandbox/orders`: entries are cached per order, so repeated calls stay cheap."""
        assert self.store is not None
        if outer is None:
            orders: Any = self.store.orders.values()
        else:
            orders = [self.store.orders[p] for p in self.store.by_outer.get(outer, [])]
        if not lines:
            return _dumps([_order_summary(o, lines=False) for o in orders])
        parts = []
        for o in orders:
            if o.summary is None:
                o.summary = _dumps(_order_summary(o, lines=True))
            parts.append(o.summary)
        return b"[" + b",".join(parts) + b"]"


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


# --- the pipeline -------------------------------------------------------------------------------


class Sandbox:
    """Binds the state to aiohttp routes."""

    def __init__(self, state: SandboxState) -> None:
        self.s = state

    # responses ---------------------------------------------------------------------------------

    def _respond(
        self,
        body: Any,
        rid: str,
        status: int = 200,
        restyle: bool = True,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        cfg = self.s.config
        if restyle and (cfg.key_style == "snake" or cfg.success_as_string):
            body = _restyle(body, cfg.key_style == "snake", cfg.success_as_string)
        hdrs = {"X-Request-Id": rid, "Content-Type": "application/json; charset=utf-8"}
        if headers:
            hdrs.update(headers)
        return web.Response(body=_dumps(body), status=status, headers=hdrs)

    def _failure(self, code: str, msg: str) -> dict[str, Any]:
        return {"success": False, "errorCode": code, "errorMsg": msg, "data": None}

    def _retry_after(self) -> str:
        v = self.s.config.retry_after_s
        return str(int(v)) if float(v).is_integer() else f"{v:g}"

    def _too_many(self, rid: str) -> web.Response:
        body = self._failure("TooManyRequests", "rate limited, retry later")
        return self._respond(body, rid, 429, headers={"Retry-After": self._retry_after()})

    def _server_error(self, rid: str, pick: float) -> web.Response:
        status = (500, 502, 503)[min(2, int(pick * 3))]
        hdrs = {"X-Request-Id": rid}
        if status == 500:
            return web.Response(text="Internal Server Error", status=500, headers=hdrs)
        if status == 502:
            html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
            return web.Response(text=html, status=502, content_type="text/html", headers=hdrs)
        hdrs["Retry-After"] = self._retry_after()
        body = _dumps(self._failure("ServiceUnavailable", "service busy"))
        return web.Response(body=body, status=503, content_type="application/json", headers=hdrs)

    @staticmethod
    def _drop(request: web.Request, reset: bool) -> web.Response:
        """Close the connection without a response (RST for a reset, FIN for a lost response)."""
        transport = request.transport
        if transport is not None:
            if reset:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        return web.Response(status=204)  # never sent: the transport is gone

    def rest(self, endpoint: str, handler: Handler, auth: bool = True) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            return await self._pipeline(request, endpoint, handler, auth)

        return serve  # type: ignore[return-value]

    async def _pipeline(
        self, request: web.Request, endpoint: str, handler: Handler, auth: bool
    ) -> web.Response:
        s = self.s
        cfg = s.config
        stats = s.stats
        stats.requests[endpoint] += 1
        rid = f"{s.rng_ids.getrandbits(128):032x}"
        if cfg.max_inflight is not None and s.inflight >= cfg.max_inflight:
            stats.n["rate_limited_inflight"] += 1
            stats.statuses[429] += 1
            return self._too_many(rid)
        s.inflight += 1
        stats.max_inflight_seen = max(stats.max_inflight_seen, s.inflight)
        try:
            rnd = s.rng.random
            u429, ureset, u5xx, ulose, upick, ujitter = rnd(), rnd(), rnd(), rnd(), rnd(), rnd()
            faulty = endpoint in cfg.fault_endpoints
            if faulty and u429 < cfg.rate_429:
                stats.n["rate_limited"] += 1
                stats.statuses[429] += 1
                return self._too_many(rid)
            # The latency is measured from arrival: the work happens inside it, as on a real
            # server, so a burst of requests does not queue behind one another's CPU time.
            loop = asyncio.get_running_loop()
            due = loop.time() + (cfg.latency_ms + cfg.jitter_ms * ujitter) / 1000
            if faulty and ureset < cfg.reset_rate:
                stats.n["resets"] += 1
                await _sleep_until(loop, due)
                return self._drop(request, reset=True)
            if faulty and u5xx < cfg.error_5xx_rate:
                stats.n["errors_5xx"] += 1
                response = self._server_error(rid, upick)
            elif auth and not s.token_valid(_bearer(request)):
                stats.n["auth_failures"] += 1
                response = self._respond(self._failure("IllegalAccessToken", AUTH_MSG), rid)
            else:
                try:
                    body = await handler(request)
                except Rejection as rej:
                    stats.rejections[rej.code] += 1
                    body = self._failure(rej.code, rej.msg)
                response = self._respond(body, rid, restyle=endpoint != "refresh")
            await _sleep_until(loop, due)
            if faulty and ulose < cfg.lose_response_rate:
                stats.n["lost_responses"] += 1
                return self._drop(request, reset=False)
            stats.statuses[response.status] += 1
            return response
        finally:
            s.inflight -= 1

    # endpoints ---------------------------------------------------------------------------------

    async def refresh(self, request: web.Request) -> dict[str, Any]:
        s = self.s
        if _bearer(request) not in s.access:
            s.stats.n["refresh_failures"] += 1
            return _refresh_failure("IllegalAccessToken", AUTH_MSG)
        given = request.query.get("refresh_token", "")
        if not given or given != s.refresh_token or time.monotonic() >= s.refresh_expiry:
            s.stats.n["refresh_failures"] += 1
            return _refresh_failure(
                "IllegalRefreshToken", "The specified refresh token is invalid or expired"
            )
        access, refresh = s.rotate()
        s.stats.n["refreshes"] += 1
        return {
            "expires_in": int(s.config.token_ttl_s),
            "access_token": access,
            "refresh_token": refresh,
            "refresh_expires_in": str(int(s.config.refresh_ttl_s)),
            "account_id": "sandbox",
            "user_Id": "2200000000001",
            "seller_Id": "2200000000001",
            "short_code": "SBX",
            "account_platform": "taobao",
            "account": "sandbox",
            "error_code": None,
        }

    async def product(self, request: web.Request) -> dict[str, Any]:
        raw = request.query.get("item_id")
        if raw is None or raw == "":
            raise Rejection("INVALID_PARAMETER", "item_id is required")
        item_id = _parse_id(raw, "item_id")
        market_param = request.query.get("item_source_market", "")
        if market_param == "":
            market = TB
        elif market_param == "CBU_MARKET":
            market = CBU
        else:
            raise Rejection(
                "INVALID_PARAMETER", "item_source_market must be CBU_MARKET or omitted (Taobao)"
            )
        item = self.s.catalog.product(item_id, market)
        if item is None:
            raise Rejection("ITEM_NOT_FOUND", f"item {item_id} not found in market {market}")
        if not item.in_pool:
            raise Rejection("ITEM_NOT_IN_POOL", f"item {item_id} is not in the distribution pool")
        return {
            "success": True,
            "errorCode": None,
            "errorMsg": None,
            "failItems": None,
            "data": _product_data(item),
        }

    async def _json_body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise Rejection("INVALID_PARAMETER", "body must be a JSON object") from None
        if not isinstance(body, dict):
            raise Rejection("INVALID_PARAMETER", "body must be a JSON object")
        return body

    def _lines(
        self, raw: list[dict[str, Any]], key: str, need_line_no: bool
    ) -> list[tuple[dict[str, Any], int, int, int]]:
        """(line, mpId, mpSkuId, quantity) for each line, with the field checks."""
        out = []
        seen_pairs: set[tuple[int, int]] = set()
        seen_nos: set[str] = set()
        for n, line in enumerate(raw):
            where = f"{key}[{n}]"
            for field in ("itemId", "skuId", "quantity"):
                if field not in line:
                    raise Rejection("INVALID_PARAMETER", f"{where}.{field} is required")
            mp_id = _parse_id(line["itemId"], f"{where}.itemId")
            mp_sku = _parse_id(line["skuId"], f"{where}.skuId")
            qty = _parse_qty(line["quantity"], f"{where}.quantity")
            if (mp_id, mp_sku) in seen_pairs:
                raise Rejection("INVALID_PARAMETER", f"{where}: itemId/skuId pair given twice")
            seen_pairs.add((mp_id, mp_sku))
            if need_line_no:
                no = line.get("orderLineNo")
                if isinstance(no, int) and not isinstance(no, bool):
                    no = str(no)
                if not isinstance(no, str) or not no:
                    raise Rejection("INVALID_PARAMETER", f"{where}.orderLineNo is required")
                if no in seen_nos:
                    raise Rejection("INVALID_PARAMETER", f"{where}.orderLineNo {no!r} is repeated")
                seen_nos.add(no)
                line["orderLineNo"] = no
                price = line.get("price")
                if price is not None and (
                    not isinstance(price, int) or isinstance(price, bool) or price < 0
                ):
                    raise Rejection("INVALID_PARAMETER", f"{where}.price must be integer fen")
            out.append((line, mp_id, mp_sku, qty))
        return out

    async def render(self, request: web.Request) -> dict[str, Any]:
        body = await self._json_body(request)
        if not isinstance(body.get("need_supplychain_service"), bool):
            raise Rejection("INVALID_PARAMETER", "need_supplychain_service must be a boolean")
        lines = self._lines(_parse_line_list(body, "render_item_List"), "render_item_List", False)
        _check_address(body.get("receiver_address"), "receiver_address", strict=False)
        groups: dict[int, list[tuple[Item, Sku, int, int, int]]] = {}
        unavailable = []
        for _line, mp_id, mp_sku, qty in lines:
            found = self.s.catalog.mp_sku(mp_id, mp_sku)
            if found is None:
                unavailable.append(_unavailable(mp_id, mp_sku, "SKU_NOT_FOUND", "no such sku"))
                continue
            item, sku = found
            reason = _unavailable_reason(sku, qty)
            if reason is not None:
                unavailable.append(_unavailable(mp_id, mp_sku, "SKU_UNAVAILABLE", reason))
                continue
            groups.setdefault(item.supplier.index, []).append((item, sku, mp_id, mp_sku, qty))
        entries = []
        total = 0
        for group in groups.values():
            sup = group[0][0].supplier
            goods = sum(sku.promotion_price * qty for _i, sku, _m, _k, qty in group)
            fee = goods + sup.delivery_fee
            total += fee
            entries.append(
                {
                    "nick": sup.nick,
                    "sellerId": str(2_200_000_000_000 + sup.index),
                    "currencyCode": "CNY",
                    "deliveryFee": sup.delivery_fee,
                    "orderFee": _money(fee),
                    "mainlandShippingFee": _money(sup.delivery_fee),
                    "itemPriceInfos": [
                        {
                            "itemId": mp_id,
                            "skuId": mp_sku,
                            "quantity": qty,
                            "originPrice": _money(sku.price),
                            "discountPrice": _money(sku.promotion_price),
                        }
                        for _i, sku, mp_id, mp_sku, qty in group
                    ],
                }
            )
        return {
            "success": True,
            "errorCode": None,
            "errorMsg": None,
            "failItems": None,
            "data": {
                "renderItemList": entries,
                "unavailableSkuList": unavailable,
                "totalRealPayPrice": _money(total),
            },
        }

    async def create(self, request: web.Request) -> dict[str, Any]:
        s = self.s
        body = await self._json_body(request)
        outer = body.get("outer_purchase_id")
        if not isinstance(outer, str) or not outer.strip():
            raise Rejection("INVALID_PARAMETER", "outer_purchase_id must be a non-empty string")
        amount = body.get("purchase_amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise Rejection("INVALID_PARAMETER", "purchase_amount must be an integer (fen) >= 0")
        lines = self._lines(_parse_line_list(body, "order_line_list"), "order_line_list", True)
        receiver = _check_address(body.get("receiver"), "receiver", strict=True)
        assert s.store is not None
        store = s.store
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
            reason = _unavailable_reason(sku, qty)
            if reason is not None:
                raise Rejection("SKU_UNAVAILABLE", f"order_line_list[{n}]: {reason}")
            if "productId" in line:
                pid = _parse_id(line["productId"], f"order_line_list[{n}].productId")
                if pid != item.item_id:
                    raise Rejection(
                        "INVALID_PARAMETER",
                        f"order_line_list[{n}].productId {pid} is not the item of itemId {mp_id}",
                    )
            groups.setdefault(item.supplier.index, []).append((line, item, sku, mp_id, mp_sku, qty))
        # valid: assign ids and store (the in-memory index first, then one durable commit)
        create_no = store.next_create_no()
        seed = s.config.seed
        now = _now_ms()
        pay_url = f"https://sandbox.invalid/pay/{mix64(create_no, seed):016x}"
        stored = []
        for group in groups.values():
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
                        "status": "WAIT_BUYER_P",
                        "closeReason": None,
                        "purchaseAmount": sku.promotion_price * qty,
                        "purchaseCurrency": "CNY",
                        "orderLineNo": line["orderLineNo"],
                    }
                )
            total = sum(sub["purchaseAmount"] for sub in subs) + sup.delivery_fee
            doc = {
                "purchaseId": pid,
                "outerPurchaseId": outer,
                "sellerOrderNumber": str(body.get("seller_order_number") or ""),
                "orderSource": str(body.get("order_source") or ""),
                "status": "WAIT_BUYER_P",
                "supplierNick": sup.nick,
                "sourceMarket": group[0][1].market,
                "purchaseAmount": total,
                "purchaseCurrency": "CNY",
                "payAmount": str(total),
                "payCurrency": "CNY",
                "createdTime": now,
                "modifyTime": now,
                "nextCloseTimeWithoutPayment": now + DAY_MS,
                "paymentUrl": pay_url,
                "receiver": receiver,
                "deliveryFee": sup.delivery_fee,
                "subPurchaseOrders": subs,
            }
            stored.append(store.add(doc, create_no))
        await store.commit()
        s.stats.n["creates_committed"] += 1
        s.stats.n["purchase_orders_committed"] += len(stored)
        return _create_reply(outer, stored)

    async def cancel(self, request: web.Request) -> dict[str, Any]:
        s = self.s
        body = await self._json_body(request)
        if "purchase_id" not in body:
            raise Rejection("INVALID_PARAMETER", "purchase_id is required")
        pid = _parse_id(body["purchase_id"], "purchase_id")
        subs_raw = body.get("sub_purchase_orderId_list")
        if subs_raw is None:
            wanted: list[int] = []
        elif isinstance(subs_raw, list):
            wanted = [_parse_id(x, "sub_purchase_orderId_list[]") for x in subs_raw]
        else:
            raise Rejection("INVALID_PARAMETER", "sub_purchase_orderId_list must be an array")
        reason = body.get("cancel_reason")
        if not isinstance(reason, str) or not reason.strip():
            raise Rejection("INVALID_PARAMETER", "cancel_reason must be a non-empty string")
        assert s.store is not None
        order = s.store.orders.get(pid)
        if order is None:
            raise Rejection("PURCHASE_NOT_FOUND", f"purchase {pid} not found")
        subs = order.doc["subPurchaseOrders"]
        known = {sub["subPurchaseOrderId"] for sub in subs}
        missing = [w for w in wanted if w not in known]
        if missing:
            raise Rejection(
                "PURCHASE_NOT_FOUND", f"sub-order {missing[0]} is not in purchase {pid}"
            )
        targets = set(wanted) if wanted else known
        for sub in subs:
            if sub["subPurchaseOrderId"] in targets and sub["status"] != "TRADE_CLOSED":
                sub["status"] = "TRADE_CLOSED"
                sub["closeReason"] = reason
        if all(sub["status"] == "TRADE_CLOSED" for sub in subs):
            order.doc["status"] = "TRADE_CLOSED"
        order.doc["modifyTime"] = _now_ms()
        s.store.touch(order)
        await s.store.commit()
        s.stats.n["cancels_committed"] += 1
        return {"success": True, "errorCode": None, "errorMsg": None}

    async def query(self, request: web.Request) -> dict[str, Any]:
        s = self.s
        assert s.store is not None
        store = s.store
        q = request.query
        page_no = _int_param(q, "page_no", 1, 1, None)
        page_size = _int_param(q, "page_size", 20, 1, MAX_PAGE_SIZE)
        start = _int_param(q, "modify_time_start", None, 0, None)
        end = _int_param(q, "modify_time_end", None, 0, None)
        sort_type = q.get("sort_type", "ASC").upper()
        if sort_type not in ("ASC", "DESC"):
            raise Rejection("INVALID_PARAMETER", "sort_type must be ASC or DESC")
        sort_field = q.get("sort_field", "modify_time")
        if sort_field not in ("modify_time", "created_time"):
            raise Rejection("INVALID_PARAMETER", "sort_field must be modify_time or created_time")
        status = q.get("status") or None
        outer = q.get("outer_purchase_id") or None
        ids_raw = q.get("purchase_ids") or None
        candidates: Any
        if ids_raw is not None:
            try:
                ids = json.loads(ids_raw)
            except ValueError:
                raise Rejection("INVALID_PARAMETER", "purchase_ids must be a JSON array") from None
            if not isinstance(ids, list):
                raise Rejection("INVALID_PARAMETER", "purchase_ids must be a JSON array")
            wanted = dict.fromkeys(_parse_id(x, "purchase_ids[]") for x in ids)
            candidates = [store.orders[p] for p in wanted if p in store.orders]
        elif outer is not None:
            candidates = [store.orders[p] for p in store.by_outer.get(outer, ())]
        else:
            candidates = store.orders.values()
        picked = [
            o
            for o in candidates
            if (outer is None or o.doc["outerPurchaseId"] == outer)
            and (status is None or o.doc["status"] == status)
            and (start is None or o.doc["modifyTime"] >= start)
            and (end is None or o.doc["modifyTime"] < end)
        ]
        key = "modifyTime" if sort_field == "modify_time" else "createdTime"
        picked.sort(key=lambda o: (o.doc[key], o.seq), reverse=sort_type == "DESC")
        page = picked[(page_no - 1) * page_size : page_no * page_size]
        return {
            "success": True,
            "errorCode": None,
            "errorMsg": None,
            "data": {
                "resultsTotal": len(picked),
                "pageNo": page_no,
                "pageSize": page_size,
                "purchaseOrders": [_query_doc(o) for o in page],
            },
        }

    # control endpoints -------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def stats(self, request: web.Request) -> web.Response:
        s = self.s
        assert s.store is not None
        return web.json_response(s.stats.as_dict(s.inflight, s.store))

    async def orders(self, request: web.Request) -> web.Response:
        outer = request.query.get("outer_purchase_id")
        lines = request.query.get("lines", "1").lower() not in ("0", "false", "no")
        body = self.s.orders_json(outer, lines)
        return web.Response(body=body, content_type="application/json")

    async def catalog(self, request: web.Request) -> web.Response:
        raw = request.query.get("item_id")
        if raw is None:
            return web.Response(body=self.s.catalog_dump(), content_type="application/json")
        market = CBU if request.query.get("market", "").upper() in ("CBU", "CBU_MARKET") else TB
        item = self.s.catalog.product(int(raw), market) if raw.isdigit() else None
        if item is None:
            return web.json_response({"ok": False, "error": "no such item"}, status=404)
        return web.Response(body=_dumps(item_json(item)), content_type="application/json")

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
        opts = await _optional_json(request)
        self.s.expire_tokens(refresh=bool(opts.get("refresh")))
        return web.json_response({"ok": True})

    async def reset(self, request: web.Request) -> web.Response:
        opts = await _optional_json(request)
        await self.s.reset(restore_config=bool(opts.get("config")))
        return web.json_response({"ok": True})


# --- shapes -------------------------------------------------------------------------------------


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def _refresh_failure(code: str, msg: str) -> dict[str, Any]:
    return {"error_code": code, "error_msg": msg, "access_token": None}


def _unavailable(mp_id: int, mp_sku: int, code: str, reason: str) -> dict[str, Any]:
    return {
        "itemId": mp_id,
        "skuId": mp_sku,
        "reason": reason,
        "errorCode": code,
        "errorMsg": reason,
    }


def _check_address(value: Any, name: str, strict: bool) -> dict[str, str]:
    """`country` is always required; create also needs `name` and `address`."""
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("country"), str)
        or not value["country"]
    ):
        raise Rejection("RECEIVER_MISSING", f"{name} must be an object with a country")
    if strict:
        for key in ("name", "address"):
            if not isinstance(value.get(key), str) or not value[key].strip():
                raise Rejection("INVALID_PARAMETER", f"{name}.{key} is required")
    keys = ("country", "state", "city", "district", "address", "zip")
    return {k: str(value.get(k) or "") for k in keys}


def _int_param(q: Any, name: str, default: int | None, lo: int, hi: int | None) -> Any:
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < lo or (hi is not None and int(raw) > hi):
        bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise Rejection("INVALID_PARAMETER", f"{name} must be an integer {bound}")
    return int(raw)


async def _optional_json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _product_data(item: Item) -> dict[str, Any]:
    pic = f"https://sandbox.invalid/img/{item.item_id}.jpg"
    category = "服装/上衣" if item.market == TB else "1688/服装"
    return {
        "itemId": item.item_id,
        "mpId": item.mp_id,
        "title": item.title,
        "shopName": item.supplier.shop_name,
        "userNick": item.supplier.nick,
        "price": item.price,
        "promotionPrice": item.promotion_price,
        "quantity": item.stock,
        "status": "normal",
        "beginAmount": 1,
        "productUnit": "件",
        "categoryName": category.split("/")[-1],
        "categoryPath": category,
        "picUrls": [pic],
        "description": f"sandbox item {item.item_id}",
        "skuList": [
            {
                "skuId": sku.sku_id,
                "specId": sku.spec_id,
                "mpSkuId": sku.mp_sku_id,
                "price": sku.price,
                "promotionPrice": sku.promotion_price,
                "quantity": sku.stock,
                "status": sku.status,
                "picUrl": pic,
                "properties": [
                    {
                        "propId": p.prop_id,
                        "propName": p.prop_name,
                        "valueId": p.value_id,
                        "valueName": p.value_name,
                    }
                    for p in sku.props
                ],
            }
            for sku in item.skus
        ],
    }


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


def _query_doc(order: StoredOrder) -> dict[str, Any]:
    d = dict(order.doc)
    d.pop("deliveryFee", None)
    return d


# --- the application ----------------------------------------------------------------------------


def build_app(config: SandboxConfig) -> web.Application:
    """The aiohttp application; the order store opens (and closes) with the app's lifecycle."""
    state = SandboxState(config)
    sb = Sandbox(state)
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[STATE] = state

    async def open_store(app: web.Application) -> None:
        state.store = OrderStore(config.db_path)

    async def close_store(app: web.Application) -> None:
        if state.store is not None:
            state.store.close()

    app.on_startup.append(open_store)
    app.on_cleanup.append(close_store)
    handlers: dict[str, Handler] = {
        "refresh": sb.refresh,
        "product": sb.product,
        "render": sb.render,
        "create": sb.create,
        "cancel": sb.cancel,
        "query": sb.query,
    }
    for name, (method, path) in PATHS.items():
        app.router.add_route(
            method, PREFIX + path, sb.rest(name, handlers[name], auth=name != "refresh")
        )
    r = app.router
    r.add_get("/_sandbox/health", sb.health)
    r.add_get("/_sandbox/stats", sb.stats)
    r.add_get("/_sandbox/orders", sb.orders)
    r.add_get("/_sandbox/catalog", sb.catalog)
    r.add_get("/_sandbox/config", sb.get_config)
    r.add_post("/_sandbox/config", sb.set_config)
    r.add_post("/_sandbox/tokens/expire", sb.expire)
    r.add_post("/_sandbox/reset", sb.reset)
    return app


__all__ = ["PATHS", "PREFIX", "STATE", "SandboxState", "build_app"]
