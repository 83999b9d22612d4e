"""The pandera contracts at the ingest's boundaries: one model per table that crosses one.

    export rows --(readers)--> OrderLines --(rules)--> PlannedOrderLines, Rejects
                                            --(grouping)--> Purchases, PurchaseLines
    submit stage --> Results (results.parquet)

Each table is checked once where it is produced (`schemas.types.check`); the Arrow schema of
each is derived from its model (`schemas.types.arrow_schema`). Every column is Arrow-backed, so
the checks below are Arrow kernels over whole columns, never Python per value.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.typing import Series

from schemas.marketplaces import (
    COUNTRIES,
    DISPOSITIONS,
    MARKETPLACES,
    REASONS,
    SKU_MAP_STATUSES,
    SOURCE_PLATFORMS,
    STATUSES,
)
from schemas.types import COUNT, LOCAL_TIME, MONEY, TEXT, TEXT_LIST, UTC_TIME

ID_PATTERN = r"^\d{1,20}$"


def _arrow(series: pd.Series) -> pyarrow.Array:
    values = pyarrow.array(series.array)
    return values.combine_chunks() if isinstance(values, pyarrow.ChunkedArray) else values


def _bools(mask: pyarrow.Array, index: pd.Index) -> pd.Series:
    """An Arrow mask as the Series a check returns (null counts as a failure)."""
    return pd.Series(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), index=index)


class OrderLines(pa.DataFrameModel):
    """Canonical order lines, whatever the marketplace: one per export row.

    A Lazada row is one unit (`quantity` 1); a Shopee or TikTok row is one SKU of an order with
    its quantity. `paid_price` is what the buyer paid for the whole line. `order_line_id` is the
    line's idempotency key within its marketplace (docs/ingest.md, "Identity").
    """

    marketplace: Series[TEXT] = pa.Field(isin=list(MARKETPLACES))
    country: Series[TEXT] = pa.Field(isin=list(COUNTRIES))
    order_number: Series[TEXT]
    order_line_id: Series[TEXT] = pa.Field(str_length={"min_value": 1, "max_value": 250})
    seller_sku: Series[TEXT] = pa.Field(str_length={"min_value": 1, "max_value": 200})
    platform_sku_id: Series[TEXT] = pa.Field(nullable=True)
    quantity: Series[COUNT] = pa.Field(ge=1)
    unit_price: Series[MONEY] = pa.Field(nullable=True, ge=0)
    paid_price: Series[MONEY] = pa.Field(ge=0)
    currency: Series[TEXT]
    ordered_at: Series[UTC_TIME]
    ordered_at_local: Series[LOCAL_TIME]
    updated_at: Series[UTC_TIME] = pa.Field(nullable=True)
    status: Series[TEXT]
    item_name: Series[TEXT] = pa.Field(nullable=True)
    variation: Series[TEXT] = pa.Field(nullable=True)
    receiver_name: Series[TEXT] = pa.Field(nullable=True)
    receiver_phone: Series[TEXT] = pa.Field(nullable=True)
    receiver_country: Series[TEXT] = pa.Field(isin=[c.name for c in COUNTRIES.values()])
    receiver_state: Series[TEXT] = pa.Field(nullable=True)
    receiver_city: Series[TEXT] = pa.Field(nullable=True)
    receiver_district: Series[TEXT] = pa.Field(nullable=True)
    receiver_address: Series[TEXT] = pa.Field(nullable=True)
    receiver_zip: Series[TEXT] = pa.Field(nullable=True)
    source_file: Series[TEXT]
    source_row: Series[COUNT] = pa.Field(ge=1)

    @pa.check("order_number", name="ASCII letters and digits, 1-40 of them")
    def _id_text(cls, ids: pd.Series) -> pd.Series:
        values = _arrow(ids)
        ok = pc.and_(pc.ascii_is_alnum(values), pc.less_equal(pc.binary_length(values), 40))
        return _bools(ok, ids.index)

    @pa.dataframe_check(name="currency follows the shop country")
    def _currency_of_country(cls, df: pd.DataFrame) -> pd.Series:
        codes = pyarrow.array(list(COUNTRIES))
        currencies = pyarrow.array([c.currency for c in COUNTRIES.values()])
        expected = pc.take(currencies, pc.index_in(_arrow(df["country"]), value_set=codes))
        return _bools(pc.equal(_arrow(df["currency"]), expected), df.index)

    @pa.dataframe_check(name="status is one its marketplace uses")
    def _status_of_marketplace(cls, df: pd.DataFrame) -> pd.Series:
        known = pyarrow.array([f"{m}|{s}" for m, names in STATUSES.items() for s in names])
        pairs = pc.binary_join_element_wise(_arrow(df["marketplace"]), _arrow(df["status"]), "|")
        return _bools(pc.is_in(pairs, value_set=known), df.index)

    class Config:
        strict = True
        ordered = True


class PlannedOrderLines(OrderLines):
    """`order_lines.parquet`: every accepted line, with what became of it and its purchase."""

    disposition: Series[TEXT] = pa.Field(isin=list(DISPOSITIONS))
    source_platform: Series[TEXT] = pa.Field(nullable=True)
    source_item_id: Series[TEXT] = pa.Field(nullable=True)
    source_sku_id: Series[TEXT] = pa.Field(nullable=True)
    source_spec_id: Series[TEXT] = pa.Field(nullable=True)
    qty_multiplier: Series[COUNT] = pa.Field(nullable=True, ge=1)
    outer_purchase_id: Series[TEXT] = pa.Field(nullable=True)
    order_line_no: Series[TEXT] = pa.Field(nullable=True)

    @pa.dataframe_check(name="bought lines, and only they, carry a purchase")
    def _bought_have_purchase(cls, df: pd.DataFrame) -> pd.Series:
        bought = df["disposition"] == "purchasable"
        return (bought == df["outer_purchase_id"].notna()).astype(bool)


class SkuMap(pa.DataFrameModel):
    """The SKU map: (marketplace, country, seller_sku) -> supplier item/SKU; see docs/ingest.md."""

    marketplace: Series[TEXT] = pa.Field(isin=list(MARKETPLACES))
    country: Series[TEXT] = pa.Field(isin=list(COUNTRIES))
    seller_sku: Series[TEXT] = pa.Field(str_length={"min_value": 1, "max_value": 200})
    platform_item_id: Series[TEXT] = pa.Field(nullable=True)
    platform_sku_id: Series[TEXT] = pa.Field(nullable=True, str_matches=ID_PATTERN)
    source_platform: Series[TEXT] = pa.Field(isin=list(SOURCE_PLATFORMS))
    source_item_id: Series[TEXT] = pa.Field(str_matches=ID_PATTERN)
    source_sku_id: Series[TEXT] = pa.Field(nullable=True, str_matches=ID_PATTERN)
    source_spec_id: Series[TEXT] = pa.Field(nullable=True, str_matches=r"^[0-9a-f]{32}$")
    source_sku_props: Series[TEXT] = pa.Field(nullable=True)
    qty_multiplier: Series[COUNT] = pa.Field(ge=1, le=1000)
    supplier_shop: Series[TEXT] = pa.Field(nullable=True)
    status: Series[TEXT] = pa.Field(isin=list(SKU_MAP_STATUSES))
    source_url: Series[TEXT] = pa.Field(nullable=True)

    @pa.dataframe_check(name="taobao rows name a source_sku_id, 1688 rows a sku or spec id")
    def _has_target_sku(cls, df: pd.DataFrame) -> pd.Series:
        has_sku = df["source_sku_id"].notna()
        has_spec = df["source_spec_id"].notna()
        return (has_sku | ((df["source_platform"] == "1688") & has_spec)).fillna(False).astype(bool)

    class Config:
        strict = True
        unique = ("marketplace", "country", "seller_sku")


class Purchases(pa.DataFrameModel):
    """One row per purchase: a marketplace order with at least one line to buy.

    `payload` is the purchase as the JSON that `ledger.payload.from_json` reads;
    `payload_hash` digests what would change its create request (`schemas.payload`).
    """

    outer_purchase_id: Series[TEXT] = pa.Field(unique=True)
    marketplace: Series[TEXT] = pa.Field(isin=list(MARKETPLACES))
    country: Series[TEXT] = pa.Field(isin=list(COUNTRIES))
    order_number: Series[TEXT]
    ordered_at: Series[UTC_TIME]
    ordered_at_local: Series[LOCAL_TIME]
    currency: Series[TEXT]
    revenue: Series[MONEY] = pa.Field(ge=0)
    n_lines: Series[COUNT] = pa.Field(ge=1)
    units: Series[COUNT] = pa.Field(ge=1)
    quantity: Series[COUNT] = pa.Field(ge=1)
    receiver_name: Series[TEXT]
    receiver_phone: Series[TEXT] = pa.Field(nullable=True)
    receiver_country: Series[TEXT]
    receiver_state: Series[TEXT] = pa.Field(nullable=True)
    receiver_city: Series[TEXT] = pa.Field(nullable=True)
    receiver_district: Series[TEXT] = pa.Field(nullable=True)
    receiver_address: Series[TEXT]
    receiver_zip: Series[TEXT] = pa.Field(nullable=True)
    payload_hash: Series[TEXT] = pa.Field(str_matches=r"^[0-9a-f]{64}$")
    payload: Series[TEXT]

    class Config:
        strict = True
        ordered = True


class PurchaseLines(pa.DataFrameModel):
    """One row per supplier SKU of a purchase; `order_line_no` is "1", "2", ... per purchase.

    `units` counts marketplace units; `quantity` = units x the SKU map's multiplier.
    """

    outer_purchase_id: Series[TEXT]
    order_line_no: Series[TEXT] = pa.Field(str_matches=r"^[1-9]\d*$")
    marketplace: Series[TEXT]
    country: Series[TEXT]
    order_number: Series[TEXT]
    source_platform: Series[TEXT] = pa.Field(isin=list(SOURCE_PLATFORMS))
    source_item_id: Series[TEXT] = pa.Field(str_matches=ID_PATTERN)
    source_sku_id: Series[TEXT] = pa.Field(nullable=True)
    source_spec_id: Series[TEXT] = pa.Field(nullable=True)
    quantity: Series[COUNT] = pa.Field(ge=1)
    units: Series[COUNT] = pa.Field(ge=1)
    seller_sku: Series[TEXT]
    title: Series[TEXT] = pa.Field(nullable=True)
    order_line_ids: Series[TEXT_LIST]
    revenue: Series[MONEY] = pa.Field(ge=0)
    currency: Series[TEXT]

    class Config:
        strict = True
        ordered = True
        unique = ("outer_purchase_id", "order_line_no")


class Rejects(pa.DataFrameModel):
    """One row per rejected input row, with a reason code a person can act on.

    `marketplace` and `country` are null when the row does not tell them (an unreadable row,
    an unknown country); `value` is masked when personal.
    """

    source_file: Series[TEXT]
    source_row: Series[COUNT] = pa.Field(ge=1)
    order_line_id: Series[TEXT] = pa.Field(nullable=True)
    order_number: Series[TEXT] = pa.Field(nullable=True)
    reason_code: Series[TEXT] = pa.Field(isin=list(REASONS))
    reason: Series[TEXT]
    column: Series[TEXT] = pa.Field(nullable=True)
    value: Series[TEXT] = pa.Field(nullable=True)
    marketplace: Series[TEXT] = pa.Field(nullable=True, isin=list(MARKETPLACES))
    country: Series[TEXT] = pa.Field(nullable=True, isin=list(COUNTRIES))

    class Config:
        strict = True
        ordered = True


class Results(pa.DataFrameModel):
    """`results.parquet`: one row per marketplace order line with its purchase's remote side.

    The interface's columns (docs: interface.md), then `revenue`/`revenue_currency` so that the
    margin is visible. `estimate_amount` is CNY; `status` the ledger state or a dry run's
    verdict.
    """

    outer_purchase_id: Series[TEXT]
    marketplace: Series[TEXT] = pa.Field(isin=list(MARKETPLACES))
    country: Series[TEXT] = pa.Field(isin=list(COUNTRIES))
    order_number: Series[TEXT]
    order_line_id: Series[TEXT] = pa.Field(nullable=True)
    seller_sku: Series[TEXT]
    quantity: Series[COUNT] = pa.Field(nullable=True, ge=1)
    source_item_id: Series[TEXT] = pa.Field(str_matches=ID_PATTERN)
    source_sku_id: Series[TEXT] = pa.Field(nullable=True)
    mp_id: Series[TEXT] = pa.Field(nullable=True)
    mp_sku_id: Series[TEXT] = pa.Field(nullable=True)
    status: Series[TEXT]
    purchase_id: Series[TEXT] = pa.Field(nullable=True)
    sub_purchase_order_id: Series[TEXT] = pa.Field(nullable=True)
    supplier: Series[TEXT] = pa.Field(nullable=True)
    estimate_amount: Series[MONEY] = pa.Field(nullable=True, ge=0)
    estimate_currency: Series[TEXT] = pa.Field(nullable=True)
    payment_url: Series[TEXT] = pa.Field(nullable=True)
    error_code: Series[TEXT] = pa.Field(nullable=True)
    error_message: Series[TEXT] = pa.Field(nullable=True)
    run_id: Series[TEXT]
    updated_at: Series[UTC_TIME]
    revenue: Series[MONEY] = pa.Field(nullable=True, ge=0)
    revenue_currency: Series[TEXT] = pa.Field(nullable=True)
    # The latest upstream status the follow step saw (issue 11); <NA>: never synced.
    remote_status: Series[TEXT] = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = True
