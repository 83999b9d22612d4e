"""The faults of an upstream that is slower and less tidy than the sandbox's defaults (issue 9):
late commits, error envelopes before and after the work, and an order query that ignores its
filters, pages short, drops its total or lags behind the commits."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.pipeline import GATEWAY_FAILURES
from sandbox.testing import SandboxControl, sandbox_server
from tests.sandbox.conftest import Api, create_body, line

GATEWAY_CODES = {code for code, _msg in GATEWAY_FAILURES}


def wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll until `check()` holds (the timeout only bounds a broken test; nothing is timed)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


@pytest.fixture
def lines(api: Api) -> list[dict[str, Any]]:
    mp, skus = api.mp_ids(652876415053)
    return [line(mp, skus[0], "1")]


def _create(api: Api, outer: str, lines: list[dict[str, Any]]) -> httpx.Response:
    return api.post("/purchase/order/create", create_body(outer, lines))


def _found(api: Api, outer: str) -> int:
    return api.query(outer_purchase_id=outer)["data"]["resultsTotal"]


def test_late_commit_answers_504_and_commits_after_the_client_gave_up(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(late_commit_rate=1.0, late_commit_s=0.3)
    resp = _create(api, "PS-LATE", lines)
    assert resp.status_code == 504
    assert control.orders("PS-LATE") == [] and _found(api, "PS-LATE") == 0
    stats = control.stats()
    assert (stats["late_commits"], stats["late_commits_done"]) == (1, 0)
    assert stats["creates_committed"] == 0 and stats["responses_by_status"]["504"] == 1
    wait_for(lambda: control.stats()["late_commits_done"] == 1)
    (stored,) = control.orders("PS-LATE")
    assert stored["status"] == "WAIT_BUYER_P"
    assert _found(api, "PS-LATE") == 1 and control.stats()["creates_committed"] == 1


def test_late_commit_of_a_rejected_create_does_not_happen(
    api: Api, control: SandboxControl
) -> None:
    control.set_config(late_commit_rate=1.0, late_commit_s=0.0)
    body = _create(api, "PS-LATE-BAD", [line(1, 2, "1")]).json()
    assert body["success"] is False and body["errorCode"] == "SKU_NOT_FOUND"
    assert control.stats()["late_commits"] == 0


def test_late_commit_is_lost_when_the_sandbox_stops_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "orders.sqlite")
    with sandbox_server(db_path=db, late_commit_rate=1.0, late_commit_s=60) as sbx, Api(sbx) as api:
        mp, skus = api.mp_ids(652876415053)
        assert _create(api, "PS-DOOMED", [line(mp, skus[0], "1")]).status_code == 504
        assert sbx.control.stats()["late_commits"] == 1
    with sandbox_server(db_path=db) as sbx, Api(sbx) as api:
        assert sbx.control.orders() == [] and _found(api, "PS-DOOMED") == 0


def test_error_envelope_does_nothing_on_any_business_endpoint(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(error_envelope_rate=1.0)
    answers = [_create(api, f"PS-ENV-{n}", lines) for n in range(12)]
    answers += [api.get("/purchase/orders/query"), api.get("/product/get", item_id="652876415053")]
    assert {r.status_code for r in answers} == {200}
    bodies = [r.json() for r in answers]
    assert all(b["success"] is False and b["data"] is None for b in bodies)
    codes = {b["errorCode"] for b in bodies}
    assert codes <= GATEWAY_CODES and len(codes) > 1
    assert all(b["errorMsg"] for b in bodies)
    assert control.orders() == []
    stats = control.stats()
    assert stats["error_envelopes"] == 14 and stats["business_rejections"] == 0


def test_error_envelope_after_commit_keeps_the_order(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(error_envelope_after_commit_rate=1.0, key_style="snake")
    body = _create(api, "PS-AFTER", lines).json()
    assert body["success"] is False and body["error_code"] in GATEWAY_CODES
    assert len(control.orders("PS-AFTER")) == 1
    # a read-only endpoint has nothing to commit: it answers normally
    assert api.query(outer_purchase_id="PS-AFTER")["data"]["results_total"] == 1
    stats = control.stats()
    assert stats["error_envelopes_after_commit"] == 1 and stats["creates_committed"] == 1


def test_query_that_ignores_its_filters_pages_over_everything(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    for outer in ("PS-A", "PS-B", "PS-C"):
        _create(api, outer, lines)
    control.set_config(query_ignore_filter_rate=1.0)
    data = api.query(outer_purchase_id="PS-A", status="TRADE_CLOSED")["data"]
    assert data["resultsTotal"] == 3
    assert {o["outerPurchaseId"] for o in data["purchaseOrders"]} == {"PS-A", "PS-B", "PS-C"}
    assert control.stats()["query_filters_ignored"] == 1


def test_short_page_keeps_the_total(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    for n in range(5):
        _create(api, f"PS-SHORT-{n}", lines)
    control.set_config(query_short_page_rate=1.0)
    sizes = []
    for _ in range(6):
        data = api.query(page_size="4")["data"]
        assert data["resultsTotal"] == 5
        sizes.append(len(data["purchaseOrders"]))
    assert max(sizes) < 4 and len(set(sizes)) > 1
    last = api.query(page_size="4", page_no="2")["data"]  # already short: left alone
    assert len(last["purchaseOrders"]) == 1
    assert control.stats()["query_short_pages"] == 6


def test_query_without_total(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    _create(api, "PS-NT", lines)
    control.set_config(query_no_total_rate=1.0)
    data = api.query(outer_purchase_id="PS-NT")["data"]
    assert "resultsTotal" not in data and len(data["purchaseOrders"]) == 1
    assert control.stats()["query_totals_omitted"] == 1


def test_query_lag_hides_a_commit_until_it_has_aged(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(query_lag_s=0.3)
    created = _create(api, "PS-LAG", lines).json()
    assert created["success"] is True
    assert _found(api, "PS-LAG") == 0 and len(control.orders("PS-LAG")) == 1
    wait_for(lambda: _found(api, "PS-LAG") == 1)


def test_new_faults_leave_the_original_fault_decisions_alone(
    api: Api, control: SandboxControl
) -> None:
    def run(**extra: float) -> list[tuple[int, bool]]:
        control.reset()
        control.set_config(rate_429=0.3, seed=5, **extra)
        out = []
        for _ in range(30):
            resp = api.get("/purchase/orders/query")
            out.append((resp.status_code, resp.status_code == 200 and resp.json()["success"]))
        return out

    plain = run()
    enveloped = run(error_envelope_rate=0.5)
    assert [s for s, _ in plain] == [s for s, _ in enveloped]  # the same 429s
    assert enveloped == run(error_envelope_rate=0.5)  # and reproducible
    assert any(s == 200 and not ok for s, ok in enveloped)
    assert any(s == 200 and ok for s, ok in enveloped)
