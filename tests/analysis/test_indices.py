"""SIPAS composite indices and their linearised SEs, checked against hand arithmetic."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.indices import sipas_indices
from analysis.weights import wave_design

SAT = [{"code": c, "label": {"vi": f"Mức {c}", "en": f"Level {c}"}} for c in ("1", "2", "3")] + [
    {"code": "4", "label": {"vi": "Hài lòng", "en": "Satisfied"}, "score": "satisfied"},
    {"code": "5", "label": {"vi": "Rất hài lòng", "en": "Very satisfied"}, "score": "satisfied"},
    {"code": "9", "label": {"vi": "Không có ý kiến", "en": "No opinion"}, "excluded": True},
]


def node(code, level, children=None, status="verified"):
    """A framework node dict."""
    out = {"code": code, "level": level, "name": {"vi": f"Nút {code}", "en": f"Node {code}"},
           "method": "sipas", "status": status, "source": "test"}
    if children:
        out["children"] = children
    return out


FRAMEWORK = {"kind": "framework", "id": "mini", "version": "1", "index": "sipas", "status": "verified",
             "source": "test", "name": {"vi": "Mini", "en": "Mini"},
             "nodes": [node("x", "overall", [
                 node("x.c1", "component", [node("x.c1.i1", "item"), node("x.c1.i2", "item")]),
                 node("x.c2", "component", [node("x.c2.i3", "item"), node("x.c2.i4", "item")])])]}


def questionnaire(rows=("i1", "i2", "i3", "i4"), nodes=None):
    """A one-matrix questionnaire whose rows score the mini framework's items."""
    nodes = nodes or {"i1": "x.c1.i1", "i2": "x.c1.i2", "i3": "x.c2.i3", "i4": "x.c2.i4"}
    return {"id": "mini-q", "version": "1", "framework": "mini", "title": {"vi": "Phiếu", "en": "Form"},
            "scales": {"sat": SAT},
            "sections": [{"id": "s1", "title": {"vi": "Trang 1", "en": "Page 1"}, "items": [
                {"id": "m", "type": "likert", "scale": "sat", "label": {"vi": "Ma trận", "en": "Matrix"},
                 "rows": [{"id": r, "label": {"vi": f"Dòng {r}", "en": f"Row {r}"},
                           "score": {"node": nodes[r], "method": "satisfied"}} for r in rows]}]}]}


def hand_data():
    """Six respondents in two strata (A: N=30, B: N=60), three respondents each."""
    answers = [("A", "5", "4", "2", "9"), ("A", "4", "2", "4", "4"), ("A", "1", "2", "9", "5"),
               ("B", "5", "5", "4", "4"), ("B", "2", "3", "3", "2"), ("B", "4", "9", "5", "1")]
    resp = pd.DataFrame(answers, columns=["stratum", "i1", "i2", "i3", "i4"])
    resp.insert(0, "response_id", [f"r{i}" for i in range(6)])
    resp["questionnaire"] = "mini-q"
    resp["unit"] = resp["stratum"].map({"A": "u1", "B": "u2"})
    resp["cluster"] = ""
    strata = pd.DataFrame({"stratum": ["A", "B"], "unit": ["u1", "u2"], "group": ["g", "g"],
                           "population_size": [30, 60], "sample_size": [5, 4]})
    return resp, strata


def pooled(table, code):
    """The pooled (all units) row of one code."""
    return table[(table["code"] == code) & (table["unit"] == "ALL")].iloc[0]


def test_sipas_indices_and_ses_match_hand_arithmetic():
    """Item, component and overall indices and SEs equal the hand-worked linearisation.

    Weights: w = N_h / r_h = 30/3 = 10 in A, 60/3 = 20 in B (fpc f_A = 3/30, f_B = 3/60).
    Answers (satisfied = 4 or 5; 9 excluded): i1 = 5,4,1 | 5,2,4; i2 = 4,2,2 | 5,3,9;
    i3 = 2,4,9 | 4,3,5; i4 = 9,4,5 | 4,2,1.
    Item ratios R_j = sum(w s_j) / sum(w v_j):
      i1 = (10+10+20+20)/(30+60) = 60/90 = 2/3;  i2 = (10+20)/(30+40) = 3/7;
      i3 = (10+20+20)/(20+60) = 5/8;             i4 = (10+10+20)/(20+60) = 1/2.
    Components (equal weights): c1 = (2/3 + 3/7)/2 = 23/42 = 54.762%;
      c2 = (5/8 + 1/2)/2 = 9/16 = 56.25%; overall = (23/42 + 9/16)/2 = 373/672 = 55.506%.
    Linearised scores z_ij = w_i (s_ij - R_j v_ij) / V_j, e.g. i1: 10(1 - 2/3)/90 = 1/27, ...
      z_i1 = (1/27, 1/27, -2/27 | 2/27, -4/27, 2/27); z_i2 = (4/49, -3/49, -3/49 | 8/49, -6/49, 0).
    Variance: sum_h (1 - f_h) n_h/(n_h - 1) sum_i (z_hi - zbar_h)^2, n_h = 3:
      i1: A mean 0, SS = 3(1/27)^2.. = 2/243; B SS = 8/243;
          V = 0.9 * 1.5 * 2/243 + 0.95 * 1.5 * 8/243 = 47/810, SE = 24.088 points.
      c1 scores (z_i1 + z_i2)/2 = (157/2646, -16/1323, -179/2646 | 157/1323, -179/1323, 1/27):
          A mean -1/147, SS = 0.0081045; B mean 1/147, SS = 0.0336211;
          V = 0.9 * 1.5 * 0.0081045 + 0.95 * 1.5 * 0.0336211 = 0.0588511, SE = 24.259.
      c2 scores: V = 8349/163840, SE = 22.574; overall scores (c1 + c2)/2: V = 0.0468487, SE = 21.645.
    """
    resp, strata = hand_data()
    table = sipas_indices(wave_design(resp, strata), questionnaire(), FRAMEWORK)
    expected = {"x.c1.i1": (200 / 3, 24.088314876309777), "x.c1.i2": (300 / 7, 27.735587377297094),
                "x.c2.i3": (62.5, 26.48425977113576), "x.c2.i4": (50.0, 25.0780033096736),
                "x.c1": (2300 / 42, 24.25925013338324), "x.c2": (56.25, 22.573934515968855),
                "x": (37300 / 672, 21.644568552683197)}
    for code, (est, se) in expected.items():
        row = pooled(table, code)
        assert row["estimate"] == pytest.approx(est, rel=1e-12), code
        assert row["se"] == pytest.approx(se, rel=1e-12), code


def test_sipas_counts_valid_answers_and_design_df():
    """n_valid counts non-excluded answers; df is PSUs minus strata among them."""
    resp, strata = hand_data()
    table = sipas_indices(wave_design(resp, strata), questionnaire(), FRAMEWORK)
    assert pooled(table, "x.c1.i2")["n_valid"] == 5
    assert pooled(table, "x.c1.i2")["df"] == 3
    assert pooled(table, "x")["df"] == 4


def test_sipas_interval_is_logit_t_interval_with_design_df():
    """The 95% CI is the logit-scale interval with t(df) (here unweighted SRS of 400, df = 399)."""
    from scipy import stats
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"questionnaire": "mini-q", "unit": "u"} | {
        r: rng.choice(["2", "4", "5"], size=400) for r in ("i1", "i2", "i3", "i4")})
    row = pooled(sipas_indices(frame, questionnaire(), FRAMEWORK), "x")
    p = row["estimate"] / 100
    eta, half = np.log(p / (1 - p)), stats.t.ppf(0.975, 399) * row["se"] / 100 / (p * (1 - p))
    expected = (100 / (1 + np.exp(-(eta - half))), 100 / (1 + np.exp(-(eta + half))))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(expected)


def test_sipas_interval_stays_inside_the_percent_range():
    """With six respondents the symmetric t interval would pass 0 and 100; the logit one stays inside."""
    resp, strata = hand_data()
    row = pooled(sipas_indices(wave_design(resp, strata), questionnaire(), FRAMEWORK), "x")
    assert 0.0 < row["ci_low"] < row["estimate"] < row["ci_high"] < 100.0


def test_sipas_per_unit_rows_use_the_unit_domain():
    """Unit rows estimate within their domain: unit u1's item i1 is 2 of 3 satisfied."""
    resp, strata = hand_data()
    table = sipas_indices(wave_design(resp, strata), questionnaire(), FRAMEWORK)
    row = table[(table["code"] == "x.c1.i1") & (table["unit"] == "u1")].iloc[0]
    assert row["estimate"] == pytest.approx(200 / 3)


def test_composite_se_differs_from_independence_assumption():
    """Correlated items: the joint linearised SE of c1 (24.26) is not sqrt(sum var)/2 (18.37)."""
    resp, strata = hand_data()
    table = sipas_indices(wave_design(resp, strata), questionnaire(), FRAMEWORK)
    se1, se2 = pooled(table, "x.c1.i1")["se"], pooled(table, "x.c1.i2")["se"]
    independent = math.sqrt(se1**2 + se2**2) / 2
    assert pooled(table, "x.c1")["se"] == pytest.approx(24.25925013338324)
    assert independent == pytest.approx(18.3678368401394)


def test_identical_items_give_component_se_equal_to_item_se():
    """Two perfectly correlated items average to the same index with the same SE (not SE/sqrt 2)."""
    rng = np.random.default_rng(3)
    answers = rng.choice(["1", "2", "3", "4", "5"], size=40)
    frame = pd.DataFrame({"questionnaire": "mini-q", "unit": "u", "i1": answers, "i2": answers,
                          "i3": answers, "i4": answers})
    table = sipas_indices(frame, questionnaire(), FRAMEWORK)
    assert pooled(table, "x.c1")["se"] == pytest.approx(pooled(table, "x.c1.i1")["se"])


def test_aggregation_weights_are_configurable():
    """Weight 3 on c1 and 1 on c2 gives overall = (3 * 23/42 + 9/16) / 4."""
    resp, strata = hand_data()
    table = sipas_indices(wave_design(resp, strata), questionnaire(), FRAMEWORK,
                          weights={"x.c1": 3, "x.c2": 1})
    assert pooled(table, "x")["estimate"] == pytest.approx(100 * (3 * 23 / 42 + 9 / 16) / 4)


def test_component_without_any_answers_is_left_out_and_flagged():
    """Items nobody answered are NaN; the overall index uses the rest and is marked incomplete."""
    resp, strata = hand_data()
    resp = resp.drop(columns=["i3", "i4"])
    table = sipas_indices(wave_design(resp, strata), questionnaire(), FRAMEWORK)
    assert np.isnan(pooled(table, "x.c2")["estimate"])
    assert pooled(table, "x")["estimate"] == pytest.approx(2300 / 42)
    assert not pooled(table, "x")["complete"]
