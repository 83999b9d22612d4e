"""Which statuses are bought, per marketplace: the defaults and the `--statuses` option.

The option is a list of `MARKETPLACE:STATUS` items (comma-separated on the command line, a list
in the flow's parameters), e.g. `shopee:ready_to_ship,tiktok:awaiting_shipment,tiktok:to_ship`.
A status may be written as the export shows it (`shopee:To ship`, `tiktok:Awaiting shipment`,
`shopee:ที่ต้องจัดส่ง`). An item without a marketplace is a Lazada status (the option's meaning
before Shopee and TikTok Shop were read). A marketplace named in the option gets exactly the
statuses listed for it; the others keep their defaults (schemas.marketplaces.DEFAULT_PURCHASABLE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa

from schemas.errors import UserError
from schemas.marketplaces import DEFAULT_PURCHASABLE, MARKETPLACES, STATUSES
from transforms.readers import READERS

Statuses = Mapping[str, frozenset[str]]


def purchasable_statuses(
    value: str | Iterable[str] | Mapping[str, Iterable[str]] | None,
) -> dict[str, frozenset[str]]:
    """The purchasable statuses of every marketplace, from the option's value."""
    chosen = dict(DEFAULT_PURCHASABLE)
    if value is None:
        return chosen
    if isinstance(value, Mapping):
        items = [f"{m}:{s}" for m, names in value.items() for s in names]
    else:
        items = value.split(",") if isinstance(value, str) else list(value)
    items = [item.strip() for item in items if item and item.strip()]
    if not items:
        raise UserError("--statuses is empty")
    given: dict[str, set[str]] = {}
    for item in items:
        marketplace, _, status = item.rpartition(":")
        marketplace = marketplace.strip().lower() or "lazada"
        if marketplace not in MARKETPLACES:
            raise UserError(
                f"--statuses {item!r}: unknown marketplace {marketplace!r} "
                f"(one of {', '.join(MARKETPLACES)})"
            )
        given.setdefault(marketplace, set()).add(_canonical(marketplace, status.strip(), item))
    chosen.update({m: frozenset(names) for m, names in given.items()})
    return chosen


def _canonical(marketplace: str, status: str, item: str) -> str:
    vocabulary = READERS[marketplace].format.statuses
    found = vocabulary.canonical(pa.array([status], pa.string()))[0].as_py()
    if found is None:
        known = ", ".join(sorted(STATUSES[marketplace]))
        raise UserError(
            f"unknown status in --statuses {item!r}: {marketplace} statuses are {known}"
        )
    return found


def describe(statuses: Statuses) -> dict[str, list[str]]:
    return {m: sorted(statuses[m]) for m in MARKETPLACES}
