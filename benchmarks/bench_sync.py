"""Status sync of many created purchases: query calls against the fewest the page size allows,
and wall time of bounded concurrency against one query at a time, both in the same run.

    python -m benchmarks sync [--n 10000] [--concurrency 8] [--latency-ms 50] [--repeat 3]
                              [--changed 500]

The purchases are created by the real submit stage against the sandbox (child process, fixed
latency), so the ledger holds what production would. Printed:

- by ids: query calls vs ceil(n / 50) (the minimum for the page size of 50), and the wall time
  at `--concurrency` queries in flight vs the baseline of one at a time (best of `--repeat`,
  each on a fresh follow store);
- by modification window, after `--changed` purchases were paid: query calls vs
  ceil(changed / 50), next to what a full by-ids sync would have cost.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

PAGE = 50


def _purchases(n: int) -> list:
    """n one-line purchases over the sandbox's generated Taobao items (all in the pool)."""
    from schemas.records import PlannedLine, PlannedPurchase, Receiver, outer_purchase_id

    base = datetime(2026, 3, 1, tzinfo=UTC)
    out, i = [], 0
    while len(out) < n:
        if i % 50 != 49:  # the sandbox keeps every 50th generated item out of the pool
            item, sku = str(800000000000 + i % 10000), str(9000000000000 + (i % 10000) * 10)
            number = f"8{i:011d}"
            line = PlannedLine(
                "1",
                "taobao",
                item,
                sku,
                "",
                1,
                f"SKU-{item}",
                f"item {item}",
                (f"OL{number}",),
                Decimal("50.00"),
            )
            out.append(
                PlannedPurchase(
                    outer_purchase_id=outer_purchase_id("lazada", "MY", number),
                    marketplace="lazada",
                    country="MY",
                    order_number=number,
                    ordered_at=base + timedelta(seconds=i),
                    currency="MYR",
                    receiver=Receiver(
                        "Bench",
                        "60100000000",
                        "Malaysia",
                        "Selangor",
                        "Shah Alam",
                        "",
                        "1 Jalan Bench",
                        "40000",
                    ),
                    lines=(line,),
                    revenue=Decimal("50.00"),
                )
            )
        i += 1
    return out


async def _sync(client, ledger, path: str, concurrency: int, clock, mode: str = "ids"):
    from purchase_sync.follow import FollowSettings, FollowStore, sync_statuses

    store = FollowStore(f"sqlite:///{path}")
    try:
        settings = FollowSettings(concurrency=concurrency, mode=mode, window_lag_s=1.0)  # type: ignore[arg-type]
        t = time.perf_counter()
        report = await sync_statuses(client, store, ledger.engine, settings, clock_ms=clock)
        return report, time.perf_counter() - t
    finally:
        store.close()


async def _bench(args: argparse.Namespace) -> None:
    from ledger import Ledger
    from purchase_sync.follow.ledger_view import created_purchases
    from purchase_sync.submit import SubmitSettings, run_submit
    from sandbox import SandboxConfig, start_subprocess
    from shanjing import ShanjingClient, StaticTokenStore, TokenManager

    tmp = tempfile.TemporaryDirectory(prefix="bench_sync_")
    sbx = start_subprocess(SandboxConfig(latency_ms=args.latency_ms))
    ledger = Ledger(f"sqlite:///{tmp.name}/ledger.sqlite")
    ledger.create_schema()
    tokens = TokenManager(StaticTokenStore(sbx.access_token, sbx.refresh_token))

    def clock() -> int:
        return int(sbx.control.clock()["now_ms"])

    try:
        async with ShanjingClient(sbx.base_url, tokens, max_connections=64) as client:
            t = time.perf_counter()
            purchases = _purchases(args.n)
            rep = await run_submit(
                purchases,
                client=client,
                ledger=ledger,
                settings=SubmitSettings(
                    max_concurrency=64, reconcile_grace_s=0, max_cost_over_revenue=None
                ),
                run_id="bench-sync",
            )
            print(
                f"setup: {rep.created:,} purchases created in {time.perf_counter() - t:.1f} s "
                f"(sandbox latency {args.latency_ms} ms)"
            )
            sbx.control.advance_clock(60)  # the creations fall before the first watermark
            n_ids = rep.created
            floor = math.ceil(n_ids / PAGE)
            best: dict[int, float] = {}
            calls: dict[int, int] = {}
            for r in range(args.repeat):
                for conc in (1, args.concurrency):
                    report, wall = await _sync(
                        client, ledger, f"{tmp.name}/f{conc}_{r}.sqlite", conc, clock
                    )
                    if report.errors or report.observed != n_ids:
                        raise SystemExit(f"sync incomplete: {report.as_dict()}")
                    best[conc] = min(best.get(conc, math.inf), wall)
                    calls[conc] = report.query_calls
            print(
                f"by ids: {calls[args.concurrency]} query calls for {n_ids:,} purchases; "
                f"minimum for page size {PAGE}: {floor} "
                f"(ratio {calls[args.concurrency] / floor:.2f}; target 1.00)"
            )
            ratio = best[1] / best[args.concurrency]
            print(
                f"by ids, wall (best of {args.repeat}): {best[args.concurrency]:.2f} s at "
                f"concurrency {args.concurrency} vs {best[1]:.2f} s one query at a time "
                f"= {ratio:.1f}x faster; {n_ids / best[args.concurrency]:,.0f} purchases/s"
            )
            # the window: only what changed since the last sync is read
            path = f"{tmp.name}/window.sqlite"
            await _sync(client, ledger, path, args.concurrency, clock)
            created = created_purchases(ledger.engine, with_lines=False)
            paid = [
                pid for rec in list(created.values())[: args.changed] for pid in rec.purchase_ids
            ]
            for i in range(0, len(paid), 500):
                sbx.control.pay(paid[i : i + 500])
            sbx.control.advance_clock(5)
            report, wall = await _sync(client, ledger, path, args.concurrency, clock, "auto")
            wfloor = max(1, math.ceil(report.window_orders / PAGE))
            print(
                f"by window after {len(paid):,} payments: mode {report.mode}, "
                f"{report.window_orders:,} changed orders read in {report.query_calls} query "
                f"calls; minimum {wfloor} (ratio {report.query_calls / wfloor:.2f}); "
                f"{wall:.2f} s; a full by-ids sync takes {floor} calls"
            )
    finally:
        sbx.stop()
        ledger.close()
        tmp.cleanup()


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks sync")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--changed", type=int, default=500)
    args, _ = p.parse_known_args(argv)
    asyncio.run(_bench(args))
