"""The follow stage's business rules, one named function each, and its settings.

Statuses are upstream's strings (`shanjing.purchases`): `BULIDING` (sic), `WAIT_BUYER_P`,
`WAIT_SELLER_SEND_GOODS`, `WAIT_BUYER_CONFIRM_GOODS`, `TRADE_CLOSED`; any other value is kept
as it came and reported, and is never final.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from shanjing.purchases import BUILDING, CLOSED, PURCHASE_STATUSES, SHIPPED, WAIT_PAY

__all__ = [
    "CANCELLED_STATUSES",
    "FollowSettings",
    "cancel_outcome",
    "cancelled_by_us",
    "cancels_within_share",
    "closed_without_payment_not_by_us",
    "closes_unpaid_within",
    "is_final",
    "line_is_cancelled",
    "status_is_known",
    "sub_order_has_shipped",
]

SyncMode = Literal["auto", "ids", "window"]


@dataclass(frozen=True)
class FollowSettings:
    """Knobs of the sync and cancel steps (docs/operations.md explains each)."""

    page_size: int = 50  # the query's largest page; also purchase ids per by-ids query
    concurrency: int = 4  # queries in flight at once
    mode: SyncMode = "auto"  # auto: by modification window once a watermark exists
    window_lag_s: float = 120.0  # a window ends this long before now (the query lags)
    window_max_age_s: float = 7 * 86400.0  # an older watermark: follow by ids instead
    horizon_s: float = 24 * 3600.0  # "closes unpaid within" horizon of the attention list
    cancel_grace_s: float = 900.0  # an unknown cancel is looked up this long before a resend
    cancel_max_share: float = 0.2  # cancels above this share of the export's purchases ...
    cancel_share_floor: int = 3  # ... (and above this count) need allow_mass_cancel
    max_cancels: int | None = None  # per-run cap on cancel requests
    allow_mass_cancel: bool = False
    dry_run: bool = False
    cancel_reason: str = "customer cancelled the marketplace order"

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 50:
            raise ValueError("page_size must be 1..50")
        if self.concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if not 0 <= self.cancel_max_share <= 1:
            raise ValueError("cancel_max_share must be within 0..1")


# Marketplace line statuses that mean "the customer will not get this line": cancelled, or
# returned/sent back before it was delivered. (schemas.marketplaces.STATUSES has them all.)
CANCELLED_STATUSES: Mapping[str, frozenset[str]] = {
    "lazada": frozenset(
        {"canceled", "returned", "shipped_back", "shipped_back_success", "package_returned"}
    ),
    "shopee": frozenset({"cancelled", "to_return"}),
    "tiktok": frozenset({"cancelled"}),
}


def status_is_known(status: str) -> bool:
    """A documented status; anything else is kept and reported, never crashed on."""
    return status in PURCHASE_STATUSES


def is_final(status: str) -> bool:
    """A remote purchase is followed until it is closed. Shipped purchases stay followed
    (refunds and returns show on them); an unknown status is never final."""
    return status == CLOSED


def closes_unpaid_within(
    status: str, next_close_ms: int | None, now_ms: int, horizon_s: float
) -> bool:
    """Awaiting payment and due to auto-close before now + horizon: someone must pay it."""
    if status not in (WAIT_PAY, BUILDING) or next_close_ms is None:
        return False
    return next_close_ms <= now_ms + int(horizon_s * 1000)


def closed_without_payment_not_by_us(
    status: str, pay_time_ms: int | None, cancelled_by_us: bool
) -> bool:
    """Closed, never paid, and not because we asked (`cancelled_by_us`: our cancels covered the
    whole purchase): the customer gets nothing unless someone acts.
    `PurchaseOrder.closed_without_payment` is also true for our own cancels."""
    return status == CLOSED and pay_time_ms is None and not cancelled_by_us


def cancelled_by_us(purchase_id: str, sub_ids: set[str], ours: set[tuple[str, str]]) -> bool:
    """Our cancels covered this whole purchase: a whole-purchase cancel, or one of every
    sub-order. A partial cancel of ours does not explain why the rest closed."""
    if (purchase_id, "*") in ours:
        return True
    return bool(sub_ids) and all((purchase_id, s) in ours for s in sub_ids)


def line_is_cancelled(marketplace: str, status: str) -> bool:
    """A marketplace line whose purchase should be cancelled if it has not shipped."""
    return status in CANCELLED_STATUSES.get(marketplace, frozenset())


def sub_order_has_shipped(status: str) -> bool:
    """Shipped by the supplier: no cancel any more, a return for a person to handle."""
    return status == SHIPPED


def cancels_within_share(n_cancels: int, n_purchases: int, settings: FollowSettings) -> bool:
    """A malformed export must not cancel everything: more than `cancel_max_share` of the
    export's created purchases (and more than `cancel_share_floor`) needs the explicit flag."""
    if settings.allow_mass_cancel or n_cancels <= settings.cancel_share_floor:
        return True
    return n_cancels <= settings.cancel_max_share * max(n_purchases, 1)


CancelOutcome = Literal["confirmed", "too_late", "wait", "resend"]


def cancel_outcome(
    state: str,
    sub_statuses: list[str | None],
    last_send_s: float,
    now_s: float,
    grace_s: float,
) -> CancelOutcome:
    """What the latest statuses say about a cancel we asked for (`sub_statuses`: the target
    sub-orders' statuses, None = not seen).

    Accepted is not done: only a status sync showing every target closed confirms it. A target
    that shipped first means too late (a return for a person). A cancel whose sending is in
    doubt (`intent`: maybe never left; `unknown`: no answer) is resent only after a lookup, past
    its last possible send plus the grace, still shows it open; an accepted one waits.
    """
    if sub_statuses and all(s == CLOSED for s in sub_statuses):
        return "confirmed"
    if any(s is not None and sub_order_has_shipped(s) for s in sub_statuses):
        return "too_late"
    if state in ("intent", "unknown") and now_s >= last_send_s + grace_s:
        return "resend"
    return "wait"
