"""Order lines -> purchases: dedupe, window, status, SKU mapping, grouping.

Every line leaves with one disposition (`purchasable`, `skipped_status`, `outside_window`,
`duplicate`, `held`) or as a reject. An order is planned only whole: if any of its rows was
rejected (here or while reading), its other lines are `held`, because a purchase that is created
short of a line cannot be completed later under the same `outer_purchase_id`.

All the work is vectorised: one sort of the purchasable lines, then segment boundaries give the
purchase lines and purchases (no per-row Python).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.errors import UserError
from schemas.ingest import DEFAULT_PURCHASABLE, DISPOSITIONS, STATUSES
from schemas.records import PlannedLine, PlannedPurchase, Receiver, outer_purchase_id
from transforms.concurrency import with_responsive_gil
from transforms.digests import sha256_hex12
from transforms.frames import column, flat, from_cents, to_cents, to_frame
from transforms.lazada import normalise_status, reject_table
from transforms.window import Window, parse_window

PURCHASABLE, SKIPPED_STATUS, OUTSIDE_WINDOW, DUPLICATE, HELD = range(len(DISPOSITIONS))
REJECTED = -1
ORDER_KEY = ["marketplace", "country", "order_number"]
LINE_ID_KEY = ["marketplace", "order_line_id"]
# What an order line *is*; a second copy that differs here is a conflict, not an update.
# (status, update time and receiver may change between two exports: the newest copy wins.)
IDENTITY = ["country", "order_number", "seller_sku", "unit_price", "paid_price", "ordered_at"]
TARGET = ["source_platform", "source_item_id", "source_sku_id", "source_spec_id"]
RECEIVER = [
    "receiver_name",
    "receiver_phone",
    "receiver_country",
    "receiver_state",
    "receiver_city",
    "receiver_district",
    "receiver_address",
    "receiver_zip",
]


@dataclass
class GroupResult:
    order_lines: pd.DataFrame  # every accepted line, with `disposition` and its purchase
    purchases: pd.DataFrame
    purchase_lines: pd.DataFrame
    rejects: pd.DataFrame  # rejected at this stage (duplicates, mapping, receiver)
    counts: dict = field(default_factory=dict)


def purchasable_statuses(statuses: Iterable[str] | str | None) -> frozenset[str]:
    """The configured purchasable statuses, normalised like the export's (`Ready to ship` ok)."""
    if statuses is None:
        return DEFAULT_PURCHASABLE
    items = statuses.split(",") if isinstance(statuses, str) else list(statuses)
    raw = [s.strip() for s in items if s and s.strip()]
    if not raw:
        raise UserError("--statuses is empty")
    normal = normalise_status(pa.array(raw, pa.string())).to_pylist()
    unknown = sorted(s for s in normal if s not in STATUSES)
    if unknown:
        raise UserError(f"unknown status(es) in --statuses: {', '.join(unknown)}")
    return frozenset(normal)


def _as_window(since: object, until: object) -> Window:
    if isinstance(since, Window):
        return since
    if isinstance(since, str | type(None)) and isinstance(until, str | type(None)):
        return parse_window(since, until)
    if isinstance(since, dt.date) and not isinstance(since, dt.datetime):
        since = dt.datetime.combine(since, dt.time())
    if isinstance(until, dt.date) and not isinstance(until, dt.datetime):
        until = dt.datetime.combine(until, dt.time())
    return Window(since, until)  # type: ignore[arg-type]


@with_responsive_gil
def map_and_group(
    order_lines: pd.DataFrame,
    sku_map: pd.DataFrame,
    *,
    since: str | dt.datetime | Window | None = None,
    until: str | dt.datetime | None = None,
    statuses: Iterable[str] | str | None = DEFAULT_PURCHASABLE,
    held_orders: Iterable[str] | pd.Series | None = None,
    sink: Callable[[str, pd.DataFrame], None] | None = None,
) -> GroupResult:
    """Give each line its disposition, map SKUs, group purchasable lines into purchases.

    `held_orders`: order numbers with a row rejected earlier (e.g. `read_exports` rejects'
    `order_number`); their lines are held rather than bought short.
    `sink(name, frame)`: called with "order_lines", "purchase_lines" and "purchases" as soon as
    each is final (`purchase-sync plan` starts writing one while it builds the next).
    """
    window = _as_window(since, until)
    wanted = purchasable_statuses(statuses)
    lines = order_lines.reset_index(drop=True)
    n = len(lines)
    state = np.full(n, PURCHASABLE, np.int8)
    rejects: list[dict] = []

    status_ok = lines["status"].isin(list(wanted)).to_numpy(dtype=bool, na_value=False)
    early = np.flatnonzero(status_ok)  # the lines that can be bought, as far as status goes
    in_early = _where(early, n)  # each line's position among them (-1: not one of them)
    with ThreadPoolExecutor(max_workers=2) as pool:
        # The purchase ids of these lines' orders (digested in a helper process) are needed
        # only at the grouping: start them now. Hashing every line id (the duplicate check)
        # and the SKU lookup (a hash join) do not depend on each other either: run them at
        # once, the lookup on a superset narrowed below.
        order_ids = pool.submit(_ids_by_order, lines, early)
        unique = pool.submit(_ids_are_unique, lines)
        found = _lookup(lines, early, sku_map)
        if not unique.result():
            _mark_duplicates(lines, state, rejects)

        live = state == PURCHASABLE
        if (window.since or window.until) and live.any():
            _mark_window(lines, state, live, window)

        live = state == PURCHASABLE
        state[live & ~status_ok] = SKIPPED_STATUS

        map_row = np.full(n, -1, np.int64)
        cand = np.flatnonzero(state == PURCHASABLE)
        if len(cand):
            map_row[cand] = found[in_early[cand]]
            _reject_unmapped(lines, cand, map_row, sku_map, state, rejects)
            _reject_no_receiver(lines, state, rejects)

        _hold(lines, state, held_orders)

        out_lines, purchases, purchase_lines = _group(
            lines, state, map_row, sku_map, sink, in_early, order_ids
        )
    reject_frame = to_frame(reject_table(rejects))
    counts = _counts(lines, state, purchases, purchase_lines, reject_frame)
    return GroupResult(out_lines, purchases, purchase_lines, reject_frame, counts)


# --- dispositions --------------------------------------------------------------------------------


def _ids_are_unique(lines: pd.DataFrame) -> bool:
    """No order line id twice (the usual case, checked cheaply)."""
    ids = column(lines, "order_line_id")
    return len(pc.unique(_as_int_ids(ids))) == len(ids)


def _as_int_ids(ids: pa.ChunkedArray) -> pa.ChunkedArray:
    """Digit-string ids as int64 when that maps distinct ids to distinct numbers (1-18 digits,
    no leading zero): hashing integers is several times cheaper than hashing strings."""
    if not len(ids) or ids.null_count:
        return ids
    digits = pc.all(pc.ascii_is_decimal(ids)).as_py()
    if not digits or pc.max(pc.binary_length(ids)).as_py() > 18:
        return ids
    if pc.any(pc.starts_with(ids, "0")).as_py():
        return ids
    return pc.cast(ids, pa.int64())


def _mark_duplicates(lines: pd.DataFrame, state: np.ndarray, rejects: list[dict]) -> None:
    """The same line id twice: identical -> keep the newest copy; different content -> reject all.

    Called only when `_ids_are_unique` is False.
    """
    dup = lines.duplicated(LINE_ID_KEY, keep=False).to_numpy()
    sub = lines.loc[dup, [*LINE_ID_KEY, *IDENTITY, "updated_at", "source_file", "source_row"]]
    nunique = sub.groupby(LINE_ID_KEY, sort=False, dropna=False)[IDENTITY].nunique(dropna=False)
    differs = nunique > 1
    conflicting = differs.any(axis=1)
    if conflicting.any():
        first_diff = differs[conflicting].idxmax(axis=1)  # first identity column that differs
        keys = sub.set_index(LINE_ID_KEY).index
        hit = keys.isin(first_diff.index)
        rows = sub.index[hit]
        col = first_diff.reindex(keys[hit]).to_numpy()
        copies = sub.groupby(LINE_ID_KEY, sort=False).size().reindex(keys[hit]).to_numpy()
        state[rows] = REJECTED
        rejects.append(
            _reject_rows(
                lines,
                rows,
                "DUPLICATE_CONFLICT",
                [
                    f"order line id appears {k} times with different {c}"
                    for k, c in zip(copies, col, strict=True)
                ],
                list(col),
                [None] * len(rows),
            )
        )
        sub = sub.loc[~hit]
    # newest update wins; ties go to the later file name, then the later row (not input order)
    ordered = sub.sort_values(
        ["updated_at", "source_file", "source_row"], kind="stable", na_position="first"
    )
    older = ordered.index[ordered.duplicated(LINE_ID_KEY, keep="last").to_numpy()]
    state[older] = DUPLICATE


def _mark_window(lines: pd.DataFrame, state: np.ndarray, live: np.ndarray, window: Window) -> None:
    """Outside the window, whole orders at a time: the order's first line's creation time."""
    idx = np.flatnonzero(live)
    sub = lines.loc[idx, [*ORDER_KEY, "ordered_at_local", "ordered_at"]]
    by_order = sub.groupby(ORDER_KEY, sort=False)
    local = by_order["ordered_at_local"].transform("min")
    utc = by_order["ordered_at"].transform("min")
    inside = window.contains(local, utc).to_numpy()
    state[idx[~inside]] = OUTSIDE_WINDOW


def _lookup(lines: pd.DataFrame, cand: np.ndarray, sku_map: pd.DataFrame) -> np.ndarray:
    """The SKU map row of each candidate line (-1: none): by seller SKU, then by platform SKU id."""
    found = np.full(len(cand), -1, np.int64)
    if sku_map.empty:
        return found
    left = pa.table(
        {
            "marketplace": pc.take(column(lines, "marketplace"), cand),
            "country": pc.take(column(lines, "country"), cand),
            "seller_sku": pc.take(column(lines, "seller_sku"), cand),
            "platform_sku_id": pc.take(column(lines, "platform_sku_id"), cand),
            "_pos": pa.array(np.arange(len(cand))),
        }
    )
    right = pa.table(
        {
            "marketplace": column(sku_map, "marketplace"),
            "country": column(sku_map, "country"),
            "seller_sku": column(sku_map, "seller_sku"),
            "platform_sku_id": column(sku_map, "platform_sku_id"),
            "_map": pa.array(np.arange(len(sku_map))),
        }
    )
    keys = ["marketplace", "country", "seller_sku"]
    hit = left.select([*keys, "_pos"]).join(
        right.select([*keys, "_map"]), keys=keys, join_type="inner"
    )
    found[hit["_pos"].to_numpy()] = hit["_map"].to_numpy()
    missing = found < 0
    if missing.any():  # fallback: the platform SKU id, preferring approved map rows
        keys = ["marketplace", "country", "platform_sku_id"]
        by_id = sku_map.assign(_map=np.arange(len(sku_map)))
        by_id = by_id[by_id["platform_sku_id"].notna()]
        by_id = by_id.sort_values("status", key=lambda s: s != "approved", kind="stable")
        by_id = by_id.drop_duplicates(keys)
        right = pa.table({k: column(by_id, k) for k in keys}).append_column(
            "_map", pa.array(by_id["_map"].to_numpy())
        )
        rest = left.filter(pa.array(missing)).select([*keys, "_pos"])
        hit = rest.join(right, keys=keys, join_type="inner")
        found[hit["_pos"].to_numpy()] = hit["_map"].to_numpy()
    return found


def _reject_unmapped(lines, cand, map_row, sku_map, state, rejects) -> None:
    rows = cand[map_row[cand] < 0]
    if len(rows):
        state[rows] = REJECTED
        values = pc.take(column(lines, "seller_sku"), pa.array(rows)).to_pylist()
        rejects.append(
            _reject_rows(
                lines,
                rows,
                "UNMAPPED_SKU",
                "seller SKU is not in the SKU map for this marketplace and country",
                "seller_sku",
                values,
            )
        )
    mapped = cand[map_row[cand] >= 0]
    if len(mapped):
        approved = (sku_map["status"] == "approved").to_numpy(dtype=bool, na_value=False)
        rows = mapped[~approved[map_row[mapped]]]
        if len(rows):
            state[rows] = REJECTED
            st = pc.take(column(sku_map, "status"), pa.array(map_row[rows])).to_pylist()
            skus = pc.take(column(lines, "seller_sku"), pa.array(rows)).to_pylist()
            rejects.append(
                _reject_rows(
                    lines,
                    rows,
                    "SKU_NOT_APPROVED",
                    [
                        f"SKU map row for {s} is {t}, not approved"
                        for s, t in zip(skus, st, strict=True)
                    ],
                    "sku_map.status",
                    st,
                )
            )


def _reject_no_receiver(lines: pd.DataFrame, state: np.ndarray, rejects: list[dict]) -> None:
    cand = state == PURCHASABLE
    for name in ("receiver_name", "receiver_address"):
        rows = np.flatnonzero(cand & lines[name].isna().to_numpy())
        if len(rows):
            state[rows] = REJECTED
            cand[rows] = False
            rejects.append(
                _reject_rows(
                    lines,
                    rows,
                    "MISSING_RECEIVER",
                    f"{name} is empty on a purchasable line",
                    name,
                    [None] * len(rows),
                )
            )


def _hold(lines: pd.DataFrame, state: np.ndarray, held_orders: object) -> None:
    """Purchasable lines of an order that lost a row to the rejects wait for the whole order."""
    numbers = pc.take(column(lines, "order_number"), pa.array(np.flatnonzero(state == REJECTED)))
    held = [numbers]
    if held_orders is not None:
        extra = pa.array(pd.Series(held_orders, dtype="object").dropna().astype(str), pa.string())
        held.append(extra)
    value_set = pc.unique(pa.chunked_array(held, pa.string()).combine_chunks())
    if len(value_set) == 0:
        return
    live = state == PURCHASABLE
    in_held = pc.is_in(column(lines, "order_number"), value_set=value_set)
    state[live & pc.fill_null(in_held, False).to_numpy(zero_copy_only=False)] = HELD


def _reject_rows(lines, rows, code, reason, column_name, values) -> dict:
    take = pa.array(rows)
    n = len(rows)
    return {
        "source_file": pc.take(column(lines, "source_file"), take),
        "source_row": lines["source_row"].to_numpy()[rows],
        "order_line_id": pc.take(column(lines, "order_line_id"), take),
        "order_number": pc.take(column(lines, "order_number"), take),
        "reason_code": [code] * n,
        "reason": reason if isinstance(reason, list) else [reason] * n,
        "column": column_name if isinstance(column_name, list) else [column_name] * n,
        "value": pa.array(values, pa.string()),
    }


# --- grouping ------------------------------------------------------------------------------------


_TEXT = pa.string()
_MONEY = pa.decimal128(18, 2)
PURCHASE_LINE_SCHEMA = pa.schema(
    [
        ("outer_purchase_id", _TEXT),
        ("order_line_no", _TEXT),
        ("marketplace", _TEXT),
        ("country", _TEXT),
        ("order_number", _TEXT),
        *[(name, _TEXT) for name in TARGET],
        ("quantity", pa.int64()),
        ("units", pa.int64()),
        ("seller_sku", _TEXT),
        ("title", _TEXT),
        ("order_line_ids", pa.list_(_TEXT)),
        ("revenue", _MONEY),
        ("currency", _TEXT),
    ]
)
PURCHASE_SCHEMA = pa.schema(
    [
        ("outer_purchase_id", _TEXT),
        ("marketplace", _TEXT),
        ("country", _TEXT),
        ("order_number", _TEXT),
        ("ordered_at", pa.timestamp("us", tz="UTC")),
        ("ordered_at_local", pa.timestamp("us")),
        ("currency", _TEXT),
        ("revenue", _MONEY),
        ("n_lines", pa.int64()),
        ("units", pa.int64()),
        ("quantity", pa.int64()),
        *[(name, _TEXT) for name in RECEIVER],
    ]
)
# Purchasable lines are sorted by these; segments of equal prefixes are purchases and lines.
SORT_KEYS = [*ORDER_KEY, "source_item_id", "source_sku_id", "source_spec_id", "source_platform",
             "seller_sku", "order_line_id"]  # fmt: skip


class _Sorted:
    """The purchasable lines sorted by SORT_KEYS, and the segments that make purchases and lines.

    One sort, then segment boundaries give everything (no per-row Python). The tables are built
    in pieces so that `_group` can overlap them: the purchase-line table on a worker while the
    ids are digested, the purchases while the order lines are written.
    """

    def __init__(self, lines: pd.DataFrame, rows: np.ndarray, map_row: np.ndarray, sku_map) -> None:
        self.lines = lines
        take, mtake = pa.array(rows), pa.array(map_row[rows])
        p = pa.table(
            {
                **{
                    k: pc.take(column(lines, k), take)
                    for k in [*ORDER_KEY, "seller_sku", "order_line_id"]
                },
                **{k: pc.take(column(sku_map, k), mtake) for k in TARGET},
            }
        )
        order = _sort_order(p)  # positions in `rows`, in sorted order
        self.p = p.take(pa.array(order))
        self.src = src = rows[order]  # positions in `lines`, in sorted order
        self.m = m = len(src)
        self.mult = sku_map["qty_multiplier"].to_numpy(np.int64)[map_row[src]]
        self.cents = to_cents(pc.take(column(lines, "paid_price"), pa.array(src)))

        order_start = _starts(self.p, ORDER_KEY)
        line_start = order_start | _starts(self.p, TARGET)
        seller_start = line_start | _starts(self.p, ["seller_sku"])
        self.o_idx, self.l_idx, self.s_idx = (
            np.flatnonzero(x) for x in (order_start, line_start, seller_start)
        )
        self.order_of_row = np.cumsum(order_start) - 1
        self.line_of_row = np.cumsum(line_start) - 1
        self.order_of_line = self.order_of_row[self.l_idx]
        first_line = np.searchsorted(self.order_of_line, np.arange(len(self.o_idx)))
        self.line_no = np.arange(len(self.l_idx)) - first_line[self.order_of_line] + 1
        assert m == 0 or self.l_idx[-1] < m

    def _sorted_at(self, name: str, idx: np.ndarray) -> pa.ChunkedArray:
        return self.p[name].take(pa.array(idx))

    def _source_at(self, name: str, idx: np.ndarray) -> pa.ChunkedArray:
        return pc.take(column(self.lines, name), pa.array(self.src[idx]))

    def ids(self) -> pa.Array:
        """The `outer_purchase_id` of each purchase, in purchase order."""
        return purchase_ids(*(self._sorted_at(k, self.o_idx).combine_chunks() for k in ORDER_KEY))

    def ids_from(self, row_ids: pa.Array, in_early: np.ndarray) -> pa.Array:
        """`ids()` taken from `_ids_by_order`'s ids of the `early` lines (`in_early`: each
        line's position among them)."""
        return row_ids.take(pa.array(in_early[self.src[self.o_idx]]))

    def purchase_lines(self, ids: pa.Array, table: pa.Table) -> pd.DataFrame:
        """The purchase lines, from `purchase_line_table()` and the purchase ids."""
        table = table.add_column(0, "outer_purchase_id", ids.take(pa.array(self.order_of_line)))
        return to_frame(table.cast(PURCHASE_LINE_SCHEMA))

    def purchase_line_table(self) -> pa.Table:
        """The purchase lines but their ids (Arrow work that can run while the ids are made)."""
        l_idx, s_idx, m = self.l_idx, self.s_idx, self.m
        line_offsets = pa.array(np.r_[l_idx, m].astype(np.int32))
        sellers_per_line = np.bincount(self.line_of_row[s_idx], minlength=len(l_idx))
        seller_lists = pa.ListArray.from_arrays(
            pa.array(np.r_[0, np.cumsum(sellers_per_line)].astype(np.int32)),
            self._sorted_at("seller_sku", s_idx).combine_chunks(),
        )
        return pa.table(
            {
                "order_line_no": pc.cast(pa.array(self.line_no), _TEXT),
                **{k: self._sorted_at(k, l_idx) for k in ORDER_KEY},
                **{k: self._sorted_at(k, l_idx) for k in TARGET},
                "quantity": pa.array(np.add.reduceat(self.mult, l_idx)),
                "units": pa.array(np.diff(np.r_[l_idx, m]).astype(np.int64)),
                "seller_sku": pc.binary_join(seller_lists, ","),
                "title": self._source_at("item_name", l_idx),
                "order_line_ids": pa.ListArray.from_arrays(
                    line_offsets, self.p["order_line_id"].combine_chunks()
                ),
                "revenue": from_cents(np.add.reduceat(self.cents, l_idx)),
                "currency": self._source_at("currency", l_idx),
            }
        )

    def purchases(self, ids: pa.Array) -> pd.DataFrame:
        """One row per purchase: totals, first order time, receiver from its first line."""
        o_idx, m = self.o_idx, self.m
        utc = _micros(self.lines["ordered_at"])[self.src]
        local = _micros(self.lines["ordered_at_local"])[self.src]
        table = pa.table(
            {
                "outer_purchase_id": ids,
                **{k: self._sorted_at(k, o_idx) for k in ORDER_KEY},
                "ordered_at": pa.array(np.minimum.reduceat(utc, o_idx)).cast(
                    pa.timestamp("us", tz="UTC")
                ),
                "ordered_at_local": pa.array(np.minimum.reduceat(local, o_idx)).cast(
                    pa.timestamp("us")
                ),
                "currency": self._source_at("currency", o_idx),
                "revenue": from_cents(np.add.reduceat(self.cents, o_idx)),
                "n_lines": pa.array(
                    np.bincount(self.order_of_line, minlength=len(o_idx)).astype(np.int64)
                ),
                "units": pa.array(np.diff(np.r_[o_idx, m]).astype(np.int64)),
                "quantity": pa.array(np.add.reduceat(self.mult, o_idx)),
                **{k: self._source_at(k, o_idx) for k in RECEIVER},
            }
        )
        return to_frame(table.cast(PURCHASE_SCHEMA))


def _group(
    lines: pd.DataFrame,
    state: np.ndarray,
    map_row: np.ndarray,
    sku_map: pd.DataFrame,
    sink: Callable[[str, pd.DataFrame], None] | None,
    in_early: np.ndarray,
    order_ids: Future[pa.Array | None],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(order lines with dispositions, purchases, purchase lines), each handed to `sink` as soon
    as it is complete.

    The order lines come first, because writing them is the longest single piece of output.
    Before that, a worker annotates the lines and then assembles the purchase lines while this
    thread sorts, and `order_ids` (the ids of the `early` lines, a superset of the purchasable
    ones, started by map_and_group) are digested; the purchases are built while the order
    lines are being written.
    """
    rows = np.flatnonzero(state == PURCHASABLE)
    if not len(rows):
        out_lines = _annotate(lines, state, map_row, sku_map)
        nothing = pa.nulls(len(out_lines), _TEXT)
        _add_purchase_columns(out_lines, nothing, nothing)
        purchases = to_frame(PURCHASE_SCHEMA.empty_table())
        purchase_lines = to_frame(PURCHASE_LINE_SCHEMA.empty_table())
        for name, frame in (("order_lines", out_lines), ("purchase_lines", purchase_lines),
                            ("purchases", purchases)):  # fmt: skip
            if sink is not None:
                sink(name, frame)
        return out_lines, purchases, purchase_lines
    with ThreadPoolExecutor(max_workers=1) as pool:
        annotated = pool.submit(_annotate, lines, state, map_row, sku_map)  # beside the sort
        keys = _Sorted(lines, rows, map_row, sku_map)
        line_table = pool.submit(keys.purchase_line_table)  # Arrow takes, on the same worker
        bought = _bought_index(_where(keys.src, len(lines)), state)  # places among the sorted
        line_no = _line_numbers(keys.line_no[keys.line_of_row], bought)
        found = order_ids.result()
        if found is not None:  # the usual case: the ids of the `early` lines are ready
            ids = keys.ids_from(found, in_early)
            row_ids = pc.take(found, _bought_index(in_early, state))
        else:
            ids = keys.ids()
            row_ids = pc.take(ids.take(pa.array(keys.order_of_row)), bought)
        out_lines = annotated.result()
        _add_purchase_columns(out_lines, row_ids, line_no)
        if sink is not None:
            sink("order_lines", out_lines)
        purchase_lines = keys.purchase_lines(ids, line_table.result())
    if sink is not None:
        sink("purchase_lines", purchase_lines)
    purchases = keys.purchases(ids)
    if sink is not None:
        sink("purchases", purchases)
    return out_lines, purchases, purchase_lines


def _ids_by_order(lines: pd.DataFrame, rows: np.ndarray) -> pa.Array | None:
    """The `outer_purchase_id` of each of `rows`, one digest per run of rows of the same order
    (an export lists an order's units together, so runs are orders); None when an order key is
    null (then the ids come from the sorted keys)."""
    take = pa.array(rows)
    parts = [pc.take(column(lines, k), take).combine_chunks() for k in ORDER_KEY]
    if any(part.null_count for part in parts):
        return None
    starts = _starts(pa.table(dict(zip(ORDER_KEY, parts, strict=True))), ORDER_KEY)
    at = pa.array(np.flatnonzero(starts))
    ids = purchase_ids(*(pc.take(part, at) for part in parts))
    return ids.take(pa.array(np.cumsum(starts) - 1))


def _where(among: np.ndarray, n: int) -> np.ndarray:
    """For each of n lines, its position in the line positions `among` (-1: not there)."""
    where = np.full(n, -1, np.int64)
    where[among] = np.arange(len(among))
    return where


def _bought_index(where: np.ndarray, state: np.ndarray) -> pa.Array:
    """For each accepted line (state != REJECTED): `where[line]` (its position among some line
    positions that hold every purchasable line, see `_where`) when the line is bought, else
    null. The take index for per-line values of those positions."""
    kept = state != REJECTED
    pos = where[kept]
    bought = (pos >= 0) & (state[kept] == PURCHASABLE)
    return pa.array(np.where(bought, pos, 0), mask=~bought)


def _sort_order(p: pa.Table) -> np.ndarray:
    """The indices that sort `p` by SORT_KEYS, ascending, ties in row order.

    Same result as one stable Arrow sort on all the keys, in two cheaper passes: Arrow sorts by
    the keys after (marketplace, country), whose first key (order number) is nearly unique, then
    numpy stably sorts by the small (marketplace, country) rank. A 9-key string sort led by a
    6-valued column is several times slower.
    """
    lead = ORDER_KEY[:2]
    assert SORT_KEYS[:2] == lead
    if any(p[k].null_count for k in lead):  # not after normalise; keep the plain sort exact
        return pc.sort_indices(p, sort_keys=[(k, "ascending") for k in SORT_KEYS]).to_numpy()
    rest = pc.sort_indices(p, sort_keys=[(k, "ascending") for k in SORT_KEYS[2:]]).to_numpy()
    group, groups = np.zeros(p.num_rows, np.int64), 1
    for name in lead:
        rank, size = _dense_rank(p[name])
        group = group * size + rank
        groups *= size
    group = group.astype(np.int16 if groups < 2**15 else np.int64)[rest]
    return rest[np.argsort(group, kind="stable")]


def _dense_rank(values: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """(rank of each value among the distinct values in sort order, number of distinct values)."""
    encoded = flat(values).dictionary_encode()
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank_of_code = np.empty(len(order), np.int64)
    rank_of_code[order] = np.arange(len(order))
    return rank_of_code[encoded.indices.to_numpy()], len(order)


def purchase_ids(marketplace: pa.Array, country: pa.Array, order_number: pa.Array) -> pa.Array:
    """`schemas.records.outer_purchase_id` for many orders at once, checked against it.

    The string work is done by Arrow and only the digest is per-order Python (~6x faster than
    calling the function per order), in a helper process for many orders (`transforms.digests`). A sample of the ids (first, last, every 997th) is compared
    with the function itself; on any difference every id comes from the function, so a change
    to the shared definition can cost speed but never a wrong id.
    """
    n = len(order_number)
    upper_country = pc.utf8_upper(country)
    keys = pc.binary_join_element_wise(pc.utf8_lower(marketplace), upper_country, order_number, "|")
    digests = sha256_hex12(flat(keys))
    prefix = pc.binary_join_element_wise(
        "PS-", pc.utf8_upper(pc.utf8_slice_codeunits(marketplace, 0, 2)), upper_country, ""
    )
    ids = pc.binary_join_element_wise(prefix, order_number, digests, "-")
    columns = (marketplace, country, order_number)
    for i in np.unique(np.r_[0, np.arange(0, n, 997), n - 1]) if n else ():
        args = [c[int(i)].as_py() for c in columns]
        if ids[int(i)].as_py() != outer_purchase_id(*args):
            return pa.array(list(map(outer_purchase_id, *(c.to_pylist() for c in columns))), _TEXT)
    return ids


def _micros(times: pd.Series) -> np.ndarray:
    return times.dt.as_unit("us").astype("int64").to_numpy()


def _starts(table: pa.Table, names: list[str]) -> np.ndarray:
    """True where a sorted table's row differs from the previous one in any of `names`."""
    n = table.num_rows
    start = np.zeros(n, bool)
    if n == 0:
        return start
    start[0] = True
    for name in names:
        values = pc.fill_null(table[name].combine_chunks(), "\x00")
        changed = pc.not_equal(values.slice(1), values.slice(0, n - 1))
        start[1:] |= changed.to_numpy(zero_copy_only=False)
    return start


def _annotate(lines, state, map_row, sku_map) -> pd.DataFrame:
    """The accepted lines with disposition and SKU-map target; `_group` adds the purchase
    columns (`outer_purchase_id`, `order_line_no`) once the sort and the ids are done.

    The added text columns are dictionary arrays built from codes already at hand (the line's
    state, its SKU map row, its line number): no per-line string copies, and Parquet writes
    their dictionary pages as they are instead of hashing a million values per column.
    """
    n = len(lines)
    keep = np.flatnonzero(state != REJECTED)
    disposition = pa.DictionaryArray.from_arrays(
        pa.array(state[keep], pa.int8()), pa.array(list(DISPOSITIONS))
    )
    mapped = map_row[keep] >= 0
    at = np.where(mapped, map_row[keep], 0)
    target = {name: _map_codes(sku_map, name, at, mapped) for name in TARGET}
    mult = sku_map["qty_multiplier"].to_numpy(np.int64) if len(sku_map) else np.zeros(1, np.int64)
    extra = pa.table(
        {
            "disposition": disposition,
            **target,
            "qty_multiplier": pa.array(
                np.where(mapped, mult[at], 0),
                pa.int64(),
                mask=~mapped,
            ),
        }
    )
    base = lines.iloc[keep] if len(keep) < n else lines
    base = base.reset_index(drop=True)
    extra_frame = extra.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t))
    return pd.concat([base, extra_frame], axis=1)


def _add_purchase_columns(out_lines: pd.DataFrame, row_ids: pa.Array, line_no: pa.Array) -> None:
    """`outer_purchase_id` and `order_line_no` (one per accepted line, null when not bought)."""
    for name, values in (("outer_purchase_id", row_ids), ("order_line_no", line_no)):
        out_lines[name] = pd.Series(pd.arrays.ArrowExtensionArray(values), index=out_lines.index)


def _map_codes(sku_map: pd.DataFrame, name: str, at: np.ndarray, mapped: np.ndarray) -> pa.Array:
    """SKU map column `name` at rows `at` (null where not `mapped`), as a dictionary array."""
    if not len(sku_map):
        return pa.nulls(len(at), pa.string())
    encoded = pc.dictionary_encode(column(sku_map, name).combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False)  # null entries come out as 0
    valid = mapped & encoded.indices.is_valid().to_numpy(zero_copy_only=False)[at]
    return pa.DictionaryArray.from_arrays(
        pa.array(codes[at], pa.int32(), mask=~valid), encoded.dictionary
    )


def _line_numbers(row_line_no: np.ndarray, bought: pa.Array) -> pa.Array:
    """`order_line_no` ("1", "2", ...) of each line (null when not bought), as a dictionary."""
    top = int(row_line_no.max()) if len(row_line_no) else 0
    labels = pc.cast(pa.array(np.arange(1, top + 1)), pa.string())
    codes = pc.take(pa.array(row_line_no - 1, pa.int32()), bought)
    return pa.DictionaryArray.from_arrays(codes, labels)


def _counts(lines, state, purchases, purchase_lines, rejects) -> dict:
    codes, n = np.unique(state[state >= 0], return_counts=True)
    by_disposition = {name: 0 for name in DISPOSITIONS}
    by_disposition.update({DISPOSITIONS[c]: int(k) for c, k in zip(codes, n, strict=True)})
    skipped = pc.value_counts(pc.filter(column(lines, "status"), state == SKIPPED_STATUS))
    skipped_by_status = dict(
        sorted(
            ((str(v["values"]), int(v["counts"])) for v in skipped.to_pylist()),
            key=lambda kv: (-kv[1], kv[0]),
        )
    )
    revenue: dict[str, str] = {}
    if len(purchases):
        money = pa.table(
            {"currency": column(purchases, "currency"), "cents": to_cents(purchases["revenue"])}
        )
        totals = money.group_by("currency").aggregate([("cents", "sum")]).sort_by("currency")
        currencies, sums = totals["currency"].to_pylist(), totals["cents_sum"].to_pylist()
        for cur, total in zip(currencies, sums, strict=True):
            revenue[str(cur)] = str(from_cents(np.array([total]))[0].as_py())
    return {
        "lines_in": len(lines),
        "lines_by_disposition": by_disposition,
        "skipped_by_status": skipped_by_status,
        "rejected_by_reason": {
            str(k): int(v) for k, v in rejects["reason_code"].value_counts().items()
        },
        "purchases": len(purchases),
        "purchase_lines": len(purchase_lines),
        "units_planned": int(purchases["units"].sum()) if len(purchases) else 0,
        "quantity_planned": int(purchases["quantity"].sum()) if len(purchases) else 0,
        "revenue_by_currency": revenue,
    }


def to_planned_purchases(
    purchases: pd.DataFrame, purchase_lines: pd.DataFrame
) -> list[PlannedPurchase]:
    """The hand-off records for the submit stage, one per purchase (lines in `order_line_no` order)."""
    lines_by_purchase: dict[str, list[PlannedLine]] = {}
    table = pa.Table.from_pandas(purchase_lines, preserve_index=False)
    for row in table.to_pylist():
        lines_by_purchase.setdefault(row["outer_purchase_id"], []).append(
            PlannedLine(
                order_line_no=row["order_line_no"],
                source_platform=row["source_platform"],
                source_item_id=row["source_item_id"],
                source_sku_id=row["source_sku_id"] or "",
                source_spec_id=row["source_spec_id"] or "",
                quantity=int(row["quantity"]),
                seller_sku=row["seller_sku"],
                title=row["title"] or "",
                order_line_ids=tuple(row["order_line_ids"]),
                revenue=row["revenue"],
            )
        )
    planned = []
    for row in pa.Table.from_pandas(purchases, preserve_index=False).to_pylist():
        lines = sorted(lines_by_purchase.get(row["outer_purchase_id"], ()), key=_line_no)
        planned.append(
            PlannedPurchase(
                outer_purchase_id=row["outer_purchase_id"],
                marketplace=row["marketplace"],
                country=row["country"],
                order_number=row["order_number"],
                ordered_at=row["ordered_at"],
                currency=row["currency"],
                receiver=Receiver(
                    name=row["receiver_name"] or "",
                    phone=row["receiver_phone"] or "",
                    country=row["receiver_country"] or "",
                    state=row["receiver_state"] or "",
                    city=row["receiver_city"] or "",
                    district=row["receiver_district"] or "",
                    address=row["receiver_address"] or "",
                    zip=row["receiver_zip"] or "",
                ),
                lines=tuple(lines),
                revenue=row["revenue"],
            )
        )
    return planned


def _line_no(line: PlannedLine) -> int:
    return int(line.order_line_no)
