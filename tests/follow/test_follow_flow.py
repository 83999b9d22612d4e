"""The follow flow under a temporary Prefect server: its artifact and its final state."""

from __future__ import annotations

import pytest

from flows.follow_flow import final_state, follow_flow
from purchase_sync.follow import ATTENTION_KEY
from tests.submit.factories import many

from .conftest import create


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


async def test_follow_flow_ends_with_action_needed_and_publishes_the_list(
    prefect_server, sbx, ledger, db_url, tmp_path, monkeypatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    await create(sbx, ledger, many(3))
    for key, value in sbx.env().items():
        monkeypatch.setenv(key, value)
    state = await follow_flow(
        out=str(tmp_path / "out"), ledger_url=db_url, api_base_url=sbx.base_url, return_state=True
    )
    assert state.is_completed() and state.name == "Action needed"
    assert state.message.startswith("ACTION NEEDED: 3 to PAY")
    async with get_client() as client:
        [artifact] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ATTENTION_KEY])),
            limit=1,
        )
    assert "Pay before they auto-close" in artifact.data and "Siti" not in artifact.data
    assert (tmp_path / "out/follow/to_pay.csv").read_text().count("\n") == 1 + 3


def test_final_state_fails_when_statuses_are_in_doubt() -> None:
    summary = {"headline": "nothing needs a person today", "failed": True,
               "sync": {"errors": ["IncompleteLookupError: page 2 has no resultsTotal"]}}  # fmt: skip
    state = final_state(summary)
    assert state.is_failed() and "resultsTotal" in state.message
    quiet = final_state({**summary, "failed": False})
    assert quiet.is_completed() and quiet.name == "Completed"
