"""The ledger's state machine on SQLite and PostgreSQL (no API involved)."""

from __future__ import annotations

import dataclasses
import threading

import pytest
import sqlalchemy as sa

from ledger import (
    PAYLOAD_CHANGED,
    SCHEMA_VERSION,
    CacheEntry,
    Ledger,
    LineResult,
    Outcome,
    State,
)
from ledger import payload as payload_json
from ledger.schema import meta
from schemas.errors import UserError

from .factories import line, many, purchase


def test_payload_round_trip_is_exact() -> None:
    p = purchase("1001", (line(1, quantity=3, revenue="12.34"), line(2, "554456348334", "")))
    back = payload_json.from_json(payload_json.to_json(p))
    assert back == p
    assert back.payload_hash() == p.payload_hash()


def test_create_schema_is_idempotent_and_versioned(ledger: Ledger) -> None:
    ledger.create_schema()
    assert ledger.schema_version() == SCHEMA_VERSION
    with ledger.engine.begin() as conn:
        conn.execute(meta.update().values(value="99"))
    with pytest.raises(UserError, match="newer"):
        ledger.create_schema()


def test_register_inserts_once_and_is_idempotent(ledger: Ledger) -> None:
    ps = many(5)
    rep = ledger.register(ps + ps[:1], "run-1")
    assert rep.inserted == 5 and rep.duplicates_in_input == 1
    rep2 = ledger.register(ps, "run-2")
    assert rep2.inserted == 0 and rep2.unchanged == 5
    assert ledger.counts() == {
        "planned": 5,
        "submitting": 0,
        "created": 0,
        "failed": 0,
        "unknown": 0,
    }
    assert sorted(ledger.load_purchases(), key=lambda p: p.outer_purchase_id) == sorted(
        ps, key=lambda p: p.outer_purchase_id
    )


def test_changed_payload_is_flagged_not_resent(ledger: Ledger) -> None:
    p = purchase("2001")
    ledger.register([p], "r1")
    changed = dataclasses.replace(p, lines=(line(1, quantity=2),))
    rep = ledger.register([changed], "r2")
    assert rep.payload_changed == (p.outer_purchase_id,)
    rec = ledger.results_rows([p.outer_purchase_id])[p.outer_purchase_id]
    assert rec.state is State.FAILED and rec.error_code == PAYLOAD_CHANGED
    assert rec.payload_hash == p.payload_hash()  # the old payload is kept, the new one aside
    # Seen again: still flagged, nothing else moves.
    assert ledger.register([changed], "r3").payload_changed == (p.outer_purchase_id,)
    assert ledger.claim("r3", 10, 60) == []
    # reprocess=all adopts the new payload.
    rep = ledger.register([changed], "r4", reprocess="all")
    assert rep.adopted == (p.outer_purchase_id,)
    assert ledger.states([p.outer_purchase_id])[p.outer_purchase_id][:2] == (
        State.PLANNED,
        changed.payload_hash(),
    )
    assert ledger.load_purchases(ids=[p.outer_purchase_id]) == [changed]


def test_changed_payload_on_created_purchase_is_only_flagged(ledger: Ledger) -> None:
    p = purchase("2002")
    ledger.register([p], "r1")
    [c] = ledger.claim("r1", 10, 60)
    ledger.record("r1", [Outcome(c.outer_purchase_id, State.CREATED, purchase_ids=("356",))])
    changed = dataclasses.replace(p, lines=(line(1, quantity=5),))
    for reprocess in ("missing", "all"):
        ledger.register([changed], "r2", reprocess=reprocess)
        rec = ledger.results_rows([p.outer_purchase_id])[p.outer_purchase_id]
        assert rec.state is State.CREATED and rec.payload_changed
        assert rec.error_code == PAYLOAD_CHANGED and rec.purchase_ids == ("356",)
    assert ledger.claim("r2", 10, 60) == []


def test_failed_purchases_rerun_only_on_request(ledger: Ledger) -> None:
    ps = many(3)
    ledger.register(ps, "r1")
    assert ledger.mark_failed("r1", [(ps[0].outer_purchase_id, "ITEM_NOT_IN_POOL", "x")]) == 1
    rep = ledger.register(ps, "r2", reprocess="missing")
    assert rep.failed_kept == 1 and rep.unchanged == 2
    assert ledger.counts()["failed"] == 1
    rep = ledger.register(ps, "r3", reprocess="failed")
    assert rep.requeued == 1
    assert ledger.counts()["planned"] == 3


def test_claim_sets_lease_and_is_exclusive(ledger: Ledger) -> None:
    ps = many(4)
    ledger.register(ps, "r1")
    claims = ledger.claim("r1", 3, 60)
    assert len(claims) == 3 and all(c.attempts == 1 for c in claims)
    assert ledger.counts()["submitting"] == 3
    rest = ledger.claim("r2", 10, 60)
    assert len(rest) == 1
    assert ledger.claim("r3", 10, 60) == []


def test_claim_among_skips_other_payloads(ledger: Ledger) -> None:
    a, b = many(2)
    ledger.register([a, b], "r1")
    got = ledger.claim(
        "r1",
        10,
        60,
        among={a.outer_purchase_id: "not-the-hash", b.outer_purchase_id: b.payload_hash()},
    )
    assert [c.outer_purchase_id for c in got] == [b.outer_purchase_id]


def test_release_undoes_a_claim(ledger: Ledger) -> None:
    ps = many(2)
    ledger.register(ps, "r1")
    claims = ledger.claim("r1", 10, 60)
    stale = [dataclasses.replace(c, attempts=c.attempts - 1) for c in claims]
    assert ledger.release(stale) == 0  # another claim's token releases nothing
    assert ledger.release(claims) == 2
    again = ledger.claim("r2", 10, 60)
    assert {c.attempts for c in again} == {2}  # attempts are never lowered


def test_record_fences_non_created_outcomes_by_attempt(ledger: Ledger) -> None:
    a, b = many(2)
    ledger.register([a, b], "r1")
    claims = {c.outer_purchase_id: c for c in ledger.claim("r1", 10, 60)}
    ca = claims[a.outer_purchase_id]
    rep = ledger.record(
        "r1",
        [
            Outcome(a.outer_purchase_id, State.FAILED, "X", "no", attempt=ca.attempts - 1),
            Outcome(
                b.outer_purchase_id,
                State.CREATED,
                purchase_ids=("3560000000000000123",),
                payment_url="https://pay",
                amount_fen=4600,
                lines=(
                    LineResult(
                        "1",
                        "600068435000185140",
                        "4683815098027",
                        2,
                        2300,
                        "3560000000000000123",
                        "2912066688476065752",
                    ),
                ),
            ),
        ],
    )
    # the created truth is written whoever records it; the stale claim's failure is not
    assert rep.written == 1 and rep.fenced == (a.outer_purchase_id,)
    recs = ledger.results_rows([a.outer_purchase_id, b.outer_purchase_id])
    assert recs[a.outer_purchase_id].state is State.SUBMITTING
    rb = recs[b.outer_purchase_id]
    assert rb.state is State.CREATED and rb.amount_fen == 4600
    assert rb.lines["1"].sub_purchase_order_id == "2912066688476065752"
    # created never moves back
    cb = claims[b.outer_purchase_id]
    out = ledger.record(
        "r1", [Outcome(b.outer_purchase_id, State.UNKNOWN, "E", "e", attempt=cb.attempts)]
    )
    assert out.written == 0
    out = ledger.record(
        "r1", [Outcome(a.outer_purchase_id, State.UNKNOWN, "HTTP_503", "e", attempt=ca.attempts)]
    )
    assert out.written == 1
    assert ledger.counts() == {
        "planned": 0,
        "submitting": 0,
        "created": 1,
        "failed": 0,
        "unknown": 1,
    }


def test_reconcile_waits_for_lease_deadline_and_grace(ledger_url: str) -> None:
    """Point 2: "absent" is trusted only after the last possible send start (the lease as last
    renewed) plus the stored client deadline plus the grace; never from the claim's write."""
    now = [1000.0]
    led = Ledger(ledger_url, clock=lambda: now[0])
    led.create_schema()
    a, b, d = many(3)
    led.register([a, b, d], "r")
    led.claim("crashed", 1, 30, among=[a.outer_purchase_id], deadline_s=120)
    [cb] = led.claim("alive", 1, 30, among=[b.outer_purchase_id], deadline_s=120)
    [cd] = led.claim("x", 1, 30, among=[d.outer_purchase_id], deadline_s=120)
    led.record(
        "x", [Outcome(d.outer_purchase_id, State.UNKNOWN, "TIMEOUT", "t", attempt=cd.attempts)]
    )
    grace = 300.0
    items = {i.outer_purchase_id: i for i in led.in_doubt(grace)}
    assert items[a.outer_purchase_id].not_before == 1000 + 30 + 120 + grace
    assert items[d.outer_purchase_id].not_before == 1000 + 120 + grace
    now[0] += 20
    assert led.heartbeat([cb], 30) == {b.outer_purchase_id: 1050.0}  # the live run renews
    now[0] += 40  # the crashed lease lapsed, but a late commit may still come
    assert led.due_for_reconcile(grace) == []
    assert led.heartbeat([cb], 30) == {}  # a lapsed lease is not renewed: the claim is lost
    now[0] = 1000 + 30 + 120 + grace
    due = {i.outer_purchase_id for i in led.due_for_reconcile(grace)}
    assert due == {a.outer_purchase_id, d.outer_purchase_id}  # b's not-before moved on
    led.close()


def test_settle_requeues_only_rows_unchanged_since_read(ledger: Ledger) -> None:
    a, b, c = many(3)
    ledger.register([a, b, c], "r")
    cl = {c.outer_purchase_id: c.attempts for c in ledger.claim("r", 10, 60)}
    ledger.record(
        "r",
        [
            Outcome(x.outer_purchase_id, State.UNKNOWN, "T", "t", attempt=cl[x.outer_purchase_id])
            for x in (a, b, c)
        ],
    )
    due = {i.outer_purchase_id: i for i in ledger.in_doubt(0)}
    # Another run settles b first and claims it again: our stale view of b must not win.
    ledger.settle([], [due[b.outer_purchase_id]], run_id="other")
    assert ledger.claim("other", 10, 60, among=[b.outer_purchase_id])
    rep = ledger.settle(
        [Outcome(a.outer_purchase_id, State.CREATED, purchase_ids=("1",))],
        [due[b.outer_purchase_id], due[c.outer_purchase_id]],
        run_id="r2",
    )
    assert (rep.created, rep.requeued, rep.stale) == (1, 1, 1)
    st = ledger.states([a.outer_purchase_id, b.outer_purchase_id, c.outer_purchase_id])
    assert st[a.outer_purchase_id][0] is State.CREATED
    assert st[b.outer_purchase_id][0] is State.SUBMITTING
    assert st[c.outer_purchase_id][0] is State.PLANNED


def test_settle_absent_with_changed_payload(ledger: Ledger) -> None:
    p, q = many(2)
    ledger.register([p, q], "r")
    ledger.claim("r", 10, 60)
    p2 = dataclasses.replace(p, lines=(line(1, quantity=9),))
    q2 = dataclasses.replace(q, lines=(line(1, quantity=9),))
    ledger.register([p2, q2], "r2")  # in flight: kept aside
    due = {i.outer_purchase_id: i for i in ledger.in_doubt(0)}
    assert due[p.outer_purchase_id].has_pending
    rep = ledger.settle([], [due[p.outer_purchase_id]], run_id="r")
    assert rep.payload_changed == 1
    rep = ledger.settle([], [due[q.outer_purchase_id]], run_id="r", adopt_pending=True)
    assert rep.requeued == 1
    st = ledger.states([p.outer_purchase_id, q.outer_purchase_id])
    assert st[p.outer_purchase_id][:2] == (State.FAILED, p.payload_hash())
    assert st[q.outer_purchase_id][:2] == (State.PLANNED, q2.payload_hash())


def test_concurrent_claims_never_overlap(ledger_url: str) -> None:
    """Several ledgers (own engines, as separate processes would have) claim at once."""
    setup = Ledger(ledger_url)
    setup.create_schema()
    ps = many(300)
    setup.register(ps, "seed")
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    # Every worker holds its first batch until all have one, so the claims truly overlap in
    # time (and the test does not depend on thread scheduling to show it).
    first_batch_held = threading.Barrier(4, timeout=30)

    def worker(name: str) -> None:
        led = Ledger(ledger_url)
        mine: list[str] = []
        try:
            first = True
            while True:
                batch = led.claim(name, 7, 60)
                if first:
                    first_batch_held.wait()
                    first = False
                if not batch:
                    break
                mine += [c.outer_purchase_id for c in batch]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            got[name] = mine
            led.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    all_ids = [i for ids in got.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == 300
    assert all(got[f"w{i}"] for i in range(4))
    setup.close()


def test_resolution_cache_honours_ttl(ledger_url: str) -> None:
    now = [5000.0]
    led = Ledger(ledger_url, clock=lambda: now[0])
    led.create_schema()
    e = CacheEntry(
        "taobao", "718293045561", "ok", "600068435000185140", {"skus": [{"sku_id": "1"}]}, 4000.0
    )
    led.cache_put([e, CacheEntry("1688", "1", "ITEM_NOT_IN_POOL", None, {}, 4999.0)])
    got = led.cache_get([("taobao", "718293045561"), ("1688", "1"), ("taobao", "2")], ttl_s=2000)
    assert set(got) == {("taobao", "718293045561"), ("1688", "1")}
    assert got[("taobao", "718293045561")].data == {"skus": [{"sku_id": "1"}]}
    assert set(led.cache_get([("taobao", "718293045561"), ("1688", "1")], ttl_s=500)) == {
        ("1688", "1")
    }
    led.cache_put([dataclasses.replace(e, fetched_at=4900.0, mp_id="9")])
    assert (
        led.cache_get([("taobao", "718293045561")], ttl_s=500)[("taobao", "718293045561")].mp_id
        == "9"
    )
    led.close()


def test_sqlite_uses_wal_and_full_sync(sqlite_url: str) -> None:
    led = Ledger(sqlite_url)
    led.create_schema()
    with led.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    led.close()


def test_ids_are_stored_as_strings(ledger: Ledger) -> None:
    p = purchase("3001")
    ledger.register([p], "r")
    [c] = ledger.claim("r", 1, 60)
    big = "2912066688476065752"
    ledger.record(
        "r",
        [
            Outcome(
                c.outer_purchase_id,
                State.CREATED,
                purchase_ids=(big,),
                lines=(LineResult("1", sub_purchase_order_id=big),),
            )
        ],
    )
    with ledger.engine.connect() as conn:
        val = conn.execute(
            sa.text("select sub_purchase_order_id from ledger_purchase_lines")
        ).scalar()
    assert val == big


@pytest.mark.parametrize("reprocess", ["missing", "failed", "all"])
def test_bulk_rerun_counts_agree_with_register_decision_row_by_row(
    ledger: Ledger, reprocess: str
) -> None:
    """A rerun counts the rows that need no write in SQL (`Registration._settled`); each count
    must be what `register_decision` says of every row, whatever its state, code or hashes."""
    from collections import Counter

    from ledger.registration import known_hashes, register_decision
    from ledger.schema import purchases as t

    ps = many(10)
    ledger.register(ps, "r1")
    ids = [p.outer_purchase_id for p in ps]
    setups = [
        {"state": "created"},
        {"state": "failed", "error_code": "ITEM_NOT_IN_POOL", "attempts": 1},
        {"state": "failed", "error_code": "SYSTEM_BUSY", "attempts": 1},
        {"state": "failed", "error_code": PAYLOAD_CHANGED},
        {"state": "submitting", "attempts": 1},
        {"state": "unknown", "attempts": 1},
        {"state": "created", "pending_hash": "f" * 64, "pending_payload": "{}"},
        {"state": "planned", "pending_hash": "e" * 64, "pending_payload": "{}"},
    ]
    with ledger.engine.begin() as conn:
        for oid, values in zip(ids, setups, strict=False):
            conn.execute(t.update().where(t.c.outer_purchase_id == oid).values(**values))
    rerun = [*ps[:8], dataclasses.replace(ps[8], lines=(line(1, quantity=7),)), ps[9]]
    new_hash = dict(zip(ids, known_hashes(rerun), strict=True))
    with ledger.engine.connect() as conn:
        before = conn.execute(sa.select(t).where(t.c.outer_purchase_id.in_(ids))).all()
    expected = Counter(
        register_decision(
            State(r.state),
            r.payload_hash,
            r.pending_hash,
            r.error_code,
            r.attempts,
            new_hash[r.outer_purchase_id],
            reprocess,  # type: ignore[arg-type]
        )
        for r in before
    )
    rep = ledger.register(rerun, "r2", reprocess=reprocess)  # type: ignore[arg-type]
    got = {
        action: getattr(rep, action)
        for action in (
            "unchanged",
            "already_created",
            "failed_kept",
            "requeued",
            "requeued_for_lookup",
            "in_flight",
        )
    }
    got["changed"] = len(rep.payload_changed)
    got["adopted"] = len(rep.adopted)
    assert {k: v for k, v in got.items() if v} == dict(expected)
    assert sum(expected.values()) == len(ids)
    # Rows kept aside whose order came back to the stored payload are written (cleared), not
    # merely counted.
    with ledger.engine.connect() as conn:
        pending = dict(
            conn.execute(
                sa.select(t.c.outer_purchase_id, t.c.pending_hash).where(
                    t.c.outer_purchase_id.in_(ids[6:8])
                )
            ).all()
        )
    assert pending == {ids[6]: None, ids[7]: None}
