"""Column types of every ingest table, defined once, and the Arrow schema of a pandera model.

Every column is Arrow-backed (`pd.ArrowDtype`): text never becomes a Python object and an id
never becomes a number, a table turns into a DataFrame for pandera without a copy, and the
Arrow schema of a contract is read off its model (`arrow_schema`), so the two cannot drift.

Money is `decimal128(18, 2)` in tables and `Decimal` in Python (cents, never float).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:  # pandera takes a while to import: only where a table is checked
    import pandera.pandas as pa_

MONEY_TYPE = pa.decimal128(18, 2)
CENT = Decimal("0.01")

TEXT = pd.ArrowDtype(pa.string())
MONEY = pd.ArrowDtype(MONEY_TYPE)
COUNT = pd.ArrowDtype(pa.int64())
TEXT_LIST = pd.ArrowDtype(pa.list_(pa.string()))
UTC_TIME = pd.ArrowDtype(pa.timestamp("us", tz="UTC"))
LOCAL_TIME = pd.ArrowDtype(pa.timestamp("us"))  # a shop's wall clock, no offset


def money(value: Decimal | str | int) -> Decimal:
    """An amount as the Decimal a table holds: exactly two decimals."""
    return Decimal(str(value)).quantize(CENT)


def arrow_schema(model: type[pa_.DataFrameModel]) -> pa.Schema:
    """The model's columns, in order, as an Arrow schema (every column is Arrow-backed)."""
    fields = []
    for name, column in model.to_schema().columns.items():
        dtype = column.dtype.type
        if not isinstance(dtype, pd.ArrowDtype):
            raise TypeError(f"{model.__name__}.{name} is {dtype}, not an Arrow-backed dtype")
        fields.append(pa.field(name, dtype.pyarrow_dtype))
    return pa.schema(fields)


def conform(table: pa.Table, model: type[pa_.DataFrameModel]) -> pa.Table:
    """The model's columns of `table`, in the model's order and types (a cast, never a guess)."""
    schema = arrow_schema(model)
    return table.select(schema.names).cast(schema)


def frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a DataFrame of Arrow-backed columns (no copy)."""
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def check(model: type[pa_.DataFrameModel], table: pa.Table) -> pa.Table:
    """Validate a table where it is produced (once per table); a failure is a bug: raise it."""
    import pandera.pandas as pa_

    try:
        model.validate(frame(table), lazy=True)
    except pa_.errors.SchemaErrors as exc:
        cases = exc.failure_cases.head(5).to_dict("records")
        raise AssertionError(f"{model.__name__} contract broken: {cases}") from None
    return table
