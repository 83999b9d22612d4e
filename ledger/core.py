"""The purchase ledger: durable state that makes every planned purchase be created exactly once.

`Ledger` is assembled from one mixin per job:

- `ledger.engine`: engine setup (SQLite WAL + `BEGIN IMMEDIATE`, or PostgreSQL), timing;
- `ledger.migrations`: schema creation and version upgrades;
- `ledger.registration`: bulk registration and the decision on known purchases;
- `ledger.transitions`: the other writes of the state machine (`ledger.records.TRANSITIONS`);
- `ledger.queries`: read queries (states, in doubt, owed, trouble, results rows);
- `ledger.cache`: the resolution cache.

All methods are blocking; async callers run them with `asyncio.to_thread`. The time spent inside
them is summed in `Ledger.busy_s` so a stage can report the ledger's share of its wall time.
"""

from __future__ import annotations

import sqlalchemy as sa

from ledger.cache import ResolutionCache
from ledger.engine import timed
from ledger.migrations import create_or_upgrade
from ledger.queries import Queries
from ledger.registration import Registration
from ledger.schema import meta
from ledger.transitions import Transitions


class Ledger(Registration, Transitions, Queries, ResolutionCache):
    """Durable purchase state in SQLite (default) or PostgreSQL (several workers or machines)."""

    @timed
    def create_schema(self) -> None:
        """Create the tables if missing, upgrade an older schema (idempotent, concurrent-safe).

        A ledger written by a newer version of this code is refused rather than misread.
        """
        with self.engine.begin() as conn:
            create_or_upgrade(conn, self.is_postgres, repr(self))

    def schema_version(self) -> int:
        with self._read() as conn:
            return int(
                conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            )
