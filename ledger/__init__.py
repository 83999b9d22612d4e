"""Durable purchase state: the exactly-once guarantee of the submit stage lives here.

See `ledger.core` for the state machine and docs/submit.md for the rules around it.
"""

from __future__ import annotations

from ledger.core import (
    PAYLOAD_CHANGED,
    CacheEntry,
    Claim,
    Ledger,
    LineResult,
    Outcome,
    PurchaseRecord,
    ReconcileItem,
    RegisterReport,
    Reprocess,
    RowState,
    SettleReport,
    State,
)
from ledger.schema import SCHEMA_VERSION

__all__ = [
    "PAYLOAD_CHANGED",
    "SCHEMA_VERSION",
    "CacheEntry",
    "Claim",
    "Ledger",
    "LineResult",
    "Outcome",
    "PurchaseRecord",
    "ReconcileItem",
    "RegisterReport",
    "Reprocess",
    "RowState",
    "SettleReport",
    "State",
]
