"""Registration: make the ledger know every planned purchase, in bulk, and decide what a rerun
may send (`register_decision`, which the dry run asks too)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, get_args

import pyarrow as pa
import sqlalchemy as sa

from ledger import payload as payload_json
from ledger.engine import LedgerBase, chunks, timed
from ledger.records import (
    LEDGER_REBUILT,
    NEEDS_LOOKUP,
    PAYLOAD_CHANGED,
    PRE_SEND_CODES,
    RegisterReport,
    Reprocess,
    State,
    sources,
    target,
)
from ledger.schema import purchases, staging
from schemas.records import PlannedPurchase

t = purchases


def failure_proves_not_created(code: str | None) -> bool:
    """Whether a `failed` row may be requeued without a lookup: its code is a documented
    business rejection of the create (or of the calls before it), or a decision made before
    any send. Anything else (an undocumented envelope a v1 run stored as failed) proved
    nothing, so a reprocess looks the purchase up first."""
    if code is None:
        return False
    from shanjing.endpoints import is_rejection  # lazily: `plan` imports the ledger, not HTTP

    return code in PRE_SEND_CODES or any(
        is_rejection(endpoint, code) for endpoint in ("create", "render", "product")
    )


# What `register_decision` says of a row `Registration._settled` selects, by its state.
SETTLED_ACTION = {
    State.PLANNED: "unchanged",
    State.CREATED: "already_created",
    State.FAILED: "failed_kept",
    State.SUBMITTING: "in_flight",
    State.UNKNOWN: "in_flight",
}


def register_decision(
    state: State,
    stored_hash: str,
    pending_hash: str | None,
    error_code: str | None,
    attempts: int,
    new_hash: str,
    reprocess: Reprocess,
) -> str:
    """What `register` does with a purchase the ledger already holds (the dry run asks the
    same question): requeued | requeued_for_lookup | adopted | changed | unchanged |
    already_created | failed_kept | in_flight."""
    if new_hash == stored_hash:
        if state.value in sources("requeue") and (
            reprocess != "missing" or error_code == PAYLOAD_CHANGED
        ):
            if failure_proves_not_created(error_code) or attempts == 0:
                return "requeued"
            return "requeued_for_lookup"
        return SETTLED_ACTION[state]
    if state.value in sources("adopt") and reprocess == "all":
        return "adopted"
    return "changed"


def known_hashes(records: Sequence[PlannedPurchase]) -> list[str]:
    """The payload hash of each record (distinct ids): those that do not know theirs are hashed
    in one query (`schemas.payload`), and told it."""
    from schemas.payload import planned_payload_hashes

    todo = [p for p in records if p.cached_payload_hash is None]
    for p, h in zip(todo, planned_payload_hashes(todo) if todo else [], strict=True):
        p.known_payload_hash(h)
    return [p.payload_hash() for p in records]


class Registration(LedgerBase):
    # -- register -------------------------------------------------------------------------------

    def register(
        self,
        purchases_: Sequence[PlannedPurchase],
        run_id: str,
        reprocess: Reprocess = "missing",
        *,
        rebuilt: bool = False,
    ) -> RegisterReport:
        """`register_table` for purchase records (tests, the worker, `owed --send`): their
        payload JSON and hash (computed at once for those that do not know it) as a table."""
        unique: dict[str, PlannedPurchase] = {}
        for p in purchases_:
            unique.setdefault(p.outer_purchase_id, p)
        hashes = known_hashes(list(unique.values()))
        table = pa.table(
            {
                "outer_purchase_id": pa.array(list(unique), pa.string()),
                "payload": pa.array(
                    [payload_json.to_json(p) for p in unique.values()], pa.string()
                ),
                "payload_hash": pa.array(hashes, pa.string()),
            }
        )
        rep = self.register_table(table, run_id, reprocess, rebuilt=rebuilt)
        return dataclasses.replace(
            rep, duplicates_in_input=rep.duplicates_in_input + len(purchases_) - len(unique)
        )

    @timed
    def register_table(
        self,
        purchases_: pa.Table,
        run_id: str,
        reprocess: Reprocess = "missing",
        *,
        rebuilt: bool = False,
    ) -> RegisterReport:
        """Make the ledger know every planned purchase, in bulk; decide what a rerun may send.

        `purchases_` has `outer_purchase_id`, `payload` (the purchase's JSON, `ledger.payload`)
        and `payload_hash` (the ingest's, `schemas.payload`): they go through a temporary table,
        new ids are inserted by one INSERT ... SELECT, and only the ids the ledger already holds
        come back to Python, to `register_decision`. New ids are inserted `planned` (`unknown`,
        looked up before any send, when `rebuilt`: the ledger was lost). An id seen before keeps
        its state, except: a `failed` purchase is requeued when `reprocess` is "failed" or "all"
        (through a lookup when its failure proved nothing); a changed payload is flagged
        (`failed`/`PAYLOAD_CHANGED` when not yet created, kept aside when created or in flight)
        unless `reprocess="all"` adopts it on a row that is safely not created.
        """
        if reprocess not in get_args(Reprocess):
            raise ValueError(f"reprocess must be missing|failed|all, not {reprocess!r}")
        now = self.clock()
        ids = purchases_.column("outer_purchase_id").to_pylist()
        first = list({oid: i for i, oid in reversed(list(enumerate(ids)))}.values())
        duplicates = len(ids) - len(first)
        if duplicates:
            purchases_ = purchases_.take(sorted(first))
        counts = dict.fromkeys(
            (
                "inserted",
                "unchanged",
                "already_created",
                "failed_kept",
                "requeued",
                "requeued_for_lookup",
                "in_flight",
            ),
            0,
        )
        changed: list[str] = []
        adopted: list[str] = []
        rows = [
            {"outer_purchase_id": i, "payload_hash": h, "payload": p}
            for i, h, p in zip(
                purchases_.column("outer_purchase_id").to_pylist(),
                purchases_.column("payload_hash").to_pylist(),
                purchases_.column("payload").to_pylist(),
                strict=True,
            )
        ]
        with self.engine.begin() as conn:
            staging.create(conn)
            try:
                if rows:
                    conn.execute(staging.insert(), rows)
                del rows
                counts["inserted"] = self._insert_new(conn, run_id, now, rebuilt)
                joined = t.join(staging, staging.c.outer_purchase_id == t.c.outer_purchase_id)
                seen_before = t.c.created_at < now
                settled = self._settled(reprocess)
                # The usual rerun: most rows were seen before with the same payload and need no
                # write. They are counted by state in SQL; only the others come back to Python.
                for state, n in conn.execute(
                    sa.select(t.c.state, sa.func.count())
                    .select_from(joined)
                    .where(seen_before & settled)
                    .group_by(t.c.state)
                ):
                    counts[SETTLED_ACTION[State(state)]] += int(n)
                q = (
                    sa.select(
                        t.c.outer_purchase_id,
                        t.c.state,
                        t.c.payload_hash,
                        t.c.pending_hash,
                        t.c.error_code,
                        t.c.attempts,
                        t.c.updated_at,
                        staging.c.payload_hash.label("new_hash"),
                    )
                    .join(staging, staging.c.outer_purchase_id == t.c.outer_purchase_id)
                    .where(seen_before & ~settled)
                )
                if self.is_postgres:
                    q = q.with_for_update(of=t)
                existing = conn.execute(q).all()
                payloads = self._staged_payloads(
                    conn, [r.outer_purchase_id for r in existing if r.new_hash != r.payload_hash]
                )
                for row in existing:
                    oid = row.outer_purchase_id
                    action = self._register_action(
                        conn, row, payloads.get(oid, ""), row.new_hash, run_id, reprocess, now
                    )
                    if action in ("changed", "adopted"):
                        (changed if action == "changed" else adopted).append(oid)
                    else:
                        counts[action] += 1
            finally:
                staging.drop(conn)
        return RegisterReport(
            **counts,
            duplicates_in_input=duplicates,
            payload_changed=tuple(sorted(changed)),
            adopted=tuple(sorted(adopted)),
        )

    @staticmethod
    def _settled(reprocess: Reprocess) -> sa.ColumnElement[bool]:
        """Rows (ledger joined to staging) on which `register_decision` keeps the state and
        `_register_action` writes nothing: the same payload hash, nothing kept aside, and not
        requeued by `reprocess` (the conditions of `register_decision`, in SQL)."""
        requeue = t.c.state.in_(sources("requeue"))
        if reprocess == "missing":
            requeue &= sa.func.coalesce(t.c.error_code, "") == PAYLOAD_CHANGED
        return (staging.c.payload_hash == t.c.payload_hash) & t.c.pending_hash.is_(None) & ~requeue

    def _insert_new(self, conn: sa.Connection, run_id: str, now: float, rebuilt: bool) -> int:
        """INSERT ... SELECT the staged ids the ledger does not hold; returns how many."""
        s = staging
        new_state = target("register_rebuilt" if rebuilt else "register")
        message = "the ledger was rebuilt: looked up before any send" if rebuilt else None
        doubt = 0.0 if rebuilt else None
        cols = {
            "outer_purchase_id": s.c.outer_purchase_id,
            "state": sa.literal(new_state),
            "payload_hash": s.c.payload_hash,
            "payload": s.c.payload,
            "attempts": sa.literal(0),
            "first_run_id": sa.literal(run_id),
            "last_run_id": sa.literal(run_id),
            "created_at": sa.literal(now),
            "updated_at": sa.literal(now),
            "error_code": sa.literal(LEDGER_REBUILT if rebuilt else None, sa.String),
            "error_message": sa.literal(message, sa.Text),
            "doubt_from": sa.literal(doubt, sa.Float),
            "deadline_s": sa.literal(doubt, sa.Float),
        }
        select = sa.select(*cols.values()).where(
            ~sa.exists().where(t.c.outer_purchase_id == s.c.outer_purchase_id)
        )
        stmt = (
            self._insert(t)
            .from_select(list(cols), select)
            .on_conflict_do_nothing(index_elements=[t.c.outer_purchase_id])
        )
        conn.execute(stmt)
        # counted afterwards: drivers differ in what rowcount says for INSERT ... SELECT
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(t.join(s, s.c.outer_purchase_id == t.c.outer_purchase_id))
                .where((t.c.created_at == now) & (t.c.first_run_id == run_id))
            ).scalar_one()
        )

    def _staged_payloads(self, conn: sa.Connection, ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in chunks(ids):
            found = conn.execute(
                sa.select(staging.c.outer_purchase_id, staging.c.payload).where(
                    staging.c.outer_purchase_id.in_(chunk)
                )
            )
            out.update((oid, payload) for oid, payload in found)
        return out

    def _register_action(
        self,
        conn: sa.Connection,
        row: Any,
        payload: str,
        h: str,
        run_id: str,
        reprocess: Reprocess,
        now: float,
    ) -> str:
        """Carry out `register_decision` on one existing row (`payload`: the new JSON, needed
        only when the hash differs)."""
        action = register_decision(
            State(row.state), row.payload_hash, row.pending_hash, row.error_code,
            row.attempts, h, reprocess,
        )  # fmt: skip
        guard = (
            (t.c.outer_purchase_id == row.outer_purchase_id)
            & (t.c.state == row.state)
            & (t.c.payload_hash == row.payload_hash)
        )

        def update(**values: Any) -> None:
            conn.execute(t.update().where(guard).values(updated_at=now, **values))

        cleared = {"pending_hash": None, "pending_payload": None}
        if action == "requeued":
            update(
                state=target("requeue"), error_code=None, error_message=None,
                last_run_id=run_id, **cleared,
            )  # fmt: skip
        elif action == "requeued_for_lookup":
            # Nothing proves the failed send did not land: look it up before any resend.
            update(
                state=target("requeue_lookup"),
                error_code=NEEDS_LOOKUP,
                error_message=f"failed earlier with {row.error_code}, which proves nothing: "
                "looked up before any resend",
                doubt_from=row.updated_at,
                deadline_s=0.0,
                last_run_id=run_id,
                **cleared,
            )
        elif action == "adopted":
            update(
                state=target("adopt"),
                payload_hash=h,
                payload=payload,
                error_code=None,
                error_message=None,
                last_run_id=run_id,
                **cleared,
            )
        elif action == "changed":
            self._flag_changed(update, row, payload, h)
        elif row.pending_hash is not None and h == row.payload_hash:  # the order reverted
            values: dict[str, Any] = dict(cleared)
            if row.error_code == PAYLOAD_CHANGED:
                values.update(error_code=None, error_message=None)
            update(**values)
        return action

    @staticmethod
    def _flag_changed(update: Any, row: Any, payload: str, h: str) -> None:
        state = State(row.state)
        if row.pending_hash == h and state is not State.PLANNED:
            return  # flagged by an earlier run already
        pending = {"pending_hash": h, "pending_payload": payload}
        msg = "the order changed after it was planned; not resent (rerun with --reprocess all)"
        if state.value in sources("payload_changed"):
            update(
                state=target("payload_changed"),
                error_code=PAYLOAD_CHANGED,
                error_message=msg,
                **pending,
            )
        elif state is State.CREATED:
            values = dict(pending)
            if row.error_code is None:
                values.update(
                    error_code=PAYLOAD_CHANGED,
                    error_message="the order changed after its purchase was created; "
                    "not resent: check the purchase by hand",
                )
            update(**values)
        else:  # submitting / unknown: reconcile decides once the remote side is known
            update(**pending)
