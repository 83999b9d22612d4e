"""Stage 2, reconcile: settle what a run left in doubt by looking it up, never by guessing.

A `submitting`/`unknown` purchase is looked up by `outer_purchase_id` only once its not-before
has passed: its last possible send start (the lease as last renewed), plus the sender's whole
client deadline, plus `reconcile_grace_s` for a backend that commits late. A rerun straight
after a crash waits for that, bounded and saying so, then sends what is truly absent. Rows
whose holder is alive (their lease keeps being renewed) are left to it.

Only a complete, filtered answer that lacks the id means absent; an incomplete lookup
(`IncompleteLookupError`) or any other failure leaves the row in doubt, never resent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ledger import (
    CLOSED_UPSTREAM,
    DUPLICATE_REMOTE,
    PARTIAL,
    CacheEntry,
    Ledger,
    LineResult,
    Outcome,
    ReconcileItem,
    State,
)
from schemas.records import PlannedPurchase
from shanjing import (
    IncompleteLookupError,
    PurchaseOrder,
    ReauthorizationRequired,
    ShanjingClient,
    ShanjingError,
)

from .common import Progress, emit, log
from .plan import item_key, match_sku
from .report import ProgressEvent, SubmitReport
from .settings import SubmitSettings

SETTLE_BATCH = 256
CLOSED_STATUSES = frozenset({"TRADE_CLOSED", "TRADE_CANCEL", "CANCELLED", "FAILED", "CLOSED"})


def client_deadline(client: ShanjingClient) -> float:
    return float(getattr(client, "deadline_s", 120.0))


def max_wait_s(settings: SubmitSettings, deadline_s: float) -> float:
    """How long a rerun waits at most for a dead run's rows: a lease, a deadline, the grace."""
    return settings.lease_s + deadline_s + settings.reconcile_grace_s + settings.heartbeat_s


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
    """Look up every purchase in doubt once it may be trusted: found -> `created` with its
    remote ids, absent -> `planned`. Returns (found, absent)."""
    if settings.dry_run:
        return (0, 0)
    grace = settings.reconcile_grace_s
    items = await asyncio.to_thread(ledger.in_doubt, grace, among=among)
    if not items:
        return (0, 0)
    start = ledger.clock()
    limit = start + max_wait_s(settings, client_deadline(client))
    waiting = {i.outer_purchase_id: i for i in items}
    said: tuple[int, int] | None = None
    created = requeued = errors = live = 0
    while waiting:
        now = ledger.clock()
        ready = [i for i in waiting.values() if i.not_before <= now]
        for i in ready:
            del waiting[i.outer_purchase_id]
        if ready:
            c, r, e = await _look_up_and_settle(ready, client, ledger, settings, run_id)
            created, requeued, errors = created + c, requeued + r, errors + e
        later = [i for i in waiting.values() if i.not_before <= limit]
        if not later:
            break
        next_at = min(i.not_before for i in later)
        said, last_said = (len(later), round(next_at)), said
        if said != last_said:
            log.info(
                "reconcile: waiting %.1fs for %d purchase(s) in doubt to pass their "
                "not-before (lease + client deadline + %gs grace; at most %.0fs in all)",
                max(next_at - ledger.clock(), 0.0),
                len(later),
                grace,
                limit - start,
            )
        await asyncio.sleep(
            min(max(next_at - ledger.clock(), 0.05), max(settings.heartbeat_s, 0.1))
        )
        fresh = {
            i.outer_purchase_id: i
            for i in await asyncio.to_thread(ledger.in_doubt, grace, among=list(waiting))
        }
        for oid, old in list(waiting.items()):
            new = fresh.get(oid)
            if new is None:
                del waiting[oid]  # settled by someone else meanwhile
            elif new.state is State.SUBMITTING and new.updated_at != old.updated_at:
                del waiting[oid]  # its lease is being renewed: a live run holds it
                live += 1
            else:
                waiting[oid] = new
    if waiting or live:
        log.warning(
            "reconcile: %d purchase(s) still in doubt (not-before beyond the wait, or held by a "
            "live run); a later run settles them",
            len(waiting) + live,
        )
    if report is not None:
        report.reconciled_found += created
        report.reconciled_absent += requeued
        report.created += created
        report.lookups_failed += errors
    if errors:
        log.warning("reconcile: %d lookup(s) failed or were incomplete; not resent", errors)
    emit(
        on_progress,
        ProgressEvent(
            "reconcile", len(items), len(items), created=created, message=f"{requeued} absent"
        ),
    )
    return (created, requeued)


async def _look_up_and_settle(
    due: list[ReconcileItem],
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
) -> tuple[int, int, int]:
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
            except IncompleteLookupError as exc:
                errors += 1
                log.warning(
                    "reconcile %s: lookup incomplete (%s): stays in doubt",
                    item.outer_purchase_id,
                    exc.reason,
                )
                return
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
    return created, requeued, errors


def found_outcome(
    p: PlannedPurchase | None,
    items: dict[tuple[str, str], CacheEntry],
    orders: Sequence[PurchaseOrder],
) -> Outcome:
    """`created` from the order query, sub-orders matched to our lines by orderLineNo when the
    API sends it, else by (mp_id, mp_sku_id) through the resolution cache. Flagged
    DUPLICATE_REMOTE, PARTIAL or CLOSED_UPSTREAM when the orders say so."""
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
    elif all(closed_upstream(o) for o in orders):
        code = CLOSED_UPSTREAM
        message = (
            f"found, but closed or failed upstream ({', '.join(sorted({o.status for o in orders}))})"
            ": not resent; create it again by hand if it is still wanted"
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


def closed_upstream(order: PurchaseOrder) -> bool:
    """An order the supplier side closed or failed (it exists, but buys nothing)."""
    return (order.status or "").upper() in CLOSED_STATUSES


def _line_sort_key(no: str) -> tuple[int, str]:
    return (int(no), no) if no.isdigit() else (1 << 62, no)
