"""Issue 9: exactly once against a slow, lying server (sandbox over real HTTP, and the ledger).

One test (or more) per point of the issue; each names its point.
"""

from __future__ import annotations

import asyncio

import pytest

from ledger import (
    CLOSED_UPSTREAM,
    DUPLICATE_REMOTE,
    Ledger,
    Outcome,
    State,
)
from purchase_sync.submit import SubmitSettings, run_submit
from purchase_sync.submit.create import lease_problem
from purchase_sync.submit.plan import create_request, plan_purchase, warehouse_address
from schemas.errors import UserError

from .conftest import make_client, orders_per_outer_id
from .factories import many

# Shrunk timings so the waits the rules impose stay short (the rules are the same).
QUICK = {"reconcile_grace_s": 0.5, "lease_s": 3.0, "heartbeat_s": 0.5}


async def _run(sbx, ledger, purchases, run_id="r1", client_kw=None, **settings):
    client_kw = {"timeout": 1.0, "deadline": 1.5, **(client_kw or {})}
    async with make_client(sbx, **client_kw) as client:
        return await run_submit(
            purchases,
            client=client,
            ledger=ledger,
            settings=SubmitSettings(**{**QUICK, **settings}),
            run_id=run_id,
        )


def _duplicates(sbx) -> set[str]:
    return {k for k, creates in orders_per_outer_id(sbx).items() if len(creates) > 1}


def _missing(sbx, purchases) -> set[str]:
    return {p.outer_purchase_id for p in purchases} - set(orders_per_outer_id(sbx))


async def _create_remotely(sbx, ledger, p) -> None:
    """Send one create straight to the sandbox, as a process that then died would have."""
    async with make_client(sbx) as client:
        items = {}
        from purchase_sync.submit.resolve import resolve

        settings = SubmitSettings(**QUICK)
        res = await resolve([p], client=client, ledger=ledger, settings=settings, run_id="x")
        items = res.items
        plan = plan_purchase(p, items, p.payload_hash())
        await client.create_order(create_request(plan, settings, warehouse_address(settings)))


# -- point 1: a crash must not block its own rerun -------------------------------------------


async def test_p1_claims_no_further_ahead_than_the_concurrency_needs(sbx, ledger) -> None:
    ps = many(80)
    sbx.control.set_config(latency_ms=15)
    seen: list[int] = []
    claim = ledger.claim

    def watching_claim(*args, **kwargs):
        got = claim(*args, **kwargs)
        rows = ledger.results_rows([p.outer_purchase_id for p in ps])
        submitting = {i for i, r in rows.items() if r.state is State.SUBMITTING}
        seen.append(len(submitting - set(orders_per_outer_id(sbx))))  # not (yet) at the server
        return got

    ledger.claim = watching_claim  # type: ignore[method-assign]
    rep = await _run(sbx, ledger, ps, max_concurrency=4, claim_batch=8)
    assert rep.created == 80
    # claimed and not at the server: at most the requests in flight and one claim batch ahead
    assert max(seen) <= 4 + 8


async def test_p1_rerun_after_a_crash_finishes_in_the_same_run(sbx, ledger) -> None:
    """A dead run left rows `submitting` under a live lease, some sent and some not: the very
    next run waits for them to lapse, looks them up, sends what is absent, and ends clean."""
    ps = many(12)
    ledger.register(ps, "dead")
    await _create_remotely(sbx, ledger, ps[0])
    claims = ledger.claim("dead", 6, 2.0, deadline_s=1.0)  # ps[0] sent, five never sent
    assert ps[0].outer_purchase_id in {c.outer_purchase_id for c in claims}
    rep = await _run(sbx, ledger, ps, run_id="rerun")
    assert rep.unknown == 0 and rep.final_states["created"] == 12
    assert rep.reconciled_found == 1 and rep.reconciled_absent == 5
    assert not _duplicates(sbx) and not _missing(sbx, ps)


# -- point 2: "not found" trusted too early ---------------------------------------------------


async def test_p2_late_commit_never_duplicates(sbx, ledger) -> None:
    """The server commits 1 s after the request arrived and answers 504: the resend waits for
    the client deadline plus the grace, never only the grace after the row's last write."""
    ps = many(30)
    sbx.control.set_config(late_commit_rate=0.4, late_commit_s=1.0, latency_ms=5)
    rep = await _run(sbx, ledger, ps, client_kw={"timeout": 1.0, "deadline": 1.0})
    assert sbx.control.stats()["late_commits"] > 0
    # the committed-late orders are found, not sent again
    assert not _duplicates(sbx)
    assert rep.reconciled_found > 0
    await asyncio.sleep(1.2)  # every late commit has landed
    assert not _duplicates(sbx) and not _missing(sbx, ps)


# -- point 3: the same run id twice ----------------------------------------------------------


async def test_p3_same_run_id_twice_at_once_never_duplicates(sbx, sqlite_url) -> None:
    """Two processes given one run id (a Prefect retry of a flow run that is not dead): the
    second starts while the first has requests in flight, and must not take them over."""
    ps = many(40)
    sbx.control.set_config(latency_ms=800)
    kw = {"client_kw": {"timeout": 2.0, "deadline": 2.0}, "max_concurrency": 4, "claim_batch": 4}
    a, b = Ledger(sqlite_url), Ledger(sqlite_url)
    a.create_schema()

    async def second() -> None:
        while a.counts()["submitting"] == 0:
            await asyncio.sleep(0.02)
        await _run(sbx, b, ps, run_id="same", **kw)

    try:
        await asyncio.gather(_run(sbx, a, ps, run_id="same", **kw), second())
    finally:
        a.close()
        b.close()
    assert not _duplicates(sbx) and not _missing(sbx, ps)


def test_p3_a_second_holder_cannot_overwrite_or_resend(ledger) -> None:
    (p,) = many(1)
    ledger.register([p], "same")
    [first] = ledger.claim("same", 1, 30)
    # The same run id again (a Prefect retry of a crashed flow run): nothing is due while the
    # first claim's lease and deadline run, whoever asks.
    assert ledger.due_for_reconcile(0) == []
    assert ledger.claim("same", 1, 30) == []
    # Pretend the first holder's lease was settled absent and claimed again by the second.
    [item] = ledger.in_doubt(0)
    ledger.settle([], [item], run_id="same")
    [second] = ledger.claim("same", 1, 30)
    assert second.attempts == first.attempts + 1
    late = Outcome(p.outer_purchase_id, State.FAILED, "X", "x", attempt=first.attempts)
    assert ledger.record("same", [late]).fenced == (p.outer_purchase_id,)
    assert ledger.release([first]) == 0
    assert ledger.heartbeat([first], 30) == {}
    assert ledger.states([p.outer_purchase_id])[p.outer_purchase_id].state is State.SUBMITTING


# -- point 4: a lookup that cannot be trusted is not "absent" ------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        {"query_ignore_filter_rate": 1.0},
        {"query_no_total_rate": 1.0},
    ],
)
async def test_p4_incomplete_lookup_keeps_the_row_in_doubt(sbx, ledger, fault) -> None:
    ps = many(3)
    others = many(60, start=500)
    await _run(sbx, ledger, others, run_id="fill")  # orders the unfiltered query returns
    ledger.register(ps, "dead")
    ledger.claim("dead", 3, 0.01, deadline_s=0.0)
    await asyncio.sleep(0.6)
    sbx.control.set_config(**fault)
    creates = sbx.control.stats()["requests"].get("create", 0)
    rep = await _run(sbx, ledger, ps, run_id="r2", max_passes=1)
    assert sbx.control.stats()["requests"].get("create", 0) == creates  # nothing resent
    assert rep.lookups_failed == 3 and rep.unknown == 3


# -- point 5: error envelopes inside HTTP 200 ------------------------------------------------


async def test_p5_envelope_after_commit_is_unknown_then_found(sbx, ledger) -> None:
    ps = many(10)
    sbx.control.set_config(error_envelope_after_commit_rate=1.0)
    rep = await _run(sbx, ledger, ps, max_passes=2)
    assert rep.failed_total == 0
    assert rep.reconciled_found == 10 and rep.final_states["created"] == 10
    assert not _duplicates(sbx) and not _missing(sbx, ps)


async def test_p5_reprocess_failed_looks_up_a_failure_that_proved_nothing(sbx, ledger) -> None:
    """A v1 run stored an undocumented envelope as `failed`, though the order was created:
    `--reprocess failed` finds it instead of sending it again."""
    ps = many(2)
    ledger.register(ps, "v1")
    await _create_remotely(sbx, ledger, ps[0])
    claims = ledger.claim("v1", 2, 30)
    ledger.record(
        "v1",
        [Outcome(c.outer_purchase_id, State.FAILED, "SYSTEM_BUSY", "服务处理超时", attempt=c.attempts)
         for c in claims],
    )  # fmt: skip
    rep = await _run(sbx, ledger, ps, run_id="r2", reprocess="failed")
    assert rep.reconciled_found == 1 and rep.final_states["created"] == 2
    assert not _duplicates(sbx) and not _missing(sbx, ps)


# -- point 7: a lease that cannot cover the sends is refused at start ------------------------


async def test_p7_lease_that_cannot_cover_the_deadline_is_refused(sbx, ledger) -> None:
    assert lease_problem(30, 5, 120) is None
    assert lease_problem(10, 5, 120) is not None
    assert lease_problem(30, 0, 120) is not None
    with pytest.raises(UserError, match="lease_s"):
        await _run(sbx, ledger, many(2), lease_s=1.0, heartbeat_s=0.5)
    assert sbx.control.stats()["requests"].get("create", 0) == 0


# -- point 8: trouble recorded but not surfaced ---------------------------------------------


def test_p8_a_second_successful_create_is_kept_and_flagged(ledger) -> None:
    (p,) = many(1)
    ledger.register([p], "r")
    [c] = ledger.claim("r", 1, 30)
    ledger.record("r", [Outcome(p.outer_purchase_id, State.CREATED, purchase_ids=("111",))])
    rep = ledger.record(
        "r",
        [Outcome(p.outer_purchase_id, State.CREATED, purchase_ids=("222",), attempt=c.attempts)],
    )
    assert rep.created_again == (p.outer_purchase_id,)
    [row] = ledger.trouble([p.outer_purchase_id])
    assert row.error_code == DUPLICATE_REMOTE and row.purchase_ids == ("111", "222")


async def test_p8_found_order_closed_upstream_is_recorded_as_such(sbx, ledger) -> None:
    ps = many(2)
    ledger.register(ps, "dead")
    await _create_remotely(sbx, ledger, ps[0])
    sbx.control.advance_clock(3 * 86_400)  # unpaid: the supplier side closes it
    assert {o["status"] for o in sbx.control.orders()} == {"TRADE_CLOSED"}
    ledger.claim("dead", 1, 0.01, among=[ps[0].outer_purchase_id], deadline_s=0.0)
    rep = await _run(sbx, ledger, ps, run_id="r2")
    assert [t.error_code for t in rep.trouble] == [CLOSED_UPSTREAM]
    assert rep.summary()["trouble"] == {"count": 1, "by_code": {CLOSED_UPSTREAM: 1}}
    assert len(orders_per_outer_id(sbx)[ps[0].outer_purchase_id]) == 1  # not resent


# -- point 9: a failing stage leaves sends running -------------------------------------------


class _FailingLedger(Ledger):
    def __init__(self, url: str, fail: str, after: int) -> None:
        super().__init__(url)
        self.fail, self.after, self.calls = fail, after, 0

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.calls > self.after:
            raise RuntimeError(f"{self.fail} failed (test)")

    def claim(self, *args, **kwargs):
        if self.fail == "claim":
            self._maybe_fail()
        return super().claim(*args, **kwargs)

    def record(self, *args, **kwargs):
        if self.fail == "record":
            self._maybe_fail()
        return super().record(*args, **kwargs)


@pytest.mark.parametrize("fail", ["claim", "record"])
async def test_p9_a_failing_stage_stops_its_sends_and_records_them(sbx, sqlite_url, fail) -> None:
    ps = many(200)
    Ledger(sqlite_url).create_schema()
    led = _FailingLedger(sqlite_url, fail, after=2)
    sbx.control.set_config(latency_ms=40)
    with pytest.raises(RuntimeError, match="failed"):
        await _run(sbx, led, ps, max_concurrency=4, claim_batch=4)
    sent = sbx.control.stats()["requests"].get("create", 0)
    assert sent < len(ps)  # the other workers stopped when the stage failed
    await asyncio.sleep(0.5)
    assert sbx.control.stats()["requests"].get("create", 0) == sent  # nothing posts after
    led.close()
    check = Ledger(sqlite_url)
    states = check.states([p.outer_purchase_id for p in ps])
    created_remote = set(orders_per_outer_id(sbx))
    if fail == "claim":  # the writer worked: every send is recorded, every unsent claim given back
        assert not [i for i, st in states.items() if st.state is State.SUBMITTING]
        assert all(states[i].state in (State.CREATED, State.UNKNOWN) for i in created_remote)
    # nothing that exists remotely is ever `planned` (it would be sent again)
    assert not [i for i in created_remote if states[i].state is State.PLANNED]
    check.close()
