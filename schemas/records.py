"""Plain records handed from the ingest stage to the submit stage.

The DataFrames of the ingest stage are validated by the pandera models in this package; once
grouped, each purchase becomes one immutable `PlannedPurchase`, the unit the ledger stores and
the submit stage sends. Ids are strings, money is Decimal, times are timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Receiver:
    """Who the supplier ships to (the end customer, or the forwarder's warehouse)."""

    name: str
    phone: str
    country: str  # country name as the API expects it, e.g. "Malaysia"
    state: str = ""
    city: str = ""
    district: str = ""
    address: str = ""
    zip: str = ""


@dataclass(frozen=True, slots=True)
class PlannedLine:
    """One purchase line: one supplier SKU, with the units of every order line that maps to it."""

    order_line_no: str  # "1", "2", ... stable: lines sorted by (source_item_id, source_sku_id)
    source_platform: str  # "taobao" | "1688"
    source_item_id: str
    source_sku_id: str  # "" when the map gives only a 1688 spec id
    source_spec_id: str  # "" when unknown
    quantity: int  # marketplace units x the SKU map's multiplier
    seller_sku: str
    title: str
    order_line_ids: tuple[str, ...]  # marketplace order-line ids merged into this line
    revenue: Decimal  # what the marketplace buyer paid for these units, in the purchase currency


@dataclass(frozen=True, slots=True)
class PlannedPurchase:
    """One marketplace order's purchasable lines, to be created once as one supplier purchase."""

    outer_purchase_id: str  # deterministic from (marketplace, country, order_number)
    marketplace: str  # "lazada", "shopee", "tiktok"
    country: str  # ISO 3166-1 alpha-2, e.g. "MY"
    order_number: str
    ordered_at: datetime  # UTC
    currency: str  # marketplace currency of `revenue`, e.g. "MYR"
    receiver: Receiver
    lines: tuple[PlannedLine, ...]
    revenue: Decimal = field(default=Decimal("0"))

    def payload_hash(self) -> str:
        """A digest of everything that would change the create request.

        The ledger compares it across runs: the same `outer_purchase_id` with another hash is an
        order that changed after it was planned, which is flagged rather than silently resent.
        """
        body = asdict(self)
        body.pop("revenue", None)
        for line in body["lines"]:
            line.pop("revenue", None)
        text = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def outer_purchase_id(marketplace: str, country: str, order_number: str) -> str:
    """The purchase's idempotency key: derived from business keys only, never a run id or clock.

    Readable prefix for people searching the supplier's back office, digest suffix so that the
    id stays short and safe whatever the order number contains.
    """
    key = f"{marketplace.lower()}|{country.upper()}|{order_number}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"PS-{marketplace[:2].upper()}{country.upper()}-{order_number}-{digest}"
