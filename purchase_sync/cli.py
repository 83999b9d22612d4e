"""The `purchase-sync` command line (see docs/interface.md and the README).

Each sub-command's handler lives in its own module and is imported lazily, so `plan` never pays
for importing Prefect and `sandbox` never imports pandas.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from schemas.errors import UserError

# sub-command -> "module:function"; each function takes the parsed argparse.Namespace and returns
# an exit status.
HANDLERS = {
    "plan": "purchase_sync.cmd_plan:main",
    "run": "purchase_sync.cmd_run:main",
    "sandbox": "purchase_sync.cmd_sandbox:main",
    "serve": "purchase_sync.cmd_run:serve",
    "sync": "purchase_sync.cmd_sync:main",
    "owed": "purchase_sync.cmd_owed:main",
}


def _add_ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="export file or glob (csv, xlsx, parquet)"
    )
    p.add_argument("--sku-map", metavar="FILE", help="SKU map (csv/xlsx/parquet)")
    p.add_argument("--out", metavar="DIR", default="out", help="output directory (default: out)")
    p.add_argument(
        "--since", metavar="DATE", help="window start, inclusive (shop-local date or datetime)"
    )
    p.add_argument(
        "--until", metavar="DATE", help="window end, exclusive (shop-local date or datetime)"
    )
    p.add_argument(
        "--statuses",
        metavar="LIST",
        help="purchasable statuses as MARKETPLACE:STATUS items, comma-separated, e.g. "
        "shopee:ready_to_ship,tiktok:awaiting_shipment (a marketplace named gets exactly its "
        "items; an item without a marketplace is Lazada's). Defaults: lazada pending and "
        "ready_to_ship, shopee ready_to_ship (To ship), tiktok awaiting_shipment",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="purchase-sync", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plan", help="read, validate, map and group exports; no network")
    _add_ingest_args(p)

    for name, help_ in (
        ("run", "run the Prefect flow end to end"),
        ("serve", "serve the flow's deployments from this process (no work pool needed)"),
    ):
        p = sub.add_parser(name, help=help_)
        if name == "run":
            _add_ingest_args(p)
            p.add_argument(
                "--sandbox", action="store_true", help="start the local API emulator and use it"
            )
            p.add_argument(
                "--dry-run", action="store_true", help="plan, resolve and pre-price; create nothing"
            )
            p.add_argument("--reprocess", choices=["missing", "failed", "all"], default="missing")
            p.add_argument("--max-concurrency", type=int, default=None, metavar="N")
            p.add_argument("--rate-limit", type=float, default=None, metavar="PER_SECOND")
            p.add_argument("--max-purchases", type=int, default=None, metavar="N")
            p.add_argument("--max-amount", default=None, metavar="AMOUNT", help="CNY, e.g. 5000.00")
            p.add_argument(
                "--ledger-url",
                default=None,
                help="SQLAlchemy URL (default: $PURCHASE_SYNC_LEDGER_URL)",
            )
            p.add_argument(
                "--max-cancels",
                type=int,
                default=None,
                metavar="N",
                help="send at most N cancel requests for lines the export shows cancelled",
            )
            p.add_argument(
                "--allow-mass-cancel",
                action="store_true",
                help="cancel even when more than the guarded share of purchases would be",
            )
            p.add_argument("--no-progress", action="store_true", help="no progress bar")
            p.add_argument(
                "--rebuild-ledger",
                action="store_true",
                help="the ledger was lost: look every purchase up before its first create "
                "(needed when the ledger is empty but --out holds earlier runs' results)",
            )

    p = sub.add_parser("owed", help="list (or --send) the purchases the ledger still owes")
    p.add_argument("--ledger-url", default=None, help="default: $PURCHASE_SYNC_LEDGER_URL")
    p.add_argument("--send", action="store_true", help="send them now (reconcile first)")
    p.add_argument("--sandbox", action="store_true", help="send to the local API emulator")

    p = sub.add_parser("sync", help="follow created purchases: statuses, what to pay, cancels")
    from purchase_sync.cmd_sync import add_arguments as add_sync_arguments

    add_sync_arguments(p)

    p = sub.add_parser("sandbox", help="serve the Shanjing API emulator in the foreground")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8600)
    # fault and latency options are added by the sandbox module itself
    try:
        from sandbox.options import add_arguments
    except ImportError:  # pragma: no cover - only while the sandbox is being built
        pass
    else:
        add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = HANDLERS[args.command].split(":")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except UserError as exc:
        print(f"purchase-sync: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("purchase-sync: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
