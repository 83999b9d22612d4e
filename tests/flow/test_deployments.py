"""prefect.yaml deploys as written: schedules, parameters, the serial queue and run limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.settings import PREFECT_API_URL

from flows.sync_flow import purchase_sync

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("prefect_server")


async def test_prefect_deploy_all_registers_both_deployments() -> None:
    async with get_client() as client:
        pool = await client.create_work_pool(WorkPoolCreate(name="purchase-sync", type="process"))
        await client.create_work_queue(name="serial", work_pool_name=pool.name, concurrency_limit=1)
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PURCHASE_SYNC_HOME=str(ROOT))
    prefect = Path(sys.executable).with_name("prefect")
    done = subprocess.run(
        [str(prefect), "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    async with get_client() as client:
        found = {d.name: d for d in await client.read_deployments()}
        queue = await client.read_work_queue_by_name("serial", work_pool_name="purchase-sync")
    assert queue.concurrency_limit == 1
    nightly, backfill = found["nightly"], found["backfill"]
    for d in (nightly, backfill):
        assert d.work_pool_name == "purchase-sync" and d.work_queue_name == "serial"
        assert d.global_concurrency_limit is not None and d.global_concurrency_limit.limit == 1
        assert d.concurrency_options.collision_strategy == "ENQUEUE"
        assert d.entrypoint == "flows/sync_flow.py:purchase_sync"
        # the parameters validate against the flow's own signature
        purchase_sync.validate_parameters(d.parameters)
    (schedule,) = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (
        "30 1 * * *",
        "Asia/Kuala_Lumpur",
    )
    assert nightly.parameters["kind"] == "nightly" and backfill.parameters["kind"] == "backfill"
    assert not backfill.schedules
