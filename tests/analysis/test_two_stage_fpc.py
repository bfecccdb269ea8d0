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


def village_wave(census=False):
    """Export rows of one stratum: village T1 taken with certainty, T2 and T3 drawn by PPS."""
    from analysis.weights import wave_design

    rng = np.random.default_rng(21)
    size = {"T1": 6 if census else 120, "T2": 30, "T3": 30}
    answered = {"T1": 6, "T2": 4, "T3": 4}
    prob = {"T1": 1.0, "T2": 0.5, "T3": 0.5}
    rows = [{"response_id": f"r{v}{i}", "unit": "u1", "stratum": "S", "cluster": v,
             "cluster_probability": prob[v], "cluster_population": size[v],
             "y": float(rng.integers(1, 6))} for v in size for i in range(answered[v])]
    if census:
        rows = [r for r in rows if r["cluster"] == "T1"]
    frame = pd.DataFrame(rows)
    strata = pd.DataFrame({"stratum": ["S"], "unit": ["u1"], "group": ["g"],
                           "population_size": [6 if census else 180],
                           "sample_size": [6 if census else 30]})
    return frame, wave_design(frame, strata)


def test_village_taken_with_certainty_is_its_own_stratum_with_fpc():
    frame, wd = village_wave()
    w = wd.data["weight"].to_numpy()
    y = frame["y"].to_numpy()
    z = w * (y - (w * y).sum() / w.sum()) / w.sum()
    t1 = frame["cluster"].to_numpy() == "T1"
    # certainty village: people are PSUs, fpc 6 of 120 respondents
    var = (1 - 6 / 120) * 6 / 5 * ((z[t1] - z[t1].mean()) ** 2).sum()
    # PPS villages: two PSUs, with replacement
    totals = np.array([z[frame["cluster"].to_numpy() == v].sum() for v in ("T2", "T3")])
    var += 2 / 1 * ((totals - totals.mean()) ** 2).sum()
    assert estimate.mean(wd.design, "y")["se"].iloc[0] == pytest.approx(np.sqrt(var), rel=1e-12)


def test_census_of_villages_and_people_has_se_exactly_zero():
    _, wd = village_wave(census=True)
    for table in (estimate.mean(wd.design, "y"), estimate.mean(wd.design, "y", by="unit"),
                  estimate.total(wd.design, "y")):
        assert (table["se"] == 0.0).all()
