"""Run windows and names: derived from the scheduled start time, never the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from flows.naming import marketplace_label, nightly_window, resolve_window, run_name
from schemas.errors import UserError

KL = ZoneInfo("Asia/Kuala_Lumpur")


def test_nightly_window_is_previous_local_day_of_schedule() -> None:
    # 2026-11-26 17:30 UTC is already 01:30 on the 27th in Kuala Lumpur (UTC+8).
    scheduled = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)
    assert nightly_window(scheduled, KL) == ("2026-11-26", "2026-11-27")
    assert nightly_window(scheduled, ZoneInfo("UTC")) == ("2026-11-25", "2026-11-26")


def test_late_nightly_run_keeps_its_scheduled_day() -> None:
    params = {"kind": "nightly", "inputs": ["exports/lazada_my.csv"]}
    scheduled = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # 02:00 on the 27th, local
    assert run_name(params, scheduled, KL) == "lazada 2026-11-26 nightly"


def test_backfill_name_and_required_bounds() -> None:
    params = {"kind": "backfill", "since": "2026-11-01", "until": "2026-11-08", "inputs": []}
    assert run_name(params, None, KL) == "backfill 2026-11-01..2026-11-08"
    with pytest.raises(UserError, match="both since and until"):
        resolve_window("backfill", "2026-11-01", None, scheduled=None, tz=KL)


def test_manual_names_say_dry_run_and_window() -> None:
    params = {"inputs": ["data/samples/lazada_*.csv"], "dry_run": True}
    assert run_name(params, None, KL) == "lazada all-dates manual dry-run"
    params = {"inputs": ["a.csv"], "since": "2026-11-01"}
    assert run_name(params, None, KL) == "orders 2026-11-01..… manual"


def test_explicit_window_wins_over_schedule_and_is_checked() -> None:
    scheduled = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
    assert resolve_window("nightly", "2026-11-20", "2026-11-21", scheduled=scheduled, tz=KL) == (
        "2026-11-20",
        "2026-11-21",
    )
    with pytest.raises(UserError, match="before since"):
        resolve_window("manual", "2026-11-21", "2026-11-20", scheduled=None, tz=KL)
    with pytest.raises(UserError, match="not a date"):
        resolve_window("manual", "yesterday", None, scheduled=None, tz=KL)


def test_marketplace_label_needs_one_marketplace() -> None:
    assert marketplace_label(["x/lazada_1.csv", "lazada_2.xlsx"]) == "lazada"
    assert marketplace_label(["lazada_1.csv", "shopee_1.csv"]) == "orders"
