"""What Prefect costs on top of the same work: the flow versus its stages called directly.

One synthetic Lazada export (default 6,000 rows, about 3,000 purchasable orders) is planned and
submitted against the sandbox (a child process, 20 ms latency) twice, each time on a fresh
ledger and an emptied sandbox:

- baseline: the ingest and submit stages called in plain asyncio, then the output files;
- flow: the `purchase-sync` flow (its ~10 tasks, artifacts, results) on a temporary Prefect
  server, whose start-up is timed separately.

The ratio flow / baseline is the orchestration overhead per run; the goal is that it stays a
fixed cost of a few seconds, not a cost per order.

    python -m benchmarks flow [--rows 6000] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


async def _baseline(export: Path, sku_map: Path, base_url: str, ledger_url: str, out: Path) -> dict:
    from ledger import Ledger
    from purchase_sync.results import write_outputs
    from purchase_sync.submit.results import results_frame
    from purchase_sync.submit.settings import SubmitSettings
    from purchase_sync.submit.stages import run_submit
    from sandbox.config import DEFAULT_ACCESS_TOKEN, DEFAULT_REFRESH_TOKEN
    from shanjing import ShanjingClient, StaticTokenStore, TokenManager
    from transforms import ingest, to_planned_purchases

    read = ingest([str(export)], sku_map=sku_map)
    purchases = to_planned_purchases(read.purchases, read.purchase_lines)
    settings = SubmitSettings.load(None, reconcile_grace_s=0)
    ledger = Ledger(ledger_url)
    tokens = TokenManager(StaticTokenStore(DEFAULT_ACCESS_TOKEN, DEFAULT_REFRESH_TOKEN))
    async with ShanjingClient(base_url, tokens) as client:
        report = await run_submit(
            purchases, client=client, ledger=ledger, settings=settings, run_id="baseline"
        )
    results = results_frame(ledger, purchases, "baseline", report=report)
    write_outputs(
        out,
        results=results,
        rejects=read.rejects.to_pandas(),
        summary=report.summary(),
        run_id="baseline",
        run_date=datetime.now(UTC).date(),
    )
    ledger.close()
    return {"created": report.created, "purchases": len(purchases)}


async def _flow(export: Path, sku_map: Path, base_url: str, ledger_url: str, out: Path) -> dict:
    from flows.sync_flow import purchase_sync

    state = await purchase_sync(
        inputs=[str(export)],
        sku_map=str(sku_map),
        out=str(out),
        ledger_url=ledger_url,
        api_base_url=base_url,
        sandbox=True,
        return_state=True,
    )
    summary = await state.result()
    return {"created": summary["purchases_created"], "purchases": summary["purchases_planned"]}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks flow")
    parser.add_argument("--rows", type=int, default=6_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args(argv)

    from benchmarks.gen_exports import DATA_DIR, generate
    from sandbox.config import SandboxConfig
    from sandbox.server import start_subprocess

    export, sku_map = generate(args.rows, DATA_DIR / f"lazada_{args.rows}_s5.csv", seed=5)
    os.environ["PURCHASE_SYNC_CONFIG"] = ""  # code defaults, whatever the shell has
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_subprocess(SandboxConfig(latency_ms=args.latency_ms)) as sandbox,
    ):
        root = Path(tmp)
        cfg = root / "submit.toml"
        cfg.write_text("[submit]\nreconcile_grace_s = 0\n")
        os.environ["PURCHASE_SYNC_CONFIG"] = str(cfg)

        t0 = time.perf_counter()
        base = asyncio.run(
            _baseline(
                export, sku_map, sandbox.base_url, f"sqlite:///{root / 'a.sqlite'}", root / "a"
            )
        )
        base_s = time.perf_counter() - t0
        sandbox.control.reset()

        from prefect.testing.utilities import prefect_test_harness

        t0 = time.perf_counter()
        with prefect_test_harness(server_startup_timeout=60):
            start_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            flowed = asyncio.run(
                _flow(
                    export, sku_map, sandbox.base_url, f"sqlite:///{root / 'b.sqlite'}", root / "b"
                )
            )
            flow_s = time.perf_counter() - t0

    print(f"rows {args.rows}, purchases {base['purchases']}, latency {args.latency_ms:.0f} ms")
    print(f"baseline (stages, no Prefect): {base_s:6.2f} s, {base['created']} created")
    print(f"flow (10 tasks + artifacts):  {flow_s:6.2f} s, {flowed['created']} created")
    print(
        f"Prefect server start:          {start_s:6.2f} s (once per process without PREFECT_API_URL)"
    )
    print(f"flow / baseline: {flow_s / base_s:.2f}  (overhead {flow_s - base_s:+.2f} s per run)")
    if base["created"] != flowed["created"]:
        print("WARNING: the two runs created different numbers of purchases")
