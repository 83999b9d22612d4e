"""What a submit run did, in numbers a person (and the run summary) can read."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger import OwedReport, RegisterReport, TroubleRow


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Sent to `on_progress` at stage boundaries and after each batch of outcomes."""

    stage: str  # register | reconcile | resolve | pre_price | create | done
    done: int
    total: int
    created: int = 0
    failed: int = 0
    unknown: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True)
class PriceChange:
    """Render priced a line differently from product/get (unit prices in CNY fen)."""

    outer_purchase_id: str
    order_line_no: str
    before_fen: int
    after_fen: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """What would happen to one purchase (dry run), or what was decided before any send."""

    status: str  # would_create | created | failed | held | in_flight | unresolved
    error_code: str | None = None
    error_message: str | None = None
    amount_fen: int | None = None


@dataclass
class SubmitReport:
    """Counts of one run. Amounts are integer fen per currency; times in seconds."""

    run_id: str
    dry_run: bool = False
    purchases_in: int = 0
    registered: RegisterReport | None = None
    # outcomes of this run
    created: int = 0  # created by this run's sends or found by its reconciliation
    already_created: int = 0  # created before this run started
    failed: Counter[str] = field(default_factory=Counter)  # new failures by code
    unknown: int = 0  # left unknown (or submitting) at the end: reconcile next run
    held: int = 0  # margin rule
    skipped_by_rail: int = 0
    stopped_reason: str | None = None
    unresolved: int = 0  # items that could not be looked up this run (stay planned)
    # reconciliation
    reconciled_found: int = 0
    reconciled_absent: int = 0
    lookups_failed: int = 0  # failed or incomplete lookups: those purchases stay in doubt
    fenced: int = 0  # outcomes refused because the claim had moved on (a second holder)
    created_again: int = 0  # a second successful create on an already created purchase
    owed: OwedReport | None = None  # the whole ledger's owed purchases at the end of the run
    owed_age_s: float | None = None
    trouble: list[TroubleRow] = field(default_factory=list)
    # resolution
    distinct_items: int = 0
    uncached_items: int = 0
    resolve_calls: int = 0
    cache_hits: int = 0
    # pre-pricing
    render_calls: int = 0
    unavailable: int = 0
    price_changes: list[PriceChange] = field(default_factory=list)
    # sending
    creates_sent: int = 0
    passes: int = 0
    amount_fen: Counter[str] = field(default_factory=Counter)  # created this run, by currency
    revenue: Counter[str] = field(default_factory=Counter)  # of those, marketplace revenue (str)
    client_stats: dict[str, Any] = field(default_factory=dict)
    ledger_s: float = 0.0  # wall time inside ledger calls (waits included)
    ledger_cpu_s: float = 0.0  # CPU those calls used
    total_s: float = 0.0
    final_states: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # dry run, and pre-send decisions

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def rate_limited(self) -> int:
        return int(self.client_stats.get("rate_limited", 0))

    @property
    def retries(self) -> int:
        return int(self.client_stats.get("retries", 0))

    @property
    def ledger_share(self) -> float:
        return self.ledger_s / self.total_s if self.total_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-able counts for summary.json and the Prefect artifact (no personal data)."""
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "purchases_in": self.purchases_in,
            "registered": _register_summary(self.registered),
            "created": self.created,
            "already_created": self.already_created,
            "failed": dict(self.failed),
            "failed_total": self.failed_total,
            "unknown": self.unknown,
            "held": self.held,
            "skipped_by_rail": self.skipped_by_rail,
            "stopped_reason": self.stopped_reason,
            "unresolved": self.unresolved,
            "reconciled_found": self.reconciled_found,
            "reconciled_absent": self.reconciled_absent,
            "distinct_items": self.distinct_items,
            "uncached_items": self.uncached_items,
            "resolve_calls": self.resolve_calls,
            "cache_hits": self.cache_hits,
            "render_calls": self.render_calls,
            "unavailable": self.unavailable,
            "price_changes": len(self.price_changes),
            "creates_sent": self.creates_sent,
            "passes": self.passes,
            "amount_fen": dict(self.amount_fen),
            "revenue": dict(self.revenue),
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "api_calls": dict(self.client_stats.get("calls", {})),
            "ledger_s": round(self.ledger_s, 3),
            "ledger_cpu_s": round(self.ledger_cpu_s, 3),
            "total_s": round(self.total_s, 3),
            "ledger_share": round(self.ledger_share, 4),
            "final_states": dict(self.final_states),
            "lookups_failed": self.lookups_failed,
            "fenced": self.fenced,
            "created_again": self.created_again,
            "purchases_owed": owed_summary(self.owed, self.owed_age_s),
            "trouble": trouble_summary(self.trouble),
        }


def _register_summary(rep: RegisterReport | None) -> dict[str, Any] | None:
    """Counts, and at most 20 example ids per list (a summary is not an id dump)."""
    if rep is None:
        return None
    out: dict[str, Any] = asdict(rep)
    for key in ("payload_changed", "adopted"):
        ids = out.pop(key)
        out[key] = len(ids)
        if ids:
            out[f"{key}_examples"] = list(ids[:20])
    return out


def owed_summary(owed: OwedReport | None, age_s: float | None) -> dict[str, Any]:
    """What the whole ledger still owes (any window): count, by state, oldest age."""
    if owed is None:
        return {"count": 0, "by_state": {}, "oldest_age_s": None}
    return {
        "count": owed.count,
        "by_state": dict(owed.by_state),
        "oldest_age_s": round(age_s, 1) if age_s is not None else None,
    }


def trouble_summary(rows: list[TroubleRow]) -> dict[str, Any]:
    """Purchases that need a person, counted by code (listed by id in the failures artifact)."""
    by_code: Counter[str] = Counter(r.error_code for r in rows)
    return {"count": len(rows), "by_code": dict(by_code)}
