"""Order statuses over the sandbox's clock, as upstream moves them (shanjing-api.md, "Enums").

    create ──> [BULIDING ──building_s──>] WAIT_BUYER_P ──auto_close_s, unpaid──> TRADE_CLOSED
                                              │ POST /_sandbox/pay
                                              v
                                   WAIT_SELLER_SEND_GOODS ──ship_delay_s──> WAIT_BUYER_CONFIRM_GOODS
    an accepted cancel closes its sub-orders cancel_delay_s later (unless they shipped first);
    a purchase is TRADE_CLOSED once all its sub-orders are.

Each order's next change is due at a known time (`next_event`); a heap holds those times, and
`advance` applies every change due by now, in time order, with `modifyTime` set to the time of
the change, so a modification-window query finds it. It runs before every read of the orders
(the query, a cancel, the control endpoints) and when the clock moves. Private bookkeeping
(`_cancels`, `_shipAt`, `_buildUntil`) lives in the stored document, so it survives a restart;
the query leaves it out.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sandbox.store import StoredOrder, mix64

if TYPE_CHECKING:
    from sandbox.state import SandboxState

BUILDING = "BULIDING"  # sic: upstream's spelling
WAIT_PAY = "WAIT_BUYER_P"
PAID = "WAIT_SELLER_SEND_GOODS"
SHIPPED = "WAIT_BUYER_CONFIRM_GOODS"
CLOSED = "TRADE_CLOSED"
AUTO_CLOSE_REASON = "closed without payment: not paid before nextCloseTimeWithoutPayment"
_CARRIERS = ("顺丰速运", "中通快递", "圆通速递", "韵达快递")


class ControlError(ValueError):
    """A control request that cannot be applied (answered 400, nothing changed)."""


class Schedule:
    """When each order next changes by itself: a heap of (due ms, purchase id), stale entries
    skipped on the way out."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int]] = []
        self._due: dict[int, int] = {}

    def set(self, pid: int, due: int | None) -> None:
        if due is None:
            self._due.pop(pid, None)
        elif self._due.get(pid) != due:
            self._due[pid] = due
            heapq.heappush(self._heap, (due, pid))

    def pop_due(self, now_ms: int) -> Iterator[int]:
        """Purchase ids whose change is due by `now_ms`, earliest first (re-`set` during the
        iteration is seen)."""
        heap = self._heap
        while heap and heap[0][0] <= now_ms:
            due, pid = heapq.heappop(heap)
            if self._due.get(pid) == due:
                del self._due[pid]
                yield pid

    def clear(self) -> None:
        self._heap.clear()
        self._due.clear()


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def next_event(doc: dict[str, Any]) -> tuple[int, str] | None:
    """(due ms, kind) of the order's next change by itself, or None (it stays as it is)."""
    if doc["status"] == CLOSED:
        return None
    events = []
    if "_buildUntil" in doc:
        events.append((doc["_buildUntil"], "build"))
    if doc.get("_cancels"):
        events.append((doc["_cancels"][0][0], "cancel"))
    if doc.get("payTime") is None and doc["status"] in (BUILDING, WAIT_PAY):
        events.append((doc["nextCloseTimeWithoutPayment"], "autoclose"))
    if "_shipAt" in doc:
        events.append((doc["_shipAt"], "ship"))
    return min(events) if events else None


def schedule(s: SandboxState, order: StoredOrder) -> None:
    event = next_event(order.doc)
    s.schedule.set(order.doc["purchaseId"], event[0] if event else None)


def advance(s: SandboxState) -> int:
    """Apply every change due by now; returns how many orders changed (commit them)."""
    now = s.clock.now_ms()
    orders = s.orders.orders
    changed = 0
    for pid in s.schedule.pop_due(now):
        order = orders.get(pid)
        if order is None:
            continue
        event = next_event(order.doc)
        if event is not None and event[0] <= now:
            if _apply(s, order, *event):
                s.changed(order)
            else:  # only the bookkeeping moved (e.g. a cancel that came too late)
                s.orders.touch(order)
            changed += 1
        schedule(s, order)
    return changed


def _open(sub: dict[str, Any]) -> bool:
    return sub["status"] != CLOSED


def _close(sub: dict[str, Any], reason: str, at_ms: int) -> None:
    sub["status"] = CLOSED
    sub["closeReason"] = reason
    sub["closeTime"] = at_ms


def _apply(s: SandboxState, order: StoredOrder, at_ms: int, kind: str) -> bool:
    """Make one due change; False when it turned out to change nothing."""
    doc = order.doc
    subs = doc["subPurchaseOrders"]
    reason = AUTO_CLOSE_REASON
    touched = False
    if kind == "build":
        del doc["_buildUntil"]
        for sub in subs:
            if sub["status"] == BUILDING:
                sub["status"] = WAIT_PAY
                touched = True
    elif kind == "autoclose":
        for sub in filter(_open, subs):
            _close(sub, reason, at_ms)
            touched = True
        s.stats.n["auto_closed"] += 1
    elif kind == "cancel":
        _due, ids, reason = doc["_cancels"].pop(0)
        if not doc["_cancels"]:
            del doc["_cancels"]
        for sub in subs:
            if (not ids or sub["subPurchaseOrderId"] in ids) and sub["status"] not in (
                CLOSED,
                SHIPPED,
            ):
                _close(sub, reason, at_ms)
                touched = True
        s.stats.n["cancels_applied" if touched else "cancels_too_late"] += 1
    else:  # ship
        del doc["_shipAt"]
        shipment = _shipment(doc["purchaseId"], s.config.seed, at_ms)
        for sub in subs:
            if sub["status"] == PAID:
                sub["status"] = SHIPPED
                sub["logisticOrders"] = [dict(shipment)]
                touched = True
        s.stats.n["shipments"] += 1
    if touched:
        _settle(doc, at_ms, reason)
    return touched


def _settle(doc: dict[str, Any], at_ms: int, reason: str) -> None:
    """The purchase's status follows its open sub-orders; closed once all of them are."""
    open_subs = [sub for sub in doc["subPurchaseOrders"] if _open(sub)]
    if open_subs:
        doc["status"] = open_subs[0]["status"]
    elif doc["status"] != CLOSED:
        doc["status"] = CLOSED
        doc["closeReason"] = reason
        doc["closeTime"] = at_ms
    doc["modifyTime"] = at_ms


def _shipment(pid: int, seed: int, at_ms: int) -> dict[str, Any]:
    h = mix64(pid, seed ^ 0x5A1F)
    return {
        "logisticCompanyName": _CARRIERS[h % len(_CARRIERS)],
        "logisticNumber": f"SBX{h % 10**12:012d}",
        "rtsTime": at_ms,
    }


def request_cancel(s: SandboxState, order: StoredOrder, sub_ids: list[int], reason: str) -> None:
    """An accepted cancel: it takes effect `cancel_delay_s` from now (not visible until then)."""
    doc = order.doc
    due = s.clock.now_ms() + ms(s.config.cancel_delay_s)
    doc.setdefault("_cancels", []).append([due, sub_ids, reason])
    doc["_cancels"].sort(key=lambda c: c[0])
    s.orders.touch(order)
    schedule(s, order)


def pay(s: SandboxState, pids: list[int]) -> list[StoredOrder]:
    """`POST /_sandbox/pay`: every purchase must be awaiting payment, or nothing is paid."""
    advance(s)
    orders = []
    for pid in pids:
        order = s.orders.orders.get(pid)
        if order is None:
            raise ControlError(f"no purchase {pid}")
        if order.doc["status"] != WAIT_PAY:
            raise ControlError(f"purchase {pid} is {order.doc['status']}, not {WAIT_PAY}")
        orders.append(order)
    now = s.clock.now_ms()
    for order in orders:
        doc = order.doc
        open_subs = [sub for sub in doc["subPurchaseOrders"] if _open(sub)]
        for sub in open_subs:
            sub.update(status=PAID, payTime=now, payAmount=str(sub["purchaseAmount"]))
        doc["payAmount"] = str(sum(sub["purchaseAmount"] for sub in open_subs) + doc["deliveryFee"])
        doc["payTime"] = now
        doc["_shipAt"] = now + ms(s.config.ship_delay_s)
        _settle(doc, now, "")
        s.changed(order)
        schedule(s, order)
    s.stats.n["payments"] += len(orders)
    return orders


def set_refund_status(s: SandboxState, sub_id: int, refund_status: int) -> StoredOrder:
    """`POST /_sandbox/refund`: set one sub-order's `refundStatus` (upstream's integer codes)."""
    advance(s)
    for order in s.orders.orders.values():
        for sub in order.doc["subPurchaseOrders"]:
            if sub["subPurchaseOrderId"] == sub_id:
                sub["refundStatus"] = refund_status
                order.doc["modifyTime"] = s.clock.now_ms()
                s.changed(order)
                return order
    raise ControlError(f"no sub-order {sub_id}")
