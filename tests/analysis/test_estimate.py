"""Means, totals, ratios and factor means against published R ``survey`` output.

Sources of the expected numbers (all produced by R's survey package):

* [SJL] Survey.jl ``test/r_reference/*.csv``, written by
  ``test/r_reference/generate_fixtures.R`` ("Generated with survey 4.5 on R 4.6.1",
  ``options(digits = 15)``), repository xKDR/Survey.jl, commit 60f46a8a.
  Matched to 1e-9 relative.
* [API] R survey ``tests/api.Rout.save`` (``example(api)``), repository cran/survey.
  Printed to 5 significant digits (SEs) / whole units (totals); matched to the
  printed precision.
* [DEFF] R survey ``tests/deff.Rout.save``; design-effect ratios printed to 7 digits.
"""


import numpy as np
import pandas as pd
import pytest

from analysis import Design
from analysis import estimate as est
from tests.analysis.reference import load, printed

REL = 1e-9




def designs() -> dict:
    """The six designs of [SJL]'s generate_fixtures.R."""
    srs, strat, clus1 = load("apisrs"), load("apistrat"), load("apiclus1")
    return {
        # svydesign(id=~1, weights=~pw, data=apisrs)
        "srs_w": Design(srs, weights="pw"),
        # svydesign(id=~1, fpc=~fpc, data=apisrs)
        "srs_fpc": Design(srs, fpc="fpc"),
        # svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat)
        "strat_w": Design(strat, strata="stype", weights="pw"),
        # svydesign(id=~1, strata=~stype, fpc=~fpc, data=apistrat)
        "strat_fpc": Design(strat, strata="stype", fpc="fpc"),
        # svydesign(id=~dnum, weights=~pw, data=apiclus1)
        "clus1_w": Design(clus1, ids="dnum", weights="pw"),
        # svydesign(id=~dnum, fpc=~fpc, data=apiclus1)
        "clus1_fpc": Design(clus1, ids="dnum", fpc="fpc"),
    }


DESIGNS = designs()

# [SJL] est_basic.csv: coef() and SE() of svymean(~v, d), svytotal(~v, d),
# svyratio(~api00, ~enroll, d); (design, statistic, variable, estimate, se)
BASIC = [
    ("srs_w", "mean", "api00", 656.584999999999, 9.40277217088064),
    ("srs_w", "total", "enroll", 3621074.34, 172324.604081531),
    ("srs_w", "ratio", "api00/enroll", 1.12311626554455, 0.0587316777823726),
    ("srs_fpc", "mean", "api00", 656.584999999999, 9.2497220392828),
    ("srs_fpc", "total", "api00", 4066887.49, 57292.7783113177),
    ("srs_fpc", "mean", "enroll", 584.609999999999, 27.3683652476685),
    ("srs_fpc", "ratio", "api00/enroll", 1.12311626554455, 0.0577756947116149),
    ("strat_w", "mean", "api00", 662.287363159321, 9.53613229692516),
    ("strat_w", "total", "enroll", 3687177.53243828, 117319.085968965),
    ("strat_fpc", "mean", "api00", 662.287363577655, 9.408940879434),
    ("strat_fpc", "total", "api00", 4102207.93, 58278.9798072143),
    ("strat_fpc", "mean", "enroll", 595.282131094607, 18.5085106862115),
    ("strat_fpc", "total", "enroll", 3687177.52, 114641.715190394),
    ("strat_fpc", "ratio", "api00/enroll", 1.11256046332155, 0.0413595064404803),
    ("clus1_w", "mean", "api00", 644.169398907104, 23.7790107208869),
    ("clus1_w", "total", "enroll", 3404940.13452911, 941610.74091198),
    ("clus1_w", "ratio", "api00/enroll", 1.17182250144138, 0.127544610789565),
    ("clus1_fpc", "mean", "api00", 644.169398907105, 23.5422406937812),
    ("clus1_fpc", "total", "api00", 5949162.06666667, 1339481.29924731),
    ("clus1_fpc", "mean", "enroll", 549.715846994537, 45.1913723435604),
    ("clus1_fpc", "total", "enroll", 5076845.73333333, 1389984.3264506),
    ("clus1_fpc", "ratio", "api00/enroll", 1.17182250144138, 0.126274636133836),
]


@pytest.mark.parametrize(("design", "stat", "variable", "estimate", "se"), BASIC)
def test_basic_estimates_match_r(design, stat, variable, estimate, se):
    """Estimate and SE equal R's svymean/svytotal/svyratio to 1e-9 [SJL]."""
    d = DESIGNS[design]
    if stat == "ratio":
        row = est.ratio(d, "api00", "enroll").iloc[0]
    else:
        row = getattr(est, stat)(d, variable).iloc[0]
    assert row["estimate"] == pytest.approx(estimate, rel=REL)
    assert row["se"] == pytest.approx(se, rel=REL)


# [SJL] degf.csv: degf(d)
@pytest.mark.parametrize(("design", "df"), [("srs_w", 199), ("srs_fpc", 199), ("strat_w", 197),
                                            ("strat_fpc", 197), ("clus1_w", 14),
                                            ("clus1_fpc", 14)])
def test_degrees_of_freedom_match_r(design, df):
    """Design df is PSUs minus strata, as R's degf() [SJL]."""
    assert DESIGNS[design].degf() == df
    assert est.mean(DESIGNS[design], "api00")["df"].iloc[0] == df


# [SJL] confint.csv: confint(svymean(~api00, d), df = degf(d))
@pytest.mark.parametrize(("design", "low", "high"), [
    ("srs_w", 638.043141883523, 675.126858116475),
    ("strat_fpc", 643.732188539262, 680.842538616048),
    ("clus1_w", 593.168493261091, 695.170304553117),
    ("clus1_fpc", 593.676314463327, 694.662483350884),
])
def test_t_interval_matches_r_confint(design, low, high):
    """The 95% interval is R's confint(..., df = degf(design)) [SJL]."""
    row = est.mean(DESIGNS[design], "api00").iloc[0]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=REL)


# [SJL] proportions.csv: svymean(~f, d) and svytotal(~f, d) for factors f
@pytest.mark.parametrize(("design", "var", "level", "mean_", "mean_se", "total_", "total_se"), [
    ("srs_fpc", "stype", "H", 0.125, 0.0230624405297003, 774.25, 142.848756640964),
    ("strat_fpc", "awards", "No", 0.36106393283823, 0.0344059182016133, 2236.43,
     213.110257340793),
    ("clus1_w", "stype", "E", 0.78688524590164, 0.0468025716133837, 4873.96746826172,
     1346.72892173089),
    ("clus1_fpc", "stype", "M", 0.136612021857924, 0.0296490466402603, 1261.66666666667,
     249.820824681299),
    ("clus1_fpc", "awards", "Yes", 0.710382513661203, 0.0330182995537189, 6560.66666666665,
     1562.98532018414),
])
def test_factor_mean_and_total_match_r(design, var, level, mean_, mean_se, total_, total_se):
    """A categorical variable gives one row per level, as svymean/svytotal of a factor [SJL]."""
    m = est.mean(DESIGNS[design], var).set_index("level").loc[level]
    t = est.total(DESIGNS[design], var).set_index("level").loc[level]
    assert (m["estimate"], m["se"]) == pytest.approx((mean_, mean_se), rel=REL)
    assert (t["estimate"], t["se"]) == pytest.approx((total_, total_se), rel=REL)


def test_stratifying_factor_has_zero_se():
    """Proportions of the stratifier are known exactly: R reports SE 0 [SJL, strat_fpc stype]."""
    out = est.mean(DESIGNS["strat_fpc"], "stype")
    assert out["estimate"].tolist() == pytest.approx(
        [0.713755247013237, 0.121892153697126, 0.164352599289635], rel=REL)
    assert np.all(out["se"] < 1e-12)


def test_two_stage_design_with_fpc_matches_r():
    """Two-stage fpc design adds R's second-stage variance term [API dclus2]."""
    # dclus2 <- svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)
    d = Design(load("apiclus2"), ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    m = est.mean(d, "api00").iloc[0]  # svymean(~api00, dclus2): 670.81 SE 30.099
    t = est.total(d, "enroll").iloc[0]  # svytotal(~enroll, dclus2, na.rm=TRUE): 2639273 SE 799638
    assert printed(m["estimate"], "670.81") and printed(m["se"], "30.099")
    assert printed(t["estimate"], "2639273") and printed(t["se"], "799638")


def test_two_stage_with_replacement_matches_r():
    """Without fpc only the first stage counts (ultimate clusters) [API dclus2wr]."""
    # dclus2wr <- svydesign(id=~dnum+snum, weights=~pw, data=apiclus2)
    d = Design(load("apiclus2"), ids=["dnum", "snum"], weights="pw")
    m = est.mean(d, "api00").iloc[0]  # svymean: 670.81 SE 30.712
    t = est.total(d, "enroll").iloc[0]  # svytotal(na.rm=TRUE): 2639273 SE 820261
    assert printed(m["estimate"], "670.81") and printed(m["se"], "30.712")
    assert printed(t["estimate"], "2639273") and printed(t["se"], "820261")


def test_missing_values_are_dropped_like_na_rm():
    """Rows with missing enroll (6 in apiclus2) are left out, as R's na.rm=TRUE does."""
    d = Design(load("apiclus2"), ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    out = est.total(d, "enroll").iloc[0]
    assert out["n"] == 126 - 6


def test_nested_psu_ids_match_r_nhanes():
    """nest=True makes PSU ids unique within strata (NHANES) [SJL est_basic, degf]."""
    # svydesign(id=~SDMVPSU, strata=~SDMVSTRA, weights=~WTMEC2YR, nest=TRUE, data=nhanes)
    d = Design(load("nhanes"), ids="SDMVPSU", strata="SDMVSTRA", weights="WTMEC2YR", nest=True)
    m = est.mean(d, "race").iloc[0]
    t = est.total(d, "race").iloc[0]
    assert (m["estimate"], m["se"]) == pytest.approx((2.11410814263084, 0.0407845714358688),
                                                     rel=REL)
    assert (t["estimate"], t["se"]) == pytest.approx((584627952.055087, 36019305.1325018),
                                                     rel=REL)
    assert d.degf() == 16


def test_design_effect_without_replacement_matches_r():
    """deff=True divides by the SRS-without-replacement variance, N = sum(w) [DEFF]."""
    # des.srs <- svydesign(ids=~1, weights=~srs.w, data=kigyo)
    d = Design(load("kigyo"), weights="srs_w")
    m = est.mean(d, "uriage", deff=True).iloc[0]  # 113.700 SE 35.626 DEff 1.010101
    t = est.total(d, "uriage", deff=True).iloc[0]  # 113700 SE 35626 DEff 1.010101
    assert printed(m["estimate"], "113.700") and printed(m["se"], "35.626")
    assert printed(m["deff"], "1.010101") and printed(t["deff"], "1.010101")
    assert printed(t["se"], "35626")


def test_design_effect_with_replacement_matches_r():
    """deff='replace' divides by the SRS-with-replacement variance [DEFF]."""
    # des.pps <- svydesign(ids=~1, weights=~pps.w, data=kigyo)
    d = Design(load("kigyo"), weights="pps_w")
    m = est.mean(d, "uriage", deff="replace").iloc[0]  # 243.914 SE 48.752; ratio 1.974067
    t = est.total(d, "uriage", deff="replace").iloc[0]  # 305136 SE 184965; ratio 18.15669
    assert printed(m["estimate"], "243.914") and printed(m["se"], "48.752")
    assert printed(m["deff"], "1.974067")
    assert printed(t["estimate"], "305136") and printed(t["se"], "184965")
    assert printed(t["deff"], "18.15669")


def test_list_of_variables_gives_one_row_each():
    """A list of numeric variables is estimated in one pass, one row per variable [SJL]."""
    out = est.mean(DESIGNS["srs_fpc"], ["api00", "enroll"]).set_index("variable")
    assert out.loc["api00", "se"] == pytest.approx(9.2497220392828, rel=REL)
    assert out.loc["enroll", "se"] == pytest.approx(27.3683652476685, rel=REL)


def test_nan_estimate_has_nan_standard_error():
    """A domain with no observed value: NaN estimate, NaN SE and interval (never SE 0)."""
    data = pd.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 2.0, np.nan, np.nan]})
    out = est.mean(Design(data), "y", by="g").set_index("g")
    assert np.isnan(out.loc["b", "estimate"]) and np.isnan(out.loc["b", "se"])
    assert np.isnan(out.loc["b", "ci_low"]) and np.isnan(out.loc["b", "ci_high"])
    assert out.loc["a", "se"] > 0
