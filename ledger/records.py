"""The ledger's records: states, the transition table, and the plain values its methods take
and return.

`TRANSITIONS` is the state machine, one row per (state, event): the write methods take their
source and target states from it (`sources`, `target`), and docs/submit.md draws the same table
(tests/submit/test_transitions.py checks that the two agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, NamedTuple

Reprocess = Literal["missing", "failed", "all"]


class State(StrEnum):
    PLANNED = "planned"
    SUBMITTING = "submitting"
    CREATED = "created"
    FAILED = "failed"
    UNKNOWN = "unknown"


# Error codes the ledger itself writes.
PAYLOAD_CHANGED = "PAYLOAD_CHANGED"
LEDGER_REBUILT = "LEDGER_REBUILT"  # registered by --rebuild-ledger: looked up before any send
NEEDS_LOOKUP = "NEEDS_LOOKUP"  # a failure that proved nothing, requeued through a lookup

# Trouble: a created purchase a person must look at (counted and listed by every run).
DUPLICATE_REMOTE = "DUPLICATE_REMOTE"  # more than one supplier order for one purchase
PARTIAL = "PARTIAL"  # created, but some lines are not covered by the supplier's answer
CLOSED_UPSTREAM = "CLOSED_UPSTREAM"  # found by lookup, but closed or failed upstream
TROUBLE_CODES = frozenset({DUPLICATE_REMOTE, PARTIAL, CLOSED_UPSTREAM})

# Failures decided before any send (resolve, pre-price, rails, register): nothing was sent
# since the row was last proven absent, so a reprocess may requeue them without a lookup.
PRE_SEND_CODES = frozenset(
    {
        PAYLOAD_CHANGED,
        "ITEM_NOT_IN_POOL",
        "ITEM_NOT_FOUND",
        "SKU_NOT_FOUND",
        "SKU_NOT_DISTRIBUTABLE",
        "SKU_UNAVAILABLE",
        "NO_SUPPLIER_PRICE",
        "MARGIN_HELD",
        "FX_RATE_MISSING",
        "INVALID_PARAMETER",
    }
)

# Who may make a transition.
REGISTER = "register"
CLAIM_HOLDER = "claim holder"  # the run that holds the claim (fenced by its attempt number)
RECONCILE = "reconcile"
PRE_SEND = "resolve / pre-price / rails"
ANY_ANSWER = "anyone with the create's answer"


class Transition(NamedTuple):
    state: str  # "-" for a purchase the ledger does not know yet
    event: str
    next_state: str
    who: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition("-", "register", "planned", REGISTER),
    Transition("-", "register_rebuilt", "unknown", REGISTER),
    Transition("planned", "payload_changed", "failed", REGISTER),
    Transition("failed", "payload_changed", "failed", REGISTER),
    Transition("planned", "adopt", "planned", REGISTER),
    Transition("failed", "adopt", "planned", REGISTER),
    Transition("failed", "requeue", "planned", REGISTER),
    Transition("failed", "requeue_lookup", "unknown", REGISTER),
    Transition("planned", "claim", "submitting", CLAIM_HOLDER),
    Transition("submitting", "heartbeat", "submitting", CLAIM_HOLDER),
    Transition("submitting", "release", "planned", CLAIM_HOLDER),
    Transition("submitting", "not_sent", "planned", CLAIM_HOLDER),
    Transition("submitting", "rejected", "failed", CLAIM_HOLDER),
    Transition("submitting", "in_doubt", "unknown", CLAIM_HOLDER),
    Transition("submitting", "created", "created", ANY_ANSWER),
    Transition("unknown", "created", "created", ANY_ANSWER),
    Transition("planned", "created", "created", ANY_ANSWER),
    Transition("created", "created_again", "created", ANY_ANSWER),
    Transition("planned", "pre_send_reject", "failed", PRE_SEND),
    Transition("submitting", "found", "created", RECONCILE),
    Transition("unknown", "found", "created", RECONCILE),
    Transition("planned", "found", "created", RECONCILE),
    Transition("failed", "found", "created", RECONCILE),
    Transition("submitting", "absent", "planned", RECONCILE),
    Transition("unknown", "absent", "planned", RECONCILE),
    Transition("submitting", "absent_changed", "failed", RECONCILE),
    Transition("unknown", "absent_changed", "failed", RECONCILE),
)


def sources(event: str) -> tuple[str, ...]:
    """The states `event` may leave (from TRANSITIONS)."""
    out = tuple(t.state for t in TRANSITIONS if t.event == event and t.state != "-")
    if not out and not any(t.event == event for t in TRANSITIONS):
        raise KeyError(f"no transition for event {event!r}")
    return out


def target(event: str) -> str:
    """The state `event` leads to (one per event, from TRANSITIONS)."""
    targets = {t.next_state for t in TRANSITIONS if t.event == event}
    if len(targets) != 1:
        raise KeyError(f"event {event!r} has {len(targets)} target states")
    return targets.pop()


@dataclass(frozen=True, slots=True)
class RegisterReport:
    """What `register` found and did, by outer_purchase_id where a person may want to look."""

    inserted: int = 0
    unchanged: int = 0  # planned, same payload
    already_created: int = 0
    failed_kept: int = 0  # failed, not requeued (reprocess=missing)
    requeued: int = 0  # failed -> planned (reprocess=failed|all, or payload reverted)
    requeued_for_lookup: int = 0  # failed without proof of absence -> unknown (looked up first)
    in_flight: int = 0  # submitting/unknown: reconcile decides
    duplicates_in_input: int = 0
    payload_changed: tuple[str, ...] = ()  # flagged, not resent
    adopted: tuple[str, ...] = ()  # reprocess=all: the new payload replaced the old one


@dataclass(frozen=True, slots=True)
class Claim:
    """A purchase this run may now send, while its lease (epoch seconds) holds. `attempts` is
    the fencing token: every later write of this claim names it."""

    outer_purchase_id: str
    attempts: int
    lease_expires_at: float


@dataclass(frozen=True, slots=True)
class LineResult:
    """One purchase line as sent and, once created, as the supplier side answered."""

    order_line_no: str
    mp_id: str | None = None
    mp_sku_id: str | None = None
    quantity: int | None = None
    unit_price_fen: int | None = None
    purchase_id: str | None = None
    sub_purchase_order_id: str | None = None
    supplier: str | None = None
    estimate_amount: int | None = None
    estimate_currency: str | None = None
    sub_status: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one send (or of a reconcile query) to write back.

    `attempt` is the claim's fencing token: an outcome other than `created` is written only
    while the row is still that claim's.
    """

    outer_purchase_id: str
    state: State
    error_code: str | None = None
    error_message: str | None = None
    purchase_ids: tuple[str, ...] = ()
    payment_url: str | None = None
    amount_fen: int | None = None
    lines: tuple[LineResult, ...] = ()
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class ReconcileItem:
    """A row whose remote fate is unknown, as it was read (the guard of `settle`)."""

    outer_purchase_id: str
    state: State
    attempts: int
    lease_owner: str | None
    has_pending: bool
    updated_at: float
    not_before: float = 0.0  # "absent" is trusted only from then on (docs/submit.md)


class RowState(NamedTuple):
    state: State
    payload_hash: str
    error_code: str | None
    payload_changed: bool
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class SettleReport:
    created: int = 0
    requeued: int = 0  # absent remotely -> planned
    payload_changed: int = 0  # absent remotely, but the order changed: failed PAYLOAD_CHANGED
    stale: int = 0  # the row moved on since it was read; left alone


@dataclass(frozen=True, slots=True)
class RecordReport:
    """What `record` wrote: rows changed, and outcomes the fence refused or that met trouble."""

    written: int = 0
    fenced: tuple[str, ...] = ()  # the claim was no longer this sender's: nothing written
    created_again: tuple[str, ...] = ()  # a second successful create on a created row


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A resolved source item: `status` is "ok" or the business error code that ended it."""

    source_platform: str
    source_item_id: str
    status: str
    mp_id: str | None
    data: Mapping[str, Any]  # title, supplier, skus: [{sku_id, spec_id, mp_sku_id, price, ...}]
    fetched_at: float


@dataclass(frozen=True, slots=True)
class PurchaseRecord:
    """A purchase row with its line rows, for results tables."""

    outer_purchase_id: str
    state: State
    payload_hash: str
    attempts: int
    purchase_ids: tuple[str, ...]
    payment_url: str | None
    amount_fen: int | None
    error_code: str | None
    error_message: str | None
    payload_changed: bool
    last_run_id: str | None
    updated_at: float
    lines: dict[str, LineResult] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OwedReport:
    """Purchases the ledger still owes, from any window: planned, submitting or unknown."""

    count: int
    by_state: dict[str, int]
    oldest_created_at: float | None
    ids: tuple[str, ...]  # oldest first


@dataclass(frozen=True, slots=True)
class TroubleRow:
    """A created purchase that needs a person: its code and every remote purchase id."""

    outer_purchase_id: str
    state: State
    error_code: str
    error_message: str | None
    purchase_ids: tuple[str, ...]
