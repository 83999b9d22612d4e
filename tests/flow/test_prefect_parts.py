"""The Prefect-facing pieces on a real (temporary) Prefect API: limits and artifacts."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.budget import ApiBudget
from purchase_sync import artifacts
from schemas.errors import UserError

pytestmark = pytest.mark.usefixtures("prefect_server")


async def _create_limit(name: str, limit: int, decay: float) -> None:
    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=decay)
        )


async def _artifacts(prefix: str) -> dict[str, list]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=prefix))
        )
    out: dict[str, list] = {}
    for a in found:
        out.setdefault(a.key, []).append(a)
    return out


async def test_budget_splits_batches_larger_than_the_limit() -> None:
    name = f"api-{uuid.uuid4().hex[:8]}"
    await _create_limit(name, limit=3, decay=50.0)
    budget = ApiBudget(name, timeout_s=30)
    await budget(7)
    await budget(0)
    assert (budget.acquisitions, budget.slots) == (3, 7)


async def test_budget_refuses_missing_or_non_rate_limits() -> None:
    with pytest.raises(UserError, match="does not exist"):
        await ApiBudget(f"missing-{uuid.uuid4().hex[:8]}")(1)
    name = f"plain-{uuid.uuid4().hex[:8]}"
    await _create_limit(name, limit=3, decay=0.0)
    with pytest.raises(UserError, match="slot decay"):
        await ApiBudget(name)(1)


async def test_artifacts_have_stable_keys_chunks_and_masking() -> None:
    key = f"test-{uuid.uuid4().hex[:8]}"
    rejects = [
        {
            "source_file": "/data/in/lazada_1.csv",
            "source_row": i,
            "order_line_id": str(900719925474099300 + i),
            "reason_code": "bad_phone",
            "reason": "phone is not a number",
            "column": "Shipping Phone",
            "value": "+60 12-345 6789",
        }
        for i in range(2_300)
    ]

    @flow(name="artifact-check")
    async def publish() -> tuple[int, int]:
        progress = artifacts.ProgressArtifact(key=f"{key}-progress", min_interval_s=3600)
        await progress.start()
        for done in range(1, 101):
            progress.update(done, 100)
            await asyncio.sleep(0.001)
        await progress.finish(100, 100)
        rows = artifacts.reject_rows(rejects, mask=lambda v, kind: f"<{kind}>")
        parts = await artifacts.publish_table(f"{key}-rejects", rows, "rejected rows")
        return parts, progress.updates_sent

    parts, updates_sent = await publish()
    assert parts == 3
    # 100 progress events inside one throttle interval became one update: the final figure
    assert updates_sent == 1
    found = await _artifacts(f"{key}%")
    assert set(found) == {
        f"{key}-progress",
        f"{key}-rejects",
        f"{key}-rejects-part-2",
        f"{key}-rejects-part-3",
    }
    table = found[f"{key}-rejects"][0].data
    assert "+60" not in str(table) and "<phone>" in str(table)
    assert found[f"{key}-progress"][0].data == 100.0


async def test_user_errors_are_not_retried_but_transient_errors_are() -> None:
    from prefect import task

    from flows.tasks import RETRYABLE

    calls = {"user": 0, "transient": 0}
    fast = {**RETRYABLE, "retry_delay_seconds": 0}

    @task(**fast)
    async def fails_for_the_user() -> None:
        calls["user"] += 1
        raise UserError("wrong columns in x.csv")

    @task(**fast)
    async def fails_once() -> str:
        calls["transient"] += 1
        if calls["transient"] == 1:
            raise ConnectionError("blip")
        return "ok"

    @flow(name="retry-check")
    async def both() -> str:
        with pytest.raises(UserError):
            await fails_for_the_user()
        return await fails_once()

    assert await both() == "ok"
    assert calls == {"user": 1, "transient": 2}
