"""Intervals for bounded figures: logit scale, Clopper–Pearson on the effective n, clamped estimates."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis._intervals import bounded_interval, clopper_pearson
from analysis.design import Design
from analysis.estimate import proportion
from analysis.indices import sipas_indices
from analysis.instruments import parse_framework
from analysis.overall import Part, UnitInput, unit_index
from analysis.weights import wave_design

from .test_indices import FRAMEWORK, questionnaire


def unit_rows(answers, unit="u1", stratum="A", clusters=None):
    """Responses of one unit: one row per tuple of item answers."""
    frame = pd.DataFrame(answers, columns=["i1", "i2", "i3", "i4"])
    frame.insert(0, "response_id", [f"{unit}-{i}" for i in range(len(frame))])
    frame["questionnaire"] = "mini-q"
    frame["unit"] = unit
    frame["stratum"] = stratum
    frame["cluster"] = clusters if clusters is not None else ""
    return frame


def two_units(frames, population, sample):
    """SIPAS indices of units u1 (stratum A) and u2 (stratum B) from their responses."""
    strata = pd.DataFrame({"stratum": ["A", "B"], "unit": ["u1", "u2"], "group": ["g", "g"],
                           "population_size": list(population), "sample_size": list(sample)})
    design = wave_design(pd.concat(frames, ignore_index=True), strata)
    return sipas_indices(design, questionnaire(), FRAMEWORK)


def check_ordered(table):
    """0 <= ci_low <= estimate <= ci_high <= 100 wherever there is an estimate."""
    rows = table[table["estimate"].notna()]
    assert (rows["ci_low"] >= 0).all() and (rows["ci_high"] <= 100).all()
    assert (rows["ci_low"] <= rows["estimate"]).all() and (rows["estimate"] <= rows["ci_high"]).all()


def test_logit_interval_is_asymmetric_near_the_bound():
    """At 90% with SE 4 and 30 df the interval reaches further down than up."""
    est, low, high = bounded_interval(90.0, 4.0, 30, 40, 100.0)
    assert est == 90.0
    assert 90 - low > high - 90 > 0
    eta, half = np.log(9), stats.t.ppf(0.975, 30) * 0.04 / 0.09
    assert low == pytest.approx(100 / (1 + np.exp(-(eta - half))))


def test_unit_at_100_percent_gets_clopper_pearson_on_n():
    """Everyone satisfied: no zero-width interval, but the exact interval for 28 of 28."""
    est, low, high = bounded_interval(100.00000000000001, 0.0, 27, 28, 100.0)
    assert est == 100.0 and high == 100.0
    assert low == pytest.approx(100 * 0.025 ** (1 / 28))
    assert low < est


def test_zero_variance_inside_the_range_uses_clopper_pearson():
    """A composite with zero variance at 50% gets the exact interval of 14 in 28 (not a point)."""
    _, low, high = bounded_interval(50.0, 0.0, 10, 28, 100.0)
    cp = clopper_pearson(14, 28)
    assert (low, high) == pytest.approx((100 * cp[0], 100 * cp[1]))


def test_no_degrees_of_freedom_uses_the_effective_n():
    """One cluster (df 0) with a positive SE: Clopper–Pearson on n_eff = p(1-p)/var, at most n."""
    _, low, high = bounded_interval(80.0, 15.0, 0, 12, 100.0)
    n_eff = 0.8 * 0.2 / 0.0225
    cp = clopper_pearson(0.8 * n_eff, n_eff)
    assert (low, high) == pytest.approx((100 * cp[0], 100 * cp[1]))
    _, low2, _ = bounded_interval(80.0, 1.0, 0, 12, 100.0)  # n_eff would be 16 > 12: capped
    assert low2 == pytest.approx(100 * clopper_pearson(0.8 * 12, 12)[0])


def test_one_respondent_and_nothing_observed():
    """One respondent gives a wide interval; no valid answer gives none."""
    _, low, high = bounded_interval(100.0, 0.0, 0, 1, 100.0)
    assert low == pytest.approx(2.5) and high == 100.0
    est, low, high = bounded_interval(np.nan, np.nan, 0, 0, 100.0)
    assert np.isnan(est) and np.isnan(low) and np.isnan(high)


def test_points_use_their_own_maximum():
    """PAR points on 0–2.5: clamped to the maximum, interval inside it."""
    est, low, high = bounded_interval(2.5000000001, 0.0, 5, 20, 2.5)
    assert est == 2.5 and high == 2.5 and 0 < low < 2.5


def test_all_answers_equal_in_a_unit_gives_an_interval_not_a_point():
    """A unit where every answer is 'satisfied': estimate exactly 100, interval below it, for items,
    components and the overall index; the other unit is unaffected."""
    sat = unit_rows([("5", "4", "5", "4")] * 12, "u1", "A")
    mixed = unit_rows([("5", "1", "4", "2"), ("2", "4", "5", "5"), ("4", "4", "1", "4")] * 4, "u2", "B")
    table = two_units((sat, mixed), (200, 200), (15, 15))
    check_ordered(table)
    u1 = table[table["unit"] == "u1"]
    assert (u1["estimate"] == 100.0).all()
    assert (u1["ci_high"] == 100.0).all() and (u1["ci_low"] < 100).all() and (u1["ci_low"] > 60).all()
    item = u1[u1["code"] == "x.c1.i1"].iloc[0]
    assert item["ci_low"] == pytest.approx(100 * 0.025 ** (1 / 12))


def test_one_cluster_unit_has_an_interval():
    """A unit whose respondents are all in one cluster (0 df) still gets an interval."""
    rows = unit_rows([("5", "1", "4", "2"), ("2", "4", "5", "5"), ("4", "4", "1", "4")] * 4, "u1", "A",
                     clusters="k1")
    other = unit_rows([("5", "1", "4", "2"), ("2", "4", "5", "5")] * 6, "u2", "B",
                      clusters=["k2", "k3"] * 6)
    table = two_units((rows, other), (200, 200), (15, 15))
    check_ordered(table)
    top = table[(table["unit"] == "u1") & (table["code"] == "x")].iloc[0]
    assert top["df"] == 0
    assert np.isfinite(top["ci_low"]) and top["ci_low"] < top["estimate"] < top["ci_high"]


def test_one_respondent_unit():
    """A unit with one respondent: intervals inside 0–100 and containing the estimate."""
    rows = unit_rows([("5", "1", "4", "2")], "u1", "A")
    other = unit_rows([("5", "1", "4", "2"), ("2", "4", "5", "5")] * 3, "u2", "B")
    table = two_units((rows, other), (50, 50), (5, 8))
    check_ordered(table)
    item = table[(table["unit"] == "u1") & (table["code"] == "x.c1.i1")].iloc[0]
    assert item["estimate"] == 100.0 and item["ci_low"] == pytest.approx(2.5)


def test_proportion_at_one_has_an_exact_interval():
    """estimate.proportion with ci='logit' at p = 1: Clopper–Pearson on n, not a point."""
    design = Design(pd.DataFrame({"y": ["a"] * 20}))
    row = proportion(design, "y").iloc[0]
    assert row["estimate"] == 1.0 and row["ci_high"] == 1.0
    assert row["ci_low"] == pytest.approx(0.025 ** (1 / 20))


def test_overall_index_at_100_is_clamped_with_an_interval():
    """The overall index of a unit with full survey points: 100, interval below it, never above."""
    fw = parse_framework({"kind": "framework", "id": "p", "version": "1", "index": "par",
                          "status": "verified", "source": "t", "name": {"vi": "P", "en": "P"},
                          "nodes": [{"code": "f", "level": "field", "name": {"vi": "F", "en": "F"},
                                     "max_points": 10, "status": "verified", "source": "t",
                                     "children": [{"code": "f.1", "level": "criterion",
                                                   "name": {"vi": "A", "en": "A"}, "method": "survey",
                                                   "max_points": 10, "status": "verified",
                                                   "source": "t"}]}]})
    unit = UnitInput("u", parts={"survey": Part({"f.1": 10.000000000001}, {"f.1": 0.0}, 0.0, {}, 20, 25)})
    result = unit_index(fw, [], unit)
    assert result.index == 100.0 and result.ci_high == 100.0
    assert result.ci_low == pytest.approx(100 * 0.025 ** (1 / 25))
