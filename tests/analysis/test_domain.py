"""Domain (svyby) estimates that keep the full design, against R output.

Sources:

* [SJL] Survey.jl ``test/r_reference/domain.csv`` (xKDR/Survey.jl commit 60f46a8a),
  generated with R survey 4.5: ``svyby(~api00, ~by, d, svymean)`` and ``svytotal``.
  Matched to 1e-9 relative (1e-9 absolute for SEs that are zero in R).
* [DOM] R survey ``tests/domain.Rout.save`` (cran/survey):
  ``svyby(~x, ~I(x>4), design=dfpc, svymean)``, printed to 7 significant digits.
"""


import numpy as np
import pytest

from analysis import Design
from analysis import estimate as est
from tests.analysis.reference import load

REL = 1e-9



# svydesign(id=~dnum, fpc=~fpc, data=apiclus1)
CLUS1_FPC = Design(load("apiclus1"), ids="dnum", fpc="fpc")
# svydesign(id=~dnum, weights=~pw, data=apiclus1)
CLUS1_W = Design(load("apiclus1"), ids="dnum", weights="pw")
# svydesign(id=~1, strata=~stype, fpc=~fpc, data=apistrat)
STRAT_FPC = Design(load("apistrat"), strata="stype", fpc="fpc")


# [SJL] domain.csv, design clus1_fpc, by cname: (domain, mean, mean SE, total, total SE)
@pytest.mark.parametrize(("domain", "mean_", "mean_se", "total_", "total_se"), [
    ("Los Angeles", 647.266666666666, 17.2495860301136, 489980.866666667, 428979.922861841),
    ("San Diego", 659.436363636363, 2.2968004951743, 1830375.53333333, 1275533.04454272),
    ("Santa Clara", 732.076923076923, 15.772923782601, 960582.533333333, 627035.544140536),
    ("Alameda", 669, 0, 371384.2, 367686.289765936),
])
def test_cluster_domains_match_r_svyby(domain, mean_, mean_se, total_, total_se):
    """svyby(~api00, ~cname, dclus1, svymean / svytotal) with fpc [SJL]."""
    m = est.mean(CLUS1_FPC, "api00", by="cname").set_index("cname").loc[domain]
    t = est.total(CLUS1_FPC, "api00", by="cname").set_index("cname").loc[domain]
    assert m["estimate"] == pytest.approx(mean_, rel=REL)
    assert m["se"] == pytest.approx(mean_se, rel=REL, abs=1e-9)
    assert (t["estimate"], t["se"]) == pytest.approx((total_, total_se), rel=REL)


def test_domains_without_fpc_match_r_svyby():
    """svyby(~api00, ~cname, dclus1 (weights only), svymean) [SJL clus1_w]."""
    m = est.mean(CLUS1_W, "api00", by="cname").set_index("cname")
    t = est.total(CLUS1_W, "api00", by="cname").set_index("cname")
    assert m.loc["Los Angeles", "se"] == pytest.approx(17.4230693023744, rel=REL)
    assert m.loc["San Diego", "se"] == pytest.approx(2.31989997506545, rel=REL)
    assert t.loc["Santa Clara", "estimate"] == pytest.approx(644243.727714539, rel=REL)
    assert t.loc["Santa Clara", "se"] == pytest.approx(424769.828019567, rel=REL)


def test_stratified_domains_match_r_svyby():
    """svyby(~api00, ~awards, dstrat, svymean / svytotal) [SJL strat_fpc]."""
    m = est.mean(STRAT_FPC, "api00", by="awards").set_index("awards")
    t = est.total(STRAT_FPC, "api00", by="awards").set_index("awards")
    assert m.loc["No", ["estimate", "se"]].tolist() == pytest.approx(
        [633.734912337968, 15.3347711842501], rel=REL)
    assert m.loc["Yes", ["estimate", "se"]].tolist() == pytest.approx(
        [678.422405668124, 11.8566310509714], rel=REL)
    assert t.loc["Yes", ["estimate", "se"]].tolist() == pytest.approx(
        [2684904.16, 152042.166199407], rel=REL)


def test_domain_with_lonely_stratum_matches_r():
    """Domains keep design PSU counts even where a stratum has one PSU in the domain [DOM]."""
    # dfpc <- svydesign(id=~psuid, strat=~stratid, weight=~weight, data=fpc, nest=TRUE)
    data = load("fpc")
    data["big"] = data["x"] > 4
    d = Design(data, ids="psuid", strata="stratid", weights="weight", nest=True)
    out = est.mean(d, "x", by="big").set_index("big")
    # svyby(~x, ~I(x>4), design=dfpc, svymean): FALSE 3.314286 0.3117042; TRUE 6.195 0.7555129
    assert out.loc[False, ["estimate", "se"]].tolist() == pytest.approx([3.314286, 0.3117042],
                                                                        abs=5e-7)
    assert out.loc[True, ["estimate", "se"]].tolist() == pytest.approx([6.195, 0.7555129],
                                                                       abs=5e-7)


def test_domain_rows_with_missing_values_are_outside_the_domain():
    """A missing analysis value only removes that row from its domain, not the design."""
    data = load("apistrat")
    data.loc[data.index[:5], "api00"] = np.nan
    d = Design(data, strata="stype", fpc="fpc")
    out = est.mean(d, "api00", by="awards")
    kept = data[data["api00"].notna()]
    assert out["n"].sum() == len(kept)
    expected = (kept["pw"] * kept["api00"]).groupby(kept["awards"]).sum() / kept.groupby(
        "awards")["pw"].sum()
    assert out["estimate"].tolist() == pytest.approx(expected.tolist(), rel=1e-6)


def test_domain_df_is_degf_of_the_subset():
    """Each domain's df counts its own PSUs minus strata, as degf(subset(design, ...))."""
    out = est.mean(STRAT_FPC, "api00", by="awards").set_index("awards")
    counts = load("apistrat").groupby("awards").size()
    assert out.loc["No", "df"] == counts["No"] - 3
    assert out.loc["Yes", "df"] == counts["Yes"] - 3


def test_sparse_domain_cells_give_the_same_variances(monkeypatch):
    """Storing only the (cluster, domain) cells that occur changes nothing [SJL clus1_fpc]."""
    from analysis import _variance

    monkeypatch.setattr(_variance, "_DENSE_CELLS", 0)
    m = est.mean(CLUS1_FPC, "api00", by="cname").set_index("cname").loc["Los Angeles"]
    assert m["se"] == pytest.approx(17.2495860301136, rel=REL)
