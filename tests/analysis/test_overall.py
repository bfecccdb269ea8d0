"""The overall index per unit: points, component indices, grade, interval, change and ranking by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis import synthetic
from analysis.indices import par_points, sipas_indices
from analysis.overall import Part, UnitInput, holm_pairs, overall, previous_value
from analysis.overall_inputs import sipas_parts, survey_parts
from analysis.weights import wave_design
from tests.analysis.test_indices import FRAMEWORK as SIPAS
from tests.analysis.test_indices import hand_data
from tests.analysis.test_indices import questionnaire as sipas_questionnaire
from tests.analysis.test_par_ranking import FRAMEWORK as MINI_PAR
from tests.analysis.test_par_ranking import QUESTIONNAIRE


def node(code, level, max_points, method=None, children=None, **extra):
    """A PAR framework node."""
    out = {
        "code": code,
        "level": level,
        "name": {"vi": f"Nút {code}", "en": f"Node {code}"},
        "max_points": max_points,
        "status": "provisional",
        "source": "test",
        **extra,
    }
    if method:
        out["method"] = method
    if children:
        out["children"] = children
    return out


GRADES = [{"code": "A", "min": 90}, {"code": "B", "min": 80}, {"code": "C", "min": 0}]
FRAMEWORK = {
    "kind": "framework",
    "id": "par-test",
    "version": "1",
    "index": "par",
    "status": "verified",
    "source": "t",
    "name": {"vi": "PAR", "en": "PAR"},
    "max_points": 20,
    "grades": GRADES,
    "nodes": [
        node(
            "f1",
            "field",
            10,
            children=[node("f1.1", "criterion", 4, "self_assessed"), node("f1.2", "criterion", 6, "survey")],
        ),
        node(
            "f2",
            "field",
            10,
            children=[node("f2.1", "criterion", 5, "external"), node("f2.2", "criterion", 5, "sipas")],
        ),
    ],
}


def unit(code, self_points=4.0, survey=(4.5, 0.3), sipas=(3.5, 0.4), external=4.0, total_se=None):
    """A unit's inputs for the two-field framework."""
    return UnitInput(
        code,
        f"Đơn vị {code}",
        {"f1.1": self_points},
        {} if external is None else {"f2.1": external},
        {
            "survey": Part({"f1.2": survey[0]}, {"f1.2": survey[1]}, total_se),
            "sipas": Part({"f2.2": sipas[0]}, {"f2.2": sipas[1]}),
        },
    )


def test_points_fields_total_grade_and_interval_by_hand():
    """4 + 4.5 + 4 + 3.5 = 16 of 20 = 80% (B); SE = sqrt(0.3² + 0.4²) = 0.5 points = 2.5%.

    95% interval 80 ± 1.96 × 2.5 = 75.1–84.9, so the grade is B but could be C.
    Fields: f1 = 8.5/10 = 85% (SE 0.3 points), f2 = 7.5/10 = 75% (SE 0.4).
    """
    [r] = overall(FRAMEWORK, [unit("u1")])
    assert r.points == pytest.approx(16) and r.max_points == 20
    assert r.index == pytest.approx(80) and r.grade == "B"
    assert r.se == pytest.approx(2.5)
    half = 1.959964 * 0.025 / (0.8 * 0.2)  # logit scale, normal quantile (no df given)
    expected = (100 / (1 + math.exp(half) / 4), 100 / (1 + math.exp(-half) / 4))
    assert (r.ci_low, r.ci_high) == pytest.approx(expected)
    assert r.grade_range == ("C", "B")
    assert [(f.code, f.points, f.index, f.se) for f in r.fields] == [
        ("f1", pytest.approx(8.5), pytest.approx(85), pytest.approx(0.3)),
        ("f2", pytest.approx(7.5), pytest.approx(75), pytest.approx(0.4)),
    ]
    assert r.variance == "independent" and r.complete


def test_joint_total_se_of_a_part_replaces_the_sum_of_node_variances():
    """With the survey part's joint SE 0.6 (covariances included): SE = sqrt(0.36 + 0.16) points."""
    [r] = overall(FRAMEWORK, [unit("u1", total_se=0.6)])
    assert r.se == pytest.approx(5 * math.sqrt(0.52))
    assert r.variance == "independent"  # the SIPAS part still gave no joint SE
    [r] = overall(
        FRAMEWORK,
        [
            UnitInput(
                "u",
                "",
                {"f1.1": 4},
                {"f2.1": 5},
                {
                    "survey": Part({"f1.2": 6}, {"f1.2": 0.2}, 0.2),
                    "sipas": Part({"f2.2": 5}, {"f2.2": 0.1}, 0.1),
                },
            )
        ],
    )
    assert r.variance == "joint" and r.index == pytest.approx(100) and r.ci_high == 100 and r.grade == "A"


def test_missing_leaf_counts_zero_and_is_listed():
    """Without external points f2.1 counts 0: 12/20 = 60%, C, incomplete."""
    [r] = overall(FRAMEWORK, [unit("u1", external=None)])
    assert r.index == pytest.approx(60) and r.grade == "C" and r.missing == ["f2.1"]
    assert not r.complete


def test_a_unit_without_standard_error_cannot_be_ranked():
    """No SE for the survey node: no interval, no rank, and listed as nobody's equal."""
    rows = overall(FRAMEWORK, [unit("u1"), unit("u2", survey=(5.0, float("nan")))])
    by = {r.unit: r for r in rows}
    assert not by["u2"].rankable and by["u2"].rank is None and by["u2"].rank_best is None
    assert by["u1"].rank == 1 and by["u1"].not_different_from == []


def test_holm_adjustment_separates_fewer_pairs_than_unadjusted_tests():
    """SEs 1/√2 make each difference's SE 1: z = difference.

    A = 0, B = 2.2, C = 4.4: p(AB) = p(BC) = 0.0278, p(AC) = 1.1e-5. Holm over 3 pairs: 1.1e-5 ≤
    0.05/3 rejects; 0.0278 > 0.05/2 stops. Only C > A; B cannot be told apart from either.
    """
    se = {k: 1 / math.sqrt(2) for k in "ABC"}
    assert holm_pairs({"A": 0.0, "B": 2.2, "C": 4.4}, se) == {("C", "A")}
    inputs = [
        UnitInput(
            k,
            "",
            {"f1.1": 4},
            {"f2.1": 5},
            {
                "survey": Part({"f1.2": v}, {"f1.2": 0.2 / math.sqrt(2)}),
                "sipas": Part({"f2.2": 5}, {"f2.2": 0}),
            },
        )
        for k, v in (("A", 1.0), ("B", 1.44), ("C", 1.88))
    ]  # index = 75 + 5v: SE 1/√2 %, gaps 2.2
    by = {r.unit: r for r in overall(FRAMEWORK, inputs)}
    assert (by["C"].rank, by["C"].rank_best, by["C"].rank_worst) == (1, 1, 2)
    assert (by["B"].rank_best, by["B"].rank_worst) == (1, 3)
    assert (by["A"].rank_best, by["A"].rank_worst) == (2, 3)
    assert by["B"].not_different_from == ["C", "A"] and by["A"].not_different_from == ["B"]


def test_change_against_previous_year_and_merged_units():
    """Own previous value 76 (SE 2): change +4, SE sqrt(2.5² + 2²). A merged unit: mean of predecessors."""
    rows = overall(
        FRAMEWORK,
        [unit("u1"), unit("new")],
        previous={"u1": (76.0, 2.0), "p1": (80.0, 2.0), "p2": (90.0, 2.0)},
        predecessors={"new": ["p1", "p2", "p3"]},
    )
    by = {r.unit: r for r in rows}
    assert by["u1"].change == pytest.approx(4) and not by["u1"].previous_provisional
    assert by["u1"].change_high - by["u1"].change == pytest.approx(1.959964 * math.hypot(2.5, 2))
    assert by["new"].previous == pytest.approx(85) and by["new"].previous_provisional
    assert by["new"].previous_from == ["p1", "p2"] and by["new"].change == pytest.approx(-5)
    assert previous_value("x", {}, {}) == (None, None, [], False)
    assert previous_value("m", {"a": (80.0, 2.0), "b": (90.0, 2.0)}, {"m": ["a", "b"]})[1] == pytest.approx(
        math.sqrt(8) / 2
    )


def test_sipas_points_keep_the_covariance_between_parts():
    """Two PAR nodes of 5 points derived from the SIPAS components c1, c2 (same respondents).

    Their sum is 5 (c1 + c2) / 100 = 0.1 × overall (equal weights), so the SE of the SIPAS part's total
    must be 0.1 × the SE of the SIPAS overall index, covariance included.
    """
    par = {
        "kind": "framework",
        "id": "par-s",
        "version": "1",
        "index": "par",
        "status": "verified",
        "source": "t",
        "name": {"vi": "P", "en": "P"},
        "nodes": [
            node(
                "s",
                "field",
                10,
                "sipas",
                [
                    node("s.1", "criterion", 5, "sipas", derived_from={"framework": "mini", "node": "x.c1"}),
                    node("s.2", "criterion", 5, "sipas", derived_from={"framework": "mini", "node": "x.c2"}),
                ],
            )
        ],
    }
    responses, strata = hand_data()
    design = wave_design(responses, strata)
    parts = sipas_parts(design, sipas_questionnaire(), SIPAS, par)
    indices = sipas_indices(design, sipas_questionnaire(), SIPAS).set_index(["code", "unit"])
    for u in ("u1", "u2"):
        assert parts[u].points["s.1"] == pytest.approx(indices.loc[("x.c1", u), "estimate"] * 5 / 100)
        assert parts[u].se["s.2"] == pytest.approx(indices.loc[("x.c2", u), "se"] * 5 / 100)
        assert parts[u].total_se == pytest.approx(0.1 * indices.loc[("x", u), "se"])
        assert parts[u].field_se["s"] == pytest.approx(parts[u].total_se)


def test_survey_parts_read_points_and_joint_ses_from_par_points():
    """Leaves, field roll-up and survey_total of the mini PAR framework, per unit."""
    frame = pd.DataFrame(
        {
            "questionnaire": "par-q",
            "unit": ["u1"] * 4 + ["u2"] * 3,
            "q1": ["A", "B", "D", "X", "A", "B", "C"],
            "q2": ["A", "A", "C", "C", "B", "D", "A"],
        }
    )
    table = par_points(frame, QUESTIONNAIRE, MINI_PAR)
    parts = survey_parts(table, MINI_PAR)
    assert set(parts) == {"u1", "u2"}
    assert parts["u1"].points == {"p.1.1.1": pytest.approx(0.8), "p.1.1.2": pytest.approx(0.3)}
    row = table[(table["code"] == "survey_total") & (table["unit"] == "u1")].iloc[0]
    assert parts["u1"].total_se == pytest.approx(row["se"]) and parts["u1"].field_se["p.1"] == pytest.approx(
        row["se"]
    )


def test_interval_of_the_total_index_covers_95_percent_on_a_synthetic_population():
    """Stratified samples of 30 from 6 units of about 300 officials: coverage of the total index's 95% CI.

    Self-assessed points are fixed (3 of 5); the survey points carry the sampling error. The true index
    is the census value. 150 replicates × 6 units = 900 intervals: the Monte-Carlo SE of a 95% coverage
    is 0.7%, so 92–98% is a ±4 SE band.
    """
    units = {f"u{i}": f"Xã {i}" for i in range(6)}
    population, _ = synthetic.responses(
        QUESTIONNAIRE, units, per_unit=300, groups=("g",), seed=11, invite_factor=1, population_factor=1
    )
    population = population.assign(questionnaire="par-q")
    truth = survey_parts(par_points(population, QUESTIONNAIRE, MINI_PAR), MINI_PAR)
    true_index = {u: 100 * (3 + sum(p.points.values())) / 5 for u, p in truth.items()}
    sizes = population.groupby("stratum").size()
    rng = np.random.default_rng(2024)
    covered = total = 0
    for _ in range(150):
        picks = [
            rng.choice(np.flatnonzero(population["stratum"].to_numpy() == s), 30, replace=False)
            for s in sizes.index
        ]
        sample = population.iloc[np.concatenate(picks)].reset_index(drop=True)
        strata = pd.DataFrame(
            {
                "stratum": sizes.index,
                "unit": [s.split("-")[0] for s in sizes.index],
                "group": "g",
                "population_size": sizes.to_numpy(),
                "sample_size": 30,
            }
        )
        parts = survey_parts(par_points(wave_design(sample, strata), QUESTIONNAIRE, MINI_PAR), MINI_PAR)
        results = overall(MINI_PAR, [UnitInput(u, "", {"p.1.2": 3}, {}, {"survey": parts[u]}) for u in units])
        for r in results:
            total += 1
            covered += r.ci_low <= true_index[r.unit] <= r.ci_high
    assert 0.92 <= covered / total <= 0.98, covered / total


def test_units_are_ranked_within_their_group():
    """An agency and a commune with the same inputs are both ranked 1st, each in its own group."""
    a, c = unit("agency"), unit("commune")
    rows = overall(
        FRAMEWORK,
        [
            UnitInput(**{**a.__dict__, "group": "agency"}),
            UnitInput(**{**c.__dict__, "group": "commune"}),
            unit("x"),
        ],
    )
    assert sorted((r.group, r.rank, r.rank_worst) for r in rows) == [
        ("", 1, 1),
        ("agency", 1, 1),
        ("commune", 1, 1),
    ]
