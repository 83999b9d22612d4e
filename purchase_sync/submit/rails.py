"""Stage 5, rails: the margin rule holds a purchase before any send, and per-run caps on
distinct purchases and CNY fen stop the sending."""

from __future__ import annotations

from decimal import Decimal

from .plan import Plan, margin_verdict
from .report import SubmitReport, Verdict
from .settings import SubmitSettings


def hold_by_margin(
    plans: list[Plan], settings: SubmitSettings, report: SubmitReport
) -> tuple[list[Plan], list[tuple[str, str, str]]]:
    """Split the plans into those that may be sent and those the margin rule holds."""
    held: list[tuple[str, str, str]] = []
    keep: list[Plan] = []
    for plan in plans:
        rej = margin_verdict(plan, settings)
        if rej is None:
            keep.append(plan)
        else:
            held.append((plan.outer_purchase_id, rej.code, rej.message))
            report.verdicts[plan.outer_purchase_id] = Verdict(
                "held", rej.code, rej.message, plan.amount_fen
            )
    report.held += len(held)
    for _, code, _ in held:
        report.failed[code] += 1
    return keep, held


class Rails:
    """Per-run safety rails: distinct purchases and CNY fen sent (running totals, O(1) a check)."""

    def __init__(self, max_purchases: int | None, max_amount_fen: int | None) -> None:
        self.max_purchases = max_purchases
        self.max_amount_fen = max_amount_fen
        self.sent: set[str] = set()
        self.sent_amount = 0
        self.stopped: str | None = None

    def mark_sent(self, oid: str, amount_fen: int) -> None:
        if oid not in self.sent:
            self.sent.add(oid)
            self.sent_amount += amount_fen

    def allows(self, plan: Plan, tentative: dict[str, int], tentative_amount: int) -> bool:
        if plan.outer_purchase_id in self.sent:
            return True  # a resend of an absent purchase is the same purchase
        n = len(self.sent) + len(tentative)
        amount = self.sent_amount + tentative_amount
        if self.max_purchases is not None and n + 1 > self.max_purchases:
            self.stopped = f"max_purchases={self.max_purchases} reached: {n} purchase(s) sent"
            return False
        if self.max_amount_fen is not None and amount + plan.amount_fen > self.max_amount_fen:
            self.stopped = (
                f"max_amount={_cny(self.max_amount_fen)} CNY reached: {_cny(amount)} CNY sent; "
                f"the next purchase ({plan.outer_purchase_id}, {_cny(plan.amount_fen)} CNY) "
                "would exceed it"
            )
            return False
        return True


def dry_run_rails(plans: list[Plan], settings: SubmitSettings, report: SubmitReport) -> None:
    """What the rails would let through, as verdicts (nothing is claimed or sent)."""
    rails = Rails(settings.max_purchases, settings.max_amount_fen)
    for plan in plans:
        if rails.stopped is None and rails.allows(plan, {}, 0):
            rails.mark_sent(plan.outer_purchase_id, plan.amount_fen)
            report.verdicts[plan.outer_purchase_id] = Verdict(
                "would_create", amount_fen=plan.amount_fen
            )
        else:
            report.skipped_by_rail += 1
            report.verdicts[plan.outer_purchase_id] = Verdict(
                "skipped_by_rail", None, rails.stopped, plan.amount_fen
            )
    report.stopped_reason = rails.stopped


def _cny(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"
