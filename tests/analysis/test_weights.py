"""Design weights of a wave: base weights, non-response adjustment, fpc, clusters, open links."""

import numpy as np
import pandas as pd
import pytest

from analysis.weights import UNWEIGHTED_NOTICE, wave_design


def responses(clusters=("", "", "", "", "")):
    """Five respondents: three in stratum A, two in B."""
    return pd.DataFrame({"response_id": list("abcde"), "wave": "2025", "unit": ["u1"] * 3 + ["u2"] * 2,
                         "stratum": ["A", "A", "A", "B", "B"], "cluster": list(clusters),
                         "y": [1.0, 2.0, 3.0, 4.0, 5.0]})


STRATA = pd.DataFrame({"stratum": ["A", "B"], "unit": ["u1", "u2"], "group": ["g", "g"],
                       "population_size": [100, 40], "sample_size": [10, 4]})


def test_final_weight_is_population_over_respondents():
    """Final weight N_h / r_h: 100/3 in A and 40/2 in B."""
    wd = wave_design(responses(), STRATA)
    assert wd.data["weight"].tolist() == pytest.approx([100 / 3] * 3 + [20.0] * 2)


def test_base_weight_and_nonresponse_factor_are_recorded():
    """Base weight N_h / n_h and the factor n_h / r_h are kept per stratum."""
    summary = wave_design(responses(), STRATA).strata_summary.set_index("stratum")
    assert summary.loc["A", "base_weight"] == pytest.approx(10.0)
    assert summary.loc["A", "nonresponse_factor"] == pytest.approx(10 / 3)
    assert summary.loc["B", "response_rate"] == pytest.approx(0.5)


def test_weights_sum_to_stratum_populations():
    """Respondents' weights add up to N_h in every stratum."""
    data = wave_design(responses(), STRATA).data
    assert data.groupby("stratum")["weight"].sum().tolist() == pytest.approx([100.0, 40.0])


def test_no_clusters_uses_stratum_population_as_fpc():
    """Without clusters the design has fpc N_h at the first stage."""
    design = wave_design(responses(), STRATA).design
    assert design.stages[0].pop_size.tolist() == [100.0, 40.0]


def test_clusters_become_psus_without_fpc():
    """Cluster codes are the PSUs (with-replacement first stage)."""
    design = wave_design(responses(("k1", "k1", "k2", "k3", "k4")), STRATA).design
    assert design.stages[0].n_clusters == 4
    assert design.stages[0].pop_size is None


def test_open_link_wave_is_unweighted_with_notice():
    """No strata table: weights 1 and the 'estimates are unweighted' notice."""
    wd = wave_design(responses().assign(stratum=""), None)
    assert not wd.weighted
    assert np.all(wd.design.weights == 1.0)
    assert UNWEIGHTED_NOTICE in wd.notices


def test_unknown_stratum_is_an_error():
    """A response whose stratum is missing from the table is rejected."""
    with pytest.raises(ValueError, match="not in the strata table"):
        wave_design(responses().assign(stratum=["A", "A", "A", "B", "Z"]), STRATA)


def test_calibration_poststratifies_to_known_totals():
    """One calibration margin post-stratifies the weights to its totals."""
    wd = wave_design(responses(), STRATA, calibration={"unit": {"u1": 90, "u2": 60}})
    assert wd.data.assign(w=wd.design.weights).groupby("unit")["w"].sum().tolist() == pytest.approx([90, 60])


def test_stage_probabilities_give_base_weights_one_over_p():
    """With recorded probabilities (a certainty village in A), base weights are 1/p and the final
    weights follow them, scaled to the stratum population; B (no probabilities) keeps N_h / r_h."""
    data = responses(clusters=("T1", "T2", "T2", "", ""))
    data["selection_probability"] = [0.5, 0.1, 0.1, None, None]
    wd = wave_design(data, STRATA)
    assert wd.data["base_weight"].tolist() == pytest.approx([2.0, 10.0, 10.0, 10.0, 10.0])
    a = [100 * w / 22 for w in (2, 10, 10)]  # base weights 2 + 10 + 10 = 22 scaled to N_A = 100
    assert wd.data["weight"].tolist() == pytest.approx([*a, 20.0, 20.0])
    assert wd.data.groupby("stratum")["weight"].sum().tolist() == pytest.approx([100.0, 40.0])


def test_equal_stage_probabilities_change_nothing():
    """Equal probabilities within each stratum give exactly the weights N_h / r_h."""
    data = responses()
    data["selection_probability"] = [0.1, 0.1, 0.1, 0.25, 0.25]
    weighted = wave_design(data, STRATA).data["weight"].tolist()
    assert weighted == pytest.approx(wave_design(responses(), STRATA).data["weight"].tolist())
    data["selection_probability"] = [1.5, 0.1, 0.1, 0.25, 0.25]
    with pytest.raises(ValueError, match="above 1"):
        wave_design(data, STRATA)


def test_sample_above_population_is_an_error():
    """A strata row with sample_size > population_size is refused."""
    strata = STRATA.assign(sample_size=[10, 50])
    with pytest.raises(ValueError, match="sample size above the population size"):
        wave_design(responses(), strata)


def test_respondents_above_sample_is_an_error():
    """Three respondents in a stratum where two were drawn (a response rate of 1.5) is refused."""
    strata = STRATA.assign(sample_size=[2, 4])
    with pytest.raises(ValueError, match="more respondents than its sample size"):
        wave_design(responses(), strata)


@pytest.mark.parametrize("bad, message", [(np.nan, "missing values"), (-1.0, "negative weights"),
                                          (np.inf, "infinite weights")])
def test_bad_weights_are_a_clear_error(bad, message):
    """Missing, negative and infinite weights are refused when the design is built."""
    from analysis.design import Design
    data = responses().assign(w=[1.0, 2.0, bad, 1.0, 1.0])
    with pytest.raises(ValueError, match=message):
        Design(data, weights="w")


def test_weight_diagnostics_report_kish_deff_and_largest_share():
    """Equal weights: deff 1; one weight of 10^6 among 149 ones: flagged, share ~ 1, deff ~ 150."""
    from analysis.quality import weight_diagnostics
    equal = weight_diagnostics(np.ones(50))
    assert equal.iloc[-1]["deff_weighting"] == pytest.approx(1.0) and not equal.iloc[-1]["flagged"]
    w = np.r_[np.ones(149), 1e6]
    diag = weight_diagnostics(w, ["u1"] * 100 + ["u2"] * 50).set_index("group")
    assert diag.loc["ALL", "deff_weighting"] == pytest.approx(150 * (149 + 1e12) / (149 + 1e6) ** 2)
    assert diag.loc["ALL", "largest_weight_share"] == pytest.approx(1e6 / (149 + 1e6))
    assert diag.loc["u2", "flagged"] and not diag.loc["u1", "flagged"]
    assert diag.loc["u1", "effective_n"] == pytest.approx(100)


def test_stratum_without_respondents_is_named_and_not_covered():
    """A stratum with no respondents is not collapsed into another unit's: the notice names it."""
    strata = pd.concat([STRATA, pd.DataFrame({"stratum": ["C"], "unit": ["u3"], "group": ["g"],
                                              "population_size": [60], "sample_size": [6]})])
    wd = wave_design(responses(), strata)
    summary = wd.strata_summary.set_index("stratum")
    assert summary["covered"].to_dict() == {"A": True, "B": True, "C": False}
    assert wd.data.groupby("stratum")["weight"].sum().to_dict() == pytest.approx({"A": 100.0, "B": 40.0})
    [notice] = wd.notices
    assert "C." in notice["en"] and "cover the other 2 strata only" in notice["en"]
    assert "C." in notice["vi"] and "2 tầng còn lại" in notice["vi"]
