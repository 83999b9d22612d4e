"""Export tables written the way marketplaces and spreadsheets write them, quirks included.

CSV: quotes only where a value needs them, any encoding (utf-8, utf-8-sig, cp874), rows above
the header (Shopee title rows) or right after it (TikTok's description row); the body is built
with Arrow kernels, so a million rows take seconds. xlsx (small files): chosen columns stored as
spreadsheet numbers, as Excel does with phones and prices. Parquet as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthetic.orders import join

STEP = 200_000  # rows per CSV chunk


def write_csv(
    table: pa.Table,
    path: Path,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\n",
    before: Iterable[Sequence[str]] = (),
    after: Sequence[str] | None = None,
) -> None:
    """`before`: rows above the header; `after`: a row right after it."""

    def line(cells: Sequence[str | None]) -> str:
        return delimiter.join(_quote(c or "", delimiter) for c in cells) + newline

    nulls = pc.JoinOptions(null_handling="replace", null_replacement="")
    codec = encoding if encoding != "utf-8-sig" else "utf-8"
    with open(path, "wb") as out:
        if encoding == "utf-8-sig":
            out.write("\ufeff".encode())
        head = [*before, table.column_names, *([after] if after is not None else [])]
        out.write("".join(line(cells) for cells in head).encode(codec))
        for start in range(0, table.num_rows, STEP):
            part = table.slice(start, STEP)
            fields = [
                _quote_column(part[name].combine_chunks(), delimiter) for name in part.column_names
            ]
            rows = pc.binary_join_element_wise(*fields, delimiter, options=nulls)
            body = pc.binary_join_element_wise(rows, "", newline)
            data = _body(body)
            out.write(data if codec == "utf-8" else bytes(data).decode().encode(codec))


def _quote(value: str, delimiter: str) -> str:
    needs = any(c in value for c in f'"\n\r{delimiter}')
    return '"' + value.replace('"', '""') + '"' if needs else value


def _quote_column(values: pa.Array, delimiter: str) -> pa.Array:
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    needs = pc.match_substring_regex(values, f'["\\n\\r{delimiter}]')
    quoted = join('"', pc.replace_substring(values, '"', '""'), '"')
    return pc.if_else(needs, quoted, values)


def _body(rows: pa.Array) -> memoryview:
    """The bytes of a string array's values, back to back (its data buffer)."""
    offsets = np.frombuffer(rows.buffers()[1], np.int32, len(rows) + 1, rows.offset * 4)
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]]


def write_xlsx(
    table: pa.Table,
    path: Path,
    *,
    numbers: Mapping[str, int] | None = None,
    before: Iterable[Sequence[str]] = (),
    after: Sequence[str] | None = None,
    sheet: str = "sheet1",
    extra_sheet: bool = False,
) -> None:
    """`numbers`: column -> n: the column's cells on data rows 1, 1+n, 1+2n, ... are stored as
    spreadsheet numbers (Excel does it to phones, prices and ids typed into a sheet).
    `extra_sheet`: a second sheet after the export's (the reader takes the first)."""
    import xlsxwriter

    every = dict(numbers or {})
    book = xlsxwriter.Workbook(path)
    ws = book.add_worksheet(sheet)
    r = 0
    for cells in [*before, table.column_names, *([after] if after is not None else [])]:
        ws.write_row(r, 0, [c or "" for c in cells])
        r += 1
    for i, row in enumerate(table.to_pylist(), start=1):
        for c, name in enumerate(table.column_names):
            value = row[name]
            if value and name in every and (i - 1) % every[name] == 0:
                ws.write_number(r, c, float(value))
            elif value:
                ws.write_string(r, c, value)
        r += 1
    if extra_sheet:
        book.add_worksheet("notes").write(0, 0, "not the export")
    book.close()


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path)
