"""Two-stage finite population corrections (issue 12, item 4).

R's ``svydesign(ids=~psu+ssu, strata=~stratum, fpc=~N1+N2)`` gives the multistage variance
(``survey:::multistage``; Lumley 2010, appendix C; Cochran 1977, sec. 10.8): the first stage's
term with its fpc, plus each PSU's second-stage term with its own fpc, multiplied by the
first-stage sampling fraction n_h / N_h.  The formula is written out here, independently of
``analysis._variance``; the published R figures for ``apiclus2`` are in test_estimate.py.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import Design, estimate


def two_stage(census_first=False, census_second=False, seed=4):
    """Two strata: villages (PSUs) drawn from N1 per stratum, people (rows) drawn from N2 per village."""
    rng = np.random.default_rng(seed)
    rows = []
    for h, (n_h, pop_h) in enumerate([(4, 9), (3, 7)]):
        pop_h = n_h if census_first else pop_h
        for i in range(n_h):
            m_i = int(rng.integers(2, 6))
            pop_i = m_i if census_second else m_i + int(rng.integers(1, 30))
            for _ in range(m_i):
                rows.append({"stratum": h, "village": f"{h}-{i}", "N1": pop_h, "N2": pop_i,
                             "n1": n_h, "n2": m_i, "y": rng.normal(10 + h + i, 3)})
    return pd.DataFrame(rows)


def formula_se(frame: pd.DataFrame) -> float:
    """SE of the weighted mean by the two-stage formula, from the rows' scores."""
    w = frame["N1"] / frame["n1"] * frame["N2"] / frame["n2"]
    ybar = (w * frame["y"]).sum() / w.sum()
    z = w * (frame["y"] - ybar) / w.sum()
    var = 0.0
    for _, stratum in frame.assign(z=z).groupby("stratum"):
        n_h, pop_h = stratum["n1"].iloc[0], stratum["N1"].iloc[0]
        totals = stratum.groupby("village")["z"].sum()
        var += (1 - n_h / pop_h) * n_h / (n_h - 1) * ((totals - totals.mean()) ** 2).sum()
        for _, village in stratum.groupby("village"):
            m_i, pop_i = village["n2"].iloc[0], village["N2"].iloc[0]
            second = (1 - m_i / pop_i) * m_i / (m_i - 1) * ((village["z"] - village["z"].mean()) ** 2).sum()
            var += n_h / pop_h * second
    return float(np.sqrt(var))


def design(frame):
    frame = frame.assign(person=np.arange(len(frame)))
    return Design(frame, strata="stratum", ids=["village", "person"], fpc=["N1", "N2"], nest=True)


@pytest.mark.parametrize("census_first", [False, True])
def test_two_stage_fpc_matches_the_formula(census_first):
    frame = two_stage(census_first=census_first)
    out = estimate.mean(design(frame), "y").iloc[0]
    assert out["se"] == pytest.approx(formula_se(frame), rel=1e-12)
    assert out["se"] > 0  # a census of villages keeps the within-village term


def test_weights_are_the_product_of_the_stages():
    frame = two_stage()
    expected = frame["N1"] / frame["n1"] * frame["N2"] / frame["n2"]
    assert design(frame).weights == pytest.approx(expected.to_numpy(), rel=1e-14)


def test_census_at_both_stages_has_se_exactly_zero():
    frame = two_stage(census_first=True, census_second=True)
    d = design(frame)
    for table in (estimate.mean(d, "y"), estimate.total(d, "y"),
                  estimate.mean(d, "y", by="stratum"), estimate.ratio(d, "y", "N2")):
        assert (table["se"] == 0.0).all()
    assert formula_se(frame) == 0.0


def test_with_replacement_second_stage_adds_nothing():
    """Without the second stage's fpc only the first stage's term is kept (R's recursion stops)."""
    frame = two_stage()
    frame = frame.assign(person=np.arange(len(frame)))
    w = frame["N1"] / frame["n1"] * frame["N2"] / frame["n2"]
    weighted = Design(frame.assign(w=w), strata="stratum", ids=["village", "person"], fpc=["N1"],
                      weights="w", nest=True)
    full = estimate.mean(design(frame), "y").iloc[0]["se"]
    first = estimate.mean(weighted, "y").iloc[0]["se"]
    assert 0 < first < full
