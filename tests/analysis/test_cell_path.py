"""The cell-total path of the index trees agrees with the row-level path it replaces.

``analysis._cells.tree_table`` aggregates each item to (PSU, domain, code)
cells when the variance is the first stage's alone; otherwise, or when the
histograms would be too large, it scores every row (``leaf_matrices`` +
``with_total``).  Both must give the same table up to summation order.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import Design, _cells
from analysis.indices import par_points, sipas_indices
from analysis.weights import wave_design

SAT = [{"code": c, "label": {"vi": c, "en": c}} for c in "123"] + [
    {"code": c, "label": {"vi": c, "en": c}, "score": "satisfied"} for c in "45"] + [
    {"code": "9", "label": {"vi": "9", "en": "9"}, "excluded": True}]


def sipas_docs(n_comp=3, per_comp=3):
    """A likert questionnaire and the SIPAS-style framework its rows score."""
    rows = [{"id": f"c{c}_i{i}", "label": {"vi": "r", "en": "r"},
             "score": {"node": f"s.c{c}.i{i}", "method": "satisfied"}}
            for c in range(n_comp) for i in range(per_comp)]
    q = {"id": "q", "version": "1", "framework": "f", "scales": {"sat": SAT},
         "sections": [{"id": "p", "items": [{"id": "m", "type": "likert", "scale": "sat",
                                             "label": {"vi": "M", "en": "M"}, "rows": rows}]}]}
    comps = [{"code": f"s.c{c}", "level": "component", "name": {"vi": "c", "en": "c"},
              "children": [{"code": f"s.c{c}.i{i}", "level": "item", "name": {"vi": "i", "en": "i"}}
                           for i in range(per_comp)]} for c in range(n_comp)]
    fw = {"id": "f", "index": "sipas", "status": "verified", "name": {"vi": "F", "en": "F"},
          "nodes": [{"code": "s", "level": "overall", "name": {"vi": "S", "en": "S"}, "children": comps}]}
    return q, fw


def responses(n=3000, seed=5, categorical=True):
    """Answers over 6 strata (= units) and 60 PSUs, some blank, excluded or missing units."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 60, n)
    stratum = psu % 6
    latent = rng.normal(0, 0.5, 6)[stratum] + rng.normal(0, 1, n)
    frame = pd.DataFrame({"questionnaire": "q", "stratum": [f"S{s}" for s in stratum],
                          "unit": [f"U{s}" for s in stratum], "cluster": [f"C{p}" for p in psu]})
    codes = np.array(["1", "2", "3", "4", "5", "9"], dtype=object)
    for c in range(3):
        for i in range(3):
            col = codes[np.searchsorted([-1.0, -0.3, 0.3, 1.0], latent + rng.normal(0, 1, n))]
            col[rng.random(n) < 0.05] = "9"
            col[rng.random(n) < 0.05] = None
            frame[f"c{c}_i{i}"] = pd.Categorical(col) if categorical else col
    frame.loc[frame["unit"] == "U2", "c1_i1"] = None  # a leaf with no answer in one unit
    strata = pd.DataFrame({"stratum": [f"S{s}" for s in range(6)], "unit": [f"U{s}" for s in range(6)],
                           "group": "g", "population_size": 5000, "sample_size": 600})
    return frame, strata


def row_level(monkeypatch):
    """Force the row-level path."""
    monkeypatch.setattr(_cells, "_CELL_BINS_PER_ROW", 0)
    monkeypatch.setattr(_cells, "_CELL_BINS_MIN", 0)


def assert_same(fast: pd.DataFrame, slow: pd.DataFrame):
    """Same columns, labels and counts; floats equal to 1e-10 relative (SEs near 0 to 1e-12)."""
    assert list(fast.columns) == list(slow.columns)
    assert (fast.dtypes == slow.dtypes).all()
    for col in fast.columns:
        if pd.api.types.is_float_dtype(fast[col]):
            np.testing.assert_allclose(fast[col], slow[col], rtol=1e-10, atol=1e-12, equal_nan=True)
        else:
            pd.testing.assert_series_equal(fast[col], slow[col])


def both(monkeypatch, run):
    """The table from the cell path, then from the row-level path."""
    fast = run()
    with monkeypatch.context() as m:
        row_level(m)
        slow = run()
    return fast, slow


@pytest.mark.parametrize("by", ["unit", None, ["unit", "questionnaire"], "cluster"])
@pytest.mark.parametrize("categorical", [True, False])
def test_sipas_cell_path_matches_rows(monkeypatch, by, categorical):
    """Weighted cluster design, by units, pooled, two by-columns and one PSU per domain."""
    frame, strata = responses(categorical=categorical)
    frame.loc[frame.index[:40], "unit"] = None  # rows outside every domain still count when pooled
    frame.loc[frame.index[-30:], "questionnaire"] = "other"  # rows of another questionnaire
    q, fw = sipas_docs()
    wd = wave_design(frame, strata)
    fast, slow = both(monkeypatch, lambda: sipas_indices(wd, q, fw, by=by,
                                                         weights={"s.c0": 2.0, "s.c1.i0": 0.5}))
    assert_same(fast, slow)
    if by == "unit":
        row = fast[(fast["code"] == "s.c1.i1") & (fast["unit"] == "U2")].iloc[0]
        assert np.isnan(row["estimate"]) and not row["complete"]


@pytest.mark.parametrize("singleton", ["centre", "certainty"])
def test_zero_weights_and_lonely_psus(monkeypatch, singleton):
    """A Design with zero weights, and strata holding a single PSU."""
    frame, _ = responses(n=1500, seed=9)
    rng = np.random.default_rng(1)
    frame["w"] = rng.uniform(0.5, 3.0, len(frame))
    frame.loc[frame.index[::17], "w"] = 0.0
    frame["psu"] = frame["cluster"].str[1:].astype(int)
    frame.loc[frame["stratum"] == "S4", "psu"] = 4  # S4 becomes one PSU
    design = Design(frame, weights="w", strata="stratum", ids="psu", nest=True, singleton=singleton)
    q, fw = sipas_docs()
    fast, slow = both(monkeypatch, lambda: sipas_indices(design, q, fw, by="unit"))
    assert_same(fast, slow)


def test_rows_as_psus_with_fpc(monkeypatch):
    """No clusters: every row its own PSU, with the stratum population as fpc."""
    frame, strata = responses(n=800, seed=3)
    wd = wave_design(frame.drop(columns=["cluster"]), strata)
    q, fw = sipas_docs()
    fast, slow = both(monkeypatch, lambda: sipas_indices(wd, q, fw, by="unit"))
    assert_same(fast, slow)


def test_par_points_pool_items_of_several_questionnaires(monkeypatch):
    """Fraction-scored leaves pooling items of two questionnaires (several items per leaf)."""
    scale = [{"code": "1", "label": {"vi": "a", "en": "a"}, "score": 1.0},
             {"code": "2", "label": {"vi": "b", "en": "b"}, "score": 0.5},
             {"code": "3", "label": {"vi": "c", "en": "c"}, "score": 0.0},
             {"code": "8", "label": {"vi": "d", "en": "d"}, "excluded": True}]

    def questionnaire(qid, ids):
        items = [{"id": i, "type": "single_choice", "scale": "x", "label": {"vi": i, "en": i},
                  "score": {"node": node, "method": "fraction"}} for i, node in ids]
        return {"id": qid, "version": "1", "framework": "p", "scales": {"x": scale},
                "sections": [{"id": "s", "items": items}]}

    qa = questionnaire("qa", [("a1", "f1.c1.s1"), ("a2", "f1.c1.s2"), ("a3", "f1.c2")])
    qb = questionnaire("qb", [("b1", "f1.c1.s1"), ("b2", "f1.c1.s1"), ("b3", "f1.c2")])
    leaf = {"level": "sub_criterion", "name": {"vi": "l", "en": "l"}, "method": "survey"}
    fw = {"id": "p", "index": "par", "status": "verified", "name": {"vi": "P", "en": "P"},
          "nodes": [{"code": "f1", "level": "field", "name": {"vi": "F", "en": "F"}, "children": [
              {"code": "f1.c1", "level": "criterion", "name": {"vi": "C", "en": "C"}, "method": "survey",
               "children": [{"code": "f1.c1.s1", "max_points": 1.0, **leaf},
                            {"code": "f1.c1.s2", "max_points": 0.5, **leaf}]},
              {"code": "f1.c2", "level": "criterion", "name": {"vi": "C2", "en": "C2"}, "method": "survey",
               "max_points": 2.0}]}]}
    rng = np.random.default_rng(4)
    n = 2000
    psu = rng.integers(0, 40, n)
    frame = pd.DataFrame({"questionnaire": np.where(rng.random(n) < 0.5, "qa", "qb"),
                          "stratum": [f"S{p % 4}" for p in psu], "unit": [f"U{p % 4}" for p in psu],
                          "cluster": [f"C{p}" for p in psu]})
    for col in ["a1", "a2", "a3", "b1", "b2", "b3"]:
        values = rng.choice(np.array(["1", "2", "3", "8", None], dtype=object), n)
        frame[col] = np.where(frame["questionnaire"] == col[0].replace("a", "qa").replace("b", "qb"),
                              values, None)
    strata = pd.DataFrame({"stratum": [f"S{s}" for s in range(4)], "unit": [f"U{s}" for s in range(4)],
                           "group": "g", "population_size": 9000, "sample_size": 700})
    wd = wave_design(frame, strata)
    fast, slow = both(monkeypatch, lambda: par_points(wd, [qa, qb], fw))
    assert_same(fast, slow)
    assert fast["n_valid"].gt(0).all()


@pytest.mark.parametrize("limit", [8 * 41, 64 * 41, 1 << 20])
def test_count_flags_and_their_unions(limit):
    """Counts per cell of each flag, and of unions of flags read from the packed histograms.

    A small ``limit`` packs 3 or 6 flags per pass, so some unions fall within one pass (read from
    its patterns) and others span passes (packed as their own flag); every count must equal a
    plain histogram of the flag, or of the OR of its members.
    """
    rng = np.random.default_rng(4)
    n, m = 5000, 40
    cell = rng.integers(0, m + 1, n)  # cell m: rows dropped
    flags = [(j, rng.random(n) < p) for j, p in enumerate([0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.6, 0.4, 0.8])]
    groups = [(9, [0, 1]), (10, [2, 3, 4, 5]), (11, list(range(9))), (12, [8]), (13, [3, 7])]
    count = np.zeros((m, 14))
    _cells._count_flags(cell, m, flags, count, limit, groups)
    for col, flag in flags:
        np.testing.assert_array_equal(count[:, col], np.bincount(cell[flag], minlength=m + 1)[:m])
    for col, members in groups:
        union = np.logical_or.reduce([flags[p][1] for p in members])
        np.testing.assert_array_equal(count[:, col], np.bincount(cell[union], minlength=m + 1)[:m])
