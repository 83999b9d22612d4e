"""The history queries of docs/operations.md (and the README) run on real output files."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from purchase_sync.results import write_outputs

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / "operations.md", ROOT / "README.md"]


def _query_blocks(doc: Path) -> list[str]:
    text = doc.read_text()
    section = text.split("## Reading results", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def _results(run_id: str, status: str, when: datetime, code: str | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outer_purchase_id": ["PS-LAMY-1-a", "PS-LAMY-1-a", "PS-LASG-2-b"],
            "order_line_id": ["900719925474099301", "900719925474099302", "900719925474099303"],
            "status": [status, status, "created"],
            "error_code": pd.array([code, code, None], dtype="string"),
            "run_id": [run_id] * 3,
            "updated_at": [when] * 3,
        }
    )


def _rejects(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_file": ["lazada.csv"] * n,
            "source_row": list(range(2, 2 + n)),
            "reason_code": ["BAD_DATE"] * n,
            "reason": ["no such day"] * n,
        }
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_three_documented_queries_run(
    doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [
        ("r1", "unknown", datetime(2026, 11, 26, 2, tzinfo=UTC), "TIMEOUT", False),
        ("r2", "would_create", datetime(2026, 11, 27, 2, tzinfo=UTC), None, True),
        ("r3", "failed", datetime(2026, 11, 27, 3, tzinfo=UTC), "SKU_UNAVAILABLE", False),
    ]
    for run_id, status, when, code, dry in runs:
        write_outputs(
            tmp_path / "out",
            results=_results(run_id, status, when, code),
            rejects=_rejects(2),
            summary={
                "run_id": run_id,
                "flow_run_name": f"lazada {run_id}",
                "dry_run": dry,
                "rows_in": 5,
                "purchases_created": 1,
                "purchases_unknown": int(status == "unknown"),
                "duration_s": 1.5,
                "failures_by_code": {code: 1} if code else {},  # varies from run to run
            },
            run_id=run_id,
            run_date=when.date(),
        )
    monkeypatch.chdir(tmp_path)
    blocks = _query_blocks(doc)
    assert len(blocks) == 3
    ns: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), ns)

    by_day = ns["by_day"]
    assert set(by_day["date"].astype(str)) == {"2026-11-26", "2026-11-27"}
    assert by_day.loc[by_day["status"] == "created", "purchases"].tolist() == [1, 1]

    not_created = ns["not_created"]  # the dry run's later "would_create" does not count
    assert not_created[["outer_purchase_id", "status", "error_code"]].values.tolist() == [
        ["PS-LAMY-1-a", "failed", "SKU_UNAVAILABLE"]
    ]
    assert ns["runs"]["run_id"].tolist() == ["r1", "r2", "r3"]
    reasons = ns["reject_reasons"]
    assert reasons["rows"].tolist() == [2, 2, 2] and set(reasons["reason_code"]) == {"BAD_DATE"}
