"""What an export format is, and which one a file's header belongs to.

A format (`ExportFormat`) names the columns a reader uses (`Field`: the header names it goes by
in every language and era, what kind of cell it holds, whether it is required), the date
formats and the status vocabulary of its marketplace. Columns are matched by name, ignoring
case, spacing, punctuation and a currency suffix (`Deal Price (PHP)` = `Deal Price`); order and
extra columns do not matter. The format of a file is the one whose signature columns its header
has (`detect`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from schemas.marketplaces import CURRENCIES, STATUSES
from transforms.cells import Column, per_distinct, squash
from transforms.pii import Kind as PiiKind

Kind = Literal["id", "code", "text", "phone", "date", "money", "quantity", "status", "other"]
CURRENCY_SUFFIX = re.compile(r"\s*\((?P<cur>[A-Z]{3})\)\s*$")


@dataclass(frozen=True)
class Field:
    """One column a reader uses."""

    headers: tuple[str, ...]  # the names it goes by; the first is the one messages use
    kind: Kind = "other"  # what rules apply: "id" digits, "code" letters+digits, "text" free text
    required: bool = False
    max_length: int | None = None  # longer than any real value: FIELD_TOO_LONG
    pii: PiiKind | None = None  # masked in rejects
    fallback: str | None = None  # a field whose cell stands in when this one is empty

    @property
    def name(self) -> str:
        return self.headers[0]


@dataclass(frozen=True)
class Vocabulary:
    """A status column's display values -> the marketplace's canonical status names.

    Values are compared normalised (lower case, runs of spaces, `-` and `/` as `_`), so
    `Ready to ship`, `READY_TO_SHIP` and `ready-to-ship` are one value; a canonical name stands
    for itself. `prefixes` catch display values with a variable tail (a date, say).
    """

    marketplace: str
    label: str  # what the values are, for messages: "Lazada item status"
    names: dict[str, str] = field(default_factory=dict)
    prefixes: tuple[tuple[str, str], ...] = ()

    def canonical(self, values: Column) -> pa.Array:
        """The canonical status of each value, null where the value is not known."""
        known = {**{s: s for s in STATUSES[self.marketplace]}, **self._normalised_names()}

        def lookup(distinct: pa.Array) -> pa.Array:
            keys = normalise_status(distinct)
            found = pc.take(
                pa.array(list(known.values())), pc.index_in(keys, value_set=pa.array(list(known)))
            )
            for prefix, status in self.prefixes:
                starts = pc.fill_null(pc.starts_with(distinct, prefix), False)
                found = pc.if_else(starts, pa.scalar(status), found)
            return found

        return per_distinct(values, lookup)

    def _normalised_names(self) -> dict[str, str]:
        keys = normalise_status(pa.array(list(self.names), pa.string())).to_pylist()
        return dict(zip(keys, self.names.values(), strict=True))


def normalise_status(values: Column) -> pa.Array:
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    return pc.replace_substring_regex(lowered, r"[\s\-/]+", "_")


@dataclass(frozen=True)
class ExportFormat:
    """One marketplace export format: its columns, dates and statuses."""

    marketplace: str
    fields: dict[str, Field]
    signature: tuple[str, ...]  # the fields whose names identify the format
    dates: tuple[tuple[str, str], ...]  # (strptime format, regex with the day as group `d`)
    dates_example: str
    statuses: Vocabulary
    style: Callable[[dict[str, str]], str]  # which header variant (language, era) a file has
    required_any: tuple[tuple[str, ...], ...] = ()  # at least one field of each group
    encodings: tuple[str, ...] = ("utf-8",)  # CSV encodings the marketplace writes


@dataclass(frozen=True)
class HeaderMatch:
    """How a file's header maps onto a format's fields."""

    format: ExportFormat
    columns: dict[str, str]  # field -> the file's header name
    style: str
    missing: list[str]  # names of required columns not found
    duplicated: list[str]  # names of fields found under more than one header
    currency: str | None  # currency named by a header suffix such as `(PHP)`

    @property
    def usable(self) -> bool:
        return not self.missing and not self.duplicated

    def header_of(self, name: str) -> str:
        """The file's own name for a field (its usual name when the file lacks it)."""
        return self.columns.get(name) or self.format.fields[name].name


def match_header(fmt: ExportFormat, header: Sequence[str]) -> HeaderMatch:
    by_key = {squash(alias): name for name, f in fmt.fields.items() for alias in f.headers}
    found: dict[str, list[str]] = {}
    currencies = set()
    for raw in header:
        suffix = CURRENCY_SUFFIX.search(raw)
        if suffix and suffix["cur"] in CURRENCIES:
            currencies.add(suffix["cur"])
        name = by_key.get(squash(CURRENCY_SUFFIX.sub("", raw)))
        if name is not None:
            found.setdefault(name, []).append(raw)
    missing = [
        f.name
        for name, f in fmt.fields.items()
        if f.required and name not in found and not (f.fallback and f.fallback in found)
    ]
    for group in fmt.required_any:
        if not any(name in found for name in group):
            missing.append(" or ".join(fmt.fields[name].name for name in group))
    columns = {name: raws[0] for name, raws in found.items()}
    return HeaderMatch(
        format=fmt,
        columns=columns,
        style=fmt.style(columns),
        missing=missing,
        duplicated=sorted(fmt.fields[name].name for name, raws in found.items() if len(raws) > 1),
        currency=currencies.pop() if len(currencies) == 1 else None,
    )


def detect(header: Sequence[str], formats: Iterable[ExportFormat]) -> HeaderMatch | None:
    """The format whose signature the header has (the best-matching one), or None."""
    candidates = []
    for fmt in formats:
        match = match_header(fmt, header)
        if all(name in match.columns for name in fmt.signature):
            candidates.append(match)
    return max(candidates, key=lambda m: len(m.columns), default=None)


def is_description_row(header: Sequence[str], cells: Sequence[str | None], key: str) -> bool:
    """Row 2 of a TikTok export describes its columns (`Platform unique order ID.`): the cell
    under the order-number column `key` is words, not an id."""
    if key not in header:
        return False
    i = list(header).index(key)
    cell = (cells[i] if i < len(cells) else None) or ""
    cell = cell.strip()
    return (
        bool(cell)
        and " " in cell
        and not re.search(r"\d", cell)
        and bool(re.search(r"[^\W\d_]", cell))
    )
