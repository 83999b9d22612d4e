"""Outcomes of sends: classified (created, failed, unknown, planned) and written in batches.

Only a documented business rejection (`shanjing.endpoints.is_rejection`) is `failed`; an
error envelope without documented meaning, a timeout, a 5xx or a cancelled request is
`unknown` and reconciled. Every outcome carries its claim's attempt number (the fence).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from ledger import PARTIAL, Claim, Ledger, LineResult, Outcome, State
from shanjing import (
    AuthError,
    BusinessError,
    CreateResult,
    GatewayError,
    HTTPStatusError,
    RateLimitedError,
    TransportError,
)
from shanjing.endpoints import is_rejection

from .common import Progress, emit, log
from .plan import Plan
from .report import ProgressEvent, SubmitReport

FLUSH_INTERVAL_S = 0.25  # outcome writes: at most this stale, or one batch


def created_outcome(plan: Plan, result: CreateResult, attempt: int | None = None) -> Outcome:
    """`created` with remote ids per line (by orderLineNo, else by pool ids); lines the answer
    does not cover are recorded as sent and the purchase flagged PARTIAL."""
    by_pool = {(q.mp_id, q.mp_sku_id): q for q in plan.lines}
    by_no = {q.line.order_line_no: q for q in plan.lines}
    lines: dict[str, LineResult] = {}
    for order in result.orders:
        for cl in order.lines:
            q = by_no.get(cl.order_line_no or "") or by_pool.get((str(cl.mp_id), str(cl.mp_sku_id)))
            if q is None:
                continue
            lines[q.line.order_line_no] = LineResult(
                order_line_no=q.line.order_line_no,
                mp_id=q.mp_id,
                mp_sku_id=q.mp_sku_id,
                quantity=q.line.quantity,
                unit_price_fen=q.unit_price_fen,
                purchase_id=order.purchase_id,
                sub_purchase_order_id=cl.sub_purchase_order_id,
                supplier=order.supplier_nick or q.supplier,
                estimate_amount=cl.estimate_amount,
                estimate_currency=cl.estimate_currency or order.estimate_currency,
            )
    missing = [no for no in by_no if no not in lines]
    for no in missing:
        lines[no] = _sent_line(by_no[no])
    return Outcome(
        outer_purchase_id=plan.outer_purchase_id,
        state=State.CREATED,
        error_code=PARTIAL if missing else None,
        error_message=f"the answer does not cover lines {missing}" if missing else None,
        purchase_ids=tuple(o.purchase_id for o in result.orders),
        payment_url=result.payment_url,
        amount_fen=plan.amount_fen,
        lines=tuple(lines[no] for no in by_no),
        attempt=attempt,
    )


def _sent_line(q: Any) -> LineResult:
    return LineResult(
        order_line_no=q.line.order_line_no,
        mp_id=q.mp_id,
        mp_sku_id=q.mp_sku_id,
        quantity=q.line.quantity,
        unit_price_fen=q.unit_price_fen,
        supplier=q.supplier,
    )


def error_outcome(plan: Plan, exc: BaseException, attempt: int | None = None) -> Outcome:
    """Classify a failed create. Only proof that nothing was processed allows `planned`; only a
    documented business rejection is `failed`; anything else is `unknown` (reconciled)."""

    def out(state: State, code: str, message: str) -> Outcome:
        return Outcome(
            plan.outer_purchase_id,
            state,
            code,
            message[:500],
            amount_fen=plan.amount_fen,
            attempt=attempt,
        )

    if isinstance(exc, BusinessError) and is_rejection("create", exc.code):
        return out(State.FAILED, exc.code, exc.message or str(exc))
    if isinstance(exc, BusinessError | GatewayError):  # an envelope that proves nothing
        return out(State.UNKNOWN, f"ENVELOPE_{exc.code}", str(exc))
    if isinstance(exc, RateLimitedError):
        return out(State.PLANNED, "RATE_LIMITED", str(exc))
    if isinstance(exc, AuthError):  # includes ReauthorizationRequired: refused, not processed
        return out(State.PLANNED, "AUTH", str(exc))
    if isinstance(exc, TransportError):
        if not exc.possibly_received:
            return out(State.PLANNED, "NOT_SENT", str(exc))
        return out(State.UNKNOWN, "TRANSPORT", str(exc))
    if isinstance(exc, HTTPStatusError):
        return out(State.UNKNOWN, f"HTTP_{exc.status_code}", str(exc))
    if isinstance(exc, TimeoutError):
        return out(State.UNKNOWN, "TIMEOUT", "the send outlived the client deadline")
    if isinstance(exc, asyncio.CancelledError):
        return out(State.UNKNOWN, "CANCELLED", "the stage stopped while the request was in flight")
    return out(State.UNKNOWN, "CLIENT_ERROR", f"{type(exc).__name__}: {exc}")


class OutcomeWriter:
    """Buffers outcomes and releases; writes them in batches from a worker thread.

    `on_written(ids)` is told which claims are settled (written, released or fenced), so the
    heartbeat stops renewing them.
    """

    def __init__(
        self,
        ledger: Ledger,
        run_id: str,
        batch: int,
        report: SubmitReport,
        plans: dict[str, Plan],
        on_progress: Progress,
        total: int,
        on_written: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.run_id = run_id
        self.batch = batch
        self.report = report
        self.plans = plans
        self.on_progress = on_progress
        self.total = total
        self.on_written = on_written
        self.outcomes: list[Outcome] = []
        self.releases: list[Claim] = []
        self.done = 0
        self.created = self.failed = self.unknown = 0
        self._wake = asyncio.Event()
        self._closed = False

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if len(self.outcomes) >= self.batch:
            self._wake.set()

    def release(self, claim: Claim) -> None:
        self.releases.append(claim)
        if len(self.releases) >= self.batch:
            self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL_S)
            self._wake.clear()
            await self.flush()
            if self._closed and not self.outcomes and not self.releases:
                return

    async def flush(self) -> None:
        outcomes, self.outcomes = self.outcomes, []
        releases, self.releases = self.releases, []
        try:
            if outcomes:
                rec = await asyncio.to_thread(self.ledger.record, self.run_id, outcomes)
                self._count(outcomes, set(rec.fenced))
                r = self.report
                r.fenced += len(rec.fenced)
                r.created_again += len(rec.created_again)
                for oid in rec.fenced:
                    log.warning("%s: outcome not written, the claim is no longer ours", oid)
            if releases:
                await asyncio.to_thread(self.ledger.release, releases)
        except BaseException:
            self.outcomes[:0], self.releases[:0] = outcomes, releases  # kept for a last try
            raise
        if self.on_written is not None:
            self.on_written(
                [o.outer_purchase_id for o in outcomes] + [c.outer_purchase_id for c in releases]
            )

    def _count(self, outcomes: list[Outcome], fenced: set[str]) -> None:
        if not outcomes:
            return
        r = self.report
        for o in outcomes:
            self.done += 1
            if o.outer_purchase_id in fenced:
                continue
            if o.state is State.CREATED:
                self.created += 1
                r.created += 1
                plan = self.plans[o.outer_purchase_id]
                r.amount_fen["CNY"] += plan.amount_fen
                r.revenue[plan.purchase.currency] += plan.purchase.revenue
            elif o.state is State.FAILED:
                self.failed += 1
                r.failed[o.error_code or "FAILED"] += 1
            elif o.state is State.UNKNOWN:
                self.unknown += 1
        emit(
            self.on_progress,
            ProgressEvent("create", self.done, self.total, self.created, self.failed, self.unknown),
        )
