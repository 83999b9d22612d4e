"""TikTok Shop order exports (OrderSKUList, xlsx or csv), English headers in every country.

One row per order line (an SKU of an order) with its `Quantity`; order-level values repeat on
every line. Row 2 may describe the columns (`Platform unique order ID.`): the reader finds it
by its content and skips it. Times are `14/03/2026 09:12:33` followed by a TAB (cells are
trimmed). The native status is `Order Substatus` (`Awaiting shipment`, `In transit`, ...);
`Order Status` stands in where a file has none. A line is (Order ID, SKU ID), the platform's
SKU id, which a seller cannot edit; `Seller SKU` is the SKU-map key and SKU ID its fallback.
The line's amount is `SKU Subtotal After Discount`. The address columns differ by country
(TH Province/District/Districts, MY State/Post Town, VN Province/District/Commune, ID
Province/Regency and City/Districts/Villages).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from schemas.marketplaces import COUNTRIES
from transforms import cells as c
from transforms.formats import ExportFormat, Field, HeaderMatch, Vocabulary
from transforms.normalise import Cells, Rules, unknown_status

F = Field
FIELDS = {
    "order_number": F(("Order ID",), "id", True, 40),
    "order_status": F(("Order Status",), "status", True, 80),
    "substatus": F(("Order Substatus",), "status", max_length=80),
    "sku_id": F(("SKU ID",), "id", True, 40),
    "seller_sku": F(("Seller SKU",), "text", True, 200),
    "item_name": F(("Product Name",), "text", max_length=1000),
    "variation": F(("Variation",), "text", max_length=500),
    "quantity": F(("Quantity",), "quantity", True, 20),
    "unit_price": F(("SKU Unit Original Price",), "money", max_length=40),
    "paid_price": F(("SKU Subtotal After Discount",), "money", True, 40),
    "created": F(("Created Time",), "date", True, 40),
    "paid_time": F(("Paid Time",), "date", max_length=40),
    "rts_time": F(("RTS Time",), "date", max_length=40),
    "shipped_time": F(("Shipped Time",), "date", max_length=40),
    "delivered_time": F(("Delivered Time",), "date", max_length=40),
    "cancelled_time": F(("Cancelled Time",), "date", max_length=40),
    "name": F(("Recipient",), "text", max_length=200, pii="name"),
    "phone": F(("Phone #",), "phone", max_length=40, pii="phone"),
    "zip": F(("Zipcode",), "text", max_length=20, pii="postcode"),
    "country": F(("Country",), "text", True, 100),
    "province": F(("Province", "State"), "text", max_length=200),
    "city": F(("District", "Regency and City", "Post Town"), "text", max_length=200),
    "districts": F(("Districts", "Commune"), "text", max_length=200),
    "villages": F(("Villages",), "text", max_length=200),
    "address": F(("Detail Address",), "text", max_length=500, pii="address"),
    "address2": F(("Additional address information",), "text", max_length=500, pii="address"),
}
DATES = (
    ("%d/%m/%Y %H:%M:%S", r"^(?P<d>\d{1,2})/"),
    ("%d/%m/%Y %H:%M", r"^(?P<d>\d{1,2})/"),
)
EVENT_TIMES = ("created", "paid_time", "rts_time", "shipped_time", "delivered_time",
               "cancelled_time")  # fmt: skip
# Order Substatus is shown as its words (`Awaiting shipment` = awaiting_shipment); Order Status
# also has `To ship`. Of the Thai Order Status values only `รอจัดส่ง` (to ship) is seen in a real
# TH export; the others are unverified.
STATUSES = Vocabulary(
    "tiktok",
    "TikTok Shop order status",
    names={"Canceled": "cancelled", "รอชำระเงิน": "unpaid", "รอจัดส่ง": "to_ship",
           "จัดส่งแล้ว": "shipped", "จัดส่งสำเร็จ": "delivered", "เสร็จสมบูรณ์": "completed",
           "ยกเลิกแล้ว": "cancelled"},
)  # fmt: skip

FORMAT = ExportFormat(
    marketplace="tiktok",
    fields=FIELDS,
    signature=("order_number", "sku_id"),
    dates=DATES,
    dates_example="14/03/2026 09:12:33",
    statuses=STATUSES,
    style=lambda columns: "en",
)


class TikTokReader:
    format = FORMAT

    def status(self, cells: Cells, rules: Rules) -> pa.Array:
        """Order Substatus where the row has one, else Order Status."""
        sub = STATUSES.canonical(cells.raw("substatus"))
        main = STATUSES.canonical(cells.raw("order_status"))
        unknown_status(rules, cells, "substatus", sub)
        has_sub = pc.is_valid(cells.raw("substatus"))
        # Order Status is only checked where it is the status (no substatus on the row)
        unknown_status(rules, cells, "order_status", pc.if_else(has_sub, pa.scalar("-"), main))
        return pc.if_else(has_sub, sub, main)

    def country(self, cells: Cells, match: HeaderMatch, rules: Rules) -> pa.Array:
        country = c.country_from_name(cells.raw("country"))
        rules.add(
            "UNKNOWN_COUNTRY",
            "country",
            f"Country is not a shop country (one of {', '.join(COUNTRIES)})",
            pc.is_null(country),
        )
        return country

    def line(self, cells: Cells) -> dict[str, c.Column]:
        order_number = cells.value("order_number")
        sku_id = cells.value("sku_id")
        times = [cells.value(k) for k in EVENT_TIMES if cells.has(k)]
        return {
            "order_number": order_number,
            "order_line_id": pc.binary_join_element_wise(order_number, sku_id, ":"),
            "seller_sku": cells.raw("seller_sku"),
            "platform_sku_id": sku_id,
            "quantity": cells.value("quantity"),
            "unit_price": cells.value("unit_price"),
            "paid_price": cells.value("paid_price"),
            "created": cells.value("created"),
            "updated": pc.max_element_wise(*times, skip_nulls=True),
            "item_name": cells.raw("item_name"),
            "variation": cells.raw("variation"),
            "name": cells.raw("name"),
            "phones": [cells.raw("phone")],
            "address": c.join_parts(cells.raw("address"), cells.raw("address2")),
            "state": cells.raw("province"),
            "city": cells.raw("city"),
            "district": pc.coalesce(cells.raw("districts"), cells.raw("villages")),
            "zip": cells.raw("zip"),
        }


READER = TikTokReader()
