"""What a status sync reads: the query's models (any status kept, exact money and times) and the
complete-or-raise lookups by purchase ids and by modification window (httpx.MockTransport)."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from pydantic import ValidationError

from shanjing import PURCHASE_STATUSES, IncompleteLookupError, PurchaseOrder

from .conftest import envelope

ORDER_CAMEL = {
    "purchaseId": 3560000000000000123,
    "outerPurchaseId": "PS-1",
    "status": "WAIT_BUYER_CONFIRM_GOODS",
    "purchaseAmount": 4800,
    "payAmount": "4800",
    "payTime": 1773450600000,
    "createdTime": 1773450000000,
    "modifyTime": "1773537000000",
    "nextCloseTimeWithoutPayment": 1773536400000,
    "subPurchaseOrders": [
        {
            "subPurchaseOrderId": 2912066688476065752,
            "status": "WAIT_BUYER_CONFIRM_GOODS",
            "payAmount": "4200",
            "refundStatus": "-10",
            "logisticOrders": [
                {"logisticCompanyName": "顺丰速运", "logisticNumber": "SF1", "rtsTime": 17734},
                {"logisticCompanyName": "顺丰速运", "logisticNumber": "SF2", "rtsTime": "x"},
            ],
        },
        {"subPurchaseOrderId": 2912066688476065753, "logisticOrders": [{"logisticNumber": "SF1"}]},
    ],
}


def _snake(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


@pytest.mark.parametrize("spelling", ["camel", "snake"])
def test_purchase_order_carries_what_sync_needs(spelling: str) -> None:
    raw = ORDER_CAMEL if spelling == "camel" else _snake(ORDER_CAMEL)
    order = PurchaseOrder.model_validate(raw)
    assert order.purchase_id == "3560000000000000123" and order.status_known
    assert (order.pay_amount, order.pay_time) == (4800, 1773450600000)
    assert order.modify_time == 1773537000000 and order.next_close_time_without_payment
    assert not order.closed_without_payment and order.logistics_numbers == ["SF1", "SF2"]
    first, second = order.sub_orders
    assert (first.pay_amount, first.refund_status) == (4200, -10)
    assert first.logistic_orders[0].company == "顺丰速运" and first.logistic_orders[0].rts_time
    assert second.refund_status is None and second.status == ""


def test_an_unknown_status_is_kept_and_a_closed_unpaid_order_is_told() -> None:
    odd = PurchaseOrder.model_validate({"purchaseId": 1, "status": "WAIT_SELLER_AGREE"})
    assert odd.status == "WAIT_SELLER_AGREE" and not odd.status_known
    closed = PurchaseOrder.model_validate(
        {"purchaseId": 1, "status": "TRADE_CLOSED", "closeReason": "not paid"}
    )
    assert closed.closed_without_payment and closed.close_reason == "not paid"
    assert PURCHASE_STATUSES[0] == "BULIDING"


@pytest.mark.parametrize(
    "bad", [{"payAmount": 48.0}, {"payAmount": "48.50"}, {"payTime": 1.7e12}, {"payTime": True}]
)
def test_money_and_times_never_pass_through_float(bad: dict) -> None:
    with pytest.raises(ValidationError):
        PurchaseOrder.model_validate({"purchaseId": 1, **bad})


def _store(orders: list[dict], seen: list[httpx.Request], drop_total: bool = False):  # type: ignore[no-untyped-def]
    """A query endpoint over `orders` honouring purchase_ids and the modification window."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        q = request.url.params
        picked = orders
        if "purchase_ids" in q:
            wanted = set(json.loads(q["purchase_ids"]))
            picked = [o for o in picked if o["purchaseId"] in wanted]
        if "modify_time_start" in q:
            lo, hi = int(q["modify_time_start"]), int(q["modify_time_end"])
            picked = [o for o in picked if lo <= o["modifyTime"] < hi]
        page, size = int(q["page_no"]), int(q["page_size"])
        data: dict = {"purchaseOrders": picked[(page - 1) * size : page * size]}
        if not drop_total:
            data["resultsTotal"] = len(picked)
        return httpx.Response(200, json=envelope(data))

    return handler


ORDERS = [
    {"purchaseId": 1000 + i, "status": "WAIT_BUYER_P", "modifyTime": 5000 + i} for i in range(12)
]


async def test_find_by_purchase_ids_batches_and_reports_absence(make_client) -> None:
    seen: list[httpx.Request] = []
    async with make_client(_store(ORDERS, seen)) as client:
        ids = [str(1000 + i) for i in range(12)] + ["1003", "999"]  # a repeat and an unknown id
        found = await client.find_by_purchase_ids(ids, batch_size=5)
    assert [o.purchase_id for o in found] == [str(1000 + i) for i in range(12)]
    assert [json.loads(r.url.params["purchase_ids"]) for r in seen] == [
        [1000, 1001, 1002, 1003, 1004],
        [1005, 1006, 1007, 1008, 1009],
        [1010, 1011, 999],
    ]
    assert client.stats.calls["query"] == 3


async def test_find_by_purchase_ids_refuses_an_order_it_did_not_ask_for(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # ignores the filter
        return httpx.Response(200, json=envelope({"resultsTotal": 12, "purchaseOrders": ORDERS}))

    async with make_client(handler) as client:
        with pytest.raises(IncompleteLookupError) as info:
            await client.find_by_purchase_ids(["1000"])
        with pytest.raises(ValueError):
            await client.find_by_purchase_ids(["1000"], batch_size=51)
    assert info.value.reason == "FILTER_IGNORED"


async def test_iter_orders_reads_the_whole_window_in_order(make_client) -> None:
    seen: list[httpx.Request] = []
    async with make_client(_store(ORDERS, seen)) as client:
        found = await client.iter_orders(modify_time_start=5002, modify_time_end=5009, page_size=3)
    assert [o.modify_time for o in found] == list(range(5002, 5009))
    params = dict(seen[0].url.params)
    assert (params["sort_type"], params["sort_field"]) == ("ASC", "modify_time")
    assert (params["modify_time_start"], params["modify_time_end"]) == ("5002", "5009")
    assert len(seen) == 3 and "status" not in params


@pytest.mark.parametrize(
    ("orders", "reason"),
    [
        ([{"purchaseId": 1, "modifyTime": 10}], "FILTER_IGNORED"),  # outside the window
        ([{"purchaseId": 1}], "FILTER_IGNORED"),  # no modifyTime: cannot be checked
        ([{"purchaseId": 1, "modifyTime": 5000, "status": "TRADE_CLOSED"}], "FILTER_IGNORED"),
    ],
)
async def test_iter_orders_raises_when_the_filter_was_ignored(
    make_client, orders: list, reason: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope({"resultsTotal": 1, "purchaseOrders": orders}))

    async with make_client(handler) as client:
        with pytest.raises(IncompleteLookupError) as info:
            await client.iter_orders(
                modify_time_start=5000, modify_time_end=6000, status="WAIT_BUYER_P"
            )
        with pytest.raises(ValueError):
            await client.iter_orders(modify_time_start=5, modify_time_end=5)
    assert info.value.reason == reason


async def test_iter_orders_without_a_total_raises(make_client) -> None:
    async with make_client(_store(ORDERS, [], drop_total=True)) as client:
        with pytest.raises(IncompleteLookupError) as info:
            await client.iter_orders(modify_time_start=0, modify_time_end=10**13)
    assert info.value.reason == "NO_TOTAL"
