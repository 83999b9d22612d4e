"""Stage 3, resolve: source items -> pool ids (cached in the ledger), every line matched to a
pool SKU. Items not in the pool and SKUs without `mpSkuId` fail their purchases before any send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ledger import PAYLOAD_CHANGED, CacheEntry, Ledger, State
from ledger.registration import register_decision
from schemas.records import PlannedPurchase
from shanjing import BusinessError, ReauthorizationRequired, ShanjingClient, ShanjingError

from .common import Progress, Resolution, emit, log
from .plan import (
    CACHEABLE_ITEM_CODES,
    OK,
    Rejected,
    cache_data,
    item_key,
    plan_purchase,
    source_market,
)
from .report import ProgressEvent, SubmitReport, Verdict
from .settings import SubmitSettings

# What a dry run reports for each decision `register` would make on a known purchase.
_DRY_RUN_VERDICTS: dict[str, Verdict | None] = {
    "unchanged": None,
    "requeued": None,
    "adopted": None,
    "already_created": Verdict("created"),
    "in_flight": Verdict("in_flight", None, "reconciled by the next real run"),
    "requeued_for_lookup": Verdict("in_flight", None, "looked up by the next real run"),
    "changed": Verdict("failed", PAYLOAD_CHANGED, "the order changed after it was planned"),
}


async def _sendable(
    purchases: Sequence[PlannedPurchase],
    ledger: Ledger,
    settings: SubmitSettings,
    report: SubmitReport | None,
) -> list[tuple[PlannedPurchase, str]]:
    """The purchases this run may send, with their payload hash. In a dry run (nothing written)
    the ledger's own `register_decision` says what register would do, and a verdict is recorded
    for the others."""
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
        if row is not None:
            action = register_decision(
                row.state, row.payload_hash, None, row.error_code, row.attempts, h,
                settings.reprocess,
            )  # fmt: skip
            if action == "changed" and row.state is State.CREATED:
                action = "already_created"  # flagged, never resent: created is what counts
            elif action == "changed" and row.state in (State.SUBMITTING, State.UNKNOWN):
                action = "in_flight"
            if action == "failed_kept":
                verdict = Verdict(
                    "failed", row.error_code, "failed earlier; rerun with --reprocess failed"
                )
            else:
                verdict = _DRY_RUN_VERDICTS[action]
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
                    emit(on_progress, ProgressEvent("resolve", done, len(missing)))
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
    emit(
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
