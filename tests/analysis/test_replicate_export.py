"""The report's .sav/.dta with replicate weights, and the instructions that go with them."""

import numpy as np
import pyreadstat
import pytest

from analysis import estimate, synthetic
from analysis.quality import QualityPolicy
from analysis.replicates import make_replicates
from analysis.report import write_report
from analysis.weights import wave_design
from tests.analysis.test_exports import UNITS, load


@pytest.fixture(scope="module")
def sipas():
    """Synthetic SIPAS service responses and strata over three units."""
    return synthetic.responses(load("sipas-service.yaml"), UNITS, per_unit=25, seed=7)


def _report(tmp_path, sipas, **kwargs):
    return write_report(sipas[0], sipas[1], {"sipas-service": load("sipas-service.yaml")},
                        {"sipas-2023": load("frameworks/sipas-2023.yaml")}, tmp_path, QualityPolicy(),
                        **kwargs)


def test_bootstrap_weights_in_sav_and_dta_with_instructions(tmp_path, sipas):
    """repw_1..repw_R next to the full-sample weight; Stata, R and SPSS lines; the same SEs."""
    files = _report(tmp_path, sipas, replicates="bootstrap", n_replicates=30, seed=5)
    for name in ("replicate_weights.txt", "replicate_weights.csv"):
        assert name in files and (tmp_path / name).is_file()
    frame, meta = pyreadstat.read_dta(str(tmp_path / "responses.dta"))
    reps = [f"repw_{r}" for r in range(1, 31)]
    assert set(reps) <= set(frame.columns) and "weight" in frame.columns and "repw_31" not in frame.columns
    assert meta.column_names_to_labels["repw_1"].startswith("Trọng số lặp 1")
    sav, _ = pyreadstat.read_sav(str(tmp_path / "responses.sav"))
    np.testing.assert_allclose(sav[reps].to_numpy(), frame[reps].to_numpy())
    # the exported weights are the design's: the same replicate SE as computed in the package
    wd = wave_design(sipas[0], sipas[1])
    rw = make_replicates(wd.design, "bootstrap", replicates=30, seed=5)
    np.testing.assert_allclose(frame[reps].to_numpy(), rw.matrix())
    np.testing.assert_allclose(frame["weight"], wd.design.weights)
    y = (frame["a1_signs"] >= 4).astype(float).where(frame["a1_signs"].between(1, 5))
    ok = y.notna().to_numpy()
    full = np.average(y[ok], weights=frame.loc[ok, "weight"])
    thetas = np.array([np.average(y[ok], weights=frame.loc[ok, c]) for c in reps])
    by_hand = ((thetas - full) ** 2).sum() / 29
    wd.design.data["sat"] = y.to_numpy()  # the same rows, in the same order
    got = estimate.mean(wd.design, "sat", variance=rw).iloc[0]
    assert got["se"] ** 2 == pytest.approx(by_hand, rel=1e-9)
    text = (tmp_path / "replicate_weights.txt").read_text(encoding="utf-8")
    assert "svyset [pw=weight], bsrweight(repw_1-repw_30) vce(bootstrap) mse dof(" in text
    assert "svrepdesign(" in text and 'type = "bootstrap", scale = 1/(30 - 1)' in text
    assert "WEIGHT BY repw_r" in text and text.startswith("TRỌNG SỐ LẶP / REPLICATE WEIGHTS")
    assert "replicate_weights.txt" in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_jackknife_export_and_its_limit(tmp_path, sipas):
    """JKn has one replicate per PSU (here each response) with per-replicate multipliers."""
    _report(tmp_path, sipas, replicates="jackknife")
    frame, _ = pyreadstat.read_dta(str(tmp_path / "responses.dta"))
    n = len(frame)
    assert f"repw_{n}" in frame.columns
    text = (tmp_path / "replicate_weights.txt").read_text(encoding="utf-8")
    assert f"jkrweight(repw_1-repw_{n}, multiplier(" in text and "vce(jackknife) mse" in text
    assert 'type = "JKn", scale = 1, rscales = m$rscale' in text
    many = synthetic.responses(load("sipas-service.yaml"), UNITS, per_unit=400, seed=1)
    with pytest.raises(ValueError, match="export bootstrap replicate weights instead"):
        write_report(many[0], many[1], [load("sipas-service.yaml")], [load("frameworks/sipas-2023.yaml")],
                     tmp_path / "big", replicates="jackknife")


def test_no_replicates_by_default(tmp_path, sipas):
    """Without the option the files are as before."""
    files = _report(tmp_path, sipas)
    frame, _ = pyreadstat.read_dta(str(tmp_path / "responses.dta"))
    assert "replicate_weights.txt" not in files and not any(c.startswith("repw_") for c in frame.columns)


def test_command_line_adds_replicate_weights(tmp_path, sipas):
    """python -m analysis --replicates bootstrap --replicate-count 12 writes the columns and instructions."""
    import subprocess
    import sys

    from tests.analysis.test_exports import ROOT, export_folder

    export_folder(tmp_path, sipas)
    result = subprocess.run([sys.executable, "-m", "analysis", "--export", str(tmp_path), "--out",
                             str(tmp_path / "o"), "--replicates", "bootstrap", "--replicate-count", "12"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    frame, _ = pyreadstat.read_sav(str(tmp_path / "o" / "responses.sav"))
    assert "repw_12" in frame.columns and "repw_13" not in frame.columns
    text = (tmp_path / "o" / "replicate_weights.txt").read_text(encoding="utf-8")
    assert "bsrweight(repw_1-repw_12)" in text


def test_scoped_report_keeps_the_whole_wave_replicates_of_its_rows(tmp_path, sipas):
    """A report for some units exports their rows with the wave's replicate weights, row for row."""
    _report(tmp_path, sipas, units={"u2"}, replicates="bootstrap", n_replicates=10, seed=9)
    frame, _ = pyreadstat.read_dta(str(tmp_path / "responses.dta"))
    assert set(frame["unit"]) == {"u2"}
    wd = wave_design(sipas[0], sipas[1])
    rows = (wd.data["unit"] == "u2").to_numpy()
    reps = [f"repw_{r}" for r in range(1, 11)]
    np.testing.assert_allclose(frame[reps].to_numpy(),
                               make_replicates(wd.design, "bootstrap", 10, seed=9).matrix(rows))
