"""After creation: the follow step of the nightly flow, and a flow of its own.

    follow_step(...)   what `flows.sync_flow.purchase_sync` calls after create (one task):
                       status sync, settle cancels, cancel from the run's export, the
                       keyed artifact `purchase-sync-attention`, the lists under `out/follow/`
    follow_flow(...)   the same as a flow (`purchase-sync-follow`), e.g. on its own schedule

The flow's final state makes the attention list impossible to miss: `Completed` named
"Action needed" with the headline as its message when something needs a person, `Failed` when
statuses could not all be read or a cancel's outcome is unknown, plain `Completed` otherwise.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from flows.budget import ApiBudget
from purchase_sync import settings
from purchase_sync.follow import (
    ATTENTION_KEY,
    FollowResult,
    FollowSettings,
    FollowStore,
    attention_markdown,
    run_follow,
)
from purchase_sync.follow.ledger_view import ledger_ready
from purchase_sync.follow.report import add_remote_status
from purchase_sync.settings import Limits
from schemas.errors import UserError
from shanjing import ShanjingClient, TokenManager

__all__ = [
    "final_state",
    "follow_flow",
    "follow_settings",
    "follow_step",
    "follow_task",
    "with_remote_status",
]

DEFAULT_LIMITS = Limits()


def follow_settings(
    limits: Limits, *, dry_run: bool, horizon_hours: float = 24.0
) -> FollowSettings:
    """The follow step's settings from a run's rails (`--max-cancels`, `--allow-mass-cancel`,
    `--max-concurrency`); a dry run lists the cancels it would send and sends none."""
    return dataclasses.replace(
        FollowSettings(),
        dry_run=dry_run,
        max_cancels=limits.max_cancels,
        allow_mass_cancel=limits.allow_mass_cancel,
        horizon_s=horizon_hours * 3600,
        **({"concurrency": limits.max_concurrency} if limits.max_concurrency else {}),
    )


def with_remote_status(results: Any, ledger_url: str | None) -> Any:
    """results.parquet's `remote_status`: the latest status the follow step saw for each row's
    purchase (`<NA>` when it was never synced, or when no follow step ran: `ledger_url` None)."""
    if ledger_url is None:
        import pandas as pd

        out = results.copy()
        out["remote_status"] = pd.array([None] * len(out), dtype="string")
        return out
    store = FollowStore(ledger_url)
    try:
        store.create_schema()  # a follow step that failed early may not have made its tables
        return add_remote_status(results, store)
    finally:
        store.close()


@task(name="follow-purchases", cache_policy=NONE, retries=0)
async def follow_task(
    client: ShanjingClient,
    ledger_url: str,
    follow: FollowSettings,
    out: str,
    budget: ApiBudget | None,
    order_lines: pa.Table | None,
    run_id: str,
) -> FollowResult:
    """Sync statuses, settle and send cancels, write the lists, publish the attention artifact.

    No Prefect retry: cancels are guarded by their intents, a rerun settles them by lookup."""
    store = FollowStore(ledger_url)
    try:
        if not ledger_ready(store.engine):
            raise UserError(f"the ledger at {ledger_url} holds no purchases yet")
        result = await run_follow(
            client,
            store,
            follow,
            ledger_engine=store.engine,
            out=out,
            order_lines=order_lines,
            budget=budget,
            run_id=run_id,
        )
    finally:
        store.close()
    await acreate_markdown_artifact(
        markdown=attention_markdown(result.attention, follow.horizon_s),
        key=ATTENTION_KEY,
        description=result.attention.headline(),
    )
    return result


async def follow_step(
    *,
    client: ShanjingClient,
    ledger_url: str,
    out: str,
    budget: ApiBudget | None = None,
    order_lines: pa.Table | None = None,
    follow: FollowSettings | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The call for the nightly flow, after create, inside its `ShanjingClient` block:

        follow = await follow_step(client=client, ledger_url=settings.ledger_url(ledger_url),
                                   out=out, budget=budget, order_lines=read.order_lines)
        summary["follow"] = follow   # headline, remote_status_mix, to_pay, closed_unpaid, ...

    Returns the follow summary (JSON-able); never raises (a failure is in its `headline`, with
    `failed` true). `purchase_sync.follow.remote_status_by_outer_id` gives results.parquet's
    `remote_status` column afterwards.
    """
    log = get_run_logger()
    try:
        result = await follow_task(
            client,
            ledger_url,
            follow or FollowSettings(),
            out,
            budget,
            order_lines,
            run_id or str(flow_run.id or "local"),
        )
    except Exception as exc:  # the purchases are created: a follow problem must not hide that
        log.error("follow step failed: %s", exc)
        return {"headline": f"follow step failed: {exc}", "failed": True, "sync": {"errors": []}}
    if result.attention.needs_a_person:
        log.warning(result.attention.headline())
    else:
        log.info(result.attention.headline())
    return {**result.summary, "failed": result.failed}


def final_state(summary: dict[str, Any]) -> State:
    """Failed when statuses or cancels are in doubt; "Action needed" when a person must act."""
    headline = summary["headline"]
    if summary.get("failed"):
        problems = summary["sync"]["errors"][:1] or ["a cancel's outcome is unknown"]
        return Failed(message=f"{headline}; follow incomplete: {problems[0]}", data=summary)
    if headline.startswith("ACTION NEEDED"):
        return Completed(name="Action needed", message=headline, data=summary)
    return Completed(message=headline, data=summary)


@flow(name="purchase-sync-follow", validate_parameters=True)
async def follow_flow(
    out: str = "out",
    cancel_from: list[str] | None = None,
    sku_map: str | None = None,
    dry_run: bool = False,
    max_cancels: int | None = None,
    allow_mass_cancel: bool = False,
    horizon_hours: float = 24.0,
    limits: Limits = DEFAULT_LIMITS,
    ledger_url: str | None = None,
    api_base_url: str | None = None,
    sandbox: bool = False,
) -> State:
    """Follow every created purchase; cancel the purchases of lines `cancel_from` cancelled."""
    limits = limits.model_copy(
        update={
            "max_cancels": limits.max_cancels if max_cancels is None else max_cancels,
            "allow_mass_cancel": limits.allow_mass_cancel or allow_mass_cancel,
        }
    )
    follow = follow_settings(limits, dry_run=dry_run, horizon_hours=horizon_hours)
    conn = settings.api_connection(api_base_url, sandbox=sandbox)
    budget_name = settings.api_budget(limits.api_budget)
    order_lines = None
    if cancel_from:
        from transforms import ingest

        order_lines = ingest(cancel_from, sku_map=sku_map).order_lines
    async with ShanjingClient(
        conn.base_url,
        TokenManager(conn.tokens),
        max_connections=max(follow.concurrency, 4),
        rate_limit=limits.rate_limit,
    ) as client:
        summary = await follow_step(
            client=client,
            ledger_url=settings.ledger_url(ledger_url, sandbox=sandbox),
            out=str(Path(out)),
            budget=ApiBudget(budget_name) if budget_name else None,
            order_lines=order_lines,
            follow=follow,
        )
    return final_state(summary)
