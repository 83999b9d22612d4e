"""One input file -> its canonical order lines and its rejects, whatever the marketplace.

The format is detected from the header (transforms.formats); one run may mix marketplaces,
countries and file types. A file that cannot be read, or whose header lacks a required column,
does not stop the others: it is reported, and its rows (when they can be counted) are rejected
with the reason, so that rows in = rows accepted + rows rejected holds for every input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandera.pandas as pa_
import pyarrow as pa

from schemas.contracts import OrderLines
from schemas.types import frame
from transforms import lazada, shopee, tiktok
from transforms.formats import HeaderMatch, detect, is_description_row
from transforms.inputs import FileError, Layout, read_columns, read_export
from transforms.normalise import Reader, normalise, reject_part, reject_table

READERS: dict[str, Reader] = {r.format.marketplace: r for r in (lazada.READER, shopee.READER,
                                                                  tiktok.READER)}  # fmt: skip
FORMATS = tuple(r.format for r in READERS.values())


@dataclass(frozen=True)
class FileReport:
    """What happened to one input file."""

    path: str
    format: str  # "csv" | "xlsx" | "parquet" | "" when unreadable
    marketplace: str  # "lazada" | "shopee" | "tiktok" | "" when not recognised
    header: str  # the header variant: Lazada current/legacy, Shopee en/th/vi/zh, TikTok en
    rows: int  # data rows found (0 when unreadable)
    rejected: int  # rows rejected while reading
    error: str | None = None  # why the file was unreadable or rejected whole


# One file's reading: its report, its lines (None when unusable) and its rejects.
FilePart = tuple[FileReport, pa.Table | None, pa.Table]


def detect_format(header: list[str]) -> HeaderMatch | None:
    return detect(header, FORMATS)


def _describes(header: list[str], cells: list[str | None]) -> bool:
    match = detect_format(header)
    key = match.columns.get("order_number") if match else None
    return key is not None and is_description_row(header, cells, key)


def read_file(path: Path) -> FilePart:
    """Read, detect, normalise and check one file."""
    source = str(path)
    matches: list[HeaderMatch | None] = []

    def choose(layout: Layout) -> list[str] | None:
        match = detect_format(layout.header)
        matches.append(match)
        if match is None or not match.usable or layout.encoding not in match.format.encodings:
            return None
        return list(match.columns.values())

    try:
        layout, text = read_export(
            path, lambda cells: detect_format(cells) is not None, _describes, choose
        )
    except FileError as exc:
        return FileReport(source, "", "", "", 0, 0, str(exc)), None, reject_table([])
    match = matches[0]
    if match is not None and layout.encoding not in match.format.encodings:
        error = "not UTF-8 text (re-export the file as UTF-8 CSV)"
        report = FileReport(source, layout.kind, match.format.marketplace, match.style, 0, 0, error)
        return report, None, reject_table([])
    if text is None:
        return _reject_file(path, layout, match)
    reader = READERS[match.format.marketplace]
    lines, rejects = normalise(reader, match, text.table, text.rows, source, text.malformed)
    lines, schema_rejects = check_lines(lines, source)
    if schema_rejects is not None:
        rejects = pa.concat_tables([rejects, schema_rejects])
    rows = len(text.rows) + len(text.malformed)
    report = FileReport(source, layout.kind, match.format.marketplace, match.style, rows,
                        rejects.num_rows)  # fmt: skip
    return report, lines, rejects


def _reject_file(path: Path, layout: Layout, match: HeaderMatch | None) -> FilePart:
    """Every row of a file that cannot be read as an export goes to the rejects, with why."""
    if match is None:
        code = "UNKNOWN_FORMAT"
        start = ", ".join(layout.header[:3])
        reason = f"the header ({start}, ...) is not a Lazada, Shopee or TikTok Shop export header"
        names: list[str] = []
    elif match.missing:
        code, names = "MISSING_COLUMN", match.missing
        reason = f"the file has no {' / '.join(names)} column (headers are matched by name)"
    else:
        code, names = "DUPLICATE_COLUMN", match.duplicated
        reason = f"more than one header maps to {', '.join(names)}"
    columns = match.columns if match is not None else {}
    ids = {"order_number": columns.get("order_number"),
           "order_line_id": columns.get("order_item_id")}  # fmt: skip
    probe = [raw for raw in ids.values() if raw] or layout.header[:1]
    marketplace = match.format.marketplace if match else ""
    report = FileReport(str(path), layout.kind, marketplace, match.style if match else "", 0, 0)
    try:
        text = read_columns(path, layout, probe)
    except FileError as exc:
        return replace(report, error=str(exc)), None, reject_table([])
    n = text.table.num_rows
    part = reject_part(
        str(path),
        text.rows,
        code,
        reason,
        column=", ".join(names) or None,
        order_number=text.table[ids["order_number"]] if ids["order_number"] else None,
        order_line_id=text.table[ids["order_line_id"]] if ids["order_line_id"] else None,
        marketplace=marketplace or None,
    )
    report = FileReport(
        str(path), layout.kind, marketplace, report.header, n, n, f"{code}: {reason}"
    )
    return report, None, part


def check_lines(lines: pa.Table, source: str) -> tuple[pa.Table, pa.Table | None]:
    """pandera once per file; rows that break the contract go to the rejects, not the plan
    (a safety net: the cell rules should have refused them already)."""
    try:
        OrderLines.validate(frame(lines), lazy=True)
        return lines, None
    except pa_.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        by_row = cases.dropna(subset=["index"])
        if len(by_row) < len(cases):  # a column-level failure: a bug, not bad data
            raise AssertionError(f"{source}: order lines break their contract: {exc}") from exc
    bad = np.unique(by_row["index"].astype(np.int64).to_numpy())
    first = by_row.drop_duplicates("index").set_index("index")
    taken = lines.take(pa.array(bad))
    parts = [
        reject_part(
            source,
            taken["source_row"].to_numpy()[i : i + 1],
            "SCHEMA_VIOLATION",
            f"breaks OrderLines check {first.loc[row, 'check']}",
            column=str(first.loc[row, "column"]),
            order_line_id=taken["order_line_id"][i : i + 1],
            order_number=taken["order_number"][i : i + 1],
            marketplace=taken["marketplace"][i].as_py(),
            country=taken["country"][i : i + 1],
        )
        for i, row in enumerate(bad)
    ]
    keep = np.ones(lines.num_rows, bool)
    keep[bad] = False
    return lines.filter(pa.array(keep)), reject_table(parts)
