"""Schema creation and upgrades, recorded in `ledger_meta.schema_version`.

v1 -> v2: `doubt_from` and `deadline_s` (when "absent" may be trusted). Rows a v1 run left in
flight get the v1 client's default deadline, so an upgrade never trusts them sooner than v1
would have. Every stored payload hash (and pending hash) is recomputed from its payload JSON by
the ingest's definition (`schemas.payload`), so a row hashed by an older definition is not
flagged PAYLOAD_CHANGED by the first run after the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa

from ledger.schema import SCHEMA_VERSION, meta, metadata, purchases
from schemas.errors import UserError

V1_DEADLINE_S = 120.0  # the v1 client's default call deadline (4 x 30 s)


def create_or_upgrade(conn: sa.Connection, is_postgres: bool, name: str) -> None:
    """Create the tables if missing, upgrade an older schema, refuse a newer one."""
    if is_postgres:  # serialise concurrent first runs: CREATE TABLE is not atomic
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(727274001)))
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
    rehash_payloads(conn)
    t = purchases
    conn.execute(
        t.update()
        .where(t.c.state.in_(("submitting", "unknown")) & t.c.doubt_from.is_(None))
        .values(
            doubt_from=sa.func.coalesce(t.c.lease_expires_at, t.c.updated_at),
            deadline_s=V1_DEADLINE_S,
        )
    )


REHASH_BATCH = 5_000


def rehash_payloads(conn: sa.Connection) -> int:
    """Recompute `payload_hash`/`pending_hash` from the stored JSON; returns rows changed."""
    from ledger import payload as payload_json
    from schemas.payload import planned_payload_hashes

    t = purchases
    changed = 0
    for column, hash_column in (("payload", "payload_hash"), ("pending_payload", "pending_hash")):
        last = ""
        while True:
            rows = conn.execute(
                sa.select(t.c.outer_purchase_id, t.c[column], t.c[hash_column])
                .where((t.c.outer_purchase_id > last) & t.c[column].is_not(None))
                .order_by(t.c.outer_purchase_id)
                .limit(REHASH_BATCH)
            ).all()
            if not rows:
                break
            last = rows[-1][0]
            records = [payload_json.from_json(r[1]) for r in rows]
            fresh = planned_payload_hashes(records)
            updates = [
                {"b_id": r[0], "b_hash": h} for r, h in zip(rows, fresh, strict=True) if r[2] != h
            ]
            if updates:
                conn.execute(
                    t.update()
                    .where(t.c.outer_purchase_id == sa.bindparam("b_id"))
                    .values({hash_column: sa.bindparam("b_hash")}),
                    updates,
                )
                changed += len(updates)
    return changed
