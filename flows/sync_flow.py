"""The `purchase-sync` flow: marketplace exports -> supplier purchases, exactly once.

A table of contents, not an implementation: one coarse task per stage (about ten per run
whatever the number of orders), the logic in `transforms` (ingest) and `purchase_sync.submit`
(ledger-guarded sending). Tasks that can safely run again have Prefect retries; the create task
has none, because the ledger, not a retry, decides what may be sent again.

The final state tells the truth: Completed when every purchase went through (rejected rows and
purchases the supplier refused are results); Completed named "NeedsAttention" when the ledger
still owes purchases (any window) or created purchases are in trouble (duplicate, partial,
closed upstream); Failed when purchases are left `unknown` or the run hit a fatal error. The
summary is written either way.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.budget import ApiBudget
from flows.follow_flow import follow_settings, follow_step
from flows.naming import RunKind, resolve_window, run_name
from flows.tasks import (
    create_task,
    group_task,
    owed_task,
    pre_price_task,
    publish_task,
    read_task,
    reconcile_task,
    register_task,
    resolve_task,
    write_results_task,
)
from ledger import Ledger
from purchase_sync import settings
from purchase_sync.results import (
    NEEDS_ATTENTION,
    RESULTS,
    run_summary,
    set_verdict,
    write_json,
)
from purchase_sync.results import run_dir as partition_dir
from purchase_sync.settings import Limits, Reprocess
from purchase_sync.submit import stages
from purchase_sync.submit.report import SubmitReport
from purchase_sync.submit.settings import SubmitSettings
from schemas.errors import UserError
from schemas.records import PlannedPurchase
from shanjing import ShanjingClient, TokenManager
from transforms import Ingested

DEFAULT_LIMITS = Limits()


def _flow_run_name() -> str:
    params = flow_run.parameters
    return run_name(
        params, flow_run.scheduled_start_time, settings.timezone(params.get("timezone"))
    )


# -- the flow ---------------------------------------------------------------------------------


@flow(
    name="purchase-sync",
    flow_run_name=_flow_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=2),
    validate_parameters=True,
)
async def purchase_sync(
    inputs: list[str],
    sku_map: str | None = None,
    since: str | None = None,
    until: str | None = None,
    kind: RunKind = "manual",
    timezone: str | None = None,
    statuses: list[str] | None = None,
    dry_run: bool = False,
    reprocess: Reprocess = "missing",
    limits: Limits = DEFAULT_LIMITS,
    out: str = "out",
    ledger_url: str | None = None,
    api_base_url: str | None = None,
    sandbox: bool = False,
    rebuild_ledger: bool = False,
) -> Any:
    """Read the exports, plan the purchases, create each one exactly once, report.

    Window: `since` inclusive, `until` exclusive (shop-local dates unless an offset is given).
    A nightly run without a window takes the shop-local day before its scheduled start; a
    backfill needs both bounds. `reprocess`: `missing` sends only what was never created,
    `failed` also resends what the supplier refused, `all` also adopts changed orders.
    A nightly run also sends what the ledger owes from earlier windows (`owed_max_age_days`).
    `rebuild_ledger`: the ledger was lost; every purchase is looked up before its first create.
    """
    log = get_run_logger()
    started = time.perf_counter()
    run_id = str(flow_run.id or "local")
    run_date = datetime.now(UTC).date()
    tz = settings.timezone(timezone)
    lo, hi = resolve_window(kind, since, until, scheduled=flow_run.scheduled_start_time, tz=tz)
    ctx: dict[str, Any] = {
        "run_id": run_id,
        "flow_run_name": flow_run.name,
        "kind": kind,
        "window": {"since": lo, "until": hi},
        "dry_run": dry_run,
        "reprocess": reprocess,
        "sandbox": sandbox,
    }
    read: Ingested | None = None
    group: Any = None
    purchases: list[PlannedPurchase] = []
    rejects: pd.DataFrame | None = None
    report = SubmitReport(run_id=run_id, dry_run=dry_run)
    ledger: Ledger | None = None
    url: str | None = None  # the ledger's, resolved once (the follow tables live beside it)
    budget: ApiBudget | None = None
    fatal: BaseException | None = None
    extra_ids: list[str] = []
    try:
        submit = SubmitSettings.load(
            max_concurrency=limits.max_concurrency,
            rate_limit=limits.rate_limit,
            max_purchases=limits.max_purchases,
            max_amount=limits.max_amount,
            reprocess=reprocess,
            dry_run=dry_run or None,
        )
        conn = settings.api_connection(api_base_url, sandbox=sandbox)
        budget_name = settings.api_budget(limits.api_budget)
        budget = ApiBudget(budget_name) if budget_name else None
        log.info("window %s..%s; %r", lo, hi, conn)

        read = read_task(inputs, sku_map, lo, hi, statuses)
        group, purchases, rejects = group_task(quote(read))
        report.purchases_in = len(purchases)
        url = settings.ledger_url(ledger_url, sandbox=sandbox)
        ledger = Ledger(url)
        ctx["ledger_url"] = ledger.display_url
        async with ShanjingClient(
            conn.base_url,
            TokenManager(conn.tokens),
            max_connections=max(submit.max_concurrency, submit.resolve_concurrency),
            rate_limit=submit.rate_limit,
            timeout=submit.api_timeout_s,
            deadline=submit.api_deadline_s,
        ) as client:
            common = {"ledger": ledger, "submit": submit, "run_id": run_id, "report": report}
            try:
                await register_task(
                    quote(read.purchases), out=out, rebuild_ledger=rebuild_ledger, **common
                )
                report.purchases_in = len(purchases)
                sending = purchases
                if kind == "nightly" and not dry_run:
                    owed_before = await owed_task(quote(purchases), ledger, submit)
                    sending = purchases + owed_before
                    extra_ids = [p.outer_purchase_id for p in owed_before]
                if not dry_run:
                    await reconcile_task(client, **common)
                resolution = await resolve_task(quote(sending), client, **common)
                if submit.pre_price or dry_run:
                    resolution = await pre_price_task(quote(resolution), client, **common)
                await create_task(quote(resolution), client, budget=budget, **common)
                # After create: statuses, what to pay, cancels (issue 11). A dry run lists the
                # cancels it would send; on a ledger that never created anything it skips.
                if not dry_run or not await asyncio.to_thread(ledger.is_empty):
                    ctx["follow"] = await follow_step(
                        client=client, ledger_url=url, out=out,
                        budget=budget, order_lines=read.order_lines,
                        follow=follow_settings(limits, dry_run=dry_run),
                    )  # fmt: skip
            finally:
                report.client_stats = client.stats.snapshot()
    except Exception as exc:
        fatal = exc
        log.error("run stopped: %s", exc, extra={"user_error": isinstance(exc, UserError)})

    if ledger is not None and not dry_run and purchases:
        try:
            ids = [p.outer_purchase_id for p in purchases] + extra_ids
            await asyncio.to_thread(stages.read_final_states, ledger, ids, report)
        except Exception as exc:  # the summary must still be written
            log.warning("could not read the final ledger states: %s", exc)

    summary = run_summary(ctx, read, group, rejects, report, started)
    if report.owed is not None:
        summary["owed_ids"] = list(report.owed.ids[:1000])
    if budget is not None:
        summary["api_budget"] = {
            "limit": budget.name,
            "acquisitions": budget.acquisitions,
            "slots": budget.slots,
        }
    results: pd.DataFrame | None = None
    set_verdict(summary, fatal)
    try:
        if ledger is not None:
            summary["outputs"] = {
                "results": str(Path(out) / RESULTS),
                "run_dir": str(partition_dir(out, run_date, run_id)),
            }
            summary["results_path"] = summary["outputs"]["results"]
            results = write_results_task(
                ledger, quote(purchases), quote(rejects), summary, out, run_id, run_date, report,
                order_lines=quote(read.order_lines) if read is not None else None,
                follow_url=url if "follow" in ctx else None,
            )  # fmt: skip
        else:
            # Nothing was planned: keep the latest files as they are, record this run's attempt.
            path = partition_dir(out, run_date, run_id) / "summary.json"
            write_json(summary, path)
            summary["outputs"] = {"summary": str(path), "run_dir": str(path.parent)}
        await publish_task(summary, quote(results), quote(rejects))
    finally:
        if ledger is not None:
            ledger.close()

    if fatal is not None:
        raise fatal
    if summary["final_state"] == "FAILED":
        return Failed(message=summary["message"], data=summary)
    if summary["final_state"] == NEEDS_ATTENTION:
        return Completed(name="NeedsAttention", message=summary["message"], data=summary)
    return summary
