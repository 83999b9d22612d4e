"""Arrow <-> pandas at the stage boundaries, and exact money arithmetic in integer cents.

Strings, decimals and lists stay Arrow-backed in pandas (`pd.ArrowDtype`): no copy on the way
in or out, no object columns of Python strings, and ids can never be coerced to numbers.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MONEY_TYPE = pa.decimal128(18, 2)


def arrow_dtype(kind: pa.DataType) -> pd.ArrowDtype | None:
    """`types_mapper` for `Table.to_pandas`: Arrow-backed text, money and lists; numpy otherwise."""
    if (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_list(kind)
    ):
        return pd.ArrowDtype(kind)
    return None


def to_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=arrow_dtype, split_blocks=True, self_destruct=False)


def to_cents(money: pa.Array | pa.ChunkedArray | pd.Series) -> np.ndarray:
    """decimal128(18, 2) -> int64 cents (nulls -> 0). Exact: no float on the way."""
    if isinstance(money, pd.Series):
        money = pa.array(money.array)
    scaled = pc.multiply(money, pa.scalar(Decimal(100), pa.decimal128(3, 0)))
    return pc.fill_null(pc.cast(scaled, pa.int64()), 0).to_numpy(zero_copy_only=False)


def from_cents(cents: np.ndarray) -> pa.Array:
    """int64 cents -> decimal128(18, 2)."""
    whole = pc.cast(pa.array(np.asarray(cents, np.int64)), pa.decimal128(20, 0))
    return pc.cast(pc.multiply(whole, pa.scalar(Decimal("0.01"), pa.decimal128(3, 2))), MONEY_TYPE)


def column(df: pd.DataFrame, name: str) -> pa.ChunkedArray:
    """A DataFrame column as Arrow (zero-copy for Arrow-backed columns; chunks kept as they are)."""
    values = pa.array(df[name].array)
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous Arrow array (chunks combined; an array comes back as it is)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
