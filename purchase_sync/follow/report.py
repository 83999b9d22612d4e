"""What the follow stage tells people: the latest remote status per purchase, the status mix,
and what needs a person today (pay it, it closed unpaid, a return to handle, a cancel refused).

No personal data is in any of it: ids, statuses, amounts, payment links and times only (the
receiver never leaves the ledger's payload).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from purchase_sync.follow.ledger_view import created_purchases
from purchase_sync.follow.rules import (
    cancelled_by_us,
    closed_without_payment_not_by_us,
    closes_unpaid_within,
)
from purchase_sync.follow.store import FollowStore, purchases
from shanjing.purchases import PURCHASE_STATUSES

__all__ = [
    "ATTENTION_KEY",
    "FILES",
    "Attention",
    "add_remote_status",
    "attention",
    "attention_markdown",
    "combined_status",
    "remote_status_by_outer_id",
    "status_mix",
    "write_attention",
]

ATTENTION_KEY = "purchase-sync-attention"
#: the files written under `--out` (docs/operations.md)
FILES = {
    "to_pay": "follow/to_pay.csv",
    "closed_unpaid": "follow/closed_unpaid.csv",
    "returns": "follow/returns_to_handle.csv",
    "cancels": "follow/cancels.csv",
    "summary": "follow/follow_summary.json",
}


def combined_status(statuses: Iterable[str]) -> str:
    """One status for a purchase that became several supplier orders: their distinct values in
    lifecycle order joined by "+" (unknown values last), e.g. `WAIT_BUYER_P+TRADE_CLOSED`."""
    order = {s: i for i, s in enumerate(PURCHASE_STATUSES)}
    distinct = sorted(set(statuses), key=lambda s: (order.get(s, len(order)), s))
    return "+".join(distinct)


def remote_status_by_outer_id(
    store: FollowStore, outer_ids: Iterable[str] | None = None
) -> dict[str, str]:
    """outer_purchase_id -> its latest remote status (for results.parquet's `remote_status`);
    purchases never synced are absent."""
    wanted = None if outer_ids is None else set(outer_ids)
    found: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        for oid, status in conn.execute(
            sa.select(purchases.c.outer_purchase_id, purchases.c.status)
        ):
            if wanted is None or oid in wanted:
                found.setdefault(oid, []).append(status)
    return {oid: combined_status(v) for oid, v in found.items()}


def add_remote_status(results: Any, store: FollowStore) -> Any:
    """results.parquet's `remote_status` column: a copy of the results frame with the latest
    remote status of each row's purchase (`<NA>` for one never synced)."""
    import pandas as pd

    latest = remote_status_by_outer_id(store, results["outer_purchase_id"].dropna().unique())
    out = results.copy()
    out["remote_status"] = pd.array(
        [latest.get(o) for o in results["outer_purchase_id"]], dtype="string"
    )
    return out


def status_mix(store: FollowStore) -> dict[str, int]:
    """Remote purchases per latest status (for summary.json's `remote_status_mix`)."""
    rows = store.purchase_rows()
    return dict(sorted(Counter(r["status"] for r in rows.values()).items()))


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _yuan(fen: int | None) -> str:
    return "" if fen is None else str((Decimal(fen) / 100).quantize(Decimal("0.01")))


@dataclass
class Attention:
    """What needs a person today."""

    to_pay: list[dict] = field(default_factory=list)
    closed_unpaid: list[dict] = field(default_factory=list)
    returns: list[dict] = field(default_factory=list)
    cancels: list[dict] = field(default_factory=list)  # every cancel of ours, with its state
    unknown_statuses: dict[str, int] = field(default_factory=dict)
    cancels_held: str | None = None  # the share guard refused this run's cancels: why

    @property
    def needs_a_person(self) -> int:
        held = 1 if self.cancels_held else 0
        return len(self.to_pay) + len(self.closed_unpaid) + len(self.returns) + held

    def headline(self) -> str:
        """The sentence the run ends with."""
        if not self.needs_a_person:
            return "nothing needs a person today"
        parts = []
        if self.to_pay:
            total = sum(int(r["amount_fen"] or 0) for r in self.to_pay)
            parts.append(f"{len(self.to_pay)} to PAY (CNY {_yuan(total)}) before they auto-close")
        if self.closed_unpaid:
            parts.append(f"{len(self.closed_unpaid)} CLOSED UNPAID (the customer gets nothing)")
        if self.returns:
            parts.append(f"{len(self.returns)} shipped but cancelled: RETURNS to handle")
        if self.cancels_held:
            parts.append("CANCELS HELD by the mass-cancel guard: check the export")
        return "ACTION NEEDED: " + "; ".join(parts)


def attention(
    store: FollowStore,
    ledger_engine: sa.Engine,
    now_ms: int,
    horizon_s: float,
    returns: Sequence[dict] = (),
) -> Attention:
    """The lists of what needs a person, from the follow tables (and this run's returns)."""
    rows = store.purchase_rows()
    ours = store.cancelled_keys()
    subs_of: dict[str, set[str]] = {}
    for sid, sub in store.sub_order_rows().items():
        subs_of.setdefault(sub["purchase_id"], set()).add(sid)
    created = created_purchases(
        ledger_engine, {r["outer_purchase_id"] for r in rows.values()}, with_lines=False
    )
    out = Attention(returns=list(returns))
    for r in sorted(rows.values(), key=lambda r: (r["next_close_ms"] or 0, r["purchase_id"])):
        ledger_row = created.get(r["outer_purchase_id"])
        amount = r["pay_amount_fen"] or r["purchase_amount_fen"]
        if amount is None and ledger_row is not None and len(ledger_row.purchase_ids) == 1:
            amount = ledger_row.amount_fen
        base = {
            "outer_purchase_id": r["outer_purchase_id"],
            "purchase_id": r["purchase_id"],
            "status": r["status"],
            "amount_cny": _yuan(amount),
            "amount_fen": amount,
            "payment_url": r["payment_url"] or (ledger_row.payment_url if ledger_row else None),
        }
        if closes_unpaid_within(r["status"], r["next_close_ms"], now_ms, horizon_s):
            hours = max(0.0, (r["next_close_ms"] - now_ms) / 3_600_000)
            out.to_pay.append(
                {**base, "closes_at": _iso(r["next_close_ms"]), "hours_left": f"{hours:.1f}"}
            )
        elif closed_without_payment_not_by_us(
            r["status"],
            r["pay_time_ms"],
            cancelled_by_us(r["purchase_id"], subs_of.get(r["purchase_id"], set()), ours),
        ):
            out.closed_unpaid.append(
                {
                    **base,
                    "closed_at": _iso(r["close_time_ms"]),
                    "close_reason": r["close_reason"] or "",
                }
            )
        if not r["status_known"]:
            out.unknown_statuses[r["status"]] = out.unknown_statuses.get(r["status"], 0) + 1
    for c in store.cancel_requests():
        row = {
            "outer_purchase_id": c["outer_purchase_id"],
            "purchase_id": c["purchase_id"],
            "scope": "sub-orders" if json.loads(c["sub_ids"]) else "whole purchase",
            "sub_purchase_order_ids": ",".join(json.loads(c["sub_ids"])),
            "state": c["state"],
            "attempts": c["attempts"],
            "asked_at": datetime.fromtimestamp(c["created_at"], UTC).isoformat(timespec="seconds"),
            "detail": c["detail"] or "",
        }
        out.cancels.append(row)
        if c["state"] in ("too_late", "refused"):
            out.returns.append(
                {
                    "outer_purchase_id": c["outer_purchase_id"],
                    "purchase_id": c["purchase_id"],
                    "sub_purchase_order_id": row["sub_purchase_order_ids"],
                    "order_line_no": "",
                    "why": f"cancel {c['state']}" + (f": {c['detail']}" if c["detail"] else ""),
                }
            )
    return out


def _table(rows: Sequence[dict], columns: Sequence[str]) -> list[str]:
    if not rows:
        return ["_none_", ""]
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = [str(r.get(c, "") or "").replace("|", "\\|") for c in columns]
        out.append("| " + " | ".join(cells) + " |")
    return [*out, ""]


TO_PAY_COLUMNS = (
    "outer_purchase_id",
    "purchase_id",
    "amount_cny",
    "closes_at",
    "hours_left",
    "payment_url",
)
CLOSED_COLUMNS = ("outer_purchase_id", "purchase_id", "amount_cny", "closed_at", "close_reason")
RETURN_COLUMNS = (
    "outer_purchase_id",
    "purchase_id",
    "sub_purchase_order_id",
    "order_line_no",
    "why",
)
CANCEL_COLUMNS = (
    "outer_purchase_id",
    "purchase_id",
    "scope",
    "sub_purchase_order_ids",
    "state",
    "attempts",
    "asked_at",
    "detail",
)


def attention_markdown(att: Attention, horizon_s: float, limit: int = 200) -> str:
    """The keyed artifact's text: the headline first, then one table per list."""
    lines = [f"# {att.headline()}", ""]
    if att.cancels_held:
        lines += [f"**Cancels held:** {att.cancels_held}", ""]
    lines += [
        f"## Pay before they auto-close (within {horizon_s / 3600:g} h): {len(att.to_pay)}",
        "",
    ]
    lines += _table(att.to_pay[:limit], TO_PAY_COLUMNS)
    lines += [f"## Closed without payment (not cancelled by us): {len(att.closed_unpaid)}", ""]
    lines += _table(att.closed_unpaid[:limit], CLOSED_COLUMNS)
    lines += [
        f"## Shipped but cancelled by the customer: returns to handle: {len(att.returns)}",
        "",
    ]
    lines += _table(att.returns[:limit], RETURN_COLUMNS)
    open_cancels = [c for c in att.cancels if c["state"] in ("intent", "unknown", "accepted")]
    lines += [f"## Cancels in progress: {len(open_cancels)}", ""]
    lines += _table(open_cancels[:limit], CANCEL_COLUMNS)
    if att.unknown_statuses:
        lines += ["## Status values nobody documented (kept as they came)", ""]
        lines += [f"- `{k}`: {v}" for k, v in sorted(att.unknown_statuses.items())] + [""]
    if max(len(att.to_pay), len(att.closed_unpaid), len(att.returns)) > limit:
        lines.append(f"_lists cut at {limit} rows: the files under --out hold every row_")
    return "\n".join(lines)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _csv_text(rows: Sequence[dict], columns: Sequence[str]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_attention(out: str | Path, att: Attention, summary: dict[str, Any]) -> dict[str, str]:
    """Write the lists (CSV) and the follow summary (JSON) under `out`; returns their paths."""
    base = Path(out)
    paths = {name: str(base / rel) for name, rel in FILES.items()}
    _atomic_write(Path(paths["to_pay"]), _csv_text(att.to_pay, TO_PAY_COLUMNS))
    _atomic_write(Path(paths["closed_unpaid"]), _csv_text(att.closed_unpaid, CLOSED_COLUMNS))
    _atomic_write(Path(paths["returns"]), _csv_text(att.returns, RETURN_COLUMNS))
    _atomic_write(Path(paths["cancels"]), _csv_text(att.cancels, CANCEL_COLUMNS))
    _atomic_write(
        Path(paths["summary"]), json.dumps(summary, indent=2, sort_keys=True, default=str)
    )
    return paths
