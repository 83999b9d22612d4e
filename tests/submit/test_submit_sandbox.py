"""The submit stage against the sandbox over real HTTP (in-process server thread)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ledger import Ledger, State
from purchase_sync.submit import SubmitSettings, results_frame, run_submit
from purchase_sync.submit.results import COLUMNS

from .conftest import make_client, orders_per_outer_id
from .factories import line, many, purchase

FAST = {"reconcile_grace_s": 0.0}


async def _run(sbx, ledger, purchases, run_id="r1", client_kw=None, **settings):
    async with make_client(sbx, **(client_kw or {})) as client:
        return await run_submit(
            purchases,
            client=client,
            ledger=ledger,
            settings=SubmitSettings(**{**FAST, **settings}),
            run_id=run_id,
        )


def _assert_exactly_once(sbx, purchases) -> None:
    per_id = orders_per_outer_id(sbx)
    assert {p.outer_purchase_id for p in purchases} == set(per_id)
    assert all(len(creates) == 1 for creates in per_id.values())
    assert sbx.control.stats()["duplicate_outer_ids"] == 0


async def test_creates_all_and_a_rerun_sends_nothing(sbx, ledger: Ledger) -> None:
    ps = many(40)
    rep = await _run(sbx, ledger, ps)
    assert rep.created == 40 and rep.creates_sent == 40 and rep.failed_total == 0
    assert rep.final_states["created"] == 40
    _assert_exactly_once(sbx, ps)
    rep2 = await _run(sbx, ledger, ps, run_id="r2")
    assert rep2.creates_sent == 0 and rep2.resolve_calls == 0 and rep2.already_created == 40
    assert sbx.control.stats()["requests"].get("create") == 40


async def test_resolve_calls_equal_distinct_uncached_items(sbx, ledger: Ledger) -> None:
    a = many(10)
    # two purchases sharing one item and one repeating an item of `a`
    shared = [
        purchase("s1", (line(1, "800000000300", "9000000003000"),)),
        purchase("s2", (line(1, "800000000300", "9000000003000"),)),
        purchase("s3", (a[0].lines[0],)),
    ]
    rep = await _run(sbx, ledger, a)
    assert rep.resolve_calls == rep.uncached_items == 10
    rep = await _run(sbx, ledger, shared, run_id="r2")
    assert rep.distinct_items == 2 and rep.cache_hits == 1
    assert rep.resolve_calls == rep.uncached_items == 1
    assert sbx.control.stats()["requests"]["product"] == 11


async def test_not_in_pool_and_no_mp_sku_id_fail_without_a_create(sbx, ledger: Ledger) -> None:
    good = many(3)
    bad = [
        purchase("b1", (line(1, "700000000001", "7000000000011"),)),  # not in the pool
        purchase("b2", (line(1, "700000000002", "7000000000021"),)),  # SKU without mpSkuId
        purchase("b3", (line(1, "800000000049", "9000000000490"),)),  # generated, not in pool
    ]
    rep = await _run(sbx, ledger, good + bad)
    assert rep.created == 3 and rep.creates_sent == 3
    assert rep.failed == {"ITEM_NOT_IN_POOL": 2, "SKU_NOT_DISTRIBUTABLE": 1}
    assert set(orders_per_outer_id(sbx)) == {p.outer_purchase_id for p in good}
    df = results_frame(ledger, good + bad, "r1")
    failed = df[df["status"] == "failed"].set_index("order_number")
    assert failed.loc["b2", "error_code"] == "SKU_NOT_DISTRIBUTABLE"
    assert "mpSkuId" in failed.loc["b2", "error_message"]


async def test_business_rejection_is_final_unless_reprocessed(sbx, ledger: Ledger) -> None:
    oos = purchase("oos", (line(1, "700000000003", "7000000000031"),))  # out of stock
    rep = await _run(sbx, ledger, [oos])
    assert rep.failed == {"SKU_UNAVAILABLE": 1} and rep.creates_sent == 1
    rep = await _run(sbx, ledger, [oos], run_id="r2", reprocess="missing")
    assert rep.creates_sent == 0
    rep = await _run(sbx, ledger, [oos], run_id="r3", reprocess="failed")
    assert rep.creates_sent == 1 and rep.failed == {"SKU_UNAVAILABLE": 1}
    assert orders_per_outer_id(sbx) == {}


async def test_pre_price_fails_unavailable_skus_before_any_create(sbx, ledger: Ledger) -> None:
    oos = purchase("oos", (line(1, "700000000003", "7000000000031"),))
    ok = purchase("ok", (line(1, quantity=2),))
    rep = await _run(sbx, ledger, [oos, ok], pre_price=True)
    assert rep.render_calls == 2 and rep.unavailable == 1
    assert rep.creates_sent == 1 and rep.created == 1
    # render prices (promotion price + the supplier's delivery fee) become purchase_amount
    rec = ledger.results_rows([ok.outer_purchase_id])[ok.outer_purchase_id]
    assert rec.amount_fen > 2 * 331


async def test_dry_run_writes_no_state_and_sends_nothing(sbx, ledger: Ledger) -> None:
    ps = [*many(5), purchase("b1", (line(1, "700000000001", "1"),))]
    rep = await _run(sbx, ledger, ps, dry_run=True, max_purchases=3)
    assert rep.creates_sent == 0 and rep.render_calls == 5
    assert ledger.counts() == dict.fromkeys(
        ("planned", "submitting", "created", "failed", "unknown"), 0
    )
    statuses = [v.status for v in rep.verdicts.values()]
    assert statuses.count("would_create") == 3 and statuses.count("skipped_by_rail") == 2
    assert rep.verdicts[ps[-1].outer_purchase_id].error_code == "ITEM_NOT_IN_POOL"
    df = results_frame(ledger, ps, "dry", report=rep)
    assert df["status"].value_counts().to_dict() == {
        "would_create": 3,
        "skipped_by_rail": 2,
        "failed": 1,
    }
    assert "create" not in sbx.control.stats()["requests"]


async def test_rails_stop_cleanly_and_the_next_run_continues(sbx, ledger: Ledger) -> None:
    ps = many(12)
    rep = await _run(sbx, ledger, ps, max_purchases=5, claim_batch=4)
    assert rep.created == 5 and "max_purchases=5" in rep.stopped_reason
    assert rep.skipped_by_rail == 7 and rep.final_states["planned"] == 7
    rep = await _run(sbx, ledger, ps, run_id="r2", max_amount="0.01")
    assert rep.creates_sent == 0 and "max_amount=0.01 CNY" in rep.stopped_reason
    rep = await _run(sbx, ledger, ps, run_id="r3")
    assert rep.created == 7
    _assert_exactly_once(sbx, ps)


async def test_margin_hold_is_failed_with_a_clear_code(sbx, ledger: Ledger) -> None:
    cheap = purchase("cheap", (line(1, quantity=10, revenue="1.00"),))
    ok = purchase("fine", (line(1, quantity=1, revenue="100.00"),))
    rep = await _run(sbx, ledger, [cheap, ok])
    assert rep.held == 1 and rep.failed == {"MARGIN_HELD": 1} and rep.creates_sent == 1
    rec = ledger.results_rows([cheap.outer_purchase_id])[cheap.outer_purchase_id]
    assert rec.state is State.FAILED and "exceeds revenue" in rec.error_message
    # a person loosens the rule and reprocesses the failures
    rep = await _run(
        sbx, ledger, [cheap, ok], run_id="r2", reprocess="failed", max_cost_over_revenue="50"
    )
    assert rep.created == 1 and rep.held == 0


async def test_changed_order_is_flagged_not_resent(sbx, ledger: Ledger) -> None:
    p = purchase("chg")
    await _run(sbx, ledger, [p])
    changed = dataclasses.replace(p, lines=(line(1, quantity=4),))
    rep = await _run(sbx, ledger, [changed], run_id="r2", reprocess="all")
    assert rep.creates_sent == 0 and rep.registered.payload_changed == (p.outer_purchase_id,)
    df = results_frame(ledger, [changed], "r2")
    assert df.loc[0, "status"] == "created" and df.loc[0, "error_code"] == "PAYLOAD_CHANGED"


async def test_token_expiring_mid_run_costs_no_purchase(sbx, ledger: Ledger) -> None:
    ps = many(60)
    expired = []

    def expire_once(event) -> None:
        if event.stage == "create" and not expired:
            sbx.control.expire_token()
            expired.append(event.done)

    async with make_client(sbx) as client:
        rep = await run_submit(
            ps,
            client=client,
            ledger=ledger,
            settings=SubmitSettings(claim_batch=8, max_concurrency=4, **FAST),
            run_id="r1",
            on_progress=expire_once,
        )
    assert expired and 0 < expired[0] < 60
    assert rep.created == 60 and rep.failed_total == 0 and rep.unknown == 0
    assert rep.client_stats["refreshes"] >= 1
    _assert_exactly_once(sbx, ps)


async def test_faults_still_end_exactly_once(sbx, ledger: Ledger) -> None:
    """5xx, 429, resets and lost responses: unknowns are reconciled in-run, never duplicated."""
    sbx.control.set_config(
        error_5xx_rate=0.1,
        rate_429=0.1,
        retry_after_s=0.05,
        reset_rate=0.05,
        lose_response_rate=0.1,
    )
    ps = many(80)
    rep = await _run(sbx, ledger, ps, max_passes=6, client_kw={"max_retries": 8})
    stats = sbx.control.stats()
    assert stats["lost_responses"] > 0 and stats["errors_5xx"] > 0
    assert rep.reconciled_found > 0
    if rep.unknown or rep.final_states["planned"]:  # rare: a second run finishes the job
        sbx.control.set_config(error_5xx_rate=0, rate_429=0, reset_rate=0, lose_response_rate=0)
        await _run(sbx, ledger, ps, run_id="r2")
    assert ledger.counts()["created"] == 80
    _assert_exactly_once(sbx, ps)


async def test_results_frame_has_the_contract_columns(sbx, ledger: Ledger) -> None:
    p = purchase(
        "rf",
        (
            line(1, quantity=3, revenue="10.00", order_line_ids=("a1", "a2", "a3")),
            line(2, "554456348334", "4951323355633", platform="1688"),
        ),
    )
    await _run(sbx, ledger, [p])
    df = results_frame(ledger, [p], "r1")
    assert tuple(df.columns) == COLUMNS
    assert len(df) == 4 and df["quantity"].sum() == 4
    assert sum(df["revenue"]) == p.revenue
    for col in ("purchase_id", "sub_purchase_order_id", "mp_id", "mp_sku_id", "order_line_id"):
        assert df[col].dtype == "string"
    assert df["sub_purchase_order_id"].notna().all() and (df["status"] == "created").all()
    assert df["purchase_id"].nunique() == 2  # two suppliers -> two purchase orders
    by_line = df.groupby("sub_purchase_order_id")["estimate_amount"].sum()
    assert all(v > 0 for v in by_line)
    assert isinstance(df["updated_at"].dtype, pd.DatetimeTZDtype)


async def test_expired_lease_of_a_dead_run_is_reconciled_before_any_resend(
    sbx, ledger_url: str
) -> None:
    """A dead run left 3 purchases `submitting`; one of its POSTs had landed. The next run
    (after the lease expired) finds that one, and resends only the two proven absent."""
    from purchase_sync.submit.plan import create_request, plan_purchase
    from purchase_sync.submit.stages import resolve

    now = [1_000_000.0]
    led = Ledger(ledger_url, clock=lambda: now[0])
    led.create_schema()
    ps = many(3)
    led.register(ps, "dead")
    async with make_client(sbx) as client:
        res = await resolve(
            ps, client=client, ledger=led, settings=SubmitSettings(**FAST), run_id="dead"
        )
        assert len(led.claim("dead", 10, 60)) == 3
        landed = plan_purchase(ps[0], res.items)
        await client.create_order(create_request(landed, SubmitSettings()))
        # Lease still live: another run must neither reconcile nor send them.
        rep = await run_submit(
            ps, client=client, ledger=led, settings=SubmitSettings(**FAST), run_id="next"
        )
        assert rep.creates_sent == 0 and rep.final_states["submitting"] == 3
        now[0] += 120  # the dead run's lease has expired
        rep = await run_submit(
            ps, client=client, ledger=led, settings=SubmitSettings(**FAST), run_id="next"
        )
    assert rep.reconciled_found == 1 and rep.reconciled_absent == 2
    assert rep.creates_sent == 2 and rep.final_states["created"] == 3
    _assert_exactly_once(sbx, ps)
    rec = led.results_rows([ps[0].outer_purchase_id])[ps[0].outer_purchase_id]
    assert rec.lines["1"].sub_purchase_order_id  # remote ids mapped back to the line
    led.close()


async def test_budget_is_awaited_before_each_batch_of_sends(sbx, ledger: Ledger) -> None:
    ps = many(20)
    asked: list[int] = []

    async def budget(n: int) -> None:
        asked.append(n)

    async with make_client(sbx) as client:
        rep = await run_submit(
            ps,
            client=client,
            ledger=ledger,
            settings=SubmitSettings(claim_batch=8, **FAST),
            run_id="r1",
            budget=budget,
        )
    assert asked == [8, 8, 4] and rep.creates_sent == 20
