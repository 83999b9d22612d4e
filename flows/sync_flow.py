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
import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.budget import ApiBudget
from flows.follow_flow import follow_settings, follow_step, with_remote_status
from flows.naming import RunKind, resolve_window, run_name
from ledger import Ledger
from purchase_sync import artifacts, settings
from purchase_sync.results import (
    NEEDS_ATTENTION,
    RESULTS,
    check_ledger_not_lost,
    run_summary,
    set_verdict,
    write_json,
    write_outputs,
)
from purchase_sync.results import run_dir as partition_dir
from purchase_sync.settings import Limits, Reprocess
from purchase_sync.submit import stages
from purchase_sync.submit.report import ProgressEvent, SubmitReport
from purchase_sync.submit.results import results_frame
from purchase_sync.submit.settings import SubmitSettings
from schemas.contracts import Results
from schemas.errors import UserError
from schemas.records import PlannedPurchase
from schemas.types import arrow_schema, check
from shanjing import ShanjingClient, TokenManager
from transforms import Ingested, ingest, to_planned_purchases

DEFAULT_LIMITS = Limits()
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


def _flow_run_name() -> str:
    params = flow_run.parameters
    return run_name(
        params, flow_run.scheduled_start_time, settings.timezone(params.get("timezone"))
    )


# -- tasks ------------------------------------------------------------------------------------


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
        ledger = Ledger(settings.ledger_url(ledger_url, sandbox=sandbox))
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
                        client=client, ledger_url=settings.ledger_url(ledger_url, sandbox=sandbox), out=out,
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
                follow_url=settings.ledger_url(ledger_url, sandbox=sandbox) if "follow" in ctx else None,
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
