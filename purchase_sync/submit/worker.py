"""Run the submit stage alone in a process: the crash test SIGKILLs it, operators may resume with it.

    python -m purchase_sync.submit.worker --ledger-url URL --purchases FILE.jsonl \\
        --base-url URL --run-id ID [--config submit.toml] [--max-concurrency N] ...

`FILE` holds one PlannedPurchase per line (`ledger.payload.to_json`). Tokens come from
SHANJING_ACCESS_TOKEN / SHANJING_REFRESH_TOKEN. The report is printed as one JSON line (and
written to `--report` if given). Exit status: 0 done, 2 a user-fixable error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from ledger import Ledger
from ledger import payload as payload_json
from schemas.errors import UserError
from schemas.records import PlannedPurchase
from shanjing import ShanjingClient, StaticTokenStore, TokenManager

from .run import run_submit
from .settings import SubmitSettings


def read_purchases(path: str | Path) -> list[PlannedPurchase]:
    with open(path, encoding="utf-8") as fh:
        return [payload_json.from_json(line) for line in fh if line.strip()]


def write_purchases(purchases: list[PlannedPurchase], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for p in purchases:
            fh.write(payload_json.to_json(p) + "\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m purchase_sync.submit.worker")
    p.add_argument("--ledger-url", required=True)
    p.add_argument("--purchases", required=True, help="JSON lines of PlannedPurchase")
    p.add_argument("--base-url", required=True)
    p.add_argument("--run-id", required=True)
    p.add_argument("--config", help="TOML file with a [submit] table")
    p.add_argument("--max-concurrency", type=int)
    p.add_argument("--rate-limit", type=float)
    p.add_argument("--max-purchases", type=int)
    p.add_argument("--max-amount", help="CNY, e.g. 5000.00")
    p.add_argument("--reprocess", choices=["missing", "failed", "all"])
    p.add_argument("--lease-s", type=float)
    p.add_argument("--reconcile-grace-s", type=float)
    p.add_argument("--heartbeat-s", type=float)
    p.add_argument("--max-passes", type=int)
    p.add_argument("--claim-batch", type=int)
    p.add_argument("--pre-price", action="store_true", default=None)
    p.add_argument("--dry-run", action="store_true", default=None)
    p.add_argument("--timeout", type=float, default=30.0, help="per HTTP request, seconds")
    p.add_argument("--deadline", type=float, help="per call with retries (default 4 x timeout)")
    p.add_argument("--report", help="also write the report JSON here")
    return p


async def _run(args: argparse.Namespace) -> dict[str, object]:
    settings = SubmitSettings.load(
        args.config,
        max_concurrency=args.max_concurrency,
        rate_limit=args.rate_limit,
        max_purchases=args.max_purchases,
        max_amount=args.max_amount,
        reprocess=args.reprocess,
        lease_s=args.lease_s,
        reconcile_grace_s=args.reconcile_grace_s,
        heartbeat_s=args.heartbeat_s,
        max_passes=args.max_passes,
        claim_batch=args.claim_batch,
        pre_price=args.pre_price,
        dry_run=args.dry_run,
    )
    purchases = read_purchases(args.purchases)
    ledger = Ledger(args.ledger_url)
    tokens = TokenManager(StaticTokenStore.from_env())
    try:
        async with ShanjingClient(
            args.base_url,
            tokens,
            max_connections=max(settings.max_concurrency, settings.resolve_concurrency) + 8,
            timeout=args.timeout,
            deadline=args.deadline,
            rate_limit=settings.rate_limit,
        ) as client:
            report = await run_submit(
                purchases, client=client, ledger=ledger, settings=settings, run_id=args.run_id
            )
    finally:
        ledger.close()
    return report.summary()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = asyncio.run(_run(args))
    except UserError as exc:
        print(f"submit worker: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(summary, default=str)
    if args.report:
        Path(args.report).write_text(text + "\n", encoding="utf-8")
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
