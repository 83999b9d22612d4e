"""Cancel the purchases of marketplace lines the customer cancelled, guarded like creation.

From a later export (`transforms.ingest`'s `order_lines`: every accepted line with its status,
whatever became of it), the lines whose status means "cancelled" (`rules.line_is_cancelled`)
are matched to created purchases: `outer_purchase_id` from (marketplace, country, order
number) as `schemas.payload` defines it, the purchase line (`order_line_no`) from the
marketplace line ids the ledger's payload merged into it, the remote sub-order from the
ledger's lines. Then, per remote purchase:

- a sub-order the supplier shipped is not cancelled: it is listed as a return for a person;
- a purchase line only part of whose marketplace lines were cancelled cannot be cancelled in
  part: it is listed for a person;
- every other cancelled line's sub-order is cancelled (`sub_purchase_orderId_list`), or the
  whole purchase when all its sub-orders are.

The guards: the intent is committed (`follow_cancels`, `follow_cancel_lines`) before the call
and its primary key keeps any sub-order from being asked twice; an answer that proves nothing
leaves the request `unknown`, settled by lookup (`settle_cancels`); accepted is not done, a
status sync confirms it; `dry_run` lists and sends nothing; `max_cancels` caps a run; a share
of the export's purchases above `cancel_max_share` needs `allow_mass_cancel`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from purchase_sync.follow.ledger_view import CreatedPurchase, created_purchases
from purchase_sync.follow.rules import (
    FollowSettings,
    cancel_outcome,
    cancels_within_share,
    line_is_cancelled,
    sub_order_has_shipped,
)
from purchase_sync.follow.store import WHOLE, FollowStore
from purchase_sync.follow.sync import Budget, sync_statuses
from schemas.payload import purchase_ids as outer_ids_of
from shanjing import BusinessError, ShanjingClient, ShanjingError
from shanjing.purchases import CLOSED

__all__ = ["CancelItem", "CancelReport", "cancelled_lines", "plan_cancels", "send_cancels"]

log = logging.getLogger("purchase_sync.follow")


@dataclass(frozen=True)
class CancelItem:
    """One cancel request to send: a remote purchase, all of it (`sub_ids` empty) or some."""

    outer_purchase_id: str
    purchase_id: str
    sub_ids: tuple[str, ...]
    covers: tuple[str, ...]  # every sub-order it closes (all of them for a whole purchase)
    order_line_nos: tuple[str, ...]

    @property
    def whole(self) -> bool:
        return not self.sub_ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "outer_purchase_id": self.outer_purchase_id,
            "purchase_id": self.purchase_id,
            "scope": "whole purchase" if self.whole else "sub-orders",
            "sub_purchase_order_ids": ",".join(self.covers),
            "order_line_nos": ",".join(self.order_line_nos),
        }


@dataclass
class CancelReport:
    lines_cancelled_in_export: int = 0
    purchases_in_export: int = 0  # created purchases the export mentions (the share's base)
    planned: list[CancelItem] = field(default_factory=list)
    returns: list[dict] = field(default_factory=list)  # shipped lines: a return for a person
    partial: list[dict] = field(default_factory=list)  # merged lines only partly cancelled
    already_requested: int = 0
    already_closed: int = 0
    refused_by_guard: str | None = None
    skipped_by_cap: int = 0
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # accepted/refused/unknown
    settled: dict[str, int] = field(default_factory=dict)  # confirmed/too_late/resend/wait

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines_cancelled_in_export": self.lines_cancelled_in_export,
            "purchases_in_export": self.purchases_in_export,
            "planned": len(self.planned),
            "returns_to_handle": len(self.returns),
            "partly_cancelled_lines": len(self.partial),
            "already_requested": self.already_requested,
            "already_closed": self.already_closed,
            "refused_by_guard": self.refused_by_guard,
            "skipped_by_cap": self.skipped_by_cap,
            "sent": self.sent,
            "outcomes": dict(self.outcomes),
            "settled": dict(self.settled),
        }


def cancelled_lines(order_lines: pa.Table) -> tuple[dict[str, set[str]], set[str]]:
    """(outer_purchase_id -> its cancelled marketplace line ids, every outer_purchase_id the
    export mentions), from the ingest's `order_lines` (older copies, `duplicate`, ignored)."""
    rows = order_lines.select(
        ["marketplace", "country", "order_number", "order_line_id", "status", "disposition"]
    )
    outer = outer_ids_of(rows["marketplace"], rows["country"], rows["order_number"]).to_pylist()
    cancelled: dict[str, set[str]] = {}
    mentioned: set[str] = set()
    for i, row in enumerate(rows.to_pylist()):
        if row["disposition"] == "duplicate":
            continue
        mentioned.add(outer[i])
        if line_is_cancelled(row["marketplace"], row["status"]):
            cancelled.setdefault(outer[i], set()).add(str(row["order_line_id"]))
    return cancelled, mentioned


def _plan_purchase(
    p: CreatedPurchase,
    cancelled_ids: set[str],
    subs: dict[str, dict],
    asked: set[tuple[str, str]],
    report: CancelReport,
) -> list[CancelItem]:
    """The cancel requests of one created purchase (one per remote purchase id)."""
    to_cancel: dict[str, list[tuple[str, str]]] = {}
    all_subs: dict[str, set[str]] = {}
    for ln in p.lines:
        if ln.purchase_id and ln.sub_purchase_order_id:
            all_subs.setdefault(ln.purchase_id, set()).add(ln.sub_purchase_order_id)
    for sid, row in subs.items():
        if row["outer_purchase_id"] == p.outer_purchase_id:
            all_subs.setdefault(row["purchase_id"], set()).add(sid)
    for ln in p.lines:
        hit = cancelled_ids.intersection(ln.order_line_ids)
        if not hit:
            continue
        line = {"outer_purchase_id": p.outer_purchase_id, "order_line_no": ln.order_line_no}
        if hit != set(ln.order_line_ids):
            why = f"{len(hit)} of the {len(ln.order_line_ids)} marketplace lines merged into it"
            report.partial.append({**line, "why": why + " were cancelled: not cancelled"})
            continue
        pid, sid = ln.purchase_id, ln.sub_purchase_order_id
        if not pid or not sid:
            report.partial.append({**line, "why": "the ledger has no sub-order id for this line"})
            continue
        status = (subs.get(sid) or {}).get("status")
        if (pid, sid) in asked or (pid, WHOLE) in asked:
            report.already_requested += 1
        elif status == CLOSED:
            report.already_closed += 1
        elif status is not None and sub_order_has_shipped(status):
            why = "shipped by the supplier before the customer cancelled"
            report.returns.append(
                {**line, "purchase_id": pid, "sub_purchase_order_id": sid, "why": why}
            )
        else:
            to_cancel.setdefault(pid, []).append((sid, ln.order_line_no))
    items = []
    for pid, chosen in to_cancel.items():
        sids = tuple(sorted(s for s, _ in chosen))
        whole = set(sids) == all_subs.get(pid, set()) and not any(a[0] == pid for a in asked)
        items.append(
            CancelItem(
                outer_purchase_id=p.outer_purchase_id,
                purchase_id=pid,
                sub_ids=() if whole else sids,
                covers=sids,
                order_line_nos=tuple(n for _, n in chosen),
            )
        )
    return items


def plan_cancels(
    order_lines: pa.Table,
    store: FollowStore,
    ledger_engine: sa.Engine,
    settings: FollowSettings,
    report: CancelReport | None = None,
) -> CancelReport:
    """What the export says to cancel (nothing written, nothing sent), guards applied: the
    share guard empties the plan, the cap trims it. Run a status sync of the export's
    purchases first, so shipped and closed sub-orders are known."""
    report = report or CancelReport()
    cancelled, mentioned = cancelled_lines(order_lines)
    report.lines_cancelled_in_export = sum(len(v) for v in cancelled.values())
    created = created_purchases(ledger_engine, mentioned)
    report.purchases_in_export = len(created)
    affected = [created[o] for o in cancelled if o in created]
    subs = store.sub_order_rows(pid for p in affected for pid in p.purchase_ids)
    asked = store.cancelled_keys()
    items: list[CancelItem] = []
    for p in affected:
        items += _plan_purchase(p, cancelled[p.outer_purchase_id], subs, asked, report)
    n_purchases = len({i.outer_purchase_id for i in items})
    if not cancels_within_share(n_purchases, report.purchases_in_export, settings):
        report.refused_by_guard = (
            f"{n_purchases} of the export's {report.purchases_in_export} created purchases "
            f"would be cancelled, more than {settings.cancel_max_share:.0%}: refused; check the "
            "export, then rerun with --allow-mass-cancel if it is right"
        )
        report.planned = []
        return report
    if settings.max_cancels is not None and len(items) > settings.max_cancels:
        report.skipped_by_cap = len(items) - settings.max_cancels
        items = items[: settings.max_cancels]
    report.planned = items
    return report


async def _send_one(
    client: ShanjingClient,
    store: FollowStore,
    request_id: str,
    purchase_id: str,
    sub_ids: list[str],
    attempts: int,
    settings: FollowSettings,
    budget: Budget,
    report: CancelReport,
) -> str:
    """Send one committed cancel intent and record what its answer proves."""
    if budget is not None:
        await budget(1)
    now = store.clock()
    marked = await asyncio.to_thread(
        store.update_cancel, request_id, "intent", sent_at=now, attempts=attempts + 1
    )
    if not marked:
        return "skipped"  # someone else moved it since it was read
    try:
        await client.cancel_order(purchase_id, sub_ids or None, reason=settings.cancel_reason)
    except BusinessError as exc:
        state, detail = "refused", f"{exc.code}: {exc}"
    except ShanjingError as exc:
        state, detail = "unknown", f"{type(exc).__name__}: {exc}"
    else:
        state, detail = "accepted", None
    await asyncio.to_thread(store.update_cancel, request_id, "intent", state=state, detail=detail)
    report.sent += 1
    report.outcomes[state] = report.outcomes.get(state, 0) + 1
    return state


async def send_cancels(
    items: Iterable[CancelItem],
    client: ShanjingClient,
    store: FollowStore,
    settings: FollowSettings,
    *,
    run_id: str = "local",
    budget: Budget = None,
    report: CancelReport | None = None,
) -> CancelReport:
    """Commit an intent per item, then send it; `concurrency` cancels in flight at once."""
    report = report or CancelReport()
    sem = asyncio.Semaphore(settings.concurrency)

    async def one(item: CancelItem) -> None:
        request_id = uuid.uuid4().hex
        request = {
            "request_id": request_id,
            "outer_purchase_id": item.outer_purchase_id,
            "purchase_id": item.purchase_id,
            "sub_ids": json.dumps(list(item.sub_ids)),
            "state": "intent",
            "attempts": 0,
            "reason": settings.cancel_reason,
            "run_id": run_id,
            "created_at": store.clock(),
        }
        keys = list(item.covers) + ([WHOLE] if item.whole else [])
        lines = [
            {
                "purchase_id": item.purchase_id,
                "sub_purchase_order_id": sid,
                "outer_purchase_id": item.outer_purchase_id,
                "order_line_no": _line_no(item, sid),
                "request_id": request_id,
            }
            for sid in keys
        ]
        if not await asyncio.to_thread(store.add_cancel_intent, request, lines):
            report.already_requested += 1
            return
        async with sem:
            await _send_one(
                client,
                store,
                request_id,
                item.purchase_id,
                list(item.sub_ids),
                0,
                settings,
                budget,
                report,
            )

    await asyncio.gather(*(one(i) for i in items))
    return report


def _line_no(item: CancelItem, sid: str) -> str | None:
    if sid in item.covers:
        return item.order_line_nos[item.covers.index(sid)] if item.order_line_nos else None
    return None


async def settle_cancels(
    client: ShanjingClient,
    store: FollowStore,
    settings: FollowSettings,
    *,
    ledger_engine: sa.Engine,
    budget: Budget = None,
    now: Callable[[], float] | None = None,
    report: CancelReport | None = None,
) -> CancelReport:
    """Settle every open cancel from the latest statuses: confirmed when all its sub-orders
    closed, too late when one shipped, resent when its sending was in doubt and a lookup past
    the grace still shows it open; accepted ones wait for a later sync.

    The purchases of cancels in doubt (`intent`, `unknown`) are looked up by id first, whatever
    the sync before found: a resend is decided on a fresh, complete answer or not at all.
    """
    report = report or CancelReport()
    clock = now or store.clock
    open_ = await asyncio.to_thread(store.cancel_requests, ("intent", "unknown", "accepted"))
    if not open_:
        return report
    doubt = {r["outer_purchase_id"] for r in open_ if r["state"] in ("intent", "unknown")}
    looked_up = True
    if doubt:
        lookup = await sync_statuses(
            client, store, ledger_engine, settings, budget=budget, outer_ids=doubt
        )
        looked_up = not lookup.errors
    subs = await asyncio.to_thread(store.sub_order_rows, [r["purchase_id"] for r in open_])
    by_pid: dict[str, list[dict]] = {}
    for row in subs.values():
        by_pid.setdefault(row["purchase_id"], []).append(row)
    for req in open_:
        wanted = json.loads(req["sub_ids"]) or [
            s["sub_purchase_order_id"] for s in by_pid.get(req["purchase_id"], [])
        ]
        statuses = [(subs.get(s) or {}).get("status") for s in wanted]
        last_send = req["sent_at"] or req["created_at"]
        outcome = cancel_outcome(
            req["state"], statuses, last_send, clock(), settings.cancel_grace_s
        )
        report.settled[outcome] = report.settled.get(outcome, 0) + 1
        if settings.dry_run:
            continue  # a dry run reports what it sees and writes no cancel state
        if outcome in ("confirmed", "too_late"):
            await asyncio.to_thread(
                store.update_cancel,
                req["request_id"],
                req["state"],
                state=outcome,
                settled_at=clock(),
            )
        elif outcome == "resend" and looked_up:
            if req["state"] == "unknown" and not await asyncio.to_thread(
                store.update_cancel, req["request_id"], "unknown", state="intent"
            ):
                continue
            log.info("cancel %s still open after the grace: sending it again", req["request_id"])
            await _send_one(
                client,
                store,
                req["request_id"],
                req["purchase_id"],
                json.loads(req["sub_ids"]),
                int(req["attempts"]),
                settings,
                budget,
                report,
            )
    return report
