"""Statuses over the sandbox's clock: payment wait, auto-close, pay, ship, the asynchronous cancel,
and modification-window queries that find every change (issue 11)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from sandbox.lifecycle import AUTO_CLOSE_REASON
from sandbox.testing import SandboxControl, sandbox_server
from tests.sandbox.conftest import Api, line

DAY_S = 86_400


def _purchase(api: Api, outer: str) -> tuple[str, list[str]]:
    """One purchase with two sub-orders (two SKUs of one supplier): (purchase id, [sub ids])."""
    mp, skus = api.mp_ids(718293045561)
    out = api.create(outer, [line(mp, skus[0], "1"), line(mp, skus[1], "2")])
    (order,) = out["data"]["orderList"]
    return str(order["purchaseId"]), [
        str(ln["subPurchaseOrderId"]) for ln in order["orderLineList"]
    ]


def _order(api: Api, pid: str) -> dict[str, Any]:
    (order,) = api.query(purchase_ids=f"[{pid}]")["data"]["purchaseOrders"]
    return order


def _subs(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(s["subPurchaseOrderId"]): s for s in order["subPurchaseOrders"]}


def _cancel(api: Api, pid: str, subs: list[str] | None = None, reason: str = "r") -> httpx.Response:
    body: dict[str, Any] = {"purchase_id": pid, "cancel_reason": reason, "cancel_remark": ""}
    if subs is not None:
        body["sub_purchase_orderId_list"] = subs
    return api.post("/purchase/order/asyn/cancel", body)


def _window(api: Api, start: int, end: int, **params: Any) -> list[str]:
    data = api.query(modify_time_start=str(start), modify_time_end=str(end), **params)["data"]
    return [str(o["purchaseId"]) for o in data["purchaseOrders"]]


def test_the_clock_moves_forward_only_and_dates_what_the_sandbox_writes(
    api: Api, control: SandboxControl
) -> None:
    start = control.clock()
    assert start["offset_s"] == 0 and control.stats()["clock"]["offset_s"] == 0
    moved = control.advance_clock(3 * DAY_S)
    assert moved["offset_s"] == 3 * DAY_S and moved["now_ms"] >= start["now_ms"] + 3 * DAY_S * 1000
    pid, _ = _purchase(api, "PS-CLOCK")
    order = _order(api, pid)
    assert order["createdTime"] >= moved["now_ms"] and order["modifyTime"] == order["createdTime"]
    assert order["nextCloseTimeWithoutPayment"] == order["createdTime"] + DAY_S * 1000
    with pytest.raises(ValueError, match="forward"):
        control.set_clock_offset(DAY_S)
    with pytest.raises(ValueError, match="forward"):
        control.advance_clock(-1)
    assert control.set_clock_offset(4 * DAY_S)["offset_s"] == 4 * DAY_S
    control.reset()
    assert control.clock()["offset_s"] == 0


def test_an_unpaid_purchase_closes_itself_at_its_close_time(
    api: Api, control: SandboxControl
) -> None:
    pid, subs = _purchase(api, "PS-UNPAID")
    created = _order(api, pid)
    close_at = created["nextCloseTimeWithoutPayment"]
    assert created["status"] == "WAIT_BUYER_P" and created["payTime"] is None
    assert {s["closeTimeWithoutPayment"] for s in created["subPurchaseOrders"]} == {close_at}
    control.advance_clock(DAY_S - 60)
    assert _order(api, pid)["status"] == "WAIT_BUYER_P"
    control.advance_clock(120)
    closed = _order(api, pid)
    assert closed["status"] == "TRADE_CLOSED" and closed["modifyTime"] == close_at
    assert closed["closeReason"] == AUTO_CLOSE_REASON and closed["closeTime"] == close_at
    assert {s["status"] for s in closed["subPurchaseOrders"]} == {"TRADE_CLOSED"}
    assert {s["closeReason"] for s in closed["subPurchaseOrders"]} == {AUTO_CLOSE_REASON}
    # the change is where a modification-window query looks for it, and only there
    assert _window(api, close_at, close_at + 1) == [pid]
    assert _window(api, created["createdTime"], close_at) == []
    assert _window(api, 0, close_at + 1, status="TRADE_CLOSED") == [pid]
    assert control.stats()["auto_closed"] == 1 and len(subs) == 2


def test_pay_then_ship(api: Api, control: SandboxControl) -> None:
    control.set_config(ship_delay_s=3600)
    pid, _ = _purchase(api, "PS-PAY")
    created = _order(api, pid)
    control.advance_clock(600)
    assert control.pay([pid]) == [pid]
    paid = _order(api, pid)
    now = control.clock()["now_ms"]
    assert paid["status"] == "WAIT_SELLER_SEND_GOODS" and created["createdTime"] < paid["payTime"]
    assert paid["payTime"] <= now and paid["modifyTime"] == paid["payTime"]
    assert paid["payAmount"] == str(created["purchaseAmount"])
    for sub in paid["subPurchaseOrders"]:
        assert sub["status"] == "WAIT_SELLER_SEND_GOODS" and sub["payTime"] == paid["payTime"]
        assert sub["payAmount"] == str(sub["purchaseAmount"]) and sub["logisticOrders"] == []
    control.advance_clock(3599)
    assert _order(api, pid)["status"] == "WAIT_SELLER_SEND_GOODS"
    control.advance_clock(DAY_S)  # far past the close time: a paid purchase does not auto-close
    shipped = _order(api, pid)
    assert shipped["status"] == "WAIT_BUYER_CONFIRM_GOODS"
    assert shipped["modifyTime"] == paid["payTime"] + 3600 * 1000
    numbers = set()
    for sub in shipped["subPurchaseOrders"]:
        (parcel,) = sub["logisticOrders"]
        assert sub["status"] == "WAIT_BUYER_CONFIRM_GOODS" and parcel["logisticCompanyName"]
        assert parcel["rtsTime"] == shipped["modifyTime"]
        numbers.add(parcel["logisticNumber"])
    assert len(numbers) == 1 and numbers.pop().startswith("SBX")
    stats = control.stats()
    assert (stats["payments"], stats["shipments"], stats["auto_closed"]) == (1, 1, 0)


def test_pay_is_all_or_nothing(api: Api, control: SandboxControl) -> None:
    good, _ = _purchase(api, "PS-GOOD")
    closed, _ = _purchase(api, "PS-CLOSED")
    assert _cancel(api, closed).json()["success"] is True
    control.advance_clock(5)
    with pytest.raises(ValueError, match="TRADE_CLOSED"):
        control.pay([good, closed])
    with pytest.raises(ValueError, match="no purchase"):
        control.pay(["3560000000000000001"])
    assert _order(api, good)["status"] == "WAIT_BUYER_P"
    control.pay([good])
    with pytest.raises(ValueError, match="WAIT_SELLER_SEND_GOODS"):
        control.pay([good])


def test_cancel_is_applied_after_its_delay(api: Api, control: SandboxControl) -> None:
    control.set_config(cancel_delay_s=30)
    pid, _ = _purchase(api, "PS-ASYNC")
    before = _order(api, pid)
    assert _cancel(api, pid, reason="客户取消").json() == {
        "success": True,
        "errorCode": None,
        "errorMsg": None,
    }
    control.advance_clock(29)
    assert _order(api, pid) == before  # accepted is not done: nothing visible changed
    control.advance_clock(1)
    after = _order(api, pid)
    assert after["status"] == "TRADE_CLOSED" and after["closeReason"] == "客户取消"
    assert {s["closeReason"] for s in after["subPurchaseOrders"]} == {"客户取消"}
    assert after["modifyTime"] == after["closeTime"] > before["modifyTime"]
    stats = control.stats()
    assert stats["cancels_committed"] == 1 and stats["cancels_applied"] == 1


def test_partial_cancel_closes_only_its_sub_orders(api: Api, control: SandboxControl) -> None:
    pid, (first, second) = _purchase(api, "PS-PART")
    assert _cancel(api, pid, [first], reason="line 1 cancelled").json()["success"] is True
    control.advance_clock(5)
    order = _order(api, pid)
    subs = _subs(order)
    assert order["status"] == "WAIT_BUYER_P" and "closeReason" not in order
    assert subs[first]["status"] == "TRADE_CLOSED"
    assert subs[first]["closeReason"] == "line 1 cancelled"
    assert subs[second]["status"] == "WAIT_BUYER_P" and subs[second]["closeReason"] is None
    # the rest is paid (the payable amount loses the cancelled line) and ships alone
    control.pay([pid])
    paid = _order(api, pid)
    fee = paid["purchaseAmount"] - sum(s["purchaseAmount"] for s in paid["subPurchaseOrders"])
    assert paid["payAmount"] == str(_subs(paid)[second]["purchaseAmount"] + fee)
    control.advance_clock(DAY_S)
    shipped = _subs(_order(api, pid))
    assert shipped[first]["status"] == "TRADE_CLOSED" and shipped[first]["logisticOrders"] == []
    assert shipped[second]["status"] == "WAIT_BUYER_CONFIRM_GOODS"


def test_a_shipped_line_cannot_be_cancelled(api: Api, control: SandboxControl) -> None:
    control.set_config(ship_delay_s=60)
    pid, (first, _second) = _purchase(api, "PS-SHIPPED")
    control.pay([pid])
    control.advance_clock(60)
    for subs in ([first], None):
        body = _cancel(api, pid, subs).json()
        assert body["success"] is False and body["errorCode"] == "CANCEL_NOT_ALLOWED"
    control.advance_clock(60)
    assert _order(api, pid)["status"] == "WAIT_BUYER_CONFIRM_GOODS"
    assert control.stats()["rejections_by_code"] == {"CANCEL_NOT_ALLOWED": 2}


def test_a_cancel_overtaken_by_the_shipment_does_nothing(api: Api, control: SandboxControl) -> None:
    control.set_config(ship_delay_s=10, cancel_delay_s=20)
    pid, _ = _purchase(api, "PS-RACE")
    control.pay([pid])
    assert _cancel(api, pid).json()["success"] is True  # not shipped yet: accepted
    control.advance_clock(30)
    order = _order(api, pid)
    assert order["status"] == "WAIT_BUYER_CONFIRM_GOODS"
    assert {s["status"] for s in order["subPurchaseOrders"]} == {"WAIT_BUYER_CONFIRM_GOODS"}
    stats = control.stats()
    assert (stats["cancels_too_late"], stats["cancels_applied"]) == (1, 0)


def test_cancelling_a_closed_line_is_accepted_and_changes_nothing(
    api: Api, control: SandboxControl
) -> None:
    pid, (first, _second) = _purchase(api, "PS-TWICE")
    _cancel(api, pid, [first], reason="first")
    control.advance_clock(5)
    before = _order(api, pid)
    assert _cancel(api, pid, [first], reason="again").json()["success"] is True
    control.advance_clock(5)
    assert _order(api, pid) == before


@pytest.mark.parametrize(
    ("fault", "answered", "applied"),
    [
        ("lose_response_rate", None, True),
        ("error_envelope_rate", False, False),
        ("error_envelope_after_commit_rate", False, True),
        ("late_commit_rate", 504, True),
    ],
)
def test_faults_hit_cancel_as_they_hit_create(
    api: Api, control: SandboxControl, fault: str, answered: Any, applied: bool
) -> None:
    pid, _ = _purchase(api, f"PS-{fault}")
    control.set_config(**{fault: 1.0, "late_commit_s": 0.0, "fault_endpoints": ["cancel"]})
    if answered is None:
        with pytest.raises(httpx.TransportError):
            _cancel(api, pid)
    else:
        resp = _cancel(api, pid)
        assert resp.status_code == 504 if answered == 504 else resp.json()["success"] is False
    if fault == "late_commit_rate":
        while control.stats()["late_commits_done"] == 0:
            time.sleep(0.01)
    control.advance_clock(5)
    assert (_order(api, pid)["status"] == "TRADE_CLOSED") is applied


def test_building_comes_first_when_configured(api: Api, control: SandboxControl) -> None:
    control.set_config(building_s=2)
    pid, _ = _purchase(api, "PS-BUILD")
    first = _order(api, pid)
    assert first["status"] == "BULIDING"
    assert {s["status"] for s in first["subPurchaseOrders"]} == {"BULIDING"}
    with pytest.raises(ValueError, match="BULIDING"):
        control.pay([pid])
    control.advance_clock(2)
    ready = _order(api, pid)
    assert ready["status"] == "WAIT_BUYER_P" and ready["modifyTime"] == first["createdTime"] + 2000


def test_refund_status_control(api: Api, control: SandboxControl) -> None:
    pid, (first, second) = _purchase(api, "PS-REFUND")
    assert {s["refundStatus"] for s in _order(api, pid)["subPurchaseOrders"]} == {0}
    control.advance_clock(10)
    control.set_refund_status(first, 10)
    order = _order(api, pid)
    assert _subs(order)[first]["refundStatus"] == 10 and _subs(order)[second]["refundStatus"] == 0
    assert order["modifyTime"] >= control.clock()["now_ms"] - 1000
    with pytest.raises(ValueError, match="no sub-order"):
        control.set_refund_status("2912000000000000001", 10)
    with pytest.raises(ValueError, match="integer"):
        control.set_refund_status(first, "10")  # type: ignore[arg-type]


def test_window_queries_follow_the_lifecycle(api: Api, control: SandboxControl) -> None:
    """Each change moves `modifyTime`; windows, status, sort and paging agree with it."""
    control.set_config(ship_delay_s=100, cancel_delay_s=10)
    pids = [_purchase(api, f"PS-W{n}")[0] for n in range(4)]
    t0 = max(_order(api, pid)["createdTime"] for pid in pids)  # the last creation
    control.advance_clock(50)
    control.pay([pids[0]])
    paid_at = _order(api, pids[0])["payTime"]
    _cancel(api, pids[1])
    control.advance_clock(10)  # the cancel lands
    closed_at = _order(api, pids[1])["closeTime"]
    control.advance_clock(100)  # the payment ships
    shipped_at = _order(api, pids[0])["modifyTime"]
    assert t0 < paid_at < closed_at < shipped_at
    end = shipped_at + 1
    assert _window(api, t0 + 1, end) == [pids[1], pids[0]]  # changed after creation, ASC
    assert _window(api, t0 + 1, end, sort_type="DESC") == [pids[0], pids[1]]
    assert _window(api, paid_at, closed_at) == []  # the payment's version moved on
    assert _window(api, 0, end, status="TRADE_CLOSED") == [pids[1]]
    assert _window(api, 0, end, status="WAIT_BUYER_P") == pids[2:]
    assert _window(api, 0, end, status="WAIT_BUYER_CONFIRM_GOODS") == [pids[0]]
    page = api.query(modify_time_start="0", page_size="3", page_no="2", sort_field="created_time")
    assert [str(o["purchaseId"]) for o in page["data"]["purchaseOrders"]] == [pids[3]]
    assert page["data"]["resultsTotal"] == 4
    assert control.stats()["requests"]["query"] >= 10


def test_query_lag_runs_on_the_sandbox_clock(api: Api, control: SandboxControl) -> None:
    control.set_config(query_lag_s=60)
    pid, _ = _purchase(api, "PS-LAGGED")
    assert api.query(purchase_ids=f"[{pid}]")["data"]["resultsTotal"] == 0
    control.advance_clock(60)
    assert _order(api, pid)["status"] == "WAIT_BUYER_P"
    control.pay([pid])
    assert _order(api, pid)["status"] == "WAIT_BUYER_P"  # the payment is not visible yet
    assert api.query(status="WAIT_SELLER_SEND_GOODS")["data"]["resultsTotal"] == 0
    control.advance_clock(60)
    assert _order(api, pid)["status"] == "WAIT_SELLER_SEND_GOODS"


def test_an_accepted_cancel_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "orders.sqlite")
    with sandbox_server(db_path=db, cancel_delay_s=0.2) as sbx, Api(sbx) as api:
        pid, _ = _purchase(api, "PS-DURABLE")
        assert _cancel(api, pid).json()["success"] is True
    with sandbox_server(db_path=db) as sbx, Api(sbx) as api:
        sbx.control.advance_clock(1)
        assert _order(api, pid)["status"] == "TRADE_CLOSED"
        (stored,) = sbx.control.orders("PS-DURABLE")
        assert stored["status"] == "TRADE_CLOSED"
        assert json.loads(json.dumps(stored))["lines"][0]["status"] == "TRADE_CLOSED"
