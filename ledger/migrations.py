"""Schema creation and upgrades, recorded in `ledger_meta.schema_version`.

v1 -> v2: `doubt_from` and `deadline_s` (when "absent" may be trusted). Rows a v1 run left in
flight get the v1 client's default deadline, so an upgrade never trusts them sooner than v1
would have.
"""

from __future__ import annotations

import sqlalchemy as sa

from ledger.schema import SCHEMA_VERSION, meta, metadata, purchases
from schemas.errors import UserError

V1_DEADLINE_S = 120.0  # the v1 client's default call deadline (4 x 30 s)


def create_or_upgrade(conn: sa.Connection, is_postgres: bool, name: str) -> None:
    """Create the tables if missing, upgrade an older schema, refuse a newer one."""
    if is_postgres:  # serialise concurrent first runs: CREATE TABLE is not atomic
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(727274001)"))
    existed = sa.inspect(conn).has_table(purchases.name)
    metadata.create_all(conn, checkfirst=True)
    row = conn.execute(
        sa.select(meta.c.value).where(meta.c.key == "schema_version")
    ).scalar_one_or_none()
    if row is None:
        conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        return
    version = int(row)
    if version > SCHEMA_VERSION:
        raise UserError(
            f"the ledger {name} has schema version {version}, newer than this program's "
            f"{SCHEMA_VERSION}: upgrade purchase-sync"
        )
    if existed and version < 2:
        migrate_v1_to_v2(conn)
    if version < SCHEMA_VERSION:
        conn.execute(
            meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
        )


def migrate_v1_to_v2(conn: sa.Connection) -> None:
    cols = {c["name"] for c in sa.inspect(conn).get_columns(purchases.name)}
    for name in ("doubt_from", "deadline_s"):
        if name not in cols:
            conn.execute(sa.text(f"ALTER TABLE {purchases.name} ADD COLUMN {name} FLOAT"))
    t = purchases
    conn.execute(
        t.update()
        .where(t.c.state.in_(("submitting", "unknown")) & t.c.doubt_from.is_(None))
        .values(
            doubt_from=sa.func.coalesce(t.c.lease_expires_at, t.c.updated_at),
            deadline_s=V1_DEADLINE_S,
        )
    )
