"""The `--since/--until` window: half-open, on the order's creation time.

A bound without an offset (`2026-11-25`, `2026-11-25T18:00`) is a shop-local wall clock: a
nightly run for "the 25th" takes each shop's own 25th (MY/SG/PH +08:00, TH/VN/ID +07:00). A bound
with an offset (`2026-11-25T00:00+08:00`, `...Z`) is one instant for every shop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from schemas.errors import UserError


@dataclass(frozen=True)
class Window:
    """[since, until); None means unbounded on that side. Naive bounds are shop-local."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def describe(self) -> dict[str, str | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "clock": "shop-local unless the bound carries an offset",
        }

    def condition(self, local: str, utc: str) -> tuple[str, list[dt.datetime]]:
        """A SQL condition (with its parameters) that holds inside the window, for an order
        first created at `local` (the shop's wall clock) and `utc` (the same instant)."""
        parts, params = [], []
        for bound, op in ((self.since, ">="), (self.until, "<")):
            if bound is not None:
                parts.append(f"{local if bound.tzinfo is None else utc} {op} ?")
                params.append(bound)
        return " AND ".join(parts) or "TRUE", params


def parse_window(since: str | None, until: str | None) -> Window:
    """Parse `YYYY-MM-DD` or an ISO datetime for each bound; refuse an empty or reversed window."""
    lo, hi = _parse_bound("--since", since), _parse_bound("--until", until)
    if (
        lo is not None
        and hi is not None
        and (lo.tzinfo is None) == (hi.tzinfo is None)
        and lo >= hi
    ):
        raise UserError(f"empty window: --since {since} is not before --until {until}")
    return Window(lo, hi)


def _parse_bound(flag: str, text: str | None) -> dt.datetime | None:
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"{flag} {text!r} is not a date (YYYY-MM-DD) or ISO datetime (YYYY-MM-DDTHH:MM[+08:00])"
        ) from None


def as_window(since: str | dt.date | Window | None, until: str | dt.date | None = None) -> Window:
    """A Window from bounds given as text (parsed and checked), dates, datetimes or a Window."""
    if isinstance(since, Window):
        return since
    if isinstance(since, str | None) and isinstance(until, str | None):
        return parse_window(since, until)
    lo, hi = (
        dt.datetime.combine(b, dt.time())
        if isinstance(b, dt.date) and not isinstance(b, dt.datetime)
        else b
        for b in (since, until)
    )
    return Window(lo, hi)  # type: ignore[arg-type]
