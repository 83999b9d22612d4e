"""The SKU map: which supplier item and SKU to buy for each marketplace seller SKU.

Keyed by (marketplace, country, seller_sku); `platform_sku_id` (the Lazada SKU id, which a seller
cannot edit) is the fallback key. Only `approved` rows are ever ordered. A map that breaks its
contract stops the run: guessing a supplier SKU spends money on the wrong item.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa_
import pyarrow as pa
import pyarrow.compute as pc

from schemas.contracts import SkuMap
from schemas.errors import UserError
from schemas.types import conform, frame
from transforms.inputs import FileError, read_table

KEY = ["marketplace", "country", "seller_sku"]  # one supplier target per key
REQUIRED = ("marketplace", "country", "seller_sku", "source_platform", "source_item_id", "status")
OPTIONAL = (
    "platform_item_id",
    "platform_sku_id",
    "source_sku_id",
    "source_spec_id",
    "source_sku_props",
    "qty_multiplier",
    "supplier_shop",
    "source_url",
)
PLATFORM_ALIASES = {"taobao": "taobao", "tmall": "taobao", "tb": "taobao", "1688": "1688",
                    "alibaba": "1688", "cbu": "1688"}  # fmt: skip


def load_sku_map(path: str | Path | None) -> pa.Table:
    """Read and validate the SKU map (csv, xlsx or parquet); raise UserError when it is unusable."""
    if path is None:
        raise UserError("no SKU map: pass --sku-map FILE (or put sku_map.csv next to the input)")
    path = Path(path)
    if not path.is_file():
        raise UserError(f"SKU map {str(path)!r} does not exist")
    wanted: list[str] = []

    def choose(header: list[str]) -> list[str]:
        names = {h.strip().lower(): h for h in header}
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise UserError(f"SKU map {path.name}: missing column(s) {', '.join(missing)}")
        wanted.extend(c for c in (*REQUIRED, *OPTIONAL) if c in names)
        return [names[c] for c in wanted]

    try:
        _, text = read_table(path, choose)
    except FileError as exc:
        raise UserError(f"SKU map {path.name}: {exc}") from None
    df = frame(_normalise(text.table.rename_columns(wanted)))
    df.index = pd.Index(text.rows, name="row")
    df = _parse_multiplier(df, path)
    if df.duplicated(KEY).any():  # repeated keys: identical rows collapse, different ones fail
        df = df.drop_duplicates()
        _check_unique(df, path)
    try:
        SkuMap.validate(df, lazy=True)
    except pa_.errors.SchemaErrors as exc:
        raise UserError(f"SKU map {path.name}: {_first_failures(exc)}") from None
    return conform(pa.Table.from_pandas(df, preserve_index=False), SkuMap)


def _normalise(table: pa.Table) -> pa.Table:
    n = table.num_rows
    cols = {name: table[name] for name in table.column_names}
    for name in OPTIONAL:
        cols.setdefault(name, pa.nulls(n, pa.string()))
    cols["marketplace"] = pc.utf8_lower(cols["marketplace"])
    cols["country"] = pc.utf8_upper(cols["country"])
    cols["status"] = pc.utf8_lower(cols["status"])
    platform = pc.utf8_lower(cols["source_platform"])
    known = pa.array(list(PLATFORM_ALIASES))
    mapped = pc.take(pa.array(list(PLATFORM_ALIASES.values())), pc.index_in(platform, known))
    cols["source_platform"] = pc.coalesce(mapped, platform)
    for name in ("source_item_id", "source_sku_id", "platform_item_id", "platform_sku_id"):
        if pc.any(pc.match_substring(cols[name], ".")).as_py():  # a regex costs 50 ms a column
            cols[name] = pc.replace_substring_regex(cols[name], r"^(\d{1,15})\.0+$", r"\1")
    cols["source_spec_id"] = pc.utf8_lower(cols["source_spec_id"])
    return pa.table({name: cols[name] for name in (*REQUIRED, *OPTIONAL)})


def _parse_multiplier(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    text = df["qty_multiplier"].fillna("1")
    ok = text.str.fullmatch(r"\d{1,4}").fillna(False).astype(bool)
    if not ok.all():
        row = ok[~ok].index[0]
        raise UserError(
            f"SKU map {path.name} row {row}: qty_multiplier {text[row]!r} is not a whole number"
        )
    df = df.copy()
    df["qty_multiplier"] = text.astype("int64[pyarrow]")
    return df


def _check_unique(df: pd.DataFrame, path: Path) -> None:
    clash = df[df.duplicated(KEY, keep=False)]
    if len(clash):
        first = clash.iloc[0]
        rows = ", ".join(str(r) for r in clash.index[:5])
        raise UserError(
            f"SKU map {path.name}: seller_sku {first['seller_sku']!r} ({first['marketplace']} "
            f"{first['country']}) has conflicting rows {rows}"
        )


def _first_failures(exc: pa_.errors.SchemaErrors, limit: int = 3) -> str:
    cases = exc.failure_cases
    parts = []
    for _, case in cases.head(limit).iterrows():
        where = f"row {case['index']} " if pd.notna(case["index"]) else ""
        column = case["column"] if pd.notna(case["column"]) else "table"
        parts.append(f"{where}{column}: {case['failure_case']!r} fails {case['check']}")
    more = f" (and {len(cases) - limit} more)" if len(cases) > limit else ""
    return "; ".join(parts) + more
