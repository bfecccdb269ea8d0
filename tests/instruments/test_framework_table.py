"""Criteria tables (XLSX): export, import unchanged = no difference; changes shown; bad rows reported."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from survey import bundled
from survey.definitions import load
from survey.definitions.frameworks import load_framework
from survey.instruments.framework_table import read_table, to_xlsx

SOURCE = "Phụ lục kèm Quyết định thử nghiệm"


@pytest.fixture(scope="module")
def par():
    """The bundled PAR framework document (validated)."""
    return load_framework(bundled.QUESTIONNAIRES / "frameworks" / "par-province-2024.yaml").document


def rows_of(data: bytes) -> list[list]:
    """The rows of the first sheet."""
    return [list(r) for r in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True)]


def workbook(rows: list[list]) -> bytes:
    """An .xlsx with these rows."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def edit(data: bytes, change) -> bytes:
    """The table with `change(rows)` applied."""
    rows = rows_of(data)
    change(rows)
    return workbook(rows)


def row_index(rows, code):
    """The index of the row of a code."""
    return next(i for i, r in enumerate(rows) if r[0] == code)


@pytest.mark.parametrize("name", ["par-province-2024.yaml", "sipas-2023.yaml"])
def test_export_then_import_unchanged_gives_no_difference(name):
    """Both bundled frameworks go round the table with nothing changed but the version."""
    document = load_framework(bundled.QUESTIONNAIRES / "frameworks" / name).document
    outcome = read_table(to_xlsx(document), document, "tree", "next", source=SOURCE)
    assert outcome.ok, outcome.problems
    assert outcome.changes == []
    assert {**outcome.document, "version": document["version"]} == document


def test_vietnamese_headers_and_changed_points_show_as_differences(par):
    """Points moved between two sub-criteria (the criterion still adds up), a name changed, a node added."""
    rows = rows_of(to_xlsx(par))
    assert rows[0][:3] == ["Mã", "Cấp", "Tên tiêu chí"]
    a, b = row_index(rows, "par.1.1.1"), row_index(rows, "par.1.1.2")
    rows[a][4], rows[b][4] = "0,75", 0.75  # decimal comma accepted
    rows[b][2] = "Mức độ hoàn thành kế hoạch CCHC năm"
    outcome = read_table(workbook(rows), par, "tree", "2025.1", source=SOURCE)
    assert outcome.ok, outcome.problems
    found = {(c.kind, c.code, c.what, c.old, c.new) for c in outcome.changes}
    assert ("changed", "par.1.1.1", "max_points", "0.5", "0.75") in found
    assert ("changed", "par.1.1.2", "max_points", "1", "0.75") in found
    assert next((c.kind, c.code, c.what) for c in outcome.changes if c.what == "name") == (
        "changed",
        "par.1.1.2",
        "name",
    )
    node = outcome.document["nodes"][0]["children"][0]["children"][0]
    assert node["status"] == "verified" and node["source"] == SOURCE
    assert outcome.document["version"] == "2025.1"


def test_removed_and_added_nodes_in_tree_mode(par):
    """A sub-criterion removed and a new one added with the same points: listed, structure count kept."""

    def change(rows):
        i = row_index(rows, "par.1.1.2")
        rows[i] = [
            "par.1.1.3",
            None,
            "Tiêu chí mới",
            "New criterion",
            1,
            "self_assessed",
            "{type: yes_no, measure: {vi: Có kế hoạch, en: Plan exists}}",
            "Quyết định",
            "Decision",
        ]

    outcome = read_table(edit(to_xlsx(par), change), par, "tree", "2025.1", source=SOURCE)
    assert outcome.ok, outcome.problems
    kinds = {(c.kind, c.code) for c in outcome.changes}
    assert {("added", "par.1.1.3"), ("removed", "par.1.1.2")} <= kinds


def test_malformed_table_reports_each_problem_by_row_and_gives_no_document(par):
    """Duplicate code, unknown parent, non-number points, points not adding up: one line each, with rows."""

    def change(rows):
        rows.append(list(rows[row_index(rows, "par.1.1.1")]))  # duplicate

    dup = read_table(edit(to_xlsx(par), change), par, "tree", "x", source=SOURCE)
    assert dup.document is None
    assert [str(p) for p in dup.problems] == [
        f"row {len(rows_of(to_xlsx(par))) + 1}: duplicate code par.1.1.1 "
        f"(also row {row_index(rows_of(to_xlsx(par)), 'par.1.1.1') + 1})"
    ]

    def broken(rows):
        rows[row_index(rows, "par.1.1.1")][4] = "nửa điểm"
        rows[row_index(rows, "par.2.1.1")][4] = 5
        rows.append(["par.99.1", None, "Mồ côi", None, 1, "self_assessed", "yes_no", None, None])

    rows = rows_of(to_xlsx(par))
    outcome = read_table(edit(to_xlsx(par), broken), par, "tree", "x", source=SOURCE)
    assert not outcome.ok and outcome.document is None
    text = [str(p) for p in outcome.problems]
    assert f"row {row_index(rows, 'par.1.1.1') + 1}: max points 'nửa điểm' is not a number ≥ 0" in text
    assert f"row {len(rows) + 1}: unknown parent par.99 of par.99.1 (no row above it)" in text

    def not_adding_up(rows):
        rows[row_index(rows, "par.2.1.1")][4] = 5

    outcome = read_table(edit(to_xlsx(par), not_adding_up), par, "tree", "x", source=SOURCE)
    assert any(
        str(p).startswith(f"row {row_index(rows, 'par.2.1') + 1}: par.2.1: children's max_points add up")
        for p in outcome.problems
    ), outcome.problems


def test_points_mode_changes_numbers_only_and_refuses_unknown_codes(par):
    """A two-row table in points mode; an unknown code is a problem of its row."""
    header = ["Mã", "Điểm tối đa", "Tên tiêu chí"]
    good = workbook(
        [
            header,
            ["par.1.1.1", 0.75, "Ban hành kế hoạch CCHC năm đúng thời hạn"],
            ["par.1.1.2", 0.75, "Mức độ hoàn thành kế hoạch CCHC"],
        ]
    )
    outcome = read_table(good, par, "points", "2025.2", source=SOURCE)
    assert outcome.ok, outcome.problems
    assert {(c.code, c.what) for c in outcome.changes} == {
        ("par.1.1.1", "max_points"),
        ("par.1.1.2", "max_points"),
    }
    bad = workbook([header, ["par.1.1.9", 1, "Không có"]])
    assert [str(p) for p in read_table(bad, par, "points", "2025.2", source=SOURCE).problems] == [
        "row 2: unknown node par.1.1.9"
    ]


def test_not_a_workbook_missing_columns_same_version_and_no_source(par):
    """Whole-table problems come without a row (or row 1 for the headers)."""
    assert str(read_table(b"PK\x03\x04 no", par, "tree", "x", source=SOURCE).problems[0]).startswith(
        "not a readable .xlsx workbook"
    )
    assert (
        str(read_table(workbook([["Mã", "Tên"]]), par, "tree", "x", source=SOURCE).problems[0])
        == "row 1: missing column(s): Điểm tối đa"
    )
    assert "is the published one" in str(
        read_table(to_xlsx(par), par, "tree", par["version"], source=SOURCE).problems[0]
    )
    assert "source" in str(read_table(to_xlsx(par), par, "tree", "x", source=" ").problems[0])


def test_text_that_looks_like_a_formula_is_exported_as_text_and_reads_back(par):
    """A name starting with '=' is a text cell in the export (no formula runs) and imports unchanged."""
    document = load.normalise(par)
    document["nodes"][0]["name"]["vi"] = '=HYPERLINK("http://example.com","x")'
    data = to_xlsx(document)
    cell = load_workbook(io.BytesIO(data)).worksheets[0]["C2"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://example.com","x")'
    outcome = read_table(data, document, "tree", "next", source=SOURCE)
    assert outcome.ok and outcome.changes == []
