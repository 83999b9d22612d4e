"""read_exports over the files in tests/data: every format, every bad-input kind."""

from __future__ import annotations

import shutil
import sys
from decimal import Decimal

import pandas as pd
import pytest

from schemas.errors import UserError
from schemas.ingest import OrderLines, Rejects
from tests.ingest.conftest import DATA, line, lines_frame, records
from transforms import read_exports
from transforms.inputs import expand_inputs

BASE_IDS = [
    "212345678911234", "212345678921234", "212345678931234", "598765432119876", "871234560112345",
    "871234560122345", "300000000110001", "300000000120001", "300000000130001", "300000000130002",
    "300000000130003", "300000000140001",
]  # fmt: skip


def read(*names: str):
    return read_exports([str(DATA / n) for n in names])


def assert_text_contract(result) -> None:
    """Conservation, the schemas, and no float anywhere an id could hide."""
    assert result.rows_in == len(result.order_lines) + len(result.rejects)
    OrderLines.validate(result.order_lines)
    Rejects.validate(result.rejects)
    floats = [c for c, t in result.order_lines.dtypes.items() if "float" in str(t)]
    assert floats == []


@pytest.mark.parametrize(
    ("name", "fmt", "header"),
    [
        ("lazada_current.csv", "csv", "current"),
        ("lazada_current_bom_crlf.csv", "csv", "current"),
        ("lazada_76_columns_shuffled.csv", "csv", "current"),
        ("lazada_legacy_semicolon.csv", "csv", "legacy"),
        ("lazada_current.xlsx", "xlsx", "current"),
        ("lazada_current.parquet", "parquet", "current"),
        ("lazada_legacy_numbers.parquet", "parquet", "legacy"),
    ],
)
def test_every_format_gives_the_same_order_lines(name, fmt, header):
    result = read(name)
    assert_text_contract(result)
    (report,) = result.files
    assert (report.format, report.header, report.rows, report.error) == (fmt, header, 12, None)
    lines = result.order_lines
    assert list(lines["order_line_id"]) == BASE_IDS
    assert list(lines["order_number"])[:3] == ["212345678901234"] * 3
    assert list(lines["receiver_phone"])[:4] == ["60123456780"] * 3 + ["639171234567"]
    assert list(lines["receiver_zip"])[-1] == "01000"  # Perlis, zero restored for the xlsx
    assert lines["paid_price"].iloc[0] == Decimal("42.90")
    assert list(lines["country"]) == ["MY"] * 3 + [
        "PH",
        "TH",
        "TH",
        "SG",
        "VN",
        "ID",
        "ID",
        "ID",
        "MY",
    ]
    assert list(lines["status"]).count("pending") == 7


def test_legacy_file_rows_are_numbered_like_a_spreadsheet():
    result = read("lazada_legacy_semicolon.csv")
    assert list(result.order_lines["source_row"]) == list(range(2, 14))


def test_oldest_legacy_variant_with_item_id():
    result = read("lazada_legacy_item_id.csv")
    assert_text_contract(result)
    assert list(result.order_lines["order_line_id"]) == BASE_IDS[:4]


def test_xlsx_numbers_come_back_as_exact_text():
    lines = read("lazada_current.xlsx").order_lines
    assert lines["order_line_id"].iloc[0] == "212345678911234"  # stored as a number in the sheet
    assert lines["receiver_phone"].iloc[8] == "6281234567890"


def test_xlsx_formula_text_is_rejected_and_real_formulas_are_never_evaluated():
    result = read("lazada_formula.xlsx")
    assert_text_contract(result)
    (reject,) = records(result.rejects)
    assert (reject["source_row"], reject["reason_code"], reject["column"]) == (
        3,
        "FORMULA_INJECTION",
        "shippingName",
    )
    assert reject["value"].startswith("=") and "evil" not in reject["value"]
    item = result.order_lines.set_index("source_row").loc[4, "item_name"]
    assert item == "cached text"  # the stored result, not EVALUATED


def test_bad_rows_each_get_a_reason_and_good_rows_go_on():
    result = read("lazada_bad_rows.csv")
    assert_text_contract(result)
    got = {r["source_row"]: r["reason_code"] for r in records(result.rejects)}
    assert got == {
        5: "BAD_DATE",
        6: "BAD_PRICE",
        7: "UNKNOWN_STATUS",
        8: "FORMULA_INJECTION",
        9: "FIELD_TOO_LONG",
        10: "MISSING_VALUE",
        11: "BAD_ID",
        12: "BAD_PRICE",
        13: "UNKNOWN_COUNTRY",
        14: "COUNTRY_MISMATCH",
        15: "FIELD_TOO_LONG",
        16: "BAD_DATE",
        17: "BAD_PRICE",
        18: "FORMULA_INJECTION",
    }
    assert list(result.order_lines["source_row"]) == [2, 3, 4, 19]
    long_value = result.rejects.set_index("source_row").loc[9, "value"]
    assert len(long_value) == 200  # a 5000-character cell is not copied whole


def test_missing_required_column_rejects_that_file_and_others_go_on():
    result = read("lazada_missing_column.csv", "lazada_current.csv")
    assert_text_contract(result)
    bad, good = result.files
    assert "sellerSku" in bad.error and good.error is None
    rejects = result.rejects[result.rejects["source_file"].str.endswith("missing_column.csv")]
    assert len(rejects) == 4
    assert set(rejects["reason_code"]) == {"MISSING_COLUMN"}
    assert set(rejects["column"]) == {"sellerSku"}
    assert list(rejects["order_number"])[:1] == ["212345678901234"]
    assert len(result.order_lines) == 12


def test_a_file_with_only_a_missing_column_is_fatal():
    with pytest.raises(UserError, match="sellerSku"):
        read("lazada_missing_column.csv")


def test_two_headers_for_one_column_rejects_the_file():
    result = read("lazada_duplicate_header.csv", "lazada_current.csv")
    assert set(result.rejects["reason_code"]) == {"DUPLICATE_COLUMN"}


def test_unreadable_file_is_reported_and_alone_is_fatal(tmp_path):
    result = read("lazada_not_utf8.csv", "lazada_current.csv")
    assert "UTF-8" in result.files[0].error and result.files[0].rows == 0
    assert result.rows_in == 12
    with pytest.raises(UserError, match="UTF-8"):
        read("lazada_not_utf8.csv")
    corrupt = tmp_path / "broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(UserError, match="cannot read"):
        read_exports([corrupt])


def test_malformed_csv_row_is_rejected_and_line_breaks_in_cells_survive():
    result = read("lazada_malformed.csv")
    assert_text_contract(result)
    assert records(result.rejects)[0]["reason_code"] == "MALFORMED_ROW"
    assert records(result.rejects)[0]["source_row"] == 3
    lines = result.order_lines.set_index("source_row")
    assert lines.loc[4, "receiver_address"] == "No. 12, Jalan Mawar 3/2\nTaman Sri Melati"
    assert list(lines.index) == [2, 4, 5]


def test_globs_and_repeats_expand_once_in_order(tmp_path):
    for name in ("lazada_overlap_day2.csv", "lazada_overlap_day1.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    files = expand_inputs([str(tmp_path / "lazada_*.csv"), tmp_path / "lazada_overlap_day1.csv"])
    assert [f.name for f in files] == ["lazada_overlap_day1.csv", "lazada_overlap_day2.csv"]
    result = read_exports([str(tmp_path / "*.csv")])
    assert result.rows_in == 8 and len(result.files) == 2


def test_glob_matching_nothing_is_fatal(tmp_path):
    with pytest.raises(UserError, match="no input file matches"):
        read_exports([str(DATA / "lazada_current.csv"), str(tmp_path / "*.csv")])


def test_overlapping_exports_keep_every_row_for_the_grouping_stage():
    result = read("lazada_overlap_day1.csv", "lazada_overlap_day2.csv")
    counts = result.order_lines["order_line_id"].value_counts()
    assert counts["212345678911234"] == 2  # deduplicated by map_and_group, not here
    assert isinstance(result.order_lines, pd.DataFrame)


def test_big_files_are_normalised_in_two_halves_with_the_same_result(monkeypatch):
    whole = read("lazada_bad_rows.csv", "lazada_malformed.csv")
    plan_module = sys.modules["transforms.plan"]  # `transforms.plan` is also the function
    monkeypatch.setattr(plan_module, "PARALLEL_MIN_ROWS", 2)
    halves = read("lazada_bad_rows.csv", "lazada_malformed.csv")
    assert records(halves.order_lines) == records(whole.order_lines)
    key = ["source_file", "source_row"]
    assert records(halves.rejects.sort_values(key)) == records(whole.rejects.sort_values(key))


def test_lines_breaking_the_contract_become_schema_rejects():
    frame = lines_frame([line("1"), line("2", currency="THB"), line("3", status="weird")])
    validate_lines = sys.modules["transforms.plan"]._validate_lines
    kept, rejects = validate_lines(frame, "f.csv")
    assert list(kept["order_line_id"]) == ["1"]
    got = {r["order_line_id"]: r for r in rejects.to_pylist()}
    assert set(got) == {"2", "3"}
    assert {r["reason_code"] for r in got.values()} == {"SCHEMA_VIOLATION"}
    assert got["3"]["column"] == "status"


def test_an_xlsx_export_is_parsed_once(monkeypatch):
    """calamine parses a whole sheet to give its first row: the header and the rows come from
    one pass, not a header read followed by a second parse of the workbook."""
    import transforms.inputs as inputs

    opened: list[str] = []
    real = inputs._xlsx_rows
    monkeypatch.setattr(inputs, "_xlsx_rows", lambda path: opened.append(path.name) or real(path))
    result = read("lazada_current.xlsx")
    assert opened == ["lazada_current.xlsx"]
    assert result.rows_in > 0 and len(result.order_lines) > 0
