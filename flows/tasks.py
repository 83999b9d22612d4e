"""The `purchase-sync` flow's tasks: one coarse task per stage (`flows.sync_flow` runs them).

Tasks that can safely run again have Prefect retries (`RETRYABLE`, never on a `UserError`);
the create task has none, because the ledger, not a retry, decides what may be sent again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from flows.budget import ApiBudget
from flows.follow_flow import with_remote_status
from ledger import Ledger
from purchase_sync import artifacts
from purchase_sync.results import (
    check_ledger_not_lost,
    write_outputs,
)
from purchase_sync.submit import stages
from purchase_sync.submit.report import ProgressEvent, SubmitReport
from purchase_sync.submit.results import results_frame
from purchase_sync.submit.settings import SubmitSettings
from schemas.contracts import Results
from schemas.errors import UserError
from schemas.records import PlannedPurchase
from schemas.types import arrow_schema, check
from shanjing import ShanjingClient
from transforms import Ingested, ingest, to_planned_purchases

# Lookups and pre-pricing are reads: safe to run again after a transient failure.
READ_RETRIES = {"retries": 2, "retry_delay_seconds": [2, 10], "retry_jitter_factor": 0.5}


def _no_retry_on_user_error(task: Any, task_run: Any, state: Any) -> bool:
    """A fix-it-yourself error (bad file, revoked token) fails the same way every time.

    `_sync=True`: in an async task Prefect's `result()` would otherwise hand back a coroutine
    and no exception at all, and every error would look retryable.
    """
    try:
        state.result(_sync=True)
    except UserError:
        return False
    except Exception:
        return True
    return True


RETRYABLE = {**READ_RETRIES, "retry_condition_fn": _no_retry_on_user_error}


@task(name="ingest", cache_policy=NONE)
def read_task(
    inputs: list[str],
    sku_map: str | None,
    since: str | None,
    until: str | None,
    statuses: list[str] | None,
) -> Ingested:
    """Read, validate, map and group every export (one path with `purchase-sync plan`); bad
    rows are quarantined with a reason, not dropped."""
    return ingest(inputs, sku_map=sku_map, since=since, until=until, statuses=statuses)


@task(name="planned-purchases", cache_policy=NONE)
def group_task(ingested: Ingested) -> tuple[Ingested, list[PlannedPurchase], pd.DataFrame]:
    """The purchases as records for the submit stage (until it reads the tables), and the
    rejects as a frame for the results writer."""
    planned = to_planned_purchases(ingested.purchases, ingested.purchase_lines)
    return ingested, planned, ingested.rejects.to_pandas(types_mapper=pd.ArrowDtype)


@task(name="plan-against-ledger", cache_policy=NONE, **RETRYABLE)
async def register_task(
    purchases: pa.Table,
    ledger: Ledger,
    submit: SubmitSettings,
    run_id: str,
    report: SubmitReport,
    out: str = "out",
    rebuild_ledger: bool = False,
) -> None:
    """Make the ledger know every purchase, in bulk from the ingest's purchases table (its
    payload JSON and hash); what was created before is never sent again. An empty ledger beside
    earlier runs' results is refused unless told to rebuild it."""
    await asyncio.to_thread(ledger.create_schema)
    empty = await asyncio.to_thread(ledger.is_empty)
    if not submit.dry_run:
        check_ledger_not_lost(empty, out, rebuild_ledger, ledger.display_url)
    await stages.register(
        purchases,
        ledger=ledger,
        settings=submit,
        run_id=run_id,
        report=report,
        rebuilt=rebuild_ledger and not submit.dry_run,
    )


@task(name="owed-from-earlier-windows", cache_policy=NONE)
async def owed_task(
    purchases: list[PlannedPurchase], ledger: Ledger, submit: SubmitSettings
) -> list[PlannedPurchase]:
    """Purchases of earlier windows the ledger still owes (planned), registered at most
    `owed_max_age_days` ago: a nightly run sends them too."""
    since = ledger.clock() - submit.owed_max_age_days * 86_400
    ids = await asyncio.to_thread(ledger.owed_ids, since)
    mine = {p.outer_purchase_id for p in purchases}
    extra = [i for i in ids if i not in mine]
    if not extra:
        return []
    get_run_logger().info("also sending %d owed purchase(s) of earlier windows", len(extra))
    return await asyncio.to_thread(ledger.load_purchases, ids=extra)


@task(name="reconcile", cache_policy=NONE, **RETRYABLE)
async def reconcile_task(
    client: ShanjingClient,
    ledger: Ledger,
    submit: SubmitSettings,
    run_id: str,
    report: SubmitReport,
) -> None:
    """Settle purchases a previous run left in flight by looking them up, before any send."""
    await stages.reconcile(
        client=client, ledger=ledger, settings=submit, run_id=run_id, report=report
    )


@task(name="resolve", cache_policy=NONE, **RETRYABLE)
async def resolve_task(
    purchases: list[PlannedPurchase],
    client: ShanjingClient,
    ledger: Ledger,
    submit: SubmitSettings,
    run_id: str,
    report: SubmitReport,
) -> stages.Resolution:
    """Resolve supplier items to pool ids in bulk (cached in the ledger across runs)."""
    return await stages.resolve(
        purchases, client=client, ledger=ledger, settings=submit, run_id=run_id, report=report
    )


@task(name="pre-price", cache_policy=NONE, **RETRYABLE)
async def pre_price_task(
    resolution: stages.Resolution,
    client: ShanjingClient,
    ledger: Ledger,
    submit: SubmitSettings,
    run_id: str,
    report: SubmitReport,
) -> stages.Resolution:
    """Price every purchase with order/render; unavailable SKUs fail before any create."""
    return await stages.pre_price(
        resolution, client=client, ledger=ledger, settings=submit, run_id=run_id, report=report
    )


@task(name="create-purchases", cache_policy=NONE, retries=0)
async def create_task(
    resolution: stages.Resolution,
    client: ShanjingClient,
    ledger: Ledger,
    submit: SubmitSettings,
    run_id: str,
    report: SubmitReport,
    budget: ApiBudget | None,
) -> None:
    """Create the purchases, each at most once; progress goes to a live progress artifact."""
    progress = artifacts.ProgressArtifact()
    total = len(resolution.plans)
    await progress.start(f"0 of {total} purchases" if not submit.dry_run else "dry run")
    last: list[ProgressEvent] = []

    def on_progress(event: ProgressEvent) -> None:
        if event.stage != "create":
            return
        last[:] = [event]
        text = f"{event.done} of {event.total}: {event.created} created, {event.failed} failed"
        if event.unknown:
            text += f", {event.unknown} unknown"
        progress.update(event.done, event.total, text)
        artifacts.notify(
            "submit",
            done=event.done,
            total=event.total,
            created=event.created,
            failed=event.failed,
            unknown=event.unknown,
        )

    finished = False
    try:
        await stages.create(
            resolution,
            client=client,
            ledger=ledger,
            settings=submit,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
            budget=budget,
        )
        finished = True
    finally:
        note = f"{report.created} created, {report.failed_total} failed, {report.unknown} unknown"
        if report.held or report.skipped_by_rail:
            note += f", {report.held} held, {report.skipped_by_rail} skipped by rails"
        if submit.dry_run:
            note = "dry run: nothing sent"
        elif not total:
            note = "nothing to send"
        if finished:  # the stage is over: 100%, whatever was held back or skipped
            await progress.finish(1, 1, note)
        else:
            done = last[0].done if last else 0
            await progress.finish(done, max(total, done), f"stopped: {note}")


@task(name="write-results", cache_policy=NONE, **RETRYABLE)
def write_results_task(
    ledger: Ledger,
    purchases: list[PlannedPurchase],
    rejects: pd.DataFrame,
    summary: dict[str, Any],
    out: str,
    run_id: str,
    run_date: Any,
    report: SubmitReport,
    order_lines: Any = None,
    follow_url: str | None = None,
) -> pd.DataFrame:
    """results.parquet, rejects.parquet, summary.json: atomically, latest and per run.

    Each row carries its own line's quantity (× multiplier) and revenue (`order_lines`) and the
    latest remote status the follow step saw (`follow_url`: the ledger it wrote to). The results
    contract is checked here, where the table is made."""
    results = results_frame(ledger, purchases, run_id, report=report, order_lines=order_lines)
    results = with_remote_status(results, follow_url)
    check(Results, pa.Table.from_pandas(results, arrow_schema(Results), preserve_index=False))
    write_outputs(
        out, results=results, rejects=rejects, summary=summary, run_id=run_id, run_date=run_date
    )
    return results


@task(name="publish-report", cache_policy=NONE, **RETRYABLE)
async def publish_task(
    summary: dict[str, Any], results: pd.DataFrame | None, rejects: pd.DataFrame | None
) -> None:
    """The run report for people: summary, failures (with every owed purchase and every
    purchase in trouble, by id), rejects (masked), link to the results."""
    await artifacts.publish_summary(summary)
    if results is not None:
        left = results.loc[results["status"].isin(("failed", "unknown"))]  # usually none
        rows = artifacts.failure_rows(left.to_dict("records"))
        rows += artifacts.attention_rows(
            summary.get("owed_ids") or [],
            (summary.get("purchases_trouble") or {}).get("purchases") or [],
            {r["outer_purchase_id"] for r in rows},
        )
        await artifacts.publish_table(
            artifacts.FAILURES_KEY,
            rows,
            "purchases left failed, unknown, owed or in trouble (no personal data)",
        )
    if rejects is not None:
        rows = artifacts.reject_rows(rejects.to_dict("records"))
        await artifacts.publish_table(
            artifacts.REJECTS_KEY, rows, "rejected input rows (personal values masked)"
        )
    if summary.get("outputs", {}).get("results"):
        await artifacts.publish_results_link(Path(summary["outputs"]["results"]))
