"""One export's text rows -> canonical order lines, and a reason for every row refused.

The cell rules are the same for every marketplace and run in this order; a row's reason is the
first rule it breaks (columns in the format's field order within a rule):

    FIELD_TOO_LONG, FORMULA_INJECTION, MISSING_VALUE, BAD_ID, UNKNOWN_STATUS, BAD_DATE,
    BAD_PRICE, BAD_QUANTITY, then the format's country rules (UNKNOWN_COUNTRY, COUNTRY_MISMATCH)

What differs between marketplaces (which columns, how a line's id, price, status and country
are made) is the format's `Reader` (transforms/lazada.py, shopee.py, tiktok.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.contracts import OrderLines, Rejects
from schemas.types import MONEY_TYPE, arrow_schema
from transforms import cells as c
from transforms.formats import ExportFormat, HeaderMatch
from transforms.pii import mask_pii

MAX_REJECT_VALUE = 200  # characters of a bad cell kept in the rejects
LINES = arrow_schema(OrderLines)
REJECTS = arrow_schema(Rejects)
PRICE_REASON = "{col} is not an amount like 42.90 (>= 0, at most 2 decimals, below 10^12)"
QUANTITY_REASON = (
    f"{{col}} is not a whole number of units from 1 to {10**c.MAX_QUANTITY_DIGITS - 1}"
)
MALFORMED_REASON = "the row has the wrong number of fields (a stray delimiter or quote?)"


_NULL_TYPES = {"money": MONEY_TYPE, "date": pa.timestamp("s"), "quantity": pa.int64()}


class Cells:
    """A file's used columns by field name, raw and parsed; a missing column reads as nulls."""

    def __init__(self, table: pa.Table, fmt: ExportFormat) -> None:
        self.table, self.format, self.n = table, fmt, table.num_rows
        self.parsed: dict[str, c.Column] = {}

    def has(self, name: str) -> bool:
        return name in self.table.column_names

    def raw(self, name: str) -> c.Column:
        return self.table[name] if self.has(name) else pa.nulls(self.n, pa.string())

    def text(self, name: str) -> c.Column:
        """The cell, or its fallback field's cell where it is empty."""
        fallback = self.format.fields[name].fallback
        if fallback is None:
            return self.raw(name)
        return pc.coalesce(self.raw(name), self.raw(fallback))

    def value(self, name: str) -> c.Column:
        """The parsed value (id repaired, date, amount, quantity, status) or the text; typed
        nulls for a column the file lacks."""
        if name in self.parsed:
            return self.parsed[name]
        kind = self.format.fields[name].kind
        if kind in _NULL_TYPES and not self.has(name):
            return pa.nulls(self.n, _NULL_TYPES[kind])
        return self.text(name)


class Reader(Protocol):
    """What a marketplace adds to the shared rules (see transforms/lazada.py for an example)."""

    format: ExportFormat

    def status(self, cells: Cells, rules: Rules) -> pa.Array:
        """Each row's canonical status; adds UNKNOWN_STATUS failures to `rules`."""

    def country(self, cells: Cells, match: HeaderMatch, rules: Rules) -> pa.Array:
        """Each row's shop country; adds the country rules' failures to `rules`."""

    def line(self, cells: Cells) -> dict[str, c.Column]:
        """The marketplace-specific canonical columns (see `_canonical` for the rest)."""


@dataclass
class _Failure:
    code: str
    field: str | None
    reason: str
    bad: pa.Array  # boolean per row, no nulls


class Rules:
    """Failures in the order they are added; a row's reason is the first one it has."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.failures: list[_Failure] = []

    def add(self, code: str, field: str | None, reason: str, bad: c.Column) -> None:
        mask = c.flat(pc.fill_null(bad, False))
        if pc.any(mask).as_py():
            self.failures.append(_Failure(code, field, reason, mask))

    def assign(self) -> tuple[pa.Array | None, list[tuple[_Failure, np.ndarray]]]:
        """(good mask, None when every row is good; [(failure, the rows it explains)])."""
        taken: pa.Array | None = None
        out = []
        for failure in self.failures:
            newly = failure.bad if taken is None else pc.and_not(failure.bad, taken)
            rows = pc.indices_nonzero(newly).to_numpy()
            if len(rows):
                out.append((failure, rows))
                taken = newly if taken is None else pc.or_(taken, newly)
        return (None if taken is None else pc.invert(taken)), out


def normalise(
    reader: Reader,
    match: HeaderMatch,
    table: pa.Table,
    rows: np.ndarray,
    source: str,
    malformed: Iterable[tuple[int, str]] = (),
) -> tuple[pa.Table, pa.Table]:
    """A file's text columns (named by the file's own header) -> (order lines, rejects).

    `rows` is each table row's number in the file; rows the CSV parser could not split
    (`malformed`) become MALFORMED_ROW rejects, so the file's row count is conserved.
    """
    fmt = match.format
    cells = Cells(pa.table({name: table[raw] for name, raw in match.columns.items()}), fmt)
    rules = Rules(cells.n)
    _check_cells(cells, rules)
    cells.parsed["status"] = reader.status(cells, rules)
    _parse_values(cells, rules)
    country = reader.country(cells, match, rules)
    good, explained = rules.assign()

    own = reader.line(cells)
    lines = _canonical(fmt, cells, own, country, rows, source)
    rejects = _rejects(explained, cells, match, own, country, rows, source, list(malformed))
    return (lines if good is None else lines.filter(good)), rejects


def unknown_status(rules: Rules, cells: Cells, field: str, status: c.Column) -> None:
    """UNKNOWN_STATUS where `field` has a value its marketplace's vocabulary does not know."""
    label = cells.format.statuses.label
    bad = pc.and_(pc.is_valid(cells.raw(field)), pc.is_null(status))
    rules.add("UNKNOWN_STATUS", field, f"{{col}} is not a known {label}", bad)


def _check_cells(cells: Cells, rules: Rules) -> None:
    """The rules on raw text: length, formulas, empty required cells, ids."""
    fields = cells.format.fields
    present = [name for name in fields if cells.has(name)]
    for name in present:
        limit = fields[name].max_length
        if limit is not None:
            reason = f"{{col}} is longer than {limit} characters"
            rules.add("FIELD_TOO_LONG", name, reason, c.too_long(cells.raw(name), limit))
    for name in present:
        if fields[name].kind == "text":
            reason = "{col} starts with =, +, - or @ (spreadsheet formula)"
            rules.add("FORMULA_INJECTION", name, reason, c.starts_like_formula(cells.raw(name)))
    for name in present:
        if fields[name].kind == "phone":
            reason = "{col} starts like a spreadsheet formula"
            rules.add("FORMULA_INJECTION", name, reason, c.phone_like_formula(cells.raw(name)))
    for name, spec in fields.items():
        if spec.required:
            rules.add("MISSING_VALUE", name, "{col} is empty", pc.is_null(cells.text(name)))
    for name in present:
        kind = fields[name].kind
        if kind in ("id", "code"):
            ids = c.repair_id(cells.raw(name))
            cells.parsed[name] = ids
            rules.add(
                "BAD_ID",
                name,
                "{col} is in scientific notation: the file went through a spreadsheet as a "
                "number; re-export it with ids as text",
                c.scientific(ids),
            )
            bad = c.bad_digit_id(ids) if kind == "id" else c.bad_alnum_id(ids)
            what = "a digit string" if kind == "id" else "a string of letters and digits"
            rules.add("BAD_ID", name, f"{{col}} is not {what}", bad)


def _parse_values(cells: Cells, rules: Rules) -> None:
    """Dates, amounts and quantities, parsed; the rows whose cells do not parse."""
    fmt = cells.format
    example = fmt.dates_example
    for kind, code, parse, reason in (
        ("date", "BAD_DATE", lambda t: c.parse_local_time(t, fmt.dates),
         f"{{col}} is not a date like {example}"),
        ("money", "BAD_PRICE", c.parse_money, PRICE_REASON),
        ("quantity", "BAD_QUANTITY", c.parse_quantity, QUANTITY_REASON),
    ):  # fmt: skip
        for name, spec in fmt.fields.items():
            if spec.kind == kind and cells.has(name):
                value, bad = parse(cells.raw(name))
                cells.parsed[name] = value
                rules.add(code, name, reason, bad)


def _canonical(fmt, cells, own, country, rows, source) -> pa.Table:
    """Every row as a canonical order line (the caller drops the rejected ones)."""
    n = cells.n
    consts = c.country_constants(country)
    created = own["created"]
    parts = {k: c.english_half(own[k]) for k in ("state", "city", "district")}
    singapore = pc.fill_null(pc.equal(country, "SG"), False)
    columns = {
        "marketplace": c.constant(fmt.marketplace, n),
        "country": country,
        "order_number": own["order_number"],
        "order_line_id": own["order_line_id"],
        "seller_sku": own["seller_sku"],
        "platform_sku_id": own["platform_sku_id"],
        "quantity": own["quantity"],
        "unit_price": own["unit_price"],
        "paid_price": own["paid_price"],
        "currency": consts["currency"],
        "ordered_at": c.to_utc(created, consts["offset_s"]),
        "ordered_at_local": pc.cast(created, pa.timestamp("us")),
        "updated_at": c.to_utc(own["updated"], consts["offset_s"]),
        "status": cells.parsed["status"],
        "item_name": own["item_name"],
        "variation": own["variation"],
        "receiver_name": own["name"],
        "receiver_phone": pc.coalesce(*(c.phone(p) for p in own["phones"])),
        "receiver_country": consts["name"],
        "receiver_state": parts["state"],
        "receiver_city": pc.if_else(
            pc.and_(singapore, pc.is_null(parts["city"])), pa.scalar("Singapore"), parts["city"]
        ),
        "receiver_district": parts["district"],
        "receiver_address": own["address"],
        "receiver_zip": c.postcode(own["zip"], country),
        "source_file": c.constant(source, n),
        "source_row": pa.array(rows, pa.int64()),
    }
    return pa.table({name: _typed(columns[name], LINES.field(name).type) for name in LINES.names})


def _typed(values: c.Column, kind: pa.DataType) -> pa.ChunkedArray:
    """A column in its contract type, in the chunks it came in (no copy into one chunk)."""
    chunked = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    return chunked.cast(kind)


def _rejects(explained, cells, match, own, country, rows, source, malformed) -> pa.Table:
    fmt = match.format
    parts = []
    for failure, at in explained:
        take = pa.array(at)
        shown = match.header_of(failure.field) if failure.field else None
        if failure.field and cells.has(failure.field):  # the cell as found, cut to a readable size
            values = c.flat(pc.take(cells.raw(failure.field), take))
            values = pc.utf8_slice_codeunits(values, 0, MAX_REJECT_VALUE)
            kind = fmt.fields[failure.field].pii
            if kind is not None:
                values = pa.array([mask_pii(v, kind) for v in values.to_pylist()], pa.string())
        else:
            values = pa.nulls(len(at), pa.string())
        parts.append(
            reject_part(
                source,
                rows[at],
                failure.code,
                failure.reason.format(col=shown),
                column=shown,
                values=values,
                order_line_id=pc.take(own["order_line_id"], take),
                order_number=pc.take(own["order_number"], take),
                marketplace=fmt.marketplace,
                country=pc.take(country, take),
            )
        )
    if malformed:
        numbers = np.array([max(n, 1) for n, _ in malformed], np.int64)
        parts.append(reject_part(source, numbers, "MALFORMED_ROW", MALFORMED_REASON,
                                 marketplace=fmt.marketplace))  # fmt: skip
    return reject_table(parts)


def reject_part(
    source: str,
    rows: np.ndarray,
    code: str,
    reason: str,
    *,
    column: str | None = None,
    values: c.Column | None = None,
    order_line_id: c.Column | None = None,
    order_number: c.Column | None = None,
    marketplace: str | None = None,
    country: c.Column | None = None,
) -> pa.Table:
    """Reject rows, one per `rows`, as a table of the Rejects contract."""
    n = len(rows)

    def text(values: c.Column | str | None) -> pa.Array:
        if values is None or isinstance(values, str):
            return c.constant(values, n)
        return c.flat(values)

    return pa.table(
        {
            "source_file": c.constant(source, n),
            "source_row": pa.array(rows, pa.int64()),
            "order_line_id": text(order_line_id),
            "order_number": text(order_number),
            "reason_code": c.constant(code, n),
            "reason": c.constant(reason, n),
            "column": text(column),
            "value": text(values),
            "marketplace": text(marketplace),
            "country": text(country),
        },
        schema=REJECTS,
    )


def reject_table(parts: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(parts) if parts else REJECTS.empty_table()
