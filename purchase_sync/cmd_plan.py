"""`purchase-sync plan`: what would be ordered, from the exports alone (no network, no Prefect)."""

from __future__ import annotations

import argparse
import sys
import time

from transforms import ingest, write_plan


def main(args: argparse.Namespace) -> int:
    """Plan, write the outputs, print a short human summary. 0 = planned (rejects included)."""
    started = time.perf_counter()
    result = ingest(
        args.inputs,
        sku_map=args.sku_map,
        since=args.since,
        until=args.until,
        statuses=args.statuses,
    )
    paths = write_plan(result, args.out, started=started)
    for line in summary_lines(result.summary, paths):
        print(line)
    for report in result.summary["files"]:
        if report["error"]:
            print(f"warning: {report['path']}: {report['error']}", file=sys.stderr)
    if not result.summary["row_conservation"]["holds"]:
        print("purchase-sync: row conservation broken (a bug): see summary.json", file=sys.stderr)
        return 1
    return 0


def summary_lines(summary: dict, paths: dict) -> list[str]:
    """The summary as a few lines a person reads at a glance (no personal data in it)."""
    reasons = sorted(summary["rejected_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))
    top = ", ".join(f"{code} {n:,}" for code, n in reasons[:4])
    more = f", +{len(reasons) - 4} more" if len(reasons) > 4 else ""
    by = summary["lines_by_disposition"]
    skipped = ", ".join(f"{k} {v:,}" for k, v in sorted(summary["skipped_by_status"].items()))
    revenue = ", ".join(f"{cur} {amount}" for cur, amount in summary["revenue_by_currency"].items())
    markets = ", ".join(f"{m} {n:,}" for m, n in summary["lines_by_marketplace"].items())
    files = len(summary["files"])
    lines = [
        f"read {files} file{'s' if files != 1 else ''}: {summary['rows_in']:,} rows in, "
        f"{summary['rows_accepted']:,} accepted, {summary['rows_rejected']:,} rejected"
        + (f" ({top}{more})" if top else ""),
        f"lines: {by['purchasable']:,} purchasable, {by['skipped_status']:,} skipped by status"
        + (f" ({skipped})" if skipped else "")
        + f", {by['outside_window']:,} outside the window, {by['duplicate']:,} duplicate copies, "
        f"{by['held']:,} held (their order lost a row to the rejects)"
        + (f"; by marketplace: {markets}" if markets else ""),
        f"planned {summary['purchases_planned']:,} purchases, "
        f"{summary['purchase_lines_planned']:,} lines, {summary['quantity_planned']:,} units to buy"
        + (f"; revenue {revenue}" if revenue else ""),
        "wrote " + ", ".join(str(p) for p in paths.values()),
    ]
    return lines
