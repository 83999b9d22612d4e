"""The run's output files: latest copies in `--out`, plus one partition per run for history.

Readers (analysts, dashboards, the next run's operator) may open `out/results.parquet` at any
moment, so every file is written to a temporary name in the same directory and renamed into
place: a reader sees the old file or the new one, never half of one. Each run also keeps its own
copy under `runs/date=YYYY-MM-DD/run_id=<id>/`, a Hive-style layout that DuckDB and pyarrow read
as one table with `date` and `run_id` columns. `run_summary` builds `summary.json`: the counts of
docs/interface.md first, then what a person needs to judge the run.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from schemas.errors import UserError

if TYPE_CHECKING:
    from purchase_sync.submit.report import SubmitReport

RESULTS = "results.parquet"
REJECTS = "rejects.parquet"
SUMMARY = "summary.json"

# Columns of results.parquet (docs/interface.md); every id column is a string, never a number.
RESULT_COLUMNS = (
    "outer_purchase_id",
    "marketplace",
    "country",
    "order_number",
    "order_line_id",
    "seller_sku",
    "quantity",
    "source_item_id",
    "source_sku_id",
    "mp_id",
    "mp_sku_id",
    "status",
    "purchase_id",
    "sub_purchase_order_id",
    "supplier",
    "estimate_amount",
    "estimate_currency",
    "payment_url",
    "error_code",
    "error_message",
    "run_id",
    "updated_at",
)
REJECT_COLUMNS = (
    "source_file",
    "source_row",
    "order_line_id",
    "reason_code",
    "reason",
    "column",
    "value",
)
ID_COLUMNS = (
    "outer_purchase_id",
    "order_number",
    "order_line_id",
    "source_item_id",
    "source_sku_id",
    "mp_id",
    "mp_sku_id",
    "purchase_id",
    "sub_purchase_order_id",
    "run_id",
)


@dataclass(frozen=True, slots=True)
class OutputPaths:
    """Where one run's files went: the latest copies and this run's own partition."""

    out_dir: Path
    run_dir: Path

    @property
    def results(self) -> Path:
        return self.out_dir / RESULTS

    @property
    def rejects(self) -> Path:
        return self.out_dir / REJECTS

    @property
    def summary(self) -> Path:
        return self.out_dir / SUMMARY


def run_dir(out_dir: Path | str, run_date: date, run_id: str) -> Path:
    """The partition of one run, e.g. `out/runs/date=2026-11-26/run_id=<uuid>`."""
    return Path(out_dir) / "runs" / f"date={run_date.isoformat()}" / f"run_id={run_id}"


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temp file in the target directory, fsync it, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_bytes(obj: Mapping[str, Any]) -> bytes:
    """Indented UTF-8 JSON (Decimals as strings, never floats)."""
    return (
        json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n"
    ).encode()


def _write_bytes(data: bytes, path: Path) -> None:
    _atomic_write(path, lambda fh: fh.write(data))


def write_json(obj: Mapping[str, Any], path: Path) -> None:
    """Write `obj` atomically as JSON."""
    _write_bytes(_json_bytes(obj), path)


def conform(df: pd.DataFrame | None, columns: tuple[str, ...]) -> pd.DataFrame:
    """Order the contract columns first (adding missing ones empty) and make ids strings.

    Extra columns are kept after the contract ones: the contract is a floor, not a ceiling.
    """
    df = pd.DataFrame(columns=list(columns)) if df is None else df.copy()
    for col in columns:
        if col not in df.columns:
            df[col] = pd.Series([None] * len(df), dtype="string", index=df.index)
    for col in ID_COLUMNS:
        if col in df.columns and df[col].dtype != "string":
            if pd.api.types.is_float_dtype(df[col]):
                raise TypeError(f"id column {col!r} is float; ids must never pass through float")
            df[col] = df[col].astype("string")
    extra = [c for c in df.columns if c not in columns]
    return df[[*columns, *extra]].reset_index(drop=True)


def write_outputs(
    out_dir: Path | str,
    *,
    results: pd.DataFrame | None,
    rejects: pd.DataFrame | None,
    summary: Mapping[str, Any],
    run_id: str,
    run_date: date,
) -> OutputPaths:
    """Write this run's partition first, then replace the latest copies in `out_dir`.

    The order matters: if the process dies between the two, history is complete and the latest
    copies still describe the previous run consistently (summary last in each place, so a summary
    never points at files that are not there yet).
    """
    out = Path(out_dir)
    part = run_dir(out, run_date, run_id)
    results_df = conform(results, RESULT_COLUMNS)
    rejects_df = conform(rejects, REJECT_COLUMNS)
    if "run_id" not in rejects_df.columns or rejects_df["run_id"].isna().all():
        rejects_df["run_id"] = pd.Series([run_id] * len(rejects_df), dtype="string")
    # encoded once, written to both places (index dropped: rows carry their own keys)
    encoded = {
        RESULTS: results_df.to_parquet(index=False),
        REJECTS: rejects_df.to_parquet(index=False),
        SUMMARY: _json_bytes(summary),
    }
    for where in (part, out):
        for name, data in encoded.items():
            _write_bytes(data, where / name)
    return OutputPaths(out_dir=out, run_dir=part)


def set_verdict(summary: dict[str, Any], fatal: BaseException | None) -> None:
    """Final state and the one-line message a person reads first.

    FAILED: a fatal error, purchases left unknown, or a follow step that could not read every
    status or confirm a cancel. NEEDS_ATTENTION: the run ended, but the ledger still owes
    purchases (any window), some created purchases are in trouble (duplicate, partial, closed
    upstream), or the follow step found purchases closed unpaid, returns to handle or cancels held
    by the guard. COMPLETED only when none of these. Whatever the state, the follow step's
    headline (what to pay today) ends the message.
    """
    unknown = summary.get("purchases_unknown", 0)
    owed = (summary.get("purchases_owed") or {}).get("count", 0)
    trouble = (summary.get("purchases_trouble") or {}).get("count", 0)
    follow = summary.get("follow") or {}
    if fatal is not None:
        summary["final_state"] = "FAILED"
        summary["message"] = f"fatal: {fatal}"
    elif unknown:
        summary["final_state"] = "FAILED"
        summary["message"] = (
            f"{unknown} purchase(s) left unknown (sent, outcome not confirmed); "
            "the next run reconciles them before sending anything"
        )
    elif follow.get("failed"):
        summary["final_state"] = "FAILED"
        summary["message"] = f"follow incomplete: {follow.get('headline')}"
    elif (owed or trouble or follow_needs_a_person(follow)) and not summary.get("dry_run"):
        summary["final_state"] = NEEDS_ATTENTION
        parts = []
        if owed:
            parts.append(
                f"{owed} purchase(s) still owed by the ledger (see purchases_owed; "
                "`purchase-sync owed --send` sends them)"
            )
        if trouble:
            parts.append(f"{trouble} created purchase(s) need a person (see purchases_trouble)")
        summary["message"] = "; ".join(parts) or "see the attention list"
    else:
        summary["final_state"] = "COMPLETED"
        created = summary.get("purchases_created", 0)
        summary["message"] = (
            "dry run: nothing sent"
            if summary.get("dry_run")
            else f"{created} created"
            if created
            else "nothing new to create"
        )
    headline = follow.get("headline")
    if headline and not follow.get("failed") and headline.startswith("ACTION NEEDED"):
        summary["message"] += f"; {headline}"


def follow_needs_a_person(follow: Mapping[str, Any]) -> bool:
    """The follow step's findings that no later run repairs on its own: purchases closed without
    payment, shipped lines whose customer cancelled (returns), cancels held by the mass-cancel
    guard, undocumented remote statuses. Purchases awaiting payment are in the message only:
    paying them is the daily routine, not an anomaly (docs/operations.md)."""
    cancel = follow.get("cancel") or {}
    return bool(
        follow.get("closed_unpaid")
        or follow.get("returns_to_handle")
        or cancel.get("refused_by_guard")
        or follow.get("unknown_statuses")
    )


NEEDS_ATTENTION = "NEEDS_ATTENTION"
LEGACY_LEDGER = "data/ledger.sqlite"  # the default before it moved to the data directory


def earlier_outputs(out_dir: Path | str) -> str | None:
    """What in the output folder shows that earlier runs created purchases, or None."""
    out = Path(out_dir)
    if (out / RESULTS).exists():
        return str(out / RESULTS)
    runs = out / "runs"
    if runs.is_dir() and any(runs.glob("date=*/run_id=*/" + RESULTS)):
        return str(runs)
    return None


def check_ledger_not_lost(ledger_empty: bool, out_dir: Path | str, rebuild: bool, url: str) -> None:
    """Refuse a run that finds an empty ledger while the output folder shows earlier runs:
    the ledger was lost (another folder, a restore), and every purchase would be sent again.
    `rebuild` goes on, looking every purchase up before its first create."""
    if not ledger_empty or rebuild:
        return
    found = earlier_outputs(out_dir)
    if found:
        legacy = Path(LEGACY_LEDGER)
        hint = (
            f"; the old default ledger is at {legacy}: --ledger-url sqlite:///{legacy}"
            if legacy.exists()
            else ""
        )
        raise UserError(
            f"the ledger {url} is empty but {found} holds earlier runs' results: refusing to "
            "send anything twice (point --ledger-url at the old ledger, or pass "
            f"--rebuild-ledger to look every purchase up before creating it){hint}"
        )


def run_summary(
    ctx: dict[str, Any],
    read: Any,
    group: Any,
    rejects: pd.DataFrame | None,
    report: SubmitReport,
    started: float,
) -> dict[str, Any]:
    """summary.json: the interface's counts first, then the details a person may need."""
    sub = report.summary()
    verdicts = [v.status for v in report.verdicts.values()]
    rows_rejected = len(rejects) if rejects is not None else 0
    rows_accepted = len(group.order_lines) if group is not None else 0
    reasons = (
        {str(k): int(v) for k, v in rejects["reason_code"].astype(str).value_counts().items()}
        if rejects is not None and len(rejects)
        else {}
    )
    amounts = {cur: f"{Decimal(fen) / 100:.2f}" for cur, fen in sorted(report.amount_fen.items())}
    return {
        **ctx,
        "rows_in": read.rows_in if read is not None else 0,
        "rows_accepted": rows_accepted,
        "rows_rejected": rows_rejected,
        "purchases_planned": report.purchases_in,
        "purchases_created": report.created,
        "purchases_already_created": report.already_created,
        "purchases_failed": report.failed_total,
        "purchases_unknown": report.unknown,
        "purchases_skipped": report.skipped_by_rail + report.unresolved,
        "purchases_held": report.held,
        "purchases_failed_earlier": report.registered.failed_kept if report.registered else 0,
        "purchases_would_create": verdicts.count("would_create"),
        "purchases_owed": sub["purchases_owed"],
        "remote_status_mix": (ctx.get("follow") or {}).get("remote_status_mix", {}),
        "purchases_trouble": {
            **sub["trouble"],
            "purchases": [
                {
                    "outer_purchase_id": t.outer_purchase_id,
                    "error_code": t.error_code,
                    "purchase_ids": list(t.purchase_ids),
                }
                for t in report.trouble[:100]
            ],
        },
        "api_calls": sub["api_calls"],
        "api_429s": sub["rate_limited"],
        "api_retries": sub["retries"],
        "amounts": amounts,
        "revenue": {k: str(v) for k, v in report.revenue.items()},
        "reject_reasons": reasons,
        "failures_by_code": dict(report.failed),
        "stopped_reason": report.stopped_reason,
        "duration_s": round(time.perf_counter() - started, 3),
        "submit": sub,
    }
