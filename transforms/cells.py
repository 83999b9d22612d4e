"""Parsers for the text cells of an export, shared by every marketplace reader.

Each parser takes a text column and gives (values, bad mask): a null cell is never bad (the
MISSING_VALUE rule is the one that cares), and a bad cell parses to null. Values that repeat a
lot (dates at minute resolution, statuses, prices, country names) are parsed once per distinct
value (`per_distinct`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.marketplaces import COUNTRIES, COUNTRY_NAMES
from schemas.types import MONEY_TYPE

Column = pa.Array | pa.ChunkedArray
NULL_TEXT = pa.scalar(None, pa.string())
YEARS = (2000, 2100)
MAX_PRICE_DIGITS = 12  # 999,999,999,999.99: far above any order line in any currency
MAX_QUANTITY_DIGITS = 4  # a line of 9,999 units; quantity x price must fit decimal(18, 2)
ID_FROM_FLOAT = r"^(\d{1,15})\.0+$"  # a float rendering of an id that is still exact
SCIENTIFIC = r"^\d(\.\d+)?[eE][+-]?\d+$"
THAI_BILINGUAL = r"^[^/]*[\x{0E00}-\x{0E7F}][^/]*/\s*(?P<en>\S.*)$"


def flat(values: Column) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def any_true(mask: Column) -> bool:
    return bool(pc.any(pc.fill_null(mask, False)).as_py())


def per_distinct(values: Column, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`fn` applied to each distinct value once, spread back to every row."""
    encoded = flat(pc.dictionary_encode(values)) if len(values) else None
    if encoded is None:
        return fn(pa.array([], pa.string()))
    return pc.take(fn(encoded.dictionary), encoded.indices)


def constant(value: str | None, n: int) -> pa.Array:
    return pa.nulls(n, pa.string()) if value is None else pa.array([value] * n, pa.string())


# --- text -----------------------------------------------------------------------------------------


def squash(name: str) -> str:
    """A header name reduced to its letters and digits, lower case, in any script."""
    return "".join(ch for ch in name.casefold() if ch.isalnum() or _is_mark(ch))


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")  # Thai vowels and tone marks


def starts_like_formula(values: Column) -> Column:
    """A cell a spreadsheet would evaluate: it starts with =, +, - or @."""
    hit = pc.starts_with(values, "=")
    for sign in "+-@":
        hit = pc.or_(hit, pc.starts_with(values, sign))
    return pc.fill_null(hit, False)


def phone_like_formula(values: Column) -> pa.Array:
    """As `starts_like_formula`, but `+60 12...` and `(+66)81...` are phone numbers."""
    return pc.fill_null(pc.match_substring_regex(values, r"^(=|@|-|\+[^0-9 (])"), False)


def too_long(values: Column, limit: int) -> Column:
    """Longer than `limit` characters (none is when no cell has more bytes than that)."""
    if (pc.max(pc.binary_length(values)).as_py() or 0) <= limit:
        return pa.array(np.zeros(len(values), bool))
    return pc.fill_null(pc.greater(pc.utf8_length(values), limit), False)


def english_half(values: Column) -> pa.Array:
    """The English half of Thai bilingual parts (`บางปะกง/ Bang Pakong` -> `Bang Pakong`)."""
    return per_distinct(
        values,
        lambda v: pc.coalesce(pc.struct_field(pc.extract_regex(v, THAI_BILINGUAL), [0]), v),
    )


def join_parts(first: Column, second: Column, sep: str = ", ") -> pa.Array:
    """ "first, second", or whichever of the two is there."""
    return pc.coalesce(pc.binary_join_element_wise(first, second, sep), first, second)


def phone(values: Column) -> pa.Array:
    """Digits and a leading + only ("60123456789.0" from a float cell -> "60123456789",
    "(+66)812345678" -> "+66812345678"); a masked number (with `*`) is no number."""
    if pc.all(pc.ascii_is_decimal(values)).as_py() is not False:  # already digits (or empty)
        return values
    text = pc.replace_substring_regex(values, r"\.0+$", "")
    text = pc.replace_substring_regex(text, r"[^0-9+]", "")
    masked = pc.fill_null(pc.match_substring(values, "*"), False)
    empty = pc.fill_null(pc.equal(text, ""), False)
    return pc.if_else(pc.or_(masked, empty), NULL_TEXT, text)


def postcode(values: Column, country: Column) -> pa.Array:
    """Leading zeros restored to the country's width (MY `01000` read as a number: `1000`)."""
    code = repair_id(values)
    width = pc.take(
        pa.array([c.postcode_width for c in COUNTRIES.values()], pa.int64()),
        pc.index_in(country, value_set=pa.array(list(COUNTRIES))),
    )
    short = pc.fill_null(
        pc.and_(pc.ascii_is_decimal(code), pc.less(pc.utf8_length(code), width)), False
    )
    for w in sorted({c.postcode_width for c in COUNTRIES.values()} - {0}):
        pad = pc.and_(short, pc.fill_null(pc.equal(width, w), False))
        code = pc.if_else(pad, pc.utf8_lpad(code, w, "0"), code)
    return code


# --- ids ------------------------------------------------------------------------------------------


def repair_id(values: Column) -> Column:
    """ "212345678911234.0" (an exact float rendering from a spreadsheet) -> "212345678911234"."""
    if not any_true(pc.match_substring(values, ".")):  # the usual case: nothing to repair
        return values
    return pc.replace_substring_regex(values, ID_FROM_FLOAT, r"\1")


def bad_digit_id(ids: Column) -> pa.Array:
    """Not 1-20 ASCII digits."""
    ok = pc.and_(pc.ascii_is_decimal(ids), pc.less_equal(pc.binary_length(ids), 20))
    return pc.and_(pc.is_valid(ids), pc.invert(pc.fill_null(ok, False)))


def bad_alnum_id(ids: Column) -> pa.Array:
    """Not 1-40 ASCII letters and digits."""
    ok = pc.and_(pc.ascii_is_alnum(ids), pc.less_equal(pc.binary_length(ids), 40))
    return pc.and_(pc.is_valid(ids), pc.invert(pc.fill_null(ok, False)))


def scientific(ids: Column) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(ids, SCIENTIFIC), False)


# --- numbers --------------------------------------------------------------------------------------


def parse_money(text: Column) -> tuple[pa.Array, pa.Array]:
    """(decimal128(18, 2), bad): "42.9" and "42.900" are 42.90; "42.905", "12,90", "-1" are bad."""
    pattern = rf"^\d{{1,{MAX_PRICE_DIGITS}}}(\.\d{{0,2}}0*)?$"

    def parse(distinct: pa.Array) -> pa.Array:
        ok = pc.match_substring_regex(distinct, pattern)
        return pc.cast(pc.if_else(ok, distinct, NULL_TEXT), MONEY_TYPE)

    value = per_distinct(text, parse)
    return value, pc.and_(pc.is_valid(text), pc.is_null(value))


def parse_quantity(text: Column) -> tuple[pa.Array, pa.Array]:
    """(int64, bad): a whole number of units from 1 to 9,999 ("2.0" from a float cell is 2)."""
    digits = pc.replace_substring_regex(text, r"^(\d+)\.0+$", r"\1")
    ok = pc.fill_null(pc.match_substring_regex(digits, rf"^0*[1-9]\d{{0,{MAX_QUANTITY_DIGITS - 1}}}$"), False)  # fmt: skip
    value = pc.cast(pc.if_else(ok, digits, NULL_TEXT), pa.int64())
    return value, pc.and_(pc.is_valid(text), pc.invert(ok))


def parse_local_time(text: Column, formats: Sequence[tuple[str, str]]) -> tuple[pa.Array, pa.Array]:
    """(naive timestamp[s] of the shop's wall clock, bad) for `formats`: (strptime format, regex
    whose group `d` is the day as written). The first format that fits wins; "31 Feb" (which
    strptime rolls over into March) and years outside 2000-2099 are bad."""
    parsed = per_distinct(text, lambda distinct: _parse_times(distinct, formats))
    return parsed, pc.and_(pc.is_valid(text), pc.is_null(parsed))


def _parse_times(text: pa.Array, formats: Sequence[tuple[str, str]]) -> pa.Array:
    none = pa.scalar(None, pa.timestamp("s"))
    result = pa.nulls(len(text), pa.timestamp("s"))
    for fmt, day_regex in formats:
        parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
        day = pc.struct_field(pc.extract_regex(text, day_regex), [0])
        same_day = pc.equal(pc.day(parsed), pc.cast(day, pa.int64()))
        result = pc.coalesce(result, pc.if_else(same_day, parsed, none))
    years = pc.year(result)
    in_range = pc.and_(pc.greater_equal(years, YEARS[0]), pc.less(years, YEARS[1]))
    return pc.if_else(in_range, result, none)


# --- countries ------------------------------------------------------------------------------------


def country_from_name(names: Column) -> pa.Array:
    """ISO code from a country name or code as exports write it (`Malaysia`, `MY`, `ไทย`)."""

    def lookup(distinct: pa.Array) -> pa.Array:
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(distinct))
        by_name = pc.take(
            pa.array(list(COUNTRY_NAMES.values())),
            pc.index_in(lowered, value_set=pa.array(list(COUNTRY_NAMES))),
        )
        upper = pc.utf8_upper(distinct)
        by_code = pc.if_else(pc.is_in(upper, value_set=pa.array(list(COUNTRIES))), upper, NULL_TEXT)
        return pc.coalesce(by_name, by_code)

    return per_distinct(names, lookup)


def country_constants(country: Column) -> dict[str, pa.Array]:
    """currency, UTC offset (seconds) and receiver country name of each row's shop country."""
    codes = pa.array(list(COUNTRIES))
    at = pc.index_in(country, value_set=codes)
    values = list(COUNTRIES.values())
    return {
        "currency": pc.take(pa.array([c.currency for c in values]), at),
        "offset_s": pc.take(pa.array([c.utc_offset * 3600 for c in values], pa.int64()), at),
        "name": pc.take(pa.array([c.name for c in values]), at),
    }


def to_utc(local: Column, offset_s: Column) -> pa.Array:
    """A shop-local wall clock and its offset -> timestamp[us, UTC]."""
    seconds = pc.subtract(pc.cast(local, pa.int64()), offset_s)
    return pc.cast(pc.multiply(seconds, 1_000_000), pa.timestamp("us", tz="UTC"))
