"""Status sync, attention lists and cancels against the sandbox over real HTTP."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from purchase_sync.follow import (
    FollowSettings,
    remote_status_by_outer_id,
    run_follow,
    status_mix,
    sync_statuses,
)
from purchase_sync.follow.ledger_view import created_purchases
from tests.submit.factories import line, many, purchase

from .conftest import FAST, create, make_client, sandbox_clock
from .helpers import cancel_all, export_lines

DAY = 86400


async def _follow(sbx, ledger, store, tmp_path, settings=FAST, order_lines=None, **kw):
    async with make_client(sbx) as client:
        return await run_follow(
            client,
            store,
            settings,
            ledger_engine=ledger.engine,
            out=tmp_path / "out",
            order_lines=order_lines,
            clock_ms=sandbox_clock(sbx),
            **kw,
        )


def _cancel_calls(sbx) -> int:
    return int(sbx.control.stats()["requests"].get("cancel", 0))


async def test_followed_from_creation_through_payment_wait_auto_close_and_cancel(
    sbx, ledger, store, tmp_path
) -> None:
    unpaid, cancelled = purchase("A1"), purchase("A2", (line(1, "652876415053", "4476108391170"),))
    await create(sbx, ledger, [unpaid, cancelled])
    pid = created_purchases(ledger.engine)[unpaid.outer_purchase_id].purchase_ids[0]

    first = await _follow(sbx, ledger, store, tmp_path)
    assert first.sync.observed == 2 and not first.sync.errors
    assert status_mix(store) == {"WAIT_BUYER_P": 2}
    assert {r["purchase_id"] for r in first.attention.to_pay} >= {pid}
    to_pay = next(r for r in first.attention.to_pay if r["purchase_id"] == pid)
    assert to_pay["payment_url"] and int(to_pay["amount_fen"]) > 0
    assert "to PAY" in first.attention.headline()
    assert (tmp_path / "out/follow/to_pay.csv").read_text().count(pid) == 1

    # the customer cancels A2: its purchase is cancelled (accepted), then confirmed by a sync
    lines = export_lines([unpaid, cancelled], cancel_all([cancelled]))
    second = await _follow(sbx, ledger, store, tmp_path, order_lines=lines)
    assert second.cancel.outcomes == {"accepted": 1}
    assert [c["state"] for c in second.attention.cancels] == ["accepted"]  # not done yet
    sbx.control.advance_clock(10)  # past the sandbox's asynchronous cancel delay
    third = await _follow(sbx, ledger, store, tmp_path)
    assert third.cancel.settled == {"confirmed": 1}
    assert remote_status_by_outer_id(store)[cancelled.outer_purchase_id] == "TRADE_CLOSED"

    # nobody pays A1: it auto-closes and is listed; our own cancel is not
    sbx.control.advance_clock(DAY)
    fourth = await _follow(sbx, ledger, store, tmp_path)
    closed = [r["outer_purchase_id"] for r in fourth.attention.closed_unpaid]
    assert closed == [unpaid.outer_purchase_id]
    assert "CLOSED UNPAID" in fourth.attention.headline()
    history = [
        (h["old_value"], h["new_value"])
        for h in store.history_of(unpaid.outer_purchase_id)
        if h["sub_purchase_order_id"] is None and h["field"] == "status"
    ]
    assert history == [(None, "WAIT_BUYER_P"), ("WAIT_BUYER_P", "TRADE_CLOSED")]
    assert _cancel_calls(sbx) == 1


async def test_partial_cancel_closes_only_its_sub_orders(sbx, ledger, store, tmp_path) -> None:
    # one supplier, two SKUs: one purchase id with two sub-orders; the customer drops one line
    two = purchase(
        "P1", (line(1, "718293045561", "5219384756012"), line(2, "718293045561", "5219384756013"))
    )
    await create(sbx, ledger, [two])
    created = created_purchases(ledger.engine)[two.outer_purchase_id]
    assert len(created.purchase_ids) == 1 and len(created.lines) == 2
    dropped = created.lines[0]
    statuses = {olid: "canceled" for olid in two.lines[0].order_line_ids}

    result = await _follow(sbx, ledger, store, tmp_path, order_lines=export_lines([two], statuses))
    [item] = result.cancel.planned
    assert item.sub_ids == (dropped.sub_purchase_order_id,)
    sbx.control.advance_clock(10)
    await _follow(sbx, ledger, store, tmp_path)
    subs = store.sub_order_rows(created.purchase_ids)
    assert {s: r["status"] for s, r in subs.items()} == {
        dropped.sub_purchase_order_id: "TRADE_CLOSED",
        created.lines[1].sub_purchase_order_id: "WAIT_BUYER_P",
    }
    assert remote_status_by_outer_id(store)[two.outer_purchase_id] == "WAIT_BUYER_P"
    # our partial cancel does not explain the rest closing unpaid: that is still listed
    sbx.control.advance_clock(DAY)
    later = await _follow(sbx, ledger, store, tmp_path)
    assert [r["outer_purchase_id"] for r in later.attention.closed_unpaid] == [
        two.outer_purchase_id
    ]


async def test_every_line_cancelled_cancels_whole_purchases(sbx, ledger, store, tmp_path) -> None:
    # two suppliers: two purchase ids, each cancelled whole (no sub-order list)
    two = purchase(
        "W1", (line(1, "718293045561", "5219384756012"), line(2, "652876415053", "4476108391170"))
    )
    await create(sbx, ledger, [two])
    result = await _follow(
        sbx, ledger, store, tmp_path, order_lines=export_lines([two], cancel_all([two]))
    )
    assert len(result.cancel.planned) == 2
    assert all(item.whole for item in result.cancel.planned)
    sbx.control.advance_clock(10)
    await _follow(sbx, ledger, store, tmp_path)
    assert remote_status_by_outer_id(store)[two.outer_purchase_id] == "TRADE_CLOSED"


async def test_shipped_line_is_listed_not_cancelled(sbx, ledger, store, tmp_path) -> None:
    p = purchase("S1")
    await create(sbx, ledger, [p])
    [pid] = created_purchases(ledger.engine)[p.outer_purchase_id].purchase_ids
    sbx.control.pay([pid])
    sbx.control.advance_clock(DAY + 1)  # ships a day after payment
    result = await _follow(
        sbx, ledger, store, tmp_path, order_lines=export_lines([p], cancel_all([p]))
    )
    assert result.cancel.planned == [] and _cancel_calls(sbx) == 0
    [ret] = result.attention.returns
    assert ret["purchase_id"] == pid and "shipped" in ret["why"]
    assert "RETURNS" in result.attention.headline()
    assert pid in (tmp_path / "out/follow/returns_to_handle.csv").read_text()
    logistics = store.purchase_rows([pid])[pid]["logistics"]
    assert logistics.startswith('["SBX')


async def test_rerun_sends_no_second_cancel(sbx, ledger, store, tmp_path) -> None:
    ps = many(3)
    await create(sbx, ledger, ps)
    lines = export_lines(ps, cancel_all(ps[:1]))
    first = await _follow(sbx, ledger, store, tmp_path, order_lines=lines)
    second = await _follow(sbx, ledger, store, tmp_path, order_lines=lines)
    assert first.cancel.sent == 1
    assert second.cancel.sent == 0 and second.cancel.already_requested == 1
    assert _cancel_calls(sbx) == 1


async def test_crash_between_intent_and_call_is_settled_by_lookup(
    sbx, ledger, store, tmp_path, monkeypatch
) -> None:
    ps = many(2)
    await create(sbx, ledger, ps)
    lines = export_lines(ps, cancel_all(ps[:1]))

    from shanjing import ShanjingClient

    async def crash(self, *args, **kwargs):
        raise RuntimeError("killed between the intent and the call")

    with monkeypatch.context() as m:
        m.setattr(ShanjingClient, "cancel_order", crash)
        with pytest.raises(RuntimeError, match="killed"):
            await _follow(sbx, ledger, store, tmp_path, order_lines=lines)
    [req] = store.cancel_requests()
    assert req["state"] == "intent" and _cancel_calls(sbx) == 0

    # a lookup that cannot be trusted (no total) decides nothing: no resend
    sbx.control.set_config(query_no_total_rate=1.0)
    blind = await _follow(sbx, ledger, store, tmp_path)
    assert blind.failed and blind.sync.errors and blind.cancel.sent == 0
    assert _cancel_calls(sbx) == 0
    sbx.control.set_config(query_no_total_rate=0.0)

    # the rerun looks the purchase up: still open past the grace, so the cancel goes out once
    rerun = await _follow(sbx, ledger, store, tmp_path, order_lines=lines)
    assert rerun.cancel.settled == {"resend": 1} and rerun.cancel.outcomes == {"accepted": 1}
    assert rerun.cancel.already_requested == 1  # the export's line is not planned again
    assert _cancel_calls(sbx) == 1
    sbx.control.advance_clock(10)
    done = await _follow(sbx, ledger, store, tmp_path)
    assert done.cancel.settled == {"confirmed": 1} and _cancel_calls(sbx) == 1


async def test_lost_cancel_answer_is_confirmed_by_lookup_without_resend(
    sbx, ledger, store, tmp_path
) -> None:
    ps = many(2)
    await create(sbx, ledger, ps)
    sbx.control.set_config(lose_response_rate=1.0, fault_endpoints=["cancel"])
    slow = dataclasses.replace(FAST, cancel_grace_s=3600.0)
    first = await _follow(sbx, ledger, store, tmp_path, slow, export_lines(ps, cancel_all(ps[:1])))
    assert first.cancel.outcomes == {"unknown": 1} and first.failed
    sbx.control.set_config(lose_response_rate=0.0)
    sbx.control.advance_clock(10)
    second = await _follow(sbx, ledger, store, tmp_path, slow)
    assert second.cancel.settled == {"confirmed": 1}
    assert _cancel_calls(sbx) == 1


async def test_share_guard_refuses_mass_cancel_unless_allowed(sbx, ledger, store, tmp_path) -> None:
    ps = many(10)
    await create(sbx, ledger, ps)
    lines = export_lines(ps, cancel_all(ps[:5]))  # half the export: looks like a broken file
    refused = await _follow(sbx, ledger, store, tmp_path, order_lines=lines)
    assert refused.cancel.refused_by_guard and refused.cancel.planned == []
    assert "CANCELS HELD" in refused.attention.headline()
    assert _cancel_calls(sbx) == 0 and store.cancel_requests() == []
    capped = dataclasses.replace(FAST, allow_mass_cancel=True, max_cancels=2)
    allowed = await _follow(sbx, ledger, store, tmp_path, capped, lines)
    assert allowed.cancel.sent == 2 and allowed.cancel.skipped_by_cap == 3
    assert _cancel_calls(sbx) == 2


async def test_dry_run_lists_what_would_be_cancelled(sbx, ledger, store, tmp_path) -> None:
    ps = many(4)
    await create(sbx, ledger, ps)
    dry = dataclasses.replace(FAST, dry_run=True)
    result = await _follow(sbx, ledger, store, tmp_path, dry, export_lines(ps, cancel_all(ps[:1])))
    assert [i["outer_purchase_id"] for i in result.summary["would_cancel"]] == [
        ps[0].outer_purchase_id
    ]
    assert _cancel_calls(sbx) == 0 and store.cancel_requests() == []


async def test_window_sync_reads_only_what_changed(sbx, ledger, store, tmp_path) -> None:
    ps = many(120)
    await create(sbx, ledger, ps)
    settings = FollowSettings(window_lag_s=1.0)
    clock = sandbox_clock(sbx)
    sbx.control.advance_clock(10)  # the creations fall before the first sync's overlap
    async with make_client(sbx) as client:
        first = await sync_statuses(client, store, ledger.engine, settings, clock_ms=clock)
        assert first.mode == "ids" and first.query_calls == first.min_query_calls == 3
        created = created_purchases(ledger.engine)
        paid = [created[p.outer_purchase_id].purchase_ids[0] for p in ps[:7]]
        sbx.control.pay(paid)
        sbx.control.advance_clock(5)  # past the window's lag
        second = await sync_statuses(client, store, ledger.engine, settings, clock_ms=clock)
    # every purchase and sub-order seen for the first time is one history row each
    assert first.changes == 2 * 120
    assert second.mode == "window" and second.window_orders == 7
    assert second.query_calls == second.min_query_calls == 1
    assert status_mix(store) == {"WAIT_BUYER_P": 113, "WAIT_SELLER_SEND_GOODS": 7}


class _RenamingStatus(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox; the order query's answers carry a status nobody documented."""

    def __init__(self, old: str, new: str) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.old, self.new = f'"{old}"'.encode(), f'"{new}"'.encode()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/orders/query"):
            return resp
        body = (await resp.aread()).replace(self.old, self.new)
        skip = {"content-length", "content-encoding", "transfer-encoding"}
        headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in skip]
        return httpx.Response(resp.status_code, headers=headers, content=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_unknown_status_value_is_kept_reported_and_followed(
    sbx, ledger, store, tmp_path
) -> None:
    ps = many(2)
    await create(sbx, ledger, ps)
    odd = "WAIT_SUPPLIER_REVIEW"
    async with make_client(sbx, transport=_RenamingStatus("WAIT_BUYER_P", odd)) as client:
        result = await run_follow(
            client, store, FAST, ledger_engine=ledger.engine, out=tmp_path / "out"
        )
    assert result.sync.unknown_statuses[odd] == 2 + 2  # two purchases, one sub-order each
    assert status_mix(store) == {odd: 2}
    assert all(not r["status_known"] for r in store.purchase_rows().values())
    assert result.attention.unknown_statuses == {odd: 2}
    assert result.attention.to_pay == []  # not a payment wait as far as anyone documented
    assert odd in (tmp_path / "out/follow/follow_summary.json").read_text()
    # never final: the next sync asks for them again, and sees the documented value
    again = await _follow(sbx, ledger, store, tmp_path)
    assert again.sync.followed == 2 and status_mix(store) == {"WAIT_BUYER_P": 2}


async def test_results_gain_the_latest_remote_status(sbx, ledger, store, tmp_path) -> None:
    import pandas as pd

    from purchase_sync.follow import add_remote_status

    ps = many(2)
    await create(sbx, ledger, ps)
    [pid] = created_purchases(ledger.engine)[ps[0].outer_purchase_id].purchase_ids
    sbx.control.pay([pid])
    await _follow(sbx, ledger, store, tmp_path)
    results = pd.DataFrame(
        {"outer_purchase_id": [ps[0].outer_purchase_id, ps[1].outer_purchase_id, "PS-never"]}
    )
    out = add_remote_status(results, store)
    assert out["remote_status"].tolist()[:2] == ["WAIT_SELLER_SEND_GOODS", "WAIT_BUYER_P"]
    assert out["remote_status"].isna().tolist() == [False, False, True]
    assert "remote_status" not in results


async def test_cancel_that_ships_first_is_too_late_and_listed(sbx, ledger, store, tmp_path) -> None:
    sbx.control.set_config(ship_delay_s=2)  # ships before the 5 s cancel delay is over
    ps = many(2)
    await create(sbx, ledger, ps)
    [pid] = created_purchases(ledger.engine)[ps[0].outer_purchase_id].purchase_ids
    sbx.control.pay([pid])
    first = await _follow(
        sbx, ledger, store, tmp_path, order_lines=export_lines(ps, cancel_all(ps[:1]))
    )
    assert first.cancel.outcomes == {"accepted": 1}
    sbx.control.advance_clock(10)
    second = await _follow(sbx, ledger, store, tmp_path)
    assert second.cancel.settled == {"too_late": 1}
    assert [r["purchase_id"] for r in second.attention.returns] == [pid]
    assert "cancel too_late" in second.attention.returns[0]["why"]
    assert sbx.control.stats()["cancels_too_late"] == 1


async def test_cancel_refused_as_shipped_is_listed(sbx, ledger, store, tmp_path) -> None:
    from purchase_sync.follow import plan_cancels, send_cancels

    ps = many(2)
    await create(sbx, ledger, ps)
    [pid] = created_purchases(ledger.engine)[ps[0].outer_purchase_id].purchase_ids
    await _follow(sbx, ledger, store, tmp_path)
    sbx.control.pay([pid])
    sbx.control.advance_clock(DAY + 1)  # ships; our last sync still says unpaid
    plan = plan_cancels(export_lines(ps, cancel_all(ps[:1])), store, ledger.engine, FAST)
    async with make_client(sbx) as client:
        sent = await send_cancels(plan.planned, client, store, FAST)
    assert sent.outcomes == {"refused": 1}
    [req] = store.cancel_requests()
    assert req["state"] == "refused" and req["detail"].startswith("CANCEL_NOT_ALLOWED")
    after = await _follow(sbx, ledger, store, tmp_path)
    assert [r["purchase_id"] for r in after.attention.returns] == [pid]
    assert after.cancel.sent == 0  # a refused cancel is never sent again


async def test_window_lag_covers_a_lagging_query(sbx, ledger, store, tmp_path) -> None:
    ps = many(3)
    await create(sbx, ledger, ps)
    sbx.control.advance_clock(30)
    settings = FollowSettings(window_lag_s=5.0)
    clock = sandbox_clock(sbx)
    async with make_client(sbx) as client:
        await sync_statuses(client, store, ledger.engine, settings, clock_ms=clock)
        sbx.control.set_config(query_lag_s=3)  # a change shows 3 s after it happened
        [pid] = created_purchases(ledger.engine)[ps[0].outer_purchase_id].purchase_ids
        sbx.control.pay([pid])
        sbx.control.advance_clock(1)
        early = await sync_statuses(client, store, ledger.engine, settings, clock_ms=clock)
        sbx.control.advance_clock(10)
        late = await sync_statuses(client, store, ledger.engine, settings, clock_ms=clock)
    assert early.mode == late.mode == "window" and not early.errors and not late.errors
    assert late.window_orders == 1
    assert store.purchase_rows([pid])[pid]["status"] == "WAIT_SELLER_SEND_GOODS"


async def test_refund_status_changes_are_recorded(sbx, ledger, store, tmp_path) -> None:
    ps = many(1)
    await create(sbx, ledger, ps)
    [line_row] = created_purchases(ledger.engine)[ps[0].outer_purchase_id].lines
    sid = line_row.sub_purchase_order_id
    await _follow(sbx, ledger, store, tmp_path)
    sbx.control.set_refund_status(sid, 10)
    await _follow(sbx, ledger, store, tmp_path)
    refunds = [
        (h["old_value"], h["new_value"])
        for h in store.history_of(ps[0].outer_purchase_id)
        if h["field"] == "refund_status"
    ]
    assert refunds == [("0", "10")]
    assert store.sub_order_rows([line_row.purchase_id])[sid]["refund_status"] == 10
