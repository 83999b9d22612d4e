"""The run's window and name, from its parameters and Prefect's scheduled start time.

A nightly run processes the shop-local day *before its scheduled start*, never "yesterday" by
the wall clock: a run that starts late, or is retried the next morning, still processes the
day it was scheduled for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Any, Literal
from zoneinfo import ZoneInfo

from schemas.errors import UserError

RunKind = Literal["manual", "nightly", "backfill"]
MARKETPLACES = ("lazada", "shopee", "tiktok")


def nightly_window(scheduled: datetime, tz: ZoneInfo) -> tuple[str, str]:
    """The previous shop-local day of `scheduled`, as a half-open [since, until) date pair."""
    if scheduled.tzinfo is None:
        raise ValueError("scheduled start time must be timezone-aware")
    day = scheduled.astimezone(tz).date()
    return (day - timedelta(days=1)).isoformat(), day.isoformat()


def _iso_date(value: str | date | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        raise UserError(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None
    return text


def resolve_window(
    kind: RunKind,
    since: str | date | None,
    until: str | date | None,
    *,
    scheduled: datetime | None,
    tz: ZoneInfo,
) -> tuple[str | None, str | None]:
    """The [since, until) window a run processes, or (None, None) for "every date in the files".

    - nightly: the given bounds, else the day before the scheduled start (shop-local);
    - backfill: both bounds are required, since an open-ended backfill is almost always a mistake;
    - manual: whatever was given.
    """
    lo, hi = _iso_date(since, "since"), _iso_date(until, "until")
    if kind == "nightly" and lo is None and hi is None:
        if scheduled is None:
            raise UserError("a nightly run needs a scheduled start time or an explicit window")
        return nightly_window(scheduled, tz)
    if kind == "backfill" and (lo is None or hi is None):
        raise UserError("a backfill needs both since and until (until is exclusive)")
    if lo is not None and hi is not None and hi[:10] < lo[:10]:
        raise UserError(f"until {hi} is before since {lo}")
    return lo, hi


def marketplace_label(inputs: Sequence[str]) -> str:
    """The marketplace the inputs come from, read off their file names (e.g. `lazada_*.csv`)."""
    found = {
        m for raw in inputs for m in MARKETPLACES if PurePath(str(raw)).name.lower().startswith(m)
    }
    return found.pop() if len(found) == 1 else "orders"


def run_name(parameters: Mapping[str, Any], scheduled: datetime | None, tz: ZoneInfo) -> str:
    """Say what ran: `lazada 2026-11-26 nightly`, `backfill 2026-11-01..2026-11-08`, ..."""
    kind = parameters.get("kind") or "manual"
    try:
        lo, hi = resolve_window(
            kind, parameters.get("since"), parameters.get("until"), scheduled=scheduled, tz=tz
        )
    except UserError:
        lo, hi = parameters.get("since"), parameters.get("until")
    label = marketplace_label(parameters.get("inputs") or [])
    if (
        kind == "nightly"
        and lo
        and hi
        and date.fromisoformat(hi[:10]) - date.fromisoformat(lo[:10]) == timedelta(days=1)
    ):
        name = f"{label} {lo[:10]} nightly"
    else:
        window = f"{lo or '…'}..{hi or '…'}" if lo or hi else "all-dates"
        name = f"backfill {window}" if kind == "backfill" else f"{label} {window} {kind}"
    if parameters.get("dry_run"):
        name += " dry-run"
    return name
