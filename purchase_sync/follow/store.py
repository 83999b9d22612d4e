"""The follow stage's own tables: what the supplier side last said about each created purchase,
its status history, and the cancels we asked for.

They live in the ledger's database (same URL) under their own `sa.MetaData`, so the ledger's
schema can change without touching them; the ledger's tables are only read (`ledger_view`).
Times we observed are epoch seconds (float, as in the ledger); the supplier's own times stay
epoch milliseconds (`*_ms`). Ids are strings, money integer fen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from ledger.engine import make_engine  # one engine setup for the ledger's database

__all__ = [
    "CANCEL_STATES",
    "FollowStore",
    "cancel_lines",
    "cancels",
    "history",
    "make_engine",
    "metadata",
    "purchases",
    "sub_orders",
]

CHUNK = 500
metadata = sa.MetaData()

# One row per remote purchase (purchase_id): the latest status the order query showed.
purchases = sa.Table(
    "follow_purchases",
    metadata,
    sa.Column("purchase_id", sa.String(32), primary_key=True),
    sa.Column("outer_purchase_id", sa.String, nullable=False, index=True),
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("status_known", sa.Boolean, nullable=False),
    sa.Column("purchase_amount_fen", sa.BigInteger),
    sa.Column("pay_amount_fen", sa.BigInteger),
    sa.Column("pay_time_ms", sa.BigInteger),
    sa.Column("next_close_ms", sa.BigInteger),  # closes unpaid at (nextCloseTimeWithoutPayment)
    sa.Column("close_time_ms", sa.BigInteger),
    sa.Column("close_reason", sa.Text),
    sa.Column("payment_url", sa.Text),
    sa.Column("modify_time_ms", sa.BigInteger),
    sa.Column("logistics", sa.Text),  # JSON list of tracking numbers
    sa.Column("first_observed_at", sa.Float, nullable=False),
    sa.Column("observed_at", sa.Float, nullable=False),
    sa.Column("changed_at", sa.Float, nullable=False),  # when we first saw the current status
)

# One row per remote sub-order (a line of a supplier purchase).
sub_orders = sa.Table(
    "follow_sub_orders",
    metadata,
    sa.Column("sub_purchase_order_id", sa.String(32), primary_key=True),
    sa.Column("purchase_id", sa.String(32), nullable=False, index=True),
    sa.Column("outer_purchase_id", sa.String, nullable=False),
    sa.Column("order_line_no", sa.String(32)),
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("pay_amount_fen", sa.BigInteger),
    sa.Column("close_time_without_payment_ms", sa.BigInteger),
    sa.Column("close_reason", sa.Text),
    sa.Column("refund_status", sa.Integer),
    sa.Column("logistics", sa.Text),
    sa.Column("observed_at", sa.Float, nullable=False),
)

# Every change we observed: "when did this close" is the first TRADE_CLOSED row of a purchase.
history = sa.Table(
    "follow_status_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("outer_purchase_id", sa.String, nullable=False, index=True),
    sa.Column("purchase_id", sa.String(32), nullable=False),
    sa.Column("sub_purchase_order_id", sa.String(32)),  # None: the purchase itself
    sa.Column("field", sa.String(16), nullable=False),  # status | refund_status
    sa.Column("old_value", sa.String(64)),
    sa.Column("new_value", sa.String(64)),
    sa.Column("remote_modify_ms", sa.BigInteger),
    sa.Column("observed_at", sa.Float, nullable=False),
)

follow_meta = sa.Table(
    "follow_meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)

#: intent (committed, maybe not sent) -> accepted | refused | unknown -> confirmed | too_late
CANCEL_STATES = ("intent", "accepted", "unknown", "refused", "confirmed", "too_late")

# One row per cancel request (one remote purchase, all or some of its sub-orders).
cancels = sa.Table(
    "follow_cancels",
    metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("outer_purchase_id", sa.String, nullable=False, index=True),
    sa.Column("purchase_id", sa.String(32), nullable=False, index=True),
    sa.Column("sub_ids", sa.Text, nullable=False),  # JSON list; [] = the whole purchase
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("run_id", sa.String),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float),  # last send start (None: never known to have left)
    sa.Column("settled_at", sa.Float),
    sa.Column("detail", sa.Text),
)

# What a cancel covers, one row per sub-order ("*" = the whole purchase): the primary key is
# what makes "no cancel sent twice" hold even for two runs at once.
cancel_lines = sa.Table(
    "follow_cancel_lines",
    metadata,
    sa.Column("purchase_id", sa.String(32), primary_key=True),
    sa.Column("sub_purchase_order_id", sa.String(32), primary_key=True),
    sa.Column("outer_purchase_id", sa.String, nullable=False),
    sa.Column("order_line_no", sa.String(32)),
    sa.Column("request_id", sa.String(40), nullable=False),
)

WHOLE = "*"


def _chunks(seq: Sequence[Any], n: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


class FollowStore:
    """The follow tables over one engine. Blocking: async callers use `asyncio.to_thread`."""

    def __init__(
        self, url_or_engine: str | sa.Engine, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.owns_engine = isinstance(url_or_engine, str)
        self.engine = (
            make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )
        self.clock = clock

    def close(self) -> None:
        if self.owns_engine:
            self.engine.dispose()

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(follow_meta.c.value).where(follow_meta.c.key == key)
            ).scalar_one_or_none()

    def set_meta(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                follow_meta.update().where(follow_meta.c.key == key).values(value=value)
            ).rowcount
            if not done:
                conn.execute(follow_meta.insert().values(key=key, value=value))

    # -- observed statuses --------------------------------------------------------------------

    def purchase_rows(self, purchase_ids: Iterable[str] | None = None) -> dict[str, dict]:
        """purchase_id -> its follow_purchases row (as a dict); all rows when ids is None."""
        return self._rows(purchases, purchases.c.purchase_id, purchase_ids)

    def sub_order_rows(self, purchase_ids: Iterable[str] | None = None) -> dict[str, dict]:
        """sub_purchase_order_id -> its row, for the sub-orders of these purchases (or all)."""
        out: dict[str, dict] = {}
        if purchase_ids is None:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(sub_orders)).mappings().all()
            return {r["sub_purchase_order_id"]: dict(r) for r in rows}
        ids = list(dict.fromkeys(purchase_ids))
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                q = sa.select(sub_orders).where(sub_orders.c.purchase_id.in_(chunk))
                for r in conn.execute(q).mappings():
                    out[r["sub_purchase_order_id"]] = dict(r)
        return out

    def _rows(self, table: sa.Table, key: sa.Column, ids: Iterable[str] | None) -> dict[str, dict]:
        with self.engine.connect() as conn:
            if ids is None:
                return {r[key.name]: dict(r) for r in conn.execute(sa.select(table)).mappings()}
            out: dict[str, dict] = {}
            for chunk in _chunks(list(dict.fromkeys(ids))):
                for r in conn.execute(sa.select(table).where(key.in_(chunk))).mappings():
                    out[r[key.name]] = dict(r)
            return out

    def record(self, observed: Sequence[dict], subs: Sequence[dict]) -> int:
        """Write observed purchases and sub-orders (dicts keyed like the tables); append a
        history row for every status or refund-status change. Returns the changes recorded."""
        now = self.clock()
        changes = 0
        with self.engine.begin() as conn:
            old_p = {}
            for chunk in _chunks([o["purchase_id"] for o in observed]):
                q = sa.select(purchases).where(purchases.c.purchase_id.in_(chunk))
                old_p.update({r["purchase_id"]: dict(r) for r in conn.execute(q).mappings()})
            old_s = {}
            for chunk in _chunks([s["sub_purchase_order_id"] for s in subs]):
                q = sa.select(sub_orders).where(sub_orders.c.sub_purchase_order_id.in_(chunk))
                old_s.update(
                    {r["sub_purchase_order_id"]: dict(r) for r in conn.execute(q).mappings()}
                )
            hist: list[dict] = []
            p_new, p_upd = [], []
            for o in observed:
                prev = old_p.get(o["purchase_id"])
                row = {**o, "observed_at": now}
                if prev is None:
                    p_new.append({**row, "first_observed_at": now, "changed_at": now})
                else:
                    row["changed_at"] = now if prev["status"] != o["status"] else prev["changed_at"]
                    p_upd.append(row)
                if prev is None or prev["status"] != o["status"]:
                    hist.append(_hist(o, None, "status", prev and prev["status"], o["status"], now))
            s_new, s_upd = [], []
            for s in subs:
                sid = s["sub_purchase_order_id"]
                prev = old_s.get(sid)
                row = {k: v for k, v in s.items() if k != "modify_time_ms"}
                row["observed_at"] = now
                (s_new if prev is None else s_upd).append(row)
                if prev is None or prev["status"] != s["status"]:
                    hist.append(_hist(s, sid, "status", prev and prev["status"], s["status"], now))
                before = prev["refund_status"] if prev else None
                if _refund_changed(prev is None, before, s["refund_status"]):
                    hist.append(_hist(s, sid, "refund_status", before, s["refund_status"], now))
            _write(conn, purchases, "purchase_id", p_new, p_upd)
            _write(conn, sub_orders, "sub_purchase_order_id", s_new, s_upd)
            if hist:
                conn.execute(history.insert(), hist)
                changes = len(hist)
        return changes

    def history_of(self, outer_purchase_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            q = (
                sa.select(history)
                .where(history.c.outer_purchase_id == outer_purchase_id)
                .order_by(history.c.id)
            )
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- cancels --------------------------------------------------------------------------------

    def cancelled_keys(self) -> set[tuple[str, str]]:
        """(purchase_id, sub_purchase_order_id or "*") of every cancel ever asked for."""
        with self.engine.connect() as conn:
            q = sa.select(cancel_lines.c.purchase_id, cancel_lines.c.sub_purchase_order_id)
            return {(p, s) for p, s in conn.execute(q)}

    def add_cancel_intent(self, request: dict, lines: Sequence[dict]) -> bool:
        """Commit a cancel intent before anything is sent. False (nothing written) when any of
        its sub-orders (or the purchase as a whole) already has a cancel: never sent twice.

        A whole-purchase cancel lists every sub-order it covers plus "*", so an overlap with
        any other cancel of the purchase hits the primary key, even from another process.
        """
        pid = request["purchase_id"]
        keys = {ln["sub_purchase_order_id"] for ln in lines}
        with self.engine.begin() as conn:
            existing = set(
                conn.execute(
                    sa.select(cancel_lines.c.sub_purchase_order_id).where(
                        cancel_lines.c.purchase_id == pid
                    )
                ).scalars()
            )
            if existing & keys or WHOLE in existing or (WHOLE in keys and existing):
                return False
            try:
                with conn.begin_nested():
                    conn.execute(cancels.insert().values(**request))
                    conn.execute(cancel_lines.insert(), [dict(ln) for ln in lines])
            except sa.exc.IntegrityError:
                return False
        return True

    def cancel_requests(self, states: Iterable[str] | None = None) -> list[dict]:
        with self.engine.connect() as conn:
            q = sa.select(cancels).order_by(cancels.c.created_at, cancels.c.request_id)
            if states is not None:
                q = q.where(cancels.c.state.in_(list(states)))
            return [dict(r) for r in conn.execute(q).mappings()]

    def update_cancel(self, request_id: str, expect_state: str, **values: Any) -> bool:
        """Move a cancel on, only if nobody moved it since it was read (state as the version)."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    cancels.update()
                    .where(cancels.c.request_id == request_id)
                    .where(cancels.c.state == expect_state)
                    .values(**values)
                ).rowcount
            )


def _refund_changed(first: bool, before: int | None, now: int | None) -> bool:
    """A refund-status change worth a history row: any change once seen; on first sight only
    an actual refund state (not 0, "no refund")."""
    return now not in (None, 0) if first else before != now


def _write(conn: sa.Connection, table: sa.Table, key: str, new: list, changed: list) -> None:
    """Insert and update many rows in two statements (executemany)."""
    if new:
        conn.execute(table.insert(), new)
    if changed:
        cols = [c for c in changed[0] if c != key]
        stmt = (
            table.update()
            .where(table.c[key] == sa.bindparam("_key"))
            .values({c: sa.bindparam(c) for c in cols})
        )
        conn.execute(stmt, [{**row, "_key": row[key]} for row in changed])


def _hist(obj: dict, sub_id: str | None, field: str, old: Any, new: Any, now: float) -> dict:
    return {
        "outer_purchase_id": obj["outer_purchase_id"],
        "purchase_id": obj["purchase_id"],
        "sub_purchase_order_id": sub_id,
        "field": field,
        "old_value": None if old is None else str(old),
        "new_value": None if new is None else str(new),
        "remote_modify_ms": obj.get("modify_time_ms"),
        "observed_at": now,
    }


def dumps(values: Iterable[str]) -> str:
    return json.dumps(list(values))
