"""Read-only views of the ledger for the follow stage: which purchases were created, their
remote ids, payment links and amounts, and which remote sub-order each purchase line became.

Only `ledger.schema`'s two tables are read, never written; the ledger's state names come from
`ledger.State`. Everything the follow stage writes is in its own tables (`follow.store`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from ledger import State
from ledger.schema import purchase_lines, purchases

__all__ = ["CreatedLine", "CreatedPurchase", "created_purchases", "ledger_ready"]

CHUNK = 500


@dataclass(frozen=True, slots=True)
class CreatedLine:
    order_line_no: str
    purchase_id: str | None
    sub_purchase_order_id: str | None
    quantity: int | None
    order_line_ids: tuple[str, ...] = ()  # the marketplace lines merged into it (payload)


@dataclass(frozen=True, slots=True)
class CreatedPurchase:
    outer_purchase_id: str
    purchase_ids: tuple[str, ...]
    payment_url: str | None
    amount_fen: int | None
    lines: tuple[CreatedLine, ...] = field(default=())


def ledger_ready(engine: sa.Engine) -> bool:
    """Whether the ledger's tables exist in this database (a run has created them)."""
    names = set(sa.inspect(engine).get_table_names())
    return {purchases.name, purchase_lines.name} <= names


def _purchase_ids(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _order_line_ids(payload: str | None) -> dict[str, tuple[str, ...]]:
    """order_line_no -> marketplace order-line ids, from the stored PlannedPurchase JSON."""
    if not payload:
        return {}
    try:
        lines = json.loads(payload).get("lines") or []
    except (ValueError, AttributeError):
        return {}
    return {
        str(ln.get("order_line_no")): tuple(str(i) for i in ln.get("order_line_ids") or ())
        for ln in lines
        if isinstance(ln, dict)
    }


def created_purchases(
    engine: sa.Engine,
    outer_ids: Iterable[str] | None = None,
    *,
    with_lines: bool = True,
) -> dict[str, CreatedPurchase]:
    """outer_purchase_id -> the created purchase (state `created`), all or those asked for."""
    cols = [
        purchases.c.outer_purchase_id,
        purchases.c.purchase_ids,
        purchases.c.payment_url,
        purchases.c.amount_fen,
    ]
    if with_lines:
        cols.append(purchases.c.payload)
    base = sa.select(*cols).where(purchases.c.state == State.CREATED.value)
    rows: list = []
    with engine.connect() as conn:
        if outer_ids is None:
            rows = list(conn.execute(base))
        else:
            ids = list(dict.fromkeys(outer_ids))
            for i in range(0, len(ids), CHUNK):
                q = base.where(purchases.c.outer_purchase_id.in_(ids[i : i + CHUNK]))
                rows += list(conn.execute(q))
        found = {r.outer_purchase_id: r for r in rows}
        lines: dict[str, list] = {}
        if with_lines and found:
            keys = list(found)
            for i in range(0, len(keys), CHUNK):
                q = sa.select(
                    purchase_lines.c.outer_purchase_id,
                    purchase_lines.c.order_line_no,
                    purchase_lines.c.purchase_id,
                    purchase_lines.c.sub_purchase_order_id,
                    purchase_lines.c.quantity,
                ).where(purchase_lines.c.outer_purchase_id.in_(keys[i : i + CHUNK]))
                for r in conn.execute(q):
                    lines.setdefault(r.outer_purchase_id, []).append(r)
    out: dict[str, CreatedPurchase] = {}
    for oid, r in found.items():
        merged = _order_line_ids(r.payload) if with_lines else {}
        out[oid] = CreatedPurchase(
            outer_purchase_id=oid,
            purchase_ids=_purchase_ids(r.purchase_ids),
            payment_url=r.payment_url,
            amount_fen=r.amount_fen,
            lines=tuple(
                CreatedLine(
                    order_line_no=str(ln.order_line_no),
                    purchase_id=ln.purchase_id,
                    sub_purchase_order_id=ln.sub_purchase_order_id,
                    quantity=ln.quantity,
                    order_line_ids=merged.get(str(ln.order_line_no), ()),
                )
                for ln in sorted(lines.get(oid, []), key=lambda x: _line_key(x.order_line_no))
            ),
        )
    return out


def _line_key(no: str) -> tuple[int, str]:
    return (int(no), no) if str(no).isdigit() else (1 << 30, str(no))
