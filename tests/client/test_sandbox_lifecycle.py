"""What the status sync and the guarded cancel will do, over real HTTP against the sandbox: a
purchase followed from creation through payment wait, auto-close, payment, shipping and
cancellation, with the typed models and the complete-or-raise lookups (issue 11)."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxHandle
from shanjing import BusinessError, IncompleteLookupError, PurchaseOrder, ShanjingClient

from .live import TB_ITEM, connect, order_for

DAY_S = 86_400


async def _create(client: ShanjingClient, outer: str) -> tuple[str, list[str]]:
    """A purchase of two SKUs of one supplier: (purchase id, [sub-order ids])."""
    product = await client.get_product(TB_ITEM)
    (order,) = (await client.create_order(order_for(product, outer, n_skus=2))).orders
    return order.purchase_id, [line.sub_purchase_order_id or "" for line in order.lines]


async def _one(client: ShanjingClient, pid: str) -> PurchaseOrder:
    (order,) = await client.find_by_purchase_ids([pid])
    return order


async def test_unpaid_purchase_waits_then_closes_itself(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        pid, _ = await _create(client, "PS-wait")
        waiting = await _one(client, pid)
        assert waiting.status == "WAIT_BUYER_P" and waiting.pay_time is None
        assert waiting.next_close_time_without_payment == waiting.created_time + DAY_S * 1000
        assert waiting.payment_url and waiting.pay_amount == waiting.purchase_amount
        sbx.control.advance_clock(DAY_S)
        closed = await _one(client, pid)
        # the sync's "what closed since the last run" finds it in the window of its close time
        window = await client.iter_orders(
            modify_time_start=waiting.modify_time + 1,
            modify_time_end=sbx.control.clock()["now_ms"] + 1,
        )
    assert closed.status == "TRADE_CLOSED" and closed.closed_without_payment
    assert closed.close_reason and "without payment" in closed.close_reason
    assert closed.modify_time == waiting.next_close_time_without_payment
    assert {s.status for s in closed.sub_orders} == {"TRADE_CLOSED"}
    assert [o.purchase_id for o in window] == [pid]


async def test_paid_purchase_ships_with_tracking_numbers(sbx: SandboxHandle) -> None:
    sbx.control.set_config(ship_delay_s=7200)
    async with connect(sbx) as client:
        pid, _ = await _create(client, "PS-paid")
        before = sbx.control.clock()["now_ms"]
        sbx.control.pay([pid])
        paid = await client.iter_orders(modify_time_start=before, modify_time_end=before + 10**6)
        sbx.control.advance_clock(7200)
        shipped = await _one(client, pid)
        sbx.control.set_refund_status(shipped.sub_orders[0].sub_purchase_order_id, 10)
        refunding = await _one(client, pid)
    (paid_order,) = paid
    assert paid_order.status == "WAIT_SELLER_SEND_GOODS" and paid_order.pay_time
    assert isinstance(paid_order.pay_amount, int) and paid_order.pay_amount > 0
    assert all(isinstance(s.pay_amount, int) for s in paid_order.sub_orders)
    assert shipped.status == "WAIT_BUYER_CONFIRM_GOODS" and not shipped.closed_without_payment
    (number,) = shipped.logistics_numbers
    assert number.startswith("SBX") and shipped.sub_orders[0].logistic_orders[0].company
    assert refunding.sub_orders[0].refund_status == 10
    assert refunding.sub_orders[1].refund_status == 0


async def test_cancel_is_accepted_then_confirmed_by_the_query(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        pid, _ = await _create(client, "PS-cancel")
        await client.cancel_order(pid, reason="customer cancelled on Lazada")
        accepted = await _one(client, pid)
        sbx.control.advance_clock(5)
        done = await _one(client, pid)
    assert accepted.status == "WAIT_BUYER_P"  # accepted is not done
    assert done.status == "TRADE_CLOSED" and done.close_reason == "customer cancelled on Lazada"
    assert done.closed_without_payment  # closed and never paid, whatever the reason


async def test_partial_cancel_closes_only_its_sub_orders(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        pid, (first, second) = await _create(client, "PS-partial")
        await client.cancel_order(pid, [first], reason="line 1")
        sbx.control.advance_clock(5)
        order = await _one(client, pid)
    subs = {s.sub_purchase_order_id: s for s in order.sub_orders}
    assert order.status == "WAIT_BUYER_P"
    assert (subs[first].status, subs[first].close_reason) == ("TRADE_CLOSED", "line 1")
    assert subs[second].status == "WAIT_BUYER_P"


async def test_a_shipped_line_is_refused_as_a_business_rejection(sbx: SandboxHandle) -> None:
    sbx.control.set_config(ship_delay_s=60)
    async with connect(sbx) as client:
        pid, (first, _) = await _create(client, "PS-shipped")
        sbx.control.pay([pid])
        sbx.control.advance_clock(60)
        with pytest.raises(BusinessError) as info:
            await client.cancel_order(pid, [first])
        assert (await _one(client, pid)).status == "WAIT_BUYER_CONFIRM_GOODS"
    assert info.value.code == "CANCEL_NOT_ALLOWED" and client.stats.requests["cancel"] == 1


async def test_lookups_cost_the_minimum_number_of_calls(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        pids = [(await _create(client, f"PS-many-{n}"))[0] for n in range(12)]
        start = (await _one(client, pids[0])).modify_time
        before = client.stats.calls["query"]
        by_id = await client.find_by_purchase_ids(pids, batch_size=5)
        by_window = await client.iter_orders(
            modify_time_start=start, modify_time_end=sbx.control.clock()["now_ms"] + 1, page_size=5
        )
        calls = client.stats.calls["query"] - before
    assert sorted(o.purchase_id for o in by_id) == sorted(pids)
    assert [o.purchase_id for o in by_window] == pids  # oldest change first
    assert calls == 3 + 3  # ceil(12 / 5), twice
    assert sbx.control.stats()["requests"]["query"] >= calls


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("query_short_page_rate", "SHORT_PAGE"),
        ("query_ignore_filter_rate", "FILTER_IGNORED"),
        ("query_no_total_rate", "NO_TOTAL"),
    ],
)
async def test_window_lookup_under_query_faults_raises(
    sbx: SandboxHandle, fault: str, reason: str
) -> None:
    async with connect(sbx) as client:
        for n in range(3):
            await _create(client, f"PS-f{n}")
        sbx.control.advance_clock(10)
        cut = sbx.control.clock()["now_ms"]
        await _create(client, "PS-outside")  # after the window: only an ignored filter shows it
        sbx.control.set_config(**{fault: 1.0})
        with pytest.raises(IncompleteLookupError) as info:
            await client.iter_orders(modify_time_start=0, modify_time_end=cut, page_size=2)
    assert info.value.reason == reason
