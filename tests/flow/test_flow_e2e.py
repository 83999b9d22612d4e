"""The flow end to end on a temporary Prefect API and the sandbox, over real HTTP.

Flow runs cost seconds each, so the tests of this module share one workspace and run in order:
a first run, a rerun that creates nothing, a dry run, a run that leaves purchases unknown (and
its repair), a fatal input error. Each asserts final states, files and artifacts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pandas as pd
import pytest
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.flow_engine import run_flow_async
from prefect.states import Scheduled

from benchmarks.gen_exports import generate
from flows.deployments import runner_deployments
from flows.sync_flow import purchase_sync
from sandbox.config import BUSINESS_ENDPOINTS, SandboxConfig
from sandbox.server import SandboxHandle, start_in_thread
from schemas.errors import UserError

pytestmark = pytest.mark.usefixtures("prefect_server")

KEYS = {
    "purchase-sync-progress",
    "purchase-sync-summary",
    "purchase-sync-failures",
    "purchase-sync-rejects",
    "purchase-sync-results",
}


class Workspace:
    def __init__(self, root: Path, sandbox: SandboxHandle) -> None:
        self.root = root
        self.sandbox = sandbox
        self.out = root / "out"
        self.ledger_url = f"sqlite:///{root / 'ledger.sqlite'}"
        self.exports: dict[int, tuple[str, str]] = {}

    def export(self, seed: int, rows: int = 90) -> tuple[str, str]:
        """A small synthetic Lazada export (and its SKU map) whose SKUs the sandbox knows."""
        if seed not in self.exports:
            data, sku_map = generate(rows, self.root / "in" / f"lazada_{seed}.csv", seed=seed)
            self.exports[seed] = (str(data), str(sku_map))
        return self.exports[seed]

    async def run(self, seed: int, **params: Any) -> Any:
        data, sku_map = self.export(seed)
        return await purchase_sync(
            inputs=[data],
            sku_map=sku_map,
            out=str(self.out),
            ledger_url=self.ledger_url,
            api_base_url=self.sandbox.base_url,
            sandbox=True,
            return_state=True,
            **params,
        )

    def remote_purchases(self) -> int:
        """Distinct purchases the supplier side holds; fails the test on any duplicate create."""
        stats = self.sandbox.control.stats()
        assert stats["duplicate_outer_ids"] == 0, "a purchase was created twice"
        return int(stats["outer_ids_stored"])


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("flow")
    handle = start_in_thread(SandboxConfig(db_path=str(root / "sandbox.sqlite")))
    try:
        yield Workspace(root, handle)
    finally:
        handle.stop()


@pytest.fixture(autouse=True)
def _fast_submit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No grace period before reconciling: the tests' lost requests have long landed."""
    cfg = tmp_path / "submit.toml"
    cfg.write_text(
        "[submit]\nreconcile_grace_s = 0\nmax_concurrency = 8\napi_timeout_s = 2\n"
        "api_deadline_s = 3\n"
    )
    monkeypatch.setenv("PURCHASE_SYNC_CONFIG", str(cfg))


async def _artifacts(flow_run_id: UUID) -> dict[str, Any]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found if a.key}


async def test_first_run_creates_everything_once_and_reports(ws: Workspace) -> None:
    # all creates go through a shared API budget: a strict Prefect rate limit
    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name="shanjing-api", limit=20, slot_decay_per_second=100)
        )
    state = await ws.run(seed=11, limits={"api_budget": "shanjing-api"})
    assert state.is_completed(), state.message
    summary = await state.result()
    assert summary["rows_in"] == summary["rows_accepted"] + summary["rows_rejected"]
    assert summary["purchases_created"] > 0 and summary["purchases_unknown"] == 0
    assert (
        summary["purchases_created"] + summary["purchases_failed"] <= summary["purchases_planned"]
    )
    assert ws.remote_purchases() == summary["purchases_created"]
    budget = summary["api_budget"]
    assert (
        budget["limit"] == "shanjing-api" and budget["slots"] >= summary["submit"]["creates_sent"]
    )
    assert budget["acquisitions"] >= -(-budget["slots"] // 20)  # batches above 20 were split

    on_disk = json.loads((ws.out / "summary.json").read_text())
    assert on_disk["run_id"] == summary["run_id"] and on_disk["final_state"] == "COMPLETED"
    results = pd.read_parquet(ws.out / "results.parquet")
    created = results.loc[results["status"] == "created", "outer_purchase_id"].nunique()
    assert created == summary["purchases_created"]
    assert results["mp_id"].dropna().map(type).eq(str).all()
    # The follow step ran after create: every created row carries the status it saw upstream.
    created_rows = results.loc[results["status"] == "created"]
    assert created_rows["remote_status"].notna().all()
    assert set(created_rows["remote_status"]) <= {"WAIT_BUYER_P", "BULIDING"}
    run_dirs = list((ws.out / "runs").glob(f"date=*/run_id={summary['run_id']}"))
    assert len(run_dirs) == 1 and (run_dirs[0] / "results.parquet").is_file()

    found = await _artifacts(state.state_details.flow_run_id)
    assert set(found) >= KEYS
    assert found["purchase-sync-progress"].data == 100.0
    assert "created now" in found["purchase-sync-summary"].data
    assert "results.parquet" in str(found["purchase-sync-results"].data)


async def test_rerun_creates_nothing(ws: Workspace) -> None:
    before = ws.remote_purchases()
    state = await ws.run(seed=11)
    assert state.is_completed(), state.message
    summary = await state.result()
    assert summary["purchases_created"] == 0
    assert summary["purchases_already_created"] == before
    assert summary["api_calls"].get("create", 0) == 0
    assert ws.remote_purchases() == before
    # Nothing to create, and the follow step's headline closes the message: the purchases
    # created before are unpaid and auto-close within the default 24 h horizon.
    assert summary["message"].startswith("nothing new to create; ACTION NEEDED: ")
    assert summary["follow"]["to_pay"] > 0
    assert f"{summary['follow']['to_pay']} to PAY" in summary["message"]
    assert summary["remote_status_mix"] and summary["final_state"] == "COMPLETED"


async def test_dry_run_sends_no_create(ws: Workspace) -> None:
    before = ws.remote_purchases()
    state = await ws.run(seed=12, dry_run=True)
    assert state.is_completed(), state.message
    summary = await state.result()
    assert summary["dry_run"] and summary["purchases_would_create"] > 0
    assert summary["purchases_created"] == 0 and ws.remote_purchases() == before
    assert state.name == "Completed"


async def test_unknown_purchases_fail_the_run_then_a_rerun_repairs_them(ws: Workspace) -> None:
    control = ws.sandbox.control
    before = ws.remote_purchases()
    # Every create is committed but its answer lost, and every lookup is lost too: nothing the
    # run sent can be confirmed.
    control.set_config(lose_response_rate=1.0, fault_endpoints=["create", "query"])
    try:
        state = await ws.run(seed=13, limits={"max_purchases": 5})
    finally:
        control.set_config(lose_response_rate=0.0, fault_endpoints=list(BUSINESS_ENDPOINTS))
    assert state.is_failed()
    summary = await state.result(raise_on_failure=False)
    assert summary["purchases_unknown"] > 0
    assert "unknown" in state.message
    assert json.loads((ws.out / "summary.json").read_text())["final_state"] == "FAILED"
    found = await _artifacts(state.state_details.flow_run_id)
    assert set(found) >= KEYS
    failures = json.loads(found["purchase-sync-failures"].data)
    unknown = [row for row in failures if row["status"] == "unknown"]
    assert len(unknown) == summary["purchases_unknown"]
    assert failures[: len(unknown)] == unknown, "unknown purchases are listed first"

    repaired = await ws.run(seed=13, limits={"max_purchases": 5})
    assert repaired.is_completed(), repaired.message
    after = await repaired.result()
    assert after["purchases_unknown"] == 0
    # the lost creates are found by lookup (not sent again), then up to 5 new ones are sent
    assert after["submit"]["reconciled_found"] == summary["purchases_unknown"]
    assert after["submit"]["creates_sent"] <= 5
    sent_by_both = summary["submit"]["creates_sent"] + after["submit"]["creates_sent"]
    assert ws.remote_purchases() - before == sent_by_both
    # Point 7: the rail left purchases planned: owed, counted, listed, and not a plain Completed
    owed = after["purchases_owed"]
    assert owed["count"] == owed["by_state"]["planned"] > 0 and owed["oldest_age_s"] >= 0
    assert repaired.name == "NeedsAttention" and after["final_state"] == "NEEDS_ATTENTION"
    found = await _artifacts(repaired.state_details.flow_run_id)
    listed = {r["outer_purchase_id"] for r in json.loads(found["purchase-sync-failures"].data)
              if r["status"] == "owed"}  # fmt: skip
    assert len(listed) == owed["count"]


async def test_fatal_input_error_fails_with_a_summary(ws: Workspace) -> None:
    bad = ws.root / "in" / "lazada_bad.csv"
    bad.write_text("orderNumber,foo\n1,2\n")
    state = await purchase_sync(
        inputs=[str(bad)],
        sku_map=ws.export(11)[1],
        out=str(ws.out),
        ledger_url=ws.ledger_url,
        api_base_url=ws.sandbox.base_url,
        sandbox=True,
        return_state=True,
    )
    assert state.is_failed()
    exc = await state.result(raise_on_failure=False)
    assert isinstance(exc, UserError)
    found = await _artifacts(state.state_details.flow_run_id)
    assert "purchase-sync-summary" in found
    assert "fatal" in found["purchase-sync-summary"].data
    # the latest results still describe the last run that got that far
    latest = json.loads((ws.out / "summary.json").read_text())
    assert latest["final_state"] != "FAILED" and latest["run_id"] != str(
        state.state_details.flow_run_id
    )


async def test_nightly_deployment_run_processes_the_day_before_its_schedule(ws: Workspace) -> None:
    """prefect.yaml's nightly deployment, a run scheduled by the server, executed here."""
    deployments = {d.name: d for d in runner_deployments()}
    assert set(deployments) == {"nightly", "backfill"}
    nightly = deployments["nightly"]
    assert nightly.concurrency_limit == 1
    assert nightly.concurrency_options.collision_strategy == "ENQUEUE"
    (schedule,) = nightly.schedules
    assert schedule.schedule.timezone == "Asia/Kuala_Lumpur"
    assert not deployments["backfill"].schedules

    data, sku_map = ws.export(11)
    nightly.parameters.update(
        inputs=[data],
        sku_map=sku_map,
        out=str(ws.out),
        ledger_url=ws.ledger_url,
        api_base_url=ws.sandbox.base_url,
        sandbox=True,
    )
    deployment_id = await nightly.aapply()
    # 17:30 UTC on the 26th is 01:30 on the 27th in Kuala Lumpur: the run is for the 26th.
    scheduled = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)
    async with get_client() as client:
        flow_run = await client.create_flow_run_from_deployment(
            deployment_id, state=Scheduled(scheduled_time=scheduled)
        )
    state = await run_flow_async(
        purchase_sync, flow_run=flow_run, parameters=flow_run.parameters, return_type="state"
    )
    assert state.is_completed(), state.message
    summary = await state.result()
    assert summary["flow_run_name"] == "lazada 2026-11-26 nightly"
    assert summary["window"] == {"since": "2026-11-26", "until": "2026-11-27"}
    # the export spans 25-27 Nov: the window keeps some rows out, and those are not rejects
    assert 0 < summary["purchases_planned"] < summary["rows_accepted"]
    # the window's own purchases were created by the first test; what this run created is
    # what the ledger still owed from earlier runs (left planned by their rails), and after it
    # nothing sendable is owed any more
    assert summary["purchases_already_created"] > 0
    assert summary["purchases_created"] == summary["submit"]["creates_sent"]
    assert summary["purchases_owed"]["by_state"]["planned"] == 0
    ws.remote_purchases()  # no duplicate


async def test_tokens_from_a_secret_block_are_refreshed_and_written_back(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live-API path (no sandbox flag): address from the environment, tokens from a block."""
    block = "shanjing-tokens-test"
    await Secret(
        value={"access_token": "sandbox-access-token", "refresh_token": "sandbox-refresh-token"}
    ).save(block, overwrite=True)
    monkeypatch.setenv("SHANJING_BASE_URL", ws.sandbox.base_url)
    monkeypatch.setenv("PURCHASE_SYNC_TOKEN_BLOCK", block)
    ws.sandbox.control.expire_token()  # the stored access token is now dead: a refresh must happen
    data, sku_map = ws.export(14, rows=30)
    state = await purchase_sync(
        inputs=[data],
        sku_map=sku_map,
        out=str(ws.out),
        ledger_url=ws.ledger_url,
        return_state=True,
    )
    assert state.is_completed(), state.message
    summary = await state.result()
    assert summary["sandbox"] is False and summary["purchases_created"] > 0
    saved = (await Secret.load(block)).get()
    saved = json.loads(saved) if isinstance(saved, str) else saved
    assert saved["access_token"] != "sandbox-access-token"
    assert saved["refresh_token"] != "sandbox-refresh-token"
    # a token never reaches the run's outputs
    text = (ws.out / "summary.json").read_text()
    assert saved["access_token"] not in text and "sandbox-access-token" not in text
