"""The purchase ledger: durable state that makes every planned purchase be created exactly once.

State machine (one row per `outer_purchase_id`):

```
planned ──claim──▶ submitting ──ok──▶ created
                       │ business rejection ──▶ failed   (kept; resubmitted only on request)
                       │ timeout / 5xx / crash ─▶ unknown ──reconcile by order query──▶ created | planned
```

The rules this module enforces, whoever calls it:

- A claim moves a batch `planned -> submitting` with a lease (owner, expiry) and commits before
  the caller may send anything. SQLite serialises writers with `BEGIN IMMEDIATE`; PostgreSQL
  claims with `SELECT ... FOR UPDATE SKIP LOCKED`, so two runs never hold the same purchase.
- A `submitting`/`unknown` row only goes back to `planned` through `settle()` with a query that
  showed the purchase absent, and only if nobody touched the row since it was read (the
  `attempts` counter is the row version).
- A `created` row is never moved out of `created`.

All methods are blocking; async callers run them with `asyncio.to_thread`. The time spent inside
them is summed in `Ledger.busy_s` so a stage can report the ledger's share of its wall time.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, NamedTuple, ParamSpec, TypeVar, get_args

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ledger import payload as payload_json
from ledger.schema import (
    SCHEMA_VERSION,
    meta,
    metadata,
    purchase_lines,
    purchases,
    resolution_cache,
)
from schemas.errors import UserError
from schemas.records import PlannedPurchase

CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

Reprocess = Literal["missing", "failed", "all"]
P = ParamSpec("P")
R = TypeVar("R")


class State(StrEnum):
    PLANNED = "planned"
    SUBMITTING = "submitting"
    CREATED = "created"
    FAILED = "failed"
    UNKNOWN = "unknown"


# Error codes the ledger itself writes.
PAYLOAD_CHANGED = "PAYLOAD_CHANGED"


@dataclass(frozen=True, slots=True)
class RegisterReport:
    """What `register` found and did, by outer_purchase_id where a person may want to look."""

    inserted: int = 0
    unchanged: int = 0  # planned, same payload
    already_created: int = 0
    failed_kept: int = 0  # failed, not requeued (reprocess=missing)
    requeued: int = 0  # failed -> planned (reprocess=failed|all, or payload reverted)
    in_flight: int = 0  # submitting/unknown: reconcile decides
    duplicates_in_input: int = 0
    payload_changed: tuple[str, ...] = ()  # flagged, not resent
    adopted: tuple[str, ...] = ()  # reprocess=all: the new payload replaced the old one


@dataclass(frozen=True, slots=True)
class Claim:
    """A purchase this run may now send, until `lease_expires_at` (epoch seconds)."""

    outer_purchase_id: str
    attempts: int
    lease_expires_at: float


@dataclass(frozen=True, slots=True)
class LineResult:
    """One purchase line as sent and, once created, as the supplier side answered."""

    order_line_no: str
    mp_id: str | None = None
    mp_sku_id: str | None = None
    quantity: int | None = None
    unit_price_fen: int | None = None
    purchase_id: str | None = None
    sub_purchase_order_id: str | None = None
    supplier: str | None = None
    estimate_amount: int | None = None
    estimate_currency: str | None = None
    sub_status: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one send (or of a reconcile query) to write back."""

    outer_purchase_id: str
    state: State
    error_code: str | None = None
    error_message: str | None = None
    purchase_ids: tuple[str, ...] = ()
    payment_url: str | None = None
    amount_fen: int | None = None
    lines: tuple[LineResult, ...] = ()


@dataclass(frozen=True, slots=True)
class ReconcileItem:
    """A row that must be looked up remotely before it may be sent again (as it was read)."""

    outer_purchase_id: str
    state: State
    attempts: int
    lease_owner: str | None
    has_pending: bool
    updated_at: float  # the last write: a dead process's request may have left just before


class RowState(NamedTuple):
    state: State
    payload_hash: str
    error_code: str | None
    payload_changed: bool


@dataclass(frozen=True, slots=True)
class SettleReport:
    created: int = 0
    requeued: int = 0  # absent remotely -> planned
    payload_changed: int = 0  # absent remotely, but the order changed: failed PAYLOAD_CHANGED
    stale: int = 0  # the row moved on since it was read; left alone


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A resolved source item: `status` is "ok" or the business error code that ended it."""

    source_platform: str
    source_item_id: str
    status: str
    mp_id: str | None
    data: Mapping[str, Any]  # title, supplier, skus: [{sku_id, spec_id, mp_sku_id, price, ...}]
    fetched_at: float


@dataclass(frozen=True, slots=True)
class PurchaseRecord:
    """A purchase row with its line rows, for results tables."""

    outer_purchase_id: str
    state: State
    payload_hash: str
    attempts: int
    purchase_ids: tuple[str, ...]
    payment_url: str | None
    amount_fen: int | None
    error_code: str | None
    error_message: str | None
    payload_changed: bool
    last_run_id: str | None
    updated_at: float
    lines: dict[str, LineResult] = field(default_factory=dict)


def _chunks(seq: Sequence[Any], n: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


class Ledger:
    """Durable purchase state in SQLite (default) or PostgreSQL (several workers or machines)."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.clock = clock
        self.engine = _make_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.busy_s = 0.0  # wall seconds spent inside ledger calls (all threads, waits included)
        self.cpu_s = 0.0  # CPU seconds those calls used (what they take from the event loop)
        self.transactions = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Ledger({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    # -- plumbing -------------------------------------------------------------------------------

    def _account(self, seconds: float, cpu_s: float, transactions: int = 1) -> None:
        with self._lock:
            self.busy_s += seconds
            self.cpu_s += cpu_s
            self.transactions += transactions

    @contextlib.contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A read-only transaction: a plain (deferred) BEGIN on SQLite, so it never queues
        behind writers for the write lock."""
        with self.engine.connect() as conn:
            conn.info["read_only"] = True
            try:
                yield conn
            finally:
                conn.info.pop("read_only", None)

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql if self.is_postgres else sqlite).insert(table)

    # -- schema ---------------------------------------------------------------------------------

    @staticmethod
    def _timed(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            self = args[0]
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._account(  # type: ignore[attr-defined]
                    time.perf_counter() - t0, time.thread_time() - c0
                )

        return wrapper

    def create_schema(self) -> None:
        """Create the tables if missing and record the schema version (idempotent, concurrent-safe).

        A ledger written by a newer version of this code is refused rather than misread.
        """
        with self.engine.begin() as conn:
            if self.is_postgres:  # serialise concurrent first runs: CREATE TABLE is not atomic
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(727274001)"))
            metadata.create_all(conn, checkfirst=True)
            row = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar_one_or_none()
            if row is None:
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row) > SCHEMA_VERSION:
                raise UserError(
                    f"the ledger {self!r} has schema version {row}, newer than this program's "
                    f"{SCHEMA_VERSION}: upgrade purchase-sync"
                )
            # Future migrations: `elif int(row) < SCHEMA_VERSION: migrate(conn, int(row))`.

    def schema_version(self) -> int:
        with self._read() as conn:
            return int(
                conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            )

    # -- register -------------------------------------------------------------------------------

    @_timed
    def register(
        self,
        purchases_: Sequence[PlannedPurchase],
        run_id: str,
        reprocess: Reprocess = "missing",
    ) -> RegisterReport:
        """Make the ledger know every planned purchase; decide what a rerun may send.

        New ids are inserted `planned`. An id seen before keeps its state, except: a `failed`
        purchase is requeued when `reprocess` is "failed" or "all"; a changed payload is flagged
        (`failed`/`PAYLOAD_CHANGED` when not yet created, kept aside when created or in flight)
        unless `reprocess="all"` adopts it on a row that is safely not created.
        """
        if reprocess not in get_args(Reprocess):
            raise ValueError(f"reprocess must be missing|failed|all, not {reprocess!r}")
        now = self.clock()
        wanted: dict[str, tuple[PlannedPurchase, str]] = {}
        duplicates = 0
        for p in purchases_:
            if p.outer_purchase_id in wanted:
                duplicates += 1
                continue
            wanted[p.outer_purchase_id] = (p, p.payload_hash())
        counts = dict.fromkeys(
            ("inserted", "unchanged", "already_created", "failed_kept", "requeued", "in_flight"),
            0,
        )
        changed: list[str] = []
        adopted: list[str] = []
        t = purchases
        ids = list(wanted)
        for chunk in _chunks(ids):
            with self.engine.begin() as conn:
                q = sa.select(
                    t.c.outer_purchase_id,
                    t.c.state,
                    t.c.payload_hash,
                    t.c.pending_hash,
                    t.c.error_code,
                ).where(t.c.outer_purchase_id.in_(chunk))
                if self.is_postgres:
                    q = q.with_for_update()
                existing = {r.outer_purchase_id: r for r in conn.execute(q)}
                new_rows = []
                for oid in chunk:
                    p, h = wanted[oid]
                    row = existing.get(oid)
                    if row is None:
                        new_rows.append(
                            {
                                "outer_purchase_id": oid,
                                "state": State.PLANNED.value,
                                "payload_hash": h,
                                "payload": payload_json.to_json(p),
                                "attempts": 0,
                                "first_run_id": run_id,
                                "last_run_id": run_id,
                                "created_at": now,
                                "updated_at": now,
                            }
                        )
                        continue
                    action = self._register_action(conn, row, p, h, run_id, reprocess, now)
                    if action in ("changed", "adopted"):
                        (changed if action == "changed" else adopted).append(oid)
                    else:
                        counts[action] += 1
                if new_rows:
                    conn.execute(
                        self._insert(t).on_conflict_do_nothing(
                            index_elements=[t.c.outer_purchase_id]
                        ),
                        new_rows,
                    )
                    counts["inserted"] += len(new_rows)
        return RegisterReport(
            **counts,
            duplicates_in_input=duplicates,
            payload_changed=tuple(changed),
            adopted=tuple(adopted),
        )

    def _register_action(
        self,
        conn: sa.Connection,
        row: Any,
        p: PlannedPurchase,
        h: str,
        run_id: str,
        reprocess: Reprocess,
        now: float,
    ) -> str:
        t = purchases
        state = State(row.state)
        guard = (
            (t.c.outer_purchase_id == row.outer_purchase_id)
            & (t.c.state == row.state)
            & (t.c.payload_hash == row.payload_hash)
        )

        def update(**values: Any) -> None:
            conn.execute(t.update().where(guard).values(updated_at=now, **values))

        if h == row.payload_hash:
            reverted = row.pending_hash is not None
            if state is State.FAILED and (
                reprocess != "missing" or row.error_code == PAYLOAD_CHANGED
            ):
                update(
                    state=State.PLANNED.value,
                    error_code=None,
                    error_message=None,
                    pending_hash=None,
                    pending_payload=None,
                    last_run_id=run_id,
                )
                return "requeued"
            if reverted:
                values: dict[str, Any] = {"pending_hash": None, "pending_payload": None}
                if row.error_code == PAYLOAD_CHANGED:
                    values.update(error_code=None, error_message=None)
                update(**values)
            return {
                State.PLANNED: "unchanged",
                State.CREATED: "already_created",
                State.FAILED: "failed_kept",
                State.SUBMITTING: "in_flight",
                State.UNKNOWN: "in_flight",
            }[state]

        # A different payload under the same id.
        if state in (State.PLANNED, State.FAILED) and reprocess == "all":
            update(
                state=State.PLANNED.value,
                payload_hash=h,
                payload=payload_json.to_json(p),
                pending_hash=None,
                pending_payload=None,
                error_code=None,
                error_message=None,
                last_run_id=run_id,
            )
            return "adopted"
        if row.pending_hash == h and (state is not State.PLANNED):
            return "changed"  # flagged by an earlier run already
        pending = {"pending_hash": h, "pending_payload": payload_json.to_json(p)}
        msg = "the order changed after it was planned; not resent (rerun with --reprocess all)"
        if state in (State.PLANNED, State.FAILED):
            update(
                state=State.FAILED.value,
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
        return "changed"

    # -- claim / release / record ---------------------------------------------------------------

    @_timed
    def claim(
        self,
        run_id: str,
        limit: int,
        lease_s: float,
        *,
        among: Mapping[str, str] | Sequence[str] | None = None,
    ) -> list[Claim]:
        """Take up to `limit` planned purchases for this run, committed before any send.

        `among` restricts the claim to these ids (a mapping id -> expected payload hash also
        skips rows whose payload is not the one the caller priced). Rows another run holds are
        skipped, never waited for.
        """
        t = purchases
        now = self.clock()
        expires = now + lease_s
        with self.engine.begin() as conn:
            if among is not None:
                wanted = list(among)[: max(limit, 0)]
                if not wanted:
                    return []
                # By primary key only, the state checked below on the locked rows: with a state
                # filter SQLite would walk the state index over every planned row.
                marks = ", ".join("?" * len(wanted))
                lock = " FOR UPDATE SKIP LOCKED" if self.is_postgres else ""
                found = conn.exec_driver_sql(
                    self._sql(
                        "SELECT outer_purchase_id, state, payload_hash, attempts "
                        f"FROM ledger_purchases WHERE outer_purchase_id IN ({marks}){lock}"
                    ),
                    tuple(wanted),
                ).all()
            else:
                q = (
                    sa.select(t.c.outer_purchase_id, t.c.state, t.c.payload_hash, t.c.attempts)
                    .where(t.c.state == State.PLANNED.value)
                    .order_by(t.c.created_at, t.c.outer_purchase_id)
                    .limit(limit)
                )
                if self.is_postgres:
                    q = q.with_for_update(skip_locked=True)
                found = conn.execute(q).all()
            rows = [r for r in found if r.state == State.PLANNED.value]
            if isinstance(among, Mapping):
                rows = [r for r in rows if among[r.outer_purchase_id] == r.payload_hash]
            if not rows:
                return []
            ids = [r.outer_purchase_id for r in rows]
            marks = ", ".join("?" * len(ids))
            conn.exec_driver_sql(
                self._sql(
                    "UPDATE ledger_purchases SET state = 'submitting', lease_owner = ?, "
                    "lease_expires_at = ?, attempts = attempts + 1, last_run_id = ?, "
                    f"updated_at = ? WHERE outer_purchase_id IN ({marks}) AND state = 'planned'"
                ),
                (run_id, expires, run_id, now, *ids),
            )
        return [Claim(r.outer_purchase_id, r.attempts + 1, expires) for r in rows]

    @_timed
    def release(self, run_id: str, ids: Sequence[str]) -> int:
        """Give back claimed purchases that were NOT sent (the claim is undone, attempts too)."""
        if not ids:
            return 0
        t = purchases
        n = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(list(ids)):
                res = conn.execute(
                    t.update()
                    .where(
                        t.c.outer_purchase_id.in_(chunk)
                        & (t.c.state == State.SUBMITTING.value)
                        & (t.c.lease_owner == run_id)
                    )
                    .values(
                        state=State.PLANNED.value,
                        lease_owner=None,
                        lease_expires_at=None,
                        attempts=t.c.attempts - 1,
                        updated_at=self.clock(),
                    )
                )
                n += res.rowcount
        return n

    @_timed
    def record(self, run_id: str, outcomes: Sequence[Outcome]) -> int:
        """Write the outcomes of sends, in one transaction; returns how many rows changed.

        `created` is the remote truth and is written whoever holds the row now (never over a
        `created` row), with its line rows. Any other outcome is written only while this run
        still holds the claim, and touches no line rows (they describe what was created).
        One executemany per kind keeps a batch of outcomes to a handful of statements.
        """
        if not outcomes:
            return 0
        if any(o.state is State.SUBMITTING for o in outcomes):
            raise ValueError("an outcome cannot be 'submitting'")
        now = self.clock()
        created = [o for o in outcomes if o.state is State.CREATED]
        others = [o for o in outcomes if o.state is not State.CREATED]
        n = 0
        # The hot path of the create stage: plain driver SQL, one executemany per kind.
        common = (
            "state = ?, error_code = ?, error_message = ?, "
            "amount_fen = COALESCE(CAST(? AS BIGINT), amount_fen), "
            "lease_owner = NULL, lease_expires_at = NULL, updated_at = ?"
        )
        with self.engine.begin() as conn:
            if created:
                res = conn.exec_driver_sql(
                    self._sql(
                        f"UPDATE ledger_purchases SET {common}, purchase_ids = ?, payment_url = ? "
                        "WHERE outer_purchase_id = ? AND state <> 'created'"
                    ),
                    [
                        (
                            o.state.value,
                            o.error_code,
                            o.error_message,
                            o.amount_fen,
                            now,
                            json.dumps(list(o.purchase_ids)),
                            o.payment_url,
                            o.outer_purchase_id,
                        )
                        for o in created
                    ],
                )
                n += res.rowcount if res.rowcount >= 0 else len(created)
                self._write_lines(conn, created, now)
            if others:
                res = conn.exec_driver_sql(
                    self._sql(
                        f"UPDATE ledger_purchases SET {common} WHERE outer_purchase_id = ? "
                        "AND state = 'submitting' AND lease_owner = ?"
                    ),
                    [
                        (
                            o.state.value,
                            o.error_code,
                            o.error_message,
                            o.amount_fen,
                            now,
                            o.outer_purchase_id,
                            run_id,
                        )
                        for o in others
                    ],
                )
                n += res.rowcount if res.rowcount >= 0 else len(others)
        return n

    def _sql(self, text: str) -> str:
        """Driver SQL written with `?` placeholders, in the driver's own style."""
        return text.replace("?", "%s") if self.is_postgres else text

    @staticmethod
    def _outcome_values(o: Outcome, now: float) -> dict[str, Any]:
        values: dict[str, Any] = {
            "state": o.state.value,
            "error_code": o.error_code,
            "error_message": o.error_message,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
        }
        if o.state is State.CREATED:
            values["purchase_ids"] = json.dumps(list(o.purchase_ids))
            values["payment_url"] = o.payment_url
        if o.amount_fen is not None:
            values["amount_fen"] = o.amount_fen
        return values

    _LINE_COLUMNS = (
        "outer_purchase_id",
        "order_line_no",
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
        "updated_at",
    )

    def _write_lines(self, conn: sa.Connection, outcomes: Sequence[Outcome], now: float) -> None:
        """Replace the line rows of these (created) purchases."""
        with_lines = [o for o in outcomes if o.lines]
        if not with_lines:
            return
        for chunk in _chunks([o.outer_purchase_id for o in with_lines]):
            marks = ", ".join("?" * len(chunk))
            conn.exec_driver_sql(
                self._sql(
                    f"DELETE FROM ledger_purchase_lines WHERE outer_purchase_id IN ({marks})"
                ),
                tuple(chunk),
            )
        cols = self._LINE_COLUMNS
        conn.exec_driver_sql(
            self._sql(
                f"INSERT INTO ledger_purchase_lines ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})"
            ),
            [
                (
                    o.outer_purchase_id,
                    ln.order_line_no,
                    ln.mp_id,
                    ln.mp_sku_id,
                    ln.quantity,
                    ln.unit_price_fen,
                    ln.purchase_id,
                    ln.sub_purchase_order_id,
                    ln.supplier,
                    ln.estimate_amount,
                    ln.estimate_currency,
                    ln.sub_status,
                    now,
                )
                for o in with_lines
                for ln in o.lines
            ],
        )

    @_timed
    def mark_failed(self, run_id: str, failures: Sequence[tuple[str, str, str]]) -> int:
        """Move `planned` purchases that must not be sent to `failed` (id, code, message).

        Used for what is known before any send: item not in the pool, SKU not distributable,
        margin hold. A row no longer `planned` (another run took it) is left alone.
        """
        if not failures:
            return 0
        t = purchases
        now = self.clock()
        n = 0
        with self.engine.begin() as conn:
            for oid, code, message in failures:
                res = conn.execute(
                    t.update()
                    .where((t.c.outer_purchase_id == oid) & (t.c.state == State.PLANNED.value))
                    .values(
                        state=State.FAILED.value,
                        error_code=code,
                        error_message=message,
                        last_run_id=run_id,
                        updated_at=now,
                    )
                )
                n += res.rowcount
        return n

    # -- reconcile ------------------------------------------------------------------------------

    @_timed
    def due_for_reconcile(
        self, run_id: str, *, among: Sequence[str] | None = None
    ) -> list[ReconcileItem]:
        """Rows whose remote fate is unknown: `unknown`, and `submitting` whose lease expired or
        that this same run id holds (the run restarted after a crash)."""
        t = purchases
        now = self.clock()
        cond = (t.c.state == State.UNKNOWN.value) | (
            (t.c.state == State.SUBMITTING.value)
            & ((t.c.lease_expires_at < now) | (t.c.lease_owner == run_id))
        )
        cols = (
            t.c.outer_purchase_id,
            t.c.state,
            t.c.attempts,
            t.c.lease_owner,
            t.c.pending_hash,
            t.c.updated_at,
        )
        out: list[ReconcileItem] = []
        with self._read() as conn:
            if among is None:
                rows = conn.execute(sa.select(*cols).where(cond)).all()
            else:
                rows = []
                for chunk in _chunks(list(among)):
                    rows += conn.execute(
                        sa.select(*cols).where(cond & t.c.outer_purchase_id.in_(chunk))
                    ).all()
        for r in rows:
            out.append(
                ReconcileItem(
                    r.outer_purchase_id,
                    State(r.state),
                    r.attempts,
                    r.lease_owner,
                    r.pending_hash is not None,
                    r.updated_at,
                )
            )
        return out

    @_timed
    def settle(
        self,
        found: Sequence[Outcome],
        absent: Sequence[ReconcileItem],
        *,
        run_id: str,
        adopt_pending: bool = False,
    ) -> SettleReport:
        """Write what the order query showed. Found -> `created` (whoever holds the row, never
        over `created`). Absent -> `planned`, only if the row is still exactly as it was read;
        a row whose order changed meanwhile becomes `failed`/PAYLOAD_CHANGED (or, with
        `adopt_pending`, planned with the new payload)."""
        t = purchases
        now = self.clock()
        created = requeued = changed = stale = 0
        with self.engine.begin() as conn:
            for o in found:
                res = conn.execute(
                    t.update()
                    .where(
                        (t.c.outer_purchase_id == o.outer_purchase_id)
                        & (t.c.state != State.CREATED.value)
                    )
                    .values(**self._outcome_values(o, now), last_run_id=run_id)
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
                    & (t.c.attempts == item.attempts)
                )
                guard &= (
                    t.c.lease_owner.is_(None)
                    if item.lease_owner is None
                    else (t.c.lease_owner == item.lease_owner)
                )
                values: dict[str, Any] = {
                    "state": State.PLANNED.value,
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "last_run_id": run_id,
                    "updated_at": now,
                }
                if item.has_pending and adopt_pending:
                    values.update(
                        payload_hash=t.c.pending_hash,
                        payload=t.c.pending_payload,
                        pending_hash=None,
                        pending_payload=None,
                        error_code=None,
                        error_message=None,
                    )
                elif item.has_pending:
                    values.update(
                        state=State.FAILED.value,
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

    # -- reading --------------------------------------------------------------------------------

    @_timed
    def states(self, ids: Sequence[str]) -> dict[str, RowState]:
        """id -> (state, payload_hash, error_code, payload_changed) for the ids it knows."""
        t = purchases
        out: dict[str, RowState] = {}
        cols = (
            t.c.outer_purchase_id,
            t.c.state,
            t.c.payload_hash,
            t.c.error_code,
            t.c.pending_hash,
        )
        with self._read() as conn:
            for chunk in _chunks(list(ids)):
                for r in conn.execute(sa.select(*cols).where(t.c.outer_purchase_id.in_(chunk))):
                    out[r.outer_purchase_id] = RowState(
                        State(r.state), r.payload_hash, r.error_code, r.pending_hash is not None
                    )
        return out

    @_timed
    def counts(self, ids: Sequence[str] | None = None) -> dict[str, int]:
        """Purchases per state (optionally among `ids`)."""
        t = purchases
        out = {s.value: 0 for s in State}
        with self._read() as conn:
            if ids is None:
                for state, n in conn.execute(
                    sa.select(t.c.state, sa.func.count()).group_by(t.c.state)
                ):
                    out[state] = n
            else:
                for chunk in _chunks(list(ids)):
                    for state, n in conn.execute(
                        sa.select(t.c.state, sa.func.count())
                        .where(t.c.outer_purchase_id.in_(chunk))
                        .group_by(t.c.state)
                    ):
                        out[state] += n
        return out

    @_timed
    def results_rows(self, ids: Sequence[str]) -> dict[str, PurchaseRecord]:
        """Purchase rows with their line rows, for the results table."""
        t, tl = purchases, purchase_lines
        out: dict[str, PurchaseRecord] = {}
        with self._read() as conn:
            for chunk in _chunks(list(ids)):
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

    @_timed
    def load_purchases(
        self, *, ids: Sequence[str] | None = None, states: Iterable[State] | None = None
    ) -> list[PlannedPurchase]:
        """The stored payloads as PlannedPurchase: enough to resend without the input files."""
        t = purchases
        q = sa.select(t.c.payload)
        if states is not None:
            q = q.where(t.c.state.in_([State(s).value for s in states]))
        out: list[PlannedPurchase] = []
        with self._read() as conn:
            if ids is None:
                out = [payload_json.from_json(r.payload) for r in conn.execute(q)]
            else:
                for chunk in _chunks(list(ids)):
                    out += [
                        payload_json.from_json(r.payload)
                        for r in conn.execute(q.where(t.c.outer_purchase_id.in_(chunk)))
                    ]
        return out

    # -- resolution cache -----------------------------------------------------------------------

    @_timed
    def cache_get(
        self, keys: Iterable[tuple[str, str]], ttl_s: float
    ) -> dict[tuple[str, str], CacheEntry]:
        """Fresh cache entries (fetched within `ttl_s`) for (source_platform, source_item_id)."""
        c = resolution_cache
        oldest = self.clock() - ttl_s
        by_platform: dict[str, list[str]] = {}
        for platform, item in keys:
            by_platform.setdefault(platform, []).append(item)
        out: dict[tuple[str, str], CacheEntry] = {}
        with self._read() as conn:
            for platform, items in by_platform.items():
                for chunk in _chunks(sorted(set(items))):
                    for r in conn.execute(
                        sa.select(c).where(
                            (c.c.source_platform == platform)
                            & c.c.source_item_id.in_(chunk)
                            & (c.c.fetched_at >= oldest)
                        )
                    ):
                        out[(r.source_platform, r.source_item_id)] = CacheEntry(
                            r.source_platform,
                            r.source_item_id,
                            r.status,
                            r.mp_id,
                            json.loads(r.data),
                            r.fetched_at,
                        )
        return out

    @_timed
    def cache_put(self, entries: Sequence[CacheEntry]) -> None:
        """Insert or refresh cache entries."""
        if not entries:
            return
        c = resolution_cache
        rows = [
            {
                "source_platform": e.source_platform,
                "source_item_id": e.source_item_id,
                "status": e.status,
                "mp_id": e.mp_id,
                "data": json.dumps(e.data, ensure_ascii=False, separators=(",", ":")),
                "fetched_at": e.fetched_at,
            }
            for e in entries
        ]
        with self.engine.begin() as conn:
            for chunk in _chunks(rows):
                stmt = self._insert(c)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[c.c.source_platform, c.c.source_item_id],
                    set_={
                        "status": stmt.excluded.status,
                        "mp_id": stmt.excluded.mp_id,
                        "data": stmt.excluded.data,
                        "fetched_at": stmt.excluded.fetched_at,
                    },
                )
                conn.execute(stmt, list(chunk))


def _make_engine(url: str) -> sa.Engine:
    """An engine with the transaction behaviour the state machine relies on.

    SQLite: WAL (readers do not block the writer), `synchronous=FULL` (a committed claim survives
    a power cut), a generous busy timeout, and every transaction opened with `BEGIN IMMEDIATE`
    so two processes serialise on the write lock up front instead of failing on upgrade.
    """
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return sa.create_engine(sa_url, pool_pre_ping=True, pool_size=8, max_overflow=8)
    if sa_url.database and sa_url.database != ":memory:":
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(sa_url, connect_args={"timeout": 60, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN" if conn.info.get("read_only") else "BEGIN IMMEDIATE")

    return engine
