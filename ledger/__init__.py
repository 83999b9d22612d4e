"""Durable purchase state: the exactly-once guarantee of the submit stage lives here.

See `ledger.core` for how the package is split, `ledger.records.TRANSITIONS` for the state
machine and docs/submit.md for the rules around it.
"""

from __future__ import annotations

from ledger.core import Ledger
from ledger.records import (
    CLOSED_UPSTREAM,
    DUPLICATE_REMOTE,
    LEDGER_REBUILT,
    NEEDS_LOOKUP,
    PARTIAL,
    PAYLOAD_CHANGED,
    TRANSITIONS,
    TROUBLE_CODES,
    CacheEntry,
    Claim,
    LineResult,
    Outcome,
    OwedReport,
    PurchaseRecord,
    ReconcileItem,
    RecordReport,
    RegisterReport,
    Reprocess,
    RowState,
    SettleReport,
    State,
    TroubleRow,
)
from ledger.schema import SCHEMA_VERSION

__all__ = [
    "CLOSED_UPSTREAM",
    "DUPLICATE_REMOTE",
    "LEDGER_REBUILT",
    "NEEDS_LOOKUP",
    "PARTIAL",
    "PAYLOAD_CHANGED",
    "SCHEMA_VERSION",
    "TRANSITIONS",
    "TROUBLE_CODES",
    "CacheEntry",
    "Claim",
    "Ledger",
    "LineResult",
    "Outcome",
    "OwedReport",
    "PurchaseRecord",
    "ReconcileItem",
    "RecordReport",
    "RegisterReport",
    "Reprocess",
    "RowState",
    "SettleReport",
    "State",
    "TroubleRow",
]
