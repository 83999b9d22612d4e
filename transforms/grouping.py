"""The lines to buy, grouped: one purchase per marketplace order, one purchase line per supplier
SKU. Plain GROUP BYs (DuckDB) over the tables `transforms.rules` decided.

- `bought`: each line to buy with its purchase (`outer_purchase_id`) and its line number in
  that purchase: the order's supplier SKUs (source platform, item, SKU and spec ids) numbered
  "1", "2", ... in order of (source item, SKU, spec id, platform) (`sku_map.target`).
- A purchase line merges the order's lines that map to one supplier SKU: `units` = marketplace
  units, `quantity` = units x the SKU map's multiplier, `revenue` = what the buyer paid for
  them, `order_line_ids` the merged lines (in id order), `title` the item name of the first of
  them, `seller_sku` their distinct seller SKUs, sorted and comma-joined.
- A purchase sums its lines; it was ordered when its first line was; its receiver is the one
  all its lines name (`reject_receiver_conflicts` saw to that). `outer_purchase_id`,
  `payload_hash` and `payload` are defined in `schemas.payload`; the purchases query makes
  each purchase line's texts, sorts them by line number and joins them.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from schemas.contracts import PlannedOrderLines, PurchaseLines, Purchases
from schemas.payload import (
    line_json_sql,
    line_text_sql,
    outer_purchase_id_sql,
    purchase_hash_sql,
    purchase_json_sql,
)
from schemas.types import check, conform
from transforms.rules import ORDER, RECEIVER

TARGET = ("source_platform", "source_item_id", "source_sku_id", "source_spec_id")
_ORDER = ", ".join(ORDER)
_LINES_ORDER = ", ".join(f"live.{c}" for c in ORDER)

# The lines to buy: their purchase, their line number in it (the supplier SKU's rank).
_BOUGHT = f"""
CREATE TEMP TABLE bought AS
SELECT live.row_id,
    {outer_purchase_id_sql("live.marketplace", "live.country", "live.order_number")}
        AS outer_purchase_id,
    dense_rank() OVER (PARTITION BY {_LINES_ORDER} ORDER BY sku_map.target) AS line_no,
    sku_map.target, sku_map.qty_multiplier
FROM live JOIN sku_map USING (map_row)
"""
# One row per purchase line.
_PURCHASE_LINES = f"""
WITH grouped AS (
    SELECT outer_purchase_id, line_no, {_ORDER},
        sum(quantity * qty_multiplier) AS quantity, sum(quantity) AS units,
        array_to_string(list_sort(list_distinct(list(seller_sku))), ',') AS seller_sku,
        arg_min_null(item_name, order_line_id) AS title,
        list(order_line_id ORDER BY order_line_id) AS order_line_ids,
        sum(paid_price) AS revenue, any_value(currency) AS currency, target
    FROM bought JOIN lines USING (row_id)
    GROUP BY outer_purchase_id, line_no, target, {_ORDER}
), line AS (
    SELECT grouped.* EXCLUDE (line_no, target), CAST(line_no AS VARCHAR) AS order_line_no,
        line_no, {", ".join(TARGET)}
    FROM grouped JOIN (SELECT DISTINCT target, {", ".join(TARGET)} FROM sku_map) USING (target)
)
SELECT * FROM line ORDER BY {_ORDER}, line_no
"""


def _joined(field: int) -> str:
    """SQL: field `field` of the purchase's sorted `texts`, comma-joined."""
    return f"array_to_string(list_transform(texts.texts, lambda t: t[{field}]), ',')"


_PURCHASES = f"""
WITH heads AS (
    SELECT outer_purchase_id, {_ORDER},
        min(ordered_at) AS ordered_at, min(ordered_at_local) AS ordered_at_local,
        any_value(currency) AS currency, sum(paid_price) AS revenue,
        max(line_no) AS n_lines, sum(quantity) AS units,  -- lines are numbered 1..n
        sum(quantity * qty_multiplier) AS quantity,
        {", ".join(f"any_value({r}) AS {r}" for r in RECEIVER)}
    FROM bought JOIN lines USING (row_id)
    GROUP BY outer_purchase_id, {_ORDER}
), texts AS (  -- each purchase's line texts, sorted by line number
    SELECT outer_purchase_id, list_sort(list((CAST(order_line_no AS BIGINT),
        {line_text_sql(lambda c: c)}, {line_json_sql(lambda c: c)}))) AS texts
    FROM purchase_lines GROUP BY outer_purchase_id
)
SELECT heads.*,
    {purchase_hash_sql(lambda c: f"heads.{c}", _joined(2))} AS payload_hash,
    {purchase_json_sql(lambda c: f"heads.{c}", _joined(3))} AS payload
FROM heads JOIN texts USING (outer_purchase_id)
ORDER BY {_ORDER}
"""
# What the rules and the grouping add to each accepted line, in row order.
_DECIDED = f"""
SELECT coalesce(verdicts.disposition, 'purchasable') AS disposition,
    {", ".join(f"sku_map.{t}" for t in TARGET)}, sku_map.qty_multiplier,
    bought.outer_purchase_id, CAST(bought.line_no AS VARCHAR) AS order_line_no
FROM verdicts
LEFT JOIN sku_map USING (map_row)
LEFT JOIN bought USING (row_id)
WHERE verdicts.reject_code IS NULL
ORDER BY row_id
"""


def group(db: duckdb.DuckDBPyConnection, lines: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(order lines with their dispositions and purchases, purchases, purchase lines), each
    checked against its contract. `lines` are the order lines `db` decided about."""
    db.execute(_BOUGHT)
    grouped = db.sql(_PURCHASE_LINES).to_arrow_table()
    db.register("purchase_lines", grouped)
    purchases = check(Purchases, conform(db.sql(_PURCHASES).to_arrow_table(), Purchases))
    db.unregister("purchase_lines")
    purchase_lines = check(PurchaseLines, conform(grouped, PurchaseLines))

    decided = db.sql(_DECIDED).to_arrow_table()
    accepted = db.sql("SELECT reject_code IS NULL AS ok FROM verdicts ORDER BY row_id")
    order_lines = lines.filter(accepted.to_arrow_table()["ok"])  # in row order, like `decided`
    for name in decided.column_names:
        order_lines = order_lines.append_column(name, decided[name])
    order_lines = check(PlannedOrderLines, conform(order_lines, PlannedOrderLines))
    return order_lines, purchases, purchase_lines
