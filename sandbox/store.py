"""The sandbox's order store: an in-memory index backed by SQLite (WAL), group-committed.

Queries read the in-memory index (cheap for tens of thousands of orders). Every change is also
written to SQLite, and a create or cancel is answered only after its transaction has committed, so
an order whose response is lost is still there after the server process dies. Changes that become
ready in the same event-loop iteration share one commit (about 20 us with `synchronous=NORMAL`);
the expensive part, the WAL checkpoint and its fsync, runs in a small background thread with its
own connection, so it never stalls the loop. (A writer thread for the commits too was tried: the
GIL hand-offs on every request cost more than the commits.)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS purchase_orders (
    purchase_id INTEGER PRIMARY KEY,  -- < 2^63: fits SQLite's rowid, one B-tree per write
    seq INTEGER NOT NULL,
    create_no INTEGER NOT NULL,
    outer_purchase_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
-- id sequences, saved when orders are cleared (otherwise derived from the orders at load)
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_CHECKPOINT_BYTES = 4 << 20
_UPSERT = (
    "INSERT OR REPLACE INTO purchase_orders"
    " (purchase_id, seq, create_no, outer_purchase_id, doc) VALUES (?, ?, ?, ?, ?)"
)

PURCHASE_BASE = 3_560_000_000_000_000_000
SUB_BASE = 2_912_000_000_000_000_000
_M64 = (1 << 64) - 1


def mix64(n: int, salt: int) -> int:
    """A 64-bit mix (splitmix64 finaliser): deterministic, well spread ids and tokens."""
    z = (n * 0x9E3779B97F4A7C15 + salt) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    return z ^ (z >> 31)


@dataclass(slots=True)
class StoredOrder:
    """One supplier purchase order: `doc` is its order-query shape (camelCase, ids as ints)."""

    seq: int
    create_no: int
    doc: dict[str, Any]
    summary: bytes | None = None  # cached `/_sandbox/orders` entry; dropped when the order changes
    #: (modifyTime, doc) of recent versions, kept only while the query lags (`query_lag_s`)
    history: list[tuple[int, dict[str, Any]]] | None = None

    def remember(self) -> None:
        """Keep a copy of this version: a lagging query may show it after the next change."""
        if self.history is None:
            self.history = []
        self.history.append((self.doc["modifyTime"], copy.deepcopy(self.doc)))


@dataclass
class _Counters:
    create_no: int = 0
    purchase_no: int = 0
    sub_no: int = 0


@dataclass
class OrderStore:
    """Orders by purchase id, plus the id sequences (never reused, even across a reset)."""

    db_path: str | None = None
    orders: dict[int, StoredOrder] = field(default_factory=dict)
    by_outer: dict[str, list[int]] = field(default_factory=dict)
    seq: _Counters = field(default_factory=_Counters)

    def __post_init__(self) -> None:
        self._tmpdir: str | None = None
        if self.db_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="sandbox-")
            self.db_path = os.path.join(self._tmpdir, "orders.sqlite")
        self._conn = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
        self._conn.executescript(_SCHEMA)
        self._dirty: dict[int, StoredOrder] = {}
        self._next_seq = 1
        self._load()
        self._waiters: list[asyncio.Future[None]] = []
        self._flush_scheduled = False
        self._closing = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="sandbox-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _load(self) -> None:
        c = self.seq
        for name, value in self._conn.execute("SELECT name, value FROM counters"):
            if hasattr(c, name):
                setattr(c, name, value)
        for seq, create_no, doc in self._conn.execute(
            "SELECT seq, create_no, doc FROM purchase_orders ORDER BY seq"
        ):
            order = StoredOrder(seq, create_no, json.loads(doc))
            self._index(order)
            self._next_seq = seq + 1
            c.create_no = max(c.create_no, create_no)
            c.purchase_no = max(c.purchase_no, (order.doc["purchaseId"] - PURCHASE_BASE) // 1000)
            for sub in order.doc["subPurchaseOrders"]:
                c.sub_no = max(c.sub_no, (sub["subPurchaseOrderId"] - SUB_BASE) // 1000)

    def _index(self, order: StoredOrder) -> None:
        pid = order.doc["purchaseId"]
        if pid not in self.orders:
            self.by_outer.setdefault(order.doc["outerPurchaseId"], []).append(pid)
        self.orders[pid] = order

    # ids ---------------------------------------------------------------------------------------

    def next_create_no(self) -> int:
        self.seq.create_no += 1
        return self.seq.create_no

    def next_purchase_id(self, salt: int) -> int:
        """19 digits, > 2^53, unique for the life of the database file."""
        self.seq.purchase_no += 1
        n = self.seq.purchase_no
        return PURCHASE_BASE + n * 1000 + mix64(n, salt) % 1000

    def next_sub_id(self, salt: int) -> int:
        self.seq.sub_no += 1
        n = self.seq.sub_no
        return SUB_BASE + n * 1000 + mix64(~n & _M64, salt) % 1000

    # changes -----------------------------------------------------------------------------------

    def add(self, doc: dict[str, Any], create_no: int) -> StoredOrder:
        """Index a new order now; `await commit()` makes it durable."""
        order = StoredOrder(self._next_seq, create_no, doc)
        self._next_seq += 1
        self._index(order)
        self._dirty[doc["purchaseId"]] = order
        return order

    def touch(self, order: StoredOrder) -> None:
        """Mark a changed order for the next commit."""
        order.summary = None
        self._dirty[order.doc["purchaseId"]] = order

    async def commit(self) -> None:
        """Return once every change made so far is committed to SQLite (group commit)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        await fut

    async def clear(self) -> None:
        """Drop every order (the id sequences carry on, so ids are never reused)."""
        self.orders.clear()
        self.by_outer.clear()
        self._dirty.clear()
        c = self.seq
        counters = [
            ("create_no", c.create_no),
            ("purchase_no", c.purchase_no),
            ("sub_no", c.sub_no),
        ]
        conn = self._conn
        conn.execute("BEGIN")
        conn.execute("DELETE FROM purchase_orders")
        conn.executemany("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", counters)
        conn.execute("COMMIT")

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, {}
        waiters, self._waiters = self._waiters, []
        rows = [
            (
                o.doc["purchaseId"],
                o.seq,
                o.create_no,
                o.doc["outerPurchaseId"],
                json.dumps(o.doc, ensure_ascii=False, separators=(",", ":")),
            )
            for o in dirty.values()
        ]
        error: BaseException | None = None
        conn = self._conn
        try:
            conn.execute("BEGIN")
            try:
                conn.executemany(_UPSERT, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            error = exc
        _resolve(waiters, error)

    def _checkpoint_loop(self) -> None:
        """Checkpoint the WAL off the event loop (SQLite releases the GIL while it writes)."""
        conn = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
        wal = f"{self.db_path}-wal"
        try:
            while not self._closing.wait(0.25):
                with contextlib.suppress(OSError, sqlite3.Error):
                    if os.path.getsize(wal) > _CHECKPOINT_BYTES:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the checkpointer, then close (and remove a temporary database)."""
        self._closing.set()
        self._checkpointer.join(timeout=10)
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)


def _resolve(futs: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for fut in futs:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)
