"""Find input files and read them as text-only Arrow tables (CSV, xlsx, Parquet).

Every cell comes back as a string or null: an id, phone or postcode never passes through a float
on our side (a spreadsheet may already have stored it as a number; those cells are turned back
into digits only when that is exact). Only the columns the caller names are converted, which is
what keeps a 77-column export cheap to read.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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
CSV_BLOCK_SIZE = 16 << 20  # few large chunks: later takes and sorts are faster on them


class FileError(Exception):
    """This one file cannot be read at all (the other inputs go on)."""


@dataclass(frozen=True)
class TextTable:
    """A file's rows as text: `table` holds the selected columns (raw header names)."""

    table: pa.Table
    rows: np.ndarray  # source row number of each table row (int64)
    malformed: list[tuple[int, str]]  # (row number, raw text) of rows the parser had to skip
    kind: str  # "csv" | "xlsx" | "parquet"


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


def read_header(path: Path) -> list[str]:
    """The header names of a file, without reading its rows."""
    kind = file_kind(path)
    try:
        if kind == "csv":
            return _csv_header(path)[0]
        if kind == "parquet":
            return list(pq.read_schema(path).names)
        return _xlsx_header(path)
    except FileError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise FileError(f"cannot read: {_short(exc)}") from exc
    except Exception as exc:  # calamine raises its own types for corrupt workbooks
        raise FileError(f"cannot read: {_short(exc)}") from exc


def read_selected(
    path: Path, select: Callable[[list[str]], Sequence[str] | None]
) -> tuple[list[str], TextTable | None]:
    """(the header, the columns `select(header)` names as text; None when it names none).

    One pass over an xlsx sheet (calamine parses a whole sheet to give its first row, so reading
    the header and then the rows would parse a big workbook twice); CSV and Parquet headers are
    cheap to read first.
    """
    if file_kind(path) != "xlsx":
        header = read_header(path)
        columns = select(header)
        return header, None if columns is None else read_text(path, columns)
    chosen: list[list[str]] = []

    def pick(header: list[str]) -> Sequence[str] | None:
        chosen.append(header)
        return select(header)

    try:
        text = _read_xlsx(path, pick)
    except FileError:
        raise
    except Exception as exc:  # calamine raises its own types for corrupt workbooks
        raise FileError(f"cannot read: {_short(exc)}") from exc
    return chosen[0], text


def read_text(path: Path, columns: Sequence[str]) -> TextTable:
    """The named columns (raw header names, all present) of every row, as text or null."""
    kind = file_kind(path)
    try:
        if kind == "csv":
            return _read_csv(path, list(columns))
        if kind == "xlsx":
            text = _read_xlsx(path, lambda _header: list(columns))
            assert text is not None
            return text
        return _read_parquet(path, list(columns))
    except FileError:
        raise
    except Exception as exc:  # a corrupt file of any kind: name the file, keep the run going
        raise FileError(f"cannot read: {_short(exc)}") from exc


# --- CSV -----------------------------------------------------------------------------------------


def _csv_header(path: Path) -> tuple[list[str], str]:
    """(names, delimiter). The delimiter is the most frequent of , ; TAB in the header line."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if len(head) == 1 << 16 and exc.start > len(head) - 4:  # cut inside a character
            text = head[: exc.start].decode("utf-8-sig")
        else:
            raise FileError("not UTF-8 text (re-export the file as UTF-8 CSV)") from exc
    line = text.split("\n", 1)[0].rstrip("\r")
    if not line.strip():
        raise FileError("empty file or empty header line")
    delimiter = max((",", ";", "\t"), key=line.count)
    return [name.strip() for name in next(csv.reader([line], delimiter=delimiter))], delimiter


def _read_csv(path: Path, columns: list[str]) -> TextTable:
    _, delimiter = _csv_header(path)
    malformed: list[tuple[int, str]] = []

    def keep_bad_row(row: pacsv.InvalidRow) -> str:
        malformed.append((row.number or 0, row.text))
        return "skip"

    def read(careful: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=not careful, encoding="utf8", block_size=CSV_BLOCK_SIZE
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=careful, invalid_row_handler=keep_bad_row
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
    rows = _numbers_around(table.num_rows, bad_rows, first=2)  # row 1 is the header
    return TextTable(_strip_all(table), rows, sorted(malformed), "csv")


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


def _xlsx_header(path: Path) -> list[str]:
    for _, cells in _xlsx_rows(path):
        return [(_cell_text(v) or "").strip() for v in cells]
    raise FileError("the first sheet is empty")


def _read_xlsx(path: Path, select: Callable[[list[str]], Sequence[str] | None]) -> TextTable | None:
    """The first sheet (Lazada names it `sheet1`), header on its first row, cells as text: the
    columns `select(header)` names (None when it names none).

    Rows are streamed and only the wanted cells are kept, so a big sheet costs the memory of
    the columns used, not of every cell.
    """
    rows = _xlsx_rows(path)
    try:
        _, first = next(rows)
    except StopIteration:
        raise FileError("the first sheet is empty") from None
    header = [(_cell_text(v) or "").strip() for v in first]
    selected = select(header)
    if selected is None:
        return None
    columns = list(selected)
    index = {name: i for i, name in reversed(list(enumerate(header)))}
    wanted = [index[name] for name in columns]
    values: list[list[str | None]] = [[] for _ in columns]
    numbers: list[int] = []
    for number, cells in rows:
        if all(v == "" for v in cells):  # a blank row, as a CSV parser skips blank lines
            continue
        numbers.append(number)
        for out, i in zip(values, wanted, strict=True):
            out.append(_cell_text(cells[i]) if i < len(cells) else None)
    table = pa.table(
        {name: pa.array(v, pa.string()) for name, v in zip(columns, values, strict=True)}
    )
    return TextTable(_strip_all(table), np.asarray(numbers, np.int64), [], "xlsx")


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


def _read_parquet(path: Path, columns: list[str]) -> TextTable:
    table = pq.read_table(path, columns=columns)
    text = pa.table({name: _as_text(table[name]) for name in columns})
    numbers = np.arange(1, table.num_rows + 1, dtype=np.int64)  # no header row: record number
    return TextTable(_strip_all(text), numbers, [], "parquet")


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


def _strip_all(table: pa.Table) -> pa.Table:
    """Trim surrounding whitespace and turn blank cells into nulls (one rule for every format).

    A column is copied only when trimming changes it: most exports have nothing to trim. Big
    tables are done two columns at a time (Arrow kernels release the GIL).
    """
    workers = 2 if table.num_rows >= 100_000 else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        columns = list(pool.map(_strip, (table[name] for name in table.column_names)))
    return pa.table(columns, schema=pa.schema([(n, pa.string()) for n in table.column_names]))


def _strip(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """utf8_trim_whitespace, then "" -> null; the trim copy is made only when it changes a cell."""
    may_trim, has_empty = _scan_ends(col)
    if may_trim:
        trimmed = pc.utf8_trim_whitespace(col)
        if pc.any(pc.not_equal(pc.binary_length(trimmed), pc.binary_length(col))).as_py():
            col, has_empty = trimmed, True  # a cell of spaces is now empty
        del trimmed
    if has_empty and pc.any(pc.equal(pc.binary_length(col), 0)).as_py():
        col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
    return col


# The characters utf8_trim_whitespace removes (tests check this against every code point):
# ASCII \t \n \v \f \r \x1c-\x1f and space, and U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
# U+2029, U+202F, U+205F, U+3000, whose UTF-8 forms start with C2, E1, E2 or E3 and end with
# one of the continuation bytes below. A cell is suspect when it starts or ends with such a byte.
_WS_ASCII = np.zeros(256, bool)
_WS_ASCII[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = True
_WS_FIRST = _WS_ASCII.copy()
_WS_FIRST[[0xC2, 0xE1, 0xE2, 0xE3]] = True
_WS_LAST = _WS_ASCII.copy()
_WS_LAST[[*range(0x80, 0x8B), 0x85, 0x9F, 0xA0, 0xA8, 0xA9, 0xAF]] = True


def _scan_ends(col: pa.ChunkedArray) -> tuple[bool, bool]:
    """(some cell may start or end with whitespace, some cell is empty), from the first and
    last byte of each cell read straight from the Arrow buffers: no copy of the column."""
    may_trim = has_empty = False
    for chunk in col.chunks:
        n = len(chunk)
        if n == 0 or chunk.null_count == n:
            continue
        if chunk.type != pa.string():  # pragma: no cover - the readers yield pa.string() only
            return True, True
        buffers = chunk.buffers()
        offsets = np.frombuffer(buffers[1], np.int32)[chunk.offset : chunk.offset + n + 1]
        begin, end = offsets[:-1], offsets[1:]
        filled = end > begin
        if chunk.null_count:
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            has_empty = has_empty or bool((valid & ~filled).any())
            filled &= valid
        else:
            has_empty = has_empty or not filled.all()
        if may_trim or buffers[2] is None:
            continue
        data = np.frombuffer(buffers[2], np.uint8)
        if filled.all():
            may_trim = bool(_WS_FIRST[data[begin]].any() or _WS_LAST[data[end - 1]].any())
        else:
            first, last = data[begin[filled]], data[end[filled] - 1]
            may_trim = bool(_WS_FIRST[first].any() or _WS_LAST[last].any())
        if may_trim and has_empty:
            break
    return may_trim, has_empty


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
