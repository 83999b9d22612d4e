"""The `--since/--until` window: half-open, on the order's creation time.

A bound without an offset (`2026-11-25`, `2026-11-25T18:00`) is a shop-local wall clock: a
nightly run for "the 25th" takes each shop's own 25th (MY/SG/PH +08:00, TH/VN/ID +07:00). A bound
with an offset (`2026-11-25T00:00+08:00`, `...Z`) is one instant for every shop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

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

    def contains(self, local: pd.Series, utc: pd.Series) -> pd.Series:
        """Which orders fall inside: `local` is the naive shop clock, `utc` the same instant."""
        inside = pd.Series(np.ones(len(local), bool), index=local.index)
        if self.since is not None:
            inside &= _side(self.since, local, utc, lower=True)
        if self.until is not None:
            inside &= _side(self.until, local, utc, lower=False)
        return inside


def _side(bound: dt.datetime, local: pd.Series, utc: pd.Series, *, lower: bool) -> pd.Series:
    if bound.tzinfo is None:
        values, edge = local, pd.Timestamp(bound)
    else:
        values, edge = utc, pd.Timestamp(bound).tz_convert("UTC")
    result = values >= edge if lower else values < edge
    return result.fillna(False).astype(bool)


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
