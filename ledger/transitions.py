"""The writes of the state machine after registration (`ledger.records.TRANSITIONS`): claim,
heartbeat, release, outcomes, pre-send failures, settle. SQLAlchemy Core.

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

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ledger.engine import LedgerBase, chunks, timed
from ledger.records import (
    DUPLICATE_REMOTE,
    PAYLOAD_CHANGED,
    Claim,
    Outcome,
    ReconcileItem,
    RecordReport,
    SettleReport,
    State,
    sources,
    target,
)
from ledger.schema import purchase_lines, purchases

t = purchases


def _state_in(event: str) -> sa.ColumnElement[bool]:
    """`state IN (sources of event)` written without an expanding parameter (executemany)."""
    return sa.or_(*(t.c.state == sa.literal_column(f"'{st}'") for st in sources(event)))


def _b(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(f"b_{name}")


# The hot statements, built once (building a Core statement costs more than running it on
# SQLite); parameters are bound per call.
_IDS = sa.bindparam("b_ids", expanding=True)
_CLAIM_COLS = (t.c.outer_purchase_id, t.c.state, t.c.payload_hash, t.c.attempts)
_CLAIM_AMONG = sa.select(*_CLAIM_COLS).where(t.c.outer_purchase_id.in_(_IDS))
_CLAIM_AMONG_PG = _CLAIM_AMONG.with_for_update(skip_locked=True)
_CLAIM_UPDATE = (
    t.update()
    .where(t.c.outer_purchase_id.in_(_IDS) & t.c.state.in_(sources("claim")))
    .values(
        state=target("claim"),
        lease_owner=_b("run"),
        lease_expires_at=_b("expires"),
        doubt_from=_b("expires"),
        deadline_s=_b("deadline"),
        attempts=t.c.attempts + 1,
        last_run_id=_b("run"),
        updated_at=_b("now"),
    )
)
_RECORD_READ = sa.select(t.c.outer_purchase_id, t.c.state, t.c.attempts, t.c.purchase_ids).where(
    t.c.outer_purchase_id.in_(_IDS)
)
_FENCED = (
    (t.c.outer_purchase_id == _b("id"))
    & (t.c.attempts == _b("attempts"))
    & (t.c.state == sa.literal_column("'submitting'"))
)
_RECORD_CREATED = (
    t.update()
    .where((t.c.outer_purchase_id == _b("id")) & (t.c.state != sa.literal_column("'created'")))
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
        last_run_id=_b("run"),
        updated_at=_b("now"),
    )
)
_RECORD_OTHER = (
    t.update()
    .where(_FENCED)
    .values(
        state=_b("state"),
        error_code=_b("code"),
        error_message=_b("message"),
        amount_fen=sa.func.coalesce(_b("amount"), t.c.amount_fen),
        lease_owner=None,
        lease_expires_at=None,
        doubt_from=_b("doubt"),
        last_run_id=_b("run"),
        updated_at=_b("now"),
    )
)
_LINES_DELETE = purchase_lines.delete().where(purchase_lines.c.outer_purchase_id.in_(_IDS))
_LINES_INSERT = purchase_lines.insert()


class Transitions(LedgerBase):
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
        cols = _CLAIM_COLS
        with self.engine.begin() as conn:
            if among is not None:
                wanted = list(among)[: max(limit, 0)]
                if not wanted:
                    return []
                # By primary key only, the state checked below on the locked rows: with a state
                # filter SQLite would walk the state index over every planned row.
                q = _CLAIM_AMONG_PG if self.is_postgres else _CLAIM_AMONG
                found = conn.execute(q, {"b_ids": wanted}).all()
            else:
                q = (
                    sa.select(*cols)
                    .where(t.c.state.in_(sources("claim")))
                    .order_by(t.c.created_at, t.c.outer_purchase_id)
                    .limit(limit)
                )
                if self.is_postgres:
                    q = q.with_for_update(skip_locked=True)
                found = conn.execute(q).all()
            claimable = sources("claim")
            rows = [r for r in found if r.state in claimable]
            if isinstance(among, Mapping):
                rows = [r for r in rows if among[r.outer_purchase_id] == r.payload_hash]
            if not rows:
                return []
            # One statement: the rows were read in this write transaction (BEGIN IMMEDIATE on
            # SQLite, FOR UPDATE on PostgreSQL), so their attempts cannot have moved since.
            conn.execute(
                _CLAIM_UPDATE,
                {
                    "b_ids": [r.outer_purchase_id for r in rows],
                    "b_run": run_id,
                    "b_expires": expires,
                    "b_deadline": deadline_s,
                    "b_now": now,
                },
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
                for r in conn.execute(_RECORD_READ, {"b_ids": list(chunk)}):
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
                    _RECORD_CREATED,
                    [
                        {
                            "b_id": o.outer_purchase_id,
                            "b_code": o.error_code,
                            "b_message": o.error_message,
                            "b_amount": o.amount_fen,
                            "b_pids": json.dumps(list(o.purchase_ids)),
                            "b_url": o.payment_url,
                            "b_run": run_id,
                            "b_now": now,
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
                    _RECORD_OTHER,
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
                            "b_run": run_id,
                            "b_now": now,
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
        for chunk in chunks([o.outer_purchase_id for o in with_lines]):
            conn.execute(_LINES_DELETE, {"b_ids": list(chunk)})
        conn.execute(
            _LINES_INSERT,
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


def _rowcount(res: Any, fallback: int) -> int:
    return res.rowcount if res.rowcount >= 0 else fallback
