"""pandera contracts of the ingest stage: raw export -> order lines -> purchases, plus rejects.

Column conventions: text is `pd.ArrowDtype(pa.string())` (ids stay text end to end), money is
`pd.ArrowDtype(pa.decimal128(18, 2))`, counts are int64, times are `datetime64[us, UTC]` (the
shop-local wall clock is kept beside it as naive `datetime64[us]`).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.typing import Series

TEXT = pd.ArrowDtype(pyarrow.string())
MONEY = pd.ArrowDtype(pyarrow.decimal128(18, 2))
TEXT_LIST = pd.ArrowDtype(pyarrow.list_(pyarrow.string()))
UTC_TIME = pd.DatetimeTZDtype("us", "UTC")
LOCAL_TIME = "datetime64[us]"

MARKETPLACES = ("lazada",)
# Shop country -> (currency, UTC offset in hours, country name as receivers are addressed,
# postcode width used to restore leading zeros lost in spreadsheets (0: leave as is)).
COUNTRIES: dict[str, tuple[str, int, str, int]] = {
    "MY": ("MYR", 8, "Malaysia", 5),
    "SG": ("SGD", 8, "Singapore", 6),
    "PH": ("PHP", 8, "Philippines", 4),
    "TH": ("THB", 7, "Thailand", 5),
    "VN": ("VND", 7, "Vietnam", 6),
    "ID": ("IDR", 7, "Indonesia", 5),
}
# Lazada item statuses, normalised to snake_case ("Package Returned" -> "package_returned").
STATUSES = frozenset(
    {
        "unpaid", "pending", "packed", "repacked", "ready_to_ship_pending", "ready_to_ship",
        "topack", "toship", "shipping", "shipped", "delivered", "confirmed", "failed",
        "failed_delivery", "lost", "lost_by_3pl", "damaged_by_3pl", "returned", "canceled",
        "shipped_back", "shipped_back_success", "shipped_back_failed", "package_scrapped",
        "package_returned",
    }
)  # fmt: skip
DEFAULT_PURCHASABLE = frozenset({"pending", "ready_to_ship"})
DISPOSITIONS = ("purchasable", "skipped_status", "outside_window", "duplicate", "held")
SOURCE_PLATFORMS = ("taobao", "1688")
SKU_MAP_STATUSES = ("approved", "pending", "rejected")

# The current Seller Center export, in file order (77 columns since April 2026; files from 2024 to
# March 2026 lack platformDiscountTotal). Ingest reads a handful of them, matched by name.
LAZADA_EXPORT_COLUMNS: tuple[str, ...] = (
    "orderItemId", "orderType", "Guarantee", "deliveryType", "lazadaId", "sellerSku", "lazadaSku",
    "wareHouse", "createTime", "updateTime", "rtsSla", "ttsSla", "orderNumber", "invoiceRequired",
    "invoiceNumber", "deliveredDate", "customerName", "customerEmail", "nationalRegistrationNumber",
    "shippingName", "shippingAddress", "shippingAddress2", "shippingAddress3", "shippingAddress4",
    "shippingAddress5", "shippingPhone", "shippingPhone2", "shippingCity", "shippingPostCode",
    "shippingCountry", "shippingRegion", "billingName", "billingAddr", "billingAddr2",
    "billingAddr3", "billingAddr4", "billingAddr5", "billingPhone", "billingPhone2", "billingCity",
    "billingPostCode", "billingCountry", "taxCode", "branchNumber", "taxInvoiceRequested",
    "payMethod", "paidPrice", "unitPrice", "sellerDiscountTotal", "platformDiscountTotal",
    "shippingFee", "walletCredit", "itemName", "variation", "cdShippingProvider",
    "shippingProvider", "shipmentTypeName", "shippingProviderType", "cdTrackingCode",
    "trackingCode", "trackingUrl", "shippingProviderFM", "trackingCodeFM", "trackingUrlFM",
    "promisedShippingTime", "premium", "status", "buyerFailedDeliveryReturnInitiator",
    "buyerFailedDeliveryReason", "buyerFailedDeliveryDetail", "buyerFailedDeliveryUserName",
    "bundleId", "semiManaged", "flexibleDeliveryTime", "bundleDiscount", "refundAmount",
    "sellerNote",
)  # fmt: skip
# The legacy display-name export (before ~2021; 63 columns, 66 with the TH/VN tax columns).
LAZADA_LEGACY_COLUMNS: tuple[str, ...] = (
    "Order Item Id", "Order Type", "Order Flag", "Lazada Id", "Seller SKU", "Lazada SKU",
    "Created at", "Updated at", "Order Number", "Invoice Required", "Customer Name",
    "Customer Email", "National Registration Number", "Shipping Name", "Shipping Address",
    "Shipping Address2", "Shipping Address3", "Shipping Address4", "Shipping Address5",
    "Shipping Phone Number", "Shipping Phone Number2", "Shipping City", "Shipping Postcode",
    "Shipping Country", "Shipping Region", "Billing Name", "Billing Address", "Billing Address2",
    "Billing Address3", "Billing Address4", "Billing Address5", "Billing Phone Number",
    "Billing Phone Number2", "Billing City", "Billing Postcode", "Billing Country",
    "Payment Method", "Paid Price", "Unit Price", "Shipping Fee", "Wallet Credits", "Item Name",
    "Variation", "CD Shipping Provider", "Shipping Provider", "Shipment Type Name",
    "Shipping Provider Type", "CD Tracking Code", "Tracking Code", "Tracking URL",
    "Shipping Provider (first mile)", "Tracking Code (first mile)", "Tracking URL (first mile)",
    "Promised shipping time", "Premium", "Status", "Cancel / Return Initiator", "Reason",
    "Reason Detail", "Editor", "Bundle ID", "Bundle Discount", "Refund Amount",
)  # fmt: skip

# reason_code -> what it means (docs/ingest.md carries the same table with examples).
REASONS: dict[str, str] = {
    "MISSING_COLUMN": "the file lacks a required column; every row of the file is rejected",
    "DUPLICATE_COLUMN": "two headers of the file map to the same column; every row is rejected",
    "MALFORMED_ROW": "the CSV row has the wrong number of fields",
    "FIELD_TOO_LONG": "a cell is longer than any real value of that column",
    "FORMULA_INJECTION": "a text cell starts with =, +, -, @, tab or CR (kept as text, never evaluated)",
    "MISSING_VALUE": "a required cell is empty",
    "BAD_ID": "an id is not a plain digit string (e.g. scientific notation from a spreadsheet)",
    "UNKNOWN_STATUS": "the status is not a known Lazada item status",
    "BAD_DATE": "a date is unparseable or out of range",
    "BAD_PRICE": "a price is unparseable, negative, has more than 2 decimals or is absurdly large",
    "UNKNOWN_COUNTRY": "the shop country cannot be told from lazadaSku or shippingCountry",
    "COUNTRY_MISMATCH": "lazadaSku and shippingCountry name different countries",
    "DUPLICATE_CONFLICT": "the same order line id appears with different content",
    "MISSING_RECEIVER": "a purchasable line has no receiver name or address",
    "UNMAPPED_SKU": "the seller SKU is not in the SKU map",
    "SKU_NOT_APPROVED": "the SKU map row exists but its status is not approved",
    "SCHEMA_VIOLATION": "the normalised line broke the OrderLines contract",
}


def _arrow(series: pd.Series) -> pyarrow.Array:
    """An Arrow-backed column as one Arrow array (checks run as Arrow kernels, not per value)."""
    values = pyarrow.array(series.array)
    return values.combine_chunks() if isinstance(values, pyarrow.ChunkedArray) else values


def _bools(mask: pyarrow.Array, index: pd.Index) -> pd.Series:
    """An Arrow boolean mask as the Series a pandera check returns (null counts as a failure)."""
    flat = pc.fill_null(mask, False)
    if isinstance(flat, pyarrow.ChunkedArray):
        flat = flat.combine_chunks()
    return pd.Series(flat.to_numpy(zero_copy_only=False), index=index)


class LazadaExport(pa.DataFrameModel):
    """A Lazada Seller Center export after header matching: the columns ingest reads, all text.

    Headers are matched by name (camelCase or the legacy display names) and renamed to these;
    other columns are ignored. Row-level checks live in `transforms.lazada.RULES`, which give
    each bad row a reason code; this model is the file-level gate (required columns, all text).
    """

    orderItemId: Series[TEXT] = pa.Field(nullable=True)
    orderNumber: Series[TEXT] = pa.Field(nullable=True)
    sellerSku: Series[TEXT] = pa.Field(nullable=True)
    createTime: Series[TEXT] = pa.Field(nullable=True)
    status: Series[TEXT] = pa.Field(nullable=True)
    paidPrice: Series[TEXT] = pa.Field(nullable=True)
    shippingName: Series[TEXT] = pa.Field(nullable=True)
    shippingAddress: Series[TEXT] = pa.Field(nullable=True)
    unitPrice: Series[TEXT] | None = pa.Field(nullable=True)
    updateTime: Series[TEXT] | None = pa.Field(nullable=True)
    lazadaSku: Series[TEXT] | None = pa.Field(nullable=True)
    itemName: Series[TEXT] | None = pa.Field(nullable=True)
    variation: Series[TEXT] | None = pa.Field(nullable=True)
    shippingAddress2: Series[TEXT] | None = pa.Field(nullable=True)
    shippingAddress3: Series[TEXT] | None = pa.Field(nullable=True)
    shippingAddress4: Series[TEXT] | None = pa.Field(nullable=True)
    shippingAddress5: Series[TEXT] | None = pa.Field(nullable=True)
    shippingPhone: Series[TEXT] | None = pa.Field(nullable=True)
    shippingPhone2: Series[TEXT] | None = pa.Field(nullable=True)
    shippingCity: Series[TEXT] | None = pa.Field(nullable=True)
    shippingPostCode: Series[TEXT] | None = pa.Field(nullable=True)
    shippingCountry: Series[TEXT] | None = pa.Field(nullable=True)

    class Config:
        strict = False


class OrderLines(pa.DataFrameModel):
    """Canonical order lines, one per marketplace unit row (Lazada has no quantity column)."""

    marketplace: Series[TEXT] = pa.Field(isin=list(MARKETPLACES))
    country: Series[TEXT] = pa.Field(isin=list(COUNTRIES))
    order_number: Series[TEXT]
    order_line_id: Series[TEXT]
    seller_sku: Series[TEXT] = pa.Field(str_length={"min_value": 1, "max_value": 200})
    platform_sku_id: Series[TEXT] = pa.Field(nullable=True)
    quantity: Series[int] = pa.Field(ge=1)
    unit_price: Series[MONEY] = pa.Field(nullable=True, ge=0)
    paid_price: Series[MONEY] = pa.Field(ge=0)
    currency: Series[TEXT] = pa.Field(isin=sorted({c[0] for c in COUNTRIES.values()}))
    ordered_at: Series[UTC_TIME]
    ordered_at_local: Series[LOCAL_TIME]
    updated_at: Series[UTC_TIME] = pa.Field(nullable=True)
    status: Series[TEXT] = pa.Field(isin=sorted(STATUSES))
    item_name: Series[TEXT] = pa.Field(nullable=True)
    variation: Series[TEXT] = pa.Field(nullable=True)
    receiver_name: Series[TEXT] = pa.Field(nullable=True)
    receiver_phone: Series[TEXT] = pa.Field(nullable=True)
    receiver_country: Series[TEXT] = pa.Field(isin=[c[2] for c in COUNTRIES.values()])
    receiver_state: Series[TEXT] = pa.Field(nullable=True)
    receiver_city: Series[TEXT] = pa.Field(nullable=True)
    receiver_district: Series[TEXT] = pa.Field(nullable=True)
    receiver_address: Series[TEXT] = pa.Field(nullable=True)
    receiver_zip: Series[TEXT] = pa.Field(nullable=True)
    source_file: Series[TEXT]
    source_row: Series[int] = pa.Field(ge=1)

    @pa.check("order_number", "order_line_id", name="ASCII letters and digits, 1-40 of them")
    def _id_text(cls, ids: pd.Series) -> pd.Series:
        values = _arrow(ids)
        ok = pc.and_(pc.ascii_is_alnum(values), pc.less_equal(pc.binary_length(values), 40))
        return _bools(ok, ids.index)

    @pa.dataframe_check(name="currency follows the shop country")
    def _currency_of_country(cls, df: pd.DataFrame) -> pd.Series:
        codes = pyarrow.array(list(COUNTRIES))
        currencies = pyarrow.array([v[0] for v in COUNTRIES.values()])
        expected = pc.take(currencies, pc.index_in(_arrow(df["country"]), value_set=codes))
        return _bools(pc.equal(_arrow(df["currency"]), expected), df.index)

    class Config:
        strict = False  # map_and_group adds disposition and mapping columns


class SkuMap(pa.DataFrameModel):
    """The SKU map: (marketplace, country, seller_sku) -> supplier item/SKU; see docs/ingest.md."""

    marketplace: Series[TEXT] = pa.Field(isin=list(MARKETPLACES))
    country: Series[TEXT] = pa.Field(isin=list(COUNTRIES))
    seller_sku: Series[TEXT] = pa.Field(str_length={"min_value": 1, "max_value": 200})
    platform_sku_id: Series[TEXT] = pa.Field(nullable=True, str_matches=r"^\d{1,20}$")
    source_platform: Series[TEXT] = pa.Field(isin=list(SOURCE_PLATFORMS))
    source_item_id: Series[TEXT] = pa.Field(str_matches=r"^\d{1,20}$")
    source_sku_id: Series[TEXT] = pa.Field(nullable=True, str_matches=r"^\d{1,20}$")
    source_spec_id: Series[TEXT] = pa.Field(nullable=True, str_matches=r"^[0-9a-f]{32}$")
    qty_multiplier: Series[int] = pa.Field(ge=1, le=1000)
    supplier_shop: Series[TEXT] = pa.Field(nullable=True)
    status: Series[TEXT] = pa.Field(isin=list(SKU_MAP_STATUSES))

    @pa.dataframe_check(name="taobao rows name a source_sku_id, 1688 rows a sku or spec id")
    def _has_target_sku(cls, df: pd.DataFrame) -> pd.Series:
        has_sku = df["source_sku_id"].notna()
        has_spec = df["source_spec_id"].notna()
        ok = has_sku | ((df["source_platform"] == "1688") & has_spec)
        return ok.fillna(False)

    class Config:
        strict = False
        unique = ("marketplace", "country", "seller_sku")


class Purchases(pa.DataFrameModel):
    """One row per purchase: a marketplace order with at least one purchasable line."""

    outer_purchase_id: Series[TEXT] = pa.Field(unique=True)
    marketplace: Series[TEXT] = pa.Field(isin=list(MARKETPLACES))
    country: Series[TEXT] = pa.Field(isin=list(COUNTRIES))
    order_number: Series[TEXT]
    ordered_at: Series[UTC_TIME]
    ordered_at_local: Series[LOCAL_TIME]
    currency: Series[TEXT]
    revenue: Series[MONEY] = pa.Field(ge=0)
    n_lines: Series[int] = pa.Field(ge=1)
    units: Series[int] = pa.Field(ge=1)
    quantity: Series[int] = pa.Field(ge=1)
    receiver_name: Series[TEXT]
    receiver_phone: Series[TEXT] = pa.Field(nullable=True)
    receiver_country: Series[TEXT]
    receiver_state: Series[TEXT] = pa.Field(nullable=True)
    receiver_city: Series[TEXT] = pa.Field(nullable=True)
    receiver_district: Series[TEXT] = pa.Field(nullable=True)
    receiver_address: Series[TEXT]
    receiver_zip: Series[TEXT] = pa.Field(nullable=True)

    class Config:
        strict = False


class PurchaseLines(pa.DataFrameModel):
    """One row per supplier SKU of a purchase; `order_line_no` is "1", "2", ... per purchase."""

    outer_purchase_id: Series[TEXT]
    order_line_no: Series[TEXT] = pa.Field(str_matches=r"^[1-9]\d*$")
    source_platform: Series[TEXT] = pa.Field(isin=list(SOURCE_PLATFORMS))
    source_item_id: Series[TEXT] = pa.Field(str_matches=r"^\d{1,20}$")
    source_sku_id: Series[TEXT] = pa.Field(nullable=True)
    source_spec_id: Series[TEXT] = pa.Field(nullable=True)
    quantity: Series[int] = pa.Field(ge=1)
    units: Series[int] = pa.Field(ge=1)
    seller_sku: Series[TEXT]
    title: Series[TEXT] = pa.Field(nullable=True)
    order_line_ids: Series[TEXT_LIST]
    revenue: Series[MONEY] = pa.Field(ge=0)
    currency: Series[TEXT]

    class Config:
        strict = False
        unique = ("outer_purchase_id", "order_line_no")


class Rejects(pa.DataFrameModel):
    """One row per rejected input row, with a reason code a person can act on."""

    source_file: Series[TEXT]
    source_row: Series[int] = pa.Field(ge=1)
    order_line_id: Series[TEXT] = pa.Field(nullable=True)
    order_number: Series[TEXT] = pa.Field(nullable=True)
    reason_code: Series[TEXT] = pa.Field(isin=list(REASONS))
    reason: Series[TEXT]
    column: Series[TEXT] = pa.Field(nullable=True)
    value: Series[TEXT] = pa.Field(nullable=True)

    class Config:
        strict = True
