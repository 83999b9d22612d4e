"""Every write of the state machine (`ledger.records.TRANSITIONS`), in SQLAlchemy Core.

The rules, whoever calls them:

- A claim moves rows `planned -> submitting`, increments `attempts` (never lowered) and commits
  before the caller may send. The claim's attempt number fences every later write of it
  (heartbeat, release, outcome): a second holder, even with the same run id, cannot overwrite it.
- `created` is the remote truth: written whoever holds the row, never over `created` (a second
  success on a created row is kept as DUPLICATE_REMOTE with every purchase id).
- A `submitting`/`unknown` row goes back to `planned` only through `settle()` with a lookup that
  showed it absent, after its not-before, and only if the row is exactly as it was read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, get_args

import pyarrow as pa
import sqlalchemy as sa

from ledger import payload as payload_json
from ledger.engine import LedgerBase, chunks, timed
from ledger.records import (
    DUPLICATE_REMOTE,
    LEDGER_REBUILT,
    NEEDS_LOOKUP,
    PAYLOAD_CHANGED,
    PRE_SEND_CODES,
    Claim,
    Outcome,
    ReconcileItem,
    RecordReport,
    RegisterReport,
    Reprocess,
    SettleReport,
    State,
    sources,
    target,
)
from ledger.schema import purchase_lines, purchases, staging
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
        return {
            State.PLANNED: "unchanged",
            State.CREATED: "already_created",
            State.FAILED: "failed_kept",
            State.SUBMITTING: "in_flight",
            State.UNKNOWN: "in_flight",
        }[state]
    if state.value in sources("adopt") and reprocess == "all":
        return "adopted"
    return "changed"


def _state_in(event: str) -> sa.ColumnElement[bool]:
    """`state IN (sources of event)` written without an expanding parameter (executemany)."""
    return sa.or_(*(t.c.state == sa.literal_column(f"'{st}'") for st in sources(event)))


def _b(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(f"b_{name}")


class Transitions(LedgerBase):
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
                    .where(t.c.created_at < now)
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

    # -- claim / heartbeat / release ------------------------------------------------------------

    @timed
    def claim(
        self,
        run_id: str,
        limit: int,
        lease_s: float,
        *,
        among: Mapping[str, str] | Sequence[str] | None = None,
        deadline_s: float = 0.0,
    ) -> list[Claim]:
        """Take up to `limit` planned purchases for this run, committed before any send.

        Each claim increments `attempts` (its fencing token) and stores the sender's client
        `deadline_s`. `among` restricts the claim to these ids (a mapping id -> expected payload
        hash also skips rows whose payload is not the one the caller priced). Rows another run
        holds are skipped, never waited for.
        """
        now = self.clock()
        expires = now + lease_s
        cols = (t.c.outer_purchase_id, t.c.state, t.c.payload_hash, t.c.attempts)
        with self.engine.begin() as conn:
            if among is not None:
                wanted = list(among)[: max(limit, 0)]
                if not wanted:
                    return []
                # By primary key only, the state checked below on the locked rows: with a state
                # filter SQLite would walk the state index over every planned row.
                q = sa.select(*cols).where(t.c.outer_purchase_id.in_(wanted))
            else:
                q = (
                    sa.select(*cols)
                    .where(t.c.state.in_(sources("claim")))
                    .order_by(t.c.created_at, t.c.outer_purchase_id)
                    .limit(limit)
                )
            if self.is_postgres:
                q = q.with_for_update(skip_locked=True)
            rows = [r for r in conn.execute(q) if r.state in sources("claim")]
            if isinstance(among, Mapping):
                rows = [r for r in rows if among[r.outer_purchase_id] == r.payload_hash]
            if not rows:
                return []
            conn.execute(
                t.update()
                .where(
                    (t.c.outer_purchase_id == _b("id"))
                    & _state_in("claim")
                    & (t.c.attempts == _b("attempts"))
                )
                .values(
                    state=target("claim"),
                    lease_owner=run_id,
                    lease_expires_at=expires,
                    doubt_from=expires,
                    deadline_s=deadline_s,
                    attempts=t.c.attempts + 1,
                    last_run_id=run_id,
                    updated_at=now,
                ),
                [{"b_id": r.outer_purchase_id, "b_attempts": r.attempts} for r in rows],
            )
        return [Claim(r.outer_purchase_id, r.attempts + 1, expires) for r in rows]

    def _fenced(self) -> Any:
        """This claim's row, still in flight under this claim's attempt number."""
        return (
            (t.c.outer_purchase_id == _b("id"))
            & (t.c.attempts == _b("attempts"))
            & (t.c.state == sa.literal_column("'submitting'"))
        )

    @timed
    def heartbeat(self, claims: Sequence[Claim], lease_s: float) -> dict[str, float]:
        """Renew the leases of these claims; returns id -> new expiry for those still held.

        A lease that has already lapsed is not renewed (a reconciler may be looking the row up
        now): its claim is lost, and the sender must not start its request.
        """
        if not claims:
            return {}
        now = self.clock()
        expires = now + lease_s
        held: dict[str, float] = {}
        with self.engine.begin() as conn:
            for chunk in chunks(list(claims)):
                ids = [c.outer_purchase_id for c in chunk]
                rows = conn.execute(
                    sa.select(t.c.outer_purchase_id, t.c.attempts, t.c.state).where(
                        t.c.outer_purchase_id.in_(ids)
                        & (t.c.state.in_(sources("heartbeat")))
                        & (t.c.lease_expires_at > now)
                    )
                ).all()
                current = {r.outer_purchase_id: r.attempts for r in rows}
                mine = [c for c in chunk if current.get(c.outer_purchase_id) == c.attempts]
                if not mine:
                    continue
                conn.execute(
                    t.update()
                    .where(self._fenced())
                    .values(lease_expires_at=expires, doubt_from=expires, updated_at=now),
                    [{"b_id": c.outer_purchase_id, "b_attempts": c.attempts} for c in mine],
                )
                held.update({c.outer_purchase_id: expires for c in mine})
        return held

    @timed
    def release(self, claims: Sequence[Claim]) -> int:
        """Give back claimed purchases that were NOT sent (attempts are never lowered)."""
        if not claims:
            return 0
        n = 0
        with self.engine.begin() as conn:
            for chunk in chunks(list(claims)):
                res = conn.execute(
                    t.update()
                    .where(self._fenced())
                    .values(
                        state=target("release"),
                        lease_owner=None,
                        lease_expires_at=None,
                        doubt_from=None,
                        updated_at=self.clock(),
                    ),
                    [{"b_id": c.outer_purchase_id, "b_attempts": c.attempts} for c in chunk],
                )
                n += _rowcount(res, len(chunk))
        return n

    # -- outcomes -------------------------------------------------------------------------------

    @timed
    def record(self, run_id: str, outcomes: Sequence[Outcome]) -> RecordReport:
        """Write the outcomes of sends, in one transaction.

        `created` is the remote truth: written whoever holds the row now, with its line rows; a
        second success on a row already created keeps both answers' purchase ids and flags the
        row DUPLICATE_REMOTE. Any other outcome is written only while its claim (`attempt`)
        still holds the row: otherwise it is returned as `fenced`, nothing written.
        """
        if not outcomes:
            return RecordReport()
        if any(o.state is State.SUBMITTING for o in outcomes):
            raise ValueError("an outcome cannot be 'submitting'")
        now = self.clock()
        ids = [o.outer_purchase_id for o in outcomes]
        written = 0
        fenced: list[str] = []
        again: list[str] = []
        with self.engine.begin() as conn:
            rows: dict[str, Any] = {}
            for chunk in chunks(ids):
                for r in conn.execute(
                    sa.select(
                        t.c.outer_purchase_id, t.c.state, t.c.attempts, t.c.purchase_ids
                    ).where(t.c.outer_purchase_id.in_(chunk))
                ):
                    rows[r.outer_purchase_id] = r
            created: list[Outcome] = []
            duplicate: list[tuple[Outcome, Any]] = []
            others: list[Outcome] = []
            for o in outcomes:
                row = rows.get(o.outer_purchase_id)
                if row is None:
                    fenced.append(o.outer_purchase_id)
                elif o.state is State.CREATED:
                    if row.state == State.CREATED.value:
                        duplicate.append((o, row))
                    else:
                        created.append(o)
                elif row.state == State.SUBMITTING.value and row.attempts == o.attempt:
                    others.append(o)
                else:
                    fenced.append(o.outer_purchase_id)
            if created:
                conn.execute(
                    t.update()
                    .where((t.c.outer_purchase_id == _b("id")) & (t.c.state != State.CREATED.value))
                    .values(
                        state=State.CREATED.value,
                        error_code=_b("code"),
                        error_message=_b("message"),
                        amount_fen=sa.func.coalesce(_b("amount"), t.c.amount_fen),
                        purchase_ids=_b("pids"),
                        payment_url=_b("url"),
                        lease_owner=None,
                        lease_expires_at=None,
                        doubt_from=None,
                        last_run_id=run_id,
                        updated_at=now,
                    ),
                    [
                        {
                            "b_id": o.outer_purchase_id,
                            "b_code": o.error_code,
                            "b_message": o.error_message,
                            "b_amount": o.amount_fen,
                            "b_pids": json.dumps(list(o.purchase_ids)),
                            "b_url": o.payment_url,
                        }
                        for o in created
                    ],
                )
                written += len(created)
                self._write_lines(conn, created, now)
            for o, row in duplicate:
                if self._created_again(conn, o, row, now):
                    again.append(o.outer_purchase_id)
                    written += 1
            if others:
                res = conn.execute(
                    t.update()
                    .where(self._fenced())
                    .values(
                        state=_b("state"),
                        error_code=_b("code"),
                        error_message=_b("message"),
                        amount_fen=sa.func.coalesce(_b("amount"), t.c.amount_fen),
                        lease_owner=None,
                        lease_expires_at=None,
                        doubt_from=_b("doubt"),
                        last_run_id=run_id,
                        updated_at=now,
                    ),
                    [
                        {
                            "b_id": o.outer_purchase_id,
                            "b_attempts": o.attempt,
                            "b_state": o.state.value,
                            "b_code": o.error_code,
                            "b_message": o.error_message,
                            "b_amount": o.amount_fen,
                            # unknown: the request ended now; a late commit is bounded from here
                            "b_doubt": now if o.state is State.UNKNOWN else None,
                        }
                        for o in others
                    ],
                )
                written += _rowcount(res, len(others))
        return RecordReport(written, tuple(fenced), tuple(again))

    def _created_again(self, conn: sa.Connection, o: Outcome, row: Any, now: float) -> bool:
        """A success for a purchase already created: keep every purchase id, flag it."""
        known = list(json.loads(row.purchase_ids or "[]"))
        new = [p for p in o.purchase_ids if p not in known]
        if not new:
            return False  # the same answer twice (a found order read again): nothing new
        conn.execute(
            t.update()
            .where(t.c.outer_purchase_id == o.outer_purchase_id)
            .values(
                purchase_ids=json.dumps(known + new),
                error_code=DUPLICATE_REMOTE,
                error_message=f"a second create succeeded ({', '.join(new)}) for a purchase "
                f"already created ({', '.join(known)}): cancel the extra purchase by hand",
                updated_at=now,
            )
        )
        return True

    _LINE_COLUMNS = (
        "mp_id",
        "mp_sku_id",
        "quantity",
        "unit_price_fen",
        "purchase_id",
        "sub_purchase_order_id",
        "supplier",
        "estimate_amount",
        "estimate_currency",
        "sub_status",
    )

    def _write_lines(self, conn: sa.Connection, outcomes: Sequence[Outcome], now: float) -> None:
        """Replace the line rows of these (created) purchases."""
        with_lines = [o for o in outcomes if o.lines]
        if not with_lines:
            return
        tl = purchase_lines
        for chunk in chunks([o.outer_purchase_id for o in with_lines]):
            conn.execute(tl.delete().where(tl.c.outer_purchase_id.in_(chunk)))
        conn.execute(
            tl.insert(),
            [
                {
                    "outer_purchase_id": o.outer_purchase_id,
                    "order_line_no": ln.order_line_no,
                    **{c: getattr(ln, c) for c in self._LINE_COLUMNS},
                    "updated_at": now,
                }
                for o in with_lines
                for ln in o.lines
            ],
        )

    @timed
    def mark_failed(self, run_id: str, failures: Sequence[tuple[str, str, str]]) -> int:
        """Move `planned` purchases that must not be sent to `failed` (id, code, message).

        Used for what is known before any send: item not in the pool, SKU not distributable,
        margin hold. A row no longer `planned` (another run took it) is left alone.
        """
        if not failures:
            return 0
        now = self.clock()
        with self.engine.begin() as conn:
            res = conn.execute(
                t.update()
                .where((t.c.outer_purchase_id == _b("id")) & _state_in("pre_send_reject"))
                .values(
                    state=target("pre_send_reject"),
                    error_code=_b("code"),
                    error_message=_b("message"),
                    last_run_id=run_id,
                    updated_at=now,
                ),
                [{"b_id": i, "b_code": c, "b_message": m} for i, c, m in failures],
            )
        return _rowcount(res, len(failures))

    # -- reconcile ------------------------------------------------------------------------------

    @timed
    def settle(
        self,
        found: Sequence[Outcome],
        absent: Sequence[ReconcileItem],
        *,
        run_id: str,
        adopt_pending: bool = False,
    ) -> SettleReport:
        """Write what the order query showed. Found -> `created` (whoever holds the row, never
        over `created`). Absent -> `planned`, only if the row is still exactly as it was read
        (state, attempts, last write); a row whose order changed meanwhile becomes
        `failed`/PAYLOAD_CHANGED (or, with `adopt_pending`, planned with the new payload)."""
        now = self.clock()
        created = requeued = changed = stale = 0
        with self.engine.begin() as conn:
            for o in found:
                res = conn.execute(
                    t.update()
                    .where(
                        (t.c.outer_purchase_id == o.outer_purchase_id)
                        & (t.c.state.in_(sources("found")))
                    )
                    .values(
                        state=target("found"),
                        error_code=o.error_code,
                        error_message=o.error_message,
                        purchase_ids=json.dumps(list(o.purchase_ids)),
                        payment_url=o.payment_url,
                        lease_owner=None,
                        lease_expires_at=None,
                        doubt_from=None,
                        last_run_id=run_id,
                        updated_at=now,
                        **({"amount_fen": o.amount_fen} if o.amount_fen is not None else {}),
                    )
                )
                if res.rowcount:
                    created += 1
                    self._write_lines(conn, [o], now)
                else:
                    stale += 1
            for item in absent:
                guard = (
                    (t.c.outer_purchase_id == item.outer_purchase_id)
                    & (t.c.state == item.state.value)
                    & (t.c.state.in_(sources("absent")))
                    & (t.c.attempts == item.attempts)
                    & (t.c.updated_at == item.updated_at)
                )
                values: dict[str, Any] = {
                    "state": target("absent"),
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "doubt_from": None,
                    "error_code": None,
                    "error_message": None,
                    "last_run_id": run_id,
                    "updated_at": now,
                }
                if item.has_pending and adopt_pending:
                    values.update(
                        payload_hash=t.c.pending_hash,
                        payload=t.c.pending_payload,
                        pending_hash=None,
                        pending_payload=None,
                    )
                elif item.has_pending:
                    values.update(
                        state=target("absent_changed"),
                        error_code=PAYLOAD_CHANGED,
                        error_message="the order changed after it was planned and the first "
                        "send never arrived; not resent (rerun with --reprocess all)",
                    )
                res = conn.execute(t.update().where(guard).values(**values))
                if not res.rowcount:
                    stale += 1
                elif values["state"] == State.FAILED.value:
                    changed += 1
                else:
                    requeued += 1
        return SettleReport(created, requeued, changed, stale)


def known_hashes(records: Sequence[PlannedPurchase]) -> list[str]:
    """The payload hash of each record (distinct ids): those that do not know theirs are hashed
    in one query (`schemas.payload`), and told it."""
    from schemas.payload import planned_payload_hashes

    todo = [p for p in records if p.cached_payload_hash is None]
    for p, h in zip(todo, planned_payload_hashes(todo) if todo else [], strict=True):
        p.known_payload_hash(h)
    return [p.payload_hash() for p in records]


def _rowcount(res: Any, fallback: int) -> int:
    return res.rowcount if res.rowcount >= 0 else fallback
