"""Lazada Seller Center exports (current camelCase headers and legacy display names).

One row per unit: every line has quantity 1 and `orderItemId` is the line's id. The shop
country comes from `lazadaSku` (`3069252927_MY-15298395971`; older `…_SGAMZ-…`), else from
`shippingCountry`, and the two must agree.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.marketplaces import COUNTRIES
from transforms import cells as c
from transforms.formats import ExportFormat, Field, HeaderMatch, Vocabulary
from transforms.normalise import Cells, Rules, unknown_status

F = Field
FIELDS = {  # in the order the length rule checks them
    "order_item_id": F(("orderItemId", "Order Item Id", "Item Id"), "id", True, 40),
    "order_number": F(("orderNumber",), "id", True, 40),
    "seller_sku": F(("sellerSku",), "text", True, 200),
    "lazada_sku": F(("lazadaSku",), max_length=120),
    "created": F(("createTime", "Created at"), "date", True, 40),
    "updated": F(("updateTime", "Updated at"), "date", max_length=40),
    "status": F(("status",), "status", True, 40),
    "paid_price": F(("paidPrice",), "money", True, 40),
    "unit_price": F(("unitPrice",), "money", max_length=40),
    "item_name": F(("itemName",), "text", max_length=1000),
    "variation": F(("variation",), "text", max_length=500),
    "name": F(("shippingName",), "text", True, 200, pii="name"),
    "address": F(("shippingAddress",), "text", True, 500, pii="address"),
    "address2": F(("shippingAddress2",), "text", max_length=500, pii="address"),
    "address3": F(("shippingAddress3",), "text", max_length=200),
    "address4": F(("shippingAddress4",), "text", max_length=200),
    "address5": F(("shippingAddress5",), "text", max_length=200),
    "phone": F(("shippingPhone", "Shipping Phone Number"), "phone", max_length=40, pii="phone"),
    "phone2": F(("shippingPhone2", "Shipping Phone Number2"), "phone", max_length=40, pii="phone"),
    "city": F(("shippingCity",), "text", max_length=200),
    "postcode": F(("shippingPostCode",), "text", max_length=20, pii="postcode"),
    "country": F(("shippingCountry",), "text", max_length=100),
}
DATES = (
    ("%d %b %Y %H:%M", r"^(?P<d>\d{1,2}) "),
    ("%d %b %Y %H:%M:%S", r"^(?P<d>\d{1,2}) "),
    ("%Y-%m-%d %H:%M:%S", r"^\d{4}-\d{2}-(?P<d>\d{2})"),
    ("%Y-%m-%d %H:%M", r"^\d{4}-\d{2}-(?P<d>\d{2})"),
    ("%Y-%m-%dT%H:%M:%S", r"^\d{4}-\d{2}-(?P<d>\d{2})"),
)


def _style(columns: dict[str, str]) -> str:
    """`current` for the camelCase header, `legacy` for the display names."""
    return "legacy" if any(raw != FIELDS[name].name for name, raw in columns.items()) else "current"


FORMAT = ExportFormat(
    marketplace="lazada",
    fields=FIELDS,
    signature=("order_item_id",),
    dates=DATES,
    dates_example="14 Mar 2026 09:12",
    # the status column holds the API's item statuses, in any case and spacing
    statuses=Vocabulary("lazada", "Lazada item status"),
    style=_style,
    required_any=(("lazada_sku", "country"),),
)


class LazadaReader:
    format = FORMAT

    def status(self, cells: Cells, rules: Rules) -> pa.Array:
        status = FORMAT.statuses.canonical(cells.raw("status"))
        unknown_status(rules, cells, "status", status)
        return status

    def country(self, cells: Cells, match: HeaderMatch, rules: Rules) -> pa.Array:
        by_sku, _ = parse_lazada_sku(cells.raw("lazada_sku"))
        by_name = c.country_from_name(cells.raw("country"))
        country = pc.coalesce(by_sku, by_name)
        rules.add(
            "UNKNOWN_COUNTRY",
            "lazada_sku" if cells.has("lazada_sku") else "country",
            "the shop country is not in lazadaSku (…_MY-…) nor shippingCountry "
            f"(one of {', '.join(COUNTRIES)})",
            pc.is_null(country),
        )
        rules.add(
            "COUNTRY_MISMATCH",
            "country",
            "shippingCountry is not the country in lazadaSku",
            pc.not_equal(by_sku, by_name),
        )
        return country

    def line(self, cells: Cells) -> dict[str, c.Column]:
        _, platform_sku_id = parse_lazada_sku(cells.raw("lazada_sku"))
        return {
            "order_number": cells.value("order_number"),
            "order_line_id": cells.value("order_item_id"),
            "seller_sku": cells.raw("seller_sku"),
            "platform_sku_id": platform_sku_id,
            "quantity": pa.array(np.ones(cells.n, np.int64)),  # one row per unit
            "unit_price": cells.value("unit_price"),
            "paid_price": cells.value("paid_price"),
            "created": cells.value("created"),
            "updated": cells.value("updated"),
            "item_name": cells.raw("item_name"),
            "variation": cells.raw("variation"),
            "name": cells.raw("name"),
            "phones": [cells.raw("phone"), cells.raw("phone2")],
            "address": c.join_parts(cells.raw("address"), cells.raw("address2")),
            "state": cells.raw("address3"),
            "city": pc.coalesce(cells.raw("city"), cells.raw("address4")),
            "district": cells.raw("address5"),
            "zip": cells.raw("postcode"),
        }


READER = LazadaReader()


def parse_lazada_sku(lazada_sku: c.Column) -> tuple[pa.Array, pa.Array]:
    """(shop country, platform SKU id) from `3069252927_MY-15298395971`; null when absent.

    Older forms: `232611001_SGAMZ-356805001`, legacy `BE494HLAAUE3SGAMZ-39898` (no SKU id).
    """

    def parse(distinct: pa.Array) -> pa.Array:
        parts = pc.extract_regex(
            distinct, r"(?:_(?P<a>[A-Z]{2})(?:AMZ)?|(?P<b>[A-Z]{2})AMZ)-(?P<id>\d+)$"
        )
        a, b = pc.struct_field(parts, [0]), pc.struct_field(parts, [1])
        code = pc.if_else(pc.equal(a, ""), b, a)
        code = pc.if_else(pc.is_in(code, value_set=pa.array(list(COUNTRIES))), code, c.NULL_TEXT)
        sku_id = pc.if_else(pc.equal(a, ""), c.NULL_TEXT, pc.struct_field(parts, [2]))
        return pa.StructArray.from_arrays([code, sku_id], ["country", "sku_id"])

    parsed = c.per_distinct(lazada_sku, parse)
    return pc.struct_field(parsed, [0]), pc.struct_field(parsed, [1])
