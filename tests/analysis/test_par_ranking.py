"""PAR INDEX survey points and CI-aware rankings."""

import pandas as pd
import pytest

from analysis.indices import par_points, rank_units

FRACTION = [{"code": "A", "label": {"vi": "Rất tốt", "en": "Very good"}, "score": 1},
            {"code": "B", "label": {"vi": "Tốt", "en": "Good"}, "score": 0.6},
            {"code": "C", "label": {"vi": "Trung bình", "en": "Fair"}, "score": 0.2},
            {"code": "D", "label": {"vi": "Kém", "en": "Poor"}, "score": 0},
            {"code": "X", "label": {"vi": "Không biết", "en": "Don't know"}, "excluded": True}]


def pnode(code, level, max_points, method=None, children=None):
    """A PAR framework node."""
    out = {"code": code, "level": level, "name": {"vi": f"Tiêu chí {code}", "en": f"Criterion {code}"},
           "max_points": max_points, "status": "provisional", "source": "test"}
    if method:
        out["method"] = method
    if children:
        out["children"] = children
    return out


FRAMEWORK = {"kind": "framework", "id": "mini-par", "version": "1", "index": "par", "status": "verified",
             "source": "t", "name": {"vi": "PAR", "en": "PAR"}, "nodes": [
                 pnode("p.1", "field", 5, children=[
                     pnode("p.1.1", "criterion", 2, "survey",
                           [pnode("p.1.1.1", "sub_criterion", 1.5, "survey"),
                            pnode("p.1.1.2", "sub_criterion", 0.5, "survey")]),
                     pnode("p.1.2", "criterion", 3, "self_assessed")])]}

QUESTIONNAIRE = {"id": "par-q", "version": "1", "framework": "mini-par", "scales": {"q": FRACTION},
                 "sections": [{"id": "s", "items": [
                     {"id": "q1", "type": "single_choice", "scale": "q", "label": {"vi": "Câu 1", "en": "Q1"},
                      "score": {"node": "p.1.1.1", "method": "fraction"}},
                     {"id": "q2", "type": "single_choice", "scale": "q", "label": {"vi": "Câu 2", "en": "Q2"},
                      "score": {"node": "p.1.1.2", "method": "fraction"}}]}]}


def table():
    """Unweighted points of four officials rating unit u1."""
    frame = pd.DataFrame({"questionnaire": "par-q", "unit": "u1", "q1": ["A", "B", "D", "X"],
                          "q2": ["A", "A", "C", "C"]})
    return par_points(frame, QUESTIONNAIRE, FRAMEWORK).set_index(["code", "unit"])


def test_sub_criterion_points_are_max_times_mean_fraction_over_valid_answers():
    """q1: (1 + 0.6 + 0) / 3 valid ('X' excluded) x 1.5 points = 0.8."""
    assert table().loc[("p.1.1.1", "u1"), "estimate"] == pytest.approx(0.8)


def test_criterion_and_field_roll_up_add_survey_points():
    """Criterion = 0.8 + 0.5 x (1 + 1 + 0.2 + 0.2)/4 = 1.1; the field's survey maximum is 2."""
    t = table()
    assert t.loc[("p.1.1", "u1"), "estimate"] == pytest.approx(1.1)
    assert t.loc[("p.1", "u1"), "estimate"] == pytest.approx(1.1)
    assert t.loc[("p.1", "u1"), "max_points"] == pytest.approx(2.0)


def test_points_se_is_max_points_times_ratio_se():
    """SE = 1.5 x sqrt(n/(n-1) sum z_i^2), z_i = (f_i - R) / 3 valid, 0 for the 'X' row, n = 4.

    As R's ``svyratio`` the excluded answer stays in the sample with a zero score.
    """
    f = pd.Series([1.0, 0.6, 0.0])
    z = list((f - f.mean()) / 3) + [0.0]
    se = 1.5 * (4 / 3 * sum(v * v for v in z)) ** 0.5
    assert table().loc[("p.1.1.1", "u1"), "se"] == pytest.approx(se)


def test_ranking_uses_holm_adjusted_tests():
    """u1 and u2 are not different; u3 is far below both, so u2 differs from the next unit."""
    t = pd.DataFrame({"unit": ["u1", "u2", "u3"], "estimate": [80.0, 78.0, 60.0], "se": [2.5, 3.0, 2.5],
                      "ci_low": [75.0, 72.0, 55.0], "ci_high": [85.0, 84.0, 65.0]})
    ranked = rank_units(t).set_index("unit")
    assert ranked.loc["u1", "not_different_from"] == "u2"
    assert not ranked.loc["u1", "different_from_next"]
    assert ranked.loc["u2", "different_from_next"]
    assert ranked.loc["u3", "rank"] == 3
    assert (ranked.loc["u1", "rank_best"], ranked.loc["u1", "rank_worst"]) == (1, 2)
    assert (ranked.loc["u3", "rank_best"], ranked.loc["u3", "rank_worst"]) == (3, 3)


def test_ranking_skips_pooled_rows():
    """The pooled 'ALL' row is not ranked."""
    t = pd.DataFrame({"unit": ["u1", "ALL"], "estimate": [1.0, 2.0], "se": [0.5, 0.5], "ci_low": [0.0, 1.0],
                      "ci_high": [2.0, 3.0]})
    assert rank_units(t)["unit"].tolist() == ["u1"]
