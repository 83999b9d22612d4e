"""`purchase-sync owed`: what the ledger still owes, from any window; `--send` sends it.

Owed: purchases `planned` (never sent, or proven absent), `submitting` or `unknown` (in doubt).
`--send` runs the submit stage on them alone (no input files needed: the ledger keeps every
payload): in-doubt rows are looked up once their not-before has passed, absent ones are sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any


def _listing(ledger: Any) -> dict[str, Any]:
    owed = ledger.owed()
    age = time.time() - owed.oldest_created_at if owed.oldest_created_at is not None else None
    return {
        "ledger_url": ledger.display_url,
        "count": owed.count,
        "by_state": owed.by_state,
        "oldest_age_s": round(age, 1) if age is not None else None,
        "ids": list(owed.ids),
    }


async def _send(ledger: Any, base_url: str, tokens: Any) -> dict[str, Any]:
    from purchase_sync.submit import SubmitSettings, run_submit
    from shanjing import ShanjingClient, TokenManager

    settings = SubmitSettings.load()
    purchases = await asyncio.to_thread(ledger.load_purchases, ids=list(ledger.owed().ids))
    async with ShanjingClient(
        base_url,
        TokenManager(tokens),
        max_connections=max(settings.max_concurrency, settings.resolve_concurrency) + 8,
        rate_limit=settings.rate_limit,
        timeout=settings.api_timeout_s,
        deadline=settings.api_deadline_s,
    ) as client:
        report = await run_submit(
            purchases, client=client, ledger=ledger, settings=settings, run_id="owed-command"
        )
    return report.summary()


def main(args: argparse.Namespace) -> int:
    """List the owed purchases as JSON; with --send, send them and list what is left.
    Exit 0 when nothing is owed at the end, 1 otherwise."""
    from ledger import Ledger
    from purchase_sync import settings
    from purchase_sync.cmd_run import _sandbox

    ledger = Ledger(settings.ledger_url(args.ledger_url, sandbox=args.sandbox))
    try:
        ledger.create_schema()
        if args.send:
            if not args.sandbox:
                conn = settings.api_connection()
            with _sandbox(args.sandbox) as sandbox_url:
                if args.sandbox:
                    conn = settings.api_connection(sandbox_url, sandbox=True)
                sent = asyncio.run(_send(ledger, conn.base_url, conn.tokens))
            print(json.dumps({"sent": sent}, default=str))
        listing = _listing(ledger)
    finally:
        ledger.close()
    print(json.dumps(listing, default=str))
    if listing["count"]:
        print(f"purchase-sync: {listing['count']} purchase(s) owed", file=sys.stderr)
        return 1
    return 0
