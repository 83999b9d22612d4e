"""Read-only endpoints over the catalog: the collision lookup (`product/get`) and render."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.catalog import CBU, TB, Item, Sku
from sandbox.state import SandboxState
from sandbox.wire import (
    Rejection,
    check_address,
    json_body,
    money,
    parse_id,
    parse_line_list,
    parse_qty,
)


def unavailable_reason(sku: Sku, qty: int) -> str | None:
    """Why this SKU cannot be bought in this quantity (None: it can)."""
    if sku.mp_sku_id is None:
        return "sku is not distributable (no mpSkuId)"
    if sku.status != "normal":
        return f"sku status is {sku.status}"
    if sku.stock < qty:
        return f"not enough stock ({sku.stock} < {qty})"
    return None


def check_lines(
    raw: list[dict[str, Any]], key: str, need_line_no: bool
) -> list[tuple[dict[str, Any], int, int, int]]:
    """(line, mpId, mpSkuId, quantity) for each line, with the field checks of render/create."""
    out = []
    seen_pairs: set[tuple[int, int]] = set()
    seen_nos: set[str] = set()
    for n, line in enumerate(raw):
        where = f"{key}[{n}]"
        for field in ("itemId", "skuId", "quantity"):
            if field not in line:
                raise Rejection("INVALID_PARAMETER", f"{where}.{field} is required")
        mp_id = parse_id(line["itemId"], f"{where}.itemId")
        mp_sku = parse_id(line["skuId"], f"{where}.skuId")
        qty = parse_qty(line["quantity"], f"{where}.quantity")
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


async def product(s: SandboxState, request: web.Request) -> dict[str, Any]:
    raw = request.query.get("item_id")
    if raw is None or raw == "":
        raise Rejection("INVALID_PARAMETER", "item_id is required")
    item_id = parse_id(raw, "item_id")
    market_param = request.query.get("item_source_market", "")
    if market_param == "":
        market = TB
    elif market_param == "CBU_MARKET":
        market = CBU
    else:
        raise Rejection(
            "INVALID_PARAMETER", "item_source_market must be CBU_MARKET or omitted (Taobao)"
        )
    item = s.catalog.product(item_id, market)
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


def _unavailable(mp_id: int, mp_sku: int, code: str, reason: str) -> dict[str, Any]:
    return {
        "itemId": mp_id,
        "skuId": mp_sku,
        "reason": reason,
        "errorCode": code,
        "errorMsg": reason,
    }


async def render(s: SandboxState, request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body.get("need_supplychain_service"), bool):
        raise Rejection("INVALID_PARAMETER", "need_supplychain_service must be a boolean")
    lines = check_lines(parse_line_list(body, "render_item_List"), "render_item_List", False)
    check_address(body.get("receiver_address"), "receiver_address", strict=False)
    groups: dict[int, list[tuple[Item, Sku, int, int, int]]] = {}
    unavailable = []
    for _line, mp_id, mp_sku, qty in lines:
        found = s.catalog.mp_sku(mp_id, mp_sku)
        if found is None:
            unavailable.append(_unavailable(mp_id, mp_sku, "SKU_NOT_FOUND", "no such sku"))
            continue
        item, sku = found
        reason = unavailable_reason(sku, qty)
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
                "orderFee": money(fee),
                "mainlandShippingFee": money(sup.delivery_fee),
                "itemPriceInfos": [
                    {
                        "itemId": mp_id,
                        "skuId": mp_sku,
                        "quantity": qty,
                        "originPrice": money(sku.price),
                        "discountPrice": money(sku.promotion_price),
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
            "totalRealPayPrice": money(total),
        },
    }


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
