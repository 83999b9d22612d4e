"""Read queries: row states, counts, results rows, stored payloads, what is in doubt, what is
owed, and what needs a person."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from ledger import payload as payload_json
from ledger.engine import LedgerBase, chunks, timed
from ledger.records import (
    TROUBLE_CODES,
    LineResult,
    OwedReport,
    PurchaseRecord,
    ReconcileItem,
    RowState,
    State,
    TroubleRow,
    sources,
)
from ledger.schema import purchase_lines, purchases
from schemas.records import PlannedPurchase

t = purchases
OWED_STATES = (State.PLANNED.value, State.SUBMITTING.value, State.UNKNOWN.value)


def not_before_expr(grace_s: float) -> sa.ColumnElement[float]:
    """When "absent" may be trusted for a row in doubt: its last possible send start, plus the
    sender's whole client deadline, plus the grace for a slow backend."""
    return (
        sa.func.coalesce(t.c.doubt_from, t.c.lease_expires_at, t.c.updated_at)
        + sa.func.coalesce(t.c.deadline_s, 0.0)
        + grace_s
    )


class Queries(LedgerBase):
    @timed
    def in_doubt(
        self, grace_s: float, *, among: Sequence[str] | None = None
    ) -> list[ReconcileItem]:
        """Rows whose remote fate is unknown (`submitting`, `unknown`), each with the time from
        which a lookup that finds nothing may be trusted (`not_before`). A row whose holder is
        alive keeps moving its not-before on (heartbeats); the caller decides whom to wait for.
        """
        cond = t.c.state.in_(sources("absent"))
        cols = (
            t.c.outer_purchase_id,
            t.c.state,
            t.c.attempts,
            t.c.lease_owner,
            t.c.pending_hash,
            t.c.updated_at,
            not_before_expr(grace_s).label("not_before"),
        )
        with self._read() as conn:
            if among is None:
                rows = conn.execute(sa.select(*cols).where(cond)).all()
            else:
                rows = []
                for chunk in chunks(list(among)):
                    rows += conn.execute(
                        sa.select(*cols).where(cond & t.c.outer_purchase_id.in_(chunk))
                    ).all()
        return [
            ReconcileItem(
                r.outer_purchase_id,
                State(r.state),
                r.attempts,
                r.lease_owner,
                r.pending_hash is not None,
                r.updated_at,
                float(r.not_before),
            )
            for r in rows
        ]

    def due_for_reconcile(
        self, grace_s: float, *, among: Sequence[str] | None = None
    ) -> list[ReconcileItem]:
        """The rows in doubt whose not-before has passed: a lookup may now settle them."""
        now = self.clock()
        return [i for i in self.in_doubt(grace_s, among=among) if i.not_before <= now]

    @timed
    def states(self, ids: Sequence[str]) -> dict[str, RowState]:
        """id -> (state, payload_hash, error_code, payload_changed, attempts) for known ids."""
        out: dict[str, RowState] = {}
        cols = (
            t.c.outer_purchase_id,
            t.c.state,
            t.c.payload_hash,
            t.c.error_code,
            t.c.pending_hash,
            t.c.attempts,
        )
        with self._read() as conn:
            for chunk in chunks(list(ids)):
                for r in conn.execute(sa.select(*cols).where(t.c.outer_purchase_id.in_(chunk))):
                    out[r.outer_purchase_id] = RowState(
                        State(r.state),
                        r.payload_hash,
                        r.error_code,
                        r.pending_hash is not None,
                        r.attempts,
                    )
        return out

    @timed
    def counts(self, ids: Sequence[str] | None = None) -> dict[str, int]:
        """Purchases per state (optionally among `ids`)."""
        out = {s.value: 0 for s in State}
        with self._read() as conn:
            if ids is None:
                for state, n in conn.execute(
                    sa.select(t.c.state, sa.func.count()).group_by(t.c.state)
                ):
                    out[state] = n
            else:
                for chunk in chunks(list(ids)):
                    for state, n in conn.execute(
                        sa.select(t.c.state, sa.func.count())
                        .where(t.c.outer_purchase_id.in_(chunk))
                        .group_by(t.c.state)
                    ):
                        out[state] += n
        return out

    @timed
    def is_empty(self) -> bool:
        with self._read() as conn:
            return conn.execute(sa.select(t.c.outer_purchase_id).limit(1)).first() is None

    @timed
    def owed(self, *, limit_ids: int = 10_000) -> OwedReport:
        """Every purchase the ledger still owes, from any window, oldest first."""
        by_state = dict.fromkeys(OWED_STATES, 0)
        with self._read() as conn:
            for state, n in conn.execute(
                sa.select(t.c.state, sa.func.count())
                .where(t.c.state.in_(OWED_STATES))
                .group_by(t.c.state)
            ):
                by_state[state] = n
            oldest_all = conn.execute(
                sa.select(sa.func.min(t.c.created_at)).where(t.c.state.in_(OWED_STATES))
            ).scalar()
            ids = conn.execute(
                sa.select(t.c.outer_purchase_id)
                .where(t.c.state.in_(OWED_STATES))
                .order_by(t.c.created_at, t.c.outer_purchase_id)
                .limit(limit_ids)
            ).scalars()
            return OwedReport(sum(by_state.values()), by_state, oldest_all, tuple(ids))

    @timed
    def owed_ids(self, created_since: float) -> list[str]:
        """Planned purchases (owed, sendable) registered at or after `created_since`."""
        with self._read() as conn:
            return list(
                conn.execute(
                    sa.select(t.c.outer_purchase_id)
                    .where((t.c.state == State.PLANNED.value) & (t.c.created_at >= created_since))
                    .order_by(t.c.created_at, t.c.outer_purchase_id)
                ).scalars()
            )

    @timed
    def trouble(self, ids: Sequence[str] | None = None) -> list[TroubleRow]:
        """Created purchases flagged DUPLICATE_REMOTE, PARTIAL or CLOSED_UPSTREAM."""
        cond = t.c.error_code.in_(sorted(TROUBLE_CODES))
        cols = (
            t.c.outer_purchase_id,
            t.c.state,
            t.c.error_code,
            t.c.error_message,
            t.c.purchase_ids,
        )
        with self._read() as conn:
            if ids is None:
                rows = conn.execute(sa.select(*cols).where(cond)).all()
            else:
                rows = []
                for chunk in chunks(list(ids)):
                    rows += conn.execute(
                        sa.select(*cols).where(cond & t.c.outer_purchase_id.in_(chunk))
                    ).all()
        return [
            TroubleRow(
                r.outer_purchase_id,
                State(r.state),
                r.error_code,
                r.error_message,
                tuple(json.loads(r.purchase_ids or "[]")),
            )
            for r in sorted(rows, key=lambda r: r.outer_purchase_id)
        ]

    @timed
    def results_rows(self, ids: Sequence[str]) -> dict[str, PurchaseRecord]:
        """Purchase rows with their line rows, for the results table."""
        tl = purchase_lines
        out: dict[str, PurchaseRecord] = {}
        with self._read() as conn:
            for chunk in chunks(list(ids)):
                for r in conn.execute(sa.select(t).where(t.c.outer_purchase_id.in_(chunk))):
                    out[r.outer_purchase_id] = PurchaseRecord(
                        outer_purchase_id=r.outer_purchase_id,
                        state=State(r.state),
                        payload_hash=r.payload_hash,
                        attempts=r.attempts,
                        purchase_ids=tuple(json.loads(r.purchase_ids or "[]")),
                        payment_url=r.payment_url,
                        amount_fen=r.amount_fen,
                        error_code=r.error_code,
                        error_message=r.error_message,
                        payload_changed=r.pending_hash is not None,
                        last_run_id=r.last_run_id,
                        updated_at=r.updated_at,
                    )
                for r in conn.execute(sa.select(tl).where(tl.c.outer_purchase_id.in_(chunk))):
                    rec = out.get(r.outer_purchase_id)
                    if rec is not None:
                        rec.lines[r.order_line_no] = LineResult(
                            order_line_no=r.order_line_no,
                            mp_id=r.mp_id,
                            mp_sku_id=r.mp_sku_id,
                            quantity=r.quantity,
                            unit_price_fen=r.unit_price_fen,
                            purchase_id=r.purchase_id,
                            sub_purchase_order_id=r.sub_purchase_order_id,
                            supplier=r.supplier,
                            estimate_amount=r.estimate_amount,
                            estimate_currency=r.estimate_currency,
                            sub_status=r.sub_status,
                        )
        return out

    @timed
    def load_purchases(
        self, *, ids: Sequence[str] | None = None, states: Iterable[State] | None = None
    ) -> list[PlannedPurchase]:
        """The stored payloads as PlannedPurchase: enough to resend without the input files."""
        q = sa.select(t.c.payload, t.c.payload_hash)
        if states is not None:
            q = q.where(t.c.state.in_([State(s).value for s in states]))
        rows: list[sa.Row[tuple[str, str]]] = []
        with self._read() as conn:
            if ids is None:
                rows = list(conn.execute(q))
            else:
                for chunk in chunks(list(ids)):
                    rows += conn.execute(q.where(t.c.outer_purchase_id.in_(chunk))).all()
        return [payload_json.from_json(r.payload).known_payload_hash(r.payload_hash) for r in rows]
