"""Facts about the marketplaces and shop countries that every layer shares.

Statuses are the canonical names each reader maps its export's display values onto (lower
snake_case, e.g. Shopee's "To ship" / "ที่ต้องจัดส่ง" -> `ready_to_ship`); docs/ingest.md lists
the display values each one is read from.
"""

from __future__ import annotations

from typing import NamedTuple

MARKETPLACES = ("lazada", "shopee", "tiktok")


class Country(NamedTuple):
    currency: str
    utc_offset: int  # hours; exports carry the shop's wall clock without an offset
    name: str  # as receivers are addressed
    postcode_width: int  # to restore leading zeros a spreadsheet dropped (0: leave as is)


COUNTRIES: dict[str, Country] = {
    "MY": Country("MYR", 8, "Malaysia", 5),
    "SG": Country("SGD", 8, "Singapore", 6),
    "PH": Country("PHP", 8, "Philippines", 4),
    "TH": Country("THB", 7, "Thailand", 5),
    "VN": Country("VND", 7, "Vietnam", 6),
    "ID": Country("IDR", 7, "Indonesia", 5),
}
CURRENCIES = {c.currency: code for code, c in COUNTRIES.items()}
# Country names as exports write them (lower case), in the languages of the supported headers.
COUNTRY_NAMES: dict[str, str] = {
    "malaysia": "MY", "มาเลเซีย": "MY", "马来西亚": "MY", "馬來西亞": "MY",
    "singapore": "SG", "สิงคโปร์": "SG", "新加坡": "SG",
    "philippines": "PH", "ฟิลิปปินส์": "PH", "菲律宾": "PH", "菲律賓": "PH",
    "thailand": "TH", "ไทย": "TH", "ประเทศไทย": "TH", "泰国": "TH", "泰國": "TH",
    "vietnam": "VN", "viet nam": "VN", "việt nam": "VN", "เวียดนาม": "VN", "越南": "VN",
    "indonesia": "ID", "อินโดนีเซีย": "ID", "印度尼西亚": "ID", "印尼": "ID", "印度尼西亞": "ID",
}  # fmt: skip

STATUSES: dict[str, frozenset[str]] = {
    # item statuses of the Open Platform API plus the export's "Package Returned", "Lost by 3PL"
    "lazada": frozenset({
        "unpaid", "pending", "packed", "repacked", "ready_to_ship_pending", "ready_to_ship",
        "topack", "toship", "shipping", "shipped", "delivered", "confirmed", "failed",
        "failed_delivery", "lost", "lost_by_3pl", "damaged_by_3pl", "returned", "canceled",
        "shipped_back", "shipped_back_success", "shipped_back_failed", "package_scrapped",
        "package_returned",
    }),
    # the API's order_status enum; the export shows localised display strings
    "shopee": frozenset({
        "unpaid", "ready_to_ship", "processed", "retry_ship", "shipped", "to_confirm_receive",
        "in_cancel", "cancelled", "to_return", "completed", "invoice_pending",
    }),
    # Order Substatus (the native status), and Order Status where a file has no substatus
    "tiktok": frozenset({
        "unpaid", "on_hold", "to_ship", "awaiting_shipment", "awaiting_collection",
        "partially_shipping", "shipped", "in_transit", "delivered", "completed", "cancelled",
    }),
}  # fmt: skip
# What is bought unless a run says otherwise (docs/ingest.md, "Statuses", gives the reasons).
DEFAULT_PURCHASABLE: dict[str, frozenset[str]] = {
    "lazada": frozenset({"pending", "ready_to_ship"}),
    "shopee": frozenset({"ready_to_ship"}),
    "tiktok": frozenset({"awaiting_shipment"}),
}

DISPOSITIONS = ("purchasable", "skipped_status", "outside_window", "duplicate", "held")
SOURCE_PLATFORMS = ("taobao", "1688")
SKU_MAP_STATUSES = ("approved", "pending", "rejected")

# reason_code -> what it means (docs/ingest.md carries the same table with examples).
REASONS: dict[str, str] = {
    "UNKNOWN_FORMAT": "the header is not a Lazada, Shopee or TikTok Shop export header",
    "MISSING_COLUMN": "the file lacks a required column; every row of the file is rejected",
    "DUPLICATE_COLUMN": "two headers of the file map to the same column; every row is rejected",
    "MALFORMED_ROW": "the CSV row has the wrong number of fields",
    "FIELD_TOO_LONG": "a cell is longer than any real value of that column",
    "FORMULA_INJECTION": "a text cell starts with =, +, - or @ (kept as text, never evaluated)",
    "MISSING_VALUE": "a required cell is empty",
    "BAD_ID": "an id is not a plain digit (or letter) string, e.g. scientific notation",
    "UNKNOWN_STATUS": "the status is not one the marketplace uses",
    "BAD_DATE": "a date is unparseable or out of range",
    "BAD_PRICE": "a price is unparseable, negative, has more than 2 decimals or is absurdly large",
    "BAD_QUANTITY": "a quantity is not a whole number from 1 to 99999",
    "UNKNOWN_COUNTRY": "the shop country cannot be told from the row",
    "COUNTRY_MISMATCH": "two columns of the row name different countries",
    "DUPLICATE_CONFLICT": "the same order line appears with different content",
    "MISSING_RECEIVER": "a purchasable line has no receiver name or address",
    "UNMAPPED_SKU": "the seller SKU is not in the SKU map",
    "SKU_NOT_APPROVED": "the SKU map row exists but its status is not approved",
    "RECEIVER_CONFLICT": "the order's rows disagree on who receives the parcel",
    "SCHEMA_VIOLATION": "the normalised line broke the OrderLines contract",
}
