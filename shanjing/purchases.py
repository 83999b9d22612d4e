"""The order query's answers: purchase orders and their sub-orders, as a status sync needs them.

Statuses are plain strings: upstream's documented values are `PURCHASE_STATUSES` (`BULIDING` is
upstream's spelling), and any other value is kept as it came, never crashed on
(`PurchaseOrder.status_known` tells them apart). Money is integer fen (`pay_amount` arrives as a
string of fen upstream); times are epoch milliseconds.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shanjing.wire import Count, EpochMs, Fen, Id, IntCode, OptText, Text, WireModel

__all__ = [
    "BUILDING",
    "CLOSED",
    "PAID",
    "PURCHASE_STATUSES",
    "SHIPPED",
    "WAIT_PAY",
    "LogisticOrder",
    "OrderQueryPage",
    "PurchaseOrder",
    "SubPurchaseOrder",
]

BUILDING = "BULIDING"  # sic
WAIT_PAY = "WAIT_BUYER_P"
PAID = "WAIT_SELLER_SEND_GOODS"
SHIPPED = "WAIT_BUYER_CONFIRM_GOODS"
CLOSED = "TRADE_CLOSED"
#: The documented purchase/sub-order statuses (shanjing-api.md, "Enums"), in lifecycle order.
PURCHASE_STATUSES: tuple[str, ...] = (BUILDING, WAIT_PAY, PAID, SHIPPED, CLOSED)


class LogisticOrder(WireModel):
    """One parcel of a sub-order: carrier and tracking number."""

    company: OptText = None
    number: OptText = None
    rts_time: OptText = None  # ready-to-ship time; upstream sends it as a number or a string

    wire_renames: ClassVar[dict[str, str]] = {
        "logistic_company_name": "company",
        "logistic_number": "number",
    }


class SubPurchaseOrder(WireModel):
    """A line of a supplier order. Match it to our lines by (mp_id, mp_sku_id); the
    `order_line_no` is a sandbox extra the real API may not send."""

    wire_renames: ClassVar[dict[str, str]] = {"item_id": "mp_id", "sku_id": "mp_sku_id"}

    sub_purchase_order_id: Id
    mp_id: Id | None = None
    mp_sku_id: Id | None = None
    quantity: Count = 0
    status: Text = ""
    close_reason: OptText = None
    order_line_no: OptText = None
    purchase_amount: Fen | None = None
    pay_amount: Fen | None = None
    pay_time: EpochMs | None = None
    close_time_without_payment: EpochMs | None = None
    close_time: EpochMs | None = None
    refund_status: IntCode | None = None  # upstream codes: 0, 10, 20, 30, 100, -10, -20
    logistic_orders: list[LogisticOrder] = Field(default_factory=list)

    @property
    def logistics_numbers(self) -> list[str]:
        return [p.number for p in self.logistic_orders if p.number]


class PurchaseOrder(WireModel):
    """One supplier purchase order as the query shows it."""

    wire_renames: ClassVar[dict[str, str]] = {"sub_purchase_orders": "sub_orders"}

    purchase_id: Id
    outer_purchase_id: OptText = None
    seller_order_number: OptText = None
    order_source: OptText = None
    status: Text = ""
    supplier_nick: Text = ""
    source_market: OptText = None
    purchase_amount: Fen | None = None
    purchase_currency: OptText = None
    pay_amount: Fen | None = None
    pay_currency: OptText = None
    payment_url: OptText = None
    created_time: EpochMs | None = None
    modify_time: EpochMs | None = None
    pay_time: EpochMs | None = None
    next_close_time_without_payment: EpochMs | None = None
    close_reason: OptText = None
    close_time: EpochMs | None = None
    sub_orders: list[SubPurchaseOrder] = Field(default_factory=list)

    @property
    def status_known(self) -> bool:
        """False for a status value nobody documented (keep it, report it)."""
        return self.status in PURCHASE_STATUSES

    @property
    def closed_without_payment(self) -> bool:
        """Closed and never paid: auto-closed, or cancelled before payment. Only the caller
        knows which (did it ask for the cancel?); for an auto-close the customer gets nothing
        unless someone acts."""
        return self.status == CLOSED and self.pay_time is None

    @property
    def logistics_numbers(self) -> list[str]:
        """Every tracking number of its sub-orders, each once."""
        return list(dict.fromkeys(n for sub in self.sub_orders for n in sub.logistics_numbers))


class OrderQueryPage(WireModel):
    wire_renames: ClassVar[dict[str, str]] = {
        "results_total": "total",
        "purchase_orders": "orders",
    }

    total: Count | None = None  # None: the answer left `resultsTotal` out
    page_no: Count = 1
    page_size: Count = 0
    orders: list[PurchaseOrder] = Field(default_factory=list)
