"""The shortcuts of the estimators (issue 12, item 7) give the tables of the general paths.

* a factor's levels from one (PSU, domain, level) weight histogram (``estimate._factor_cells``)
  against the n x levels indicator scores;
* domain codes read from a categorical or integer column (``_frame._coded_domain``) against
  pandas' groupby codes;
* the cached whole-design n and df against the per-cluster counts.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import Design, _frame, estimate


def sample(seed=3, n=2000):
    """Stratified clusters with a lonely PSU, zero weights, missing answers and domains."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 41, n)
    stratum = np.minimum(psu // 5, 7)  # stratum 7 holds PSUs 35..40; PSU 40 is ...
    psu[psu == 40] = 39
    frame = pd.DataFrame({
        "stratum": stratum, "psu": psu,
        "w": rng.uniform(1, 9, n),
        "y": rng.normal(10, 3, n),
        "answer": rng.choice(["a", "b", "c", None], n, p=[0.4, 0.3, 0.25, 0.05]),
        "region": rng.choice(["N", "S", "C", None], n, p=[0.4, 0.3, 0.28, 0.02]),
        "size": rng.integers(1, 4, n),
        "flag": rng.random(n) < 0.3,
    })
    frame.loc[rng.random(n) < 0.03, "w"] = 0.0
    frame["answer_cat"] = pd.Categorical(frame["answer"], categories=["z", "c", "b", "a"])
    frame["region_cat"] = pd.Categorical(frame["region"], categories=["S", "N", "C", "E"])
    frame["size_nullable"] = pd.array(np.where(frame["size"] == 2, None, frame["size"]), dtype="Int64")
    return frame


def row_level(monkeypatch):
    """Force the indicator-matrix path for factors."""
    monkeypatch.setattr(estimate, "_factor_cells", lambda *a, **k: None)


@pytest.mark.parametrize("var", ["answer", "answer_cat", "flag"])
@pytest.mark.parametrize("by", [None, "region", "region_cat", "size", ["region", "size"]])
@pytest.mark.parametrize("func", ["mean", "total", "proportion"])
def test_factor_cells_match_row_level(monkeypatch, var, by, func):
    design = Design(sample(), weights="w", strata="stratum", ids="psu")
    fast = getattr(estimate, func)(design, var, by=by)
    with monkeypatch.context() as m:
        row_level(m)
        slow = getattr(estimate, func)(design, var, by=by)
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-10, atol=1e-12)


def test_factor_cells_lonely_psu_centred(monkeypatch):
    frame = sample()
    frame.loc[frame["stratum"] == 0, "psu"] = 0  # stratum 0 has one PSU
    design = Design(frame, weights="w", strata="stratum", ids="psu", singleton="centre")
    fast = estimate.mean(design, "answer", by="region")
    row_level(monkeypatch)
    slow = estimate.mean(design, "answer", by="region")
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-10, atol=1e-12)


def test_multistage_fpc_keeps_row_level_path():
    frame = sample()
    frame["N1"] = 50
    frame["N2"] = 400
    frame["ssu"] = np.arange(len(frame))
    design = Design(frame, weights="w", strata="stratum", ids=["psu", "ssu"], fpc=["N1", "N2"])
    from analysis._variance import first_stage_only

    assert not first_stage_only(design)
    assert estimate._factor_cells(design, "answer", *(_frame.domains(design, None)[i] for i in (0, 1)),
                                  np.ones(design.n, bool), "mean") is None
    table = estimate.mean(design, "answer")
    assert list(table["level"]) == ["a", "b", "c"]


@pytest.mark.parametrize("by", ["region_cat", "size", "stratum", "size_nullable"])
def test_coded_domains_match_groupby(by):
    design = Design(sample(), weights="w", strata="stratum", ids="psu")
    codes, n_dom, labels, ok = _frame.domains(design, by)
    grouped = design.data.groupby([by], sort=True, observed=True, dropna=True)
    expected = grouped.ngroup().to_numpy()
    assert n_dom == grouped.ngroups
    assert (ok == (expected >= 0)).all()
    assert (codes[ok] == expected[ok]).all() and codes.dtype == np.int64
    pd.testing.assert_frame_equal(labels, grouped.size().index.to_frame(index=False))


def test_cached_whole_design_counts_follow_new_weights():
    design = Design(sample(), weights="w", strata="stratum", ids="psu")
    first = estimate.mean(design, "w")  # every row observed: the cached n and df
    frame = design.data
    assert first["n"].iloc[0] == (frame["w"] != 0).sum()
    assert first["df"].iloc[0] == frame["psu"].nunique() - frame["stratum"].nunique()
    weights = design.weights.copy()
    weights[frame["psu"] == 3] = 0.0  # drop PSU 3: one PSU and its rows fewer
    other = design._replace_weights(weights, [])
    second = estimate.mean(other, "w")
    assert second["n"].iloc[0] == (weights != 0).sum()
    assert second["df"].iloc[0] == first["df"].iloc[0] - 1


@pytest.mark.parametrize("by", [None, "region", "size", ["region", "size"]])
@pytest.mark.parametrize("call", [
    lambda d, by: estimate.mean(d, "y", by=by),
    lambda d, by: estimate.mean(d, ["y", "gap"], by=by),
    lambda d, by: estimate.total(d, ["y", "gap"], by=by),
    lambda d, by: estimate.ratio(d, "y", "w", by=by),
    lambda d, by: estimate.ratio(d, ["y", "gap"], ["w", "size"], by=by),
])
def test_numeric_cells_match_row_level(monkeypatch, by, call):
    frame = sample()
    frame["gap"] = np.where(np.arange(len(frame)) % 7 == 0, np.nan, frame["y"] * 2 - 3)
    design = Design(frame, weights="w", strata="stratum", ids="psu")
    fast = call(design, by)
    monkeypatch.setattr(estimate, "_numeric_cells", lambda *a, **k: None)
    slow = call(design, by)
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-10, atol=1e-12)
