"""The run's final state and message: owed, trouble and the follow step's findings (issues 9, 11)."""

from __future__ import annotations

from typing import Any

from purchase_sync.results import NEEDS_ATTENTION, set_verdict

NOTHING = {"headline": "nothing needs a person today", "failed": False, "cancel": {}}


def _summary(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"purchases_created": 3, "purchases_unknown": 0, "dry_run": False}
    return {**base, **kw}


def test_completed_when_nothing_is_owed_and_follow_found_nothing() -> None:
    s = _summary(follow=NOTHING)
    set_verdict(s, None)
    assert (s["final_state"], s["message"]) == ("COMPLETED", "3 created")


def test_purchases_to_pay_stay_completed_but_end_the_message() -> None:
    head = "ACTION NEEDED: 3 to PAY (CNY 12.00) before they auto-close"
    s = _summary(follow={**NOTHING, "headline": head, "to_pay": 3})
    set_verdict(s, None)
    assert s["final_state"] == "COMPLETED"
    assert s["message"] == f"3 created; {head}"


def test_closed_unpaid_returns_and_held_cancels_need_attention() -> None:
    head = "ACTION NEEDED: 1 CLOSED UNPAID (the customer gets nothing)"
    for finding in (
        {"closed_unpaid": 1},
        {"returns_to_handle": 2},
        {"cancel": {"refused_by_guard": "5 cancels > 20% of 10 purchases"}},
        {"unknown_statuses": {"WAIT_SOMETHING_NEW": 1}},
    ):
        s = _summary(follow={**NOTHING, "headline": head, **finding})
        set_verdict(s, None)
        assert s["final_state"] == NEEDS_ATTENTION, finding
        assert s["message"].endswith(head)


def test_a_follow_step_that_could_not_finish_fails_the_run() -> None:
    s = _summary(follow={"headline": "follow step failed: boom", "failed": True})
    set_verdict(s, None)
    assert s["final_state"] == "FAILED"
    assert "follow incomplete: follow step failed: boom" in s["message"]


def test_unknown_purchases_outrank_follow_findings() -> None:
    s = _summary(purchases_unknown=2, follow={**NOTHING, "closed_unpaid": 1})
    set_verdict(s, None)
    assert s["final_state"] == "FAILED" and "2 purchase(s) left unknown" in s["message"]
