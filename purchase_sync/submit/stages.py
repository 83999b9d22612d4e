"""The submit stage: register -> reconcile -> resolve -> (pre-price) -> rails -> create.

Each stage is a plain async function so the Prefect flow can make each one a task; `run_submit`
chains them. The exactly-once rules (docs/submit.md):

- `submitting` is committed (one claim transaction per batch) before any POST of the batch.
- A `submitting`/`unknown` purchase is looked up by `outer_purchase_id` before it may be sent
  again; only a query that shows it absent puts it back to `planned`.
- A create that failed in a way that does not prove it was not processed is `unknown`.
- Outcomes are written in batches after the responses; a crash in between leaves `submitting`
  rows, which the next run reconciles.

Blocking ledger calls run in a worker thread (`asyncio.to_thread`), so the event loop keeps the
HTTP requests flowing while a batch commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger import (
    PAYLOAD_CHANGED,
    CacheEntry,
    Claim,
    Ledger,
    LineResult,
    Outcome,
    ReconcileItem,
    RegisterReport,
    State,
)
from schemas.records import PlannedPurchase
from shanjing import (
    AuthError,
    BusinessError,
    CreateResult,
    HTTPStatusError,
    PurchaseOrder,
    RateLimitedError,
    ReauthorizationRequired,
    RenderItem,
    ShanjingClient,
    ShanjingError,
    TransportError,
)

from .plan import (
    CACHEABLE_ITEM_CODES,
    DUPLICATE_REMOTE,
    OK,
    PARTIAL,
    Plan,
    Rejected,
    cache_data,
    create_request,
    item_key,
    margin_verdict,
    match_sku,
    plan_purchase,
    source_market,
    to_address,
    warehouse_address,
    with_render_prices,
)
from .report import PriceChange, ProgressEvent, SubmitReport, Verdict
from .settings import SubmitSettings

log = logging.getLogger("purchase_sync.submit")

Progress = Callable[[ProgressEvent], None] | None
Budget = Callable[[int], Awaitable[None]] | None

LEASE_SAFETY_S = 5.0  # a send must be able to finish this long before its lease expires
FLUSH_INTERVAL_S = 0.25  # outcome writes: at most this stale, or one batch
SETTLE_BATCH = 256


@dataclass
class Resolution:
    """What resolve (and pre-price) decided for the purchases that may be sent."""

    plans: list[Plan] = field(default_factory=list)  # in input order
    rejected: dict[str, Rejected] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)  # lookup failed: stay planned
    items: dict[tuple[str, str], CacheEntry] = field(default_factory=dict)


def _emit(on_progress: Progress, event: ProgressEvent) -> None:
    if on_progress is not None:
        try:
            on_progress(event)
        except Exception:  # a progress display must never break a money-moving stage
            log.exception("on_progress callback failed")


# -- register ---------------------------------------------------------------------------------


async def register(
    purchases: Sequence[PlannedPurchase],
    *,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport | None = None,
    on_progress: Progress = None,
) -> RegisterReport:
    """Make the ledger know every purchase (nothing is written in a dry run)."""
    if settings.dry_run:
        rep = RegisterReport()
    else:
        rep = await asyncio.to_thread(ledger.register, purchases, run_id, settings.reprocess)
    if report is not None:
        report.registered = rep
        report.purchases_in = len(purchases)
        report.already_created = rep.already_created
    _emit(on_progress, ProgressEvent("register", len(purchases), len(purchases)))
    return rep


# -- reconcile --------------------------------------------------------------------------------


async def reconcile(
    *,
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    among: Sequence[str] | None = None,
    report: SubmitReport | None = None,
    on_progress: Progress = None,
) -> tuple[int, int]:
    """Look up every `submitting` (lease expired, or this run's own) and `unknown` purchase by
    `outer_purchase_id`: found -> `created` with its remote ids, absent -> `planned`.

    Returns (found, absent). A lookup that fails leaves its row as it is: it will not be sent.
    """
    due = await asyncio.to_thread(ledger.due_for_reconcile, run_id, among=among)
    if not due or settings.dry_run:
        return (0, 0)
    # A request a dead process (or a timed-out call) left in flight may still land: give it time.
    newest = max(item.updated_at for item in due)
    wait = settings.reconcile_grace_s - (ledger.clock() - newest)
    if wait > 0:
        await asyncio.sleep(wait)
    ids = [item.outer_purchase_id for item in due]
    payloads = {
        p.outer_purchase_id: p for p in await asyncio.to_thread(ledger.load_purchases, ids=ids)
    }
    keys = {item_key(ln) for p in payloads.values() for ln in p.lines}
    items = await asyncio.to_thread(ledger.cache_get, keys, float("inf"))
    sem = asyncio.Semaphore(settings.max_concurrency)
    found: list[Outcome] = []
    absent: list[ReconcileItem] = []
    errors = 0

    async def look(item: ReconcileItem) -> None:
        nonlocal errors
        async with sem:
            try:
                orders = await client.find_by_outer_id(item.outer_purchase_id)
            except ReauthorizationRequired:
                raise
            except ShanjingError as exc:
                errors += 1
                log.warning("reconcile %s: lookup failed (%s)", item.outer_purchase_id, exc)
                return
        if orders:
            found.append(found_outcome(payloads.get(item.outer_purchase_id), items, orders))
        else:
            absent.append(item)

    await asyncio.gather(*(look(item) for item in due))
    created = requeued = 0
    for i in range(0, max(len(found), len(absent)), SETTLE_BATCH):
        rep = await asyncio.to_thread(
            ledger.settle,
            found[i : i + SETTLE_BATCH],
            absent[i : i + SETTLE_BATCH],
            run_id=run_id,
            adopt_pending=settings.reprocess == "all",
        )
        created += rep.created
        requeued += rep.requeued
    if report is not None:
        report.reconciled_found += created
        report.reconciled_absent += requeued
        report.created += created
    if errors:
        log.warning("reconcile: %d lookup(s) failed; those purchases stay unsent", errors)
    _emit(
        on_progress,
        ProgressEvent(
            "reconcile", len(due), len(due), created=created, message=f"{requeued} absent"
        ),
    )
    return (created, requeued)


def found_outcome(
    p: PlannedPurchase | None,
    items: dict[tuple[str, str], CacheEntry],
    orders: Sequence[PurchaseOrder],
) -> Outcome:
    """`created` from the order query, sub-orders matched to our lines by orderLineNo when the
    API sends it, else by (mp_id, mp_sku_id) through the resolution cache."""
    oid = orders[0].outer_purchase_id or (p.outer_purchase_id if p else "")
    by_pool: dict[tuple[str, str], str] = {}
    line_nos: set[str] = set()
    if p is not None:
        for ln in p.lines:
            line_nos.add(ln.order_line_no)
            entry = items.get(item_key(ln))
            if entry is None or not entry.mp_id:
                continue
            sku = match_sku(ln, entry.data.get("skus", []))  # the SKU the create sent
            if sku and sku.get("mp_sku_id"):
                by_pool[(str(entry.mp_id), str(sku["mp_sku_id"]))] = ln.order_line_no
    lines: dict[str, LineResult] = {}
    seen: dict[str, int] = {}
    unmatched = 0
    for order in orders:
        for sub in order.sub_orders:
            no = sub.order_line_no if sub.order_line_no in line_nos else None
            if no is None:
                no = by_pool.get((str(sub.mp_id), str(sub.mp_sku_id)))
            if no is None:
                unmatched += 1
                continue
            seen[no] = seen.get(no, 0) + 1
            lines[no] = LineResult(
                order_line_no=no,
                mp_id=sub.mp_id,
                mp_sku_id=sub.mp_sku_id,
                quantity=sub.quantity,
                purchase_id=order.purchase_id,
                sub_purchase_order_id=sub.sub_purchase_order_id,
                supplier=order.supplier_nick,
                sub_status=sub.status,
            )
    code = message = None
    if any(n > 1 for n in seen.values()):
        code = DUPLICATE_REMOTE
        message = (
            f"{len(orders)} supplier orders carry this outer_purchase_id and some lines appear "
            "more than once: cancel the extra purchase by hand"
        )
    elif line_nos and (set(lines) != line_nos):
        code = PARTIAL
        message = (
            f"found remotely, but lines {sorted(line_nos - set(lines))} are not matched "
            f"({unmatched} sub-order(s) unmatched)"
        )
    return Outcome(
        outer_purchase_id=oid,
        state=State.CREATED,
        error_code=code,
        error_message=message,
        purchase_ids=tuple(o.purchase_id for o in orders),
        payment_url=next((o.payment_url for o in orders if o.payment_url), None),
        lines=tuple(lines[n] for n in sorted(lines, key=_line_sort_key)),
    )


def _line_sort_key(no: str) -> tuple[int, str]:
    return (int(no), no) if no.isdigit() else (1 << 62, no)


# -- resolve ----------------------------------------------------------------------------------


async def _sendable(
    purchases: Sequence[PlannedPurchase],
    ledger: Ledger,
    settings: SubmitSettings,
    report: SubmitReport | None,
) -> list[tuple[PlannedPurchase, str]]:
    """The purchases this run may send, with their payload hash. In a dry run (nothing written)
    this predicts what register would decide, and records a verdict for the others."""
    ids = [p.outer_purchase_id for p in purchases]
    states = await asyncio.to_thread(ledger.states, ids)
    out: list[tuple[PlannedPurchase, str]] = []
    seen: set[str] = set()
    for p in purchases:
        if p.outer_purchase_id in seen:
            continue
        seen.add(p.outer_purchase_id)
        h = p.payload_hash()
        row = states.get(p.outer_purchase_id)
        if not settings.dry_run:
            if row is not None and row.state is State.PLANNED and row.payload_hash == h:
                out.append((p, h))
            continue
        verdict: Verdict | None = None
        if row is None:
            pass
        elif row.state is State.CREATED:
            verdict = Verdict("created")
        elif row.state in (State.SUBMITTING, State.UNKNOWN):
            verdict = Verdict("in_flight", None, "reconciled by the next real run")
        elif row.payload_hash != h and settings.reprocess != "all":
            verdict = Verdict("failed", PAYLOAD_CHANGED, "the order changed after it was planned")
        elif (
            row.state is State.FAILED
            and settings.reprocess == "missing"
            and row.error_code != PAYLOAD_CHANGED  # the hash matches here (branch above)
        ):
            verdict = Verdict(
                "failed", row.error_code, "failed earlier; rerun with --reprocess failed"
            )
        if verdict is None:
            out.append((p, h))
        elif report is not None:
            report.verdicts[p.outer_purchase_id] = verdict
    return out


async def resolve(
    purchases: Sequence[PlannedPurchase],
    *,
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport | None = None,
    on_progress: Progress = None,
) -> Resolution:
    """Look up the distinct source items of the sendable purchases that the cache does not hold
    (bounded concurrency), then match every line to a pool SKU.

    Items not in the pool and SKUs without `mpSkuId` fail their purchases (no create is sent);
    an item whose lookup failed for another reason leaves its purchases planned for a later run.
    """
    sendable = await _sendable(purchases, ledger, settings, report)
    keys = sorted({item_key(ln) for p, _ in sendable for ln in p.lines})
    cached = await asyncio.to_thread(ledger.cache_get, keys, settings.resolve_ttl_s)
    if settings.reprocess != "missing":  # a rerun of failures looks again at failed items
        cached = {k: e for k, e in cached.items() if e.status == OK}
    missing = [k for k in keys if k not in cached]
    sem = asyncio.Semaphore(settings.resolve_concurrency)
    fetched: list[CacheEntry] = []
    item_errors: dict[tuple[str, str], Rejected] = {}
    calls = 0
    done = 0

    async def fetch(key: tuple[str, str]) -> None:
        nonlocal calls, done
        platform, item_id = key
        async with sem:
            calls += 1
            try:
                product = await client.get_product(item_id, source_market(platform))
            except ReauthorizationRequired:
                raise
            except BusinessError as exc:
                if exc.code in CACHEABLE_ITEM_CODES:
                    fetched.append(
                        CacheEntry(platform, item_id, exc.code, None, {}, ledger.clock())
                    )
                else:
                    item_errors[key] = Rejected(exc.code, f"product/get {item_id}: {exc.message}")
                return
            except ShanjingError as exc:
                log.warning("resolve %s %s: %s (purchases stay planned)", platform, item_id, exc)
                return
            finally:
                done += 1
                if done % 500 == 0:
                    _emit(on_progress, ProgressEvent("resolve", done, len(missing)))
        status = OK if product.mp_id else "ITEM_NOT_IN_POOL"
        fetched.append(
            CacheEntry(
                platform, item_id, status, product.mp_id, cache_data(product), ledger.clock()
            )
        )

    await asyncio.gather(*(fetch(k) for k in missing))
    if fetched:
        await asyncio.to_thread(ledger.cache_put, fetched)
    items = dict(cached)
    items.update({(e.source_platform, e.source_item_id): e for e in fetched})

    res = Resolution(items=items)
    failures: list[tuple[str, str, str]] = []
    for p, h in sendable:
        bad = next(
            (item_errors[item_key(ln)] for ln in p.lines if item_key(ln) in item_errors), None
        )
        outcome = bad or plan_purchase(p, items, h)
        if outcome is None:
            res.unresolved.append(p.outer_purchase_id)
        elif isinstance(outcome, Rejected):
            res.rejected[p.outer_purchase_id] = outcome
            failures.append((p.outer_purchase_id, outcome.code, outcome.message))
        else:
            res.plans.append(outcome)
    if failures and not settings.dry_run:
        await asyncio.to_thread(ledger.mark_failed, run_id, failures)
    if report is not None:
        report.distinct_items = len(keys)
        report.uncached_items = len(missing)
        report.resolve_calls += calls
        report.cache_hits += len(cached)
        report.unresolved = len(res.unresolved)
        for oid, rej in res.rejected.items():
            report.failed[rej.code] += 1
            report.verdicts[oid] = Verdict("failed", rej.code, rej.message)
        for oid in res.unresolved:
            report.verdicts[oid] = Verdict("unresolved", None, "item lookup failed; stays planned")
    _emit(
        on_progress,
        ProgressEvent(
            "resolve",
            len(missing),
            len(missing),
            failed=len(res.rejected),
            message=f"{calls} lookups, {len(cached)} cached",
        ),
    )
    return res


# -- pre-price --------------------------------------------------------------------------------


async def pre_price(
    resolution: Resolution,
    *,
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport | None = None,
    on_progress: Progress = None,
) -> Resolution:
    """Price each purchase with `order/render`: unavailable SKUs fail the purchase (the create
    would be refused the same way), price changes are reported and the render prices used."""
    sem = asyncio.Semaphore(settings.resolve_concurrency)
    priced: dict[str, Plan] = {}
    rejected: dict[str, Rejected] = {}
    changes: list[PriceChange] = []
    calls = 0

    async def price(plan: Plan) -> None:
        nonlocal calls
        p = plan.purchase
        items = [
            RenderItem(mp_id=q.mp_id, mp_sku_id=q.mp_sku_id, quantity=q.line.quantity)
            for q in plan.lines
        ]
        async with sem:
            calls += 1
            try:
                result = await client.render_order(
                    items, to_address(settings, p), warehouse_address(settings)
                )
            except ReauthorizationRequired:
                raise
            except BusinessError as exc:
                rejected[p.outer_purchase_id] = Rejected(exc.code, f"render: {exc.message}")
                return
            except ShanjingError as exc:
                log.warning("render %s: %s (priced by product/get)", p.outer_purchase_id, exc)
                priced[p.outer_purchase_id] = plan
                return
        if result.unavailable:
            u = result.unavailable[0]
            rejected[p.outer_purchase_id] = Rejected(
                u.error_code or "SKU_UNAVAILABLE",
                f"render: {len(result.unavailable)} SKU(s) unavailable, e.g. "
                f"{u.mp_id}/{u.mp_sku_id}: {u.reason or u.error_msg or ''}".rstrip(),
            )
            return
        unit: dict[tuple[str, str], int] = {}
        for group in result.groups:
            for info in group.items:
                money = info.discount_price or info.origin_price
                if money is not None and money.amount is not None:
                    unit[(str(info.mp_id), str(info.mp_sku_id))] = money.amount
        by_line: dict[str, int] = {}
        for q in plan.lines:
            new = unit.get((q.mp_id, q.mp_sku_id))
            if new is None:
                continue
            by_line[q.line.order_line_no] = new
            if new != q.unit_price_fen:
                changes.append(
                    PriceChange(p.outer_purchase_id, q.line.order_line_no, q.unit_price_fen, new)
                )
        priced[p.outer_purchase_id] = with_render_prices(plan, by_line, result.total_amount)

    await asyncio.gather(*(price(plan) for plan in resolution.plans))
    out = Resolution(
        plans=[
            priced[pl.outer_purchase_id]
            for pl in resolution.plans
            if pl.outer_purchase_id in priced
        ],
        rejected={**resolution.rejected, **rejected},
        unresolved=list(resolution.unresolved),
        items=resolution.items,
    )
    if rejected and not settings.dry_run:
        await asyncio.to_thread(
            ledger.mark_failed, run_id, [(oid, r.code, r.message) for oid, r in rejected.items()]
        )
    if report is not None:
        report.render_calls += calls
        report.unavailable += sum(1 for r in rejected.values() if "UNAVAILABLE" in r.code)
        report.price_changes.extend(changes)
        for oid, rej in rejected.items():
            report.failed[rej.code] += 1
            report.verdicts[oid] = Verdict("failed", rej.code, rej.message)
    _emit(
        on_progress,
        ProgressEvent(
            "pre_price",
            calls,
            len(resolution.plans),
            failed=len(rejected),
            message=f"{len(changes)} price change(s)",
        ),
    )
    return out


# -- create -----------------------------------------------------------------------------------


def created_outcome(plan: Plan, result: CreateResult) -> Outcome:
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


def error_outcome(plan: Plan, exc: BaseException) -> Outcome:
    """Classify a failed create. Only proof that nothing was processed allows `planned`."""

    def out(state: State, code: str, message: str) -> Outcome:
        return Outcome(
            plan.outer_purchase_id, state, code, message[:500], amount_fen=plan.amount_fen
        )

    if isinstance(exc, BusinessError):
        return out(State.FAILED, exc.code, exc.message or str(exc))
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
        return out(State.UNKNOWN, "TIMEOUT", "the send outlived its lease safety margin")
    return out(State.UNKNOWN, "CLIENT_ERROR", f"{type(exc).__name__}: {exc}")


class _OutcomeWriter:
    """Buffers outcomes and releases; writes them in batches from a worker thread."""

    def __init__(
        self,
        ledger: Ledger,
        run_id: str,
        batch: int,
        report: SubmitReport,
        plans: dict[str, Plan],
        on_progress: Progress,
        total: int,
    ) -> None:
        self.ledger = ledger
        self.run_id = run_id
        self.batch = batch
        self.report = report
        self.plans = plans
        self.on_progress = on_progress
        self.total = total
        self.outcomes: list[Outcome] = []
        self.releases: list[str] = []
        self.done = 0
        self.created = self.failed = self.unknown = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._loop())

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if len(self.outcomes) >= self.batch:
            self._wake.set()

    def release(self, oid: str) -> None:
        self.releases.append(oid)
        if len(self.releases) >= self.batch:
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL_S)
            self._wake.clear()
            await self._flush()
            if self._closed and not self.outcomes and not self.releases:
                return

    async def _flush(self) -> None:
        outcomes, self.outcomes = self.outcomes, []
        releases, self.releases = self.releases, []
        if outcomes:
            await asyncio.to_thread(self.ledger.record, self.run_id, outcomes)
        if releases:
            await asyncio.to_thread(self.ledger.release, self.run_id, releases)
        if not outcomes:
            return
        r = self.report
        for o in outcomes:
            self.done += 1
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
        _emit(
            self.on_progress,
            ProgressEvent("create", self.done, self.total, self.created, self.failed, self.unknown),
        )

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        await self._task


class _Rails:
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


def _cny(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


async def create(
    resolution: Resolution,
    *,
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport | None = None,
    on_progress: Progress = None,
    budget: Budget = None,
) -> SubmitReport:
    """Apply the rails, then send every plan exactly once: claim a batch (committed), send it
    with at most `max_concurrency` in flight, write the outcomes in batches. Between passes the
    run's own `unknown` purchases are reconciled and the absent ones sent again."""
    report = report or SubmitReport(run_id=run_id, dry_run=settings.dry_run)
    held: list[tuple[str, str, str]] = []
    plans: list[Plan] = []
    for plan in resolution.plans:
        rej = margin_verdict(plan, settings)
        if rej is None:
            plans.append(plan)
        else:
            held.append((plan.outer_purchase_id, rej.code, rej.message))
            report.verdicts[plan.outer_purchase_id] = Verdict(
                "held", rej.code, rej.message, plan.amount_fen
            )
    report.held += len(held)
    for _, code, _ in held:
        report.failed[code] += 1
    if settings.dry_run:
        rails = _Rails(settings.max_purchases, settings.max_amount_fen)
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
        return report
    if held:
        await asyncio.to_thread(ledger.mark_failed, run_id, held)

    by_id = {plan.outer_purchase_id: plan for plan in plans}
    ids = list(by_id)
    rails = _Rails(settings.max_purchases, settings.max_amount_fen)
    pending = plans
    fatal: list[BaseException] = []
    for pass_no in range(settings.max_passes):
        report.passes += 1
        await _send_pass(
            pending,
            client,
            ledger,
            settings,
            run_id,
            report,
            rails,
            by_id,
            fatal,
            on_progress,
            budget,
        )
        if fatal or rails.stopped:
            break
        states = await asyncio.to_thread(ledger.states, ids)
        unsettled = [i for i in ids if states[i].state in (State.UNKNOWN, State.SUBMITTING)]
        again = [by_id[i] for i in ids if states[i].state is State.PLANNED]
        if (not unsettled and not again) or pass_no == settings.max_passes - 1:
            break
        if unsettled:
            await reconcile(
                client=client,
                ledger=ledger,
                settings=settings,
                run_id=run_id,
                among=unsettled,
                report=report,
                on_progress=on_progress,
            )
            states = await asyncio.to_thread(ledger.states, ids)
            again = [by_id[i] for i in ids if states[i].state is State.PLANNED]
        if not again:
            break
        pending = again
    if rails.stopped:
        report.stopped_reason = rails.stopped
        sent = set(rails.sent)
        report.skipped_by_rail = sum(1 for i in ids if i not in sent)
    if fatal:
        raise fatal[0]
    return report


async def _send_pass(
    plans: list[Plan],
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport,
    rails: _Rails,
    by_id: dict[str, Plan],
    fatal: list[BaseException],
    on_progress: Progress,
    budget: Budget,
) -> None:
    batch = settings.claim_batch
    queue: asyncio.Queue[tuple[Plan, Claim] | None] = asyncio.Queue(maxsize=batch)
    writer = _OutcomeWriter(ledger, run_id, batch, report, by_id, on_progress, len(plans))
    deadline_s = float(getattr(client, "deadline_s", 120.0))
    n_workers = settings.max_concurrency
    warehouse = warehouse_address(settings)

    async def producer() -> None:
        i = 0
        try:
            while i < len(plans) and not fatal and rails.stopped is None:
                chunk: dict[str, str] = {}
                tentative: dict[str, int] = {}
                tentative_amount = 0
                while i < len(plans) and len(chunk) < batch:
                    plan = plans[i]
                    if not rails.allows(plan, tentative, tentative_amount):
                        break
                    chunk[plan.outer_purchase_id] = plan.payload_hash
                    if plan.outer_purchase_id not in rails.sent:
                        tentative[plan.outer_purchase_id] = plan.amount_fen
                        tentative_amount += plan.amount_fen
                    i += 1
                if not chunk:
                    break
                if budget is not None:
                    await budget(len(chunk))
                claims = await asyncio.to_thread(
                    ledger.claim, run_id, len(chunk), settings.lease_s, among=chunk
                )
                for c in claims:
                    rails.mark_sent(c.outer_purchase_id, by_id[c.outer_purchase_id].amount_fen)
                for c in claims:
                    await queue.put((by_id[c.outer_purchase_id], c))
        finally:
            for _ in range(n_workers):
                await queue.put(None)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            plan, claim = item
            remaining = claim.lease_expires_at - ledger.clock() - LEASE_SAFETY_S
            if fatal or remaining < deadline_s:
                writer.release(plan.outer_purchase_id)  # never sent: the claim is undone
                continue
            report.creates_sent += 1
            try:
                async with asyncio.timeout(remaining):
                    result = await client.create_order(create_request(plan, settings, warehouse))
            except ReauthorizationRequired as exc:
                if not fatal:
                    fatal.append(exc)
                writer.add(error_outcome(plan, exc))
            except Exception as exc:
                if not isinstance(exc, ShanjingError | TimeoutError):
                    log.exception("create %s: unexpected error", plan.outer_purchase_id)
                writer.add(error_outcome(plan, exc))
            else:
                if result.orders:
                    writer.add(created_outcome(plan, result))
                else:
                    writer.add(
                        error_outcome(
                            plan,
                            TransportError(
                                "create", None, "success without orders", possibly_received=True
                            ),
                        )
                    )

    try:
        await asyncio.gather(producer(), *(worker() for _ in range(n_workers)))
    finally:
        await writer.close()


# -- everything -------------------------------------------------------------------------------


def read_final_states(ledger: Ledger, ids: list[str], report: SubmitReport) -> None:
    """The ledger states of `ids` at the end of a run; `unknown` counts those still in flight."""
    report.final_states = ledger.counts(ids)
    report.unknown = report.final_states.get("unknown", 0) + report.final_states.get(
        "submitting", 0
    )


async def run_submit(
    purchases: list[PlannedPurchase],
    *,
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    budget: Callable[[int], Awaitable[None]] | None = None,
) -> SubmitReport:
    """register -> reconcile -> resolve -> (pre-price) -> rails -> create, with one report.

    A dry run writes no purchase state (only the resolution cache) and sends no create.
    Raises `ReauthorizationRequired` (a UserError) after writing every outcome, if the API
    refuses the refresh token.
    """
    t0 = time.perf_counter()
    busy0, cpu0 = ledger.busy_s, ledger.cpu_s
    report = SubmitReport(run_id=run_id, dry_run=settings.dry_run, purchases_in=len(purchases))
    ids = [p.outer_purchase_id for p in purchases]
    try:
        await asyncio.to_thread(ledger.create_schema)
        await register(
            purchases,
            ledger=ledger,
            settings=settings,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
        )
        await reconcile(
            client=client,
            ledger=ledger,
            settings=settings,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
        )
        resolution = await resolve(
            purchases,
            client=client,
            ledger=ledger,
            settings=settings,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
        )
        if settings.pre_price or settings.dry_run:
            resolution = await pre_price(
                resolution,
                client=client,
                ledger=ledger,
                settings=settings,
                run_id=run_id,
                report=report,
                on_progress=on_progress,
            )
        await create(
            resolution,
            client=client,
            ledger=ledger,
            settings=settings,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
            budget=budget,
        )
    finally:
        if not settings.dry_run:
            try:
                await asyncio.to_thread(read_final_states, ledger, ids, report)
            except Exception:  # the report must not hide the original error
                log.exception("could not read the final ledger counts")
        report.client_stats = client.stats.snapshot()
        report.ledger_s = ledger.busy_s - busy0
        report.ledger_cpu_s = ledger.cpu_s - cpu0
        report.total_s = time.perf_counter() - t0
        _emit(
            on_progress,
            ProgressEvent(
                "done",
                len(purchases),
                len(purchases),
                report.created,
                report.failed_total,
                report.unknown,
                report.stopped_reason or "",
            ),
        )
    return report
