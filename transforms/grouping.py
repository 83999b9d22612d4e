"""The lines to buy, grouped: one purchase per marketplace order, one purchase line per supplier
SKU. Plain GROUP BYs (DuckDB) over the tables `transforms.rules` decided.

- A purchase line merges the order's lines that map to one supplier SKU (source platform,
  item, SKU and spec ids): `units` = marketplace units, `quantity` = units x the SKU map's
  multiplier, `revenue` = what the buyer paid for them, `order_line_ids` the merged lines (in
  id order), `title` the item name of the first of them; `order_line_no` is "1", "2", ... in
  order of (source item, SKU, spec id, platform).
- A purchase sums its lines; it was ordered when its first line was; its receiver is the one
  all its lines name (`reject_receiver_conflicts` saw to that). `outer_purchase_id`,
  `payload_hash` and `payload` are defined in `schemas.payload`.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from schemas.contracts import PlannedOrderLines, PurchaseLines, Purchases
from schemas.payload import outer_purchase_id_sql, purchase_payloads
from schemas.types import check, conform
from transforms.rules import ORDER, RECEIVER

TARGET = ("source_platform", "source_item_id", "source_sku_id", "source_spec_id")
_ORDER = ", ".join(ORDER)
_OUTER_ID = outer_purchase_id_sql("marketplace", "country", "order_number")

# One row per purchase line, with what its purchase needs (times, receiver) and the rows it
# merges (to number the order lines).
_PURCHASE_LINES = f"""
WITH bought AS (
    SELECT live.*, {", ".join(f"sku_map.{t}" for t in TARGET)}, sku_map.qty_multiplier,
        sku_map.target
    FROM live JOIN sku_map USING (map_row)
)
SELECT {_OUTER_ID} AS outer_purchase_id,
    CAST(row_number() OVER (PARTITION BY {_ORDER} ORDER BY target) AS VARCHAR) AS order_line_no,
    {_ORDER}, {", ".join(f"any_value({t}) AS {t}" for t in TARGET)},
    sum(quantity * qty_multiplier) AS quantity, sum(quantity) AS units,
    array_to_string(list_sort(list_distinct(list(seller_sku))), ',') AS seller_sku,
    arg_min_null(item_name, order_line_id) AS title,
    list_sort(list(order_line_id)) AS order_line_ids,
    sum(paid_price) AS revenue, any_value(currency) AS currency,
    min(ordered_at) AS ordered_at, min(ordered_at_local) AS ordered_at_local,
    {", ".join(f"any_value({r}) AS {r}" for r in RECEIVER)},
    list(row_id) AS row_ids
FROM bought
GROUP BY {_ORDER}, target  -- the supplier SKU (sku_map.target numbers them in line order)
ORDER BY {_ORDER}, target
"""
_PURCHASES = f"""
SELECT any_value(outer_purchase_id) AS outer_purchase_id, {_ORDER},
    min(ordered_at) AS ordered_at, min(ordered_at_local) AS ordered_at_local,
    any_value(currency) AS currency, sum(revenue) AS revenue, count(*) AS n_lines,
    sum(units) AS units, sum(quantity) AS quantity,
    {", ".join(f"any_value({r}) AS {r}" for r in RECEIVER)}
FROM purchase_lines GROUP BY {_ORDER} ORDER BY {_ORDER}
"""
# What the rules and the grouping add to each accepted line, in row order.
_DECIDED = f"""
SELECT coalesce(verdicts.disposition, 'purchasable') AS disposition,
    {", ".join(f"sku_map.{t}" for t in TARGET)}, sku_map.qty_multiplier,
    bought.outer_purchase_id, bought.order_line_no
FROM verdicts
LEFT JOIN sku_map USING (map_row)
LEFT JOIN (
    SELECT unnest(row_ids) AS row_id, outer_purchase_id, order_line_no FROM purchase_lines
) AS bought USING (row_id)
WHERE verdicts.reject_code IS NULL
ORDER BY row_id
"""


def group(db: duckdb.DuckDBPyConnection, lines: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(order lines with their dispositions and purchases, purchases, purchase lines), each
    checked against its contract. `lines` are the order lines `db` decided about."""
    grouped = db.sql(_PURCHASE_LINES).to_arrow_table()
    db.register("purchase_lines", grouped)
    purchases = db.sql(_PURCHASES).to_arrow_table()
    decided = db.sql(_DECIDED).to_arrow_table()
    accepted = db.sql("SELECT reject_code IS NULL AS ok FROM verdicts ORDER BY row_id")

    purchase_lines = check(PurchaseLines, conform(grouped, PurchaseLines))
    payloads = purchase_payloads(purchases, purchase_lines)
    purchases = purchases.append_column("payload_hash", payloads["payload_hash"])
    purchases = purchases.append_column("payload", payloads["payload"])
    purchases = check(Purchases, conform(purchases, Purchases))

    order_lines = lines.filter(accepted.to_arrow_table()["ok"])  # in row order, like `decided`
    for name in decided.column_names:
        order_lines = order_lines.append_column(name, decided[name])
    order_lines = check(PlannedOrderLines, conform(order_lines, PlannedOrderLines))
    return order_lines, purchases, purchase_lines
