"""Plain records of one purchase, for the code that still works purchase by purchase.

The ingest hands tables to the submit stage (`schemas.contracts.Purchases`, `PurchaseLines`);
a `PlannedPurchase` is one row of them with its lines, the unit the ledger stores and the
submit stage sends today. Ids are strings, money is Decimal, times are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pyarrow as pa


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
    # the digest, once known: handed over with the ingest's tables, or computed on first use
    _payload_hash: str | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def cached_payload_hash(self) -> str | None:
        """The hash if it is already known (told, or computed before), else None."""
        return self._payload_hash

    def payload_hash(self) -> str:
        """A digest of everything that would change the create request (`schemas.payload`).

        The ledger compares it across runs: the same `outer_purchase_id` with another hash is an
        order that changed after it was planned, which is flagged rather than silently resent.
        The ingest computes it for every purchase at once (`Purchases.payload_hash`) and the
        ledger for the records it registers (`ledger.transitions.known_hashes`); a record made
        otherwise is hashed here, alone, by the same query.
        """
        if self._payload_hash is None:
            from schemas.payload import planned_payload_hashes

            object.__setattr__(self, "_payload_hash", planned_payload_hashes([self])[0])
        return self._payload_hash  # type: ignore[return-value]

    def known_payload_hash(self, value: str) -> PlannedPurchase:
        """This purchase, told its payload hash (`Purchases.payload_hash`, which the ingest
        computed by the same definition for every purchase at once)."""
        object.__setattr__(self, "_payload_hash", value)
        return self


def outer_purchase_id(marketplace: str, country: str, order_number: str) -> str:
    """The purchase's idempotency key (`schemas.payload`): from business keys only.

    Readable prefix for people searching the supplier's back office, digest suffix so that the
    id stays short and safe whatever the order number contains.
    """
    from schemas.payload import purchase_ids

    ids = purchase_ids(pa.array([marketplace]), pa.array([country]), pa.array([order_number]))
    return ids[0].as_py()
