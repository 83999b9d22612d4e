"""Submit-stage throughput against the sandbox: creates/s as a share of the Little's-law bound.

    python -m benchmarks submit [--n 20000] [--concurrency 64] [--latency-ms 50] [--ledger-url URL]

The sandbox runs in a child process (its own core) with a fixed latency; the purchases come from
the ingest stage (`gen_exports.generate` + `transforms.ingest`). Printed: creates/s and its ratio
to the bound concurrency / latency, resolve calls next to the distinct uncached items, the
ledger's share of the create stage's wall time, and a rerun that must send zero creates.
The margin hold is off here (placeholder FX rates would hold some purchases): this measures speed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).parent / ".data"


def _purchases(n: int) -> tuple[list, object]:
    """n planned purchases as records, and as the ingest's purchases table (what the flow
    registers in bulk)."""
    from benchmarks.gen_exports import generate
    from transforms import ingest, to_planned_purchases

    rows = max(2000, int(n * 2.1))  # ~0.5 purchase per export row with the default mix
    export, sku_map = generate(rows, DATA / f"submit_{rows}.csv")
    result = ingest([export], sku_map=sku_map)
    planned = to_planned_purchases(result.purchases, result.purchase_lines)
    if len(planned) < n:
        raise SystemExit(f"the generator planned {len(planned)} purchases, fewer than --n {n}")
    return planned[:n], result.purchases.slice(0, n)


async def _bench(args: argparse.Namespace) -> None:
    from ledger import Ledger
    from purchase_sync.submit import (
        SubmitReport,
        SubmitSettings,
        create,
        reconcile,
        register,
        resolve,
    )
    from sandbox import SandboxConfig, start_subprocess
    from shanjing import ShanjingClient, StaticTokenStore, TokenManager

    t = time.perf_counter()
    purchases, table = _purchases(args.n)
    print(f"inputs: {len(purchases):,} purchases planned in {time.perf_counter() - t:.1f} s")
    tmp = tempfile.TemporaryDirectory(prefix="bench_submit_")
    url = args.ledger_url or f"sqlite:///{tmp.name}/ledger.sqlite"
    sbx = start_subprocess(SandboxConfig(latency_ms=args.latency_ms))
    ledger = Ledger(url)
    ledger.create_schema()
    settings = SubmitSettings(
        max_concurrency=args.concurrency, max_cost_over_revenue=None, reconcile_grace_s=0
    )
    tokens = TokenManager(StaticTokenStore(sbx.access_token, sbx.refresh_token))
    bound = args.concurrency / (args.latency_ms / 1000)
    try:
        async with ShanjingClient(
            sbx.base_url, tokens, max_connections=args.concurrency + 8
        ) as client:
            report = SubmitReport(run_id="bench-1")
            kw = {"ledger": ledger, "settings": settings, "run_id": "bench-1", "report": report}
            t0 = time.perf_counter()
            await register(table, **kw)
            await reconcile(client=client, **kw)
            t1 = time.perf_counter()
            resolution = await resolve(purchases, client=client, **kw)
            base = await _baseline(client, resolution, settings, args)
            t2 = time.perf_counter()
            busy, cpu = ledger.busy_s, ledger.cpu_s
            await create(resolution, client=client, **kw)
            t3 = time.perf_counter()
            create_ledger_s = ledger.busy_s - busy
            create_ledger_cpu = ledger.cpu_s - cpu
            rate = report.creates_sent / (t3 - t2)
            print(
                f"register+reconcile: {t1 - t0:.2f} s for {len(purchases):,} purchases "
                f"({ledger.transactions} ledger calls so far)"
            )
            print(
                f"resolve: {report.resolve_calls:,} product/get calls for "
                f"{report.uncached_items:,} distinct uncached items "
                f"({'equal' if report.resolve_calls == report.uncached_items else 'NOT EQUAL'}), "
                f"{report.cache_hits:,} cache hits, {t2 - t1:.1f} s "
                f"(concurrency {settings.resolve_concurrency})"
            )
            print(
                f"create: {report.creates_sent:,} creates in {t3 - t2:.1f} s = {rate:,.0f}/s; "
                f"bound {args.concurrency}/{args.latency_ms / 1000:g} s = {bound:,.0f}/s; "
                f"ratio {rate / bound:.2f} (target >= 0.80)"
            )
            if base:
                print(
                    f"baseline: the bare client (no ledger, same plans) made {base:,.0f} creates/s "
                    f"= {base / bound:.2f} of the bound on this machine now; the stage reaches "
                    f"{rate / base:.2f} of it"
                )
            print(
                f"ledger during create: {create_ledger_cpu:.2f} s CPU = "
                f"{create_ledger_cpu / (t3 - t2):.1%} of the stage's wall time "
                f"({create_ledger_s:.2f} s = {create_ledger_s / (t3 - t2):.1%} in ledger calls "
                f"counting lock/GIL waits; they run in a worker thread, overlapping the sends)"
            )
            print(
                f"outcome: created {report.created:,}, failed {dict(report.failed)}, "
                f"unknown {report.unknown}"
            )
            snap = client.stats.snapshot()
            print(f"client: 429s {snap['rate_limited']}, retries {snap['retries']}")
            rerun = SubmitReport(run_id="bench-2")
            kw2 = {**kw, "run_id": "bench-2", "report": rerun}
            t4 = time.perf_counter()
            await register(table, **kw2)
            await reconcile(client=client, **kw2)
            res2 = await resolve(purchases, client=client, **kw2)
            await create(res2, client=client, **kw2)
            print(
                f"rerun of the same window: {rerun.creates_sent} creates sent, "
                f"{rerun.resolve_calls} resolve calls, {time.perf_counter() - t4:.2f} s"
            )
        stats = sbx.control.stats()
        print(
            f"sandbox: {stats['creates_committed']:,} creates committed (baseline included), "
            f"{stats['duplicate_outer_ids']} duplicated outer ids"
        )
    finally:
        sbx.stop()
        ledger.close()
        tmp.cleanup()


async def _baseline(client, resolution, settings, args: argparse.Namespace) -> float:
    """Creates/s of the client alone for a few seconds: what this machine allows right now
    (other load on the 2 cores lowers both figures alike)."""
    from purchase_sync.submit.plan import create_request

    if args.baseline_s <= 0 or not resolution.plans:
        return 0.0
    plans = resolution.plans
    done = 0
    stop = time.perf_counter() + args.baseline_s

    async def one(k: int) -> None:
        nonlocal done
        i = k
        while time.perf_counter() < stop:
            req = create_request(plans[i % len(plans)], settings)
            req = req.model_copy(update={"outer_purchase_id": f"BENCH-BASE-{i}"})
            try:
                await client.create_order(req)
                done += 1
            except Exception:
                pass
            i += args.concurrency

    t = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(args.concurrency)))
    return done / (time.perf_counter() - t)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks submit")
    p.add_argument("--n", type=int, default=20_000, help="purchases (default 20000)")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--ledger-url", default=None, help="default: a temporary SQLite file")
    p.add_argument("--baseline-s", type=float, default=3.0, help="bare-client run first (0: skip)")
    args, _ = p.parse_known_args(argv)
    asyncio.run(_bench(args))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
