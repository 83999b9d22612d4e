"""The state machine is drawn once, in docs/submit.md, and the code's table matches it; the
schema upgrades from v1."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ledger import SCHEMA_VERSION, TRANSITIONS, Ledger, State
from ledger.payload import to_json
from ledger.records import sources, target
from ledger.schema import purchases

from .factories import many

DOC = Path(__file__).resolve().parents[2] / "docs" / "submit.md"


def _doc_rows() -> set[tuple[str, str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- transitions:start -->", 1)[1].split("<!-- transitions:end -->", 1)[0]
    rows = set()
    for line in block.strip().splitlines()[2:]:  # header and rule
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        rows.add(tuple(cells))
    return rows


def test_the_documented_table_is_the_code_table() -> None:
    code = {(t.state, t.event, t.next_state, t.who) for t in TRANSITIONS}
    assert len(code) == len(TRANSITIONS), "a transition is listed twice"
    assert _doc_rows() == code


def test_every_state_is_reachable_and_every_event_has_one_target() -> None:
    reached = {t.next_state for t in TRANSITIONS}
    assert reached == {s.value for s in State}
    for event in {t.event for t in TRANSITIONS}:
        assert target(event) in reached
        assert set(sources(event)) <= {s.value for s in State}


def test_ledger_writes_follow_the_table(ledger: Ledger) -> None:
    """A claim only leaves the table's source states: a created row is never claimed again."""
    (p,) = many(1)
    ledger.register([p], "r")
    [c] = ledger.claim("r", 1, 30)
    assert State.SUBMITTING.value == target("claim")
    assert ledger.claim("r", 1, 30, among=[p.outer_purchase_id]) == []
    assert State.CREATED.value not in sources("claim") and c.attempts == 1


def test_v1_ledger_is_upgraded_in_place(tmp_path) -> None:
    """A ledger written by v1 (no doubt_from/deadline_s, hashes of an older definition) gets the
    columns, its hashes recomputed by the ingest's definition (the same purchase registered
    again is unchanged, not PAYLOAD_CHANGED), and a row v1 left in flight is trusted no sooner
    than the v1 client deadline after its lease."""
    a, b = many(2)
    url = f"sqlite:///{tmp_path}/v1.sqlite"
    engine = sa.create_engine(url)
    v1 = sa.MetaData()
    for table in purchases.metadata.sorted_tables:
        cols = [c._copy() for c in table.columns if c.name not in ("doubt_from", "deadline_s")]
        sa.Table(table.name, v1, *cols)
    v1.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO ledger_meta VALUES ('schema_version', '1')"))
        for p, state, lease in ((a, "submitting", 1300.0), (b, "planned", None)):
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_purchases (outer_purchase_id, state, payload_hash, "
                    "payload, attempts, lease_owner, lease_expires_at, created_at, updated_at) "
                    "VALUES (:id, :state, 'old-definition', :payload, 1, 'old', :lease, 1000.0, "
                    "1000.0)"
                ),
                {"id": p.outer_purchase_id, "state": state, "payload": to_json(p), "lease": lease},
            )
    engine.dispose()
    led = Ledger(url)
    led.create_schema()
    assert led.schema_version() == SCHEMA_VERSION == 2
    [item] = led.in_doubt(300.0)
    assert item.not_before == 1300.0 + 120.0 + 300.0
    rows = led.results_rows([a.outer_purchase_id, b.outer_purchase_id])
    assert {r.payload_hash for r in rows.values()} == {a.payload_hash(), b.payload_hash()}
    rep = led.register([a, b], "v2")
    assert rep.payload_changed == () and rep.unchanged == 1 and rep.in_flight == 1
    led.create_schema()  # idempotent
    led.close()
