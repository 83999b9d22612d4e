"""Strict validation: every malformed request is refused with its code and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.testing import SandboxControl
from tests.sandbox.conftest import RECEIVER, Api, create_body, line


@pytest.fixture
def good(api: Api) -> dict[str, Any]:
    mp_id, skus = api.mp_ids(718293045561)
    return {"mp_id": mp_id, "sku": skus[0], "lines": [line(mp_id, skus[0], "1", "2")]}


def _refused(api: Api, body: Any, code: str, mentions: str | None = None) -> None:
    resp = api.post("/purchase/order/create", body)
    assert resp.status_code == 200
    out = resp.json()
    assert out["success"] is False, out
    assert out["errorCode"] == code, out
    assert out["data"] is None
    if mentions:
        assert mentions in out["errorMsg"]


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(body)
    for key, value in changes.items():
        if value is ...:
            out.pop(key)
        else:
            out[key] = value
    return out


def test_create_body_level_checks(api: Api, control: SandboxControl, good: dict[str, Any]) -> None:
    ok = create_body("PS-V", good["lines"])
    _refused(api, _with(ok, outer_purchase_id=...), "INVALID_PARAMETER", "outer_purchase_id")
    _refused(api, _with(ok, outer_purchase_id=""), "INVALID_PARAMETER", "outer_purchase_id")
    _refused(api, _with(ok, outer_purchase_id=12), "INVALID_PARAMETER", "outer_purchase_id")
    _refused(api, _with(ok, purchase_amount=...), "INVALID_PARAMETER", "purchase_amount")
    _refused(api, _with(ok, purchase_amount=46.5), "INVALID_PARAMETER", "purchase_amount")
    _refused(api, _with(ok, purchase_amount="4600"), "INVALID_PARAMETER", "purchase_amount")
    _refused(api, _with(ok, purchase_amount=-1), "INVALID_PARAMETER", "purchase_amount")
    _refused(api, _with(ok, order_line_list=...), "INVALID_PARAMETER", "order_line_list")
    _refused(api, _with(ok, order_line_list=good["lines"]), "ORDER_LINE_LIST_MALFORMED")
    _refused(api, _with(ok, order_line_list="[{"), "ORDER_LINE_LIST_MALFORMED")
    _refused(api, _with(ok, order_line_list="[]"), "ORDER_LINE_LIST_MALFORMED")
    _refused(api, _with(ok, order_line_list="[1, 2]"), "ORDER_LINE_LIST_MALFORMED")
    _refused(api, _with(ok, order_line_list='{"itemId": 1}'), "ORDER_LINE_LIST_MALFORMED")
    _refused(api, _with(ok, receiver=...), "RECEIVER_MISSING")
    _refused(api, _with(ok, receiver={**RECEIVER, "country": ""}), "RECEIVER_MISSING")
    _refused(api, _with(ok, receiver=json.dumps(RECEIVER)), "RECEIVER_MISSING")
    _refused(
        api, _with(ok, receiver={**RECEIVER, "name": ""}), "INVALID_PARAMETER", "receiver.name"
    )
    _refused(api, _with(ok, receiver={**RECEIVER, "address": " "}), "INVALID_PARAMETER", "address")
    _refused(api, [ok], "INVALID_PARAMETER")
    resp = api.http.post(
        "/purchase/order/create",
        content=b"not json",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert resp.json()["errorCode"] == "INVALID_PARAMETER"
    assert control.orders() == []
    stats = control.stats()
    assert stats["business_rejections"] == 20
    assert stats["rejections_by_code"]["RECEIVER_MISSING"] == 3
    assert stats["creates_committed"] == 0


def test_create_line_level_checks(api: Api, control: SandboxControl, good: dict[str, Any]) -> None:
    mp, sku = good["mp_id"], good["sku"]

    def lines(*items: dict[str, Any]) -> dict[str, Any]:
        return create_body("PS-L", list(items))

    base = line(mp, sku, "1")
    _refused(
        api,
        lines({k: v for k, v in base.items() if k != "orderLineNo"}),
        "INVALID_PARAMETER",
        "orderLineNo",
    )
    _refused(
        api, lines({k: v for k, v in base.items() if k != "skuId"}), "INVALID_PARAMETER", "skuId"
    )
    _refused(api, lines({**base, "itemId": float(mp)}), "INVALID_PARAMETER", "[0].itemId")
    _refused(api, lines({**base, "itemId": "6e17"}), "INVALID_PARAMETER", "itemId")
    _refused(api, lines({**base, "skuId": True}), "INVALID_PARAMETER", "skuId")
    for qty in (0, "0", "-1", "1.5", 1.5, "two", None):
        _refused(api, lines({**base, "quantity": qty}), "INVALID_PARAMETER", "quantity")
    _refused(api, lines({**base, "price": 23.5}), "INVALID_PARAMETER", "price")
    _refused(api, lines(base, {**base, "orderLineNo": "2"}), "INVALID_PARAMETER", "twice")
    other_sku = api.mp_ids(718293045561)[1][1]
    _refused(api, lines(base, line(mp, other_sku, "1")), "INVALID_PARAMETER", "repeated")
    _refused(api, lines({**base, "productId": 652876415053}), "INVALID_PARAMETER", "productId")
    _refused(api, lines(line(mp, sku + 1, "1")), "SKU_NOT_FOUND")
    _refused(api, lines(line(718293045561, sku, "1")), "SKU_NOT_FOUND")  # original id, not mpId
    assert control.orders() == []


def test_unavailable_skus_are_refused_on_create(api: Api, control: SandboxControl) -> None:
    empty_mp, empty_skus = api.mp_ids(700000000003)  # stock 0
    delisted_mp, delisted_skus = api.mp_ids(700000000004)  # status delisted
    low = api.product(800000000013)["data"]  # i % 97 == 13: low stock
    low_sku = low["skuList"][0]
    cases = [
        line(empty_mp, empty_skus[0], "1"),
        line(delisted_mp, delisted_skus[0], "1"),
        line(int(low["mpId"]), low_sku["mpSkuId"], "1", low_sku["quantity"] + 1),
    ]
    for case in cases:
        _refused(api, create_body("PS-U", [case]), "SKU_UNAVAILABLE")
    ok = api.create("PS-U", [line(int(low["mpId"]), low_sku["mpSkuId"], "1", low_sku["quantity"])])
    assert ok["success"] is True
    assert len(control.orders()) == 1


def test_ids_may_be_digit_strings(api: Api, good: dict[str, Any]) -> None:
    lines = [line(str(good["mp_id"]), str(good["sku"]), "1", 2, productId="718293045561")]
    out = api.create("PS-STR", lines)
    assert out["success"] is True
    assert out["data"]["orderList"][0]["orderLineList"][0]["skuId"] == good["sku"]


def test_render_checks_and_unavailable_list(api: Api, good: dict[str, Any]) -> None:
    def render(body: dict[str, Any]) -> dict[str, Any]:
        return api.post("/purchase/order/render", body).json()

    items = json.dumps(good["lines"])
    ok = {
        "need_supplychain_service": False,
        "render_item_List": items,
        "receiver_address": RECEIVER,
    }
    assert render(ok)["success"] is True
    assert render(_with(ok, need_supplychain_service=...))["errorCode"] == "INVALID_PARAMETER"
    assert render(_with(ok, render_item_List=...))["errorCode"] == "INVALID_PARAMETER"
    assert (
        render(_with(ok, render_item_list=items, render_item_List=...))["errorCode"]
        == "INVALID_PARAMETER"
    )
    assert render(_with(ok, render_item_List="[]"))["errorCode"] == "ORDER_LINE_LIST_MALFORMED"
    assert render(_with(ok, receiver_address=...))["errorCode"] == "RECEIVER_MISSING"

    empty_mp, empty_skus = api.mp_ids(700000000003)
    mixed = [
        *good["lines"],
        {"itemId": empty_mp, "skuId": empty_skus[0], "quantity": "1"},
        {"itemId": good["mp_id"], "skuId": 1, "quantity": "1"},
    ]
    out = render(_with(ok, render_item_List=json.dumps(mixed)))
    assert out["success"] is True
    unavailable = {(u["itemId"], u["skuId"]): u for u in out["data"]["unavailableSkuList"]}
    assert unavailable[(empty_mp, empty_skus[0])]["errorCode"] == "SKU_UNAVAILABLE"
    assert unavailable[(good["mp_id"], 1)]["errorCode"] == "SKU_NOT_FOUND"
    priced = out["data"]["renderItemList"][0]["itemPriceInfos"]
    assert [(p["itemId"], p["skuId"]) for p in priced] == [(good["mp_id"], good["sku"])]


def test_product_and_query_parameter_checks(api: Api) -> None:
    assert api.get("/product/get").json()["errorCode"] == "INVALID_PARAMETER"
    assert api.get("/product/get", item_id="12a").json()["errorCode"] == "INVALID_PARAMETER"
    bad_market = api.get("/product/get", item_id="718293045561", item_source_market="TB_MARKET")
    assert bad_market.json()["errorCode"] == "INVALID_PARAMETER"
    for params in (
        {"page_size": "51"},
        {"page_size": "0"},
        {"page_no": "x"},
        {"purchase_ids": "[1"},
        {"purchase_ids": '{"a": 1}'},
        {"purchase_ids": "[1.5]"},
        {"sort_type": "UP"},
        {"modify_time_start": "-5"},
    ):
        assert api.query(**params)["errorCode"] == "INVALID_PARAMETER", params


def test_cancel_checks(api: Api, good: dict[str, Any]) -> None:
    def cancel(body: dict[str, Any]) -> dict[str, Any]:
        return api.post("/purchase/order/asyn/cancel", body).json()

    pid = api.create("PS-C", good["lines"])["data"]["orderList"][0]["purchaseId"]
    assert cancel({"cancel_reason": "x"})["errorCode"] == "INVALID_PARAMETER"
    assert cancel({"purchase_id": str(pid)})["errorCode"] == "INVALID_PARAMETER"
    assert cancel({"purchase_id": "1", "cancel_reason": "x"})["errorCode"] == "PURCHASE_NOT_FOUND"
    wrong_sub = {"purchase_id": str(pid), "cancel_reason": "x", "sub_purchase_orderId_list": ["7"]}
    assert cancel(wrong_sub)["errorCode"] == "PURCHASE_NOT_FOUND"
    not_list = {"purchase_id": str(pid), "cancel_reason": "x", "sub_purchase_orderId_list": "7"}
    assert cancel(not_list)["errorCode"] == "INVALID_PARAMETER"
    status = api.query(purchase_ids=json.dumps([pid]))["data"]["purchaseOrders"][0]["status"]
    assert status == "WAIT_BUYER_P"
