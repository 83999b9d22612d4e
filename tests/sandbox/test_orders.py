"""Create, split, query, cancel and dedupe against the stored orders; big ids stay exact."""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from sandbox.testing import SandboxControl
from tests.sandbox.conftest import RECEIVER, Api, create_body, line

TWO_53 = 2**53


def _mixed_lines(api: Api) -> list[dict[str, Any]]:
    """Two lines from supplier A (718293045561), one from supplier B, one 1688 line (C)."""
    a_mp, a_skus = api.mp_ids(718293045561)
    b_mp, b_skus = api.mp_ids(652876415053)
    c_mp, c_skus = api.mp_ids(554456348334, cbu=True)
    return [
        line(a_mp, a_skus[0], "1", "2", productId=718293045561),
        line(b_mp, b_skus[1], "2", 1),
        line(a_mp, a_skus[1], "3", "1"),
        line(c_mp, c_skus[0], "4", "5"),
    ]


def test_create_splits_one_purchase_per_supplier(api: Api, control: SandboxControl) -> None:
    lines = _mixed_lines(api)
    render = api.post(
        "/purchase/order/render",
        {
            "need_supplychain_service": False,
            "render_item_List": json.dumps(
                [
                    {k: v for k, v in ln.items() if k in ("itemId", "skuId", "quantity")}
                    for ln in lines
                ]
            ),
            "receiver_address": RECEIVER,
        },
    ).json()["data"]
    out = api.create("PS-SPLIT", lines)
    assert out["success"] is True
    data = out["data"]
    assert data["outerPurchaseId"] == "PS-SPLIT" and data["success"] is True
    assert data["paymentUrl"].startswith("https://sandbox.invalid/pay/")
    orders = data["orderList"]
    assert len(orders) == 3
    by_line = {ln["orderLineNo"]: o for o in orders for ln in o["orderLineList"]}
    assert by_line["1"] is by_line["3"]
    assert len({id(by_line[n]) for n in "124"}) == 3
    assert {o["sourceMarket"] for o in orders} == {"TB", "CBU"}
    # the create's estimates agree with the render of the same lines, supplier by supplier
    fees = {g["nick"]: g["orderFee"]["amount"] for g in render["renderItemList"]}
    assert {o["supplierNick"]: o["estimateAmount"] for o in orders} == fees
    assert sum(fees.values()) == render["totalRealPayPrice"]["amount"]
    for order in orders:
        goods = sum(ln["estimateAmount"] for ln in order["orderLineList"])
        group = next(g for g in render["renderItemList"] if g["nick"] == order["supplierNick"])
        assert order["estimateAmount"] == goods + group["deliveryFee"]
        for ln in order["orderLineList"]:
            price = next(p for p in group["itemPriceInfos"] if p["skuId"] == ln["skuId"])
            assert ln["estimateAmount"] == price["discountPrice"]["amount"] * ln["quantity"]
    stored = control.orders()
    assert len(stored) == 3 and len({o["create_no"] for o in stored}) == 1
    stats = control.stats()
    assert stats["creates_committed"] == 1 and stats["purchase_orders_committed"] == 3


def test_big_ids_round_trip_digit_for_digit(api: Api) -> None:
    lines = _mixed_lines(api)
    raw = api.post("/purchase/order/create", create_body("PS-BIG", lines)).text
    out = json.loads(raw)
    for order in out["data"]["orderList"]:
        pid = order["purchaseId"]
        assert isinstance(pid, int) and pid > TWO_53
        assert re.search(rf'"purchaseId":{pid}[,}}]', raw)  # a bare JSON integer, exact
        for ln in order["orderLineList"]:
            assert ln["subPurchaseOrderId"] > TWO_53
            assert isinstance(ln["itemId"], str)
    sent = {(str(ln["itemId"]), ln["skuId"]) for ln in lines}
    got = {
        (ln["itemId"], ln["skuId"]) for o in out["data"]["orderList"] for ln in o["orderLineList"]
    }
    assert got == sent
    # query by the ids as strings, as a JSON-string array, and get the same exact ids back
    pids = [o["purchaseId"] for o in out["data"]["orderList"]]
    found = api.query(purchase_ids=json.dumps([str(p) for p in pids]))["data"]["purchaseOrders"]
    assert sorted(o["purchaseId"] for o in found) == sorted(pids)
    subs = {s["subPurchaseOrderId"] for o in found for s in o["subPurchaseOrders"]}
    assert subs == {
        ln["subPurchaseOrderId"] for o in out["data"]["orderList"] for ln in o["orderLineList"]
    }


def test_query_shape_and_filters(api: Api) -> None:
    lines = _mixed_lines(api)
    created = api.create("PS-Q", lines, seller_order_number="SO-1", order_remark="r")
    page = api.query(outer_purchase_id="PS-Q")["data"]
    assert page["resultsTotal"] == 3 and page["pageNo"] == 1 and page["pageSize"] == 20
    order = page["purchaseOrders"][0]
    for key, kind in (
        ("purchaseId", int),
        ("outerPurchaseId", str),
        ("sellerOrderNumber", str),
        ("orderSource", str),
        ("status", str),
        ("supplierNick", str),
        ("sourceMarket", str),
        ("purchaseAmount", int),
        ("payAmount", str),
        ("createdTime", int),
        ("modifyTime", int),
        ("nextCloseTimeWithoutPayment", int),
        ("paymentUrl", str),
        ("receiver", dict),
    ):
        assert isinstance(order[key], kind), key
    assert order["sellerOrderNumber"] == "SO-1" and order["orderSource"] == "lazada"
    assert "name" not in order["receiver"] and order["receiver"]["country"] == "Malaysia"
    assert order["payAmount"] == str(order["purchaseAmount"])
    sub = order["subPurchaseOrders"][0]
    assert sub["status"] == "WAIT_BUYER_P" and sub["closeReason"] is None
    assert {"subPurchaseOrderId", "itemId", "skuId", "title", "quantity", "orderLineNo"} <= set(sub)
    assert api.query(outer_purchase_id="nope")["data"]["resultsTotal"] == 0
    assert api.query(outer_purchase_id="PS-Q", status="TRADE_CLOSED")["data"]["resultsTotal"] == 0
    created_ms = order["createdTime"]
    assert api.query(modify_time_start=str(created_ms))["data"]["resultsTotal"] == 3
    assert api.query(modify_time_end=str(created_ms))["data"]["resultsTotal"] == 0
    assert created["data"]["orderList"][0]["purchaseId"] in {
        o["purchaseId"] for o in page["purchaseOrders"]
    }


def test_query_paging_by_purchase_ids(api: Api) -> None:
    mp, skus = api.mp_ids(652876415053)
    pids = []
    for n in range(7):
        out = api.create(f"PS-P{n}", [line(mp, skus[n % 2], "1")])
        pids += [o["purchaseId"] for o in out["data"]["orderList"]]
    wanted = json.dumps(pids)
    seen = []
    for page_no in (1, 2, 3, 4):
        page = api.query(purchase_ids=wanted, page_no=str(page_no), page_size="3")["data"]
        assert page["resultsTotal"] == 7 and page["pageSize"] == 3
        seen += [o["purchaseId"] for o in page["purchaseOrders"]]
    assert seen == pids  # ASC by modify time, then creation order; page 4 is empty
    desc = api.query(purchase_ids=wanted, sort_type="DESC", page_size="50")["data"][
        "purchaseOrders"
    ]
    assert [o["purchaseId"] for o in desc] == pids[::-1]
    everything = api.query(page_size="50")["data"]
    assert everything["resultsTotal"] == 7


def test_cancel_closes_sub_orders_then_the_order(api: Api, control: SandboxControl) -> None:
    a_mp, a_skus = api.mp_ids(718293045561)
    out = api.create("PS-CANCEL", [line(a_mp, a_skus[0], "1"), line(a_mp, a_skus[1], "2")])
    order = out["data"]["orderList"][0]
    pid = order["purchaseId"]
    first, second = (ln["subPurchaseOrderId"] for ln in order["orderLineList"])

    def cancel(subs: list[str] | None, reason: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "purchase_id": str(pid),
            "cancel_reason": reason,
            "cancel_remark": "-",
        }
        if subs is not None:
            body["sub_purchase_orderId_list"] = subs
        return api.post("/purchase/order/asyn/cancel", body).json()

    def current() -> dict[str, Any]:
        return api.query(purchase_ids=json.dumps([pid]))["data"]["purchaseOrders"][0]

    before = current()["modifyTime"]
    assert [o["status"] for o in control.orders("PS-CANCEL")] == ["WAIT_BUYER_P"]  # now cached
    assert cancel([str(first)], "不想采购了") == {
        "success": True,
        "errorCode": None,
        "errorMsg": None,
    }
    assert current()["subPurchaseOrders"][0]["status"] == "WAIT_BUYER_P"  # accepted, not done
    control.advance_clock(5)  # cancel_delay_s
    now = current()
    assert now["status"] == "WAIT_BUYER_P" and now["modifyTime"] >= before
    subs = {s["subPurchaseOrderId"]: s for s in now["subPurchaseOrders"]}
    assert subs[first]["status"] == "TRADE_CLOSED" and subs[first]["closeReason"] == "不想采购了"
    assert subs[second]["status"] == "WAIT_BUYER_P"
    assert cancel(None, "all")["success"] is True
    control.advance_clock(5)
    final = current()
    assert final["status"] == "TRADE_CLOSED"
    reasons = {s["subPurchaseOrderId"]: s["closeReason"] for s in final["subPurchaseOrders"]}
    assert reasons == {first: "不想采购了", second: "all"}  # a closed line keeps its reason
    assert api.query(status="TRADE_CLOSED")["data"]["resultsTotal"] == 1
    assert [o["status"] for o in control.orders("PS-CANCEL")] == ["TRADE_CLOSED"]
    assert [ln["status"] for ln in control.orders()[0]["lines"]] == ["TRADE_CLOSED"] * 2
    (light,) = control.orders(lines=False)
    assert "lines" not in light and light["status"] == "TRADE_CLOSED"
    assert light["purchase_id"] == str(pid)
    assert control.stats()["cancels_committed"] == 2


def test_outer_id_is_not_deduplicated_by_default(api: Api, control: SandboxControl) -> None:
    mp, skus = api.mp_ids(652876415053)
    first = api.create("PS-DUP", [line(mp, skus[0], "1")])["data"]["orderList"][0]["purchaseId"]
    second = api.create("PS-DUP", [line(mp, skus[0], "1")])["data"]["orderList"][0]["purchaseId"]
    assert first != second
    stored = control.orders("PS-DUP")
    assert len({o["create_no"] for o in stored}) == 2
    assert control.stats()["duplicate_outer_ids"] == 1
    assert api.query(outer_purchase_id="PS-DUP")["data"]["resultsTotal"] == 2


def test_dedupe_option_replays_the_first_result(api: Api, control: SandboxControl) -> None:
    control.set_config(dedupe_outer_id=True)
    lines = _mixed_lines(api)
    first = api.create("PS-DEDUPE", lines)["data"]
    again = api.create("PS-DEDUPE", lines[:1])["data"]
    assert again == first
    stats = control.stats()
    assert stats["creates_committed"] == 1 and stats["creates_deduplicated"] == 1
    assert stats["duplicate_outer_ids"] == 0
    assert len(control.orders("PS-DEDUPE")) == 3


def test_orders_survive_a_restart_and_ids_are_not_reused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "orders.sqlite")
    with start_in_thread(SandboxConfig(db_path=db)) as first, Api(first) as api:
        mp, skus = api.mp_ids(652876415053)
        old = api.create("PS-KEEP", [line(mp, skus[0], "1")])["data"]["orderList"][0]
        api.create("PS-TWICE", [line(mp, skus[0], "1")])
        api.create("PS-TWICE", [line(mp, skus[0], "1")])
    with start_in_thread(SandboxConfig(db_path=db)) as second, Api(second) as api:
        found = api.query(outer_purchase_id="PS-KEEP")["data"]["purchaseOrders"]
        assert [o["purchaseId"] for o in found] == [old["purchaseId"]]
        assert second.control.stats()["duplicate_outer_ids"] == 1  # rebuilt from the file
        new = api.create("PS-NEW", [line(mp, skus[0], "1")])["data"]["orderList"][0]
        assert new["purchaseId"] > old["purchaseId"]
        assert (
            new["orderLineList"][0]["subPurchaseOrderId"]
            > old["orderLineList"][0]["subPurchaseOrderId"]
        )
        second.control.reset()  # clearing keeps the sequences going
        newer = api.create("PS-NEWER", [line(mp, skus[0], "1")])["data"]["orderList"][0]
        assert newer["purchaseId"] > new["purchaseId"]
        assert len(second.control.orders()) == 1
