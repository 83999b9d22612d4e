"""Lazada Seller Center exports -> canonical order lines, with a reason for every rejected row.

Both header styles are accepted and matched by name: the current camelCase one (`orderItemId`,
`sellerSku`, ...) and the legacy display names (`Order Item Id`, `Seller SKU`, ...). Each row
is checked by the vectorised rules below in a fixed order; the first rule a row breaks is its
reason. Lazada lists one row per unit, so every line has quantity 1 and grouping sums them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.ingest import COUNTRIES, STATUSES, LazadaExport
from transforms.frames import flat
from transforms.pii import PII_COLUMNS, mask_pii

MARKETPLACE = "lazada"
# Legacy display names whose squashed form differs from the camelCase name.
LEGACY_ALIASES = {
    "createdat": "createTime",
    "updatedat": "updateTime",
    "shippingphonenumber": "shippingPhone",
    "shippingphonenumber2": "shippingPhone2",
    "itemid": "orderItemId",  # the oldest variant
}
COUNTRY_NAMES = {
    "malaysia": "MY",
    "singapore": "SG",
    "philippines": "PH",
    "thailand": "TH",
    "vietnam": "VN",
    "viet nam": "VN",
    "indonesia": "ID",
}
# (strptime format, regex giving the day of month) - the regex catches "31 Feb", which strptime
# silently rolls over into March.
DATE_FORMATS = (
    ("%d %b %Y %H:%M", r"^(?P<d>\d{1,2}) "),
    ("%d %b %Y %H:%M:%S", r"^(?P<d>\d{1,2}) "),
    ("%Y-%m-%d %H:%M:%S", r"^\d{4}-\d{2}-(?P<d>\d{2})"),
    ("%Y-%m-%d %H:%M", r"^\d{4}-\d{2}-(?P<d>\d{2})"),
    ("%Y-%m-%dT%H:%M:%S", r"^\d{4}-\d{2}-(?P<d>\d{2})"),
)
YEARS = (2000, 2100)
MAX_PRICE_DIGITS = 12  # 999,999,999,999.99: far above any order line in any currency
MAX_LENGTH = {  # longer than any real value of the column: refuse rather than carry it around
    "orderItemId": 40,
    "orderNumber": 40,
    "sellerSku": 200,
    "lazadaSku": 120,
    "createTime": 40,
    "updateTime": 40,
    "status": 40,
    "paidPrice": 40,
    "unitPrice": 40,
    "itemName": 1000,
    "variation": 500,
    "shippingName": 200,
    "shippingAddress": 500,
    "shippingAddress2": 500,
    "shippingAddress3": 200,
    "shippingAddress4": 200,
    "shippingAddress5": 200,
    "shippingPhone": 40,
    "shippingPhone2": 40,
    "shippingCity": 200,
    "shippingPostCode": 20,
    "shippingCountry": 100,
}
TEXT_COLUMNS = (  # free text a spreadsheet could evaluate
    "sellerSku",
    "itemName",
    "variation",
    "shippingName",
    "shippingAddress",
    "shippingAddress2",
    "shippingAddress3",
    "shippingAddress4",
    "shippingAddress5",
    "shippingCity",
    "shippingPostCode",
    "shippingCountry",
)
ID_FROM_FLOAT = r"^(\d{1,15})\.0+$"  # a float rendering of an id that is still exact
_STR_NULL = pa.scalar(None, pa.string())
MAX_REJECT_VALUE = 200  # characters of a bad cell kept in the rejects


@dataclass(frozen=True)
class HeaderMatch:
    """How a file's headers map onto `LazadaExport` columns."""

    columns: dict[str, str]  # canonical name -> raw header name
    style: str  # "current" | "legacy"
    missing: list[str]  # required canonical columns not found
    duplicated: list[str]  # canonical columns found under more than one header


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _schema_columns() -> tuple[list[str], list[str]]:
    columns = LazadaExport.to_schema().columns
    return [n for n, c in columns.items() if c.required], [n for n in columns]


REQUIRED, KNOWN = _schema_columns()
_BY_SQUASHED = {_squash(name): name for name in KNOWN}


def match_header(header: Sequence[str]) -> HeaderMatch:
    """Match raw header names to canonical columns, by name (any case, spacing, punctuation)."""
    direct: dict[str, list[str]] = {}
    alias: dict[str, list[str]] = {}
    legacy = False
    for raw in header:
        key = _squash(raw)
        if key in _BY_SQUASHED:
            direct.setdefault(_BY_SQUASHED[key], []).append(raw)
            legacy |= raw != _BY_SQUASHED[key]
        elif key in LEGACY_ALIASES:
            alias.setdefault(LEGACY_ALIASES[key], []).append(raw)
            legacy = True
    found = {**{k: v for k, v in alias.items() if k not in direct}, **direct}
    missing = [name for name in REQUIRED if name not in found]
    if "lazadaSku" not in found and "shippingCountry" not in found:
        missing.append("lazadaSku or shippingCountry")
    return HeaderMatch(
        columns={name: raws[0] for name, raws in found.items()},
        style="legacy" if legacy else "current",
        missing=missing,
        duplicated=sorted(name for name, raws in found.items() if len(raws) > 1),
    )


@dataclass
class _Failure:
    code: str
    column: str | None
    reason: str
    bad: pa.Array  # boolean per row, no nulls


class _Rules:
    """Collects failures in precedence order; a row's reason is the first rule it fails."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.failures: list[_Failure] = []

    def add(self, code: str, column: str | None, reason: str, bad: pa.Array) -> None:
        mask = flat(pc.fill_null(bad, False))
        if pc.any(mask).as_py():
            self.failures.append(_Failure(code, column, reason, mask))

    def assign(self) -> tuple[pa.Array | None, list[tuple[_Failure, np.ndarray]]]:
        """(good mask, or None when every row is good; [(failure, row indices it explains)])."""
        taken: pa.Array | None = None
        out = []
        for failure in self.failures:
            newly = failure.bad if taken is None else pc.and_not(failure.bad, taken)
            idx = pc.indices_nonzero(newly).to_numpy()
            if len(idx):
                out.append((failure, idx))
                taken = newly if taken is None else pc.or_(taken, newly)
        return (None if taken is None else pc.invert(taken)), out


def _any(values: pa.Array | pa.ChunkedArray) -> bool:
    return bool(pc.any(pc.fill_null(values, False)).as_py())


def _per_unique(values: pa.ChunkedArray | pa.Array, fn) -> pa.Array:
    """Apply `fn` to the distinct values only: dates, statuses and country names repeat a lot.

    When `fn` changes no distinct value, the input comes back as is (no copy).
    """
    if not len(values):
        return fn(pa.array([], pa.string()))
    encoded = flat(pc.dictionary_encode(values))
    mapped = fn(encoded.dictionary)
    if mapped.type == encoded.dictionary.type:
        same = pc.fill_null(pc.equal(mapped, encoded.dictionary), False)
        if pc.all(same).as_py() is not False and mapped.null_count == 0:
            return values
    return pc.take(mapped, encoded.indices)


def normalise(
    table: pa.Table,
    rows: np.ndarray,
    source_file: str,
    malformed: Iterable[tuple[int, str]] = (),
    headers: dict[str, str] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """A text table with canonical column names -> (order lines, rejects), both Arrow tables.

    `rows` gives each table row's number in the source file. Rows the CSV parser had to skip
    (`malformed`) are rejected here too, so that the file's row count is conserved. `headers`
    (canonical -> the file's own header) names columns in rejects as the file names them.
    """
    n = table.num_rows
    present = set(table.column_names)

    def col(name: str) -> pa.ChunkedArray:
        if name in present:
            return table[name]
        return pa.chunked_array([pa.nulls(n, pa.string())])

    rules = _Rules(n)
    for name, limit in MAX_LENGTH.items():
        # bytes >= characters: only a column with a long byte string needs counting characters
        if name in present and _any(pc.greater(pc.binary_length(col(name)), limit)):
            too_long = pc.greater(pc.utf8_length(col(name)), limit)
            rules.add(
                "FIELD_TOO_LONG", name, f"{{col}} is longer than {limit} characters", too_long
            )
    for name in TEXT_COLUMNS:
        if name in present:
            rules.add(
                "FORMULA_INJECTION",
                name,
                "{col} starts with =, +, - or @ (spreadsheet formula)",
                _starts_with_any(col(name), "=+-@"),
            )
    for name in ("shippingPhone", "shippingPhone2"):
        if name in present:
            phone = col(name)
            bad = _starts_with_any(phone, "=@-")
            plus = pc.starts_with(phone, "+")
            if _any(plus):  # "+60 12..." is a phone number, "+A1" is a formula
                bad = pc.or_(bad, pc.and_(plus, pc.invert(_matches(phone, r"^\+[0-9 (]"))))
            rules.add("FORMULA_INJECTION", name, "{col} starts like a spreadsheet formula", bad)
    for name in REQUIRED:
        rules.add("MISSING_VALUE", name, "{col} is empty", pc.is_null(col(name)))

    order_line_id = _repair_id(col("orderItemId"))
    order_number = _repair_id(col("orderNumber"))
    for name, ids in (("orderItemId", order_line_id), ("orderNumber", order_number)):
        digits = pc.and_(pc.ascii_is_decimal(ids), pc.less_equal(pc.binary_length(ids), 20))
        not_digits = pc.and_(pc.is_valid(ids), pc.invert(pc.fill_null(digits, False)))
        if _any(not_digits):
            rules.add(
                "BAD_ID",
                name,
                "{col} is in scientific notation: the file went through a spreadsheet as a "
                "number; re-export it with ids as text",
                _matches(ids, r"^\d(\.\d+)?[eE][+-]?\d+$"),
            )
            rules.add("BAD_ID", name, "{col} is not a digit string", not_digits)

    status = _per_unique(col("status"), normalise_status)
    rules.add(
        "UNKNOWN_STATUS",
        "status",
        "{col} is not a known Lazada item status",
        pc.and_(pc.is_valid(status), pc.invert(pc.is_in(status, value_set=_STATUS_SET))),
    )

    created, bad_created = parse_local_time(col("createTime"))
    rules.add("BAD_DATE", "createTime", _DATE_REASON, bad_created)
    updated, bad_updated = parse_local_time(col("updateTime"))
    rules.add("BAD_DATE", "updateTime", _DATE_REASON, bad_updated)

    paid, bad_paid = parse_money(col("paidPrice"))
    rules.add("BAD_PRICE", "paidPrice", _PRICE_REASON, bad_paid)
    unit, bad_unit = parse_money(col("unitPrice"))
    rules.add("BAD_PRICE", "unitPrice", _PRICE_REASON, bad_unit)

    sku_country, platform_sku_id = _parse_lazada_sku(col("lazadaSku"))
    name_country = _per_unique(col("shippingCountry"), _country_from_name)
    country = pc.coalesce(sku_country, name_country)
    rules.add(
        "UNKNOWN_COUNTRY",
        "lazadaSku" if "lazadaSku" in present else "shippingCountry",
        "the shop country is not in lazadaSku (…_MY-…) nor shippingCountry "
        f"(one of {', '.join(COUNTRIES)})",
        pc.is_null(country),
    )
    rules.add(
        "COUNTRY_MISMATCH",
        "shippingCountry",
        "shippingCountry is not the country in lazadaSku",
        pc.not_equal(sku_country, name_country),
    )

    good, explained = rules.assign()
    rejects = _rejects(
        explained, table, rows, source_file, order_line_id, order_number, malformed, headers or {}
    )
    lines = _lines(
        n=n,
        col=col,
        country=country,
        order_number=order_number,
        order_line_id=order_line_id,
        platform_sku_id=platform_sku_id,
        paid=paid,
        unit=unit,
        created=created,
        updated=updated,
        status=status,
        rows=rows,
        source_file=source_file,
    )
    if good is not None:
        lines = lines.filter(good)
    return lines, rejects


_PRICE_REASON = "{col} is not an amount like 42.90 (>= 0, at most 2 decimals, below 10^12)"
_DATE_REASON = "{col} is not a date like 14 Mar 2026 09:12"
_STATUS_SET = pa.array(sorted(STATUSES))


def _starts_with_any(values: pa.ChunkedArray | pa.Array, chars: str) -> pa.ChunkedArray:
    """True where a cell starts with one of the ASCII `chars` (null cells: False).

    Reads the first byte of each cell straight from the Arrow buffers (one numpy gather per
    chunk instead of a string kernel per character): an ASCII character is one UTF-8 byte.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    wanted = np.zeros(256, bool)
    wanted[[ord(ch) for ch in chars]] = True
    return pa.chunked_array([_first_byte_in(chunk, wanted) for chunk in chunks], pa.bool_())


def _first_byte_in(chunk: pa.Array, wanted: np.ndarray) -> pa.Array:
    n = len(chunk)
    if n == 0 or chunk.null_count == n:
        return pa.array(np.zeros(n, bool))
    if chunk.type != pa.string():  # pragma: no cover - read_text yields pa.string() only
        chunk = chunk.cast(pa.string())
    buffers = chunk.buffers()
    offsets = np.frombuffer(buffers[1], np.int32)[chunk.offset : chunk.offset + n + 1]
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    starts = offsets[:-1]
    non_empty = offsets[1:] > starts
    first = np.zeros(n, np.uint8)
    first[non_empty] = data[starts[non_empty]]
    hit = non_empty & wanted[first]
    if chunk.null_count:
        hit &= chunk.is_valid().to_numpy(zero_copy_only=False)
    return pa.array(hit)


def _matches(values: pa.ChunkedArray, pattern: str) -> pa.ChunkedArray:
    return pc.match_substring_regex(values, pattern)


def normalise_status(status: pa.Array) -> pa.Array:
    """'Ready to ship', 'Package Returned', 'Lost by 3PL' -> ready_to_ship, package_returned, ..."""
    lowered = pc.utf8_lower(status)
    return pc.replace_substring_regex(lowered, r"[\s\-]+", "_")


def parse_local_time(text: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """(naive timestamp[s] of the shop-local wall clock, bad mask). Null text is not bad.

    Parsed once per distinct value: an export's times repeat (minute resolution).
    """
    parsed = _per_unique(text, _parse_times)
    return parsed, pc.and_(pc.is_valid(text), pc.is_null(parsed))


def _parse_times(text: pa.Array) -> pa.Array:
    none = pa.scalar(None, pa.timestamp("s"))
    result = pa.nulls(len(text), pa.timestamp("s"))
    for fmt, day_regex in DATE_FORMATS:
        todo = pc.and_(pc.is_valid(text), pc.is_null(result))
        if not _any(todo):
            break
        parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
        day = pc.struct_field(pc.extract_regex(text, day_regex), [0])
        same_day = pc.equal(pc.day(parsed), pc.cast(day, pa.int64()))
        result = pc.coalesce(result, pc.if_else(same_day, parsed, none))
    years = pc.year(result)
    in_range = pc.and_(pc.greater_equal(years, YEARS[0]), pc.less(years, YEARS[1]))
    return pc.if_else(in_range, result, none)


def parse_money(text: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """(decimal128(18, 2), bad mask). Null text is not bad; "42.900" is 42.90, "42.905" is bad."""
    if not len(text):
        return pa.array([], pa.decimal128(18, 2)), pa.array([], pa.bool_())
    # Prices repeat (a few thousand distinct values per million rows): check each once.
    encoded = flat(pc.dictionary_encode(text))
    distinct = encoded.dictionary
    pattern = rf"^\d{{1,{MAX_PRICE_DIGITS}}}(\.\d{{0,2}}0*)?$"
    ok = pc.match_substring_regex(distinct, pattern)
    value = pc.take(
        pc.cast(pc.if_else(ok, distinct, _STR_NULL), pa.decimal128(18, 2)), encoded.indices
    )
    bad = pc.and_(pc.is_valid(encoded.indices), pc.invert(pc.take(ok, encoded.indices)))
    return value, pc.fill_null(bad, False)


def _repair_id(ids: pa.ChunkedArray) -> pa.ChunkedArray:
    """ "212345678911234.0" (an exact float rendering) -> "212345678911234"."""
    if not _any(pc.match_substring(ids, ".")):
        return ids
    return pc.replace_substring_regex(ids, ID_FROM_FLOAT, r"\1")


def _parse_lazada_sku(lazada_sku: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(country code or null, platform SKU id or null) from `3069252927_MY-15298395971`.

    Older forms: `232611001_SGAMZ-356805001`, legacy `BE494HLAAUE3SGAMZ-39898` (no SKU id).
    """
    if not len(lazada_sku):
        return pa.array([], pa.string()), pa.array([], pa.string())
    # One product's SKU repeats on every unit sold: parse each distinct value once.
    encoded = flat(pc.dictionary_encode(lazada_sku))
    parts = pc.extract_regex(
        encoded.dictionary, r"(?:_(?P<a>[A-Z]{2})(?:AMZ)?|(?P<b>[A-Z]{2})AMZ)-(?P<id>\d+)$"
    )
    a = pc.struct_field(parts, [0])
    b = pc.struct_field(parts, [1])
    code = pc.if_else(pc.equal(a, ""), b, a)
    code = pc.if_else(pc.is_in(code, value_set=pa.array(list(COUNTRIES))), code, _STR_NULL)
    sku_id = pc.if_else(pc.equal(a, ""), _STR_NULL, pc.struct_field(parts, [2]))
    return pc.take(code, encoded.indices), pc.take(sku_id, encoded.indices)


def _country_from_name(name: pa.Array) -> pa.Array:
    names = pa.array(list(COUNTRY_NAMES))
    codes = pa.array(list(COUNTRY_NAMES.values()))
    upper = pc.utf8_upper(name)
    direct = pc.if_else(pc.is_in(upper, value_set=pa.array(list(COUNTRIES))), upper, _STR_NULL)
    return pc.coalesce(pc.take(codes, pc.index_in(pc.utf8_lower(name), value_set=names)), direct)


def _lines(*, n, col, country, order_number, order_line_id, platform_sku_id, paid, unit,
           created, updated, status, rows, source_file) -> pa.Table:  # fmt: skip
    """Every row as a canonical order line (the bad ones are filtered out by the caller)."""
    codes = list(COUNTRIES)
    idx = pc.index_in(country, value_set=pa.array(codes))
    currency = pc.take(pa.array([COUNTRIES[c][0] for c in codes]), idx)
    offset_s = pc.take(pa.array([COUNTRIES[c][1] * 3600 for c in codes], pa.int64()), idx)
    receiver = build_receiver(col, country, idx)
    return pa.table(
        {
            "marketplace": _const(MARKETPLACE, n),
            "country": country,
            "order_number": order_number,
            "order_line_id": order_line_id,
            "seller_sku": col("sellerSku"),
            "platform_sku_id": platform_sku_id,
            "quantity": pa.array(np.ones(n, np.int64)),
            "unit_price": unit,
            "paid_price": paid,
            "currency": currency,
            "ordered_at": _to_utc(created, offset_s),
            "ordered_at_local": pc.cast(created, pa.timestamp("us")),
            "updated_at": _to_utc(updated, offset_s),
            "status": status,
            "item_name": col("itemName"),
            "variation": col("variation"),
            **receiver,
            "source_file": _const(source_file, n),
            "source_row": pa.array(rows, pa.int64()),
        }
    )


def _to_utc(local: pa.Array, offset_s: pa.Array) -> pa.Array:
    seconds = pc.subtract(pc.cast(local, pa.int64()), offset_s)
    return pc.cast(pc.multiply(seconds, 1_000_000), pa.timestamp("us", tz="UTC"))


def _const(value: str, n: int) -> pa.Array:
    """`value` repeated n times, built straight from buffers (no per-row work)."""
    data = value.encode()
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    kind = pa.large_string() if offsets[-1] >= 2**31 else pa.string()
    offsets = offsets.astype(np.int64 if kind == pa.large_string() else np.int32)
    array = pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)])
    return array.cast(pa.string()) if kind != pa.string() else array


THAI_BILINGUAL = r"^[^/]*[\x{0E00}-\x{0E7F}][^/]*/\s*(?P<en>\S.*)$"


def build_receiver(col, country: pa.Array, country_idx: pa.Array) -> dict[str, pa.Array]:
    """Receiver fields from the shipping columns, country-aware.

    Address lines 3/4/5 are state/province, city/district and area/sub-district (MY, PH, TH,
    VN, ID); a Singapore address without a city gets "Singapore". Thai parts are bilingual
    (`บางปะกง/ Bang Pakong`): the English half is kept, which the supplier's back office and a
    cross-border carrier can read. Postcodes get back the leading zeros a spreadsheet dropped.
    """
    sg = pc.fill_null(pc.equal(country, "SG"), False)
    th = flat(pc.fill_null(pc.equal(country, "TH"), False))
    state, city4, district = (_english(col(f"shippingAddress{i}"), th) for i in (3, 4, 5))
    city = pc.coalesce(_english(col("shippingCity"), th), city4)
    address = _join_nonnull(col("shippingAddress"), col("shippingAddress2"))
    codes = list(COUNTRIES)
    return {
        "receiver_name": col("shippingName"),
        "receiver_phone": pc.coalesce(_phone(col("shippingPhone")), _phone(col("shippingPhone2"))),
        "receiver_country": pc.take(pa.array([COUNTRIES[c][2] for c in codes]), country_idx),
        "receiver_state": state,
        "receiver_city": _default_where(city, sg, "Singapore"),
        "receiver_district": district,
        "receiver_address": address,
        "receiver_zip": _postcode(col("shippingPostCode"), country_idx),
    }


def _default_where(values: pa.ChunkedArray, where: pa.Array, default: str) -> pa.ChunkedArray:
    fill = pc.and_(where, flat(pc.is_null(values)))
    if not _any(fill):
        return values
    return pc.if_else(fill, pa.scalar(default), values)


def _english(values: pa.ChunkedArray, th: pa.Array) -> pa.ChunkedArray | pa.Array:
    """The English half of `ไทย/ English` values (Thai shops; the pattern needs Thai script)."""
    if not _any(th):
        return values
    return _per_unique(values, _english_half)


def _english_half(values: pa.Array) -> pa.Array:
    return pc.coalesce(pc.struct_field(pc.extract_regex(values, THAI_BILINGUAL), [0]), values)


def _join_nonnull(first: pa.ChunkedArray, second: pa.ChunkedArray) -> pa.ChunkedArray:
    if second.null_count == len(second):
        return first
    both = pc.binary_join_element_wise(first, second, ", ")
    return pc.coalesce(both, first, second)


def _phone(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Digits (and a leading +) only; "60123456789.0" from a float cell -> "60123456789"."""
    if values.null_count == len(values) or pc.all(pc.ascii_is_decimal(values)).as_py():
        return values
    digits = pc.replace_substring_regex(values, r"\.0+$", "")
    digits = pc.replace_substring_regex(digits, r"[^0-9+]", "")
    return pc.if_else(pc.equal(digits, ""), _STR_NULL, digits)


def _postcode(values: pa.ChunkedArray, country_idx: pa.Array) -> pa.ChunkedArray:
    """Restore leading zeros to the country's postcode width (MY 01000 read as 1000)."""
    code = _repair_id(values)
    width = pc.take(pa.array([COUNTRIES[c][3] for c in COUNTRIES], pa.int64()), country_idx)
    short = pc.and_(pc.ascii_is_decimal(code), pc.less(pc.binary_length(code), width))
    short = pc.fill_null(short, False)
    if not _any(short):
        return code
    for w in sorted({v[3] for v in COUNTRIES.values()}):
        pad = pc.and_(short, pc.fill_null(pc.equal(width, w), False))
        code = pc.if_else(pad, pc.utf8_lpad(code, w, "0"), code)
    return code


def _rejects(explained, table, rows, source_file, order_line_id, order_number,
             malformed, headers) -> pa.Table:  # fmt: skip
    parts = []
    for failure, idx in explained:
        take = pa.array(idx)
        shown = headers.get(failure.column, failure.column)
        if failure.column in table.column_names:  # the cell as found, cut to a readable size
            values = pc.take(table[failure.column], take).combine_chunks()
            values = pc.utf8_slice_codeunits(values, 0, MAX_REJECT_VALUE)
        else:
            values = pa.nulls(len(idx), pa.string())
        if failure.column in PII_COLUMNS:
            kind = PII_COLUMNS[failure.column]
            values = pa.array([mask_pii(v, kind) for v in values.to_pylist()], pa.string())
        parts.append(
            {
                "source_file": [source_file] * len(idx),
                "source_row": rows[idx],
                "order_line_id": pc.take(order_line_id, take),
                "order_number": pc.take(order_number, take),
                "reason_code": [failure.code] * len(idx),
                "reason": [failure.reason.format(col=shown)] * len(idx),
                "column": [shown] * len(idx),
                "value": values,
            }
        )
    bad_rows = list(malformed)
    if bad_rows:
        parts.append(
            {
                "source_file": [source_file] * len(bad_rows),
                "source_row": np.array([max(n, 1) for n, _ in bad_rows], np.int64),
                "order_line_id": pa.nulls(len(bad_rows), pa.string()),
                "order_number": pa.nulls(len(bad_rows), pa.string()),
                "reason_code": ["MALFORMED_ROW"] * len(bad_rows),
                "reason": ["the row has the wrong number of fields (a stray delimiter or quote?)"]
                * len(bad_rows),
                "column": pa.nulls(len(bad_rows), pa.string()),
                "value": pa.nulls(len(bad_rows), pa.string()),
            }
        )
    return reject_table(parts)


REJECT_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("order_line_id", pa.string()),
        ("order_number", pa.string()),
        ("reason_code", pa.string()),
        ("reason", pa.string()),
        ("column", pa.string()),
        ("value", pa.string()),
    ]
)


def reject_table(parts: list[dict]) -> pa.Table:
    """Reject rows (dicts of columns) as one Arrow table with the Rejects columns."""
    tables = [pa.table(p, schema=REJECT_SCHEMA) for p in parts]
    return pa.concat_tables(tables) if tables else REJECT_SCHEMA.empty_table()
