"""Engine setup and the plumbing every ledger method shares (timing, read transactions).

SQLite: WAL (readers do not block the writer), `synchronous=FULL` (a committed claim survives a
power cut), a generous busy timeout, and every write transaction opened with `BEGIN IMMEDIATE`
so two processes serialise on the write lock up front instead of failing on upgrade.
PostgreSQL: a pooled engine; claims lock rows with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

P = ParamSpec("P")
R = TypeVar("R")


def chunks(seq: Sequence[Any], n: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def timed(fn: Callable[P, R]) -> Callable[P, R]:
    """Sum the wall and CPU time of a ledger call into `busy_s`/`cpu_s`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        self = args[0]
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            self._account(time.perf_counter() - t0, time.thread_time() - c0)  # type: ignore[attr-defined]

    return wrapper


class LedgerBase:
    """Engine, clock and accounting; the methods live in the mixins of `ledger.core.Ledger`."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.clock = clock
        self.engine = make_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.busy_s = 0.0  # wall seconds spent inside ledger calls (all threads, waits included)
        self.cpu_s = 0.0  # CPU seconds those calls used (what they take from the event loop)
        self.transactions = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Ledger({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL with any password masked (for summaries and logs)."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

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


def make_engine(url: str) -> sa.Engine:
    """An engine with the transaction behaviour the state machine relies on (module doc)."""
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
