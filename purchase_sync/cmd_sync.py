"""`purchase-sync sync`: follow created purchases, list what needs a person, cancel what the
customer cancelled (docs/operations.md, "Daily routine").

    purchase-sync sync --out out/                                   # statuses + lists
    purchase-sync sync --cancel-from 'exports/lazada_*.csv' --dry-run  # what would be cancelled
    purchase-sync sync --cancel-from 'exports/lazada_*.csv' --max-cancels 20

Runs in this process without a Prefect server (the nightly flow calls the same code through
`flows.follow_flow`); with `PURCHASE_SYNC_API_BUDGET` set, its queries and cancels take slots of
that global concurrency limit, which needs `PREFECT_API_URL`. Exit status: 0 done (even when something needs a person: the last line
says so in capitals), 1 when statuses could not all be read or a cancel's outcome is unknown,
2 for a user-fixable error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from schemas.errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `sync` sub-command's options (purchase_sync.cli registers them)."""
    p.add_argument("--out", metavar="DIR", default="out", help="output directory (default: out)")
    p.add_argument(
        "--cancel-from",
        nargs="+",
        metavar="INPUT",
        help="a later export (files or globs): its cancelled lines' purchases are cancelled",
    )
    p.add_argument("--sku-map", metavar="FILE", help="SKU map for reading --cancel-from")
    p.add_argument("--dry-run", action="store_true", help="list what would be cancelled; send none")
    p.add_argument("--max-cancels", type=int, default=None, metavar="N", help="cancel requests cap")
    p.add_argument(
        "--allow-mass-cancel",
        action="store_true",
        help="allow cancelling more than --max-cancel-share of the export's purchases",
    )
    p.add_argument("--max-cancel-share", type=float, default=None, metavar="F", help="default 0.2")
    p.add_argument(
        "--horizon-hours", type=float, default=None, metavar="H", help="pay-soon horizon (24)"
    )
    p.add_argument(
        "--cancel-grace-s",
        type=float,
        default=None,
        metavar="S",
        help="a cancel in doubt is resent only if still open this long after its send (900)",
    )
    p.add_argument("--mode", choices=["auto", "ids", "window"], default="auto")
    p.add_argument("--max-concurrency", type=int, default=None, metavar="N")
    p.add_argument("--rate-limit", type=float, default=None, metavar="PER_SECOND")
    p.add_argument("--ledger-url", default=None, help="default: $PURCHASE_SYNC_LEDGER_URL")
    p.add_argument("--sandbox", action="store_true", help="start the local API emulator, use it")


def follow_settings(args: argparse.Namespace) -> Any:
    from purchase_sync.follow import FollowSettings

    values: dict[str, Any] = {"mode": args.mode, "dry_run": bool(args.dry_run)}
    if args.max_concurrency is not None:
        values["concurrency"] = args.max_concurrency
    if args.max_cancels is not None:
        if args.max_cancels < 0:
            raise UserError("--max-cancels must be 0 or more")
        values["max_cancels"] = args.max_cancels
    if args.max_cancel_share is not None:
        values["cancel_max_share"] = args.max_cancel_share
    if args.horizon_hours is not None:
        values["horizon_s"] = args.horizon_hours * 3600
    if args.cancel_grace_s is not None:
        values["cancel_grace_s"] = args.cancel_grace_s
    values["allow_mass_cancel"] = bool(args.allow_mass_cancel)
    try:
        return FollowSettings(**values)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _order_lines(args: argparse.Namespace) -> Any:
    if not args.cancel_from:
        return None
    from purchase_sync.cmd_run import _check_inputs
    from transforms import ingest

    _check_inputs(list(args.cancel_from))
    # every line whatever its status and date: a cancel may come long after the order
    return ingest(list(args.cancel_from), sku_map=args.sku_map).order_lines


async def _run(args: argparse.Namespace, base_url: str | None) -> Any:
    from purchase_sync import settings
    from purchase_sync.follow import FollowStore, run_follow
    from purchase_sync.follow.ledger_view import ledger_ready
    from shanjing import ShanjingClient, TokenManager

    follow = follow_settings(args)
    conn = settings.api_connection(base_url, sandbox=args.sandbox)
    budget = None
    if budget_name := settings.api_budget(None):  # the workers' shared request budget
        from flows.budget import ApiBudget

        budget = ApiBudget(budget_name)
    url = settings.ledger_url(args.ledger_url, sandbox=args.sandbox)
    store = FollowStore(url)
    try:
        if not ledger_ready(store.engine):
            raise UserError(f"the ledger at {url} holds no purchases yet: run `purchase-sync run`")
        order_lines = _order_lines(args)
        async with ShanjingClient(
            conn.base_url,
            TokenManager(conn.tokens),
            max_connections=max(follow.concurrency, 4),
            rate_limit=args.rate_limit,
        ) as client:
            return await run_follow(
                client,
                store,
                follow,
                ledger_engine=store.engine,
                out=args.out,
                order_lines=order_lines,
                budget=budget,
                run_id="cli",
            )
    finally:
        store.close()


def print_result(result: Any) -> None:
    """The lists a person acts on, then the headline as the last line."""
    from rich.console import Console
    from rich.table import Table

    att, s = result.attention, result.summary
    table = Table(title="purchase-sync sync", title_justify="left")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    for status, n in s["remote_status_mix"].items():
        table.add_row(f"status {status}", str(n))
    table.add_row(
        "query calls", f"{s['sync']['query_calls']} (fewest: {s['sync']['min_query_calls']})"
    )
    table.add_row("to pay now", str(len(att.to_pay)))
    table.add_row("closed unpaid", str(len(att.closed_unpaid)))
    table.add_row("returns to handle", str(len(att.returns)))
    verb = "would cancel" if s["dry_run"] else "cancel requests sent"
    table.add_row(verb, str(len(result.cancel.planned) if s["dry_run"] else result.cancel.sent))
    console = Console()
    console.print(table)
    if s["dry_run"]:
        for item in result.cancel.planned:
            console.print(
                f"would cancel {item.outer_purchase_id} purchase {item.purchase_id} "
                f"({'whole' if item.whole else 'sub-orders ' + ','.join(item.sub_ids)})"
            )
    if result.cancel.refused_by_guard:
        print(f"purchase-sync: cancels refused: {result.cancel.refused_by_guard}", file=sys.stderr)
    for problem in result.sync.errors:
        print(f"purchase-sync: status sync incomplete: {problem}", file=sys.stderr)
    if result.paths:
        print(f"Lists: {result.paths['to_pay']} and the other files in the same directory")
    print(att.headline())


def main(args: argparse.Namespace) -> int:
    from purchase_sync.cmd_run import _sandbox

    with _sandbox(args.sandbox) as sandbox_url:
        result = asyncio.run(_run(args, sandbox_url))
    print_result(result)
    return 1 if result.failed else 0
