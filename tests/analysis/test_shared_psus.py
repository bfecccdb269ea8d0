"""Units that share PSUs: covariances of domain estimates and the pairwise tests (issue 12, item 2).

The covariance of two domain means is checked through the variance of their difference,
computed directly from the difference estimator's linearised scores ``z_A - z_B`` with pandas
(PSU totals, centred within strata, ``n_h / (n_h - 1)`` times the sum of squares).
"""

import numpy as np
import pandas as pd
import pytest

from analysis import Design, estimate
from analysis.ranking import holm_pairs, rank_units


def shared(seed=8, n=1500):
    """Two communes served by the same villages (PSUs): a strong village effect makes them correlated."""
    rng = np.random.default_rng(seed)
    village = rng.integers(0, 30, n)
    effect = rng.normal(0, 4, 30)[village]
    unit = rng.choice(["A", "B", "C"], n, p=[0.45, 0.45, 0.10])
    return pd.DataFrame({"stratum": village % 5, "village": village, "unit": unit,
                         "w": rng.uniform(1, 4, n),
                         "y": 50 + effect + np.where(unit == "A", 0.8, 0.0) + rng.normal(0, 2, n),
                         "x": 1 + rng.random(n)})


def direct_difference_variance(frame: pd.DataFrame, a: str, b: str) -> float:
    """Variance of ybar_a - ybar_b from its own scores, written out with pandas."""
    z = pd.Series(0.0, index=frame.index)
    for unit, sign in ((a, 1.0), (b, -1.0)):
        rows = frame["unit"] == unit
        w, y = frame.loc[rows, "w"], frame.loc[rows, "y"]
        z[rows] = sign * w * (y - (w * y).sum() / w.sum()) / w.sum()
    totals = frame.assign(z=z).groupby(["stratum", "village"])["z"].sum().reset_index()
    var = 0.0
    for _, part in totals.groupby("stratum"):
        n_h = len(part)
        var += n_h / (n_h - 1) * ((part["z"] - part["z"].mean()) ** 2).sum()
    return var


def test_covariance_of_units_sharing_psus_matches_the_difference_estimator():
    frame = shared()
    design = Design(frame, weights="w", strata="stratum", ids="village")
    cov = estimate.domain_covariance(design, "y", "unit")
    assert list(cov.index) == ["A", "B", "C"]
    means = estimate.mean(design, "y", by="unit").set_index("unit")
    assert np.diag(cov.to_numpy()) == pytest.approx(means["se"].to_numpy() ** 2, rel=1e-12)
    assert cov.at["A", "B"] == pytest.approx(cov.at["B", "A"], rel=1e-14)
    assert cov.at["A", "B"] > 0  # the shared village effect
    for a, b in (("A", "B"), ("A", "C"), ("B", "C")):
        via_cov = cov.at[a, a] + cov.at[b, b] - 2 * cov.at[a, b]
        assert via_cov == pytest.approx(direct_difference_variance(frame, a, b), rel=1e-10)


def test_ratio_covariance_diagonal_is_the_ratio_variance():
    frame = shared()
    design = Design(frame, weights="w", strata="stratum", ids="village")
    cov = estimate.domain_covariance(design, "y", "unit", den="x")
    ratios = estimate.ratio(design, "y", "x", by="unit").set_index("unit")
    assert np.diag(cov.to_numpy()) == pytest.approx(ratios["se"].to_numpy() ** 2, rel=1e-12)


def test_units_in_separate_strata_have_zero_covariance():
    """(Units in separate PSUs of one stratum do covary: both are centred on the stratum's mean.)"""
    frame = shared()
    frame["unit"] = np.where(frame["stratum"] < 2, "A", "B")
    design = Design(frame, weights="w", strata="stratum", ids="village")
    cov = estimate.domain_covariance(design, "y", "unit")
    assert abs(cov.at["A", "B"]) < 1e-12 * cov.at["A", "A"]


def test_holm_pairs_use_the_covariance():
    est, ses = {"a": 1.0, "b": 0.9}, {"a": 0.05, "b": 0.05}
    # independent: z = 0.1 / 0.0707 = 1.41, not significant; sharing PSUs (cov 0.002): z = 3.16
    assert holm_pairs(est, ses) == set()
    assert holm_pairs(est, ses, cov={("b", "a"): 0.002}) == {("a", "b")}


def test_rank_units_with_covariances_from_the_design():
    frame = shared()
    design = Design(frame, weights="w", strata="stratum", ids="village")
    table = estimate.mean(design, "y", by="unit")
    cov = estimate.domain_covariance(design, "y", "unit")
    plain = rank_units(table).set_index("unit")
    joint = rank_units(table, cov=cov).set_index("unit")
    # the shared village effect cancels in A - B: told apart with the covariance, not without
    assert "B" in plain.at["A", "not_different_from"]
    assert "B" not in joint.at["A", "not_different_from"]
    assert joint.at["A", "n_not_different"] == plain.at["A", "n_not_different"] - 1


def sipas_sample(shared_villages=True, seed=12, n=1200):
    """One SIPAS item answered in 3 units whose respondents live in the same 24 villages."""
    from tests.analysis.test_cell_path import sipas_docs

    rng = np.random.default_rng(seed)
    village = rng.integers(0, 24, n)
    unit = rng.choice(["U1", "U2", "U3"], n) if shared_villages else np.array(
        ["U1", "U2", "U3"])[village % 3]
    latent = rng.normal(0, 1.2, 24)[village] + rng.normal(0, 1, n)
    codes = np.array(["1", "2", "3", "4", "5"], dtype=object)[np.searchsorted([-1, -0.3, 0.3, 1], latent)]
    codes[rng.random(n) < 0.05] = "9"
    codes[rng.random(n) < 0.05] = None
    frame = pd.DataFrame({"questionnaire": "q", "unit": unit, "cluster": village,
                          "w": rng.uniform(1, 3, n), "c0_i0": codes})
    frame["sat"] = np.isin(codes, ["4", "5"]).astype(float)
    frame["valid"] = (pd.notna(codes) & (codes != "9")).astype(float)
    q, fw = sipas_docs(n_comp=1, per_comp=1)
    return Design(frame, weights="w", ids="cluster"), q, fw


def test_index_covariance_across_units_matches_the_ratio_covariance():
    from analysis.indices import sipas_indices, unit_covariance, units_share_psus

    design, q, fw = sipas_sample()
    assert units_share_psus(design)
    cov = unit_covariance(design, q, fw)  # the overall index "s" = the one item, in percent
    ratio = estimate.domain_covariance(design, "sat", "unit", den="valid")
    assert cov.to_numpy() == pytest.approx(1e4 * ratio.to_numpy(), rel=1e-10)
    table = sipas_indices(design, q, fw)
    overall = table[(table["code"] == "s") & (table["unit"] != "ALL")].set_index("unit")
    assert np.diag(cov.loc[overall.index, overall.index]) == pytest.approx(overall["se"] ** 2, rel=1e-10)
    assert cov.at["U1", "U2"] > 0


def test_units_in_their_own_villages_do_not_share_psus():
    from analysis.indices import units_share_psus

    design, _, _ = sipas_sample(shared_villages=False)
    assert not units_share_psus(design)
