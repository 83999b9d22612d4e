"""A purchase's identity, payload and payload hash: each defined once, as DuckDB SQL.

- `outer_purchase_id` = `PS-<MA><CC>-<order_number>-<first 12 hex of sha256("ma|CC|order")>`
  (MA: the marketplace's first two letters): readable in the supplier's back office, the same on
  every rerun and backfill, never derived from a run or a clock.
- `payload_hash` = sha256 of the canonical text of everything that would change the create
  request: the purchase's identity, its receiver and its lines (line number, source platform,
  item, SKU and spec ids, quantity, seller SKU, title, merged order-line ids). Not the revenue,
  nor the order time or currency, which no create request carries. The text is a JSON array,
  `CANONICAL_VERSION` first, then the identity and receiver, then one array per line in line
  order (its merged ids as one JSON text); JSON's escaping makes it unambiguous.
- `payload` = the purchase as the JSON `ledger.payload.to_json` writes (the same keys in the
  same order), so `ledger.payload.from_json` reads it back into the equal `PlannedPurchase`.

The ingest computes all three for every purchase at once over its Arrow tables (`purchase_ids`,
`purchase_payloads`); `records.outer_purchase_id` and `PlannedPurchase.payload_hash` run the
same queries on tables made of the records' values: one definition of each.
A change of what is hashed changes every stored hash (the ledger would flag each order as
changed): tests/ingest/test_payload.py spells the canonical text out, so it cannot happen
unnoticed, nor can an upgrade of DuckDB's JSON writer that would change it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from schemas.types import MONEY_TYPE as MONEY

if TYPE_CHECKING:
    from schemas.records import PlannedPurchase

CANONICAL_VERSION = "purchase-payload-v1"
RECEIVER = ("name", "phone", "country", "state", "city", "district", "address", "zip")
HEAD = ("outer_purchase_id", "marketplace", "country", "order_number",
        *(f"receiver_{f}" for f in RECEIVER))  # fmt: skip
LINE_TEXT = ("order_line_no", "source_platform", "source_item_id", "source_sku_id",
             "source_spec_id")  # fmt: skip
PURCHASE_INPUT = (*HEAD[:4], "ordered_at", "currency", "revenue", *HEAD[4:])
LINE_INPUT = ("outer_purchase_id", *LINE_TEXT, "quantity", "seller_sku", "title",
              "order_line_ids", "revenue")  # fmt: skip

Column = Callable[[str], str]  # field name -> the SQL expression that reads it

_local = threading.local()


def connection() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB (a connection must not be shared between threads)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
    return con


def outer_purchase_id_sql(marketplace: str, country: str, order_number: str) -> str:
    """The SQL expression of `outer_purchase_id` over three text expressions."""
    m, c, o = marketplace, country, order_number
    key = f"lower({m}) || '|' || upper({c}) || '|' || {o}"
    return f"'PS-' || upper(left({m}, 2)) || upper({c}) || '-' || {o} || '-' || left(sha256({key}), 12)"


def purchase_ids(
    marketplace: pa.Array, country: pa.Array, order_number: pa.Array
) -> pa.ChunkedArray:
    """`outer_purchase_id` of many orders at once."""
    keys = pa.table({"marketplace": marketplace, "country": country, "order_number": order_number})
    con = connection()
    con.register("purchase_keys", keys)
    try:
        sql = outer_purchase_id_sql("marketplace", "country", "order_number")
        return con.sql(f"SELECT {sql} AS id FROM purchase_keys").to_arrow_table()["id"]
    finally:
        con.unregister("purchase_keys")


# --- the texts, as SQL expressions over one row --------------------------------------------------
# Plain string concatenation of JSON scalars: the same bytes DuckDB's `to_json` writes for the
# arrays and objects below (tests/ingest/test_payload.py spells them out), without building
# nested lists and structs per purchase.


def _json(expr: str) -> str:
    return f"to_json(coalesce({expr}, ''))"  # null is "", as in PlannedPurchase


def _array(items: Sequence[str]) -> str:
    """SQL: the JSON array text of the JSON texts `items` (one `concat`: a chain of `||` would
    copy the growing text once per item)."""
    return f"concat('[', concat_ws(',', {', '.join(items)}), ']')"


def line_text_sql(col: Column) -> str:
    """SQL: the hashed JSON array of one purchase line (everything but its revenue)."""
    return _array(
        [_json(col(f)) for f in LINE_TEXT]
        + [f"to_json(CAST({col('quantity')} AS VARCHAR))", _json(col("seller_sku")),
           _json(col("title")), f"to_json(CAST(to_json({col('order_line_ids')}) AS VARCHAR))"]
    )  # fmt: skip


def line_json_sql(col: Column) -> str:
    """SQL: one purchase line as the JSON object `ledger.payload.to_json` writes."""
    fields = {
        "order_line_no": col("order_line_no"),
        "source_platform": col("source_platform"),
        "source_item_id": col("source_item_id"),
        "source_sku_id": f"coalesce({col('source_sku_id')}, '')",
        "source_spec_id": f"coalesce({col('source_spec_id')}, '')",
        "quantity": col("quantity"),
        "seller_sku": col("seller_sku"),
        "title": f"coalesce({col('title')}, '')",
        "order_line_ids": col("order_line_ids"),
        "revenue": f"CAST({col('revenue')} AS VARCHAR)",
    }
    return f"to_json(struct_pack({', '.join(f'{k} := {v}' for k, v in fields.items())}))"


def purchase_hash_sql(col: Column, line_texts: str) -> str:
    """SQL: `payload_hash`: sha256 of the head's array with the lines' arrays last.
    `line_texts` is the SQL of the purchase's `line_text_sql`s joined by ',' in line order."""
    head = ", ".join([f"'\"{CANONICAL_VERSION}\"'"] + [_json(col(h)) for h in HEAD])
    lines = f"concat('[', coalesce({line_texts}, ''), ']')"
    return f"sha256(concat('[', concat_ws(',', {head}, {lines}), ']'))"


def purchase_json_sql(col: Column, line_jsons: str) -> str:
    """SQL: `payload`: the purchase's JSON object with "lines" (the `line_json_sql`s joined by
    ',' in line order) as its last key."""
    receiver = ", ".join(f"{f} := coalesce({col(f'receiver_{f}')}, '')" for f in RECEIVER)
    head = f"""to_json(struct_pack(
        outer_purchase_id := {col("outer_purchase_id")}, marketplace := {col("marketplace")},
        country := {col("country")}, order_number := {col("order_number")},
        ordered_at := {_iso_utc(col("ordered_at"))}, currency := {col("currency")},
        revenue := CAST({col("revenue")} AS VARCHAR), receiver := struct_pack({receiver})))"""
    return f"concat(left({head}, -1), ',\"lines\":[', coalesce({line_jsons}, ''), ']}}')"


def _iso_utc(expr: str) -> str:
    """`datetime.isoformat()` of a UTC instant held as a naive timestamp."""
    micros = f"epoch_us({expr}) % 1000000"
    return (
        f"concat(strftime({expr}, '%Y-%m-%dT%H:%M:%S'), CASE WHEN {micros} = 0 THEN '' "
        f"ELSE '.' || lpad(CAST({micros} AS VARCHAR), 6, '0') END, '+00:00')"
    )


# --- many purchases at once -----------------------------------------------------------------------

_PAYLOAD_SQL = f"""
WITH lines AS (  -- each purchase's line texts, joined in line-number order
    SELECT outer_purchase_id,
        string_agg({line_text_sql(lambda c: c)}, ',' ORDER BY CAST(order_line_no AS BIGINT))
            AS texts,
        string_agg({line_json_sql(lambda c: c)}, ',' ORDER BY CAST(order_line_no AS BIGINT))
            AS jsons
    FROM payload_lines GROUP BY outer_purchase_id
)
SELECT {purchase_hash_sql(lambda c: f"p.{c}", "l.texts")} AS payload_hash,
    {purchase_json_sql(lambda c: f"p.{c}", "l.jsons")} AS payload
FROM payload_purchases AS p LEFT JOIN lines AS l USING (outer_purchase_id)
ORDER BY p.position
"""
# the hash alone, for records (the same expressions; no JSON payload to build)
_HASH_SQL = f"""
WITH lines AS (
    SELECT outer_purchase_id,
        string_agg({line_text_sql(lambda c: c)}, ',' ORDER BY CAST(order_line_no AS BIGINT))
            AS texts
    FROM payload_lines GROUP BY outer_purchase_id
)
SELECT {purchase_hash_sql(lambda c: f"p.{c}", "l.texts")} AS payload_hash
FROM payload_purchases AS p LEFT JOIN lines AS l USING (outer_purchase_id)
ORDER BY p.position
"""


def purchase_payloads(
    purchases: pa.Table, purchase_lines: pa.Table, *, hash_only: bool = False
) -> pa.Table:
    """(`payload_hash`, `payload`) of every purchase, in the order of `purchases` (only
    `payload_hash` with `hash_only`).

    `purchases` needs PURCHASE_INPUT (ordered_at a UTC timestamp), `purchase_lines` LINE_INPUT.
    """
    utc = purchases["ordered_at"]
    if pa.types.is_timestamp(utc.type) and utc.type.tz is not None:
        utc = pc.cast(utc, pa.timestamp("us"))  # the UTC wall clock, whatever the session zone
    head = purchases.select(PURCHASE_INPUT).set_column(
        PURCHASE_INPUT.index("ordered_at"), "ordered_at", utc
    )
    head = head.append_column("position", pa.array(range(head.num_rows), pa.int64()))
    con = connection()
    con.register("payload_purchases", head)
    con.register("payload_lines", purchase_lines.select(LINE_INPUT))
    try:
        return con.sql(_HASH_SQL if hash_only else _PAYLOAD_SQL).to_arrow_table()
    finally:
        con.unregister("payload_purchases")
        con.unregister("payload_lines")


# --- records -------------------------------------------------------------------------------------


def planned_payload_hashes(purchases: Sequence[PlannedPurchase]) -> list[str]:
    """`payload_hash` of planned purchase records (of distinct purchase ids, as in any table of
    purchases): their values as tables, the same query."""
    if len({p.outer_purchase_id for p in purchases}) < len(purchases):
        raise ValueError("records of one purchase id are hashed one at a time")
    tables = planned_tables(purchases)
    return purchase_payloads(*tables, hash_only=True)["payload_hash"].to_pylist()


def planned_tables(purchases: Sequence[PlannedPurchase]) -> tuple[pa.Table, pa.Table]:
    """Records as a purchases table and a purchase-lines table (PURCHASE_INPUT, LINE_INPUT)."""
    heads = [
        {"outer_purchase_id": p.outer_purchase_id, "marketplace": p.marketplace,
         "country": p.country, "order_number": p.order_number, "ordered_at": p.ordered_at,
         "currency": p.currency, "revenue": p.revenue,
         **{f"receiver_{f}": getattr(p.receiver, f) for f in RECEIVER}}
        for p in purchases
    ]  # fmt: skip
    lines = [
        {"outer_purchase_id": p.outer_purchase_id, **{f: getattr(ln, f) for f in LINE_INPUT[1:]},
         "order_line_ids": list(ln.order_line_ids)}
        for p in purchases
        for ln in p.lines
    ]  # fmt: skip
    return pa.Table.from_pylist(heads, schema=_HEAD_SCHEMA), pa.Table.from_pylist(
        lines, schema=_LINE_SCHEMA
    )


_TEXT = pa.string()
_HEAD_SCHEMA = pa.schema(
    [(k, pa.timestamp("us", tz="UTC") if k == "ordered_at" else MONEY if k == "revenue" else _TEXT)
     for k in PURCHASE_INPUT]
)  # fmt: skip
_LINE_SCHEMA = pa.schema(
    [(k, pa.int64() if k == "quantity" else MONEY if k == "revenue"
      else pa.list_(_TEXT) if k == "order_line_ids" else _TEXT) for k in LINE_INPUT]
)  # fmt: skip
