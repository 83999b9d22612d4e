"""Every endpoint in both key styles and with `success` as bool or string (wire-contract.md)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sandbox.testing import SandboxControl
from tests.sandbox.conftest import RECEIVER, Api, line

STYLES = [("camel", False), ("camel", True), ("snake", False), ("snake", True)]


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _k(style: str, camel: str) -> str:
    return camel if style == "camel" else re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def _ok(body: dict[str, Any], as_string: bool) -> None:
    assert body["success"] == ("true" if as_string else True)


@pytest.mark.parametrize(("style", "as_string"), STYLES)
def test_every_endpoint_speaks_the_configured_style(
    api: Api, control: SandboxControl, style: str, as_string: bool
) -> None:
    control.set_config(key_style=style, success_as_string=as_string)
    other = "snake" if style == "camel" else "camel"
    camel_only = {"errorCode", "mpSkuId", "skuList", "orderList", "purchaseId"}
    snake_only = {"error_code", "mp_sku_id", "sku_list", "order_list", "purchase_id"}
    forbidden = camel_only if other == "camel" else snake_only

    product = api.product(718293045561)
    _ok(product, as_string)
    data = product[_k(style, "data")]
    sku = data[_k(style, "skuList")][0]
    assert isinstance(data[_k(style, "mpId")], str)
    assert isinstance(sku[_k(style, "mpSkuId")], int)
    mp_id, mp_skus = (
        int(data[_k(style, "mpId")]),
        [s[_k(style, "mpSkuId")] for s in data[_k(style, "skuList")]],
    )

    lines = [line(mp_id, mp_skus[0], "1", "2")]
    render = api.post(
        "/purchase/order/render",
        {
            "need_supplychain_service": False,
            "render_item_List": json.dumps(lines),
            "receiver_address": RECEIVER,
        },
    ).json()
    _ok(render, as_string)
    assert render[_k(style, "data")][_k(style, "renderItemList")][0][_k(style, "itemPriceInfos")]

    created = api.create("PS-STYLE", lines)
    _ok(created, as_string)
    inner = created["data"]
    _ok(inner, as_string)  # the inner data.success is restyled too
    pid = inner[_k(style, "orderList")][0][_k(style, "purchaseId")]

    query = api.query(purchase_ids=json.dumps([pid]))
    _ok(query, as_string)
    orders = query["data"][_k(style, "purchaseOrders")]
    assert orders[0][_k(style, "subPurchaseOrders")][0][_k(style, "subPurchaseOrderId")]

    cancel = api.post(
        "/purchase/order/asyn/cancel", {"purchase_id": str(pid), "cancel_reason": "test"}
    ).json()
    _ok(cancel, as_string)
    assert cancel[_k(style, "errorCode")] is None

    failure = api.product(999)
    assert failure["success"] == ("false" if as_string else False)
    assert failure[_k(style, "errorCode")] == "ITEM_NOT_FOUND"

    for body in (product, render, created, query, cancel, failure):
        assert not (_keys(body) & forbidden)


@pytest.mark.parametrize("style", ["camel", "snake"])
def test_refresh_keeps_its_documented_snake_keys(
    api: Api, control: SandboxControl, style: str
) -> None:
    control.set_config(key_style=style, success_as_string=True)
    body = api.get("/auth/token/refresh", refresh_token=api.handle.refresh_token).json()
    assert {
        "expires_in",
        "access_token",
        "refresh_token",
        "refresh_expires_in",
        "user_Id",
        "seller_Id",
    } <= set(body)
    assert isinstance(body["expires_in"], int)
    assert isinstance(body["refresh_expires_in"], str) and body["refresh_expires_in"].isdigit()
    assert body["error_code"] is None


def test_every_response_carries_a_request_id(api: Api, control: SandboxControl) -> None:
    seen = set()
    for resp in (
        api.get("/product/get", item_id="718293045561"),
        api.get("/product/get"),  # a business failure
        api.http.get("/product/get", params={"item_id": "1"}),  # an auth failure
        api.get("/purchase/orders/query"),
    ):
        rid = resp.headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid)
        seen.add(rid)
    assert len(seen) == 4
    control.set_config(rate_429=1.0)
    assert re.fullmatch(r"[0-9a-f]{32}", api.get("/purchase/orders/query").headers["X-Request-Id"])


def test_product_shape(api: Api) -> None:
    body = api.product(718293045561)
    assert body["errorCode"] is None and body["failItems"] is None
    data = body["data"]
    assert data["itemId"] == 718293045561
    for key in (
        "title",
        "shopName",
        "userNick",
        "productUnit",
        "categoryName",
        "categoryPath",
        "description",
    ):
        assert isinstance(data[key], str) and data[key]
    assert data["price"] == min(s["price"] for s in data["skuList"])
    assert data["quantity"] == sum(s["quantity"] for s in data["skuList"])
    assert data["picUrls"] and data["status"] == "normal" and data["beginAmount"] == 1
    for sku in data["skuList"]:
        assert set(sku) >= {
            "skuId",
            "specId",
            "mpSkuId",
            "price",
            "promotionPrice",
            "quantity",
            "status",
            "picUrl",
            "properties",
        }
        assert set(sku["properties"][0]) == {"propId", "propName", "valueId", "valueName"}
