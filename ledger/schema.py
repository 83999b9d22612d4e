"""The ledger's tables, one definition for SQLite and PostgreSQL, with a schema version.

Times are epoch seconds (double precision): they are compared (lease expiry, cache age) far
more than they are displayed, and one numeric type behaves the same on both engines. Ids are
strings; money is integer fen (BigInteger).
"""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA_VERSION = 2  # v2: deadline_s, doubt_from (ledger.migrations)

metadata = sa.MetaData()

meta = sa.Table(
    "ledger_meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)

# One row per purchase (per outer_purchase_id): its state machine and what the remote side said.
purchases = sa.Table(
    "ledger_purchases",
    metadata,
    sa.Column("outer_purchase_id", sa.String, primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # PlannedPurchase JSON (ledger.payload)
    # A later run saw another payload under the same id: kept here, never sent silently.
    sa.Column("pending_hash", sa.String(64)),
    sa.Column("pending_payload", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lease_owner", sa.String),
    sa.Column("lease_expires_at", sa.Float),
    # When its request could last have started (the lease as last renewed; for `unknown` the
    # moment the sender gave up) and the sender's whole client deadline: "absent" is trusted
    # only after doubt_from + deadline_s + the reader's reconcile grace (docs/submit.md).
    sa.Column("doubt_from", sa.Float),
    sa.Column("deadline_s", sa.Float),
    sa.Column("purchase_ids", sa.Text),  # JSON list of remote purchaseId strings
    sa.Column("payment_url", sa.Text),
    sa.Column("amount_fen", sa.BigInteger),  # purchase_amount sent (CNY fen)
    sa.Column("error_code", sa.String(64)),
    sa.Column("error_message", sa.Text),
    sa.Column("first_run_id", sa.String),
    sa.Column("last_run_id", sa.String),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_ledger_purchases_state", "state"),
)

# One row per purchase line as sent/created: the results table's remote side.
purchase_lines = sa.Table(
    "ledger_purchase_lines",
    metadata,
    sa.Column("outer_purchase_id", sa.String, primary_key=True),
    sa.Column("order_line_no", sa.String(32), primary_key=True),
    sa.Column("mp_id", sa.String(32)),
    sa.Column("mp_sku_id", sa.String(32)),
    sa.Column("quantity", sa.Integer),
    sa.Column("unit_price_fen", sa.BigInteger),
    sa.Column("purchase_id", sa.String(32)),
    sa.Column("sub_purchase_order_id", sa.String(32)),
    sa.Column("supplier", sa.Text),
    sa.Column("estimate_amount", sa.BigInteger),
    sa.Column("estimate_currency", sa.String(8)),
    sa.Column("sub_status", sa.String(32)),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Source item -> mpId and SKU map, so a nightly run does not resolve again what it did yesterday.
resolution_cache = sa.Table(
    "ledger_resolution_cache",
    metadata,
    sa.Column("source_platform", sa.String(16), primary_key=True),
    sa.Column("source_item_id", sa.String(32), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),  # ok | ITEM_NOT_IN_POOL | ITEM_NOT_FOUND
    sa.Column("mp_id", sa.String(32)),
    sa.Column("data", sa.Text, nullable=False),  # JSON: title, supplier, skus
    sa.Column("fetched_at", sa.Float, nullable=False),
)

# Registration's staging table (`Ledger.register_table`): created per transaction, then dropped.
staging = sa.Table(
    "ledger_register_staging",
    sa.MetaData(),
    sa.Column("outer_purchase_id", sa.String, primary_key=True),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    prefixes=["TEMPORARY"],
)
