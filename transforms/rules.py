"""The business rules that decide what becomes of each order line, in the order they apply.

Each rule is one function running one SQL statement (DuckDB, over the Arrow tables) named after
the rule. A line ends with one disposition (`purchasable`, `duplicate`, `outside_window`,
`skipped_status`, `held`) or one reject reason; a rule only touches lines still `live` (no
disposition, no reject yet), except the conflicting-copies rule, which rejects every copy.

    keep_newest_copy                  the newest copy of a line wins; older copies: duplicate
    reject_conflicting_copies         copies that differ in what the line is: DUPLICATE_CONFLICT
    skip_orders_outside_window        orders first created outside --since/--until
    skip_unpurchasable_statuses       statuses not bought (per marketplace)
    map_to_supplier_sku               the SKU map row: by seller SKU, else by platform SKU id;
                                      UNMAPPED_SKU, SKU_NOT_APPROVED
    reject_missing_receiver           a line to buy without receiver name or address
    hold_orders_with_a_rejected_line  an order is bought whole or not at all: held
    reject_receiver_conflicts         an order whose lines disagree on the receiver

Identity: an order is (marketplace, country, order_number); a line is (marketplace,
order_line_id).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from transforms.statuses import Statuses
from transforms.window import Window

ORDER = ("marketplace", "country", "order_number")
# What a line *is*: a second copy that differs here is a conflict, not an update (status,
# update time and receiver may change between two exports: the newest copy wins).
IDENTITY = ("country", "order_number", "seller_sku", "unit_price", "paid_price", "ordered_at",
            "quantity")  # fmt: skip
RECEIVER = ("receiver_name", "receiver_phone", "receiver_country", "receiver_state",
            "receiver_city", "receiver_district", "receiver_address", "receiver_zip")  # fmt: skip

Rule = Callable[[duckdb.DuckDBPyConnection, Window], None]
# The line ids found more than once: copies of one line, from overlapping exports.
_COPIED = "SELECT marketplace, order_line_id FROM lines GROUP BY ALL HAVING count(*) > 1"


def load(
    db: duckdb.DuckDBPyConnection,
    lines: pa.Table,
    read_rejects: pa.Table,
    sku_map: pa.Table,
    statuses: Statuses,
) -> None:
    """Put the tables the rules read into `db`: `lines` (with `row_id`), `sku_map` (with
    `map_row`, and `target`: its supplier SKU's number), `read_rejects`, `purchasable`, and
    `verdicts` (one per line, undecided)."""
    db.register("lines", lines.append_column("row_id", pa.array(range(lines.num_rows), pa.int64())))
    rows = sku_map.append_column("map_row", pa.array(range(sku_map.num_rows), pa.int64()))
    db.register("sku_map_rows", rows)
    # each supplier SKU numbered in the order purchase lines are numbered in
    db.execute("""
        CREATE TABLE sku_map AS SELECT *, dense_rank() OVER (
            ORDER BY source_item_id, source_sku_id, source_spec_id, source_platform) AS target
        FROM sku_map_rows
    """)
    db.register("read_rejects", read_rejects)
    pairs = [(m, s) for m, names in statuses.items() for s in sorted(names)]
    db.register("purchasable", pa.table({"marketplace": [m for m, _ in pairs],
                                         "status": [s for _, s in pairs]}))  # fmt: skip
    db.execute("SET TimeZone = 'UTC'")  # this connection only: instants read as UTC
    db.execute("""
        CREATE TABLE verdicts AS SELECT row_id,
            NULL::VARCHAR AS disposition, NULL::BIGINT AS map_row, NULL::INTEGER AS rule,
            NULL::VARCHAR AS reject_code, NULL::VARCHAR AS reject_column,
            NULL::VARCHAR AS reject_reason, NULL::VARCHAR AS reject_value
        FROM lines
    """)
    db.execute("""
        CREATE VIEW live AS SELECT lines.*, verdicts.map_row
        FROM lines JOIN verdicts USING (row_id)
        WHERE verdicts.disposition IS NULL AND verdicts.reject_code IS NULL
    """)


def _reject(db: duckdb.DuckDBPyConnection, rule: int, code: str, rows_sql: str,
            column: str, reason: str, value: str = "NULL", params: list | None = None) -> None:  # fmt: skip
    """Reject the lines `rows_sql` selects (columns row_id plus whatever `column`, `reason` and
    `value`, SQL expressions, read)."""
    db.execute(
        f"""
        UPDATE verdicts SET reject_code = '{code}', rule = {rule}, reject_column = {column},
            reject_reason = {reason}, reject_value = {value}
        FROM ({rows_sql}) AS hit WHERE verdicts.row_id = hit.row_id
        """,
        params or [],
    )


def _differs(column: str) -> str:
    """SQL: the group's rows hold more than one value of `column` (null is a value too)."""
    return f"count(DISTINCT coalesce(CAST({column} AS VARCHAR), chr(0))) > 1"


def _first_differing(columns: tuple[str, ...]) -> str:
    cases = " ".join(f"WHEN {_differs(c)} THEN '{c}'" for c in columns)
    return f"CASE {cases} END"


def keep_newest_copy(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """The same line in several exports (overlapping daily files): the newest update wins; ties
    go to the later file name, then the later row, whatever order the inputs were given in."""
    db.execute(f"""
        UPDATE verdicts SET disposition = 'duplicate'
        FROM (
            SELECT row_id FROM lines SEMI JOIN ({_COPIED}) USING (marketplace, order_line_id)
            QUALIFY row_number() OVER (
                PARTITION BY marketplace, order_line_id
                ORDER BY updated_at DESC NULLS LAST, source_file DESC, source_row DESC) > 1
        ) AS older
        WHERE verdicts.row_id = older.row_id
    """)


def reject_conflicting_copies(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """Copies of one line that differ in what the line is: every copy is rejected."""
    _reject(
        db,
        1,
        "DUPLICATE_CONFLICT",
        f"""
        WITH conflicts AS (
            SELECT marketplace, order_line_id, count(*) AS copies,
                {_first_differing(IDENTITY)} AS differs
            FROM lines SEMI JOIN ({_COPIED}) USING (marketplace, order_line_id)
            GROUP BY marketplace, order_line_id HAVING differs IS NOT NULL
        )
        SELECT row_id, differs, copies FROM lines JOIN conflicts USING (marketplace, order_line_id)
        """,
        column="hit.differs",
        reason="'order line id appears ' || hit.copies || ' times with different ' || hit.differs",
    )


def skip_orders_outside_window(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """Whole orders, by their first line's creation time (an order is never split)."""
    inside, params = window.condition("first_local", "first_utc")
    if not params:
        return
    db.execute(
        f"""
        UPDATE verdicts SET disposition = 'outside_window'
        FROM (
            SELECT row_id, min(ordered_at_local) OVER o AS first_local,
                min(ordered_at) OVER o AS first_utc
            FROM live WINDOW o AS (PARTITION BY {", ".join(ORDER)})
        ) AS orders
        WHERE verdicts.row_id = orders.row_id AND NOT ({inside})
        """,
        params,
    )


def skip_unpurchasable_statuses(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """Statuses that are not bought for the line's marketplace (`--statuses`)."""
    db.execute("""
        UPDATE verdicts SET disposition = 'skipped_status'
        FROM (SELECT row_id FROM live ANTI JOIN purchasable USING (marketplace, status)) AS s
        WHERE verdicts.row_id = s.row_id
    """)


def map_to_supplier_sku(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """The SKU map row of (marketplace, country, seller SKU), else of the platform SKU id (a
    seller may rename a SKU, not its id; an approved row first). No row: UNMAPPED_SKU; a row
    that is not approved: SKU_NOT_APPROVED."""
    db.execute("""
        UPDATE verdicts SET map_row = found.map_row
        FROM (
            SELECT live.row_id, coalesce(by_sku.map_row, by_id.map_row) AS map_row
            FROM live
            LEFT JOIN sku_map AS by_sku
                ON by_sku.marketplace = live.marketplace AND by_sku.country = live.country
                AND by_sku.seller_sku = live.seller_sku
            LEFT JOIN (
                SELECT marketplace, country, platform_sku_id, map_row FROM sku_map
                WHERE platform_sku_id IS NOT NULL
                QUALIFY row_number() OVER (PARTITION BY marketplace, country, platform_sku_id
                                           ORDER BY status <> 'approved', map_row) = 1
            ) AS by_id
                ON by_id.marketplace = live.marketplace AND by_id.country = live.country
                AND by_id.platform_sku_id = live.platform_sku_id
        ) AS found
        WHERE verdicts.row_id = found.row_id AND found.map_row IS NOT NULL
    """)
    _reject(
        db,
        2,
        "UNMAPPED_SKU",
        "SELECT row_id, seller_sku FROM live WHERE map_row IS NULL",
        column="'seller_sku'",
        reason="'seller SKU is not in the SKU map for this marketplace and country'",
        value="hit.seller_sku",
    )
    _reject(
        db,
        3,
        "SKU_NOT_APPROVED",
        """SELECT live.row_id, live.seller_sku, sku_map.status
           FROM live JOIN sku_map USING (map_row) WHERE sku_map.status <> 'approved'""",
        column="'sku_map.status'",
        reason="'SKU map row for ' || hit.seller_sku || ' is ' || hit.status || ', not approved'",
        value="hit.status",
    )


def reject_missing_receiver(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """A line to buy must say who receives it."""
    for rule, column in ((4, "receiver_name"), (5, "receiver_address")):
        _reject(
            db,
            rule,
            "MISSING_RECEIVER",
            f"SELECT row_id FROM live WHERE {column} IS NULL",
            column=f"'{column}'",
            reason=f"'{column} is empty on a purchasable line'",
        )


def hold_orders_with_a_rejected_line(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """An order that lost a line to the rejects (here or while reading) waits whole: a purchase
    created short of a line cannot be completed later under the same outer_purchase_id. A row
    rejected before its country was known holds that order number in every country."""
    db.execute("""
        UPDATE verdicts SET disposition = 'held'
        FROM (
            WITH rejected AS (
                SELECT DISTINCT marketplace, country, order_number FROM read_rejects
                WHERE order_number IS NOT NULL
                UNION
                SELECT DISTINCT marketplace, country, order_number
                FROM lines JOIN verdicts USING (row_id) WHERE reject_code IS NOT NULL
            )
            SELECT DISTINCT live.row_id FROM live JOIN rejected
                ON rejected.marketplace = live.marketplace
                AND rejected.order_number = live.order_number
                AND (rejected.country IS NULL OR rejected.country = live.country)
        ) AS held
        WHERE verdicts.row_id = held.row_id
    """)


def reject_receiver_conflicts(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """An order whose lines to buy name different receivers (name, phone, country, address
    parts, postcode): no address can be trusted, so none is picked. RECEIVER_CONFLICT."""
    _reject(
        db,
        6,
        "RECEIVER_CONFLICT",
        f"""
        WITH several AS (  -- only an order of several lines can disagree with itself
            SELECT {", ".join(ORDER)} FROM live GROUP BY ALL HAVING count(*) > 1
        ), receivers AS (  -- each receiver such an order's lines name, once
            SELECT DISTINCT {", ".join(ORDER)}, {", ".join(RECEIVER)}
            FROM live SEMI JOIN several USING ({", ".join(ORDER)})
        ), conflicted AS (  -- the orders that name more than one
            SELECT {", ".join(ORDER)} FROM receivers GROUP BY ALL HAVING count(*) > 1
        ), conflicts AS (  -- and the first field their receivers differ in
            SELECT {", ".join(ORDER)}, {_first_differing(RECEIVER)} AS differs
            FROM receivers SEMI JOIN conflicted USING ({", ".join(ORDER)})
            GROUP BY {", ".join(ORDER)}
        )
        SELECT row_id, differs FROM live JOIN conflicts USING ({", ".join(ORDER)})
        """,
        column="hit.differs",
        reason="'the order''s lines name different receivers (' || hit.differs || '): "
        "the parcel could go to the wrong person'",
    )


RULES: tuple[Rule, ...] = (
    keep_newest_copy,
    reject_conflicting_copies,
    skip_orders_outside_window,
    skip_unpurchasable_statuses,
    map_to_supplier_sku,
    reject_missing_receiver,
    hold_orders_with_a_rejected_line,
    reject_receiver_conflicts,
)


def decide(db: duckdb.DuckDBPyConnection, window: Window) -> pa.Table:
    """Run every rule in order; the lines rejected by them (in rule order, then row order)."""
    for rule in RULES:
        rule(db, window)
    return db.sql("""
        SELECT source_file, source_row, order_line_id, order_number, reject_code AS reason_code,
            reject_reason AS reason, reject_column AS "column", reject_value AS value,
            marketplace, country
        FROM lines JOIN verdicts USING (row_id)
        WHERE reject_code IS NOT NULL ORDER BY rule, row_id
    """).to_arrow_table()
