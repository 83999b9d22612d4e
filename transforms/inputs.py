"""Find input files and read them as text-only Arrow tables (CSV, xlsx, Parquet).

Every cell comes back as a string or null: an id, phone or postcode never passes through a float
on our side (a spreadsheet may already have stored it as a number; those cells are turned back
into digits only when that is exact). Only the columns the caller names are converted, which is
what keeps a 77-column export cheap to read. Surrounding whitespace is trimmed (TikTok ends its
times with a TAB) and blank cells are nulls.

Where the header is, is found, not assumed: the first of the first rows that the caller
recognises (a Shopee CSV may start with title rows), and a row after it that only describes the
columns (TikTok's row 2) is skipped. A CSV is UTF-8 (with or without a BOM), else cp874 (Thai
Shopee exports); the caller decides whether the format allows the encoding found.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from schemas.errors import UserError

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
MAX_EXACT_FLOAT = 2**53  # beyond this a float cannot hold every integer: refuse to guess digits
CSV_BLOCK_SIZE = 16 << 20
SCAN_ROWS = 20  # rows searched for the header
SNIFF_BYTES = 1 << 16
ENCODINGS = ("utf-8", "cp874")

IsHeader = Callable[[list[str]], bool]
IsDescription = Callable[[list[str], list[str | None]], bool]


class FileError(Exception):
    """This one file cannot be read at all (the other inputs go on)."""


@dataclass(frozen=True)
class Layout:
    """Where a file's header and rows are."""

    kind: str  # "csv" | "xlsx" | "parquet"
    header: list[str]
    header_row: int  # the header's row number (1 = the first line); 0 for Parquet (no header row)
    description_row: bool  # a row right after the header describes the columns: skipped
    encoding: str = "utf-8"  # CSV only
    delimiter: str = ","  # CSV only

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1 + self.description_row


@dataclass(frozen=True)
class TextTable:
    """A file's rows as text: `table` holds the selected columns (the file's header names)."""

    table: pa.Table
    rows: np.ndarray  # source row number of each table row (int64)
    malformed: list[tuple[int, str]]  # (row number, raw text) of rows the parser had to skip


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files named by paths or globs, in the order given (a glob's matches sorted), each once.

    A pattern that matches nothing is a user error: a nightly run that silently reads nothing
    would plan nothing and look healthy.
    """
    if not inputs:
        raise UserError("no input given")
    seen: set[Path] = set()
    files: list[Path] = []
    for item in inputs:
        text = os.fspath(item)
        if glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        else:
            matches = [Path(text)] if Path(text).is_file() else []
        if not matches:
            raise UserError(f"no input file matches {text!r}")
        for path in matches:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                files.append(path)
    return files


def file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in XLSX_SUFFIXES:
        return "xlsx"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise FileError(f"unsupported file type {suffix or '(none)'!r}; use .csv, .xlsx or .parquet")


def read_export(
    path: Path,
    is_header: IsHeader,
    is_description: IsDescription,
    choose: Callable[[Layout], Sequence[str] | None],
) -> tuple[Layout, TextTable | None]:
    """(the file's layout, the columns `choose(layout)` names, as text; None when it names none).

    One pass over an xlsx sheet (calamine parses a whole sheet to give its first rows, so
    finding the header and then reading the rows would parse a big workbook twice).
    """
    try:
        kind = file_kind(path)
        if kind == "xlsx":
            return _read_xlsx(path, is_header, is_description, choose)
        layout = (
            _sniff_csv(path, is_header, is_description) if kind == "csv" else _parquet_layout(path)
        )
        columns = choose(layout)
        return layout, None if columns is None else read_columns(path, layout, columns)
    except FileError:
        raise
    except Exception as exc:  # a corrupt file of any kind: name the file, keep the run going
        raise FileError(f"cannot read: {_short(exc)}") from exc


def read_columns(path: Path, layout: Layout, columns: Sequence[str]) -> TextTable:
    """The named columns (the file's header names, all present) of every row, as text or null."""
    try:
        if layout.kind == "csv":
            return _read_csv(path, layout, list(columns))
        if layout.kind == "xlsx":
            return _read_xlsx(path, lambda h: h == layout.header, lambda h, c: layout.description_row,
                              lambda _layout: list(columns))[1]  # fmt: skip
        return _read_parquet(path, layout, list(columns))
    except FileError:
        raise
    except Exception as exc:
        raise FileError(f"cannot read: {_short(exc)}") from exc


def read_table(
    path: Path, choose: Callable[[list[str]], Sequence[str]]
) -> tuple[list[str], TextTable]:
    """A plain table with its header on row 1 (the SKU map): the header, and the columns
    `choose(header)` names as text."""
    layout, text = read_export(
        path, lambda cells: True, lambda header, cells: False, lambda lay: choose(lay.header)
    )
    assert text is not None
    return layout.header, text


# --- CSV -----------------------------------------------------------------------------------------


def _sniff_csv(path: Path, is_header: IsHeader, is_description: IsDescription) -> Layout:
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip():
        raise FileError("empty file or empty header line")
    for encoding in ENCODINGS:
        text = _decode(head, encoding, whole=len(head) < SNIFF_BYTES)
        if text is None:
            continue
        lines = text.splitlines()
        if len(head) == SNIFF_BYTES and len(lines) > 1:
            lines = lines[:-1]  # the last line may be cut
        first = next((i for i, line in enumerate(lines) if line.strip()), 0)
        for i, line in enumerate(lines[:SCAN_ROWS]):
            delimiter = max((",", ";", "\t"), key=line.count)
            cells = _split(line, delimiter)
            if is_header(cells):
                following = _split(lines[i + 1], delimiter) if i + 1 < len(lines) else []
                return Layout("csv", cells, i + 1, is_description(cells, following), encoding,
                              delimiter)  # fmt: skip
        line = lines[first] if lines else ""
        delimiter = max((",", ";", "\t"), key=line.count)
        return Layout("csv", _split(line, delimiter), first + 1, False, encoding, delimiter)
    raise FileError("not UTF-8 text (re-export the file as UTF-8 CSV)")


def _decode(head: bytes, encoding: str, *, whole: bool) -> str | None:
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        return head.decode(codec)
    except UnicodeDecodeError as exc:
        if not whole and exc.start > len(head) - 4:  # cut inside a character
            return head[: exc.start].decode(codec)
        return None


def _split(line: str, delimiter: str) -> list[str]:
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter), [])]


def _read_csv(path: Path, layout: Layout, columns: list[str]) -> TextTable:
    malformed: list[tuple[int, str]] = []

    def keep_bad_row(row: pacsv.InvalidRow) -> str:
        malformed.append((row.number or 0, row.text))
        return "skip"

    def read(careful: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=not careful,
                encoding="utf8" if layout.encoding == "utf-8" else layout.encoding,
                block_size=CSV_BLOCK_SIZE,
                skip_rows=layout.header_row - 1,
                skip_rows_after_names=int(layout.description_row),
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter,
                newlines_in_values=careful,
                invalid_row_handler=keep_bad_row,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                include_columns=columns,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    table = read(careful=False)
    if malformed:
        # Either a quoted cell holds a line break (the fast parser splits it) or a row really is
        # broken. Re-read allowing line breaks in cells, on one thread: the only way pyarrow
        # reports line numbers for the rows it skips.
        malformed.clear()
        table = read(careful=True)
    bad_rows = sorted(n for n, _ in malformed)
    rows = _numbers_around(table.num_rows, bad_rows, first=layout.first_data_row)
    return TextTable(_trim(table), rows, sorted(malformed))


def _numbers_around(n_good: int, taken: list[int], first: int) -> np.ndarray:
    """Row numbers first, first+1, ... for the good rows, skipping the numbers of skipped rows."""
    numbers = np.arange(first, first + n_good + len(taken), dtype=np.int64)
    if taken:
        numbers = numbers[~np.isin(numbers, np.asarray(taken, np.int64))]
    return numbers[:n_good]


# --- xlsx ----------------------------------------------------------------------------------------


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list]]:
    """The first sheet's rows as (spreadsheet row number, cells), streamed, header first."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        if not workbook.sheet_names:
            raise FileError("the workbook has no sheet")
        sheet = workbook.get_sheet_by_index(0)
        first_row = (sheet.start or (0, 0))[0] + 1
        if (sheet.start or (0, 0))[1] != 0:
            raise FileError("the first sheet does not start in column A")
        yield from enumerate(sheet.iter_rows(), start=first_row)
    finally:
        workbook.close()


def _read_xlsx(
    path: Path,
    is_header: IsHeader,
    is_description: IsDescription,
    choose: Callable[[Layout], Sequence[str] | None],
) -> tuple[Layout, TextTable | None]:
    """The first sheet (Lazada names it `sheet1`), cells as text: the header is the first of the
    first rows `is_header` accepts (else the first row); then the columns `choose` names.

    Rows are streamed and only the wanted cells are kept, so a big sheet costs the memory of
    the columns used, not of every cell.
    """
    rows = _xlsx_rows(path)
    seen: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if all(v == "" for v in cells):
            continue
        seen.append((number, [(_cell_text(v) or "").strip() for v in cells]))
        if is_header(seen[-1][1]) or len(seen) == SCAN_ROWS:
            break
    if not seen:
        raise FileError("the first sheet is empty")
    at = next((i for i, (_, cells) in enumerate(seen) if is_header(cells)), 0)
    header_number, header = seen[at]
    pending = iter(seen[at + 1 :])
    following = next(pending, None) or next(rows, None)
    described = following is not None and is_description(
        header, [_cell_text(v) for v in following[1]]
    )
    layout = Layout("xlsx", header, header_number, described)
    selected = choose(layout)
    if selected is None:
        return layout, None
    columns = list(selected)
    index = {name: i for i, name in reversed(list(enumerate(header)))}
    wanted = [index[name] for name in columns]
    values: list[list[str | None]] = [[] for _ in columns]
    numbers: list[int] = []
    remaining = [] if following is None or described else [following]
    for number, cells in (*remaining, *pending, *rows):
        if all(v == "" for v in cells):  # a blank row, as a CSV parser skips blank lines
            continue
        numbers.append(number)
        for out, i in zip(values, wanted, strict=True):
            out.append(_cell_text(cells[i]) if i < len(cells) else None)
    table = pa.table(
        {name: pa.array(v, pa.string()) for name, v in zip(columns, values, strict=True)}
    )
    return layout, TextTable(_trim(table), np.asarray(numbers, np.int64), [])


def _cell_text(value: object) -> str | None:
    """One spreadsheet cell as the text a person typed, as far as that can be known exactly."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < MAX_EXACT_FLOAT:
            return str(int(value))
        return repr(value)  # shortest round-trip text; ids in it will fail BAD_ID, loudly
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


# --- Parquet -------------------------------------------------------------------------------------


def _parquet_layout(path: Path) -> Layout:
    return Layout("parquet", list(pq.read_schema(path).names), 0, False)


def _read_parquet(path: Path, layout: Layout, columns: list[str]) -> TextTable:
    table = pq.read_table(path, columns=columns)
    text = pa.table({name: _as_text(table[name]) for name in columns})
    numbers = np.arange(1, table.num_rows + 1, dtype=np.int64)  # no header row: record number
    return TextTable(_trim(text), numbers, [])


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Any Parquet column as text, exactly: integral floats become digits, others their repr."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_string(kind):
        return column
    if pa.types.is_large_string(kind):
        return column.cast(pa.string())
    if pa.types.is_floating(kind):
        values = column.to_numpy(zero_copy_only=False)
        finite = np.isfinite(values)
        exact = finite & (np.abs(np.where(finite, values, 0)) < MAX_EXACT_FLOAT)
        exact &= np.mod(np.where(exact, values, 0), 1) == 0
        if exact[finite].all():
            return pc.cast(column.cast(pa.int64(), safe=False), pa.string())
        return pa.chunked_array([pa.array(_float_texts(values), pa.string())])
    if pa.types.is_timestamp(kind):
        return pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
    return pc.cast(column, pa.string())


def _float_texts(values: np.ndarray) -> list[str | None]:
    return [None if np.isnan(v) else _cell_text(float(v)) for v in values]


# --- shared --------------------------------------------------------------------------------------


def _trim(table: pa.Table) -> pa.Table:
    """Surrounding whitespace trimmed and blank cells as nulls (one rule for every format)."""
    columns = {}
    for name in table.column_names:
        trimmed = pc.utf8_trim_whitespace(table[name])
        blank = pc.equal(trimmed, "")
        if pc.any(blank).as_py():  # CSV blanks are nulls already: only space-only cells
            trimmed = pc.if_else(blank, pa.scalar(None, pa.string()), trimmed)
        columns[name] = trimmed
    return pa.table(columns, schema=pa.schema([(n, pa.string()) for n in table.column_names]))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
