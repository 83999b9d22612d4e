"""Output files: atomic, ids as strings, a partition per run that DuckDB and pandas can query."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from purchase_sync.results import RESULT_COLUMNS, conform, write_outputs


def _results(run_id: str, status: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outer_purchase_id": ["PS-LAMY-1-abc", "PS-LAMY-1-abc"],
            "order_line_id": ["900719925474099301", "900719925474099302"],
            "mp_id": ["600068435000185140", "600068435000185140"],
            "status": [status, status],
            "run_id": [run_id, run_id],
        }
    )


def test_write_outputs_latest_and_partition(tmp_path: Path) -> None:
    summary = {"rows_in": 2, "purchases_created": 1}
    paths = write_outputs(
        tmp_path,
        results=_results("r1", "created"),
        rejects=None,
        summary=summary,
        run_id="r1",
        run_date=date(2026, 11, 26),
    )
    assert paths.run_dir == tmp_path / "runs" / "date=2026-11-26" / "run_id=r1"
    for where in (tmp_path, paths.run_dir):
        df = pd.read_parquet(where / "results.parquet")
        assert list(df.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
        assert df["order_line_id"].tolist() == ["900719925474099301", "900719925474099302"]
        assert json.loads((where / "summary.json").read_text()) == summary
        assert len(pd.read_parquet(where / "rejects.parquet")) == 0
    # nothing half-written is left behind
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_float_ids_are_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        conform(pd.DataFrame({"mp_id": [6.000684350001851e17]}), RESULT_COLUMNS)


def test_failed_write_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_outputs(
        tmp_path,
        results=_results("r1", "created"),
        rejects=None,
        summary={"n": 1},
        run_id="r1",
        run_date=date(2026, 11, 26),
    )

    def boom(self: pd.DataFrame, *a: object, **k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError):
        write_outputs(
            tmp_path,
            results=_results("r2", "failed"),
            rejects=None,
            summary={"n": 2},
            run_id="r2",
            run_date=date(2026, 11, 27),
        )
    monkeypatch.undo()
    assert pd.read_parquet(tmp_path / "results.parquet")["run_id"].tolist() == ["r1", "r1"]
    assert not [p for p in tmp_path.rglob("*.tmp")]
