"""Replicate weights (analysis.replicates) against R's published output and independent numpy.

R: ``rclus1 <- as.svrepdesign(svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc))`` (JK1)
prints ``svymean(~api00, rclus1)`` 644.17 SE 26.329 and ``svytotal(~enroll, rclus1)`` 3404940 SE
932235 (survey's ``as.svrepdesign`` example; R's default ``mse=FALSE``). Everything else is checked
against the replicate formula computed here from the explicit (n x R) weight matrix with plain
numpy, or against the linearised variance where theory says they are equal (the jackknife of a
total in a stratified design is exactly the with-replacement linearisation times ``1 - f_h``).
"""

import numpy as np
import pandas as pd
import pytest

from analysis import Design, weighting
from analysis import estimate as est
from analysis.replicates import instructions, make_replicates, multipliers_frame
from tests.analysis.reference import load, printed


def _clus1():
    return Design(load("apiclus1"), weights="pw", ids="dnum", fpc="fpc")


def _explicit_variance(rw, data, y, by=None):
    """R's svrVar from the explicit replicate weight matrix: weighted means per domain, plain numpy."""
    m = rw.matrix()
    w = rw.weights
    keys = np.zeros(len(data), dtype=int) if by is None else pd.factorize(data[by], sort=True)[0]
    values = data[y].to_numpy(float)
    ok = ~np.isnan(values)
    out = []
    for d in range(keys.max() + 1):
        rows = ok & (keys == d)
        full = (w[rows] * values[rows]).sum() / w[rows].sum()
        reps = (m[rows] * values[rows, None]).sum(axis=0) / m[rows].sum(axis=0)
        centre = full if rw.mse else reps[rw.rscales > 0].mean()
        out.append(rw.scale * (rw.rscales * (reps - centre) ** 2).sum())
    return np.array(out)


def test_jk1_matches_r_published_api_example():
    """JK1 of the one-stage cluster sample with fpc: R's 26.329 and 932235."""
    rw = make_replicates(_clus1(), mse=False)
    assert rw.type == "JK1" and rw.n_replicates == 15
    assert rw.scale == pytest.approx((757 - 15) / 757 * 14 / 15)
    mean = est.mean(_clus1(), "api00", variance=rw).iloc[0]
    total = est.total(_clus1(), "enroll", variance=rw).iloc[0]
    assert printed(mean["estimate"], "644.17") and printed(mean["se"], "26.329")
    assert printed(total["estimate"], "3404940") and printed(total["se"], "932235")
    assert mean["df"] == 14


def test_jk1_equals_delete_one_psu_jackknife_computed_by_hand():
    """Drop each district, reweight the others by n/(n-1), recompute the mean: same SE."""
    data = load("apiclus1")
    rw = make_replicates(_clus1(), mse=True)
    districts = data["dnum"].unique()
    n = len(districts)
    reps = []
    for dropped in districts:
        keep = data["dnum"] != dropped
        w = data.loc[keep, "pw"] * n / (n - 1)
        reps.append((w * data.loc[keep, "api00"]).sum() / w.sum())
    full = (data["pw"] * data["api00"]).sum() / data["pw"].sum()
    by_hand = (757 - n) / 757 * (n - 1) / n * ((np.array(reps) - full) ** 2).sum()
    row = est.mean(_clus1(), "api00", variance=rw).iloc[0]
    assert row["se"] ** 2 == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("mse", [True, False])
def test_jkn_total_equals_linearisation_exactly(mse):
    """NHANES (2 PSUs per stratum) and apistrat (fpc): the JKn variance of a total is the linearised one."""
    nh = Design(load("nhanes"), weights="WTMEC2YR", strata="SDMVSTRA", ids="SDMVPSU", nest=True)
    rw = make_replicates(nh, "jkn", mse=mse)
    assert rw.n_replicates == nh.stages[0].n_clusters
    rep = est.total(nh, "HI_CHOL", variance=rw)
    lin = est.total(nh, "HI_CHOL")
    assert rep["se"].iloc[0] == pytest.approx(lin["se"].iloc[0], rel=1e-10)
    strat = Design(load("apistrat"), weights="pw", strata="stype", fpc="fpc")
    rw = make_replicates(strat, "JKn", mse=mse)
    assert rw.rscales[0] == pytest.approx((4421 - 100) / 4421 * 99 / 100)
    rep = est.total(strat, ["enroll", "api00"], by="sch.wide", variance=rw)
    lin = est.total(strat, ["enroll", "api00"], by="sch.wide")
    np.testing.assert_allclose(rep["se"], lin["se"], rtol=1e-10)


def test_jkn_mean_close_to_linearisation_with_two_psus_per_stratum():
    """A mean is not linear: the jackknife differs from the linearisation by well under 1% here."""
    nh = Design(load("nhanes"), weights="WTMEC2YR", strata="SDMVSTRA", ids="SDMVPSU", nest=True)
    rep = est.mean(nh, "HI_CHOL", by="race", variance="jkn")
    lin = est.mean(nh, "HI_CHOL", by="race")
    np.testing.assert_allclose(rep["estimate"], lin["estimate"])
    np.testing.assert_allclose(rep["se"], lin["se"], rtol=0.01)
    assert (rep["df"] == lin["df"]).all()


@pytest.mark.parametrize("mse", [True, False])
def test_closed_form_jackknife_equals_explicit_weights(mse):
    """Domain means of the stratified jackknife equal R's formula on the explicit weight matrix."""
    data = load("apistrat")
    design = Design(data, weights="pw", strata="stype", fpc="fpc")
    rw = make_replicates(design, "jkn", mse=mse)
    got = est.mean(design, "api00", by="sch.wide", variance=rw)["se"].to_numpy() ** 2
    np.testing.assert_allclose(got, _explicit_variance(rw, data, "api00", "sch.wide"), rtol=1e-10)


def test_bootstrap_close_to_linearisation_on_a_large_sample():
    """YRBS (15,624 rows, 54 PSUs in 13 strata): 1,000 seeded Rao–Wu replicates.

    Over all possible draws the Rao–Wu variance of a total is the linearised variance exactly (the
    n_h/(n_h-1) rescaling); with R replicates the Monte Carlo relative standard deviation of the
    variance is about sqrt(2/R) (Efron & Tibshirani 1993, ch. 6), 4.5% at R = 1000, i.e. about 2.2%
    on the SE: 7% on the SE is three standard deviations. The mean is nearly linear here.
    """
    data = load("yrbs").assign(yes=lambda t: (t["qn8"] == 1).astype(float).where(t["qn8"].notna()))
    design = Design(data, weights="weight", strata="stratum", ids="psu", nest=True)
    rw = make_replicates(design, "bootstrap", replicates=1000, seed=7)
    for fn in (est.total, est.mean):
        rep = fn(design, "yes", variance=rw).iloc[0]
        lin = fn(design, "yes").iloc[0]
        assert rep["se"] == pytest.approx(lin["se"], rel=0.07)
        assert rep["df"] == lin["df"]  # PSUs minus strata among the rows that answered


def test_bootstrap_equals_explicit_weights_and_is_reproducible():
    """Seeded: the same replicates whatever the count asked for; domain SEs match R's formula."""
    data = load("apistrat")
    design = Design(data, weights="pw", strata="stype")
    rw = make_replicates(design, "bootstrap", replicates=50, seed=3, mse=False)
    assert rw.scale == pytest.approx(1 / 49) and (rw.rscales == 1).all()
    more = make_replicates(design, "bootstrap", replicates=80, seed=3)
    np.testing.assert_array_equal(rw.factors(), more.factors(0, 50))
    assert not np.array_equal(rw.factors(), make_replicates(design, "bootstrap", 50, seed=4).factors())
    fresh = make_replicates(design, "bootstrap", 50, seed=None)
    again = make_replicates(design, "bootstrap", 50, seed=fresh.seed)
    np.testing.assert_array_equal(fresh.factors(), again.factors())
    assert f"seed={fresh.seed}" in repr(fresh) and "bootstrap, R=50, PSUs=200" in repr(fresh)
    f = rw.factors()
    stratum = design.stages[0].stratum_of_cluster
    for h in range(3):
        n_h = (stratum == h).sum()
        np.testing.assert_allclose(f[stratum == h].sum(axis=0), n_h)  # m_h = n_h - 1 draws x n_h/(n_h-1)
    got = est.mean(design, "api00", by="sch.wide", variance=rw)["se"].to_numpy() ** 2
    np.testing.assert_allclose(got, _explicit_variance(rw, data, "api00", "sch.wide"), rtol=1e-10)


def test_bootstrap_with_fpc_shrinks_the_factors():
    """With an fpc, factors are 1 - l + l c n/(n-1), l = sqrt(1-f): mean 1, variance times 1 - f."""
    design = Design(load("apistrat"), weights="pw", strata="stype", fpc="fpc")
    rw = make_replicates(design, "bootstrap", replicates=2000, seed=11)
    f = rw.factors()
    assert f.min() >= 1 - np.sqrt((4421 - 100) / 4421) - 1e-12
    rep = est.total(design, "enroll", variance=rw).iloc[0]
    lin = est.total(design, "enroll").iloc[0]
    assert rep["se"] == pytest.approx(lin["se"], rel=0.05)  # 3 sd of the SE at R = 2000 is 4.7%


def test_lonely_psu_rules():
    """fail names the stratum; certainty and centre reproduce the linearisation's rules for a total."""
    data = load("apiclus1")
    with pytest.raises(ValueError, match=r"Stratum \(413\) has only one PSU"):
        make_replicates(Design(data, strata="dnum", weights="pw", singleton="fail"))
    for rule in ("certainty", "centre"):
        design = Design(data, strata="dnum", weights="pw", singleton=rule)
        rep = est.total(design, "enroll", variance=make_replicates(design)).iloc[0]
        lin = est.total(design, "enroll").iloc[0]
        assert rep["se"] == pytest.approx(lin["se"], rel=1e-10), rule
    design = Design(data, strata="dnum", weights="pw", singleton="centre")
    rw = make_replicates(design, mse=False)
    got = est.mean(design, "api00", variance=rw)["se"].to_numpy() ** 2
    np.testing.assert_allclose(got, _explicit_variance(rw, data, "api00"), rtol=1e-10)
    boot = make_replicates(design, "bootstrap", replicates=20)
    lonely = design.stages[0].n_sampled[design.stages[0].stratum_of_cluster] == 1
    assert lonely.sum() == 1 and np.all(boot.factors()[lonely] == 1.0)  # one lonely PSU: held at 1


def test_bootstrap_pools_several_lonely_psus():
    """Two strata with one PSU each are bootstrapped together as one stratum of two."""
    data = pd.DataFrame({"s": [1, 1, 2, 2, 3, 4], "y": [1.0, 2, 3, 4, 5, 7], "w": 1.0})
    design = Design(data, strata="s", weights="w", singleton="centre")
    f = make_replicates(design, "bootstrap", replicates=30).factors()
    assert set(np.unique(f[4:].sum(axis=0))) == {2.0} and (f[4:] != 1).any()
    certain = Design(data, strata="s", weights="w", singleton="certainty")
    assert (make_replicates(certain, "bootstrap", replicates=30).factors()[4:] == 1).all()


def test_zero_weights_and_refusals():
    """Zero weights count as in the linearisation; bad requests get clear errors."""
    data = load("apiclus1")
    data.loc[data["dnum"] == data["dnum"].iloc[0], "pw"] = 0.0
    design = Design(data, weights="pw", ids="dnum")
    rw = make_replicates(design)
    assert rw.degf == design.degf() == 13
    rep = est.total(design, "enroll", variance=rw)
    lin = est.total(design, "enroll")
    assert rep["se"].iloc[0] == pytest.approx(lin["se"].iloc[0], rel=1e-10)
    assert (rw.matrix()[data["pw"].to_numpy() == 0] == 0).all()
    with pytest.raises(ValueError, match="one PSU"):
        make_replicates(Design(data.iloc[:3], weights="pw", ids="dnum"))
    with pytest.raises(ValueError, match="JK1 is for an unstratified"):
        make_replicates(Design(load("apistrat"), weights="pw", strata="stype"), "jk1")
    with pytest.raises(ValueError, match="replicate type"):
        make_replicates(design, "brr")
    raked = weighting.poststratify(Design(load("apistrat"), weights="pw", strata="stype"), "stype",
                                   {"E": 4421, "H": 755, "M": 1018})
    with pytest.raises(ValueError, match="calibrated"):
        make_replicates(raked)
    assert make_replicates(raked, calibrated="fixed").n_replicates == 200
    with pytest.raises(ValueError, match="another design"):
        est.mean(Design(load("apistrat"), weights="pw"), "api00", variance=rw)


def test_ratio_and_proportion_take_replicates():
    """svyratio and svyciprop with replicate SEs: the ratio matches R's formula on explicit weights."""
    data = load("apistrat")
    design = Design(data, weights="pw", strata="stype", fpc="fpc")
    rw = make_replicates(design, "jkn")
    got = est.ratio(design, "api00", "api99", variance=rw).iloc[0]
    m = rw.matrix()
    reps = (m * data["api00"].to_numpy()[:, None]).sum(0) / (m * data["api99"].to_numpy()[:, None]).sum(0)
    assert got["se"] ** 2 == pytest.approx((rw.multipliers * (reps - got["estimate"]) ** 2).sum(), rel=1e-10)
    prop = est.proportion(design, "sch.wide", variance=rw)
    lin = est.proportion(design, "sch.wide")
    np.testing.assert_allclose(prop["se"], lin["se"], rtol=0.02)
    assert (prop["ci_low"] < prop["estimate"]).all() and (prop["estimate"] < prop["ci_high"]).all()


def test_exported_matrix_and_instructions():
    """Combined weights, multipliers and the Stata / R / SPSS lines."""
    rw = make_replicates(_clus1())
    m = rw.matrix()
    assert m.shape == (183, 15)
    np.testing.assert_allclose(m, rw.weights[:, None] * rw.factors()[rw.psu])
    assert ((m == 0).sum(axis=0) > 0).all()  # every JK1 replicate drops one district
    frame = rw.frame()
    assert list(frame.columns[:2]) == ["repw_1", "repw_2"] and frame.shape == (183, 15)
    text = instructions(rw)
    assert "jkrweight(repw_1-repw_15, multiplier(0.9148392779)) vce(jackknife) mse dof(14)" in text
    assert 'svrepdesign(data = d, weights = ~weight, repweights = "^repw_[0-9]+$"' in text
    assert "SPSS" in text
    table = multipliers_frame(rw)
    assert len(table) == 15 and table["multiplier"].iloc[0] == pytest.approx(rw.scale)
    boot = instructions(make_replicates(_clus1(), "bootstrap", replicates=40))
    assert "bsrweight(repw_1-repw_40) vce(bootstrap) mse dof(14)" in boot and "40/39" in boot


@pytest.mark.parametrize("kind", ["jkn", "bootstrap"])
def test_sipas_indices_with_replicates_equal_recomputing_with_each_replicate_weight(kind):
    """Items, components and overall: the replicate SE is the spread of the index recomputed per replicate."""
    from analysis import synthetic
    from analysis.indices import sipas_indices
    from analysis.weights import wave_design
    from tests.analysis.test_exports import UNITS
    from tests.analysis.test_exports import load as load_yaml

    responses, strata = synthetic.responses(load_yaml("sipas-service.yaml"), UNITS, per_unit=12, seed=5)
    wd = wave_design(responses, strata)
    q, fw = [load_yaml("sipas-service.yaml")], load_yaml("frameworks/sipas-2023.yaml")
    rw = make_replicates(wd.design, kind, replicates=25, seed=2)
    got = sipas_indices(wd, q, fw, variance=rw)
    lin = sipas_indices(wd, q, fw)
    np.testing.assert_allclose(got["estimate"], lin["estimate"])
    thetas = np.column_stack([sipas_indices(wd.design._replace_weights(w, []), q, fw)["estimate"]
                              for w in rw.matrix().T])
    ok = np.isfinite(thetas).all(axis=1)
    assert ok.sum() > 40
    by_hand = (rw.multipliers * (thetas - lin["estimate"].to_numpy()[:, None]) ** 2).sum(axis=1)
    np.testing.assert_allclose(got["se"].to_numpy()[ok] ** 2, by_hand[ok], rtol=1e-8)
    assert (got["df"] == lin["df"]).all()
