"""Row conservation on every input: each file's rows are its accepted lines plus its rejects,
whatever the file (every test file and sample alone, and all of them in one run)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from schemas.errors import UserError
from tests.ingest.conftest import DATA, SAMPLES
from transforms import ingest

EXPORTS = sorted(
    p for p in [*DATA.iterdir(), *SAMPLES.iterdir()]
    if p.suffix in (".csv", ".xlsx", ".parquet") and not p.name.startswith("sku_map")
)  # fmt: skip


def _assert_conserved(result) -> None:
    s = result.summary
    assert s["row_conservation"]["holds"]
    assert s["rows_in"] == result.order_lines.num_rows + result.rejects.num_rows
    accepted = Counter(result.order_lines["source_file"].to_pylist())
    rejected = Counter(result.rejects["source_file"].to_pylist())
    for f in s["files"]:
        assert f["rows"] == accepted[f["path"]] + rejected[f["path"]], f["path"]
        assert f["rejected"] == rejected[f["path"]]
    # and no row counted twice: every (file, row) is one line or one reject
    rows = [*zip(result.order_lines["source_file"].to_pylist(),
                 result.order_lines["source_row"].to_pylist(), strict=True),
            *zip(result.rejects["source_file"].to_pylist(),
                 result.rejects["source_row"].to_pylist(), strict=True)]  # fmt: skip
    assert len(rows) == len(set(rows))


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.name)
def test_each_file_alone_conserves_its_rows(path: Path):
    sku_map = SAMPLES / "sku_map.csv" if path.parent == SAMPLES else DATA / "sku_map.csv"
    try:
        result = ingest([path], sku_map=sku_map)
    except UserError as exc:  # a file no row of which can be read or counted
        assert "no usable input file" in str(exc)
        return
    _assert_conserved(result)


def test_every_file_in_one_run_conserves_its_rows():
    result = ingest(EXPORTS, sku_map=DATA / "sku_map.csv")
    assert {f["marketplace"] for f in result.summary["files"]} >= {"lazada", "shopee", "tiktok"}
    _assert_conserved(result)
